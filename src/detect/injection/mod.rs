//! Prompt-injection heuristics: multilingual phrase lists (aho-corasick) and patterns
//! (regex-automata) over the normalized views, so homoglyphs, invisible characters, leetspeak,
//! letter spacing and encoded payloads do not hide an attack.
//!
//! The rules are data (`rules.toml` beside this file, compiled into the crate); more rules can be
//! added from configuration in the same format. Findings carry the rule id (`injection.override`,
//! `injection.prompt_extraction`, `injection.template_token`, `injection.role_spoof`,
//! `injection.addressed_to_ai`, `injection.jailbreak`, `injection.exfiltration`, weak cues, and
//! `injection.combined` when several weak cues add up).

pub mod classifier;

use std::collections::HashMap;

use aho_corasick::automaton::Automaton;
use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, MatchKind, StartKind,
};
use regex_automata::meta::Regex;
use serde::Deserialize;

use super::matcher::{self, Limits};
use super::{Detector, Input};
use crate::error::{DetectorError, Error};
use std::ops::Range;

use crate::text::{Layer, View, fold_str};
use crate::verdict::{Action, Category, Finding};

/// The built-in rule set.
pub const BUILTIN_RULES: &str = include_str!("rules.toml");

/// One heuristic rule, as written in a rules file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Finding id, `injection.<name>`.
    pub id: String,
    /// Score of a match, `0.0..=1.0`.
    pub score: f32,
    /// What the rule catches (used in finding messages).
    #[serde(default)]
    pub description: String,
    /// Regexes on the folded view.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Case-insensitive regexes on the canonical view.
    #[serde(default)]
    pub canonical: Vec<String>,
    /// Literal phrases in any language.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Groups of word stems that must occur close together, in any order (for languages whose
    /// word order and inflection a fixed phrase cannot follow).
    #[serde(default)]
    pub near: Vec<NearDef>,
    /// The checks the rule runs on (`input`, `output`, `tool_result`, `tool_call`); all when
    /// empty. Text that tells an agent to act before it answers is a request from a user and
    /// an injection from a retrieved document.
    #[serde(default)]
    pub kinds: Vec<crate::CheckKind>,
}

/// A set of stem groups of a rule: the rule fires where one stem of every group occurs, each
/// at the start of a word (anywhere in scripts written without spaces), all within `within`
/// characters of the folded view and within one clause of the text (no `,` `;` `:` `.` `!`
/// `?` followed by a space, and no line break, between them), unless a `not` stem stands
/// next to the stem of the first group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearDef {
    /// Two or more groups of stems in any language, folded like the text at load. A stem
    /// matches every word that starts with it (`instruc` matches `instructions`,
    /// `instrucciones`, `instructiunile`), a stem written with a trailing space only a whole
    /// word (`"tes "` matches `tes` but not `test`); one stem may be listed in several groups
    /// (a compound such as `systemprompt` then stands for both words).
    pub groups: Vec<Vec<String>>,
    /// Most characters from the start of the first stem to the end of the last. Default 80.
    #[serde(default = "default_within")]
    pub within: usize,
    /// Where the stem of the first group stands: `first` (before the others: a verb of a
    /// language that puts it first), `last` (after them) or `any` (the default).
    #[serde(default)]
    pub anchor: Anchor,
    /// Stems that cancel a stem of the first group when one ends at most 10 characters before
    /// it or starts at most 12 characters after it (negations: `n'oubliez pas`, `vergessen
    /// Sie nicht`).
    #[serde(default)]
    pub not: Vec<String>,
    /// Whether the stems must stand in one clause (the default). `false` for a set that spans
    /// a salutation and the sentence after it (`Hei tekoäly! Jätä aiemmat ohjeesi …`).
    #[serde(default = "default_true")]
    pub clause: bool,
}

fn default_true() -> bool {
    true
}

/// Where the stem of a near set's first group stands relative to the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// Before every other stem.
    First,
    /// After every other stem.
    Last,
    /// Anywhere.
    #[default]
    Any,
}

fn default_within() -> usize {
    80
}

