//! Tool-call policy: each test names the bypass or case it defends against.

use std::sync::Arc;
use std::time::Duration;

use palisade::detect::secrets::{Secrets, SecretsConfig};
use palisade::tools::{ApprovalError, ManualClock, ToolPolicy};
use palisade::{Action, CheckKind, Context, Guard, Pipeline, ToolCall, Verdict};
use proptest::prelude::*;
use serde_json::{Value, json};

const POLICY: &str = include_str!("../examples/policy.toml");

fn guard_with_clock() -> (Pipeline, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let policy = ToolPolicy::from_toml(POLICY, "policy.toml").unwrap();
    let guard = Pipeline::builder()
        .tool_policy(policy)
        .detector(
            Secrets::new(&SecretsConfig::default()).unwrap(),
            &[CheckKind::ToolCall],
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    (guard, clock)
}

fn guard() -> Pipeline {
    guard_with_clock().0
}

fn support() -> Context {
    Context::new()
        .user("u-1")
        .session("s-1")
        .agent("helpdesk")
        .role("support-agent")
}

fn call(name: &str, args: Value) -> ToolCall {
    ToolCall::new(name, args)
}

fn ids(v: &Verdict) -> Vec<&str> {
    v.findings().iter().map(|f| f.detector.as_ref()).collect()
}

fn assert_denied(v: &Verdict, id: &str) {
    assert!(v.is_blocked(), "not blocked: {:?}", v.findings());
    assert!(ids(v).contains(&id), "{id} missing: {:?}", v.findings());
}

fn email(to: &[&str]) -> Value {
    json!({"to": to, "subject": "Your ticket", "body": "Hello, your ticket is resolved."})
}

#[test]
fn allowed_call_names_the_rule_that_allowed_it() {
    let g = guard();
    let v = g.check_tool_call(
        &support(),
        &call("search_docs", json!({"query": "reset password"})),
    );
    assert_eq!(v.action(), Action::Allow);
    assert_eq!(v.rule(), Some("tools.search_docs"));
    assert!(v.findings().is_empty());
}

#[test]
fn unknown_tool_is_denied_by_default() {
    let v = guard().check_tool_call(&support(), &call("drop_database", json!({})));
    assert_denied(&v, "tool.unknown_tool");
    assert_eq!(v.rule(), Some("default_deny"));
}

#[test]
fn tool_name_case_and_unicode_tricks_are_unknown_tools() {
    let g = guard();
    for name in [
        "Search_Docs",
        "SEARCH_DOCS",
        "search_docs ",
        "search_docs\u{200b}",
        "s\u{435}arch_docs",  // Cyrillic е
        "\u{ff53}earch_docs", // fullwidth s
        "search-docs",
        "search_docs\u{e0041}", // tag character
    ] {
        let v = g.check_tool_call(&support(), &call(name, json!({"query": "x"})));
        assert_denied(&v, "tool.unknown_tool");
        assert!(
            v.findings()[0]
                .message
                .contains("look-alike of the allowed tool \"search_docs\""),
            "{name:?}: {}",
            v.findings()[0].message
        );
    }
}

#[test]
fn role_agent_and_missing_role_are_checked() {
    let g = guard();
    let analyst = Context::new().session("s").role("analyst");
    let v = g.check_tool_call(
        &analyst,
        &call(
            "refund",
            json!({"order_id": "ORD-123456", "amount": 5, "currency": "CAD"}),
        ),
    );
    assert_denied(&v, "tool.not_permitted");
    assert_eq!(v.rule(), Some("tools.refund.roles"));
    // No role at all.
    let v = g.check_tool_call(
        &Context::new(),
        &call("read_file", json!({"path": "/srv/data/a"})),
    );
    assert_denied(&v, "tool.not_permitted");
    // Right role, wrong agent: an admin prompt-injected through the chat agent.
    let admin_chat = Context::new().role("admin").agent("chat");
    let v = g.check_tool_call(
        &admin_chat,
        &call("delete_account", json!({"account_id": "acct-12345678"})),
    );
    assert_denied(&v, "tool.not_permitted");
    assert_eq!(v.rule(), Some("tools.delete_account.agents"));
    // A role that only looks like an allowed one.
    let spoof = Context::new().role("Support-Agent");
    assert!(
        g.check_tool_call(&spoof, &call("read_file", json!({"path": "/srv/data/a"})))
            .is_blocked()
    );
}

#[test]
fn argument_smuggling_through_unknown_keys_is_denied() {
    let g = guard();
    let v = g.check_tool_call(
        &support(),
        &call(
            "search_docs",
            json!({"query": "x", "bcc": "attacker@evil.com"}),
        ),
    );
    assert_denied(&v, "tool.unknown_argument");
    assert_eq!(v.findings()[0].argument.as_deref(), Some("/bcc"));
    // A case variant of a declared argument is not that argument.
    let v = g.check_tool_call(
        &support(),
        &call("search_docs", json!({"query": "x", "Query": "y"})),
    );
    assert_denied(&v, "tool.unknown_argument");
    assert!(
        v.findings()[0].message.contains("look-alike"),
        "{}",
        v.findings()[0].message
    );
}

#[test]
fn argument_smuggling_through_duplicate_keys_is_denied() {
    let g = guard();
    let raw = r#"{"to": ["a@example.com"], "subject": "s", "body": "b", "to": ["x@evil.com"]}"#;
    let v = g.check_tool_call(&support(), &ToolCall::from_json("send_email", raw));
    assert_denied(&v, "tool.malformed_call");
    assert!(v.findings()[0].message.contains("duplicate key \"to\""));
    // Nested, too.
    let raw = r#"{"query": "x", "limit": 1, "limit": 50}"#;
    assert_denied(
        &g.check_tool_call(&support(), &ToolCall::from_json("search_docs", raw)),
        "tool.malformed_call",
    );
    // Not JSON, or not an object.
    assert_denied(
        &g.check_tool_call(
            &support(),
            &ToolCall::from_json("search_docs", "{\"query\": "),
        ),
        "tool.malformed_call",
    );
    assert_denied(
        &g.check_tool_call(&support(), &call("search_docs", json!(["x"]))),
        "tool.malformed_call",
    );
}

#[test]
fn type_confusion_and_ranges_are_denied_with_the_constraint_named() {
    let g = guard();
    let refund = |args: Value| g.check_tool_call(&support(), &call("refund", args));
    // A number smuggled as a string would dodge `max` in executors that coerce.
    let v = refund(json!({"order_id": "ORD-123456", "amount": "9000", "currency": "CAD"}));
    assert_denied(&v, "tool.invalid_argument");
    assert_eq!(v.rule(), Some("tools.refund.args.amount.type"));
    let v = refund(json!({"order_id": "ORD-123456", "amount": 9000, "currency": "CAD"}));
    assert_eq!(v.rule(), Some("tools.refund.args.amount.max"));
    assert_eq!(v.findings()[0].argument.as_deref(), Some("/amount"));
    let v = refund(json!({"order_id": "ORD-123456", "amount": -5, "currency": "CAD"}));
    assert_eq!(v.rule(), Some("tools.refund.args.amount.min"));
    let v = refund(json!({"order_id": "ORD-123456 OR 1=1", "amount": 5, "currency": "CAD"}));
    assert_eq!(v.rule(), Some("tools.refund.args.order_id.pattern"));
    let v = refund(json!({"order_id": "ORD-123456", "amount": 5, "currency": "BTC"}));
    assert_eq!(v.rule(), Some("tools.refund.args.currency.enum"));
    let v = refund(json!({"order_id": "ORD-123456", "amount": 5}));
    assert_denied(&v, "tool.missing_argument");
    assert_eq!(v.findings()[0].argument.as_deref(), Some("/currency"));
    let v = g.check_tool_call(
        &support(),
        &call("search_docs", json!({"query": "x", "limit": 1.5})),
    );
    assert_eq!(v.rule(), Some("tools.search_docs.args.limit.type"));
    // An explicit null for an optional argument is its absence.
    assert!(
        g.check_tool_call(
            &support(),
            &call("search_docs", json!({"query": "x", "limit": null}))
        )
        .is_allowed()
    );
    // Every failed constraint is reported, not only the first.
    let v = refund(json!({"order_id": "nope", "amount": 0, "currency": "EUR", "note": 1}));
    assert_eq!(v.findings().len(), 4, "{:?}", v.findings());
}

#[test]
fn path_traversal_variants_are_denied() {
    let g = guard();
    let read = |p: &str| g.check_tool_call(&support(), &call("read_file", json!({"path": p})));
    assert!(read("/srv/data/reports/q3.csv").is_allowed());
    assert!(read("reports/q3.csv").is_allowed());
    for p in [
        "/srv/data/../../etc/passwd",
        "../etc/shadow",
        "/srv/data/..\\..\\etc\\passwd",
        "/srv/data/%2e%2e/%2e%2e/etc/passwd",
        "/srv/data/%252e%252e/%252e%252e/etc/passwd",
        "/srv/data/..%2f..%2fetc%2fpasswd",
        "/srv/data/\u{ff0e}\u{ff0e}/\u{ff0e}\u{ff0e}/etc/passwd",
        "/srv/data-backup/dump.sql",
        "/srv/data/.. /.. /etc",
        "C:\\Windows\\win.ini",
        "\\\\attacker\\share\\x",
        "~/.ssh/id_ed25519",
        "/srv/data/a\u{0}.txt",
    ] {
        let v = read(p);
        assert_denied(&v, "tool.path_denied");
        assert_eq!(v.rule(), Some("tools.read_file.args.path.roots"), "{p:?}");
    }
}

#[test]
fn url_host_confusion_is_denied() {
    let g = guard();
    let analyst = Context::new().session("s").role("analyst");
    let fetch = |u: &str| g.check_tool_call(&analyst, &call("fetch_url", json!({"url": u})));
    assert!(fetch("https://docs.example.com/guide").is_allowed());
    assert!(fetch("https://en.wikipedia.org/wiki/Tide_pool").is_allowed());
    for (u, why) in [
        ("https://docs.example.com@evil.com/", "credentials"),
        ("https://evil.com/docs.example.com", "not allowed"),
        ("https://docs.example.com.evil.com/", "not allowed"),
        ("https://wikipedia.org.evil.com/", "not allowed"),
        ("https://xn--dcs-sed.example.com/", "look-alike"),
        ("https://d\u{43e}cs.example.com/", "look-alike"),
        ("https://docs.example.com\\@evil.com", "backslash"),
        ("http://docs.example.com/", "scheme"),
        ("https://169.254.169.254/latest/meta-data/", "IP literal"),
        ("https://0251.0376.0251.0376/", "IP literal"),
        ("https://docs.example.com:22/", "port"),
        ("file:///etc/passwd", "scheme"),
    ] {
        let v = fetch(u);
        assert_denied(&v, "tool.url_denied");
        assert!(
            v.findings()[0].message.contains(why),
            "{u}: {}",
            v.findings()[0].message
        );
    }
}

#[test]
fn email_recipients_outside_allowed_domains_are_denied() {
    let g = guard();
    let send = |to: &[&str]| g.check_tool_call(&support(), &call("send_email", email(to)));
    assert!(send(&["ana@example.com"]).is_allowed());
    assert!(send(&["ana@eu.example.com"]).is_allowed());
    for to in [
        "x@evil.com",
        "x@example.com.evil.com",
        "x@example.com,y@evil.com",
        "Ana <x@evil.com>",
        "x%evil.com@example.com",
        "x@ex\u{430}mple.com",
    ] {
        let v = send(&[to]);
        assert_denied(&v, "tool.email_denied");
        assert_eq!(v.findings()[0].argument.as_deref(), Some("/to/0"), "{to}");
    }
}

#[test]
fn secrets_exfiltrated_through_arguments_are_blocked() {
    let g = guard();
    let mut args = email(&["ana@example.com"]);
    args["body"] =
        json!("Here is the key you asked for: AKIAQYLPMN5HHHFPZAM2 and the rest of the reply.");
    let v = g.check_tool_call(&support(), &call("send_email", args));
    assert!(v.is_blocked(), "{:?}", v.findings());
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector.starts_with("secret."))
        .unwrap();
    assert_eq!(f.argument.as_deref(), Some("/body"));
    assert_eq!(f.rule.as_deref(), Some("tools.send_email.args.body.scan"));
    assert_eq!(
        &"Here is the key you asked for: AKIAQYLPMN5HHHFPZAM2"[f.span.clone()],
        "AKIAQYLPMN5HHHFPZAM2"
    );
}

