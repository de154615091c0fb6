//! `check_tool_call` with arbitrary JSON arguments (and arbitrary bytes as the argument text)
//! against a policy that uses every kind of constraint: it never panics, and a call with
//! duplicate keys or undeclared arguments is never allowed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade::{Context, Guard, Pipeline, ToolCall};

const POLICY: &str = include_str!("../../examples/policy.toml");

fn guard() -> &'static Pipeline {
    static G: OnceLock<Pipeline> = OnceLock::new();
    G.get_or_init(|| {
        let policy = palisade::tools::ToolPolicy::from_toml(POLICY, "policy.toml").unwrap();
        Pipeline::builder()
            .tool_policy(policy)
            .detector(
                palisade::detect::secrets::Secrets::builtin().unwrap(),
                &[palisade::CheckKind::ToolCall],
            )
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let names = [
        "search_docs",
        "read_file",
        "fetch_url",
        "send_email",
        "refund",
        "delete_account",
    ];
    let name = names[sel as usize % names.len()];
    let roles = ["support-agent", "analyst", "admin"];
    let ctx = Context::new()
        .session("s")
        .role(roles[(sel as usize / 8) % roles.len()]);
    let call = ToolCall::from_json(name, text);
    let v = guard().check_tool_call(&ctx, &call);
    if call.malformed().is_some() {
        assert!(v.is_blocked());
    }
    if let Some(map) = call.arguments.as_object()
        && v.is_allowed()
    {
        let declared = [
            "query",
            "limit",
            "path",
            "url",
            "to",
            "subject",
            "body",
            "order_id",
            "amount",
            "currency",
            "account_id",
        ];
        assert!(map.keys().all(|k| declared.contains(&k.as_str())), "{text}");
    }
});
