//! The secret detectors against the labelled samples in `../shared/data/secrets` (gitleaks,
//! Nosey Parker and Kingfisher rule samples). Prints recall and false-positive rate per source
//! (run with `--nocapture`; `PALISADE_SHOW_MISSES=1` lists misses and false positives), twice:
//! counting `secret.*` findings only, and counting `identifier.*` findings too (bucket names,
//! ARNs, tenant hosts, client ids: Nosey Parker and Kingfisher list them among their positives,
//! palisade reports them with the action `allow`).
//!
//! The goal of issue 4 is 95% recall and at most 2% false positives per source. This test
//! asserts it per source as recall counting identifiers (the sources label them positives) and
//! false positives on the negatives no other rule of the source matches (below), holds every
//! other printed figure at its measured level, so no change makes it worse, and prints the gap
//! to the goal where a figure falls short of it. Skips when the data is missing.
//!
//! The negatives are negatives of one rule each: many hold what another rule of the same source
//! finds (an S3 host among the negatives of the path-style bucket rule, a generic secret among
//! those of the AWS rule). The false-positive rate is printed twice: over all negatives, and
//! over those that no other rule of the source matches, by the source's own regexes from
//! `rule_regexes.jsonl` (compiled with regex-automata; the few it cannot compile are counted).

use std::collections::BTreeMap;
use std::path::PathBuf;

use palisade::{Context, Guard, Pipeline};
use regex_automata::meta::Regex;

