//! Span maps: where each byte of a normalized view came from in the original text.

use std::ops::Range;

/// One run of a [`SpanMap`]: normalized bytes `n..n + nl` come from original bytes `o..o + ol`.
///
/// An *exact* run maps byte for byte (`nl == ol`); any other run maps as a whole, so a position
/// inside it stands for the whole original range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    n: u32,
    nl: u32,
    o: u32,
    ol: u32,
    exact: bool,
}

/// Maps byte ranges of a normalized string back to byte ranges of the original text.
///
/// It is built while a view is written (the same idea as the alignments of a `tokenizers`
/// `NormalizedString`) and stored as runs, so plain text costs one run whatever its length.
/// Every mapped range starts and ends on a `char` boundary of the original, because runs are
/// only ever cut at character boundaries of both sides.
#[derive(Clone, Debug, Default)]
pub struct SpanMap {
    segs: Vec<Seg>,
    norm_len: usize,
    orig_len: usize,
}

impl SpanMap {
    /// The map of a view that is the original itself.
    pub fn identity(len: usize) -> Self {
        let mut b = MapBuilder::new();
        b.exact(0, 0, len);
        b.finish(len, len)
    }

    /// Whether this map is the identity (the view is the original, byte for byte).
    pub fn is_identity(&self) -> bool {
        self.norm_len == self.orig_len
            && (self.segs.is_empty()
                || (self.segs.len() == 1 && self.segs[0].exact && self.segs[0].o == 0))
    }

    /// Length of the normalized string this map was built for.
    pub fn norm_len(&self) -> usize {
        self.norm_len
    }

    /// Length of the original text this map points into.
    pub fn orig_len(&self) -> usize {
        self.orig_len
    }

    fn seg_index(&self, pos: usize) -> usize {
        let pos = pos as u64;
        self.segs
            .partition_point(|s| u64::from(s.n) + u64::from(s.nl) <= pos)
            .min(self.segs.len().saturating_sub(1))
    }

    /// Maps a normalized byte range to the original byte range it came from.
    ///
    /// The result always covers every original byte that contributed to the range, including
    /// characters that normalization removed between its first and last byte. An empty range
    /// maps to an empty range at the corresponding original position.
    pub fn map_range(&self, range: Range<usize>) -> Range<usize> {
        if self.segs.is_empty() {
            return 0..0;
        }
        let a = range.start.min(self.norm_len);
        let b = range.end.min(self.norm_len).max(a);
        if a == b {
            let p = self.map_point(a);
            return p..p;
        }
        let sa = self.segs[self.seg_index(a)];
        let start = if sa.exact {
            sa.o as usize + (a - sa.n as usize)
        } else {
            sa.o as usize
        };
        let sb = self.segs[self.seg_index(b - 1)];
        let end = if sb.exact {
            sb.o as usize + (b - sb.n as usize)
        } else {
            (sb.o + sb.ol) as usize
        };
        start..end.max(start)
    }

    /// Maps a normalized position (a boundary between bytes) to an original position.
    fn map_point(&self, pos: usize) -> usize {
        if pos >= self.norm_len {
            return self
                .segs
                .last()
                .map(|s| (s.o + s.ol) as usize)
                .unwrap_or(self.orig_len);
        }
        let s = self.segs[self.seg_index(pos)];
        if s.exact {
            s.o as usize + (pos - s.n as usize)
        } else {
            s.o as usize
        }
    }

    /// Composes `self` (child → parent) with `parent` (parent → original): the result maps the
    /// child's bytes straight to the original.
    pub fn compose(&self, parent: &SpanMap) -> SpanMap {
        if parent.is_identity() {
            let mut m = self.clone();
            m.orig_len = parent.orig_len;
            return m;
        }
        let mut b = MapBuilder::new();
        for s in &self.segs {
            let (sn, so, sl) = (s.n as usize, s.o as usize, s.ol as usize);
            if !s.exact || parent.segs.is_empty() {
                let r = parent.map_range(so..so + sl);
                b.replaced(sn, s.nl as usize, r.start, r.end - r.start);
                continue;
            }
            let end = so + sl;
            let mut pos = so;
            let mut i = parent.seg_index(pos);
            while pos < end && i < parent.segs.len() {
                let p = parent.segs[i];
                let p_end = (p.n + p.nl) as usize;
                let sub_end = end.min(p_end);
                let cn = sn + (pos - so);
                if p.exact {
                    b.exact(cn, p.o as usize + (pos - p.n as usize), sub_end - pos);
                } else {
                    b.replaced(cn, sub_end - pos, p.o as usize, p.ol as usize);
                }
                pos = sub_end;
                i += 1;
            }
        }
        b.finish(self.norm_len, parent.orig_len)
    }
}