#[test]
fn a_key_spelled_out_one_character_at_a_time_in_an_argument_is_blocked() {
    let g = guard();
    let mut args = email(&["ana@example.com"]);
    args["body"] = json!("As asked: A K I A Q Y L P M N 5 H H H F P Z A M 2 (no spaces).");
    let v = g.check_tool_call(&support(), &call("send_email", args));
    assert!(v.is_blocked(), "{:?}", v.findings());
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector.starts_with("secret."))
        .expect("secret finding");
    assert_eq!(f.argument.as_deref(), Some("/body"));
}

#[test]
fn an_identifier_in_a_scanned_argument_is_recorded_without_blocking_the_call() {
    let g = guard();
    let mut args = email(&["ana@example.com"]);
    args["body"] = json!("Log in at https://acme-corp.okta.com with your usual account.");
    let v = g.check_tool_call(&support(), &call("send_email", args));
    assert!(!v.is_blocked(), "{:?}", v.findings());
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector == "identifier.okta_domain")
        .expect("recorded");
    assert_eq!(f.action, palisade::Action::Allow);
    assert_eq!(f.argument.as_deref(), Some("/body"));
}

#[test]
fn approval_binds_to_the_exact_arguments() {
    let (g, _clock) = guard_with_clock();
    let ctx = support();
    let big = json!({"order_id": "ORD-123456", "amount": 250, "currency": "CAD"});
    let v = g.check_tool_call(&ctx, &call("refund", big.clone()));
    assert_eq!(v.action(), Action::RequireApproval);
    assert_eq!(v.rule(), Some("tools.refund.approval"));
    let req = v.approval().unwrap().clone();
    assert!(req.id.starts_with("apr_") && req.id.len() == 36);
    assert_eq!(req.digest.len(), 64);
    // Asking again before a decision returns the same request.
    assert_eq!(
        g.check_tool_call(&ctx, &call("refund", big.clone()))
            .approval()
            .unwrap()
            .id,
        req.id
    );
    let granted = g.approve(&req.id, "alice@ops").unwrap();
    assert_eq!(granted.approved_by.as_deref(), Some("alice@ops"));

    // Replay on changed arguments: the grant does not cover a larger amount.
    let changed = json!({"order_id": "ORD-123456", "amount": 900, "currency": "CAD"});
    let v = g.check_tool_call(&ctx, &call("refund", changed));
    assert_eq!(v.action(), Action::RequireApproval);
    assert_ne!(v.approval().unwrap().digest, req.digest);

    // The same call with keys reordered and the number spelled 250.0 is the approved call.
    let same = ToolCall::from_json(
        "refund",
        r#"{"currency":"CAD","amount":250.0,"order_id":"ORD-123456"}"#,
    );
    let v = g.check_tool_call(&ctx, &same);
    assert_eq!(v.action(), Action::Allow, "{:?}", v.findings());
    assert_eq!(
        v.approval().unwrap().approved_by.as_deref(),
        Some("alice@ops")
    );
    assert!(ids(&v).contains(&"tool.approved"));

    // Approval reuse: single use.
    assert_eq!(
        g.check_tool_call(&ctx, &call("refund", big)).action(),
        Action::RequireApproval
    );
    assert_eq!(
        g.approve(&req.id, "alice@ops"),
        Err(ApprovalError::Unknown(req.id.clone()))
    );
}

