//! Required literals of a regex: a set of strings at least one of which occurs in every match.
//!
//! Detectors use them as a prefilter: one Aho-Corasick pass over the text finds which patterns
//! can match at all, and only those patterns run. Extraction is conservative: when no useful set
//! exists (a pattern that can match without any fixed text), the pattern is not gated.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Hir, HirKind};

/// At most this many literals per pattern; larger sets are not worth a prefilter.
const MAX_LITERALS: usize = 256;

/// Literals of which every match of `pattern` contains at least one, or `None` when there is no
/// such set of useful size.
///
/// `usable` turns each literal of the pattern into the text the caller can search for (the
/// literal itself, or a part of it that every occurrence must contain), or rejects it; a set
/// with a rejected literal is not used. Patterns are parsed without case folding (a
/// case-insensitive literal would expand into classes); for a case-insensitive matcher,
/// `usable` must make the literal's case irrelevant.
pub(crate) fn required(
    pattern: &str,
    usable: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<String>> {
    let hir = ParserBuilder::new().build().parse(pattern).ok()?;
    let mut out = walk(&hir, usable)?;
    out.sort();
    out.dedup();
    Some(out)
}

/// Whether every match of `pattern` contains one of `keywords` (lowercase; compared without
/// ASCII case). Conservative: `false` when it cannot tell.
pub(crate) fn every_match_contains(pattern: &str, keywords: &[String]) -> bool {
    /// The text `hir` matches, lowercased, when it is one fixed string up to ASCII case
    /// (`(?i:key)` parses into the classes `[Kk][Ee][Yy]`).
    fn ci_literal(hir: &Hir) -> Option<String> {
        match hir.kind() {
            HirKind::Literal(lit) => Some(String::from_utf8_lossy(&lit.0).to_ascii_lowercase()),
            HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => {
                // Case folding adds `ſ` to `[Ss]` and the Kelvin sign to `[Kk]`; NFKC turns both
                // into ASCII, and detectors search NFKC views, so only ASCII members count.
                let chars: Vec<char> = c
                    .ranges()
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .filter(char::is_ascii)
                    .take(3)
                    .collect();
                if c.ranges().iter().any(|r| {
                    (r.start()..=r.end())
                        .any(|ch| !ch.is_ascii() && !matches!(ch, '\u{17F}' | '\u{212A}'))
                }) {
                    return None;
                }
                match chars.as_slice() {
                    [a] => Some(a.to_ascii_lowercase().to_string()),
                    [a, b] if a.eq_ignore_ascii_case(b) => Some(a.to_ascii_lowercase().to_string()),
                    _ => None,
                }
            }
            HirKind::Concat(parts) => parts.iter().map(ci_literal).collect(),
            HirKind::Capture(c) => ci_literal(&c.sub),
            _ => None,
        }
    }
    fn walk(hir: &Hir, keywords: &[String]) -> bool {
        if let Some(text) = ci_literal(hir) {
            return keywords.iter().any(|k| text.contains(k.as_str()));
        }
        match hir.kind() {
            HirKind::Capture(c) => walk(&c.sub, keywords),
            HirKind::Repetition(r) if r.min >= 1 => walk(&r.sub, keywords),
            HirKind::Concat(parts) => {
                // Runs of fixed parts read together, then any part on its own.
                let mut run = String::new();
                for p in parts {
                    match ci_literal(p) {
                        Some(t) => {
                            run.push_str(&t);
                            if keywords.iter().any(|k| run.contains(k.as_str())) {
                                return true;
                            }
                        }
                        None => run.clear(),
                    }
                }
                parts.iter().any(|p| walk(p, keywords))
            }
            HirKind::Alternation(alts) => alts.iter().all(|a| walk(a, keywords)),
            _ => false,
        }
    }
    ParserBuilder::new()
        .build()
        .parse(pattern)
        .is_ok_and(|hir| walk(&hir, keywords))
}

/// The longest match of `pattern` in bytes, when bounded.
pub(crate) fn max_match_len(pattern: &str) -> Option<usize> {
    let hir = ParserBuilder::new().build().parse(pattern).ok()?;
    hir.properties().maximum_len()
}

/// How rare a literal is in ordinary text, roughly: punctuation and non-ASCII bytes count three,
/// letters and digits one, spaces half.
fn rarity(lit: &str) -> u32 {
    lit.bytes()
        .map(|b| match b {
            b' ' => 1,
            b if b.is_ascii_alphanumeric() => 2,
            _ => 6,
        })
        .sum()
}

/// How good a literal set is as a prefilter: the rarest weakest literal first (capped, as any
/// long literal is rare enough), then fewer literals.
fn quality(set: &[String]) -> (u32, std::cmp::Reverse<usize>) {
    let weakest = set.iter().map(|l| rarity(l)).min().unwrap_or(0);
    (weakest.min(16), std::cmp::Reverse(set.len()))
}

/// The characters of a small class, as literals.
fn class_literals(class: &regex_syntax::hir::Class) -> Option<Vec<String>> {
    const MAX_CLASS: u32 = 4;
    let mut out = Vec::new();
    match class {
        regex_syntax::hir::Class::Unicode(c) => {
            for r in c.ranges() {
                if out.len() as u32 + (r.end() as u32 - r.start() as u32) >= MAX_CLASS {
                    return None;
                }
                out.extend((r.start()..=r.end()).map(String::from));
            }
        }
        regex_syntax::hir::Class::Bytes(c) => {
            for r in c.ranges() {
                if out.len() as u32 + u32::from(r.end() - r.start()) >= MAX_CLASS {
                    return None;
                }
                for b in r.start()..=r.end() {
                    out.push(
                        char::from(b)
                            .is_ascii()
                            .then(|| char::from(b).to_string())?,
                    );
                }
            }
        }
    }
    Some(out)
}

fn walk(hir: &Hir, usable: &dyn Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).ok()?;
            usable(text).filter(|l| !l.is_empty()).map(|l| vec![l])
        }
        HirKind::Class(class) => class_literals(class)?
            .iter()
            .map(|l| usable(l).filter(|l| !l.is_empty()))
            .collect(),
        HirKind::Capture(c) => walk(&c.sub, usable),
        HirKind::Repetition(r) if r.min >= 1 => walk(&r.sub, usable),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(|p| walk(p, usable))
            .max_by_key(|s| quality(s)),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(walk(a, usable)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
        // Large classes, look-arounds, optional parts and the empty string fix no text.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(l: &str) -> Option<String> {
        Some(l.to_string())
    }

    #[test]
    fn alternation_of_words_is_required() {
        let got = required(r"\b(?:ignore|disregard) (?:all )?previous\b", &same).unwrap();
        // "previous" (one literal, rare enough) beats the two verbs.
        assert_eq!(got, vec!["previous"]);
    }

    #[test]
    fn optional_parts_do_not_count() {
        assert_eq!(required(r"(?:abc)?\d+", &same), None);
        assert_eq!(required(r"x*", &same), None);
    }

    #[test]
    fn rejected_literals_make_another_part_required() {
        let letters =
            |l: &str| Some(l.to_lowercase()).filter(|l| l.bytes().all(|b| b.is_ascii_alphabetic()));
        let got = required(r"<\|(?:System|ADMIN)\|>", &letters).unwrap();
        assert_eq!(got, vec!["admin", "system"]);
    }

    #[test]
    fn punctuation_is_preferred_to_common_words() {
        let got = required(r"(?m)^(?:assistant|ai|bot)[ \t]*[:：]", &same).unwrap();
        assert_eq!(got, vec![":", "："]);
    }

    #[test]
    fn every_literal_of_an_alternation_is_needed() {
        // One branch without text makes the whole alternation ungated.
        assert_eq!(required(r"(?:abc|\d+)", &same), None);
    }
}
