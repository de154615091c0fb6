//! Sets of context words matched by one dense DFA: the same leftmost-longest, ASCII
//! case-insensitive semantics as an Aho-Corasick automaton, with a tighter search loop (the
//! recognizers search many short windows, where the per-byte cost dominates).

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::{Input, MatchKind};

/// Literal words, ASCII letters in either case, other characters exactly.
pub(crate) struct Literals {
    dfa: dense::DFA<Vec<u32>>,
    /// Per DFA pattern: the caller's index and the length in bytes.
    patterns: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Literals")
            .field("words", &self.patterns.len())
            .finish_non_exhaustive()
    }
}

/// The regex of one literal: `[aA]` for each ASCII letter, `\x{..}` for other ASCII bytes.
fn pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() * 4);
    for c in word.chars() {
        if c.is_ascii_alphabetic() {
            p.push('[');
            p.push(c.to_ascii_lowercase());
            p.push(c.to_ascii_uppercase());
            p.push(']');
        } else if c.is_ascii_digit() || !c.is_ascii() {
            p.push(c);
        } else {
            p.push_str(&format!("\\x{{{:02X}}}", c as u32));
        }
    }
    p
}

impl Literals {
    /// The set of `words` (empty words are ignored); an error when the automaton would exceed
    /// 32 MiB.
    pub(crate) fn new<S: AsRef<str>>(words: &[S]) -> Result<Literals, String> {
        // Leftmost-first with the longest words first is leftmost-longest for literals.
        let mut order: Vec<usize> = (0..words.len())
            .filter(|&i| !words[i].as_ref().is_empty())
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(words[i].as_ref().len()));
        let regexes: Vec<String> = order.iter().map(|&i| pattern(words[i].as_ref())).collect();
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .start_kind(StartKind::Unanchored)
                    .dfa_size_limit(Some(32 << 20))
                    .determinize_size_limit(Some(32 << 20)),
            )
            .build_many(&regexes)
            .map_err(|e| e.to_string())?;
        Ok(Literals {
            dfa,
            patterns: order
                .iter()
                .map(|&i| (i, words[i].as_ref().len()))
                .collect(),
        })
    }

    /// The non-overlapping leftmost-longest occurrences in `hay[from..to]`: (start, end,
    /// index of the word).
    pub(crate) fn find_iter<'h>(
        &'h self,
        hay: &'h [u8],
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = (usize, usize, usize)> + 'h {
        let to = to.min(hay.len());
        let mut at = from.min(to);
        std::iter::from_fn(move || {
            if at >= to {
                return None;
            }
            let input = Input::new(hay).range(at..to);
            let hm = self.dfa.try_search_fwd(&input).ok()??;
            let (index, len) = self.patterns[hm.pattern().as_usize()];
            let end = hm.offset();
            at = end.max(at + 1);
            Some((end - len, end, index))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Literals;
    use aho_corasick::{AhoCorasick, MatchKind};

    /// The DFA finds what a leftmost-longest, ASCII case-insensitive Aho-Corasick finds.
    #[test]
    fn agrees_with_leftmost_longest_aho_corasick() {
        let words = [
            "card",
            "card no",
            "card #",
            "no",
            "ss#",
            "d.o.b",
            "swift/bic",
            "tél",
            "téléphone",
            "numéro d'assurance sociale",
            "kt.",
            "ח\"פ",
            "инн",
            "ИНН",
            "tax id",
            "id",
        ];
        let lit = Literals::new(&words).unwrap();
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(words)
            .unwrap();
        let text = "Card No 4111, card # 9; SS# 1, D.O.B 1990, Swift/BIC X, Tél. 5, \
                    TÉLÉPHONE, téléphone: 1, Numéro d'assurance sociale, kt. 12, ח\"פ 5, \
                    ИНН 7, инн, TAX ID: 9, Id, nocard, kardno";
        let b = text.as_bytes();
        for (from, to) in [(0, b.len()), (5, 60), (17, 18), (30, b.len() - 3)] {
            let want: Vec<(usize, usize, usize)> = ac
                .find_iter(aho_corasick::Input::new(b).range(from..to))
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect();
            let got: Vec<_> = lit.find_iter(b, from, to).collect();
            assert_eq!(got, want, "window {from}..{to}");
        }
    }
}