/// Parses a rules file (the format of [`BUILTIN_RULES`]).
pub fn parse_rules(source: &str, file: &str) -> Result<Vec<RuleDef>, Error> {
    crate::config::parse_rule_file(
        source,
        file,
        "injection",
        |r: &RuleDef| &r.id,
        |r| {
            if !(0.0..=1.0).contains(&r.score) {
                return Err(("score", format!("{} is outside 0..=1", r.score)));
            }
            for n in &r.near {
                if n.groups.len() < 2 || n.groups.iter().any(Vec::is_empty) {
                    return Err(("near.groups", "needs two or more groups, none empty".into()));
                }
                if !(1..=1000).contains(&n.within) {
                    return Err(("near.within", format!("{} is outside 1..=1000", n.within)));
                }
            }
            Ok(())
        },
    )
}

/// Configuration of the injection heuristics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InjectionConfig {
    /// Leave the built-in rules out (only `extra_rules` run). Default `false`.
    pub no_builtin_rules: bool,
    /// More rules in the `rules.toml` format, as a TOML string.
    pub extra_rules: Option<String>,
    /// More phrases that count as instruction override (`injection.override`), any language.
    pub extra_phrases: Vec<String>,
}

struct RuleMeta {
    id: String,
    score: f32,
    description: String,
    /// The checks the rule runs on; all when empty.
    kinds: Vec<crate::CheckKind>,
}

/// The heuristic injection detector (`injection`). Default action `block` at the policy
/// threshold; weak rules score under it.
pub struct Heuristics {
    rules: Vec<RuleMeta>,
    /// Folded-view patterns without a literal prefilter, in one regex (pattern → rule).
    folded: Option<(Regex, Vec<usize>)>,
    /// Canonical-view patterns without a literal prefilter, in one regex (pattern → rule).
    canonical: Option<(Regex, Vec<usize>)>,
    /// Patterns that run only when one of their required literals occurs in the folded view.
    gated: Vec<Gated>,
    /// Phrases that are ASCII once folded, and required literals of folded-view patterns.
    ascii: Option<Literals>,
    /// Required literals of canonical-view patterns (ASCII case-insensitive).
    canonical_gates: Option<Literals>,
    /// Phrases with non-ASCII characters (searched only where the folded view has any).
    other: Option<Literals>,
    /// The stems of `near` rules that are ASCII once folded, and the others (searched only
    /// where the folded view has non-ASCII characters).
    near_ascii: Option<Literals>,
    near_other: Option<Literals>,
    /// The stem sets of `near` rules.
    near: Vec<NearSet>,
}

/// One compiled [`NearDef`]; its `not` stems are group `groups`.
struct NearSet {
    rule: usize,
    groups: usize,
    within: usize,
    anchor: Anchor,
    clause: bool,
}

/// A pattern behind a literal prefilter.
struct Gated {
    re: Regex,
    rule: usize,
    /// Runs on the canonical view (case-insensitive) instead of the folded one.
    canonical: bool,
}

/// What one literal of a [`Literals`] automaton stands for.
#[derive(Default)]
struct Entry {
    /// The rule this literal is a phrase of.
    phrase: Option<usize>,
    /// The gated patterns (indexes into `Heuristics::gated`) this literal lets run.
    gates: Vec<usize>,
    /// The near sets and groups (indexes into `Heuristics::near`) this literal is a stem of,
    /// and whether it must end a word there.
    stems: Vec<(usize, usize, bool)>,
    /// Whether the literal as a phrase or stem must start a word.
    boundary: bool,
    /// Whether the literal stands for a phrase or stem only where the text has a capital (see
    /// [`case_forms`]): some registration needs one and none does without.
    capital: Option<bool>,
    /// Whether the literal is a stem of a near set's first group: where one occurs, the near
    /// stems are looked for (they are not, in the many texts that hold none).
    anchor: bool,
}

impl Entry {
    /// Records a phrase or stem form that does (`true`) or does not need a capital.
    fn form(&mut self, boundary: bool, capital: bool) {
        self.boundary = boundary;
        self.capital = Some(self.capital.unwrap_or(true) && capital);
    }
}

/// One Aho-Corasick automaton over phrases and required literals.
struct Literals {
    search: Search,
    entries: Vec<Entry>,
}