/// Builds a [`SpanMap`] run by run, in normalized order.
#[derive(Debug, Default)]
pub(crate) struct MapBuilder {
    segs: Vec<Seg>,
}

impl MapBuilder {
    pub(crate) fn new() -> Self {
        Self { segs: Vec::new() }
    }

    /// Normalized bytes `n..n+len` are original bytes `o..o+len`, byte for byte.
    #[inline]
    pub(crate) fn exact(&mut self, n: usize, o: usize, len: usize) {
        if len == 0 {
            return;
        }
        if let Some(last) = self.segs.last_mut()
            && last.exact
            && (last.n + last.nl) as usize == n
            && (last.o + last.ol) as usize == o
        {
            last.nl += len as u32;
            last.ol += len as u32;
            return;
        }
        self.segs.push(Seg {
            n: n as u32,
            nl: len as u32,
            o: o as u32,
            ol: len as u32,
            exact: true,
        });
    }

    /// Normalized bytes `n..n+nl` stand, as a whole, for original bytes `o..o+ol`.
    #[inline]
    pub(crate) fn replaced(&mut self, n: usize, nl: usize, o: usize, ol: usize) {
        if nl == 0 {
            return;
        }
        if nl == ol && ol == 1 {
            return self.exact(n, o, 1);
        }
        self.segs.push(Seg {
            n: n as u32,
            nl: nl as u32,
            o: o as u32,
            ol: ol as u32,
            exact: false,
        });
    }

    pub(crate) fn finish(self, norm_len: usize, orig_len: usize) -> SpanMap {
        SpanMap {
            segs: self.segs,
            norm_len,
            orig_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_every_range_to_itself() {
        let m = SpanMap::identity(10);
        assert!(m.is_identity());
        assert_eq!(m.map_range(2..5), 2..5);
        assert_eq!(m.map_range(0..10), 0..10);
        assert_eq!(m.map_range(4..4), 4..4);
    }

    #[test]
    fn deleted_bytes_inside_a_range_are_covered() {
        // original "ab\u{200B}cd" (ZWSP is 3 bytes) normalized to "abcd"
        let mut b = MapBuilder::new();
        b.exact(0, 0, 2);
        b.exact(2, 5, 2);
        let m = b.finish(4, 7);
        assert_eq!(m.map_range(0..4), 0..7);
        assert_eq!(m.map_range(2..4), 5..7);
        assert_eq!(m.map_range(0..2), 0..2);
    }

    #[test]
    fn replaced_runs_map_as_a_whole() {
        // original "xДy": "Д" (2 bytes) normalized to "д" (2 bytes, but not byte-identical)
        let mut b = MapBuilder::new();
        b.exact(0, 0, 1);
        b.replaced(1, 1, 1, 2); // "o" from a 2-byte Cyrillic letter
        b.exact(2, 3, 1);
        let m = b.finish(3, 4);
        assert_eq!(m.map_range(1..2), 1..3);
        assert_eq!(m.map_range(0..3), 0..4);
    }

    #[test]
    fn composition_goes_through_both_maps() {
        // parent: original "a\u{200B}bc" → "abc"
        let mut p = MapBuilder::new();
        p.exact(0, 0, 1);
        p.exact(1, 4, 2);
        let parent = p.finish(3, 6);
        // child: "abc" → "ac" (drop b)
        let mut c = MapBuilder::new();
        c.exact(0, 0, 1);
        c.exact(1, 2, 1);
        let child = c.finish(2, 3);
        let m = child.compose(&parent);
        assert_eq!(m.map_range(0..1), 0..1);
        assert_eq!(m.map_range(1..2), 5..6);
        assert_eq!(m.map_range(0..2), 0..6);
    }
}
