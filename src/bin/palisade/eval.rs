//! `palisade eval`: the injection classifier on labelled JSONL.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use palisade::Config;
use palisade::detect::injection::classifier::{Backend, InjectionClassifier};
use serde::Serialize;
use serde_json::{Value, json};

/// The arguments of `palisade eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (its `[classifier]` section); the defaults without it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Model folder (with manifest.toml), overriding the configuration.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Backend: tract or onnxruntime.
    #[arg(long)]
    pub backend: Option<String>,
    /// Model variant (fp32, int8, ...).
    #[arg(long)]
    pub variant: Option<String>,
    /// Most windows per text (0: all).
    #[arg(long)]
    pub max_windows: Option<usize>,
    /// Run the full model on every window, without the manifest's screen model.
    #[arg(long)]
    pub no_screen: bool,
    /// Screen probability from which a window goes to the full model (default: the manifest's).
    #[arg(long)]
    pub escalate: Option<f32>,
    /// Score texts in batches of this many (throughput) instead of one by one (latency).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write each row's score here (JSONL: index, label, source, probability).
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// The labelled JSONL file.
    pub file: PathBuf,
}

struct Row {
    text: String,
    label: bool,
    source: String,
}

fn read_rows(file: &PathBuf) -> Result<Vec<Row>, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut rows = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: invalid JSON: {e}", file.display(), i + 1))?;
        let text = v["text"]
            .as_str()
            .ok_or_else(|| format!("{}:{}: no string \"text\"", file.display(), i + 1))?;
        let label = match &v["label"] {
            Value::Bool(b) => *b,
            Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
                n.as_u64() == Some(1)
            }
            Value::String(s) if s == "0" || s == "1" => s == "1",
            other => {
                return Err(format!(
                    "{}:{}: \"label\" must be 0 or 1, not {other}",
                    file.display(),
                    i + 1
                ));
            }
        };
        let source = v["source"].as_str().unwrap_or("(none)").to_owned();
        rows.push(Row {
            text: text.to_owned(),
            label,
            source,
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", file.display()));
    }
    Ok(rows)
}

/// Area under the ROC curve (ties count half).
fn auc(pos: &[f32], neg: &[f32]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The smallest threshold whose false-positive rate on `neg` is at most `rate`.
fn threshold_at_fpr(neg: &[f32], rate: f64) -> f32 {
    let mut s = neg.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let allowed = (rate * s.len() as f64).floor() as usize;
    // Scores strictly above the returned value are flagged.
    if allowed >= s.len() {
        return f32::NEG_INFINITY;
    }
    s[allowed]
}

fn rate(xs: &[f32], above: f32) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().filter(|&&s| s > above).count() as f64 / xs.len() as f64
}

#[derive(Serialize)]
struct SourceReport {
    source: String,
    rows: usize,
    attacks: usize,
    recall: Option<f64>,
    false_positive_rate: Option<f64>,
    auc: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    file: String,
    model: String,
    variant: String,
    backend: &'static str,
    rows: usize,
    attacks: usize,
    auc: Option<f64>,
    threshold: f32,
    precision: Option<f64>,
    recall: f64,
    false_positive_rate: f64,
    recall_at_1pct_fpr: f64,
    recall_at_0_1pct_fpr: f64,
    sources: Vec<SourceReport>,
    latency_ms: BTreeMap<&'static str, f64>,
    texts_per_second: f64,
    /// Screen probability from which windows went to the full model (None: no screen ran).
    screen_escalate: Option<f32>,
    windows_scanned: usize,
    windows_escalated: usize,
}

