//! Length limits: bytes, characters and estimated tokens (`length.bytes`, `length.chars`,
//! `length.tokens`).

use serde::{Deserialize, Serialize};

use super::{Detector, Input};
use crate::error::DetectorError;
use crate::verdict::{Action, Category, Finding};

/// Limits of the [`Length`] detector; `None` turns a limit off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LengthConfig {
    /// Most UTF-8 bytes. Default 262,144 (256 KiB).
    pub max_bytes: Option<usize>,
    /// Most Unicode scalar values. Default 100,000.
    pub max_chars: Option<usize>,
    /// Most estimated tokens (see [`estimate_tokens`]). Default 32,000.
    pub max_tokens: Option<usize>,
}

impl Default for LengthConfig {
    fn default() -> Self {
        LengthConfig {
            max_bytes: Some(256 * 1024),
            max_chars: Some(100_000),
            max_tokens: Some(32_000),
        }
    }
}

/// Estimates how many tokens a BPE tokenizer of a current chat model makes of `s`:
/// about four ASCII bytes per token, two letters per token in alphabetic scripts outside ASCII
/// (Latin with diacritics, Greek, Cyrillic, Hebrew, Arabic), one token per character elsewhere
/// (CJK, emoji). It is an estimate for limits, not a tokenizer.
///
/// ```
/// assert_eq!(palisade::detect::length::estimate_tokens("hello world!"), 3);
/// assert_eq!(palisade::detect::length::estimate_tokens("你好世界"), 4);
/// ```
pub fn estimate_tokens(s: &str) -> usize {
    quarter_tokens(s).div_ceil(4)
}

/// Four times [`estimate_tokens`] before rounding: additive over concatenation, for streams.
pub(crate) fn quarter_tokens(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars()
        .map(|c| match c as u32 {
            0..=0x7F => 1,
            0x80..=0x7FF => 2,
            _ => 4,
        })
        .sum()
}

/// Flags text over its length limits; default action `block`.
#[derive(Clone, Debug, Default)]
pub struct Length {
    config: LengthConfig,
}

impl Length {
    /// A length detector with these limits.
    pub fn new(config: LengthConfig) -> Self {
        Length { config }
    }
}

impl Detector for Length {
    fn id(&self) -> &str {
        "length"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let s = input.text.original();
        let whole = 0..s.len();
        let mut check = |id: &'static str, what: &str, n: usize, max: Option<usize>| {
            if let Some(max) = max
                && n > max
            {
                out.push(Finding::new(
                    id,
                    Category::Length,
                    whole.clone(),
                    1.0,
                    Action::Block,
                    format!("{n} {what}, over the limit of {max}"),
                ));
            }
        };
        check("length.bytes", "bytes", s.len(), self.config.max_bytes);
        if self.config.max_chars.is_some_and(|m| s.len() > m) {
            check(
                "length.chars",
                "characters",
                s.chars().count(),
                self.config.max_chars,
            );
        }
        if self.config.max_tokens.is_some_and(|m| s.len() > m) {
            check(
                "length.tokens",
                "estimated tokens",
                estimate_tokens(s),
                self.config.max_tokens,
            );
        }
        Ok(())
    }
}