/// How a [`Literals`] set is searched.
enum Search {
    /// Everywhere in the text.
    Scan(AhoCorasick),
    /// From word starts only, walking an anchored DFA (see [`anchored_matches`]).
    Walk(Box<aho_corasick::dfa::DFA>),
}

impl Literals {
    /// `anchored`: an automaton searched only from word starts, for a set too large to scan
    /// every byte with quickly (a big DFA falls out of the cache), whose literals all start
    /// words anyway.
    fn build(
        map: std::collections::BTreeMap<String, Entry>,
        ascii_case_insensitive: bool,
        anchored: bool,
    ) -> Result<Option<Self>, Error> {
        if map.is_empty() {
            return Ok(None);
        }
        let (keys, entries): (Vec<String>, Vec<Entry>) = map.into_iter().unzip();
        let err = |e: aho_corasick::BuildError| Error::detector("injection", e.to_string());
        let search = if anchored {
            // Walked by hand from each word start: a few transitions per word, where a scan
            // of every byte through a DFA this large would miss the cache at each step.
            Search::Walk(Box::new(
                aho_corasick::dfa::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .start_kind(StartKind::Anchored)
                    .ascii_case_insensitive(ascii_case_insensitive)
                    .build(&keys)
                    .map_err(err)?,
            ))
        } else {
            // A full DFA: the fastest scan, and small for these sets.
            Search::Scan(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .ascii_case_insensitive(ascii_case_insensitive)
                    .build(&keys)
                    .map_err(err)?,
            )
        };
        Ok(Some(Literals { search, entries }))
    }
}

impl std::fmt::Debug for Heuristics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heuristics")
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn rewrite(p: &str) -> String {
    p.replace(r"\b", r"(?-u:\b)").replace(r"\w", "[^ ]")
}

/// The folded forms of a phrase or stem written in lower case, with a capital first letter and
/// in capitals, each with whether it stands only for capitals. Folding maps some capitals of
/// other scripts to Latin look-alikes whose small letters it keeps (`Не` folds to `he`, `не`
/// to `нe`), so each case is folded on its own; a form that folds into plain ASCII from a word
/// that does not would match Latin words (`he`), so it counts only where the text has a
/// capital there. An error (naming rule `id` and the `what`) when the text folds to nothing.
fn case_forms(p: &str, id: &str, what: &str) -> Result<Vec<(String, bool)>, Error> {
    let base = fold_str(p);
    if base.is_empty() {
        return Err(Error::detector(
            id,
            format!("{what} {p:?} folds to nothing"),
        ));
    }
    let mut capital = String::with_capacity(p.len());
    let mut chars = p.chars();
    if let Some(c) = chars.next() {
        capital.extend(c.to_uppercase());
        capital.push_str(chars.as_str());
    }
    let ascii = base.is_ascii();
    let mut forms = vec![(base, false)];
    for form in [fold_str(&capital), fold_str(&p.to_uppercase())] {
        if !form.is_empty() && !forms.iter().any(|(f, _)| *f == form) {
            let cross = form.is_ascii() != ascii;
            forms.push((form, cross));
        }
    }
    Ok(forms)
}

