//! PII recognizers and operators: each test names the entity or the case it covers.

use palisade::detect::pii::{Entity, Pii, PiiConfig};
use palisade::{Action, Context, Guard, Pipeline};

fn pii() -> &'static Pii {
    static P: std::sync::OnceLock<Pii> = std::sync::OnceLock::new();
    P.get_or_init(|| Pii::builtin().unwrap())
}

/// The values found in `text` with their entity, at score ≥ 0.5.
fn found(text: &str) -> Vec<(Entity, String)> {
    pii()
        .recognize(text)
        .into_iter()
        .filter(|(_, _, s)| *s >= 0.5)
        .map(|(e, r, _)| (e, text[r].to_owned()))
        .collect()
}

fn assert_finds(text: &str, e: Entity, value: &str) {
    let f = found(text);
    assert!(
        f.contains(&(e, value.to_owned())),
        "{e:?} {value:?} not found in {text:?}: {f:?}"
    );
}

fn assert_not_finds(text: &str, e: Entity, value: &str) {
    let f = found(text);
    assert!(
        !f.contains(&(e, value.to_owned())),
        "{e:?} {value:?} wrongly found in {text:?}: {f:?}"
    );
}

fn assert_none(text: &str, e: Entity) {
    let f = found(text);
    assert!(
        !f.iter().any(|(x, _)| *x == e),
        "{e:?} wrongly found in {text:?}: {f:?}"
    );
}

#[test]
fn credit_cards_with_luhn_brand_and_separators() {
    for v in [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5500 0000 0000 0004",
        "3400 000000 00009",
        "6011000990139424",
        "2223000048400011",
        "3530111333300000",
    ] {
        assert_finds(&format!("card: {v}."), Entity::CreditCard, v);
    }
    // Checksum-invalid, wrong brand/length, mixed separators, a 16-digit order number.
    for v in [
        "4111 1111 1111 1112",
        "9111111111111111",
        "4111 1111-1111 1111",
        "0000 0000 0000 0000",
        "41111111111111",
    ] {
        assert_none(&format!("ref: {v}."), Entity::CreditCard);
    }
    // Next to a card word, a Luhn-invalid number is still reported, with a lower score.
    let scored = pii().recognize("my card 4111 1111 1111 1112");
    assert!(
        matches!(scored.as_slice(), [(Entity::CreditCard, _, s)] if *s < 0.7),
        "{scored:?}"
    );
    // Unicode neighbours still match, spans exact; fullwidth digits match through NFKC.
    let guard = Pipeline::recommended();
    let v = guard.check_input(
        &Context::new(),
        "卡号\u{ff14}\u{ff11}\u{ff11}\u{ff11}111111111111 ok",
    );
    assert!(
        v.findings()
            .iter()
            .any(|f| f.detector == "pii.credit_card" && f.span == (6..30)),
        "{:?}",
        v.findings()
    );
    assert_finds(
        "卡号4111111111111111。",
        Entity::CreditCard,
        "4111111111111111",
    );
}

#[test]
fn us_ssn_area_group_serial_rules() {
    assert_finds("SSN 536-22-8726", Entity::UsSsn, "536-22-8726");
    assert_finds("my ssn is 536228726", Entity::UsSsn, "536228726");
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "536-00-8726",
        "536-22-0000",
        "078-05-1120",
    ] {
        assert_none(&format!("SSN {bad}"), Entity::UsSsn);
    }
    // Nine digits without a shape or context are not an SSN.
    assert_none("reference 536228726", Entity::UsSsn);
}

#[test]
fn canadian_sin_luhn() {
    // 046 454 286 passes Luhn but SINs starting with 0 (or 8) are not assigned.
    assert_none("SIN: 046 454 286", Entity::CaSin);
    assert_finds("NAS 130 692 544", Entity::CaSin, "130 692 544");
    assert_finds(
        "social insurance number 130692544",
        Entity::CaSin,
        "130692544",
    );
    assert_none("SIN: 130 692 545", Entity::CaSin); // Luhn fails
    assert_none("SIN: 830 692 541", Entity::CaSin); // 8xx unassigned
}

