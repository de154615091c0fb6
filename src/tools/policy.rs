//! The tool policy file and the decision for one call.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use regex_automata::meta::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::egress::{EmailRule, UrlRule};
use super::expr::Expr;
use super::path::Roots;
use crate::config::{line_of, toml_error};
use crate::context::Context;
use crate::error::Error;
use crate::verdict::{Action, Category, Finding};

/// Whether arguments a tool does not declare are refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unknown {
    #[default]
    Deny,
    Allow,
}

/// Whose calls a limit counts together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scope {
    Session,
    User,
    Agent,
    Global,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ArgType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Email,
    Url,
    Path,
    Any,
}

impl ArgType {
    fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Number => "number",
            ArgType::Boolean => "boolean",
            ArgType::Array => "array",
            ArgType::Object => "object",
            ArgType::Email => "email",
            ArgType::Url => "url",
            ArgType::Path => "path",
            ArgType::Any => "any",
        }
    }

    fn stringy(self) -> bool {
        matches!(
            self,
            ArgType::String | ArgType::Email | ArgType::Url | ArgType::Path
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    tools: BTreeMap<String, ToolSpec>,
    #[serde(default)]
    limits: Vec<LimitSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Defaults {
    unknown_arguments: Unknown,
    approval_ttl: Option<String>,
    request_ttl: Option<String>,
    max_tracked: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ApprovalSpec {
    Always(bool),
    When(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    agents: Option<Vec<String>>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    args: BTreeMap<String, ArgSpec>,
    #[serde(default)]
    unknown_arguments: Option<Unknown>,
    #[serde(default)]
    approval: Option<ApprovalSpec>,
    #[serde(default)]
    limits: Vec<LimitSpec>,
    #[serde(default)]
    budgets: Vec<BudgetSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgSpec {
    #[serde(rename = "type")]
    ty: ArgType,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "enum")]
    one_of: Option<Vec<toml::Value>>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    min_length: Option<usize>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    roots: Option<Vec<String>>,
    #[serde(default)]
    follow_symlinks: Option<bool>,
    #[serde(default)]
    schemes: Option<Vec<String>>,
    #[serde(default)]
    hosts: Option<Vec<String>>,
    #[serde(default)]
    ports: Option<Vec<u16>>,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    scan: Option<Vec<String>>,
    #[serde(default)]
    scan_action: Option<Action>,
    #[serde(default)]
    items: Option<Box<ArgSpec>>,
    #[serde(default)]
    min_items: Option<usize>,
    #[serde(default)]
    max_items: Option<usize>,
    #[serde(default)]
    args: Option<BTreeMap<String, ArgSpec>>,
    #[serde(default)]
    unknown_arguments: Option<Unknown>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitSpec {
    per: Scope,
    calls: u32,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetSpec {
    per: Scope,
    argument: String,
    max: f64,
    window: String,
}

/// A compiled limit: calls, or the sum of a numeric argument, per scope and window.
#[derive(Clone, Debug)]
pub(crate) struct Limit {
    pub(crate) id: u32,
    pub(crate) rule: String,
    scope: Scope,
    pub(crate) max: f64,
    pub(crate) window_ms: u64,
    /// `None`: count calls; `Some(path)`: sum this argument.
    amount: Option<Vec<String>>,
}

impl Limit {
    fn key(&self, ctx: &Context, tool: &str) -> String {
        let who = match self.scope {
            Scope::Session => ctx.session.as_deref(),
            Scope::User => ctx.user.as_deref(),
            Scope::Agent => ctx.agent.as_deref(),
            Scope::Global => Some(""),
        };
        // Calls without the scope's id share one bucket (conservative).
        format!("{tool}\u{0}{}", who.unwrap_or("\u{0}anonymous"))
    }

    fn describe(&self) -> String {
        let what = match &self.amount {
            None => format!("{} calls", self.max),
            Some(p) => format!("{} of `{}`", self.max, p.join(".")),
        };
        format!(
            "{what} per {:?} per {}",
            self.scope,
            show_ms(self.window_ms)
        )
        .to_lowercase()
    }
}

pub(crate) fn show_ms(ms: u64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h`, `7d`.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    parse_duration_max(s, 366 * 86_400_000)
}

/// Parses a duration of at most `max_ms`.
pub(crate) fn parse_duration_max(s: &str, max_ms: u64) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} needs a unit (ms, s, m, h, d)"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration"))?;
    let mul = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
    };
    let ms = n
        .checked_mul(mul)
        .filter(|&ms| ms > 0 && ms <= max_ms)
        .ok_or_else(|| format!("{s:?} must be between 1ms and {}", show_ms(max_ms)))?;
    Ok(ms)
}

#[derive(Debug)]
struct Who {
    roles: Option<Vec<String>>,
    agents: Option<Vec<String>>,
    users: Option<Vec<String>>,
}

#[derive(Debug)]
pub(crate) struct Arg {
    rule: String,
    ty: ArgType,
    one_of: Option<Vec<Value>>,
    min: Option<f64>,
    max: Option<f64>,
    min_len: Option<usize>,
    max_len: Option<usize>,
    pattern: Option<(Regex, String)>,
    kind: Kind,
    scan: Vec<String>,
    scan_action: Action,
    description: Option<String>,
}

#[derive(Debug)]
enum Kind {
    Plain,
    Path(Roots),
    Url(UrlRule),
    Email(EmailRule),
    Array {
        items: Option<Box<Arg>>,
        min_items: Option<usize>,
        max_items: Option<usize>,
    },
    Object(Obj),
}

#[derive(Debug)]
struct Field {
    name: String,
    required: bool,
    arg: Arg,
}

#[derive(Debug)]
struct Obj {
    fields: Vec<Field>,
    unknown: Unknown,
    rule: String,
}

#[derive(Debug)]
struct ApprovalRule {
    rule: String,
    when: Option<(Expr, String)>,
}

#[derive(Debug)]
pub(crate) struct Tool {
    name: String,
    rule: std::sync::Arc<str>,
    description: Option<String>,
    who: Who,
    args: Obj,
    approval: Option<ApprovalRule>,
    limits: Vec<Limit>,
}

/// A validated tool policy: which tools exist, who may call them, with which arguments, under
/// which approvals and limits. Everything else is denied.
///
/// ```
/// use palisade::tools::ToolPolicy;
/// let policy = ToolPolicy::from_toml(r#"
///     [tools.search_docs]
///     roles = ["*"]
///     args.query = { type = "string", required = true, max_length = 500 }
///
///     [tools.send_email]
///     roles = ["support-agent"]
///     approval = "len(to) > 1"
///     args.to = { type = "array", required = true, max_items = 5, items = { type = "email", domains = ["example.com"] } }
///     args.body = { type = "string", max_length = 10000, scan = ["secret"] }
///     [[tools.send_email.limits]]
///     per = "session"
///     calls = 5
///     window = "1h"
/// "#, "policy.toml")?;
/// assert_eq!(policy.tool_names(), ["search_docs", "send_email"]);
/// # Ok::<(), palisade::Error>(())
/// ```
#[derive(Debug)]
pub struct ToolPolicy {
    file: String,
    tools: HashMap<String, Tool, Fnv>,
    /// (skeleton of the lowercased name, name) for look-alike hints.
    lookalikes: Vec<(String, String)>,
    global: Vec<Limit>,
    pub(crate) approval_ttl_ms: u64,
    pub(crate) request_ttl_ms: u64,
    pub(crate) max_tracked: usize,
    scans: Vec<String>,
}

/// FNV-1a for lookups in fixed sets (tool names, name lists): the keys are our own, so there is
/// nothing for an attacker to flood, and it is several times cheaper than SipHash on short keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

pub(crate) struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Detector families an argument may be scanned with.
pub const SCANNABLE: &[&str] = &["secret", "pii", "injection", "banned"];

fn skeleton(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| crate::text::chars::hidden(*c).is_none())
        .flat_map(char::to_lowercase)
        .collect();
    unicode_security::skeleton(&cleaned)
        .flat_map(char::to_lowercase)
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .collect()
}

struct Loader<'a> {
    file: &'a str,
    source: &'a str,
    next_limit: u32,
    scans: Vec<String>,
}

impl Loader<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Config {
            file: self.file.to_owned(),
            line: self.line(field),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The line of the most specific key of `field` (`tools.x.args.p.roots`) found after the
    /// tool's table header.
    fn line(&self, field: &str) -> Option<usize> {
        let segs: Vec<&str> = field
            .split('.')
            .map(|s| s.split('[').next().unwrap_or(s))
            .collect();
        let lines: Vec<&str> = self.source.lines().collect();
        let start = match segs.as_slice() {
            ["tools", name, ..] => lines
                .iter()
                .position(|l| {
                    let l = l.trim_start();
                    l.starts_with(&format!("[tools.{name}"))
                        || l.starts_with(&format!("[[tools.{name}"))
                        || l.starts_with(&format!("[tools.\"{name}\""))
                })
                .unwrap_or(0),
            _ => 0,
        };
        let is_key = |l: &str, k: &str| {
            let l = l.trim_start();
            l.starts_with(&format!("{k} "))
                || l.starts_with(&format!("{k}="))
                || l.starts_with(&format!("{k}."))
                || l.contains(&format!(".{k} ="))
                || l.contains(&format!(" {k} ="))
                || l.contains(&format!("{{{k} ="))
        };
        for seg in segs.iter().skip(2).rev() {
            if let Some(i) = lines[start..].iter().position(|l| is_key(l, seg)) {
                return Some(start + i + 1);
            }
        }
        line_of(self.source, field).or((start > 0 || !lines.is_empty()).then_some(start + 1))
    }

    fn limit(
        &mut self,
        rule: String,
        scope: Scope,
        max: f64,
        window: &str,
        amount: Option<Vec<String>>,
    ) -> Result<Limit, Error> {
        let window_ms =
            parse_duration(window).map_err(|m| self.err(&format!("{rule}.window"), m))?;
        if !(max.is_finite() && max >= 0.0) {
            return Err(self.err(&rule, "the maximum must be a finite number >= 0"));
        }
        self.next_limit += 1;
        Ok(Limit {
            id: self.next_limit,
            rule,
            scope,
            max,
            window_ms,
            amount,
        })
    }

    fn obj(
        &mut self,
        rule: &str,
        specs: &BTreeMap<String, ArgSpec>,
        unknown: Unknown,
    ) -> Result<Obj, Error> {
        let mut fields = Vec::new();
        let mut lowered: HashMap<String, &str> = HashMap::new();
        for (name, spec) in specs {
            let field_rule = format!("{rule}.{name}");
            if let Some(other) = lowered.insert(name.to_lowercase(), name) {
                return Err(self.err(
                    &field_rule,
                    format!("differs from argument {other:?} only by case; executors that ignore case would confuse them"),
                ));
            }
            fields.push(Field {
                name: name.clone(),
                required: spec.required,
                arg: self.arg(&field_rule, spec)?,
            });
        }
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Obj {
            fields,
            unknown,
            rule: rule.to_owned(),
        })
    }

    fn arg(&mut self, rule: &str, s: &ArgSpec) -> Result<Arg, Error> {
        let ty = s.ty;
        let t = ty.name();
        let not_for = |key: &str| {
            self.err(
                &format!("{rule}.{key}"),
                format!("does not apply to type {t:?}"),
            )
        };
        let numeric = matches!(ty, ArgType::Integer | ArgType::Number);
        if (s.min.is_some() || s.max.is_some()) && !numeric {
            return Err(not_for(if s.min.is_some() { "min" } else { "max" }));
        }
        if let (Some(a), Some(b)) = (s.min, s.max)
            && a > b
        {
            return Err(self.err(&format!("{rule}.min"), format!("min {a} is above max {b}")));
        }
        if (s.min_length.is_some() || s.max_length.is_some() || s.pattern.is_some())
            && !ty.stringy()
        {
            return Err(not_for("max_length"));
        }
        if let (Some(a), Some(b)) = (s.min_length, s.max_length)
            && a > b
        {
            return Err(self.err(&format!("{rule}.min_length"), "above max_length"));
        }
        if (s.roots.is_some() || s.follow_symlinks.is_some()) && ty != ArgType::Path {
            return Err(not_for("roots"));
        }
        if (s.schemes.is_some() || s.hosts.is_some() || s.ports.is_some()) && ty != ArgType::Url {
            return Err(not_for("hosts"));
        }
        if s.domains.is_some() && ty != ArgType::Email {
            return Err(not_for("domains"));
        }
        if (s.items.is_some() || s.min_items.is_some() || s.max_items.is_some())
            && ty != ArgType::Array
        {
            return Err(not_for("items"));
        }
        if (s.args.is_some() || s.unknown_arguments.is_some()) && ty != ArgType::Object {
            return Err(not_for("args"));
        }
        if s.one_of.is_some() && matches!(ty, ArgType::Array | ArgType::Object) {
            return Err(not_for("enum"));
        }
        let one_of = match &s.one_of {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(self.err(&format!("{rule}.enum"), "the list is empty"));
            }
            Some(list) => {
                let mut out = Vec::new();
                for v in list {
                    let j = serde_json::to_value(v)
                        .map_err(|e| self.err(&format!("{rule}.enum"), e.to_string()))?;
                    if let Some(bad) = type_error(ty, &j) {
                        return Err(self.err(&format!("{rule}.enum"), format!("{j} is not {bad}")));
                    }
                    out.push(j);
                }
                Some(out)
            }
        };
        let pattern = match &s.pattern {
            None => None,
            Some(p) => {
                if p.len() > 1024 {
                    return Err(self.err(&format!("{rule}.pattern"), "longer than 1024 bytes"));
                }
                let re = Regex::builder()
                    .configure(
                        Regex::config()
                            .nfa_size_limit(Some(1 << 20))
                            .hybrid_cache_capacity(1 << 20),
                    )
                    .build(&format!(r"\A(?:{p})\z"))
                    .map_err(|e| self.err(&format!("{rule}.pattern"), e.to_string()))?;
                Some((re, p.clone()))
            }
        };
        let scan = s.scan.clone().unwrap_or_default();
        for f in &scan {
            if !SCANNABLE.contains(&f.as_str()) {
                return Err(self.err(
                    &format!("{rule}.scan"),
                    format!(
                        "unknown detector {f:?}; arguments can be scanned with {}",
                        SCANNABLE.join(", ")
                    ),
                ));
            }
            if !self.scans.contains(f) {
                self.scans.push(f.clone());
            }
        }
        if s.scan_action.is_some() && scan.is_empty() {
            return Err(self.err(&format!("{rule}.scan_action"), "needs `scan`"));
        }
        let scan_action = match s.scan_action.unwrap_or(Action::Block) {
            Action::Redact => {
                return Err(self.err(
                    &format!("{rule}.scan_action"),
                    "tool arguments are not rewritten: use block, require_approval or allow",
                ));
            }
            a => a,
        };
        let kind = match ty {
            ArgType::Path => {
                let roots = s.roots.as_deref().ok_or_else(|| {
                    self.err(&format!("{rule}.roots"), "a path argument needs roots")
                })?;
                Kind::Path(
                    Roots::new(roots, s.follow_symlinks.unwrap_or(false))
                        .map_err(|m| self.err(&format!("{rule}.roots"), m))?,
                )
            }
            ArgType::Url => Kind::Url(
                UrlRule::new(s.schemes.as_deref(), s.hosts.as_deref(), s.ports.as_deref())
                    .map_err(|m| self.err(&format!("{rule}.hosts"), m))?,
            ),
            ArgType::Email => Kind::Email(
                EmailRule::new(s.domains.as_deref())
                    .map_err(|m| self.err(&format!("{rule}.domains"), m))?,
            ),
            ArgType::Array => {
                if let (Some(a), Some(b)) = (s.min_items, s.max_items)
                    && a > b
                {
                    return Err(self.err(&format!("{rule}.min_items"), "above max_items"));
                }
                let items = match &s.items {
                    Some(i) => Some(Box::new(self.arg(&format!("{rule}.items"), i)?)),
                    None => None,
                };
                Kind::Array {
                    items,
                    min_items: s.min_items,
                    max_items: s.max_items,
                }
            }
            ArgType::Object => {
                let unknown = s.unknown_arguments.unwrap_or_default();
                let empty = BTreeMap::new();
                Kind::Object(self.obj(
                    &format!("{rule}.args"),
                    s.args.as_ref().unwrap_or(&empty),
                    unknown,
                )?)
            }
            _ => Kind::Plain,
        };
        Ok(Arg {
            rule: rule.to_owned(),
            ty,
            one_of,
            min: s.min,
            max: s.max,
            min_len: s.min_length,
            max_len: s.max_length,
            pattern,
            kind,
            scan,
            scan_action,
            description: s.description.clone(),
        })
    }
}

/// `Some(expected)` when `v` does not have type `ty`.
fn type_error(ty: ArgType, v: &Value) -> Option<&'static str> {
    let ok = match ty {
        ArgType::Any => true,
        ArgType::String | ArgType::Email | ArgType::Url | ArgType::Path => v.is_string(),
        ArgType::Number => v.is_number(),
        ArgType::Integer => match v {
            Value::Number(n) => {
                n.is_i64()
                    || n.is_u64()
                    || n.as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15)
            }
            _ => false,
        },
        ArgType::Boolean => v.is_boolean(),
        ArgType::Array => v.is_array(),
        ArgType::Object => v.is_object(),
    };
    if ok {
        None
    } else {
        Some(match ty {
            ArgType::String | ArgType::Email | ArgType::Url | ArgType::Path => "a string",
            ArgType::Number => "a number",
            ArgType::Integer => "an integer",
            ArgType::Boolean => "a boolean",
            ArgType::Array => "an array",
            ArgType::Object => "an object",
            ArgType::Any => "anything",
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A JSON Pointer (RFC 6901) built on the stack while arguments are walked, rendered only
/// when a finding or a scan needs it.
#[derive(Clone, Copy)]
struct Ptr<'a> {
    parent: Option<&'a Ptr<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Ptr<'a> {
    const ROOT: Ptr<'static> = Ptr {
        parent: None,
        seg: Seg::Root,
    };

    fn key(&'a self, k: &'a str) -> Ptr<'a> {
        Ptr {
            parent: Some(self),
            seg: Seg::Key(k),
        }
    }

    fn index(&'a self, i: usize) -> Ptr<'a> {
        Ptr {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }
}

impl std::fmt::Display for Ptr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.parent {
            p.fmt(f)?;
        }
        match self.seg {
            Seg::Root => Ok(()),
            Seg::Index(i) => write!(f, "/{i}"),
            Seg::Key(k) => {
                f.write_str("/")?;
                for c in k.chars() {
                    match c {
                        '~' => f.write_str("~0")?,
                        '/' => f.write_str("~1")?,
                        c => std::fmt::Write::write_char(f, c)?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Appends a JSON Pointer (RFC 6901) segment.
fn pointer(base: &str, seg: &str) -> String {
    let mut s = String::with_capacity(base.len() + seg.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in seg.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

const MAX_FINDINGS: usize = 32;

/// A denial finding about one argument.
pub(crate) fn tool_finding(
    id: &'static str,
    rule: &str,
    argument: Option<String>,
    message: String,
) -> Finding {
    let mut f = Finding::new(id, Category::Tool, 0..0, 1.0, Action::Block, message);
    f.rule = Some(rule.to_owned());
    f.argument = argument;
    f
}

/// A string argument to scan with detectors: where it is, its value, which families, what to do.
pub(crate) struct ScanJob<'a> {
    pub(crate) pointer: String,
    pub(crate) value: &'a str,
    pub(crate) families: &'a [String],
    pub(crate) action: Action,
    pub(crate) rule: &'a str,
}

impl Obj {
    fn check<'a>(
        &'a self,
        map: &'a serde_json::Map<String, Value>,
        at: &Ptr<'_>,
        out: &mut Vec<Finding>,
        scans: &mut Vec<ScanJob<'a>>,
    ) {
        if !*SORTED_MAPS {
            return self.check_unsorted(map, at, out, scans);
        }
        // Both the map and the fields are sorted by bytes: one merge pass.
        let mut fields = self.fields.iter().peekable();
        for (key, value) in map {
            if out.len() >= MAX_FINDINGS {
                return;
            }
            while let Some(f) = fields.next_if(|f| f.name.as_str() < key.as_str()) {
                self.missing(f, at, out);
            }
            match fields.next_if(|f| f.name == *key) {
                Some(f) if value.is_null() => self.missing(f, at, out),
                Some(f) => f.arg.check(value, &at.key(key), out, scans),
                None => self.unknown(key, at, out),
            }
        }
        for f in fields {
            self.missing(f, at, out);
        }
    }

    fn missing(&self, f: &Field, at: &Ptr<'_>, out: &mut Vec<Finding>) {
        if f.required && out.len() < MAX_FINDINGS {
            out.push(tool_finding(
                "tool.missing_argument",
                &f.arg.rule,
                Some(at.key(&f.name).to_string()),
                format!("required argument {:?} is missing", f.name),
            ));
        }
    }

    fn unknown(&self, key: &str, at: &Ptr<'_>, out: &mut Vec<Finding>) {
        if self.unknown == Unknown::Allow {
            return;
        }
        let lower = key.to_lowercase();
        let sk = skeleton(key);
        let hint = self
            .fields
            .iter()
            .find(|f| f.name.to_lowercase() == lower || skeleton(&f.name) == sk)
            .map(|f| format!(" (a look-alike of the declared argument {:?})", f.name))
            .unwrap_or_default();
        out.push(tool_finding(
            "tool.unknown_argument",
            &self.rule,
            Some(at.key(key).to_string()),
            format!("argument {key:?} is not declared{hint}; undeclared arguments are denied"),
        ));
    }

    /// The same checks when the JSON map keeps insertion order (serde_json's
    /// `preserve_order` feature, enabled by another crate in the build).
    fn check_unsorted<'a>(
        &'a self,
        map: &'a serde_json::Map<String, Value>,
        at: &Ptr<'_>,
        out: &mut Vec<Finding>,
        scans: &mut Vec<ScanJob<'a>>,
    ) {
        for (key, value) in map {
            if out.len() >= MAX_FINDINGS {
                return;
            }
            match self.fields.binary_search_by(|f| f.name.as_str().cmp(key)) {
                Ok(i) if value.is_null() => self.missing(&self.fields[i], at, out),
                Ok(i) => self.fields[i].arg.check(value, &at.key(key), out, scans),
                Err(_) => self.unknown(key, at, out),
            }
        }
        for f in &self.fields {
            if !map.contains_key(&f.name) {
                self.missing(f, at, out);
            }
        }
    }
}

/// Whether `serde_json::Map` iterates in key order (it does unless `preserve_order` is on).
static SORTED_MAPS: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let mut m = serde_json::Map::new();
    m.insert("b".into(), Value::Null);
    m.insert("a".into(), Value::Null);
    m.keys().next().is_some_and(|k| k == "a")
});

impl Arg {
    fn check<'a>(
        &'a self,
        v: &'a Value,
        at: &Ptr<'_>,
        out: &mut Vec<Finding>,
        scans: &mut Vec<ScanJob<'a>>,
    ) {
        let bad = |out: &mut Vec<Finding>, id: &'static str, rule: String, msg: String| {
            out.push(tool_finding(id, &rule, Some(at.to_string()), msg));
        };
        if let Some(expected) = type_error(self.ty, v) {
            bad(
                out,
                "tool.invalid_argument",
                format!("{}.type", self.rule),
                format!("argument {at} must be {expected}, not {}", json_kind(v)),
            );
            return;
        }
        if let Some(list) = &self.one_of
            && !list.iter().any(|x| same_value(x, v))
        {
            let shown: Vec<String> = list.iter().take(8).map(Value::to_string).collect();
            bad(
                out,
                "tool.invalid_argument",
                format!("{}.enum", self.rule),
                format!("argument {at} = {v} is not one of {}", shown.join(", ")),
            );
        }
        if let Value::Number(n) = v {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = self.min
                && x.partial_cmp(&min).is_none_or(|o| o.is_lt())
            {
                bad(
                    out,
                    "tool.invalid_argument",
                    format!("{}.min", self.rule),
                    format!("argument {at} = {n} is below the minimum {min}"),
                );
            }
            if let Some(max) = self.max
                && x.partial_cmp(&max).is_none_or(|o| o.is_gt())
            {
                bad(
                    out,
                    "tool.invalid_argument",
                    format!("{}.max", self.rule),
                    format!("argument {at} = {n} is above the maximum {max}"),
                );
            }
        }
        if let Value::String(s) = v {
            if self.min_len.is_some() || self.max_len.is_some() {
                let n = s.chars().count();
                if self.min_len.is_some_and(|m| n < m) || self.max_len.is_some_and(|m| n > m) {
                    bad(
                        out,
                        "tool.invalid_argument",
                        format!(
                            "{}.{}",
                            self.rule,
                            if self.min_len.is_some_and(|m| n < m) {
                                "min_length"
                            } else {
                                "max_length"
                            }
                        ),
                        format!(
                            "argument {at} has {n} characters, outside {}..={}",
                            self.min_len.unwrap_or(0),
                            self.max_len.map_or("∞".into(), |m| m.to_string())
                        ),
                    );
                }
            }
            if let Some((re, src)) = &self.pattern
                && !re.is_match(s.as_str())
            {
                bad(
                    out,
                    "tool.invalid_argument",
                    format!("{}.pattern", self.rule),
                    format!("argument {at} does not match the pattern {src:?}"),
                );
            }
            match &self.kind {
                Kind::Path(roots) => {
                    if let Err(why) = roots.check(s) {
                        bad(
                            out,
                            "tool.path_denied",
                            format!("{}.roots", self.rule),
                            format!("argument {at}: {why}"),
                        );
                    }
                }
                Kind::Url(rule) => {
                    if let Err(why) = rule.check(s) {
                        bad(
                            out,
                            "tool.url_denied",
                            format!("{}.hosts", self.rule),
                            format!("argument {at}: {why}"),
                        );
                    }
                }
                Kind::Email(rule) => {
                    if let Err(why) = rule.check(s) {
                        bad(
                            out,
                            "tool.email_denied",
                            format!("{}.domains", self.rule),
                            format!("argument {at}: {why}"),
                        );
                    }
                }
                _ => {}
            }
        }
        match (&self.kind, v) {
            (
                Kind::Array {
                    items,
                    min_items,
                    max_items,
                },
                Value::Array(list),
            ) => {
                let n = list.len();
                if min_items.is_some_and(|m| n < m) || max_items.is_some_and(|m| n > m) {
                    bad(
                        out,
                        "tool.invalid_argument",
                        format!("{}.max_items", self.rule),
                        format!(
                            "argument {at} has {n} items, outside {}..={}",
                            min_items.unwrap_or(0),
                            max_items.map_or("∞".into(), |m| m.to_string())
                        ),
                    );
                }
                if let Some(item) = items {
                    for (i, x) in list.iter().enumerate() {
                        if out.len() >= MAX_FINDINGS {
                            break;
                        }
                        item.check(x, &at.index(i), out, scans);
                    }
                }
            }
            (Kind::Object(obj), Value::Object(map)) => obj.check(map, at, out, scans),
            _ => {}
        }
        if !self.scan.is_empty() {
            collect_strings(v, &at.to_string(), &mut |pointer, value| {
                scans.push(ScanJob {
                    pointer,
                    value,
                    families: &self.scan,
                    action: self.scan_action,
                    rule: &self.rule,
                })
            });
        }
    }
}

fn collect_strings<'a>(v: &'a Value, at: &str, f: &mut impl FnMut(String, &'a str)) {
    match v {
        Value::String(s) => f(at.to_owned(), s),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| collect_strings(x, &pointer(at, &i.to_string()), f)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| collect_strings(x, &pointer(at, k), f)),
        _ => {}
    }
}

/// What the policy decided before state (limits, approvals) is consulted.
pub(crate) enum Static<'a> {
    /// Denied: the findings say why (all blocking).
    Denied(Vec<Finding>),
    /// Arguments pass: the tool, the strings to scan, and whether approval is needed (with the
    /// reason).
    Passed {
        tool: &'a Tool,
        scans: Vec<ScanJob<'a>>,
        approval: Option<(String, String)>,
    },
}

impl ToolPolicy {
    /// Parses and validates a policy; `file` names it in errors.
    pub fn from_toml(source: &str, file: &str) -> Result<ToolPolicy, Error> {
        let parsed: PolicyFile =
            toml::from_str(source).map_err(|e| toml_error(file, source, &e))?;
        let mut l = Loader {
            file,
            source,
            next_limit: 0,
            scans: Vec::new(),
        };
        let d = &parsed.defaults;
        let approval_ttl_ms = match &d.approval_ttl {
            Some(s) => parse_duration(s).map_err(|m| l.err("defaults.approval_ttl", m))?,
            None => 10 * 60_000,
        };
        let request_ttl_ms = match &d.request_ttl {
            Some(s) => parse_duration(s).map_err(|m| l.err("defaults.request_ttl", m))?,
            None => 60 * 60_000,
        };
        let max_tracked = d.max_tracked.unwrap_or(100_000);
        if max_tracked == 0 {
            return Err(l.err("defaults.max_tracked", "must be at least 1"));
        }
        let mut tools = HashMap::with_hasher(Fnv);
        let mut lookalikes = Vec::new();
        let mut lowered: HashMap<String, String> = HashMap::new();
        for (name, spec) in &parsed.tools {
            let rule = format!("tools.{name}");
            if name.is_empty()
                || name.len() > 128
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b))
            {
                return Err(l.err(
                    &rule,
                    "tool names are 1 to 128 ASCII letters, digits and `_-.:/`",
                ));
            }
            if let Some(other) = lowered.insert(name.to_lowercase(), name.clone()) {
                return Err(l.err(&rule, format!("differs from tool {other:?} only by case")));
            }
            let who = Who {
                roles: spec.roles.clone(),
                agents: spec.agents.clone(),
                users: spec.users.clone(),
            };
            if who.roles.is_none() && who.agents.is_none() && who.users.is_none() {
                return Err(l.err(
                    &format!("{rule}.roles"),
                    "no one may call this tool: list roles, agents or users (`[\"*\"]` for anyone)",
                ));
            }
            for (key, list) in [
                ("roles", &who.roles),
                ("agents", &who.agents),
                ("users", &who.users),
            ] {
                if list.as_ref().is_some_and(|v| v.is_empty()) {
                    return Err(l.err(
                        &format!("{rule}.{key}"),
                        "the list is empty; leave it out or list someone",
                    ));
                }
            }
            let args = l.obj(
                &format!("{rule}.args"),
                &spec.args,
                spec.unknown_arguments.unwrap_or(d.unknown_arguments),
            )?;
            let approval = match &spec.approval {
                None | Some(ApprovalSpec::Always(false)) => None,
                Some(ApprovalSpec::Always(true)) => Some(ApprovalRule {
                    rule: format!("{rule}.approval"),
                    when: None,
                }),
                Some(ApprovalSpec::When(src)) => {
                    let e = Expr::parse(src).map_err(|m| l.err(&format!("{rule}.approval"), m))?;
                    let mut roots = Vec::new();
                    e.roots(&mut roots);
                    if let Some(r) = roots.iter().find(|r| {
                        args.fields
                            .binary_search_by(|f| f.name.as_str().cmp(r))
                            .is_err()
                    }) {
                        return Err(l.err(
                            &format!("{rule}.approval"),
                            format!("reads argument {r:?}, which the tool does not declare"),
                        ));
                    }
                    Some(ApprovalRule {
                        rule: format!("{rule}.approval"),
                        when: Some((e, src.clone())),
                    })
                }
            };
            let mut limits = Vec::new();
            for (i, ls) in spec.limits.iter().enumerate() {
                if ls.calls == 0 {
                    return Err(l.err(
                        &format!("{rule}.limits[{i}].calls"),
                        "0 calls: remove the tool instead",
                    ));
                }
                limits.push(l.limit(
                    format!("{rule}.limits[{i}]"),
                    ls.per,
                    ls.calls as f64,
                    &ls.window,
                    None,
                )?);
            }
            for (i, b) in spec.budgets.iter().enumerate() {
                let path: Vec<String> = b.argument.split('.').map(str::to_owned).collect();
                let declared = args.fields.iter().find(|f| f.name == path[0]);
                match declared {
                    Some(f)
                        if path.len() > 1
                            || matches!(f.arg.ty, ArgType::Number | ArgType::Integer) => {}
                    _ => {
                        return Err(l.err(
                            &format!("{rule}.budgets[{i}].argument"),
                            format!(
                                "{:?} must name a declared number or integer argument",
                                b.argument
                            ),
                        ));
                    }
                }
                limits.push(l.limit(
                    format!("{rule}.budgets[{i}]"),
                    b.per,
                    b.max,
                    &b.window,
                    Some(path),
                )?);
            }
            lookalikes.push((skeleton(name), name.clone()));
            tools.insert(
                name.clone(),
                Tool {
                    name: name.clone(),
                    rule: rule.into(),
                    description: spec.description.clone(),
                    who,
                    args,
                    approval,
                    limits,
                },
            );
        }
        let mut global = Vec::new();
        for (i, ls) in parsed.limits.iter().enumerate() {
            if ls.calls == 0 {
                return Err(l.err(&format!("limits[{i}].calls"), "must be at least 1"));
            }
            global.push(l.limit(
                format!("limits[{i}]"),
                ls.per,
                ls.calls as f64,
                &ls.window,
                None,
            )?);
        }
        Ok(ToolPolicy {
            file: file.to_owned(),
            tools,
            lookalikes,
            global,
            approval_ttl_ms,
            request_ttl_ms,
            max_tracked,
            scans: l.scans,
        })
    }

    /// Reads and validates a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ToolPolicy, Error> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        ToolPolicy::from_toml(&source, &path.display().to_string())
    }

    /// The file the policy came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The tools it names, sorted.
    pub fn tool_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tools.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The detector families some argument is scanned with.
    pub fn scanned_families(&self) -> &[String] {
        &self.scans
    }

    /// A readable account of what the policy allows (for `palisade policy check`).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for name in self.tool_names() {
            let t = &self.tools[name];
            s.push_str(name);
            if let Some(d) = &t.description {
                s.push_str(&format!(" — {d}"));
            }
            s.push('\n');
            for (k, v) in [
                ("roles", &t.who.roles),
                ("agents", &t.who.agents),
                ("users", &t.who.users),
            ] {
                if let Some(v) = v {
                    s.push_str(&format!("  {k}: {}\n", v.join(", ")));
                }
            }
            describe_obj(&t.args, "  ", &mut s);
            if let Some(a) = &t.approval {
                match &a.when {
                    None => s.push_str("  approval: always\n"),
                    Some((_, src)) => s.push_str(&format!("  approval: when {src}\n")),
                }
            }
            for l in &t.limits {
                s.push_str(&format!("  limit: {}\n", l.describe()));
            }
        }
        for l in &self.global {
            s.push_str(&format!("all tools: limit {}\n", l.describe()));
        }
        s.push_str("anything else: denied\n");
        s
    }

    /// The tool, role and argument checks (no state).
    pub(crate) fn judge<'a>(&'a self, ctx: &Context, name: &str, args: &'a Value) -> Static<'a> {
        let Some(tool) = self.tools.get(name) else {
            let sk = skeleton(name);
            let hint = self
                .lookalikes
                .iter()
                .find(|(s, _)| *s == sk)
                .map(|(_, n)| format!(" (a look-alike of the allowed tool {n:?}: case, Unicode or separator trick)"))
                .unwrap_or_default();
            return Static::Denied(vec![tool_finding(
                "tool.unknown_tool",
                "default_deny",
                None,
                format!("no policy rule allows tool {name:?}{hint}; unknown tools are denied"),
            )]);
        };
        let allowed = |list: &Option<Vec<String>>, who: Option<&str>| match list {
            None => true,
            Some(l) => l.iter().any(|x| x == "*" || Some(x.as_str()) == who),
        };
        for (key, list, who) in [
            ("roles", &tool.who.roles, ctx.role.as_deref()),
            ("agents", &tool.who.agents, ctx.agent.as_deref()),
            ("users", &tool.who.users, ctx.user.as_deref()),
        ] {
            if !allowed(list, who) {
                let what = &key[..key.len() - 1];
                return Static::Denied(vec![tool_finding(
                    "tool.not_permitted",
                    &format!("{}.{key}", tool.rule),
                    None,
                    format!(
                        "{what} {:?} may not call {name:?} (allowed: {})",
                        who.unwrap_or("(none)"),
                        list.as_deref().unwrap_or_default().join(", ")
                    ),
                )]);
            }
        }
        static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
            std::sync::LazyLock::new(serde_json::Map::new);
        let map = match args {
            Value::Object(m) => m,
            Value::Null => &EMPTY,
            other => {
                return Static::Denied(vec![tool_finding(
                    "tool.malformed_call",
                    &tool.rule,
                    Some(String::new()),
                    format!("arguments must be a JSON object, not {}", json_kind(other)),
                )]);
            }
        };
        let mut out = Vec::new();
        let mut scans = Vec::new();
        tool.args.check(map, &Ptr::ROOT, &mut out, &mut scans);
        if !out.is_empty() {
            return Static::Denied(out);
        }
        let approval = tool.approval.as_ref().and_then(|a| match &a.when {
            None => Some((
                a.rule.clone(),
                format!("every call of {name:?} needs approval"),
            )),
            Some((e, src)) => e
                .holds(args)
                .then(|| (a.rule.clone(), format!("{src} holds"))),
        });
        Static::Passed {
            tool,
            scans,
            approval,
        }
    }

    /// The limits a call of `tool` charges: (limit, scope key, amount), or the finding when an
    /// amount cannot be read.
    pub(crate) fn charges<'a>(
        &'a self,
        tool: &'a Tool,
        ctx: &Context,
        args: &Value,
    ) -> Result<Vec<(&'a Limit, String, f64)>, Box<Finding>> {
        let mut out = Vec::with_capacity(tool.limits.len() + self.global.len());
        for l in tool.limits.iter() {
            let amount = match &l.amount {
                None => 1.0,
                Some(path) => {
                    let mut v = args;
                    for seg in path {
                        v = v.get(seg.as_str()).unwrap_or(&Value::Null);
                    }
                    match v.as_f64() {
                        Some(x) => x.max(0.0),
                        None => {
                            return Err(Box::new(tool_finding(
                                "tool.budget_exceeded",
                                &l.rule,
                                Some(format!("/{}", path.join("/"))),
                                format!(
                                    "budget argument `{}` is missing or not a number",
                                    path.join(".")
                                ),
                            )));
                        }
                    }
                }
            };
            out.push((l, l.key(ctx, &tool.name), amount));
        }
        for l in &self.global {
            out.push((l, l.key(ctx, "*"), 1.0));
        }
        Ok(out)
    }

    /// Whether a tool call needs state (limits or approval).
    pub(crate) fn stateful(&self, tool: &Tool) -> bool {
        !tool.limits.is_empty() || !self.global.is_empty()
    }

    pub(crate) fn limit_message(limit: &Limit, used: f64) -> (&'static str, String) {
        match &limit.amount {
            None => (
                "tool.rate_limited",
                format!("rate limit reached: {used} of {}", limit.describe()),
            ),
            Some(_) => (
                "tool.budget_exceeded",
                format!(
                    "budget exceeded: {used} already used of {}",
                    limit.describe()
                ),
            ),
        }
    }
}

