//! The PII recognizers against presidio-research's labelled sentences in `../shared/data/pii`
//! (span match by type: a prediction counts when it overlaps a gold span of the same type).
//! Prints precision, recall and F1 per entity type (run with `--nocapture`;
//! `PALISADE_SHOW_MISSES=1` lists misses and false positives) and holds the measured levels as
//! floors. Skips when the data is missing.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use palisade::detect::pii::{Entity, Pii, PiiConfig};
use serde_json::Value;

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pii");
    dir.is_dir().then_some(dir)
}

/// Our entity for a presidio type (the structured types of issue 3).
fn ours(gold: &str) -> Option<Entity> {
    Some(match gold {
        "EMAIL_ADDRESS" => Entity::Email,
        "PHONE_NUMBER" => Entity::Phone,
        "CREDIT_CARD" => Entity::CreditCard,
        "IBAN_CODE" => Entity::Iban,
        "IP_ADDRESS" => Entity::IpAddress,
        "US_SSN" => Entity::UsSsn,
        "DOMAIN_NAME" | "URL" => Entity::Url,
        "US_DRIVER_LICENSE" => Entity::DriversLicense,
        "PERSON" => Entity::Person,
        "LOCATION" | "GPE" => Entity::Location,
        _ => return None,
    })
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

#[test]
fn pii_precision_and_recall_per_type_do_not_regress() {
    let Some(dir) = data_dir() else {
        eprintln!("SKIP: ../shared/data/pii is missing; PII precision/recall not measured");
        return;
    };
    let all: Vec<String> = Entity::ALL.iter().map(|e| e.name().to_owned()).collect();
    let pii = Pii::new(&PiiConfig {
        entities: all,
        ..PiiConfig::default()
    })
    .unwrap();
    let show = std::env::var_os("PALISADE_SHOW_MISSES").is_some();
    let mut counts: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let mut wnut = Counts::default();
    let mut noted = Counts::default();
    // Labelled street addresses, and those a redacted location finding overlaps.
    let (mut addresses_total, mut addresses_found) = (0usize, 0usize);
    for file in [
        "presidio_research_synth_v2.jsonl",
        "presidio_research_generated_large.jsonl",
        "wnut17_train_dev.jsonl",
    ] {
        // WNUT-17 (tweets, names often lowercase) is scored for person names only, apart.
        let person_only = file.starts_with("wnut17");
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            eprintln!("SKIP: {file} missing");
            continue;
        };
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).expect("jsonl");
            let t = row["text"].as_str().unwrap_or("");
            let gold: Vec<(Entity, usize, usize)> = row["entities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let ty = ours(e["type"].as_str()?)?;
                    // presidio offsets are in characters
                    let cs = e["start"].as_u64()? as usize;
                    let ce = e["end"].as_u64()? as usize;
                    let bs = t.char_indices().nth(cs).map_or(t.len(), |(b, _)| b);
                    let be = t.char_indices().nth(ce).map_or(t.len(), |(b, _)| b);
                    Some((ty, bs, be))
                })
                .collect();
            // Presidio labels a city inside an address as part of the ADDRESS: a location
            // found there is neither right nor wrong for LOCATION.
            let addresses: Vec<(usize, usize)> = row["entities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| matches!(e["type"].as_str(), Some("ADDRESS" | "STREET_ADDRESS")))
                .filter_map(|e| {
                    let cs = e["start"].as_u64()? as usize;
                    let ce = e["end"].as_u64()? as usize;
                    let bs = t.char_indices().nth(cs).map_or(t.len(), |(b, _)| b);
                    let be = t.char_indices().nth(ce).map_or(t.len(), |(b, _)| b);
                    Some((bs, be))
                })
                .collect();
            if !person_only {
                let found: Vec<Range<usize>> = pii
                    .recognize(t)
                    .into_iter()
                    .filter(|(e, _, score)| *e == Entity::Location && *score >= 0.5)
                    .map(|(_, r, _)| r)
                    .collect();
                addresses_total += addresses.len();
                addresses_found += addresses
                    .iter()
                    .filter(|&&(s, z)| found.iter().any(|r| r.start < z && s < r.end))
                    .count();
            }
            // Locations noted under the threshold too (bare mentions, `trip to …`).
            if !person_only {
                let mut used = vec![false; gold.len()];
                for (e, r, _) in pii.recognize(t) {
                    if e != Entity::Location
                        || addresses.iter().any(|&(s, z)| r.start < z && s < r.end)
                    {
                        continue;
                    }
                    match gold
                        .iter()
                        .enumerate()
                        .find(|(i, (ge, s, z))| !used[*i] && *ge == e && r.start < *z && *s < r.end)
                    {
                        Some((i, _)) => {
                            used[i] = true;
                            noted.tp += 1;
                        }
                        None => noted.fp += 1,
                    }
                }
                noted.fn_ += gold
                    .iter()
                    .enumerate()
                    .filter(|(i, (e, _, _))| *e == Entity::Location && !used[*i])
                    .count();
            }
            let mut matched = vec![false; gold.len()];
            for (e, r, score) in pii.recognize(t) {
                if score < 0.5
                    || (e == Entity::Location
                        && addresses.iter().any(|&(s, z)| r.start < z && s < r.end))
                {
                    continue;
                }
                let evaluated = [
                    "EMAIL_ADDRESS",
                    "PHONE_NUMBER",
                    "CREDIT_CARD",
                    "IBAN_CODE",
                    "IP_ADDRESS",
                    "US_SSN",
                    "URL",
                    "US_DRIVER_LICENSE",
                    "PERSON",
                    "LOCATION",
                ]
                .iter()
                .any(|g| ours(g) == Some(e));
                if !evaluated || (person_only && e != Entity::Person) {
                    continue;
                }
                let hit = gold
                    .iter()
                    .enumerate()
                    .find(|(i, (ge, s, z))| !matched[*i] && *ge == e && r.start < *z && *s < r.end);
                let c = if person_only {
                    &mut wnut
                } else {
                    counts.entry(e.name()).or_default()
                };
                match hit {
                    Some((i, _)) => {
                        matched[i] = true;
                        c.tp += 1;
                    }
                    None => {
                        c.fp += 1;
                        if show {
                            eprintln!("FP {:?}: {:?} in {:?}", e, &t[r.clone()], t);
                        }
                    }
                }
            }
            for (i, (e, s, z)) in gold.iter().enumerate() {
                if !matched[i] && (!person_only || *e == Entity::Person) {
                    if person_only {
                        wnut.fn_ += 1;
                    } else {
                        counts.entry(e.name()).or_default().fn_ += 1;
                    }
                    if show {
                        eprintln!("MISS {:?}: {:?} in {:?}", e, &t[*s..*z], t);
                    }
                }
            }
        }
    }
    // (type, floor on F1): the measured level.
    let floors: BTreeMap<&str, f64> = [
        ("email", 0.99),
        ("phone", 0.98),
        ("credit_card", 0.99),
        ("iban", 0.99),
        ("ip_address", 0.99),
        ("us_ssn", 0.99),
        ("url", 0.99),
        ("drivers_license", 0.99),
        ("person", 0.54),
        // Redacted only where a phrase ties the place to someone (precision 1.000 measured);
        // every mention is noted under the threshold (checked below).
        ("location", 0.2),
    ]
    .into_iter()
    .collect();
    let mut failures = Vec::new();
    for (name, c) in &counts {
        let p = c.tp as f64 / (c.tp + c.fp).max(1) as f64;
        let r = c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        eprintln!(
            "{name:<16} precision {p:.3} recall {r:.3} F1 {f1:.3}  (tp {} fp {} fn {})",
            c.tp, c.fp, c.fn_
        );
        if let Some(floor) = floors.get(name)
            && f1 + 1e-9 < *floor
        {
            failures.push(format!("{name}: F1 {f1:.3} < {floor}"));
        }
    }
    let precision = |c: &Counts| c.tp as f64 / (c.tp + c.fp).max(1) as f64;
    let recall = |c: &Counts| c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
    eprintln!(
        "person (wnut17)  precision {:.3} recall {:.3}  (tp {} fp {} fn {})",
        precision(&wnut),
        recall(&wnut),
        wnut.tp,
        wnut.fp,
        wnut.fn_
    );
    // Names are precision first: at least 0.90 (the bar) on presidio-research; on
    // WNUT-17 tweets (some real names are unlabelled there) the measured 0.857 is the floor.
    if let Some(p) = counts.get("person")
        && precision(p) < 0.95
    {
        failures.push(format!("person precision {:.3} < 0.95", precision(p)));
    }
    eprintln!(
        "location (noted, any score) precision {:.3} recall {:.3}  (tp {} fp {} fn {})",
        precision(&noted),
        recall(&noted),
        noted.tp,
        noted.fp,
        noted.fn_
    );
    eprintln!("street addresses with a location finding: {addresses_found} of {addresses_total}");
    if addresses_total > 0 && addresses_found * 100 < addresses_total * 20 {
        failures.push(format!(
            "street addresses found {addresses_found} of {addresses_total}, under 20%"
        ));
    }
    // Locations too (a city inside a presidio ADDRESS span is not scored).
    if let Some(p) = counts.get("location")
        && precision(p) < 0.95
    {
        failures.push(format!("location precision {:.3} < 0.95", precision(p)));
    }
    if noted.tp + noted.fp > 0 && (precision(&noted) < 0.95 || recall(&noted) < 0.24) {
        failures.push(format!(
            "noted locations: precision {:.3} / recall {:.3} under 0.95 / 0.24",
            precision(&noted),
            recall(&noted)
        ));
    }
    if wnut.tp + wnut.fp > 0 && precision(&wnut) < 0.85 {
        failures.push(format!(
            "person precision on wnut17 {:.3} < 0.85",
            precision(&wnut)
        ));
    }
    assert!(failures.is_empty(), "{failures:?}");
}
