//! National identifiers that python-stdnum's vectors in `../shared/data` do not cover: each is
//! checked against values python-stdnum 2.2 generated and accepted (random numbers, no real
//! person's), against every single-digit corruption of them, and in a sentence of its own
//! language after the word that names it.

use palisade::detect::pii::{Entity, NationalIds, Pii};

/// (type, valid values) — produced with python-stdnum 2.2 (`calc_check_digit` over random
/// bodies, then `is_valid`).
const VECTORS: &[(&str, &[&str])] = &[
    (
        "es_dni",
        &["52601815X", "90830166S", "13186091F", "39099603V"],
    ),
    (
        "es_nie",
        &["X8246281E", "Z4821993W", "Y1819093Z", "Y8657975F"],
    ),
    (
        "pl_pesel",
        &["69042623192", "69091657498", "54021762522", "81070218957"],
    ),
    (
        "in_aadhaar",
        &[
            "759797114715",
            "249746507527",
            "370342366710",
            "476842684653",
        ],
    ),
    (
        "br_cpf",
        &["63212233010", "79244026830", "59952890710", "86666176081"],
    ),
    (
        "nl_bsn",
        &["393363387", "163726516", "761222029", "058887180"],
    ),
    (
        "de_idnr",
        &["24170586492", "56201684938", "94153776029", "10324966855"],
    ),
    (
        "cn_ric",
        &[
            "110105200511264649",
            "110105197208230898",
            "110105196312281949",
            "110105199604272562",
        ],
    ),
    (
        "fr_nir",
        &[
            "268097527534659",
            "277117527045381",
            "270087576915263",
            "274017519528561",
        ],
    ),
    (
        "pt_nif",
        &["103144919", "132752360", "199184372", "181718146"],
    ),
    (
        "ro_cnp",
        &[
            "2640316328078",
            "2591216167289",
            "1600615459741",
            "2730714441258",
        ],
    ),
    (
        "hr_oib",
        &["00905187720", "03625155781", "83465648045", "45765848533"],
    ),
    (
        "ch_ahv",
        &[
            "7567153542915",
            "7560686890645",
            "7561003790884",
            "7569692913072",
        ],
    ),
    (
        "mx_curp",
        &[
            "GODE900304HDFRRN06",
            "GODE760221HDFRRNA4",
            "GODE580518MDFRRNA0",
            "GODE610702MDFRRN09",
        ],
    ),
    (
        "it_codicefiscale",
        &[
            "LPRPZZ53M19H501K",
            "NBVCTT76R23H501W",
            "ZLMCBR74R19H501M",
            "RDMTLN56B21H501C",
        ],
    ),
];

#[test]
fn valid_values_are_accepted_and_single_character_corruptions_rejected() {
    let table = NationalIds::builtin();
    for (id, values) in VECTORS {
        let (mut mutations, mut caught) = (0usize, 0usize);
        for v in *values {
            assert!(table.validate(id, v), "{id}: {v} rejected");
            for (i, ch) in v.char_indices() {
                let subs: &[char] = if ch.is_ascii_digit() {
                    &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
                } else {
                    &['A', 'K', 'X', 'Z']
                };
                for &d in subs.iter().filter(|&&d| d != ch) {
                    let mut m = v.to_string();
                    m.replace_range(i..i + 1, &d.to_string());
                    mutations += 1;
                    caught += usize::from(!table.validate(id, &m));
                }
            }
        }
        let rate = caught as f64 / mutations as f64;
        println!(
            "{id:18} corruptions caught {caught}/{mutations} ({:.1}%)",
            rate * 100.0
        );
        // Mod-11 checks folded to one character let a few substitutions through.
        assert!(rate >= 0.85, "{id}: only {rate:.3} of corruptions caught");
    }
}

#[test]
fn identifiers_are_found_in_sentences_of_their_own_language() {
    let pii = Pii::builtin().unwrap();
    for (text, value) in [
        ("Mi DNI es 52601815X, gracias.", "52601815X"),
        ("Mi NIE: X8246281E", "X8246281E"),
        (
            "Il mio codice fiscale è LPRPZZ53M19H501K.",
            "LPRPZZ53M19H501K",
        ),
        ("Mój numer PESEL to 69042623192.", "69042623192"),
        ("My Aadhaar number is 7597 9711 4715.", "7597 9711 4715"),
        ("Meu CPF é 632.122.330-10.", "632.122.330-10"),
        ("Mijn BSN is 393363387.", "393363387"),
        ("Meine Steuer-ID lautet 24 170 586 492.", "24 170 586 492"),
        ("我的身份证号码是110105200511264649。", "110105200511264649"),
        (
            "Numéro de sécurité sociale : 2 68 09 75 275 346 59",
            "2 68 09 75 275 346 59",
        ),
        ("O meu NIF é 103144919.", "103144919"),
        ("CNP: 2640316328078", "2640316328078"),
        ("OIB: 00905187720", "00905187720"),
        ("AHV-Nr. 756.7153.5429.15", "756.7153.5429.15"),
        ("Mi CURP es GODE900304HDFRRN06.", "GODE900304HDFRRN06"),
    ] {
        let start = text.find(value).unwrap();
        let found = pii.recognize(text);
        assert!(
            found.iter().any(|(e, r, _)| *e == Entity::NationalId
                && r.start == start
                && r.end == start + value.len()),
            "{text:?}: {found:?}"
        );
    }
    // Without a word naming it, or with a wrong check character, nothing is reported.
    for text in [
        "Order 52601815X shipped.",
        "Mi DNI es 52601815Y.",
        "Il mio codice fiscale è LPRPZZ53M19H501A.",
        "Reference GODE900304HDFRRN06",
        "pesel 69042623193",
    ] {
        assert!(
            !pii.recognize(text)
                .iter()
                .any(|(e, _, _)| *e == Entity::NationalId),
            "{text:?}"
        );
    }
}
