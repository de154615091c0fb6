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

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
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
}

/// Parses a rules file (the format of [`BUILTIN_RULES`]).
pub fn parse_rules(source: &str, file: &str) -> Result<Vec<RuleDef>, Error> {
    crate::config::parse_rule_file(
        source,
        file,
        "injection",
        |r: &RuleDef| &r.id,
        |r| {
            if (0.0..=1.0).contains(&r.score) {
                Ok(())
            } else {
                Err(("score", format!("{} is outside 0..=1", r.score)))
            }
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
    /// A phrase of a rule, and whether it must start a word.
    phrase: Option<(usize, bool)>,
    /// The gated patterns (indexes into `Heuristics::gated`) this literal lets run.
    gates: Vec<usize>,
}

/// One Aho-Corasick automaton over phrases and required literals.
struct Literals {
    ac: AhoCorasick,
    entries: Vec<Entry>,
}

impl Literals {
    fn build(
        map: std::collections::BTreeMap<String, Entry>,
        ascii_case_insensitive: bool,
    ) -> Result<Option<Self>, Error> {
        if map.is_empty() {
            return Ok(None);
        }
        let (keys, entries): (Vec<String>, Vec<Entry>) = map.into_iter().unzip();
        // A full DFA: the fastest scan, and small for these sets.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .ascii_case_insensitive(ascii_case_insensitive)
            .build(&keys)
            .map_err(|e| Error::detector("injection", e.to_string()))?;
        Ok(Some(Literals { ac, entries }))
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
                            let (set, lits) = match g {
                                Gate::Folded(l) => (&mut ascii, l),
                                Gate::Canonical(l) => (&mut canonical_gates, l),
                            };
                            for l in lits {
                                set.entry(l).or_default().gates.push(gated.len());
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
                let folded = fold_str(p);
                if folded.is_empty() {
                    return Err(Error::detector(
                        &d.id,
                        format!("phrase {p:?} folds to nothing"),
                    ));
                }
                let boundary = folded.chars().next().is_some_and(needs_boundary);
                let set = if folded.is_ascii() {
                    &mut ascii
                } else {
                    &mut other
                };
                set.entry(folded).or_default().phrase = Some((idx, boundary));
            }
            rules.push(RuleMeta {
                id: d.id,
                score: d.score,
                description: d.description,
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
            ascii: Literals::build(ascii, false)?,
            canonical_gates: Literals::build(canonical_gates, true)?,
            other: Literals::build(other, false)?,
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
            let mut hit = |rule: usize, view: &View<'_>, range: Range<usize>| {
                if take(rule) {
                    let span = view.to_original(range.clone());
                    let q = quote(layer, original, &span, view.as_str(), range);
                    out.push(self.finding(rule, layer, span, q));
                }
            };
            let folded = layer.folded();
            let canonical = layer.canonical();
            let s = folded.as_str();
            triggered.fill(false);
            if let Some(lits) = &self.canonical_gates {
                for m in lits.ac.find_overlapping_iter(canonical.as_str()) {
                    for &g in &lits.entries[m.pattern().as_usize()].gates {
                        triggered[g] = true;
                    }
                }
            }
            let sets = [(&self.ascii, true), (&self.other, !s.is_ascii())];
            for (lits, wanted) in sets {
                let Some(lits) = lits.as_ref().filter(|_| wanted) else {
                    continue;
                };
                for m in lits.ac.find_overlapping_iter(s) {
                    let entry = &lits.entries[m.pattern().as_usize()];
                    for &g in &entry.gates {
                        triggered[g] = true;
                    }
                    if let Some((rule, boundary)) = entry.phrase {
                        if boundary && m.start() > 0 && s.as_bytes()[m.start() - 1] != b' ' {
                            continue;
                        }
                        hit(rule, folded, m.range());
                    }
                }
            }
            if let Some((re, map)) = &self.folded {
                for m in re.find_iter(s) {
                    hit(map[m.pattern().as_usize()], folded, m.range());
                }
            }
            for (g, _) in triggered.iter().enumerate().filter(|(_, t)| **t) {
                let gated = &self.gated[g];
                let view = if gated.canonical { canonical } else { folded };
                for m in gated.re.find_iter(view.as_str()) {
                    hit(gated.rule, view, m.range());
                }
            }
            if let Some((re, map)) = &self.canonical {
                for m in re.find_iter(canonical.as_str()) {
                    hit(map[m.pattern().as_usize()], canonical, m.range());
                }
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
