//! Loading arbitrary tool policies returns `Ok` or an error naming a field; it never panics.
//! A policy that loads also decides a call without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(policy) = palisade::tools::ToolPolicy::from_toml(s, "fuzz.toml") {
            let _ = policy.describe();
            let names: Vec<String> = policy.tool_names().iter().map(|n| n.to_string()).collect();
            if let Ok(guard) = palisade::Pipeline::builder().tool_policy(policy).build() {
                use palisade::Guard;
                let ctx = palisade::Context::new().role("r").session("s");
                for n in names.iter().take(4) {
                    let call =
                        palisade::ToolCall::new(n.clone(), serde_json::json!({"a": "x", "n": 1}));
                    let _ = guard.check_tool_call(&ctx, &call);
                }
            }
        }
    }
});
