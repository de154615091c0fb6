//! Personal data: recognizers with check digits and context words, allow and deny lists, and
//! the operators that redact, mask, hash or pseudonymize what they find.
//!
//! Findings are `pii.<entity>` (see [`Entity`]); their replacement is the operator's output,
//! so a `Redact` verdict's text carries placeholders, masks or keyed hashes instead of the
//! values. With `pseudonymize` (the default) a [`Vault`] keeps, per session, the same
//! placeholder for the same value across turns (`<PERSON_1> ... <EMAIL_1> ... <PERSON_1>`) and
//! puts values back in answers ([`Pipeline::restore`](crate::Pipeline::restore)).

mod checksum;
mod entity;
mod national;
mod person;
mod place;
mod recognize;
mod stack;
mod vault;
mod words;
mod wordset;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use entity::Entity;
pub use national::NationalIds;
pub use vault::Vault;

use self::recognize::{Candidate, ContextWords, Scan};
use super::{Detector, Input};
use crate::error::{DetectorError, Error};
use crate::text::Origin;
use crate::verdict::{Action, Category, Finding};

/// What replaces a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `<EMAIL_1>`, numbered per check (not restorable).
    Replace,
    /// `<EMAIL_1>`, the same per session and value, restorable from the vault.
    #[default]
    Pseudonymize,
    /// The last `mask_keep` letters and digits kept, the others `*`, separators kept.
    Mask,
    /// `<EMAIL:4f1c…>`: HMAC-SHA256 of the value under `hash_key` (16 hex digits), stable across
    /// sessions, not reversible without the key.
    Hash,
}

/// `[pii]` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PiiConfig {
    /// Entity names to recognize (default: all but `url`, see [`Entity::name`]).
    pub entities: Vec<String>,
    /// Bytes before a value searched for its context words. Default 48.
    pub context_window: usize,
    /// The operator for every entity without its own. Default `pseudonymize`.
    pub operator: Operator,
    /// Operators per entity name.
    pub operators: BTreeMap<String, Operator>,
    /// Characters `mask` keeps visible. Default 4.
    pub mask_keep: usize,
    /// The HMAC key of `hash`, in hex (at least 32 hex digits); required when `hash` is used.
    pub hash_key: Option<String>,
    /// Values never reported, per entity name (exact, or with separators removed).
    pub allow: BTreeMap<String, Vec<String>>,
    /// Whole-value regexes of values never reported, per entity name.
    pub allow_patterns: BTreeMap<String, Vec<String>>,
    /// Values always reported as that entity (exact, case-insensitive), per entity name.
    pub deny: BTreeMap<String, Vec<String>>,
    /// Regexes always reported as that entity, per entity name.
    pub deny_patterns: BTreeMap<String, Vec<String>>,
    /// Values one session's vault holds at most. Default 10,000.
    pub vault_max_entries: usize,
    /// Sessions the vault holds at most (the least recently used is forgotten). Default 10,000.
    pub vault_max_sessions: usize,
    /// Seconds a session's pseudonyms live after their last use. Default 86,400.
    pub vault_ttl_secs: u64,
    /// Put pseudonymized values back into `check_output` text. Default `true`.
    pub restore_output: bool,
    /// Built-in national identifier types to recognize (`national_id` entity), by id
    /// (`cl_rut`, `tr_tckimlik`, ...). Default: every type of the table.
    pub national_ids: Vec<String>,
    /// More identifier types (always recognized), as a TOML table in the format of the
    /// built-in `national_ids.toml` (`[[id]]` with `context`, `format` and `[[id.check]]`).
    pub extra_national_ids: String,
}

impl Default for PiiConfig {
    fn default() -> Self {
        PiiConfig {
            entities: Vec::new(),
            context_window: 48,
            operator: Operator::Pseudonymize,
            operators: BTreeMap::new(),
            mask_keep: 4,
            hash_key: None,
            allow: BTreeMap::new(),
            allow_patterns: BTreeMap::new(),
            deny: BTreeMap::new(),
            deny_patterns: BTreeMap::new(),
            vault_max_entries: 10_000,
            vault_max_sessions: 10_000,
            vault_ttl_secs: 86_400,
            restore_output: true,
            national_ids: Vec::new(),
            extra_national_ids: String::new(),
        }
    }
}