#[test]
fn approval_is_single_use_across_threads() {
    let (g, _clock) = guard_with_clock();
    let g = Arc::new(g);
    let args = json!({"order_id": "ORD-222222", "amount": 300, "currency": "CAD"});
    let v = g.check_tool_call(&support(), &call("refund", args.clone()));
    g.approve(&v.approval().unwrap().id, "alice").unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let g = g.clone();
            let args = args.clone();
            std::thread::spawn(move || {
                g.check_tool_call(&support(), &call("refund", args))
                    .is_allowed()
            })
        })
        .collect();
    let allowed = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|a| *a)
        .count();
    assert_eq!(allowed, 1, "one grant, one call");
}

#[test]
fn approval_does_not_carry_to_another_session_and_expires() {
    let (g, clock) = guard_with_clock();
    let args = json!({"order_id": "ORD-654321", "amount": 500, "currency": "CAD"});
    let v = g.check_tool_call(&support(), &call("refund", args.clone()));
    g.approve(&v.approval().unwrap().id, "bob").unwrap();
    // Another session of the same user is not the one that asked.
    let other = support().session("s-2");
    assert_eq!(
        g.check_tool_call(&other, &call("refund", args.clone()))
            .action(),
        Action::RequireApproval
    );
    // The grant expires after approval_ttl (10m).
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        g.check_tool_call(&support(), &call("refund", args.clone()))
            .action(),
        Action::RequireApproval
    );
    // A request expires after request_ttl (1h) and can no longer be approved.
    let id = g
        .check_tool_call(&support(), &call("refund", args))
        .approval()
        .unwrap()
        .id
        .clone();
    clock.advance(Duration::from_secs(3601));
    assert_eq!(
        g.approve(&id, "bob"),
        Err(ApprovalError::Expired(id.clone()))
    );
    assert!(matches!(
        g.approve("apr_forged", "bob"),
        Err(ApprovalError::Unknown(_))
    ));
    assert_eq!(g.approve(&id, " "), Err(ApprovalError::NoApprover));
}