fn needs_boundary(c: char) -> bool {
    !matches!(c as u32, 0x0E00..=0x0E7F | 0x3040..=0x30FF | 0x3400..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Where the required literals of a gated pattern are searched.
enum Gate {
    /// In the folded view (with the phrases, in the pass that runs anyway).
    Folded(Vec<String>),
    /// In the canonical view, without ASCII case.
    Canonical(Vec<String>),
}

/// The literals of which one must occur for `pattern` to match, when there is a useful set.
///
/// A canonical-view (case-insensitive) pattern is preferably gated on the longest ASCII-letter
/// run of each literal, searched in the folded view: folding lowercases ASCII letters and never
/// changes them otherwise, so such a run in the canonical view is also in the folded view. Else
/// its literals are searched in the canonical view itself, without ASCII case (literals with
/// non-ASCII letters, whose case that search would not fold, are not usable).
fn gate(pattern: &str, canonical: bool) -> Option<Gate> {
    let useful = |l: String| {
        (l.len() >= 3 || l.bytes().any(|b| !b.is_ascii_alphanumeric() && b != b' ')).then_some(l)
    };
    if !canonical {
        return super::literals::required(pattern, &|l| useful(l.to_string())).map(Gate::Folded);
    }
    let letters = |l: &str| {
        let run = l
            .split(|c: char| !c.is_ascii_alphabetic())
            .max_by_key(|w| w.len())?;
        (run.len() >= 3).then(|| run.to_ascii_lowercase())
    };
    if let Some(lits) = super::literals::required(pattern, &letters) {
        return Some(Gate::Folded(lits));
    }
    let raw = |l: &str| {
        if l.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
            return None;
        }
        useful(l.to_ascii_lowercase())
    };
    super::literals::required(pattern, &raw).map(Gate::Canonical)
}

impl Heuristics {
    /// The built-in rules.
    pub fn builtin() -> Result<Self, Error> {
        Self::new(&InjectionConfig::default())
    }

    /// Built-in rules plus those of `config`.
    pub fn new(config: &InjectionConfig) -> Result<Self, Error> {
        let mut defs = Vec::new();
        if !config.no_builtin_rules {
            defs.extend(parse_rules(BUILTIN_RULES, "builtin injection rules")?);
        }
        if let Some(extra) = &config.extra_rules {
            defs.extend(parse_rules(extra, "injection.extra_rules")?);
        }
        if !config.extra_phrases.is_empty() {
            defs.push(RuleDef {
                id: "injection.override".into(),
                score: 0.9,
                description: "Configured injection phrase".into(),
                patterns: vec![],
                canonical: vec![],
                phrases: config.extra_phrases.clone(),
                near: vec![],
                kinds: vec![],
            });
        }
        Self::from_rules(defs)
    }

    /// Compiles a list of rules.
    pub fn from_rules(defs: Vec<RuleDef>) -> Result<Self, Error> {
        use std::collections::BTreeMap;
        let limits = Limits::default();
        let mut rules = Vec::new();
        let (mut fp, mut fr, mut cp, mut cr) = (vec![], vec![], vec![], vec![]);
        let mut gated = Vec::new();
        let mut ascii: BTreeMap<String, Entry> = BTreeMap::new();
        let mut other: BTreeMap<String, Entry> = BTreeMap::new();
        let mut canonical_gates: BTreeMap<String, Entry> = BTreeMap::new();
        let mut near = Vec::new();
        let mut near_ascii: BTreeMap<String, Entry> = BTreeMap::new();
        let mut near_other: BTreeMap<String, Entry> = BTreeMap::new();
        for d in defs {
            let idx = rules.len();
            let views = [(&d.patterns, false), (&d.canonical, true)];
            for (patterns, canonical) in views {
                for p in patterns {
                    // ASCII word boundaries keep the lazy DFA on non-ASCII text; on the folded
                    // view a word character is anything but the one separator, a space.
                    let p = if canonical {
                        p.replace(r"\b", r"(?-u:\b)")
                    } else {
                        rewrite(p)
                    };
                    match gate(&p, canonical) {
                        Some(g) => {
                            let re =
                                matcher::compile("injection", &[p.as_str()], canonical, limits)?;
                            match g {
                                // A literal outside ASCII can only be in text outside ASCII: it
                                // joins the search that runs on such text alone.
                                Gate::Folded(lits) => {
                                    for l in lits {
                                        let set =
                                            if l.is_ascii() { &mut ascii } else { &mut other };
                                        set.entry(l).or_default().gates.push(gated.len());
                                    }
                                }
                                Gate::Canonical(lits) => {
                                    for l in lits {
                                        canonical_gates
                                            .entry(l)
                                            .or_default()
                                            .gates
                                            .push(gated.len());
                                    }
                                }
                            }
                            gated.push(Gated {
                                re,
                                rule: idx,
                                canonical,
                            });
                        }
                        None if canonical => {
                            cp.push(p);
                            cr.push(idx);
                        }
                        None => {
                            fp.push(p);
                            fr.push(idx);
                        }
                    }
                }
            }
            for p in &d.phrases {
                for (folded, capital) in case_forms(p, &d.id, "phrase")? {
                    let boundary = folded.chars().next().is_some_and(needs_boundary);
                    let set = if folded.is_ascii() {
                        &mut ascii
                    } else {
                        &mut other
                    };
                    let e = set.entry(folded).or_default();
                    e.phrase = Some(idx);
                    e.form(boundary, capital);
                }
            }
            for n in &d.near {
                let set_idx = near.len();
                for (g, stems) in n.groups.iter().chain([&n.not]).enumerate() {
                    for stem in stems {
                        for (folded, capital) in case_forms(stem, &d.id, "stem")? {
                            let boundary = folded.chars().next().is_some_and(needs_boundary);
                            let (set, scanned) = if folded.is_ascii() {
                                (&mut near_ascii, &mut ascii)
                            } else {
                                (&mut near_other, &mut other)
                            };
                            if g == 0 {
                                scanned.entry(folded.clone()).or_default().anchor = true;
                            }
                            let e = set.entry(folded).or_default();
                            e.stems.push((set_idx, g, stem.ends_with(' ')));
                            e.form(boundary, capital);
                        }
                    }
                }
                near.push(NearSet {
                    rule: idx,
                    groups: n.groups.len(),
                    within: n.within,
                    anchor: n.anchor,
                    clause: n.clause,
                });
            }
            rules.push(RuleMeta {
                id: d.id,
                score: d.score,
                description: d.description,
                kinds: d.kinds,
            });
        }
        let compile = |ps: &[String], ci: bool| -> Result<Option<Regex>, Error> {
            if ps.is_empty() {
                return Ok(None);
            }
            let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
            matcher::compile("injection", &refs, ci, limits).map(Some)
        };
        Ok(Heuristics {
            rules,
            folded: compile(&fp, false)?.map(|r| (r, fr)),
            canonical: compile(&cp, true)?.map(|r| (r, cr)),
            gated,
            ascii: Literals::build(ascii, false, false)?,
            canonical_gates: Literals::build(canonical_gates, true, false)?,
            other: Literals::build(other, false, false)?,
            near_ascii: Literals::build(near_ascii, false, true)?,
            near_other: Literals::build(near_other, false, true)?,
            near,
        })
    }

    fn finding(
        &self,
        rule: usize,
        layer: &Layer<'_>,
        span: std::ops::Range<usize>,
        quote: &str,
    ) -> Finding {
        let r = &self.rules[rule];
        let shown: String = quote.chars().take(80).collect();
        Finding::new(
            r.id.clone(),
            Category::Injection,
            span,
            r.score,
            Action::Block,
            format!("{}: {shown:?}{}", r.description, layer.describe()),
        )
    }
}

/// What a message quotes: the original bytes of `span`, or for a decoded payload the decoded
/// text (the original bytes are the encoding).
fn quote<'s>(
    layer: &Layer<'_>,
    original: &'s str,
    span: &std::ops::Range<usize>,
    view: &'s str,
    range: std::ops::Range<usize>,
) -> &'s str {
    match layer.origin() {
        crate::text::Origin::Original => original.get(span.clone()).unwrap_or(""),
        _ => &view[range],
    }
}

