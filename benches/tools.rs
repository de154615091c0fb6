//! Tool-call decisions: a 50-tool policy with argument constraints, and allowlist-only.
//!
//! `cargo bench --bench tools`. Targets: ≤ 2 µs median with argument constraints (no PII or
//! secret scan), ≤ 300 ns allowlist-only.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade::tools::ToolPolicy;
use palisade::{Context, Guard, Pipeline, ToolCall};
use serde_json::json;

/// 50 tools, each with six constrained arguments: an email recipient with a domain list, a
/// URL with a host list, a path under roots, a patterned id, a bounded number and an enum.
fn constrained_policy() -> String {
    let mut s = String::new();
    for i in 0..50 {
        s.push_str(&format!(
            r#"
[tools.tool_{i:02}]
roles = ["support-agent", "analyst", "admin"]
args.to = {{ type = "email", required = true, domains = ["example.com", "*.example.com", "partner.org"] }}
args.source = {{ type = "url", schemes = ["https"], hosts = ["docs.example.com", "*.wikipedia.org"] }}
args.path = {{ type = "path", roots = ["/srv/data", "/tmp/agent"] }}
args.ticket = {{ type = "string", required = true, pattern = 'TCK-[0-9]{{6}}', max_length = 10 }}
args.amount = {{ type = "number", min = 0, max = 5000 }}
args.priority = {{ type = "string", enum = ["low", "normal", "high"] }}
"#
        ));
    }
    s
}

fn allowlist_policy() -> String {
    (0..50)
        .map(|i| format!("[tools.tool_{i:02}]\nroles = [\"support-agent\", \"analyst\"]\n"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new()
        .user("u-1")
        .session("s-1")
        .role("support-agent");

    let policy = ToolPolicy::from_toml(&constrained_policy(), "bench.toml").unwrap();
    let guard = Pipeline::builder().tool_policy(policy).build().unwrap();
    let call = ToolCall::new(
        "tool_37",
        json!({
            "to": "ana@eu.example.com",
            "source": "https://en.wikipedia.org/wiki/Tide_pool",
            "path": "/srv/data/reports/q3.csv",
            "ticket": "TCK-123456",
            "amount": 250.5,
            "priority": "high",
        }),
    );
    assert!(guard.check_tool_call(&ctx, &call).is_allowed());
    c.bench_function("tool_call/50_tools_constrained_allow", |b| {
        b.iter(|| guard.check_tool_call(black_box(&ctx), black_box(&call)))
    });
    let denied = ToolCall::new(
        "tool_37",
        json!({"to": "x@evil.com", "ticket": "TCK-123456", "path": "/srv/data/../../etc/passwd"}),
    );
    assert!(guard.check_tool_call(&ctx, &denied).is_blocked());
    c.bench_function("tool_call/50_tools_constrained_deny", |b| {
        b.iter(|| guard.check_tool_call(black_box(&ctx), black_box(&denied)))
    });

    let policy = ToolPolicy::from_toml(&allowlist_policy(), "bench.toml").unwrap();
    let guard = Pipeline::builder().tool_policy(policy).build().unwrap();
    let call = ToolCall::new("tool_37", json!({}));
    assert!(guard.check_tool_call(&ctx, &call).is_allowed());
    c.bench_function("tool_call/50_tools_allowlist_only", |b| {
        b.iter(|| guard.check_tool_call(black_box(&ctx), black_box(&call)))
    });
    let unknown = ToolCall::new("tool_99", json!({}));
    c.bench_function("tool_call/unknown_tool_denied", |b| {
        b.iter(|| guard.check_tool_call(black_box(&ctx), black_box(&unknown)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
