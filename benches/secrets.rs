//! The whole secret rule set (provider rules, keyword prefilter, generic detector) through
//! `check_input` with only the `secret` detector: source-code-like text of growing size, and
//! text full of keywords but without secrets.
//!
//! Run: `cargo bench --bench secrets`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade::{Context, Guard, Pipeline};

/// A plausible source file: functions, configuration reads, comments, URLs and numbers.
const CODE: &str = r##"
import os
from dataclasses import dataclass

# Settings are read from the environment; nothing secret lives in this file.
@dataclass
class Settings:
    database_url: str = os.environ.get("DATABASE_URL", "postgres://localhost:5432/app")
    cache_ttl_seconds: int = 300
    max_retries: int = 5
    region: str = "ca-central-1"

def load_settings() -> Settings:
    """Build the settings object, validating every field before use."""
    s = Settings()
    if s.max_retries < 0 or s.max_retries > 10:
        raise ValueError(f"max_retries out of range: {s.max_retries}")
    for attempt in range(s.max_retries):
        log.debug("attempt %d of %d", attempt + 1, s.max_retries)
    return s

fn parse_header(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    Some((name.trim(), value.trim()))
}

const routes = { home: "/", docs: "/docs/getting-started", api: "/api/v2/items?page=1&limit=50" };
let total = items.iter().map(|i| i.price * i.quantity).sum::<u64>();
"##;

/// Keyword-dense text without secrets: names that trigger the prefilter, values that fail.
const KEYWORDS: &str = r##"
api_key = os.environ["API_KEY"]
secret_name = "payments-service"
token_url = "https://auth.example.org/oauth/token"
password_min_length = 12
github_token = get_secret("github")
stripe_key = config.stripe.key
aws_region = "us-east-1"   # aws account in the sandbox
slack_channel = "#alerts"  # slack webhook is stored in the vault
const tokenizer = new Tokenizer({ lowercase: true });
"##;

fn repeat(unit: &str, len: usize) -> String {
    let mut s = String::with_capacity(len + unit.len());
    while s.len() < len {
        s.push_str(unit);
    }
    s.truncate(len);
    s
}

fn guard() -> Pipeline {
    Pipeline::from_toml(
        "max_input_bytes = 16777216\n\
         [checks]\ninput = [\"secret\"]\noutput = []\ntool_result = []\n\
         [normalize]\nmax_decoded_bytes = 4194304\n",
    )
    .expect("bench config")
}

fn group(c: &mut Criterion, name: &str, unit: &str, sizes: &[usize]) {
    let g = guard();
    let ctx = Context::new();
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    for &size in sizes {
        let text = repeat(unit, size);
        assert!(
            g.check_input(&ctx, &text).findings().is_empty(),
            "{name} has no secrets"
        );
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| black_box(g.check_input(&ctx, black_box(t))))
        });
    }
    group.finish();
}

fn code(c: &mut Criterion) {
    group(c, "secrets/code", CODE, &[64 << 10, 1 << 20, 4 << 20]);
}

fn keywords(c: &mut Criterion) {
    group(c, "secrets/keywords", KEYWORDS, &[64 << 10, 1 << 20]);
}

criterion_group!(benches, code, keywords);
criterion_main!(benches);
