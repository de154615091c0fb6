//! Small fixed sets of lowercase words, asked about with ASCII case folding and no allocation:
//! a per-length table of first letters answers most questions before any hashing.

use std::collections::HashSet;

use crate::tools::policy::Fnv;

/// Words of at most 15 bytes (longer ones are never matched).
pub(crate) struct WordSet {
    set: HashSet<&'static [u8], Fnv>,
    /// Per word length: bit `0..26` for each first letter, bit 31 for any other first byte.
    first: [u32; 16],
}

fn first_letter_bit(c: u8) -> u32 {
    let letter = c.to_ascii_lowercase().wrapping_sub(b'a');
    if letter < 26 { 1 << letter } else { 1 << 31 }
}

impl WordSet {
    /// The set of `words` (expected in lowercase).
    pub(crate) fn new(words: impl IntoIterator<Item = &'static str>) -> WordSet {
        let set: HashSet<&'static [u8], Fnv> = words
            .into_iter()
            .map(str::as_bytes)
            .filter(|w| !w.is_empty() && w.len() < 16)
            .collect();
        let mut first = [0u32; 16];
        for w in &set {
            first[w.len()] |= first_letter_bit(w[0]);
        }
        WordSet { set, first }
    }

    /// Whether `w`, ASCII-lowercased, is in the set.
    pub(crate) fn contains(&self, w: &[u8]) -> bool {
        let Some(&mask) = self.first.get(w.len()) else {
            return false;
        };
        if w.is_empty() || mask & first_letter_bit(w[0]) == 0 {
            return false;
        }
        let mut buf = [0u8; 16];
        let lower = &mut buf[..w.len()];
        lower.copy_from_slice(w);
        lower.make_ascii_lowercase();
        self.set.contains(&*lower)
    }
}

#[cfg(test)]
mod tests {
    use super::WordSet;

    #[test]
    fn folds_ascii_case_and_rejects_other_words() {
        let set = WordSet::new(["in", "from", "à", "i'm", "hometown"]);
        for yes in ["in", "IN", "From", "à", "I'M", "hometown"] {
            assert!(set.contains(yes.as_bytes()), "{yes}");
        }
        for no in ["", "i", "inn", "fro", "À", "home", "averyveryverylongword"] {
            assert!(!set.contains(no.as_bytes()), "{no}");
        }
    }
}
