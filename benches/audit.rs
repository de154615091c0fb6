//! Audit log, monitor and kill switch costs.
//!
//! `cargo bench --bench audit`. Targets: audit append without fsync ≤ 5 µs median; verify
//! ≥ 200,000 records/s; monitor overhead on a check ≤ 200 ns; kill-switch check ≤ 20 ns.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade::audit::{
    AuditEvent, AuditFinding, AuditSink, CheckRecord, FileSink, FileSinkOptions, Fsync, verify,
};
use palisade::monitor::{KillSwitch, Monitor, Scope};
use palisade::{Action, CheckKind, Context, Guard, Pipeline};

/// A typical input-check record: context, two findings, 200 bytes of redacted text.
fn check_event() -> AuditEvent {
    AuditEvent::Check(Box::new(CheckRecord {
        kind: CheckKind::Input,
        ctx: Context::new()
            .user("u-4242")
            .session("s-9f8e7d")
            .agent("support-bot")
            .role("support-agent"),
        action: Action::Redact,
        shadow: None,
        rule: None,
        approval: None,
        tool: None,
        call_digest: None,
        arg_names: None,
        arguments: None,
        findings: vec![
            AuditFinding {
                id: "pii.email".into(),
                action: Action::Redact,
                score: 0.95,
                span: [41, 60],
                rule: None,
                argument: None,
                message: None,
            },
            AuditFinding {
                id: "pii.phone".into(),
                action: Action::Redact,
                score: 0.85,
                span: [75, 89],
                rule: None,
                argument: None,
                message: None,
            },
        ],
        findings_omitted: 0,
        bytes: 212,
        text: Some(
            "Hi, I'd like to change the address on my account. Please email [pii.email] or call \
             [pii.phone] before Friday; the order number is 88213 and it shipped to the old place."
                .into(),
        ),
        text_truncated: false,
        digest: None,
        elapsed_us: 14,
        pipeline: "47cab6b4330e".into(),
    }))
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("palisade-bench-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Append: one write(2) per record, no fsync; rotation keeps files at 64 MiB.
    let sink = FileSink::open(
        dir.join("append.jsonl"),
        FileSinkOptions {
            fsync: Fsync::Never,
            checkpoint_every: u64::MAX,
            ..FileSinkOptions::default()
        },
    )
    .unwrap();
    let event = check_event();
    let mut g = c.benchmark_group("audit");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("append_no_fsync", |b| {
        b.iter(|| sink.append(black_box(&event)).unwrap())
    });
    drop(sink);
    // The same with a 50 ms write buffer (one write(2) per 64 KiB).
    let sink = FileSink::open(
        dir.join("buffered.jsonl"),
        FileSinkOptions {
            fsync: Fsync::Never,
            checkpoint_every: u64::MAX,
            buffer: Some(Duration::from_millis(50)),
            ..FileSinkOptions::default()
        },
    )
    .unwrap();
    g.bench_function("append_no_fsync_buffered", |b| {
        b.iter(|| sink.append(black_box(&event)).unwrap())
    });
    drop(sink);

    // Verify: 100,000 typical records.
    let path = dir.join("verify.jsonl");
    let sink = FileSink::open(
        &path,
        FileSinkOptions {
            fsync: Fsync::Never,
            rotate_bytes: 0,
            ..FileSinkOptions::default()
        },
    )
    .unwrap();
    for _ in 0..100_000 {
        sink.append(&event).unwrap();
    }
    drop(sink);
    let records = verify(&path, None).unwrap();
    assert!(records.is_whole(), "{records}");
    g.throughput(Throughput::Elements(records.records));
    g.sample_size(10);
    g.bench_function("verify_100k_records", |b| {
        b.iter(|| black_box(verify(&path, None).unwrap()))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);

    // Monitor: what counting a verdict adds to a check.
    let mut config = palisade::Config::default();
    config.checks.input.retain(|d| d != "classifier");
    let guard = Pipeline::from_config(&config).unwrap();
    let ctx = Context::new().user("u-1").session("s-1");
    let clean = guard.check_input(&ctx, "What is the capital of France?");
    let flagged = guard.check_input(&ctx, "Mail ana@example.com or call 415-555-0123, thanks");
    assert_eq!(flagged.findings().len(), 2);
    let monitor = Monitor::standalone();
    let mut g = c.benchmark_group("monitor");
    g.bench_function("observe_clean_check", |b| {
        b.iter(|| monitor.observe(black_box(&clean), None))
    });
    g.bench_function("observe_check_with_2_findings", |b| {
        b.iter(|| monitor.observe(black_box(&flagged), None))
    });
    g.bench_function("observe_tool_call", |b| {
        b.iter(|| monitor.observe(black_box(&clean), Some("send_email")))
    });
    g.finish();

    // Kill switch: nothing engaged (the common case), and one engagement elsewhere.
    let kill = Arc::new(KillSwitch::new());
    let mut g = c.benchmark_group("kill_switch");
    g.bench_function("check_nothing_engaged", |b| {
        b.iter(|| black_box(kill.check(black_box(&ctx))))
    });
    kill.engage(Scope::User("mallory".into()), "ops", "bench", None)
        .unwrap();
    g.bench_function("check_other_user_engaged", |b| {
        b.iter(|| black_box(kill.check(black_box(&ctx))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