#[test]
fn iban_country_length_and_mod97() {
    assert_finds(
        "IBAN GB82 WEST 1234 5698 7654 32 please",
        Entity::Iban,
        "GB82 WEST 1234 5698 7654 32",
    );
    assert_finds(
        "DE89370400440532013000",
        Entity::Iban,
        "DE89370400440532013000",
    );
    assert_none("GB82 WEST 1234 5698 7654 33", Entity::Iban);
    assert_none("DE8937040044053201300", Entity::Iban); // one short
}

#[test]
fn emails_including_idn_domains() {
    assert_finds(
        "write to ana.b+tag@example.co.uk.",
        Entity::Email,
        "ana.b+tag@example.co.uk",
    );
    assert_finds(
        "contact: jürgen@bücher.de",
        Entity::Email,
        "jürgen@bücher.de",
    );
    assert_none("see @mention or a@b", Entity::Email);
    assert_none("version 1.2@3.4", Entity::Email);
}

#[test]
fn phones_nanp_international_extensions_and_near_misses() {
    assert_finds(
        "call me at (415) 555-2671 tomorrow",
        Entity::Phone,
        "(415) 555-2671",
    );
    assert_finds(
        "tel: 416-555-0199 ext. 42",
        Entity::Phone,
        "416-555-0199 ext. 42",
    );
    assert_finds(
        "WhatsApp +44 20 7946 0958",
        Entity::Phone,
        "+44 20 7946 0958",
    );
    assert_finds(
        "+33 1 42 68 53 00 is the office",
        Entity::Phone,
        "+33 1 42 68 53 00",
    );
    assert_finds("phone 4155552671", Entity::Phone, "4155552671");
    // Dates, versions, order numbers, prices, times, ISBNs.
    for t in [
        "released on 2024-03-15",
        "version 10.4.3.2",
        "order number 4155552671",
        "it costs 1,234,567.89 dollars",
        "meet at 10:30:45",
        "ISBN 978-3-16-148410-0",
        "id 1234567890",
        "in 2019 and 2020 we had 1500 users",
    ] {
        assert_none(t, Entity::Phone);
    }
}

#[test]
fn ip_and_mac_addresses() {
    assert_finds(
        "server 192.168.10.4 is down",
        Entity::IpAddress,
        "192.168.10.4",
    );
    assert_finds(
        "from 2001:db8::8a2e:370:7334 today",
        Entity::IpAddress,
        "2001:db8::8a2e:370:7334",
    );
    assert_finds(
        "mac 00:1A:2B:3C:4D:5E",
        Entity::MacAddress,
        "00:1A:2B:3C:4D:5E",
    );
    assert_finds(
        "ab-cd-ef-01-23-45 on eth0",
        Entity::MacAddress,
        "ab-cd-ef-01-23-45",
    );
    for t in [
        "version 1.2.3.4.5",
        "999.1.1.1",
        "v1.2.3.4",
        "at 12:30:45",
        "01.02.2024",
        // Loopback, "any", broadcast and public DNS resolvers identify no one.
        "curl http://127.0.0.1:8080/health",
        "bind to 0.0.0.0 and broadcast to 255.255.255.255",
        "set the DNS server to 8.8.8.8 or 1.1.1.1",
    ] {
        assert_none(t, Entity::IpAddress);
    }
    assert_finds(
        "the DNS server at 8.8.8.9 answered",
        Entity::IpAddress,
        "8.8.8.9",
    );
}