/// The PII detector (`pii`).
pub struct Pii {
    enabled: [bool; Entity::COUNT],
    window: usize,
    ops: Arc<Ops>,
    allow: HashMap<(Entity, String), ()>,
    allow_patterns: Vec<(Entity, Regex)>,
    deny: Vec<(Entity, String)>,
    deny_patterns: Vec<(Entity, Regex)>,
    restore_output: bool,
    words: ContextWords,
    national: Option<Arc<NationalIds>>,
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pii")
            .field("operators", &self.ops.operators)
            .finish_non_exhaustive()
    }
}

fn compact(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_alphanumeric() || *c == '@' || *c == '.')
        .collect()
}

fn whole_regex(p: &str, field: &str) -> Result<Regex, Error> {
    if p.len() > 1024 {
        return Err(Error::detector(
            "pii",
            format!("{field}: pattern longer than 1024 bytes"),
        ));
    }
    Regex::builder()
        .configure(Regex::config().nfa_size_limit(Some(1 << 20)))
        .build(&format!(r"\A(?:{p})\z"))
        .map_err(|e| Error::detector("pii", format!("{field}: {e}")))
}

impl Pii {
    /// All recognizers, pseudonymizing into a fresh vault.
    pub fn builtin() -> Result<Pii, Error> {
        Pii::new(&PiiConfig::default())
    }

    /// The detector described by `config`, with its own vault.
    pub fn new(config: &PiiConfig) -> Result<Pii, Error> {
        let vault = Arc::new(Vault::new(
            config.vault_max_entries,
            std::time::Duration::from_secs(config.vault_ttl_secs),
            config.vault_max_sessions,
        ));
        Pii::with_vault(config, vault)
    }

    /// The detector described by `config`, pseudonymizing into `vault`.
    pub fn with_vault(config: &PiiConfig, vault: Arc<Vault>) -> Result<Pii, Error> {
        let entity = |name: &str, field: &str| {
            Entity::parse(name).ok_or_else(|| {
                Error::detector(
                    "pii",
                    format!(
                        "{field}: unknown entity {name:?}; known: {}",
                        Entity::ALL.map(Entity::name).join(", ")
                    ),
                )
            })
        };
        let mut enabled = [config.entities.is_empty(); Entity::COUNT];
        // Web addresses are everywhere in prompts: only when asked for.
        enabled[Entity::Url as usize] = false;
        for (i, name) in config.entities.iter().enumerate() {
            enabled[entity(name, &format!("pii.entities[{i}]"))? as usize] = true;
        }
        let mut operators = [config.operator; Entity::COUNT];
        for (name, op) in &config.operators {
            operators[entity(name, "pii.operators")? as usize] = *op;
        }
        let hash_key = match &config.hash_key {
            None => None,
            Some(hex) => {
                let bytes = crate::tools::unhex(hex)
                    .filter(|b| b.len() >= 16)
                    .ok_or_else(|| {
                        Error::detector("pii", "pii.hash_key: at least 32 hex digits")
                    })?;
                Some(bytes)
            }
        };
        if hash_key.is_none() && operators.contains(&Operator::Hash) {
            return Err(Error::detector(
                "pii",
                "the hash operator needs pii.hash_key (a secret of at least 32 hex digits): an unkeyed hash of a phone number or SSN is reversible by trying every value",
            ));
        }
        if config.context_window > 1024 {
            return Err(Error::detector("pii", "pii.context_window: at most 1024"));
        }
        let mut allow = HashMap::new();
        for (name, values) in &config.allow {
            let e = entity(name, "pii.allow")?;
            for v in values {
                allow.insert((e, v.clone()), ());
                allow.insert((e, compact(v)), ());
            }
        }
        let mut allow_patterns = Vec::new();
        for (name, list) in &config.allow_patterns {
            let e = entity(name, "pii.allow_patterns")?;
            for p in list {
                allow_patterns.push((e, whole_regex(p, "pii.allow_patterns")?));
            }
        }
        let mut deny = Vec::new();
        for (name, values) in &config.deny {
            let e = entity(name, "pii.deny")?;
            for v in values.iter().filter(|v| !v.is_empty()) {
                deny.push((e, v.to_lowercase()));
            }
        }
        let mut deny_patterns = Vec::new();
        for (name, list) in &config.deny_patterns {
            let e = entity(name, "pii.deny_patterns")?;
            for p in list {
                let re = Regex::builder()
                    .configure(Regex::config().nfa_size_limit(Some(1 << 20)))
                    .build(p)
                    .map_err(|err| Error::detector("pii", format!("pii.deny_patterns: {err}")))?;
                deny_patterns.push((e, re));
            }
        }
        Ok(Pii {
            enabled,
            window: config.context_window,
            ops: Arc::new(Ops {
                operators,
                mask_keep: config.mask_keep,
                hash_key,
                vault,
            }),
            allow,
            allow_patterns,
            deny,
            deny_patterns,
            restore_output: config.restore_output,
            national: if !enabled[Entity::NationalId as usize] {
                None
            } else if config.national_ids.is_empty() && config.extra_national_ids.trim().is_empty()
            {
                Some(Arc::new(NationalIds::new(&[], "")?))
            } else {
                Some(Arc::new(NationalIds::new(
                    &config.national_ids,
                    &config.extra_national_ids,
                )?))
            },
            words: {
                person::warm_up();
                place::warm_up();
                ContextWords::new()
            },
        })
    }

