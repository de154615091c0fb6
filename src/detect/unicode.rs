//! Invisible, directional, tag and look-alike characters (`unicode.invisible`,
//! `unicode.bidi`, `unicode.tag`, `unicode.variation_selector`, `unicode.homoglyph`).
//!
//! Legitimate uses are not flagged: ZWJ inside emoji sequences and in scripts that join
//! (Arabic, Persian, Indic, ...), ZWNJ in those scripts, a byte-order mark at the start, LRM/RLM
//! next to right-to-left text, one presentation or ideographic variation selector after its base
//! character, and tag sequences of subdivision flags (🏴 + tags + cancel tag).

use std::fmt::Write as _;

use super::{Detector, Input};
use crate::error::DetectorError;
use crate::text::chars::{
    Hidden, hidden, is_alphabetic, is_alphanumeric, is_pictographic, joins_in_script, tag_ascii,
};
use crate::verdict::{Action, Category, Finding};

/// The unicode validator. Default actions: invisible and bidi characters are redacted
/// (removed from the text), smuggled tag or variation-selector text is blocked, mixed-script
/// look-alike words are blocked.
#[derive(Clone, Debug, Default)]
pub struct Unicode {
    _private: (),
}

impl Unicode {
    /// The unicode validator.
    pub fn new() -> Self {
        Unicode::default()
    }
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Whether `c` is a letter of a non-Latin script that looks like an ASCII letter.
fn is_foreign_lookalike(c: char) -> bool {
    let u = c as u32;
    if u < 0x370 || (0x1E00..=0x1EFF).contains(&u) || (0x2C60..=0x2C7F).contains(&u) {
        return false; // ASCII, Latin-1, Latin Extended
    }
    if !is_alphabetic(c) {
        return false;
    }
    crate::text::folds_to_ascii_letter(c)
}

struct Run {
    kind: Hidden,
    start: usize,
    end: usize,
    count: usize,
    legit: bool,
    tags: String,
}

impl Detector for Unicode {
    fn id(&self) -> &str {
        "unicode"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let s = input.text.original();
        if s.is_ascii() {
            return Ok(());
        }
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let mut runs: Vec<Run> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            let Some(kind) = hidden(c) else {
                i += 1;
                continue;
            };
            // Extend over the same kind.
            let mut j = i + 1;
            while j < chars.len() && hidden(chars[j].1) == Some(kind) {
                j += 1;
            }
            let end = chars.get(j).map_or(s.len(), |&(e, _)| e);
            let prev = i.checked_sub(1).map(|p| chars[p].1);
            let next = chars.get(j).map(|&(_, d)| d);
            let count = j - i;
            let legit = match kind {
                Hidden::Zwj => {
                    count == 1
                        && (prev.is_some_and(is_pictographic) && next.is_some_and(is_pictographic)
                            || prev.is_some_and(joins_in_script)
                            || next.is_some_and(joins_in_script))
                }
                Hidden::Zwnj => {
                    count == 1
                        && (prev.is_some_and(joins_in_script) || next.is_some_and(joins_in_script))
                }
                Hidden::ZeroWidth => count == 1 && c == '\u{FEFF}' && at == 0,
                Hidden::BidiMark => {
                    let near_rtl = chars[i.saturating_sub(3)..(j + 3).min(chars.len())]
                        .iter()
                        .any(|&(_, d)| is_rtl(d));
                    count <= 2 && near_rtl
                }
                Hidden::BidiControl => false,
                Hidden::Tag => {
                    prev == Some('\u{1F3F4}')
                        && chars[j - 1].1 == '\u{E007F}'
                        && chars[i..j - 1].iter().all(
                            |&(_, t)| matches!(t as u32, 0xE0030..=0xE0039 | 0xE0061..=0xE007A),
                        )
                        && count <= 8
                }
                Hidden::VariationSelector => {
                    count == 1
                        && (matches!(c, '\u{FE0E}' | '\u{FE0F}')
                            || prev.is_some_and(is_cjk_ideograph))
                }
            };
            let tags = if kind == Hidden::Tag && !legit {
                chars[i..j]
                    .iter()
                    .filter_map(|&(_, t)| tag_ascii(t))
                    .collect()
            } else {
                String::new()
            };
            runs.push(Run {
                kind,
                start: at,
                end,
                count,
                legit,
                tags,
            });
            i = j;
        }
        for r in runs.into_iter().filter(|r| !r.legit) {
            let span = r.start..r.end;
            let f = match r.kind {
                Hidden::Zwj | Hidden::Zwnj | Hidden::ZeroWidth => Finding::new(
                    "unicode.invisible",
                    Category::Unicode,
                    span,
                    if r.count >= 2 || r.kind != Hidden::ZeroWidth {
                        0.8
                    } else {
                        0.6
                    },
                    Action::Redact,
                    format!("{} invisible character(s) ({:?})", r.count, r.kind),
                ),
                Hidden::BidiMark => Finding::new(
                    "unicode.bidi",
                    Category::Unicode,
                    span,
                    0.4,
                    Action::Redact,
                    format!("{} directional mark(s) outside right-to-left text", r.count),
                ),
                Hidden::BidiControl => Finding::new(
                    "unicode.bidi",
                    Category::Unicode,
                    span,
                    0.9,
                    Action::Redact,
                    format!(
                        "{} bidirectional control character(s): text may display in another order than it is read (Trojan Source)",
                        r.count
                    ),
                ),
                Hidden::Tag => {
                    let mut shown: String = r.tags.chars().take(200).collect();
                    if r.tags.chars().count() > 200 {
                        shown.push('…');
                    }
                    Finding::new(
                        "unicode.tag",
                        Category::Unicode,
                        span,
                        1.0,
                        Action::Block,
                        format!("{} tag character(s) hiding text: {shown:?}", r.count),
                    )
                }
                Hidden::VariationSelector => Finding::new(
                    "unicode.variation_selector",
                    Category::Unicode,
                    span,
                    if r.count >= 4 { 1.0 } else { 0.6 },
                    if r.count >= 4 {
                        Action::Block
                    } else {
                        Action::Redact
                    },
                    format!(
                        "{} variation selector(s) without a base that uses them (can smuggle bytes)",
                        r.count
                    ),
                ),
            };
            out.push(f.with_replacement(""));
        }
        homoglyphs(s, out);
        Ok(())
    }
}

