//! National identifiers against python-stdnum's test vectors
//! (`../shared/data/pii/stdnum_identifiers.jsonl`): every supported type accepts its valid
//! vectors, rejects its invalid ones and single-digit corruptions, and is found in text after a
//! word that names it (and not without one). Skips, saying so, when the data is missing.

use std::collections::BTreeMap;

use palisade::detect::pii::{Entity, NationalIds, Pii};

const DATA: &str = "../shared/data/pii/stdnum_identifiers.jsonl";

/// The built-in types python-stdnum's vectors in the shared data do not cover, in table order:
/// `tests/pii_national.rs` checks them against values python-stdnum generated.
const OWN_VECTORS: &[&str] = &[
    "es_dni",
    "es_nie",
    "pl_pesel",
    "in_aadhaar",
    "br_cpf",
    "nl_bsn",
    "de_idnr",
    "cn_ric",
    "fr_nir",
    "pt_nif",
    "ro_cnp",
    "hr_oib",
    "ch_ahv",
    "mx_curp",
];

fn vectors() -> Option<BTreeMap<String, Vec<(String, bool)>>> {
    let Ok(text) = std::fs::read_to_string(DATA) else {
        eprintln!("skipping: {DATA} not found (see ../shared/data/README)");
        return None;
    };
    let mut by_module: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        by_module
            .entry(v["stdnum_module"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                v["text"].as_str().unwrap().to_owned(),
                v["valid"].as_bool().unwrap(),
            ));
    }
    Some(by_module)
}

fn compact(v: &str) -> String {
    v.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/' | ',' | '\u{2013}' | '\u{2014}'))
        .flat_map(char::to_uppercase)
        .collect()
}

#[test]
fn every_supported_type_accepts_valid_vectors_and_rejects_corruptions() {
    let Some(data) = vectors() else { return };
    let table = NationalIds::builtin();
    let mut report = Vec::new();
    let mut without = Vec::new();
    for id in table.ids() {
        let Some(rows) = data.get(id) else {
            without.push(id);
            continue;
        };
        let (mut valid, mut accepted, mut invalid, mut rejected) = (0, 0, 0, 0);
        let (mut mutations, mut caught) = (0usize, 0usize);
        for (value, ok) in rows {
            let got = table.validate(id, value);
            if *ok {
                valid += 1;
                accepted += usize::from(got);
                assert!(got, "{id}: valid vector {value:?} rejected");
            } else {
                invalid += 1;
                rejected += usize::from(!got);
                assert!(!got, "{id}: invalid vector {value:?} accepted");
            }
            if !ok {
                continue;
            }
            // Every single-digit substitution inside the checksummed part.
            let c = compact(value);
            let covered = if id == "ca_bn" { 9 } else { c.len() };
            for (i, ch) in c.char_indices().take(covered) {
                if !ch.is_ascii_digit() {
                    continue;
                }
                for d in '0'..='9' {
                    if d != ch {
                        let mut m = c.clone();
                        m.replace_range(i..i + 1, &d.to_string());
                        mutations += 1;
                        caught += usize::from(!table.validate(id, &m));
                    }
                }
            }
        }
        let rate = caught as f64 / mutations.max(1) as f64;
        report.push(format!(
            "{id:18} valid {accepted}/{valid}  invalid rejected {rejected}/{invalid}  \
             single-digit corruptions caught {caught}/{mutations} ({:.1}%)",
            rate * 100.0
        ));
        // Mod-11 checks folded to one digit (x % 11 % 10) let a few substitutions through.
        assert!(rate >= 0.9, "{id}: only {rate:.3} of corruptions caught");
    }
    println!("{}", report.join("\n"));
    assert!(report.len() >= 25);
    // The types the shared vectors lack are checked by `tests/pii_national.rs`.
    assert_eq!(without, OWN_VECTORS, "types without any vectors");
}

#[test]
fn iban_vectors_valid_accepted_invalid_rejected() {
    let Some(data) = vectors() else { return };
    let pii = Pii::builtin().unwrap();
    for (value, ok) in &data["iban"] {
        let found = pii
            .recognize(value)
            .iter()
            .any(|(e, r, _)| *e == Entity::Iban && r.len() == value.len());
        assert_eq!(found, *ok, "IBAN {value:?} (valid: {ok})");
    }
}

#[test]
fn identifiers_are_found_after_their_context_word_and_not_without() {
    let Some(data) = vectors() else { return };
    let table = NationalIds::builtin();
    let pii = Pii::builtin().unwrap();
    let mut found_with = 0;
    let mut total = 0;
    for id in table.ids() {
        let word = &table.context(id).unwrap()[0];
        let Some(rows) = data.get(id) else { continue };
        // Recognition starts at a digit: a codice fiscale whose every digit was replaced by a
        // letter (`RSSMRAQRCMNFNLRG`, omocodia in full) is validated but not searched for.
        let searchable = |v: &String| v.bytes().any(|c| c.is_ascii_digit());
        for (value, _) in rows.iter().filter(|(v, ok)| *ok && searchable(v)).take(20) {
            total += 1;
            let text = format!("Hello, my {word}: {value}. Thanks!");
            let start = text.find(value.as_str()).unwrap();
            let hit = pii.recognize(&text).into_iter().any(|(e, r, _)| {
                e == Entity::NationalId && r.start == start && r.end == start + value.len()
            });
            found_with += usize::from(hit);
            assert!(hit, "{id}: {text:?} not found");
            let bare = format!("Hello, the code {value} shipped.");
            assert!(
                !pii.recognize(&bare)
                    .iter()
                    .any(|(e, _, _)| *e == Entity::NationalId),
                "{id}: {bare:?} reported without a context word"
            );
        }
    }
    println!("found {found_with}/{total} identifiers after their context word");
}