    /// The vault it pseudonymizes into.
    pub fn vault(&self) -> &Arc<Vault> {
        &self.ops.vault
    }

    /// Whether `check_output` should put pseudonymized values back.
    pub fn restores_output(&self) -> bool {
        self.restore_output
    }

    /// The recognized values of `text` (no operators): entity, byte range, score.
    pub fn recognize(&self, text: &str) -> Vec<(Entity, std::ops::Range<usize>, f32)> {
        self.candidates(text)
            .into_iter()
            .map(|c| (c.entity, c.range, c.score))
            .collect()
    }

    fn allowed(&self, e: Entity, v: &str) -> bool {
        (!self.allow.is_empty()
            && (self.allow.contains_key(&(e, v.to_owned()))
                || self.allow.contains_key(&(e, compact(v)))))
            || self
                .allow_patterns
                .iter()
                .any(|(pe, re)| *pe == e && re.is_match(v))
    }

    fn candidates(&self, s: &str) -> Vec<Candidate> {
        // About one candidate per 128 bytes of dense text: most texts need no regrowth.
        let mut out = Vec::with_capacity(s.len() / 128 + 8);
        Scan {
            window: self.window,
            enabled: &self.enabled,
            words: &self.words,
            cache: std::cell::Cell::new((usize::MAX, 0)),
        }
        .run(s, &mut out);
        let mut unsorted = false;
        if let Some(table) = &self.national {
            let mut found = Vec::new();
            table.find(s, &mut found);
            unsorted = !found.is_empty();
            out.extend(found.into_iter().map(|(range, detail)| Candidate {
                entity: Entity::NationalId,
                range,
                score: 0.95,
                detail,
            }));
        }
        if !self.deny.is_empty() || !self.deny_patterns.is_empty() {
            unsorted = true;
            let lower = s.to_lowercase();
            if lower.len() == s.len() {
                for (e, v) in &self.deny {
                    for (k, _) in lower.match_indices(v.as_str()) {
                        out.push(Candidate {
                            entity: *e,
                            range: k..k + v.len(),
                            score: 1.0,
                            detail: 0,
                        });
                    }
                }
            }
            for (e, re) in &self.deny_patterns {
                for m in re.find_iter(s) {
                    if !m.is_empty() {
                        out.push(Candidate {
                            entity: *e,
                            range: m.range(),
                            score: 1.0,
                            detail: 0,
                        });
                    }
                }
            }
        }
        if unsorted {
            out.sort_by_key(|c| (c.range.start, std::cmp::Reverse(c.range.end)));
        }
        out.retain(|c| !self.allowed(c.entity, &s[c.range.clone()]));
        // Overlaps: the higher score wins, then the longer span.
        let mut kept: Vec<Candidate> = Vec::with_capacity(out.len());
        for c in out {
            match kept.last_mut() {
                Some(last) if c.range.start < last.range.end => {
                    let better = c.score > last.score
                        || (c.score == last.score && c.range.len() > last.range.len());
                    if better {
                        *last = c;
                    }
                }
                _ => kept.push(c),
            }
        }
        kept
    }
}

