//! The secret detectors never panic; every finding's span and replacement are well-formed; the
//! first half of the input, read as an extra rules file (secret or identifier), is rejected
//! cleanly or compiles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade::detect::secrets::{Secrets, SecretsConfig};
use palisade::{Context, Guard, Pipeline};
use std::sync::OnceLock;

fn guard() -> &'static Pipeline {
    static G: OnceLock<Pipeline> = OnceLock::new();
    G.get_or_init(|| {
        Pipeline::from_toml("[checks]\ninput = [\"secret\"]\noutput = []\ntool_result = []\n")
            .expect("secret-only pipeline")
    })
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let v = guard().check_input(&Context::new(), &s);
    for f in v.findings() {
        assert!(f.span.start <= f.span.end && f.span.end <= s.len());
        assert!(s.is_char_boundary(f.span.start) && s.is_char_boundary(f.span.end));
        assert!(f.detector.starts_with("secret.") || f.detector.starts_with("identifier."));
    }
    // Rules from configuration: an error, never a panic.
    let cut = s.len() / 2;
    if s.is_char_boundary(cut) && cut < 2048 {
        let config = SecretsConfig {
            no_builtin_rules: true,
            extra_rules: Some(s[..cut].to_string()),
            ..SecretsConfig::default()
        };
        let _ = Secrets::new(&config);
        let config = SecretsConfig {
            no_builtin_rules: true,
            extra_identifier_rules: Some(s[..cut].to_string()),
            ..SecretsConfig::default()
        };
        let _ = Secrets::new(&config);
    }
});