#[test]
fn url_credentials_crypto_and_uk_ids() {
    assert_finds(
        "db at postgres://admin:s3cr3t-pw@db.internal:5432/app",
        Entity::UrlCredentials,
        "s3cr3t-pw",
    );
    assert_none("see https://example.com/a:b@c", Entity::UrlCredentials);
    assert_finds(
        "send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        Entity::CryptoWallet,
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    );
    assert_none(
        "send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",
        Entity::CryptoWallet,
    );
    assert_finds(
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        Entity::CryptoWallet,
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    );
    assert_finds(
        "eth wallet 0x52908400098527886E0F7030069857D2E4169EE7",
        Entity::CryptoWallet,
        "0x52908400098527886E0F7030069857D2E4169EE7",
    );
    assert_finds("NHS number 943 476 5919", Entity::UkNhs, "943 476 5919");
    assert_none("NHS number 943 476 5918", Entity::UkNhs);
    assert_finds("NI number AB 12 34 56 C", Entity::UkNino, "AB 12 34 56 C");
    assert_none("NI number BG 12 34 56 C", Entity::UkNino);
}

#[test]
fn context_only_identifiers_need_their_word() {
    assert_finds("Passport number: C03005988.", Entity::Passport, "C03005988");
    assert_none("Reference C03005988.", Entity::Passport);
    assert_finds(
        "driver's license D1234-5678-9012",
        Entity::DriversLicense,
        "D1234-5678-9012",
    );
    assert_finds(
        "SWIFT code DEUTDEFF500 for the wire",
        Entity::SwiftBic,
        "DEUTDEFF500",
    );
    assert_none("PASSWORD is not a BIC", Entity::SwiftBic);
    assert_finds(
        "born on 03/14/1985 in Ottawa",
        Entity::DateOfBirth,
        "03/14/1985",
    );
    assert_finds(
        "Date of birth: March 14, 1985",
        Entity::DateOfBirth,
        "March 14, 1985",
    );
    assert_none("the meeting on 03/14/1985", Entity::DateOfBirth);
}

#[test]
fn every_occurrence_is_redacted_and_placeholders_stay_consistent_across_turns() {
    let guard = Pipeline::recommended();
    let ctx = Context::new().user("u").session("multi-turn");
    let v = guard.check_input(
        &ctx,
        "Email ana@example.com, then bob@example.org, then ana@example.com again.",
    );
    assert_eq!(v.action(), Action::Redact);
    assert_eq!(
        v.text(),
        "Email <EMAIL_1>, then <EMAIL_2>, then <EMAIL_1> again."
    );
    // The next turn, and a tool result, reuse the same placeholders.
    let v = guard.check_input(
        &ctx,
        "Did bob@example.org answer? Call him at 415-555-2671.",
    );
    assert_eq!(v.text(), "Did <EMAIL_2> answer? Call him at <PHONE_1>.");
    let v = guard.check_tool_result(&ctx, "{\"from\": \"ana@example.com\"}");
    assert_eq!(v.text(), "{\"from\": \"<EMAIL_1>\"}");
    // The model answers with placeholders; the user sees the values.
    let out = guard.check_output(
        &ctx,
        "I wrote to <EMAIL_1> and <EMAIL_2>, and will call <PHONE_1>.",
    );
    assert_eq!(
        out.text(),
        "I wrote to ana@example.com and bob@example.org, and will call 415-555-2671."
    );
    // Tool arguments are restored at the tool boundary.
    let mut call = palisade::ToolCall::new(
        "send_email",
        serde_json::json!({"to": ["<EMAIL_2>"], "body": "Hi <EMAIL_1>"}),
    );
    guard.restore_arguments(&ctx, &mut call);
    assert_eq!(
        call.arguments,
        serde_json::json!({"to": ["bob@example.org"], "body": "Hi ana@example.com"})
    );
    // Ending the session forgets (and zeroizes) its values.
    let ended = Context::new().session("ended");
    let v = guard.check_input(&ended, "dan@example.com");
    guard.forget_session(&ended);
    assert_eq!(guard.restore(&ended, v.text()), "<EMAIL_1>");
    // Sessions are isolated.
    let other = Context::new().session("someone-else");
    assert_eq!(guard.restore(&other, "<EMAIL_1>"), "<EMAIL_1>");
    let v = guard.check_input(&other, "I am carol@example.net");
    assert_eq!(v.text(), "I am <EMAIL_1>");
}