/// The matches of an anchored DFA in the folded view `s`, walked from every word start and,
/// for scripts written without spaces, from every character.
fn anchored_matches(dfa: &aho_corasick::dfa::DFA, s: &str, out: &mut Vec<aho_corasick::Match>) {
    let Ok(start) = dfa.start_state(Anchored::Yes) else {
        return;
    };
    let b = s.as_bytes();
    let mut walk = |at: usize| {
        let mut sid = start;
        for (i, &byte) in b[at..].iter().enumerate() {
            sid = dfa.next_state(Anchored::Yes, sid, byte);
            if dfa.is_dead(sid) {
                return;
            }
            if dfa.is_match(sid) {
                for k in 0..dfa.match_len(sid) {
                    // A match state also lists the literals that end here but start later
                    // (suffixes of the walked bytes); only those that start at `at` count.
                    let pattern = dfa.match_pattern(sid, k);
                    if dfa.pattern_len(pattern) == i + 1 {
                        out.push(aho_corasick::Match::new(pattern, at..at + i + 1));
                    }
                }
            }
        }
    };
    let mut word_start = true;
    for (i, c) in s.char_indices() {
        if c == ' ' {
            word_start = true;
            continue;
        }
        if word_start || !needs_boundary(c) {
            walk(i);
        }
        word_start = false;
    }
}

