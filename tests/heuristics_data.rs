//! The heuristic layer against the labelled injection data in `../shared/data/injection`:
//! at most 1% of benign rows (hard negatives included) may be flagged; recall per source is
//! printed (run with `--nocapture` to see it). Rows of the indirect sources (documents) are
//! checked as tool results, the others as input. Skips when the data is missing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use palisade::{Context, Guard, Pipeline};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/injection");
    dir.is_dir().then_some(dir)
}

#[test]
fn heuristics_flag_at_most_one_percent_of_benign_rows() {
    let Some(dir) = data_dir() else {
        eprintln!("SKIP: ../shared/data/injection is missing; heuristic FP/recall not measured");
        return;
    };
    // The heuristics alone: the classifier has its own evaluation (`palisade eval`).
    let mut config = palisade::Config::default();
    config.checks.input.retain(|d| d != "classifier");
    config.checks.tool_result.retain(|d| d != "classifier");
    let guard = Pipeline::from_config(&config).unwrap();
    let ctx = Context::new();
    // (file, label) -> (rows, flagged)
    let mut stats: BTreeMap<(String, i64), (usize, usize)> = BTreeMap::new();
    let mut examples: Vec<String> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let file = std::fs::File::open(path).unwrap();
        for line in std::io::BufReader::new(file).lines() {
            let line = line.unwrap();
            let Ok(row) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let (Some(text), Some(label)) = (row["text"].as_str(), row["label"].as_i64()) else {
                continue;
            };
            // Documents with injections hidden in them arrive as tool results.
            let v = if name.contains("indirect") {
                guard.check_tool_result(&ctx, text)
            } else {
                guard.check_input(&ctx, text)
            };
            let flagged = !v.is_allowed() || v.is_blocked();
            let e = stats.entry((name.clone(), label)).or_default();
            e.0 += 1;
            if flagged {
                e.1 += 1;
                if label == 0 && examples.len() < 60 {
                    examples.push(format!("{name}: {}", v.reason()));
                }
            }
        }
    }
    let (mut benign, mut benign_flagged) = (0, 0);
    println!(
        "{:<40} {:>5} {:>6} {:>7} {:>7}",
        "file", "label", "rows", "flagged", "rate"
    );
    for ((file, label), (rows, flagged)) in &stats {
        println!(
            "{file:<40} {label:>5} {rows:>6} {flagged:>7} {:>6.1}%",
            100.0 * *flagged as f64 / *rows as f64
        );
        if *label == 0 {
            benign += rows;
            benign_flagged += flagged;
        }
    }
    for e in &examples {
        println!("FP {e}");
    }
    let rate = benign_flagged as f64 / benign as f64;
    println!(
        "benign flagged: {benign_flagged}/{benign} = {:.2}%",
        100.0 * rate
    );
    assert!(
        rate <= 0.01,
        "heuristics flag {:.2}% of benign rows",
        100.0 * rate
    );
    for ((file, label), (rows, flagged)) in &stats {
        if *label == 0 && *rows >= 100 {
            assert!(
                (*flagged as f64) / (*rows as f64) <= 0.02,
                "{file}: {flagged}/{rows} benign rows flagged"
            );
        }
    }
}