#[test]
fn restore_of_redact_is_the_identity_on_any_unicode_text() {
    let guard = Pipeline::recommended();
    let ctx = Context::new().session("roundtrip");
    let text = "Привет! 电邮 ana@example.com · SIN 130 692 544 · IBAN DE89370400440532013000 · 🙂 +44 20 7946 0958";
    let v = guard.check_input(&ctx, text);
    assert!(v.is_redacted());
    for f in v.findings() {
        assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
    }
    assert_eq!(guard.restore(&ctx, v.text()), text);
}

#[test]
fn operators_mask_hash_replace_and_lists() {
    let config: palisade::Config = toml::from_str(
        r#"
        [pii]
        operator = "replace"
        mask_keep = 4
        hash_key = "000102030405060708090a0b0c0d0e0f"
        [pii.operators]
        credit_card = "mask"
        us_ssn = "hash"
        [pii.allow]
        email = ["support@example.com"]
        [pii.deny]
        email = ["project-falcon"]
        "#,
    )
    .unwrap();
    let guard = Pipeline::from_config(&config).unwrap();
    let ctx = Context::new().session("ops");
    let v = guard.check_input(&ctx, "card 4111 1111 1111 1111, ssn 536-22-8726, mail support@example.com or x@y.org, re project-falcon");
    let t = v.text();
    assert!(t.contains("card **** **** **** 1111,"), "{t}");
    assert!(t.contains("ssn <US_SSN:"), "{t}");
    assert!(!t.contains("536-22-8726"), "{t}");
    assert!(t.contains("support@example.com"), "allow-listed: {t}");
    assert!(t.contains("or <EMAIL_1>"), "{t}");
    assert!(t.contains("re <EMAIL_2>"), "deny-listed: {t}");
    // The keyed hash is stable across checks and sessions.
    let again = guard.check_input(&Context::new(), "536-22-8726");
    let h1 = &t[t.find("<US_SSN:").unwrap()..];
    assert!(h1.starts_with(again.text()), "{h1} vs {}", again.text());
}

