//! Compiling user- and rule-supplied regexes with linear-time engines and size limits.

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

use crate::error::Error;

/// Limits on one compiled set of patterns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Longest accepted pattern, in bytes.
    pub(crate) max_pattern_len: usize,
    /// Most memory the compiled automaton may take.
    pub(crate) max_nfa_bytes: usize,
    /// Most memory for the lazy DFA cache.
    pub(crate) max_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pattern_len: 4096,
            max_nfa_bytes: 8 << 20,
            max_cache_bytes: 4 << 20,
        }
    }
}

fn builder(case_insensitive: bool, limits: Limits) -> regex_automata::meta::Builder {
    let mut b = Regex::builder();
    b.syntax(syntax::Config::new().case_insensitive(case_insensitive))
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(limits.max_nfa_bytes))
                .hybrid_cache_capacity(limits.max_cache_bytes),
        );
    b
}

/// Compiles `patterns` into one multi-pattern regex (pattern ids follow the input order).
pub(crate) fn compile(
    detector: &str,
    patterns: &[&str],
    case_insensitive: bool,
    limits: Limits,
) -> Result<Regex, Error> {
    for (i, p) in patterns.iter().enumerate() {
        if p.len() > limits.max_pattern_len {
            return Err(Error::detector(
                detector,
                format!(
                    "pattern {i} is {} bytes, over the limit of {}",
                    p.len(),
                    limits.max_pattern_len
                ),
            ));
        }
        if patterns.len() > 1 {
            // Compile each alone first so the error names the pattern.
            builder(case_insensitive, limits)
                .build(p)
                .map_err(|e| Error::detector(detector, format!("pattern {i} {p:?}: {e}")))?;
        }
    }
    if let [p] = patterns {
        return builder(case_insensitive, limits)
            .build(p)
            .map_err(|e| Error::detector(detector, format!("pattern {p:?}: {e}")));
    }
    builder(case_insensitive, limits)
        .build_many(patterns)
        .map_err(|e| Error::detector(detector, format!("patterns together: {e}")))
}