/// The operators of a [`Pii`] detector: what replaces a value.
pub(crate) struct Ops {
    operators: [Operator; Entity::COUNT],
    mask_keep: usize,
    hash_key: Option<Vec<u8>>,
    vault: Arc<Vault>,
}

/// Placeholder numbers of `replace` (and of `pseudonymize` without a session), per check or,
/// for a stream, per answer.
#[derive(Default)]
pub(crate) struct Numbering {
    map: HashMap<(Entity, String), usize>,
    counts: [usize; Entity::COUNT],
}

/// A value found while a stream checks a window: its replacement is chosen only when the
/// stream releases it, so values in text still held back leave no trace in the numbering or
/// the vault.
pub(crate) struct DeferredPii {
    pub(crate) span: std::ops::Range<usize>,
    pub(crate) entity: Entity,
    pub(crate) value: String,
    head: String,
    from: String,
    ops: Arc<Ops>,
}

impl DeferredPii {
    /// The replacement and the finding's message, numbered in `numbering`.
    pub(crate) fn resolve(
        &self,
        session: Option<&str>,
        numbering: &mut Numbering,
    ) -> (String, String) {
        let r = self
            .ops
            .replacement(self.entity, &self.value, session, numbering);
        let message = message(&self.head, &r, &self.from);
        (r, message)
    }
}

impl Ops {
    /// What replaces `value` of `entity` (`numbering` numbers values within one check).
    pub(crate) fn replacement(
        &self,
        entity: Entity,
        value: &str,
        session: Option<&str>,
        numbering: &mut Numbering,
    ) -> String {
        let numbered = |numbering: &mut Numbering| {
            let next = numbering.counts[entity as usize] + 1;
            let n = *numbering
                .map
                .entry((entity, value.to_owned()))
                .or_insert_with(|| next);
            if n == next {
                numbering.counts[entity as usize] = next;
            }
            format!("<{}_{n}>", entity.tag())
        };
        match self.operators[entity as usize] {
            Operator::Pseudonymize => match session {
                Some(s) => self
                    .vault
                    .pseudonym(s, entity, value)
                    .unwrap_or_else(|| format!("<{}>", entity.tag())),
                None => numbered(numbering),
            },
            Operator::Replace => numbered(numbering),
            Operator::Mask => {
                let total = value.chars().filter(|c| c.is_alphanumeric()).count();
                let keep_from = total.saturating_sub(self.mask_keep);
                let mut seen = 0;
                value
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() {
                            seen += 1;
                            if seen > keep_from { c } else { '*' }
                        } else {
                            c
                        }
                    })
                    .collect()
            }
            Operator::Hash => {
                let key = self.hash_key.as_deref().unwrap_or_default();
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                    return format!("<{}>", entity.tag());
                };
                mac.update(entity.tag().as_bytes());
                mac.update(&[0]);
                mac.update(value.as_bytes());
                let tag = mac.finalize().into_bytes();
                let hex: String = tag[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("<{}:{hex}>", entity.tag())
            }
        }
    }
}

