//! Banned content from configuration: substrings (`banned.substring`) matched on the folded
//! view, so case, homoglyphs, invisible characters and encodings do not hide them, and regexes
//! (`banned.pattern`) matched on the canonical view with linear-time engines and size limits.

use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};

use super::matcher::{self, Limits};
use super::{Detector, Input};
use crate::error::{DetectorError, Error};
use crate::text::fold_str;
use crate::verdict::{Action, Category, Finding};

/// Configuration of the [`Banned`] detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BannedConfig {
    /// Substrings, folded like the text (case, accents, look-alikes and spacing do not matter).
    pub substrings: Vec<String>,
    /// Regexes (Rust `regex` syntax, no look-around or backreferences) on the canonical view.
    pub patterns: Vec<String>,
    /// Match the patterns case-insensitively. Default `true`.
    pub case_insensitive: bool,
    /// Longest accepted pattern, in bytes. Default 4096.
    pub max_pattern_len: usize,
    /// Most memory one compiled pattern set may take. Default 8 MiB.
    pub max_pattern_bytes: usize,
}

impl Default for BannedConfig {
    fn default() -> Self {
        BannedConfig {
            substrings: Vec::new(),
            patterns: Vec::new(),
            case_insensitive: true,
            max_pattern_len: 4096,
            max_pattern_bytes: 8 << 20,
        }
    }
}

/// Banned substrings and patterns; default action `block`.
pub struct Banned {
    substrings: Option<(Regex, Vec<String>)>,
    patterns: Option<Regex>,
    sources: Vec<String>,
}

impl std::fmt::Debug for Banned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Banned").finish_non_exhaustive()
    }
}

impl Banned {
    /// Compiles the lists; an empty or invalid entry, or one over the limits, is an error.
    pub fn new(config: &BannedConfig) -> Result<Self, Error> {
        let mut folded = Vec::new();
        for (i, s) in config.substrings.iter().enumerate() {
            let f = fold_str(s);
            if f.is_empty() {
                return Err(Error::detector(
                    "banned",
                    format!("substrings[{i}] {s:?} is empty after folding"),
                ));
            }
            if s.len() > config.max_pattern_len {
                return Err(Error::detector(
                    "banned",
                    format!("substrings[{i}] is over {} bytes", config.max_pattern_len),
                ));
            }
            folded.push(f);
        }
        let substrings = if folded.is_empty() {
            None
        } else {
            // Longest first: at one position the longest substring wins. A regex of literals
            // picks a better prefilter (SIMD on a few rare bytes) than a plain automaton.
            let mut order: Vec<usize> = (0..folded.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(folded[i].len()));
            let escaped: Vec<String> = order
                .iter()
                .map(|&i| regex_syntax::escape(&folded[i]))
                .collect();
            let refs: Vec<&str> = escaped.iter().map(String::as_str).collect();
            let limits = Limits {
                max_pattern_len: usize::MAX,
                max_nfa_bytes: config.max_pattern_bytes,
                max_cache_bytes: config.max_pattern_bytes,
            };
            let re = matcher::compile("banned", &refs, false, limits)?;
            let originals = order
                .iter()
                .map(|&i| config.substrings[i].clone())
                .collect();
            Some((re, originals))
        };
        let patterns = if config.patterns.is_empty() {
            None
        } else {
            let refs: Vec<&str> = config.patterns.iter().map(String::as_str).collect();
            let limits = Limits {
                max_pattern_len: config.max_pattern_len,
                max_nfa_bytes: config.max_pattern_bytes,
                max_cache_bytes: config.max_pattern_bytes,
            };
            Some(matcher::compile(
                "banned",
                &refs,
                config.case_insensitive,
                limits,
            )?)
        };
        Ok(Banned {
            substrings,
            patterns,
            sources: config.patterns.clone(),
        })
    }
}

impl Detector for Banned {
    fn id(&self) -> &str {
        "banned"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        // Spelled-out runs: the folded view of their parent already joins them.
        for layer in input.text.layers().iter().filter(|l| !l.spelled()) {
            if let Some((re, originals)) = &self.substrings {
                let view = layer.folded();
                for m in re.find_iter(view.as_str()) {
                    out.push(Finding::new(
                        "banned.substring",
                        Category::Banned,
                        view.to_original(m.range()),
                        1.0,
                        Action::Block,
                        format!(
                            "banned substring {:?}{}",
                            originals[m.pattern().as_usize()],
                            layer.describe()
                        ),
                    ));
                }
            }
            if let Some(re) = &self.patterns {
                let view = layer.canonical();
                for m in re.find_iter(view.as_str()) {
                    if m.is_empty() {
                        continue;
                    }
                    out.push(Finding::new(
                        "banned.pattern",
                        Category::Banned,
                        view.to_original(m.range()),
                        1.0,
                        Action::Block,
                        format!(
                            "banned pattern {:?}{}",
                            self.sources[m.pattern().as_usize()],
                            layer.describe()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}