impl Tool {
    /// The rule id that allows it (`tools.<name>`).
    pub(crate) fn rule(&self) -> &std::sync::Arc<str> {
        &self.rule
    }

    /// Its name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

fn describe_obj(obj: &Obj, indent: &str, s: &mut String) {
    for f in &obj.fields {
        s.push_str(&format!("{indent}{}: {}", f.name, describe_arg(&f.arg)));
        if f.required {
            s.push_str(" (required)");
        }
        s.push('\n');
        if let Kind::Object(inner) = &f.arg.kind {
            describe_obj(inner, &format!("{indent}  "), s);
        }
    }
    if obj.unknown == Unknown::Allow {
        s.push_str(&format!("{indent}(other arguments allowed)\n"));
    }
}

fn describe_arg(a: &Arg) -> String {
    let mut parts = vec![a.ty.name().to_owned()];
    if let Some(l) = &a.one_of {
        parts.push(format!(
            "one of {}",
            l.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if a.min.is_some() || a.max.is_some() {
        parts.push(format!(
            "{}..={}",
            a.min.map_or("-∞".into(), |x| x.to_string()),
            a.max.map_or("∞".into(), |x| x.to_string())
        ));
    }
    if a.min_len.is_some() || a.max_len.is_some() {
        parts.push(format!(
            "{}..={} chars",
            a.min_len.unwrap_or(0),
            a.max_len.map_or("∞".into(), |m| m.to_string())
        ));
    }
    if let Some((_, p)) = &a.pattern {
        parts.push(format!("matching {p:?}"));
    }
    match &a.kind {
        Kind::Path(r) => parts.push(format!("under {}", r.shown())),
        Kind::Url(u) => parts.push(u.describe()),
        Kind::Email(e) => parts.push(e.describe()),
        Kind::Array { items: Some(i), .. } => parts.push(format!("of {}", describe_arg(i))),
        _ => {}
    }
    if !a.scan.is_empty() {
        parts.push(format!("scanned for {}", a.scan.join(", ")));
    }
    if let Some(d) = &a.description {
        parts.push(format!("— {d}"));
    }
    parts.join(", ")
}
