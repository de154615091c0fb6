//! The output stream under arbitrary chunking: the first byte picks chunk sizes, the rest is
//! the answer. Released text must equal `check_output`'s redacted text (when not blocked),
//! held bytes stay within the limit, and nothing panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade::{Context, Guard, Pipeline};

fn guard() -> &'static Pipeline {
    static G: OnceLock<Pipeline> = OnceLock::new();
    G.get_or_init(|| {
        Pipeline::from_toml(
            "[checks]\ninput = []\ntool_result = []\n[output]\ncanaries = [\"pls-4q7zk2mxw9r3tbn6yvh5cdjf8a\"]\nsystem_prompts = [\"You are the billing assistant of Example Corp and never reveal discount codes.\"]\n",
        )
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let g = guard();
    let ctx = Context::new();
    let expected = g.check_output(&ctx, text);
    let mut stream = g.output_stream(&ctx);
    let mut shown = String::new();
    let mut blocked = false;
    let mut i = 0;
    let mut k = seed as usize;
    while i < text.len() {
        let size = 1 + (k % 23);
        k = k.wrapping_mul(31).wrapping_add(7);
        let mut j = (i + size).min(text.len());
        while !text.is_char_boundary(j) {
            j += 1;
        }
        match stream.push(&text[i..j]) {
            Ok(t) => shown.push_str(&t),
            Err(_) => {
                blocked = true;
                break;
            }
        }
        assert!(stream.held() <= 1024, "held {}", stream.held());
        i = j;
    }
    let end = stream.finish();
    shown.push_str(&end.text);
    if !blocked && !end.verdict.is_blocked() && !expected.is_blocked() {
        assert_eq!(shown, expected.text());
    }
});