#[test]
fn hash_without_a_key_and_unknown_entities_are_construction_errors() {
    let e = Pii::new(&PiiConfig {
        operator: palisade::detect::pii::Operator::Hash,
        ..PiiConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("hash_key"), "{e}");
    let e = Pii::new(&PiiConfig {
        entities: vec!["shoe_size".into()],
        ..PiiConfig::default()
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("unknown entity \"shoe_size\""),
        "{e}"
    );
}

#[test]
fn person_names_need_a_known_pair_or_an_introduction() {
    assert_finds(
        "Please forward this to Maria Lopez before noon.",
        Entity::Person,
        "Maria Lopez",
    );
    assert_finds(
        "My name is Rubija and I need help.",
        Entity::Person,
        "Rubija",
    );
    assert_finds(
        "Dear Katrine, thanks for the update.",
        Entity::Person,
        "Katrine",
    );
    assert_finds(
        "Name: Faina D. Yefremova",
        Entity::Person,
        "Faina D. Yefremova",
    );
    assert_finds("Please ask Mr. Novak about it", Entity::Person, "Novak");
    // Ordinary capitalized words, places, streets, companies, code and log lines.
    for t in [
        "Will you check the June report? Grant access to the Sales team.",
        "The office moved to 12 Victoria Street near Hyde Park.",
        "I work at Morgan Stanley Ltd in Paris.",
        "let user = UserService.find(MarkBrown); PaulSmith_id = 3",
        "2024-03-01T10:00:00Z INFO AuthService: Login failed for Admin",
        "ERROR Thomas.Process() failed at Line 42",
        "I'm Happy When It Rains",
    ] {
        assert_none(t, Entity::Person);
    }
}

#[test]
fn national_ids_with_check_digits_are_pseudonymized_after_their_word() {
    let guard = palisade::Pipeline::recommended();
    let ctx = palisade::Context::new().session("s-nid");
    use palisade::Guard;
    let v = guard.check_input(
        &ctx,
        "Mi RUT es 12.345.678-5 y mi CUIT 20-14345590-5; TC Kimlik No: 10000000146.",
    );
    assert_eq!(
        v.text(),
        "Mi RUT es <NATIONAL_ID_1> y mi CUIT <NATIONAL_ID_2>; TC Kimlik No: <NATIONAL_ID_3>."
    );
    assert!(v.findings()[0].message.contains("Chilean RUT"));
    // A wrong check digit, or no word naming it, is not an identifier.
    let v = guard.check_input(&ctx, "Mi RUT es 12.345.678-6; order 20-14345590-5 shipped");
    assert!(v.findings().iter().all(|f| f.detector != "pii.national_id"));
}

#[test]
fn locations_that_place_someone_are_redacted_other_mentions_are_not() {
    use palisade::Guard;
    let guard = palisade::Pipeline::recommended();
    let ctx = palisade::Context::new().session("s-loc");
    let v = guard.check_input(&ctx, "I live in Lappeenranta and grew up in Mobile.");
    assert_eq!(
        v.text(),
        "I live in <LOCATION_1> and grew up in <LOCATION_2>."
    );
    let v = guard.check_input(&ctx, "Summarize this article: Germany beat Italy 2-1.");
    assert!(v.is_allowed() && !v.is_redacted(), "{}", v.text());
    assert!(
        v.findings()
            .iter()
            .all(|f| f.detector == "pii.location" && f.action == palisade::Action::Allow)
    );
    // Institutions and labels are not places.
    let v = guard.check_input(&ctx, "I studied at Boston University. Mobile: 555 0100");
    assert!(v.findings().iter().all(|f| f.detector != "pii.location"));
}

#[test]
fn email_spelled_out_with_spaces_in_an_answer_is_found_and_pseudonymized() {
    let g = Pipeline::from_toml("[checks]\ninput = []\noutput = [\"pii\"]\ntool_result = []\n")
        .expect("config");
    let text = "write to j o h n . d o e @ e x a m p l e . o r g please";
    let v = g.check_output(&Context::new(), text);
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector == "pii.email")
        .expect("email");
    assert_eq!(
        &text[f.span.clone()],
        "j o h n . d o e @ e x a m p l e . o r g"
    );
}

#[test]
fn phone_numbers_after_phone_words_of_other_languages() {
    for (text, value) in [
        (
            "Meine Telefonnummer ist 030 12345678, ruf mich an.",
            "030 12345678",
        ),
        ("Handy: 0151 23456789", "0151 23456789"),
        ("portable : 06.12.34.56.78", "06.12.34.56.78"),
        ("móvil 612345678", "612345678"),
        ("Il mio numero di cellulare è 347 123 4567", "347 123 4567"),
        ("Meu telefone é (11) 98765-4321", "(11) 98765-4321"),
        ("Mijn telefoonnummer is 06-12345678", "06-12345678"),
        ("電話番号は090-1234-5678です", "090-1234-5678"),
        ("我的手机号是13812345678", "13812345678"),
        ("제 전화번호는 010-1234-5678입니다", "010-1234-5678"),
        ("Мой телефон: 8 (912) 345-67-89", "8 (912) 345-67-89"),
        ("मेरा फ़ोन नंबर 98765 43210 है", "98765 43210"),
    ] {
        assert_finds(text, Entity::Phone, value);
    }
    // The same digits without a phone word stay under the threshold.
    assert_none("Bestellung 030 12345678 versandt", Entity::Phone);
}

#[test]
fn birth_dates_passports_and_licences_named_in_other_languages() {
    assert_finds(
        "geboren am 14.03.1985 in Köln",
        Entity::DateOfBirth,
        "14.03.1985",
    );
    assert_finds(
        "fecha de nacimiento: 14/03/1985",
        Entity::DateOfBirth,
        "14/03/1985",
    );
    assert_finds(
        "Дата рождения: 14.03.1985",
        Entity::DateOfBirth,
        "14.03.1985",
    );
    assert_finds("Reisepassnummer: C01X00T47", Entity::Passport, "C01X00T47");
    assert_finds(
        "número de pasaporte: PAA123456",
        Entity::Passport,
        "PAA123456",
    );
    assert_finds("여권 번호: M12345678", Entity::Passport, "M12345678");
    assert_finds(
        "Führerscheinnummer: B072RRE2I55",
        Entity::DriversLicense,
        "B072RRE2I55",
    );
    // A date without a birth word is not a birth date.
    assert_none("Rechnung vom 14.03.1985", Entity::DateOfBirth);
}

#[test]
fn where_someone_lives_in_other_languages_and_european_addresses() {
    for (text, place) in [
        ("Ich wohne in Berlin.", "Berlin"),
        ("J'habite à Lyon depuis 2010.", "Lyon"),
        ("Vivo en Madrid con mi familia.", "Madrid"),
        ("Ich wohne in der Hauptstraße 5, 10115 Berlin.", "Berlin"),
        ("12 rue Victor Hugo\n13001 Marseille", "Marseille"),
        ("Bahnhofstrasse 7, 8001 Zürich", "Zürich"),
    ] {
        assert_finds(text, Entity::Location, place);
    }
    // A year is no postal code.
    assert_none("Volume 3, 2019 Berlin Marathon", Entity::Location);
}

#[test]
fn names_after_introductions_of_other_languages_and_with_particles() {
    for (text, name) in [
        ("Nazywam się Piotr Kowalski.", "Piotr Kowalski"),
        ("Mijn naam is Pieter de Vries.", "Pieter de Vries"),
        ("Меня зовут Иван Петров.", "Иван Петров"),
        ("Mi nombre es Xochitl Tlapanco.", "Xochitl Tlapanco"),
        ("Patient: Ana dos Santos", "Ana dos Santos"),
        ("Dear Ludwig van Beethoven,", "Ludwig van Beethoven"),
    ] {
        assert_finds(text, Entity::Person, name);
    }
}

#[test]
fn a_known_given_name_and_an_unknown_surname_make_a_person() {
    assert_finds(
        "I want to add Anthony Kortig as a beneficiary to my account",
        Entity::Person,
        "Anthony Kortig",
    );
    // Streets, organizations and places that start with a given name do not.
    for text in [
        "He lives on the north side of Anthony Kortig 2906.",
        "Wolfram Research is based in Illinois.",
        "Russell Investments is a design agency.",
    ] {
        assert_none(text, Entity::Person);
    }
}

#[test]
fn names_after_chinese_japanese_and_korean_introductions() {
    for (text, name) in [
        ("我叫王伟。", "王伟"),
        ("你好，我的名字是李娜，很高兴认识你", "李娜"),
        ("私の名前は山田太郎です。", "山田太郎"),
        ("私の名前は 山田 太郎 です", "山田 太郎"),
        ("제 이름은 김민수입니다.", "김민수"),
        ("내 이름은 박지영이야", "박지영"),
    ] {
        assert_finds(text, Entity::Person, name);
    }
    // A run too long to be a name, or no introduction, is not one.
    for text in [
        "我叫王伟今年三十岁在北京工作",
        "我是学生",
        "제 이름은 비밀입니다만 알려드릴게요",
    ] {
        assert_none(text, Entity::Person);
    }
}

#[test]
fn names_in_fields_headers_and_shipping_labels() {
    for (text, name) in [
        (
            "{\"first_name\": \"Maria\", \"last_name\": \"Garcia\"}",
            "Maria",
        ),
        (
            "{\"first_name\": \"Maria\", \"last_name\": \"Garcia\"}",
            "Garcia",
        ),
        ("<lastName>Kortig</lastName>", "Kortig"),
        ("customer_name=Anthony Kortig&zip=10115", "Anthony Kortig"),
        ("From: Anthony Kortig <ak@example.com>", "Anthony Kortig"),
        (
            "From: \"Kowalski, Anna\" <anna.kowalski@firma.pl>",
            "Kowalski, Anna",
        ),
        (
            "Cc: \"De Vries, Jan-Peter\" <jp@acme.nl>, team@acme.nl",
            "De Vries, Jan-Peter",
        ),
        ("Ship to: Anthony Kortig, 12 Main St", "Anthony Kortig"),
        // Forms in other languages, accented field names included.
        (
            "Nom : Dupont\nPrénom : Marie\nTéléphone : 06 12 34 56 78",
            "Marie",
        ),
        ("Vorname: Jürgen\nNachname: Weiß", "Jürgen"),
        ("Vorname: Jürgen\nNachname: Weiß", "Weiß"),
        ("Apellidos: Fernández\nNombre: Lucía", "Fernández"),
        ("Förnamn: Astrid, Efternamn: Lindqvist", "Astrid"),
        ("{\"cognome\": \"Bianchi\"}", "Bianchi"),
        ("Фамилия: Иванова\nИмя: Анна", "Иванова"),
        ("Επώνυμο: Παπαδόπουλος", "Παπαδόπουλος"),
    ] {
        assert_finds(text, Entity::Person, name);
    }
    // Other fields, and places after `to`, are not names; `Nom` and `Nombre` also name things.
    for text in [
        "hostname: Apollo",
        "{\"username\": \"Admin\"}",
        "fname = \"Report\"",
        "I flew to Paris",
        "Nom du produit : Tournevis",
        "Nombre: Informe",
        "Société : Renault",
        // Teams, desks and mailboxes in headers are nobody's name.
        "Author: Dev Team <dev@acme.io>",
        "From: Billing Support <billing@acme.io>",
        "Assignee: Platform Ops",
        "From: \"Billing, Support\" <b@acme.io> and \"Sales, EMEA\" in text",
    ] {
        assert_none(text, Entity::Person);
    }
}

#[test]
fn street_addresses_with_house_numbers_are_locations() {
    for (text, address) in [
        (
            "Please ship it to 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
            "1600 Pennsylvania Avenue NW",
        ),
        (
            "Send the package to 221B Baker Street, London NW1 6XE.",
            "221B Baker Street",
        ),
        ("I live at Hauptstraße 5, 10115 Berlin.", "Hauptstraße 5"),
        ("Ci vediamo in Via Roma 10, Milano.", "Via Roma 10"),
        (
            "Mi dirección es Calle de Alcalá 42, Madrid.",
            "Calle de Alcalá 42",
        ),
        ("Bezorgen op Kalverstraat 12, Amsterdam", "Kalverstraat 12"),
        (
            "J'habite au 12 rue de la Paix, 75002 Paris.",
            "12 rue de la Paix",
        ),
        (
            "Livraison : 5, avenue des Champs-Élysées",
            "5, avenue des Champs-Élysées",
        ),
        ("au 27 bis rue Victor Hugo, Lyon", "27 bis rue Victor Hugo"),
        ("RDV au 3 place d'Italie", "3 place d'Italie"),
    ] {
        assert_finds(text, Entity::Location, address);
    }
    // Numbers before capitalized words that are no street: a chapter, a list, a year, a
    // product; a street word alone.
    for text in [
        "Chapter 3 Way Forward",
        "Top 10 Court Cases of the year",
        "In 1990 Oxford Street was busy.",
        "Windows 10 Home Edition",
        "Die Hauptstraße ist lang.",
        "Platz 1 für das Team.",
        "Il y a 12 rues de la ville",
        "le 14 juillet place de la Concorde",
        "version 2 route Alpha",
    ] {
        assert_none(text, Entity::Location);
    }
}

#[test]
fn birth_dates_with_month_names_of_other_languages_and_glued_labels() {
    for (text, date) in [
        ("geboren am 14. März 1985 in Köln", "14. März 1985"),
        (
            "fecha de nacimiento: 14 de marzo de 1985",
            "14 de marzo de 1985",
        ),
        ("née le 14 mars 1985", "14 mars 1985"),
        ("data di nascita: 14 marzo 1985", "14 marzo 1985"),
        ("дата рождения: 14 марта 1985 г.", "14 марта 1985"),
        ("生年月日：1985年3月14日", "1985年3月14日"),
        ("생년월일: 1985년 3월 14일", "1985년 3월 14일"),
        // A label glued to the value by a colon.
        ("DOB:1985-03-14", "1985-03-14"),
    ] {
        assert_finds(text, Entity::DateOfBirth, date);
    }
    assert_finds("Phone:4155552671", Entity::Phone, "4155552671");
    for text in ["Rechnung vom 14. März 1985", "2024年3月14日に会議"] {
        assert_none(text, Entity::DateOfBirth);
    }
}

#[test]
fn names_in_table_columns_named_for_a_person() {
    let csv =
        "first_name,last_name,email\nMaria,Kortig,m@example.com\nJuan,Abakumova,j@example.com";
    for name in ["Maria", "Kortig", "Juan", "Abakumova"] {
        assert_finds(csv, Entity::Person, name);
    }
    assert_finds(
        "id\tfirst_name\tcity\n1\tMaria\tLyon",
        Entity::Person,
        "Maria",
    );
    assert_finds(
        "| First Name | Last Name |\n|---|---|\n| Maria | Kortig |",
        Entity::Person,
        "Kortig",
    );
    // Other columns are not names.
    assert_none("name,price\nWidget,9.99", Entity::Person);
    assert_none("product,owner_team\nApollo,Platform", Entity::Person);
}

#[test]
fn names_that_begin_like_a_function_word_are_still_names() {
    // The recognizer skips capitalized function words (`We`, `Please`, `An`…) before it looks
    // for names and places: a name that starts with the same letters, or a surname spelled the
    // same, must not be lost to that shortcut.
    for (text, value) in [
        ("Name:    Anđa Tomić", "Anđa Tomić"),
        ("My name is A'isha Khan", "A'isha Khan"),
        ("Name: Ok Kim", "Ok Kim"),
        ("Name: He Jiankui", "He Jiankui"),
        ("Name: Will Smith", "Will Smith"),
        ("Please call Maria Silva at home", "Maria Silva"),
        ("Could Maria Silva call me?", "Maria Silva"),
    ] {
        assert_finds(text, Entity::Person, value);
    }
    assert_finds("We moved to Porto last year", Entity::Location, "Porto");
    assert_finds("I live in Lisbon, Portugal", Entity::Location, "Lisbon");
    // The function words themselves are no names.
    assert_none(
        "We like hiking. Could you help? Please hurry.",
        Entity::Person,
    );
}

#[test]
fn rows_of_a_csv_with_a_phone_column_are_people_and_its_header_is_not() {
    let csv = "Name,Email,Phone\n\
               Alice Wong,alice.wong@acme.io,+44 20 7946 0958\n\
               Bob Stone,bob@acme.io,+44 20 7946 0959";
    // The phone that ends a row is no house number of the next row's name.
    assert_finds(csv, Entity::Person, "Alice Wong");
    assert_finds(csv, Entity::Person, "Bob Stone");
    // `Email` after `Name,` is the next column's label.
    assert_not_finds(csv, Entity::Person, "Email");
    // A short number on the line before is a house number of an address block.
    assert_none("Rincon 9082\nCarlos Reyles DU 47621", Entity::Person);
}

#[test]
fn numbers_of_orders_records_and_bookings_are_not_phones_but_a_phone_named_after_them_is() {
    // A phone word next to the number outweighs an order word further off.
    for text in [
        "Order 48213377, call us on 020 7946 0958",
        "Booking 48213377, call us on 020 7946 0958",
    ] {
        assert_finds(text, Entity::Phone, "020 7946 0958");
    }
    let record = "Patient: John Miller, MRN 00234871, phone (617) 555-0143";
    assert_finds(record, Entity::Phone, "(617) 555-0143");
    assert_not_finds(record, Entity::Phone, "00234871");
    assert_none("Your confirmation number is 5550143921", Entity::Phone);
}