/// A stem of a near set found in a folded view.
struct Stem {
    set: usize,
    group: usize,
    range: Range<usize>,
}

/// Characters in `s[a..b]` (0 when `b <= a`).
fn chars_between(s: &str, a: usize, b: usize) -> usize {
    s.get(a..b).map_or(0, |t| t.chars().count())
}

/// Whether `text` holds a clause boundary: a line break, CJK sentence punctuation, or
/// `,` `;` `:` `.` `!` `?` followed by white space.
fn crosses_clause(text: &str) -> bool {
    let b = text.as_bytes();
    text.contains(['\n', '\r', '。', '，', '；', '！', '？', '、'])
        || b.windows(2).any(|w| {
            matches!(w[0], b',' | b';' | b':' | b'.' | b'!' | b'?') && w[1].is_ascii_whitespace()
        })
}

impl Heuristics {
    /// The near sets that `stems` (the stems found in the folded view `s`) complete: for each,
    /// its rule and the span of the first stem of its first group that finds, on the side
    /// its anchor asks for, the nearest stem of every other group within the set's reach, no
    /// negation next to it, and (as `one_clause` tells for a folded range) no clause boundary.
    fn near_matches(
        &self,
        s: &str,
        stems: &mut [Stem],
        one_clause: impl Fn(Range<usize>) -> bool,
    ) -> Vec<(usize, Range<usize>)> {
        let mut found = Vec::new();
        if stems.is_empty() {
            return found;
        }
        stems.sort_by_key(|h| (h.set, h.group, h.range.start));
        for run in stems.chunk_by(|a, b| a.set == b.set) {
            let set = &self.near[run[0].set];
            // The hits of each group (the negations last), sorted by start.
            let mut by_group: Vec<&[Stem]> = vec![&[]; set.groups + 1];
            for hits in run.chunk_by(|a, b| a.group == b.group) {
                by_group[hits[0].group] = hits;
            }
            // The hits of group `g` that start in `from..=to`: only those near an anchor are
            // looked at, so text full of stems costs time in proportion to its length.
            let starting = |g: usize, from: usize, to: usize| {
                let hits = by_group[g];
                let i = hits.partition_point(|h| h.range.start < from);
                hits[i..].iter().take_while(move |h| h.range.start <= to)
            };
            // `within` characters are at most four bytes each.
            let reach = set.within * 4;
            'anchor: for a in by_group[0] {
                let negated = starting(
                    set.groups,
                    a.range.start.saturating_sub(100),
                    a.range.end + 48,
                )
                .any(|n| {
                    (n.range.end <= a.range.start
                        && chars_between(s, n.range.end, a.range.start) <= 10)
                        || (n.range.start >= a.range.end
                            && chars_between(s, a.range.end, n.range.start) <= 12)
                });
                if negated {
                    continue;
                }
                let mut span = a.range.clone();
                for g in 1..set.groups {
                    let nearest =
                        starting(g, a.range.start.saturating_sub(reach), a.range.end + reach)
                            .filter(|h| match set.anchor {
                                Anchor::First => h.range.start > a.range.start,
                                Anchor::Last => h.range.end < a.range.end,
                                Anchor::Any => h.range.start != a.range.start,
                            })
                            .min_by_key(|h| h.range.start.abs_diff(a.range.start));
                    let Some(h) = nearest else {
                        continue 'anchor;
                    };
                    span = span.start.min(h.range.start)..span.end.max(h.range.end);
                }
                if chars_between(s, span.start, span.end) <= set.within
                    && (!set.clause || one_clause(span.clone()))
                {
                    found.push((set.rule, span));
                    break;
                }
            }
        }
        found
    }
}

/// At most this many findings per rule and layer (a repeated phrase is one fact).
const MAX_PER_RULE: usize = 4;

