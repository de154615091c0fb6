//! The whole `check_input` (and the tool-result and output paths) on arbitrary text: no panic,
//! spans inside the text on char boundaries.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade::{Context, Guard, Pipeline};

fn guard() -> &'static Pipeline {
    static G: OnceLock<Pipeline> = OnceLock::new();
    G.get_or_init(|| {
        Pipeline::from_toml("[banned]\nsubstrings = [\"nightingale\"]\npatterns = ['ACME-\\d+']\n")
            .expect("fuzz config")
    })
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let ctx = Context::new();
    let g = guard();
    for v in [
        g.check_input(&ctx, &s),
        g.check_tool_result(&ctx, &s),
        g.check_output(&ctx, &s),
    ] {
        for f in v.findings() {
            assert!(f.span.start <= f.span.end && f.span.end <= s.len());
            assert!(s.is_char_boundary(f.span.start) && s.is_char_boundary(f.span.end));
        }
        let _ = v.text();
    }
});
