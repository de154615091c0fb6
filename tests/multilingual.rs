//! The injection heuristics on our own multilingual battery (`tests/data/multilingual_injection.jsonl`):
//! attacks and benign look-alikes in about forty languages, written by us for these rules.
//! Each battery was written before the tables were fitted to it, and then used to fit them
//! (`tuned`): `b1`–`b3` and `hard` for the first tables, `b4` (paraphrased, mostly indirect
//! attacks) for the salutation table, `b5` (greetings to an AI with and without an attack) to
//! choose its form. Floors guard what the rules catch now; run with `--nocapture` for the table.

use palisade::{Context, Guard, Pipeline};

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    label: u8,
    lang: String,
    battery: String,
}

#[test]
fn multilingual_battery_recall_and_false_positives() {
    let rows: Vec<Row> = include_str!("data/multilingual_injection.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("battery row"))
        .collect();
    let guard =
        Pipeline::from_toml("[checks]\ninput = [\"injection\"]\noutput = []\ntool_result = []\n")
            .unwrap();
    let ctx = Context::new();
    // battery -> (attacks, caught, benign, flagged)
    let mut table: std::collections::BTreeMap<&str, (u32, u32, u32, u32)> = Default::default();
    for r in &rows {
        let flagged = !guard.check_input(&ctx, &r.text).is_allowed();
        let e = table.entry(r.battery.as_str()).or_default();
        if r.label == 1 {
            e.0 += 1;
            e.1 += u32::from(flagged);
        } else {
            e.2 += 1;
            e.3 += u32::from(flagged);
        }
        if flagged != (r.label == 1) {
            println!(
                "{} {} {}: {:?}",
                if flagged { "FP  " } else { "MISS" },
                r.battery,
                r.lang,
                r.text.chars().take(90).collect::<String>()
            );
        }
    }
    println!("battery   attacks caught   benign flagged");
    for (b, (a, c, n, f)) in &table {
        println!("{b:8} {a:8} {c:6}   {n:6} {f:7}");
    }
    // Floors: b1 misses only English attack families outside the near tables.
    let floors = [
        ("b1", 37, 0),
        ("b2", 45, 0),
        ("b3", 40, 0),
        ("b4", 17, 0),
        ("b5", 10, 0),
        ("hard", 0, 0),
    ];
    for (b, caught, flagged) in floors {
        let (_, c, _, f) = table[b];
        assert!(c >= caught, "{b}: {c} attacks caught, floor {caught}");
        assert!(
            f <= flagged,
            "{b}: {f} benign rows flagged, ceiling {flagged}"
        );
    }
}
