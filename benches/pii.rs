//! The PII recognizers and redaction through `check_input` with only the `pii` detector:
//! mixed English text with personal data sprinkled in, and text dense with near-miss digits.
//!
//! Run: `cargo bench --bench pii`. Targets: ≥ 100 MB/s (≤ 10 µs per KiB) on mixed English,
//! linear in size; 1 MiB of random digits and separators within 10× that per byte.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade::{Context, Guard, Pipeline};

include!("common/pii_text.rs");

fn guard() -> Pipeline {
    Pipeline::from_toml(
        "max_input_bytes = 16777216\n\
         [checks]\ninput = [\"pii\"]\noutput = []\ntool_result = []\n",
    )
    .expect("bench config")
}

fn bench(c: &mut Criterion) {
    let g = guard();
    let ctx = Context::new().session("bench");
    let mut group = c.benchmark_group("pii/mixed_english");
    for size in [1usize << 10, 64 << 10, 1 << 20] {
        let text = mixed(size);
        assert!(g.check_input(&ctx, &text).is_redacted());
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| black_box(g.check_input(&ctx, black_box(t))))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("pii/near_miss_digits");
    group.sample_size(20);
    let text = digits(1 << 20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_with_input(BenchmarkId::from_parameter(1 << 20), &text, |b, t| {
        b.iter(|| black_box(g.check_input(&ctx, black_box(t))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
