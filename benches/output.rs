//! `check_output` on a model answer, and the same answer through an output stream in chunks.
//!
//! Run: `cargo bench --bench output`. Target: streaming overhead per 16-byte chunk over the
//! plain `check_output` cost ≤ 2 µs, i.e. (`stream/16` − `check_output`) ÷ chunks, with the
//! answer's chunk count printed; held-back bytes stay within `max_holdback` (printed).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade::{Context, Guard, Pipeline};

const PARAGRAPHS: [&str; 5] = [
    "Thanks for your patience. I looked at the order history and the refund for the damaged \
     items was issued on Tuesday; it usually shows up within five business days. ",
    "I have updated the shipping address on file and sent the confirmation to <EMAIL_1>; if \
     anything looks wrong, reply to that message and the team will fix it the same day. ",
    "For reference, the ticket number is 88231 and the agent who handled it works from the \
     Toronto office. The tracking page is https://tracking.example.com/parcel/88231 . ",
    "If you prefer to talk, call 416-555-0199 between nine and five, or see \
     https://docs.example.org/help/returns for the full policy on returns and exchanges. ",
    "Here is a summary table:\n\n| item | status |\n|---|---|\n| kettle | refunded |\n| mug | \
     replaced |\n\nLet me know if there is anything else I can help with today. ",
];

fn answer(len: usize) -> String {
    let mut s = String::with_capacity(len + 256);
    let mut i = 0;
    while s.len() < len {
        s.push_str(PARAGRAPHS[i % PARAGRAPHS.len()]);
        i += 1;
    }
    s.truncate(len);
    s
}

fn guard() -> Pipeline {
    // The default output checks; no input classifier (not used by answers).
    Pipeline::from_toml("[checks]\ninput = [\"pii\"]\ntool_result = []\n").expect("config")
}

fn bench(c: &mut Criterion) {
    let g = guard();
    let ctx = Context::new().session("bench");
    g.check_input(&ctx, "I am ana@example.com");
    let text = answer(4096);
    let chunks: Vec<&str> = text
        .as_bytes()
        .chunks(16)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    // Held bytes, for the record.
    let mut s = g.output_stream(&ctx);
    let mut max_held = 0;
    for ch in &chunks {
        s.push(ch).expect("not blocked");
        max_held = max_held.max(s.held());
    }
    let end = s.finish();
    assert_eq!(end.verdict.text(), g.check_output(&ctx, &text).text());
    eprintln!(
        "answer: {} bytes in {} chunks of 16; most bytes held back: {max_held}",
        text.len(),
        chunks.len()
    );

    let mut group = c.benchmark_group("output");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("check_output", |b| {
        b.iter(|| black_box(g.check_output(&ctx, black_box(&text))))
    });
    for size in [16usize, 64] {
        let chunks: Vec<&str> = text
            .as_bytes()
            .chunks(size)
            .map(|c| std::str::from_utf8(c).expect("ASCII"))
            .collect();
        group.bench_with_input(BenchmarkId::new("stream", size), &chunks, |b, chunks| {
            b.iter(|| {
                let mut s = g.output_stream(&ctx);
                for ch in chunks {
                    black_box(s.push(ch).expect("not blocked"));
                }
                black_box(s.finish())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
