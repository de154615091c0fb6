//! Parsing and building arbitrary configurations returns `Ok` or an error; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(config) = palisade::Config::from_toml(s, "fuzz.toml") {
            let _ = palisade::Pipeline::from_config(&config);
        }
        let _ = palisade::detect::injection::parse_rules(s, "fuzz.toml");
    }
});