pub fn run(a: Args) -> Result<u8, String> {
    let mut cfg = match &a.config {
        Some(p) => Config::from_file(p).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let base = cfg.base_dir.clone();
    let c = &mut cfg.classifier;
    if let Some(m) = a.model {
        c.model = Some(std::path::absolute(&m).map_err(|e| format!("{}: {e}", m.display()))?);
    }
    if let Some(b) = &a.backend {
        c.backend = match b.as_str() {
            "tract" => Backend::Tract,
            "onnxruntime" => Backend::Onnxruntime,
            other => return Err(format!("--backend: {other:?} is not tract or onnxruntime")),
        };
    }
    if a.variant.is_some() {
        c.variant = a.variant.clone();
    }
    if let Some(w) = a.max_windows {
        c.max_windows = w;
    }
    if a.no_screen {
        c.screen = false;
    }
    if a.escalate.is_some() {
        c.escalate = a.escalate;
    }
    if a.batch == 0 {
        return Err("--batch: must be at least 1".into());
    }
    let classifier = InjectionClassifier::load_in(c, base.as_deref()).map_err(|e| e.to_string())?;
    let rows = read_rows(&a.file)?;
    let mut probs = vec![0f32; rows.len()];
    let mut lat = Vec::with_capacity(rows.len());
    let (mut scanned, mut escalated) = (0usize, 0usize);
    let started = Instant::now();
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (k, chunk) in rows.chunks(a.batch).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        let t = Instant::now();
        let scores = classifier.score_many(&texts).map_err(|e| e.to_string())?;
        lat.push(
            t.elapsed().as_secs_f64() * 1000.0
                / if a.batch == 1 {
                    1.0
                } else {
                    chunk.len() as f64
                },
        );
        for (i, s) in scores.into_iter().enumerate() {
            probs[k * a.batch + i] = s.probability;
            scanned += s.scanned;
            escalated += s.escalated;
        }
        if progress && (k + 1) % 50 == 0 {
            eprint!("\r{} / {} rows", (k + 1) * a.batch, rows.len());
        }
    }
    if progress {
        eprint!("\r");
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(path) = &a.scores {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
        for (i, (r, p)) in rows.iter().zip(&probs).enumerate() {
            let _ = writeln!(
                f,
                "{}",
                json!({"index": i, "label": r.label as u8, "source": r.source, "probability": p})
            );
        }
    }
    let pos: Vec<f32> = rows
        .iter()
        .zip(&probs)
        .filter(|(r, _)| r.label)
        .map(|(_, &p)| p)
        .collect();
    let neg: Vec<f32> = rows
        .iter()
        .zip(&probs)
        .filter(|(r, _)| !r.label)
        .map(|(_, &p)| p)
        .collect();
    let t = classifier.threshold();
    // At the threshold: flagged when probability >= threshold.
    let above = f32::from_bits(t.to_bits().wrapping_sub(1));
    let tp = pos.iter().filter(|&&p| p >= t).count();
    let fp = neg.iter().filter(|&&p| p >= t).count();
    let mut by: BTreeMap<&str, (Vec<f32>, Vec<f32>)> = BTreeMap::new();
    for (r, &p) in rows.iter().zip(&probs) {
        let e = by.entry(r.source.as_str()).or_default();
        if r.label { e.0.push(p) } else { e.1.push(p) }
    }
    let sources = by
        .into_iter()
        .map(|(s, (p, n))| SourceReport {
            source: s.to_owned(),
            rows: p.len() + n.len(),
            attacks: p.len(),
            recall: (!p.is_empty()).then(|| rate(&p, above)),
            false_positive_rate: (!n.is_empty()).then(|| rate(&n, above)),
            auc: auc(&p, &n),
        })
        .collect();
    let mut sorted = lat.clone();
    sorted.sort_by(f64::total_cmp);
    let pct =
        |q: f64| sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)];
    let mut latency_ms = BTreeMap::new();
    latency_ms.insert("p50", pct(0.5));
    latency_ms.insert("p90", pct(0.9));
    latency_ms.insert("p99", pct(0.99));
    latency_ms.insert("max", pct(1.0));
    let report = Report {
        file: a.file.display().to_string(),
        model: format!(
            "{} {}",
            classifier.manifest().name,
            classifier.manifest().version
        ),
        variant: classifier.variant().to_owned(),
        backend: classifier.backend().name(),
        rows: rows.len(),
        attacks: pos.len(),
        auc: auc(&pos, &neg),
        threshold: t,
        precision: (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64),
        recall: if pos.is_empty() {
            0.0
        } else {
            tp as f64 / pos.len() as f64
        },
        false_positive_rate: if neg.is_empty() {
            0.0
        } else {
            fp as f64 / neg.len() as f64
        },
        recall_at_1pct_fpr: if neg.is_empty() {
            0.0
        } else {
            rate(&pos, threshold_at_fpr(&neg, 0.01))
        },
        recall_at_0_1pct_fpr: if neg.is_empty() {
            0.0
        } else {
            rate(&pos, threshold_at_fpr(&neg, 0.001))
        },
        sources,
        latency_ms,
        texts_per_second: rows.len() as f64 / elapsed,
        screen_escalate: classifier.screen_escalate(),
        windows_scanned: scanned,
        windows_escalated: escalated,
    };
    let mut out = std::io::stdout().lock();
    if a.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(0);
    }
    let f = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "{}: {} rows ({} attacks), model {} [{} on {}]",
        report.file, report.rows, report.attacks, report.model, report.variant, report.backend
    );
    if let Some(e) = report.screen_escalate {
        let _ = writeln!(
            out,
            "screen: {} of {} windows ({:.1}%) went on to the full model (escalate at {e})",
            report.windows_escalated,
            report.windows_scanned,
            100.0 * report.windows_escalated as f64 / report.windows_scanned.max(1) as f64
        );
    }
    let _ = writeln!(out, "AUC {}", f(report.auc));
    let _ = writeln!(
        out,
        "at threshold {:.3}: precision {}, recall {:.4}, false-positive rate {:.4}",
        t,
        f(report.precision),
        report.recall,
        report.false_positive_rate
    );
    let _ = writeln!(
        out,
        "recall at 1% FPR {:.4}, at 0.1% FPR {:.4}",
        report.recall_at_1pct_fpr, report.recall_at_0_1pct_fpr
    );
    let _ = writeln!(
        out,
        "\n{:<48} {:>6} {:>7} {:>8} {:>8} {:>7}",
        "source", "rows", "attacks", "recall", "FPR", "AUC"
    );
    for s in &report.sources {
        let name: String = s.source.chars().take(48).collect();
        let _ = writeln!(
            out,
            "{:<48} {:>6} {:>7} {:>8} {:>8} {:>7}",
            name,
            s.rows,
            s.attacks,
            f(s.recall),
            f(s.false_positive_rate),
            f(s.auc).trim_start_matches('0').to_owned()
        );
    }
    let _ = writeln!(
        out,
        "\nlatency per text{}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} texts/s",
        if a.batch > 1 {
            format!(" (batches of {})", a.batch)
        } else {
            String::new()
        },
        report.latency_ms["p50"],
        report.latency_ms["p90"],
        report.latency_ms["p99"],
        report.latency_ms["max"],
        report.texts_per_second
    );
    Ok(0)
}
