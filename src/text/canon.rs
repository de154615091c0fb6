//! The canonical view: NFKC, with invisible, bidi, tag and variation-selector characters removed.

use std::borrow::Cow;
use std::ops::Range;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::chars::{Hidden, hidden, tag_ascii, variation_selector_byte};
use super::span::{MapBuilder, SpanMap};

/// Text smuggled in invisible characters, recovered while canonicalizing.
#[derive(Debug, Default)]
pub(crate) struct Smuggled {
    /// ASCII spelled with tag characters, one map run per tag.
    pub(crate) tags: Option<(String, SpanMap)>,
    /// Bytes spelled with variation selectors, decoded as UTF-8 when they form printable text.
    pub(crate) selectors: Vec<(String, Range<usize>)>,
}

/// Canonicalizes `src`: returns the view, its map to `src`, and any smuggled payloads.
pub(crate) fn canonicalize(src: &str) -> (Cow<'_, str>, SpanMap, Smuggled) {
    // Most text is already canonical: ASCII, or NFKC without hidden characters.
    if src.is_ascii()
        || (src.chars().all(|c| hidden(c).is_none())
            && is_nfkc_quick(src.chars()) == IsNormalized::Yes)
    {
        return (
            Cow::Borrowed(src),
            SpanMap::identity(src.len()),
            Smuggled::default(),
        );
    }
    let mut out = String::with_capacity(src.len());
    let mut b = MapBuilder::new();
    let mut smuggled = Smuggled::default();
    let mut tag_text = String::new();
    let mut tag_map = MapBuilder::new();
    let mut vs_bytes: Vec<u8> = Vec::new();
    let mut vs_span = 0..0;
    let mut group = String::new();
    let mut iter = src.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let h = hidden(c);
        if h != Some(Hidden::VariationSelector) && !vs_bytes.is_empty() {
            flush_selectors(&mut vs_bytes, &vs_span, &mut smuggled);
        }
        if let Some(h) = h {
            match h {
                Hidden::Tag => {
                    if let Some(a) = tag_ascii(c) {
                        tag_map.replaced(tag_text.len(), 1, i, c.len_utf8());
                        tag_text.push(a);
                    }
                }
                Hidden::VariationSelector => {
                    if let Some(byte) = variation_selector_byte(c) {
                        if vs_bytes.is_empty() {
                            vs_span = i..i;
                        }
                        vs_bytes.push(byte);
                        vs_span.end = i + c.len_utf8();
                    }
                }
                _ => {}
            }
            continue;
        }
        let next_is_mark = iter
            .peek()
            .is_some_and(|&(_, d)| is_combining_mark(d) && hidden(d).is_none());
        if c.is_ascii() && !next_is_mark {
            b.exact(out.len(), i, 1);
            out.push(c);
            continue;
        }
        let mut end = i + c.len_utf8();
        group.clear();
        group.push(c);
        while let Some(&(j, d)) = iter.peek() {
            if !is_combining_mark(d) || hidden(d).is_some() {
                break;
            }
            group.push(d);
            end = j + d.len_utf8();
            iter.next();
        }
        let n0 = out.len();
        let single = group.len() == c.len_utf8();
        let stable = single
            && match is_nfkc_quick(std::iter::once(c)) {
                IsNormalized::Yes => true,
                IsNormalized::No => false,
                IsNormalized::Maybe => std::iter::once(c).nfkc().eq(std::iter::once(c)),
            };
        if stable {
            out.push(c);
            b.exact(n0, i, c.len_utf8());
        } else {
            out.extend(group.chars().nfkc().filter(|&d| hidden(d).is_none()));
            b.replaced(n0, out.len() - n0, i, end - i);
        }
    }
    if !vs_bytes.is_empty() {
        flush_selectors(&mut vs_bytes, &vs_span, &mut smuggled);
    }
    if !tag_text.is_empty() {
        let len = tag_text.len();
        smuggled.tags = Some((tag_text, tag_map.finish(len, src.len())));
    }
    let len = out.len();
    (Cow::Owned(out), b.finish(len, src.len()), smuggled)
}

/// A run of variation selectors long enough to carry a message is decoded as UTF-8.
fn flush_selectors(bytes: &mut Vec<u8>, span: &Range<usize>, smuggled: &mut Smuggled) {
    if bytes.len() >= 4
        && let Ok(s) = std::str::from_utf8(bytes)
        && super::decode::is_printable_text(s)
    {
        smuggled.selectors.push((s.to_owned(), span.clone()));
    }
    bytes.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_borrowed_unchanged() {
        let (v, m, _) = canonicalize("hello world");
        assert!(matches!(v, Cow::Borrowed(_)));
        assert!(m.is_identity());
    }

    #[test]
    fn fullwidth_and_math_letters_become_ascii() {
        let s = "ｉｇｎｏｒｅ 𝐩𝐫𝐞𝐯𝐢𝐨𝐮𝐬";
        let (v, m, _) = canonicalize(s);
        assert_eq!(v, "ignore previous");
        let r = m.map_range(7..15);
        assert_eq!(&s[r], "𝐩𝐫𝐞𝐯𝐢𝐨𝐮𝐬");
    }

    #[test]
    fn zero_width_characters_are_removed_and_spans_cover_them() {
        let s = "ig\u{200B}no\u{2060}re";
        let (v, m, _) = canonicalize(s);
        assert_eq!(v, "ignore");
        assert_eq!(m.map_range(0..6), 0..s.len());
    }

    #[test]
    fn tag_characters_are_recovered_as_ascii() {
        let hidden: String = "hi there"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        let s = format!("ok{hidden}!");
        let (v, _, sm) = canonicalize(&s);
        assert_eq!(v, "ok!");
        let (t, m) = sm.tags.unwrap();
        assert_eq!(t, "hi there");
        assert_eq!(&s[m.map_range(0..2)], &hidden[..8]);
    }

    #[test]
    fn combining_sequences_compose() {
        let s = "cafe\u{301}!";
        let (v, m, _) = canonicalize(s);
        assert_eq!(v, "café!");
        assert_eq!(&s[m.map_range(3..5)], "e\u{301}");
    }
}
