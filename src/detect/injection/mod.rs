//! Prompt-injection heuristics: multilingual phrase lists (aho-corasick) and patterns
//! (regex-automata) over the normalized views, so homoglyphs, invisible characters, leetspeak,
//! letter spacing and encoded payloads do not hide an attack.
//!
//! The rules are data (`rules.toml` beside this file, compiled into the crate); more rules can be
//! added from configuration in the same format. Findings carry the rule id (`injection.override`,
//! `injection.prompt_extraction`, `injection.template_token`, `injection.role_spoof`,
//! `injection.addressed_to_ai`, `injection.jailbreak`, `injection.exfiltration`, weak cues, and
//! `injection.combined` when several weak cues add up).

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
}

/// Parses a rules file (the format of [`BUILTIN_RULES`]).
pub fn parse_rules(source: &str, file: &str) -> Result<Vec<RuleDef>, Error> {
    let parsed: RuleFile =
        toml::from_str(source).map_err(|e| crate::config::toml_error(file, source, &e))?;
    for (i, r) in parsed.rule.iter().enumerate() {
        let field = format!("rule[{i}]");
        if !r.id.starts_with("injection.") || r.id.len() <= "injection.".len() {
            return Err(Error::Config {
                file: file.into(),
                line: None,
                field: format!("{field}.id"),
                message: format!("{:?} must be `injection.<name>`", r.id),
            });
        }
        if !(0.0..=1.0).contains(&r.score) {
            return Err(Error::Config {
                file: file.into(),
                line: None,
                field: format!("{field}.score"),
                message: format!("{} is outside 0..=1", r.score),
            });
        }
    }
    Ok(parsed.rule)
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
    folded: Option<(Regex, Vec<usize>)>,
    canonical: Option<(Regex, Vec<usize>)>,
    phrases: Option<(AhoCorasick, Vec<(usize, bool)>)>,
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
        let mut rules = Vec::new();
        let (mut fp, mut fr, mut cp, mut cr, mut ph, mut pr) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for d in defs {
            let idx = rules.len();
            for p in &d.patterns {
                fp.push(rewrite(p));
                fr.push(idx);
            }
            for p in &d.canonical {
                // ASCII word boundaries keep the lazy DFA on non-ASCII text.
                cp.push(p.replace(r"\b", r"(?-u:\b)"));
                cr.push(idx);
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
                ph.push(folded);
                pr.push((idx, boundary));
            }
            rules.push(RuleMeta {
                id: d.id,
                score: d.score,
                description: d.description,
            });
        }
        let limits = Limits::default();
        let compile = |ps: &[String], ci: bool| -> Result<Option<Regex>, Error> {
            if ps.is_empty() {
                return Ok(None);
            }
            let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
            matcher::compile("injection", &refs, ci, limits).map(Some)
        };
        let folded = compile(&fp, false)?.map(|r| (r, fr));
        let canonical = compile(&cp, true)?.map(|r| (r, cr));
        let phrases = if ph.is_empty() {
            None
        } else {
            // A full DFA: a few hundred KiB for the built-in phrases, and the fastest scan.
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&ph)
                .map_err(|e| Error::detector("injection", e.to_string()))?;
            Some((ac, pr))
        };
        Ok(Heuristics {
            rules,
            folded,
            canonical,
            phrases,
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
        for layer in input.text.layers() {
            let mut per_rule: HashMap<usize, usize> = HashMap::new();
            let mut take = |rule: usize| {
                let n = per_rule.entry(rule).or_insert(0);
                *n += 1;
                *n <= MAX_PER_RULE
            };
            let mut hit = |rule: usize, view: &View<'_>, range: Range<usize>| {
                if take(rule) {
                    let span = view.to_original(range.clone());
                    let q = quote(layer, original, &span, view.as_str(), range);
                    out.push(self.finding(rule, layer, span, q));
                }
            };
            if self.folded.is_some() || self.phrases.is_some() {
                let view = layer.folded();
                let s = view.as_str();
                if let Some((re, map)) = &self.folded {
                    for m in re.find_iter(s) {
                        hit(map[m.pattern().as_usize()], view, m.range());
                    }
                }
                if let Some((ac, map)) = &self.phrases {
                    for m in ac.find_overlapping_iter(s) {
                        let (rule, boundary) = map[m.pattern().as_usize()];
                        if boundary && m.start() > 0 && s.as_bytes()[m.start() - 1] != b' ' {
                            continue;
                        }
                        hit(rule, view, m.range());
                    }
                }
            }
            if let Some((re, map)) = &self.canonical {
                let view = layer.canonical();
                for m in re.find_iter(view.as_str()) {
                    hit(map[m.pattern().as_usize()], view, m.range());
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
