//! The PII detectors and operators on arbitrary text: spans stay in bounds and on char
//! boundaries, and for pseudonymized plain text `restore(redact(x)) == x`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade::{Context, Guard, Pipeline};

fn guard() -> &'static Pipeline {
    static G: OnceLock<Pipeline> = OnceLock::new();
    G.get_or_init(|| {
        let all: Vec<String> = palisade::detect::pii::Entity::ALL
            .iter()
            .map(|e| format!("{:?}", e.name()))
            .collect();
        Pipeline::from_toml(&format!(
            "[checks]\ninput = [\"pii\"]\noutput = [\"pii\"]\ntool_result = []\n[pii]\nentities = [{}]\n",
            all.join(", ")
        ))
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A session per input, so no vault ever fills up (sessions are evicted, least recent first).
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ctx = Context::new().session(format!("fuzz-{n}"));
    let v = guard().check_input(&ctx, text);
    for f in v.findings() {
        assert!(f.span.start <= f.span.end && f.span.end <= text.len());
        assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
    }
    // Plain text (nothing normalized or decoded, no placeholder-like text of its own): the
    // vault gives back exactly what was redacted.
    let plain = text.is_ascii()
        && !text.contains('<')
        && v.findings().iter().all(|f| {
            f.replacement
                .as_deref()
                .is_some_and(|r| f.message.ends_with(r))
        });
    if plain && v.is_redacted() {
        assert_eq!(guard().restore(&ctx, v.text()), text);
    }
    let _ = guard().check_output(&ctx, text);
    guard().forget_session(&ctx);
});