#[test]
fn approval_condition_decides_and_always_approval_asks_every_time() {
    let g = guard();
    let small = json!({"order_id": "ORD-123456", "amount": 20, "currency": "CAD"});
    assert_eq!(
        g.check_tool_call(&support(), &call("refund", small))
            .action(),
        Action::Allow
    );
    let usd = json!({"order_id": "ORD-123456", "amount": 20, "currency": "USD"});
    assert_eq!(
        g.check_tool_call(&support(), &call("refund", usd)).action(),
        Action::RequireApproval
    );
    let two = email(&["a@example.com", "b@example.com"]);
    assert_eq!(
        g.check_tool_call(&support(), &call("send_email", two))
            .action(),
        Action::RequireApproval
    );
    let ops = Context::new()
        .role("admin")
        .agent("ops-console")
        .session("x");
    let v = g.check_tool_call(
        &ops,
        &call("delete_account", json!({"account_id": "acct-12345678"})),
    );
    assert_eq!(v.action(), Action::RequireApproval);
    assert_eq!(v.rule(), Some("tools.delete_account.approval"));
    // A rejected request is gone.
    let id = v.approval().unwrap().id.clone();
    g.reject(&id).unwrap();
    assert!(g.approve(&id, "carol").is_err());
}

#[test]
fn rate_limit_windows_per_session() {
    let (g, clock) = guard_with_clock();
    let send =
        |ctx: &Context| g.check_tool_call(ctx, &call("send_email", email(&["ana@example.com"])));
    for _ in 0..3 {
        assert!(send(&support()).is_allowed());
    }
    let v = send(&support());
    assert_denied(&v, "tool.rate_limited");
    assert_eq!(v.rule(), Some("tools.send_email.limits[0]"));
    // Blocked calls do not use up the window; another session has its own.
    assert!(send(&support().session("s-2")).is_allowed());
    clock.advance(Duration::from_secs(59));
    assert!(send(&support()).is_blocked());
    clock.advance(Duration::from_secs(1));
    for _ in 0..3 {
        assert!(
            send(&support()).is_allowed(),
            "the first calls left the 1-minute window"
        );
    }
    assert!(send(&support()).is_blocked());
}