/// The regexes of `tool` from `rule_regexes.jsonl`, by rule id, and how many of its regexes
/// did not compile (look-around, which regex-automata lacks).
fn source_regexes(dir: &std::path::Path, tool: &str) -> (Vec<(String, Regex)>, usize) {
    let Ok(content) = std::fs::read_to_string(dir.join("rule_regexes.jsonl")) else {
        return (Vec::new(), 0);
    };
    let mut skipped = 0;
    let mut out = Vec::new();
    for line in content.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["tool"].as_str() != Some(tool) {
            continue;
        }
        let (Some(rule), Some(regex)) = (r["rule"].as_str(), r["regex"].as_str()) else {
            continue;
        };
        // Nosey Parker writes comments as `(?# … )`, which regex-automata lacks.
        let mut regex = regex.to_string();
        while let Some(at) = regex.find("(?#") {
            let end = regex[at..].find(')').map_or(regex.len(), |e| at + e + 1);
            regex.replace_range(at..end, "");
        }
        match Regex::new(&regex) {
            Ok(re) => out.push((rule.to_string(), re)),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/secrets");
    dir.is_dir().then_some(dir)
}

#[test]
fn secret_recall_and_false_positives_per_source_meet_the_goal_and_do_not_regress() {
    let Some(dir) = data_dir() else {
        eprintln!("SKIP: ../shared/data/secrets is missing; secret recall/FP not measured");
        return;
    };
    let guard =
        Pipeline::from_toml("[checks]\ninput = [\"secret\"]\noutput = []\ntool_result = []\n")
            .expect("secret-only pipeline");
    let ctx = Context::new();
    // (name, file, floors): the measured level, as (recall floor, false-positive ceiling)
    // counting secrets only, then counting identifiers too.
    type Floor = ((f64, f64), (f64, f64));
    // The false-positive ceilings on the negatives no other rule of the source matches, secrets
    // only and with identifiers.
    type Clean = (f64, f64);
    let sources: [(&str, &str, Floor, Clean); 4] = [
        (
            "gitleaks",
            "gitleaks_rule_samples.jsonl",
            ((0.99, 0.02), (0.99, 0.02)),
            (0.01, 0.01),
        ),
        (
            "noseyparker",
            "noseyparker_rule_examples.jsonl",
            ((0.88, 0.066), (0.95, 0.099)),
            (0.02, 0.02),
        ),
        (
            "kingfisher",
            "kingfisher_rule_examples.jsonl",
            ((0.94, 0.0), (0.975, 0.0)),
            (0.0, 0.0),
        ),
        (
            "llm-guard",
            "llm_guard_secrets_tests.jsonl",
            ((1.0, 0.0), (1.0, 0.0)),
            (0.0, 0.0),
        ),
    ];
    let show = std::env::var("PALISADE_SHOW_MISSES").is_ok();
    let mut failures = Vec::new();
    println!(
        "{:<30} {:>6} {:>6} {:>8} {:>6} {:>6} {:>7}",
        "source", "pos", "found", "recall", "neg", "fp", "fp rate"
    );
    for (name, file, (floor, floor_ids), clean_ceiling) in sources {
        let Ok(content) = std::fs::read_to_string(dir.join(file)) else {
            eprintln!("SKIP: {file} is missing");
            continue;
        };
        // A negative row of one rule that the same source lists as a positive of another rule
        // (a Cloudflare origin key among the negatives of the Cloudflare API key rule) is a
        // secret, not a negative.
        let positives: std::collections::HashSet<String> = content
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["label"].as_i64() == Some(1))
            .filter_map(|r| r["text"].as_str().map(str::to_owned))
            .collect();
        let (regexes, skipped) = source_regexes(&dir, name);
        // Negatives no other rule of the source matches, and false positives among them.
        let (mut clean, mut clean_fp) = (0usize, [0usize; 2]);
        let mut cross = 0usize;
        // Index 0: secrets only; 1: identifiers too.
        let (mut pos, mut found, mut neg, mut fp) = (0usize, [0usize; 2], 0usize, [0usize; 2]);
        let mut missed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut false_pos: Vec<String> = Vec::new();
        for line in content.lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = row["text"].as_str().unwrap_or("");
            let label = row["label"].as_i64().unwrap_or(0);
            let rule = row["rule"].as_str().unwrap_or("?").to_string();
            let v = guard.check_input(&ctx, text);
            let secret = v
                .findings()
                .iter()
                .find(|f| f.detector.starts_with("secret."));
            let hit = secret.or_else(|| {
                v.findings()
                    .iter()
                    .find(|f| f.detector.starts_with("identifier."))
            });
            let counts = [secret.is_some(), hit.is_some()];
            if label == 1 {
                pos += 1;
                for (n, c) in found.iter_mut().zip(counts) {
                    *n += usize::from(c);
                }
                if hit.is_none() {
                    missed
                        .entry(rule)
                        .or_default()
                        .push(text.chars().take(160).collect());
                }
            } else if positives.contains(text) {
                cross += 1;
            } else {
                neg += 1;
                for (n, c) in fp.iter_mut().zip(counts) {
                    *n += usize::from(c);
                }
                if !regexes
                    .iter()
                    .any(|(id, re)| *id != rule && re.is_match(text))
                {
                    clean += 1;
                    for (n, c) in clean_fp.iter_mut().zip(counts) {
                        *n += usize::from(c);
                    }
                }
                if let Some(h) = hit {
                    false_pos.push(format!(
                        "{rule}: {} <- {:?}",
                        h.detector,
                        text.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
        if show {
            for (rule, texts) in &missed {
                println!("  MISS {name} {rule} ({}): {:?}", texts.len(), texts[0]);
            }
            for f in &false_pos {
                println!("  FP {name} {f}");
            }
        }
        for (i, (min_recall, max_fp)) in [floor, floor_ids].into_iter().enumerate() {
            let what = ["secrets", "with identifiers"][i];
            let recall = found[i] as f64 / pos.max(1) as f64;
            let fp_rate = fp[i] as f64 / neg.max(1) as f64;
            println!(
                "{:<30} {pos:>6} {:>6} {:>7.1}% {neg:>6} {:>6} {:>6.1}%   ({cross} negatives that are another rule's positives left out)",
                format!("{name} ({what})"),
                found[i],
                recall * 100.0,
                fp[i],
                fp_rate * 100.0
            );
            let clean_rate = clean_fp[i] as f64 / clean.max(1) as f64;
            if !regexes.is_empty() {
                println!(
                    "{:<30} {:>31} {clean:>6} {:>6} {:>6.1}%   (negatives no other rule of the source matches; {skipped} of its regexes not compiled)",
                    "",
                    "",
                    clean_fp[i],
                    clean_rate * 100.0
                );
            }
            if clean_rate > [clean_ceiling.0, clean_ceiling.1][i] {
                failures.push(format!(
                    "{name} ({what}): FP {:.1}% on the negatives no other rule matches (ceiling {:.0}%)",
                    clean_rate * 100.0,
                    [clean_ceiling.0, clean_ceiling.1][i] * 100.0
                ));
            }
            // The goal, on the measures above: recall with identifiers, false positives
            // on the negatives no other rule of the source matches (where the source has regexes).
            if i == 1 && (recall < 0.95 || (!regexes.is_empty() && clean_rate > 0.02)) {
                failures.push(format!(
                    "{name}: recall with identifiers {:.1}%, FP {:.1}% on the negatives no other rule matches (goal 95% / 2%)",
                    recall * 100.0,
                    clean_rate * 100.0
                ));
            }
            if recall < 0.95 || fp_rate > 0.02 {
                println!("  {name} ({what}): short of 95% recall or of 2% FP over all negatives");
            }
            if recall < min_recall || fp_rate > max_fp {
                failures.push(format!(
                    "{name} ({what}): recall {:.1}% (floor {:.1}%), FP {:.1}% (ceiling {:.0}%)",
                    recall * 100.0,
                    min_recall * 100.0,
                    fp_rate * 100.0,
                    max_fp * 100.0
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "worse than the recorded level: {failures:?}"
    );
}