impl Detector for Heuristics {
    fn id(&self) -> &str {
        "injection"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let first = out.len();
        let original = input.text.original();
        let mut triggered = vec![false; self.gated.len()];
        let mut stems: Vec<Stem> = Vec::new();
        let mut matches: Vec<aho_corasick::Match> = Vec::new();
        for layer in input.text.layers() {
            // Spelled-out runs: the folded view of their parent already joins them.
            if layer.spelled()
                || (layer.relayed() && !matches!(layer.origin(), crate::text::Origin::Original))
            {
                continue;
            }
            let mut per_rule = [0u8; 64];
            let mut more: HashMap<usize, usize> = HashMap::new();
            let mut take = |rule: usize| {
                let n = match per_rule.get_mut(rule) {
                    Some(n) => {
                        *n = n.saturating_add(1);
                        usize::from(*n)
                    }
                    None => {
                        let n = more.entry(rule).or_insert(0);
                        *n += 1;
                        *n
                    }
                };
                n <= MAX_PER_RULE
            };
            let layer_first = out.len();
            // `again`: skip the match where this layer already has a finding of the rule over
            // an overlapping span (a near set restating what a phrase or pattern found).
            let mut hit = |rule: usize, view: &View<'_>, range: Range<usize>, again: bool| {
                let kinds = &self.rules[rule].kinds;
                if !kinds.is_empty() && !kinds.contains(&input.kind) {
                    return;
                }
                let span = view.to_original(range.clone());
                if again
                    && out[layer_first..].iter().any(|f| {
                        f.detector == self.rules[rule].id
                            && f.span.start < span.end
                            && span.start < f.span.end
                    })
                {
                    return;
                }
                if take(rule) {
                    let q = quote(layer, original, &span, view.as_str(), range);
                    out.push(self.finding(rule, layer, span, q));
                }
            };
            let folded = layer.folded();
            let canonical = layer.canonical();
            let s = folded.as_str();
            triggered.fill(false);
            if let Some(Literals {
                search: Search::Scan(ac),
                entries,
            }) = &self.canonical_gates
            {
                for m in ac.find_overlapping_iter(canonical.as_str()) {
                    for &g in &entries[m.pattern().as_usize()].gates {
                        triggered[g] = true;
                    }
                }
            }
            // Whether the original text has a capital where a folded range starts.
            let capital_at = |range: Range<usize>| {
                matches!(layer.origin(), crate::text::Origin::Original)
                    && original
                        .get(folded.to_original(range).start..)
                        .and_then(|t| t.chars().next())
                        .is_some_and(char::is_uppercase)
            };
            let sets = [
                (&self.ascii, Some(true)),
                (&self.other, Some(!s.is_ascii())),
                (&self.near_ascii, None),
                (
                    &self.near_other,
                    if s.is_ascii() { Some(false) } else { None },
                ),
            ];
            stems.clear();
            let mut anchored = false;
            for (lits, wanted) in sets {
                // The near stems only where the scan found a stem of a first group.
                let wanted = wanted.unwrap_or(anchored);
                let Some(lits) = lits.as_ref().filter(|_| wanted) else {
                    continue;
                };
                matches.clear();
                match &lits.search {
                    Search::Walk(dfa) => anchored_matches(dfa, s, &mut matches),
                    Search::Scan(ac) => matches.extend(ac.find_overlapping_iter(s)),
                }
                for m in &matches {
                    let entry = &lits.entries[m.pattern().as_usize()];
                    for &g in &entry.gates {
                        triggered[g] = true;
                    }
                    anchored |= entry.anchor;
                    if entry.boundary && m.start() > 0 && s.as_bytes()[m.start() - 1] != b' ' {
                        continue;
                    }
                    if entry.capital == Some(true) && !capital_at(m.range()) {
                        continue;
                    }
                    if let Some(rule) = entry.phrase {
                        hit(rule, folded, m.range(), false);
                    }
                    let ends_word = s.as_bytes().get(m.end()).is_none_or(|&b| b == b' ');
                    for &(set, group, whole) in &entry.stems {
                        if whole && !ends_word {
                            continue;
                        }
                        stems.push(Stem {
                            set,
                            group,
                            range: m.range(),
                        });
                    }
                }
            }
            let one_clause = |range: Range<usize>| match layer.origin() {
                crate::text::Origin::Original => original
                    .get(folded.to_original(range))
                    .is_none_or(|t| !crosses_clause(t)),
                // A decoded payload maps back to its encoding, whose punctuation says nothing.
                _ => true,
            };
            let near = self.near_matches(s, &mut stems, one_clause);
            if let Some((re, map)) = &self.folded {
                for m in re.find_iter(s) {
                    hit(map[m.pattern().as_usize()], folded, m.range(), false);
                }
            }
            for (g, _) in triggered.iter().enumerate().filter(|(_, t)| **t) {
                let gated = &self.gated[g];
                let view = if gated.canonical { canonical } else { folded };
                for m in gated.re.find_iter(view.as_str()) {
                    hit(gated.rule, view, m.range(), false);
                }
            }
            if let Some((re, map)) = &self.canonical {
                for m in re.find_iter(canonical.as_str()) {
                    hit(map[m.pattern().as_usize()], canonical, m.range(), false);
                }
            }
            for (rule, range) in near {
                hit(rule, folded, range, true);
            }
        }
        combine(&mut *out, first);
        Ok(())
    }
}