#[test]
fn budgets_sum_an_argument_per_user() {
    let (g, clock) = guard_with_clock();
    let refund = |amount: f64, session: &str| {
        g.check_tool_call(
            &support().session(session),
            &call(
                "refund",
                json!({"order_id": "ORD-123456", "amount": amount, "currency": "CAD"}),
            ),
        )
    };
    for i in 0..10 {
        assert!(refund(100.0, &format!("s{i}")).is_allowed());
    }
    // 1000 of 1000 used, across sessions of the same user.
    let v = refund(0.5, "s-new");
    assert_denied(&v, "tool.budget_exceeded");
    assert_eq!(v.rule(), Some("tools.refund.budgets[0]"));
    // Another user has their own budget; a day later the first has it back.
    let other = Context::new()
        .user("u-2")
        .session("z")
        .role("support-agent");
    assert!(
        g.check_tool_call(
            &other,
            &call(
                "refund",
                json!({"order_id": "ORD-123456", "amount": 50, "currency": "CAD"})
            )
        )
        .is_allowed()
    );
    clock.advance(Duration::from_secs(86_400));
    assert!(refund(100.0, "s-next-day").is_allowed());
}

#[test]
fn rate_limits_hold_across_threads() {
    let policy = ToolPolicy::from_toml(
        "[tools.ping]\nroles = [\"*\"]\n[[tools.ping.limits]]\nper = \"global\"\ncalls = 100\nwindow = \"1h\"\n",
        "p.toml",
    )
    .unwrap();
    let g = Arc::new(Pipeline::builder().tool_policy(policy).build().unwrap());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let g = g.clone();
            std::thread::spawn(move || {
                let ctx = Context::new().session(format!("s{t}"));
                (0..50)
                    .filter(|_| {
                        g.check_tool_call(&ctx, &ToolCall::new("ping", Value::Null))
                            .is_allowed()
                    })
                    .count()
            })
        })
        .collect();
    let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(allowed, 100);
}

