//! Throughput of the PII detector, timed in a plain loop (best of N checks): the tool used to
//! compare two builds run in turns on a noisy machine, where criterion's means move too much.
//!
//! ```text
//! cargo run --release --example pii_throughput -- [CHECKS] [BYTES] [digits]
//! ```
//!
//! Checks `BYTES` (default 1 MiB) of the PII benchmark's mixed English text (or, with `digits`,
//! random digits and separators) `CHECKS` times (default 12) with pseudonymization on, and
//! prints the best throughput.

use palisade::{Context, Guard, Pipeline};

include!("../benches/common/pii_text.rs");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let checks: usize = args.first().map_or(Ok(12), |a| a.parse())?;
    let size: usize = args.get(1).map_or(Ok(1 << 20), |a| a.parse())?;
    let digits = args.get(2).is_some_and(|a| a == "digits");
    let s = if digits {
        self::digits(size)
    } else {
        mixed(size)
    };
    let guard = Pipeline::from_toml(
        "max_input_bytes = 16777216\n[checks]\ninput = [\"pii\"]\noutput = []\ntool_result = []\n",
    )?;
    let ctx = Context::new().session("bench");
    let mut best = f64::MAX;
    for _ in 0..checks.max(1) {
        let t = std::time::Instant::now();
        std::hint::black_box(guard.check_input(&ctx, &s));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mib = s.len() as f64 / f64::from(1 << 20);
    println!(
        "{} bytes of {}: {:.1} MiB/s (best of {checks})",
        s.len(),
        if digits {
            "random digits"
        } else {
            "mixed text"
        },
        mib / best
    );
    Ok(())
}
