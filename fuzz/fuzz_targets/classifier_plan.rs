//! The classifier's own parsing and planning, without a model: a manifest from arbitrary text
//! (a bring-your-own model folder is untrusted input) never panics, and the window plan for any
//! token count, window, stride, budget and seed covers the text within bounds.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use palisade::detect::injection::classifier::{Manifest, plan_windows};

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (nums, rest) = data.split_at(16);
    if let Ok(text) = std::str::from_utf8(rest)
        && let Ok(m) = Manifest::from_toml(text, Path::new("manifest.toml"))
    {
        assert!(!m.labels.is_empty() && m.stride >= 1 && m.stride <= m.window);
    }
    let n = u32::from_le_bytes(nums[0..4].try_into().unwrap()) as usize % 20_000;
    let body = 1 + u16::from_le_bytes(nums[4..6].try_into().unwrap()) as usize % 1024;
    let stride = 1 + u16::from_le_bytes(nums[6..8].try_into().unwrap()) as usize % body;
    let max = nums[8] as usize % 40;
    let seed = u64::from_le_bytes(nums[8..16].try_into().unwrap());
    let plan = plan_windows(n, body, stride, max, seed);
    if n == 0 {
        assert!(plan.is_empty());
        return;
    }
    assert!(!plan.is_empty());
    for w in &plan {
        assert!(
            w.start < w.end && w.end <= n && w.end - w.start <= body,
            "{w:?}"
        );
    }
    for pair in plan.windows(2) {
        assert!(pair[0].start < pair[1].start, "in order");
    }
    assert_eq!(plan[0].start, 0, "the head is always scanned");
    assert_eq!(plan.last().unwrap().end, n, "the tail is always scanned");
    if max == 0 {
        // Every token is in some window.
        let mut covered = 0;
        for w in &plan {
            assert!(w.start <= covered, "gap before {w:?}");
            covered = covered.max(w.end);
        }
        assert_eq!(covered, n);
    } else {
        assert!(plan.len() <= max.max(2));
    }
});