#[test]
fn shadow_mode_records_the_denial_but_allows() {
    let policy = ToolPolicy::from_toml(POLICY, "policy.toml").unwrap();
    let g = Pipeline::builder()
        .tool_policy(policy)
        .detector(
            Secrets::new(&SecretsConfig::default()).unwrap(),
            &[CheckKind::ToolCall],
        )
        .shadow(true)
        .build()
        .unwrap();
    let v = g.check_tool_call(&support(), &call("drop_database", json!({})));
    assert_eq!(v.action(), Action::Allow);
    assert_eq!(v.shadow_action(), Some(Action::Block));
}

#[test]
fn policy_errors_name_file_tool_and_field() {
    let cases = [
        (
            "[tools.x]\nroles = [\"*\"]\nargs.p = { type = \"path\" }\n",
            "p.toml:3: tools.x.args.p.roots: a path argument needs roots",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\nargs.n = { type = \"number\", min = 5, max = 1 }\n",
            "tools.x.args.n.min",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\nargs.s = { type = \"string\", pattern = \"(\" }\n",
            "tools.x.args.s.pattern",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\nargs.s = { type = \"string\", roots = [\"/a\"] }\n",
            "does not apply to type \"string\"",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\napproval = \"amount > 5\"\n",
            "reads argument \"amount\", which the tool does not declare",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\n[tools.X]\nroles = [\"*\"]\n",
            "only by case",
        ),
        (
            "[tools.x]\nargs.a = { type = \"string\" }\n",
            "tools.x.roles: no one may call this tool",
        ),
        (
            "[tools.x]\nroles = []\n",
            "tools.x.roles: the list is empty",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\nargs.a = { type = \"string\", scan = [\"pii-ish\"] }\n",
            "unknown detector",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\nargs.u = { type = \"url\", hosts = [\"https://a.com\"] }\n",
            "tools.x.args.u.hosts",
        ),
        (
            "[tools.x]\nroles = [\"*\"]\n[[tools.x.limits]]\nper = \"session\"\ncalls = 3\nwindow = \"3 fortnights\"\n",
            "tools.x.limits[0].window",
        ),
        ("[tools.x]\nrole = [\"*\"]\n", "unknown field `role`"),
        ("[tools.\"send mail\"]\nroles = [\"*\"]\n", "tool names are"),
    ];
    for (src, want) in cases {
        let e = ToolPolicy::from_toml(src, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml"), "{e}");
        assert!(e.contains(want), "{src:?}\n  got: {e}\n want: {want}");
    }
    // A policy that scans for secrets needs a secret detector for tool calls.
    let p = ToolPolicy::from_toml(
        "[tools.x]\nroles = [\"*\"]\nargs.a = { type = \"string\", scan = [\"secret\"] }\n",
        "p.toml",
    )
    .unwrap();
    let e = Pipeline::builder()
        .tool_policy(p)
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("no \"secret\" detector"), "{e}");
}

#[test]
fn pipeline_config_loads_the_policy_next_to_it() {
    let dir = std::env::temp_dir().join(format!("palisade-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    std::fs::write(dir.join("palisade.toml"), "tool_policy = \"policy.toml\"\n").unwrap();
    let g = Pipeline::from_config_file(dir.join("palisade.toml")).unwrap();
    assert!(
        g.check_tool_call(&support(), &call("search_docs", json!({"query": "x"})))
            .is_allowed()
    );
    let mut args = email(&["ana@example.com"]);
    args["body"] = json!("token ghp_k3J9xQ2mN8vR5tL1wY7zA4bC6dE0fG2hI9jK for you");
    assert!(
        g.check_tool_call(&support(), &call("send_email", args))
            .is_blocked()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With no policy loaded, every call is denied: any name, any arguments, any context.
    #[test]
    fn without_a_policy_every_call_is_denied(
        name in ".{0,20}",
        args in arb_json(),
        role in proptest::option::of("[a-z*]{0,8}"),
        user in proptest::option::of(".{0,8}"),
    ) {
        static BARE: std::sync::OnceLock<Pipeline> = std::sync::OnceLock::new();
        let g = BARE.get_or_init(|| Pipeline::builder().build().unwrap());
        let mut ctx = Context::new();
        ctx.role = role;
        ctx.user = user;
        let v = g.check_tool_call(&ctx, &ToolCall::new(name.clone(), args.clone()));
        prop_assert!(v.is_blocked());
        prop_assert_eq!(v.rule(), Some("default_deny"));
        // The recommended pipeline has no policy either.
        static RECOMMENDED: std::sync::OnceLock<Pipeline> = std::sync::OnceLock::new();
        let r = RECOMMENDED.get_or_init(Pipeline::recommended);
        prop_assert!(r.check_tool_call(&ctx, &ToolCall::new(name, args)).is_blocked());
    }

    /// Under a policy, arbitrary arguments never panic and never pass constraints they break.
    #[test]
    fn arbitrary_arguments_never_panic(args in arb_json(), name in prop::sample::select(vec!["search_docs", "read_file", "send_email", "refund", "fetch_url"])) {
        static G: std::sync::OnceLock<Pipeline> = std::sync::OnceLock::new();
        let g = G.get_or_init(guard);
        let v = g.check_tool_call(&support(), &ToolCall::new(name, args.clone()));
        if v.is_allowed() {
            // Only calls whose arguments are all declared can pass.
            prop_assert!(args.as_object().is_none_or(|m| m.keys().all(|k| ["query", "limit", "path"].contains(&k.as_str()))));
        }
    }
}

#[test]
fn personal_data_exfiltrated_through_arguments_is_blocked() {
    let policy = ToolPolicy::from_toml(
        "[tools.post]\nroles = [\"*\"]\nargs.text = { type = \"string\", required = true, scan = [\"pii\"] }\n",
        "p.toml",
    )
    .unwrap();
    let guard = Pipeline::builder()
        .tool_policy(policy)
        .detector(
            palisade::detect::pii::Pii::builtin().unwrap(),
            &[CheckKind::ToolCall],
        )
        .build()
        .unwrap();
    let ctx = Context::new().session("s");
    let v = guard.check_tool_call(
        &ctx,
        &call(
            "post",
            json!({"text": "card 4111 1111 1111 1111 exp 04/29"}),
        ),
    );
    assert!(v.is_blocked(), "{:?}", v.findings());
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector == "pii.credit_card")
        .unwrap();
    assert_eq!(f.argument.as_deref(), Some("/text"));
    assert!(
        guard
            .check_tool_call(&ctx, &call("post", json!({"text": "see you at noon"})))
            .is_allowed()
    );
}