/// When no single rule reaches 0.5 but several distinct rules fire, their noisy-or becomes an
/// `injection.combined` finding over the union of their spans.
fn combine(out: &mut Vec<Finding>, first: usize) {
    let found = &out[first..];
    if found.is_empty() || found.iter().any(|f| f.score >= 0.5) {
        return;
    }
    let mut best: HashMap<&str, f32> = HashMap::new();
    for f in found {
        let e = best.entry(f.detector.as_ref()).or_insert(0.0);
        *e = e.max(f.score);
    }
    if best.len() < 2 {
        return;
    }
    let score = 1.0 - best.values().fold(1.0, |acc, s| acc * (1.0 - s));
    let start = found.iter().map(|f| f.span.start).min().unwrap_or(0);
    let end = found.iter().map(|f| f.span.end).max().unwrap_or(0);
    let mut ids: Vec<&str> = best.keys().copied().collect();
    ids.sort_unstable();
    let msg = format!(
        "{} weak injection cues together: {}",
        ids.len(),
        ids.join(", ")
    );
    out.push(Finding::new(
        "injection.combined",
        Category::Injection,
        start..end,
        score,
        Action::Block,
        msg,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stem written in another script that folds into plain ASCII (Cyrillic `ші` folds to
    /// `wi`) would match the starts of English words (`with`): the built-in near sets have none.
    #[test]
    fn no_near_stem_of_another_script_folds_into_ascii() {
        let defs = parse_rules(BUILTIN_RULES, "builtin").unwrap();
        let mut bad = Vec::new();
        for d in &defs {
            for n in &d.near {
                for stem in n.groups.iter().flatten().chain(&n.not) {
                    let other_script = stem.chars().any(|c| c.is_alphabetic() && !c.is_ascii())
                        && !stem.chars().any(|c| c.is_ascii_alphabetic());
                    let folded = fold_str(stem);
                    let latin = stem
                        .chars()
                        .filter(|c| c.is_alphabetic())
                        .all(|c| (c as u32) < 0x250);
                    let whole = stem.ends_with(' ');
                    if (other_script && folded.is_ascii() && !latin) || (folded.len() < 2 && !whole)
                    {
                        bad.push(format!("{stem:?} -> {folded:?}"));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "stems that fold into ASCII: {bad:?}");
    }

    /// Every near set of the built-in rules compiles with at least two groups.
    #[test]
    fn near_sets_need_two_groups() {
        let src = r#"
[[rule]]
id = "injection.x"
score = 0.9
[[rule.near]]
groups = [["ignor"]]
"#;
        let err = parse_rules(src, "test").unwrap_err().to_string();
        assert!(err.contains("near.groups"), "{err}");
        let src = r#"
[[rule]]
id = "injection.x"
score = 0.9
[[rule.near]]
within = 0
groups = [["ignor"], ["instruc"]]
"#;
        let err = parse_rules(src, "test").unwrap_err().to_string();
        assert!(err.contains("near.within"), "{err}");
    }
}