impl Detector for Pii {
    fn id(&self) -> &str {
        "pii"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let original = input.text.original();
        let session = input.context.session.as_deref();
        let mut numbering = Numbering::default();
        let mut seen: Vec<std::ops::Range<usize>> = Vec::new();
        // Findings waiting for their replacement: the vault is asked once, for all of them.
        let mut pending: Vec<Pending<'_>> = Vec::new();
        for layer in input.text.layers() {
            if layer.relayed() && !matches!(layer.origin(), Origin::Original) {
                continue;
            }
            let view = layer.canonical();
            let s = view.as_str();
            let candidates = self.candidates(s);
            pending.reserve(candidates.len());
            seen.reserve(candidates.len());
            out.reserve(candidates.len());
            for c in candidates {
                let span = view.to_original(c.range.clone());
                // `seen` holds disjoint spans sorted by start (so also by end).
                let at = match seen.last() {
                    // The first layer's spans come in order: they append.
                    Some(last) if last.end <= span.start => seen.len(),
                    _ => seen.partition_point(|r| r.end <= span.start),
                };
                if span.is_empty() || seen.get(at).is_some_and(|r| r.start < span.end) {
                    continue;
                }
                seen.insert(at, span.clone());
                let value = &s[c.range.clone()];
                let from: Cow<'static, str> = match layer.origin() {
                    Origin::Original if &original[span.clone()] == value => "".into(),
                    Origin::Original => " (after normalization)".into(),
                    _ => layer.describe().into(),
                };
                let head: Cow<'static, str> = match (c.entity, &self.national) {
                    (Entity::NationalId, Some(t)) => {
                        format!("{} (check digit valid)", t.name_at(c.detail)).into()
                    }
                    _ => describe(c.entity).into(),
                };
                let p = Pending {
                    span,
                    score: c.score,
                    entity: c.entity,
                    value,
                    head,
                    from,
                };
                if let Some(d) = input.deferred {
                    out.push(p.finding(String::new()));
                    d.pii.borrow_mut().push(DeferredPii {
                        span: p.span,
                        entity: p.entity,
                        value: p.value.to_owned(),
                        head: p.head.into_owned(),
                        from: p.from.into_owned(),
                        ops: Arc::clone(&self.ops),
                    });
                    continue;
                }
                pending.push(p);
            }
        }
        let vaulted = |e: Entity| self.ops.operators[e as usize] == Operator::Pseudonymize;
        let mut pseudonyms = match session {
            Some(s) => self.ops.vault.pseudonyms(
                s,
                pending
                    .iter()
                    .filter(|p| vaulted(p.entity))
                    .map(|p| (p.entity, p.value)),
            ),
            None => Vec::new(),
        }
        .into_iter();
        for p in pending {
            let replacement = if session.is_some() && vaulted(p.entity) {
                // A full session's values get the bare tag.
                pseudonyms
                    .next()
                    .flatten()
                    .unwrap_or_else(|| format!("<{}>", p.entity.tag()))
            } else {
                self.ops
                    .replacement(p.entity, p.value, session, &mut numbering)
            };
            let message = message(&p.head, &replacement, &p.from);
            out.push(p.finding(message).with_replacement(replacement));
        }
        Ok(())
    }
}

/// A finding waiting for its replacement (smaller than the finding it becomes).
struct Pending<'a> {
    span: std::ops::Range<usize>,
    score: f32,
    entity: Entity,
    value: &'a str,
    head: Cow<'static, str>,
    from: Cow<'static, str>,
}

impl Pending<'_> {
    fn finding(&self, message: String) -> Finding {
        Finding::new(
            self.entity.id(),
            Category::Pii,
            self.span.clone(),
            self.score,
            Action::Redact,
            message,
        )
    }
}

/// A finding's message: `head → replacement` and where the value was found.
fn message(head: &str, replacement: &str, from: &str) -> String {
    let mut m = String::with_capacity(head.len() + replacement.len() + from.len() + 5);
    m.push_str(head);
    m.push_str(" → ");
    m.push_str(replacement);
    m.push_str(from);
    m
}

fn describe(e: Entity) -> &'static str {
    match e {
        Entity::Email => "email address",
        Entity::CreditCard => "payment card number (Luhn-valid)",
        Entity::UsSsn => "US Social Security number",
        Entity::CaSin => "Canadian Social Insurance Number (Luhn-valid)",
        Entity::Iban => "IBAN (mod-97 valid)",
        Entity::SwiftBic => "SWIFT/BIC code",
        Entity::Phone => "phone number",
        Entity::IpAddress => "IP address",
        Entity::MacAddress => "MAC address",
        Entity::UrlCredentials => "password in a URL",
        Entity::CryptoWallet => "cryptocurrency address",
        Entity::DateOfBirth => "date of birth",
        Entity::Passport => "passport number",
        Entity::DriversLicense => "driver's licence number",
        Entity::UkNhs => "NHS number (mod-11 valid)",
        Entity::UkNino => "UK National Insurance number",
        Entity::Person => "person name",
        Entity::Url => "web address",
        Entity::NationalId => "national or tax identifier (check digit valid)",
        Entity::Location => "location",
    }
}