/// Words that mix ASCII letters with look-alike letters of another script (`ignоre` with a
/// Cyrillic `о`).
fn homoglyphs(s: &str, out: &mut Vec<Finding>) {
    // Past this many words, the rest are counted into one more finding: a text full of
    // look-alikes is one fact, and the verdict stays small.
    const MAX_WORDS: usize = 8;
    let mut start = None;
    let mut ascii = false;
    let mut foreign = String::new();
    let mut found = 0usize;
    let mut rest: Option<(usize, usize, usize)> = None;
    let mut flush =
        |start: &mut Option<usize>, end: usize, ascii: &mut bool, foreign: &mut String| {
            if let Some(st) = start.take()
                && *ascii
                && foreign.chars().any(is_foreign_lookalike)
            {
                found += 1;
                if found > MAX_WORDS {
                    let r = rest.get_or_insert((st, end, 0));
                    r.1 = end;
                    r.2 += 1;
                } else {
                    let mut msg = format!(
                        "word {:?} mixes ASCII letters with look-alikes:",
                        &s[st..end]
                    );
                    for c in foreign.chars().filter(|&c| is_foreign_lookalike(c)).take(8) {
                        let _ = write!(msg, " U+{:04X}", c as u32);
                    }
                    out.push(Finding::new(
                        "unicode.homoglyph",
                        Category::Unicode,
                        st..end,
                        0.7,
                        Action::Block,
                        msg,
                    ));
                }
            }
            *ascii = false;
            foreign.clear();
        };
    for (at, c) in s.char_indices() {
        if is_alphanumeric(c) || hidden(c).is_some() {
            if start.is_none() {
                start = Some(at);
            }
            if c.is_ascii_alphabetic() {
                ascii = true;
            } else if !c.is_ascii() && is_alphabetic(c) {
                foreign.push(c);
            }
        } else {
            flush(&mut start, at, &mut ascii, &mut foreign);
        }
    }
    flush(&mut start, s.len(), &mut ascii, &mut foreign);
    if let Some((st, end, n)) = rest {
        out.push(Finding::new(
            "unicode.homoglyph",
            Category::Unicode,
            st..end,
            0.7,
            Action::Block,
            format!("{n} more words mix ASCII letters with look-alikes"),
        ));
    }
}
