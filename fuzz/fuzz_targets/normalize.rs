//! Normalization never panics, and every view range maps inside the original on char boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade::text::{NormalizeConfig, Text};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let text = Text::new(&s, &NormalizeConfig::default());
    for layer in text.layers() {
        for view in [layer.canonical(), layer.folded()] {
            let v = view.as_str();
            let mut prev = 0;
            for (i, _) in v.char_indices().skip(1).chain([(v.len(), ' ')]) {
                let r = view.to_original(prev..i);
                assert!(r.start <= r.end && r.end <= s.len());
                assert!(s.is_char_boundary(r.start) && s.is_char_boundary(r.end));
                prev = i;
            }
        }
    }
});
