//! Secret and credential detection (`secret.*`): provider-specific rules as data, a keyword
//! prefilter, and a generic detector for unnamed secrets in assignment context.
//!
//! The rules live in `rules.toml` beside this file (compiled into the crate); configuration can
//! add more in the same format. Each rule has an id, a description, keywords and either
//! - a `pattern`: a regex that identifies the token by itself (`ghp_…`, `AKIA…`, PEM blocks);
//!   capture group 1, when present, is the secret; or
//! - a `token`: the token's shape, found only as the value assigned to a name containing one of
//!   the keywords (`ADAFRUIT_KEY = "…"`, `"datadog": "…"`).
//!
//! A rule runs only when one of its keywords occurs (one Aho-Corasick pass, case-insensitive).
//! Every candidate then passes the rule's entropy floor and the placeholder and allowlist
//! checks. Secrets are found in decoded payloads too (base64, hex, percent, escapes), through
//! the normalization layers. The default action is `redact`, keeping a short prefix so a human
//! can tell which key it was (`AKIA****************`).

mod notes;
mod sql;

use std::collections::BTreeMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use serde::{Deserialize, Serialize};

use super::matcher::{self, Limits};
use super::{Detector, Input};
use crate::error::{DetectorError, Error};
use crate::text::Origin;
use crate::verdict::{Action, Category, Finding};

/// The built-in rule set.
pub const BUILTIN_RULES: &str = include_str!("rules.toml");

/// The built-in identifier rules (`identifier.*`: accounts, tenants, buckets, hosts, OAuth
/// client ids), in the same format.
pub const BUILTIN_IDENTIFIER_RULES: &str = include_str!("identifiers.toml");

/// One rule, as written in a rules file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Finding id, `secret.<name>`.
    pub id: String,
    /// What the secret is (used in finding messages).
    pub description: String,
    /// Lowercase literals; the rule runs only where one occurs (case-insensitive). For a
    /// `token` rule they are also the names the value must be assigned to.
    pub keywords: Vec<String>,
    /// A regex that identifies the secret by itself; group 1, when present, is the secret.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The secret's shape, found as the value assigned to a name containing a keyword.
    #[serde(default)]
    pub token: Option<String>,
    /// Minimum Shannon entropy of the secret, in bits per character.
    #[serde(default)]
    pub entropy: Option<f32>,
    /// Publicly known values of this format that are not secrets (test keys published in SDK
    /// repositories), never reported.
    #[serde(default)]
    pub allow: Vec<String>,
    /// The match's structure (a URI's or a connection string's user and password) is the
    /// evidence: a weak word (`secret`, `password`) is still the password there.
    #[serde(default)]
    pub structural: bool,
}

/// Parses a rules file (the format of [`BUILTIN_RULES`]).
pub fn parse_rules(source: &str, file: &str) -> Result<Vec<RuleDef>, Error> {
    parse_family(source, file, "secret")
}

/// Parses an identifier rules file (the format of [`BUILTIN_IDENTIFIER_RULES`]; ids
/// `identifier.<name>`).
pub fn parse_identifier_rules(source: &str, file: &str) -> Result<Vec<RuleDef>, Error> {
    parse_family(source, file, "identifier")
}

fn parse_family(source: &str, file: &str, family: &str) -> Result<Vec<RuleDef>, Error> {
    crate::config::parse_rule_file(
        source,
        file,
        family,
        |r: &RuleDef| &r.id,
        |r| {
            if r.pattern.is_some() == r.token.is_some() {
                return Err((
                    "pattern",
                    format!("{}: exactly one of `pattern` and `token` is needed", r.id),
                ));
            }
            if r.keywords.is_empty() || r.keywords.iter().any(|k| k.trim().is_empty()) {
                return Err((
                    "keywords",
                    format!("{}: at least one non-empty keyword is needed", r.id),
                ));
            }
            match r.entropy {
                Some(e) if !(0.0..=8.0).contains(&e) => {
                    Err(("entropy", format!("{}: {e} is outside 0..=8", r.id)))
                }
                _ => Ok(()),
            }
        },
    )
}

/// Configuration of the secret detectors (`[secrets]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Leave the built-in rules out (only `extra_rules` run). Default `false`.
    pub no_builtin_rules: bool,
    /// More rules in the `rules.toml` format, as a TOML string.
    pub extra_rules: Option<String>,
    /// Report identifiers (`identifier.*`: AWS account ids and ARNs, bucket names, tenant
    /// hosts, OAuth client ids) with the action `allow`. Default `true`.
    pub identifiers: bool,
    /// More identifier rules in the `identifiers.toml` format, as a TOML string.
    pub extra_identifier_rules: Option<String>,
    /// Run the generic detector for unnamed secrets in assignment context. Default `true`.
    pub generic: bool,
    /// Minimum entropy (bits per character) of a generic secret. Default 3.0.
    pub generic_entropy: f32,
    /// Values never reported (exact match).
    pub allow: Vec<String>,
    /// Values never reported (regexes, matched against the whole value).
    pub allow_patterns: Vec<String>,
    /// A value containing one of these words (case-insensitive) is not reported.
    pub stopwords: Vec<String>,
    /// Characters of a secret kept visible when redacting. Default 4.
    pub redact_keep: usize,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            no_builtin_rules: false,
            extra_rules: None,
            identifiers: true,
            extra_identifier_rules: None,
            generic: true,
            generic_entropy: 3.0,
            allow: Vec::new(),
            allow_patterns: Vec::new(),
            stopwords: Vec::new(),
            redact_keep: 4,
        }
    }
}

/// Words that mark a value as an example or a placeholder, not a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "redacted",
    "changeme",
    "change_me",
    "not-set",
    "not_set",
    "notset",
    "unset",
    "dummy",
    "sample",
    "insert",
    "replace",
    "xxxx",
    "****",
    "..",
    "####",
    "<",
    "${",
    "{{",
    "%s",
    "$(",
    "process.env",
    "os.environ",
    "getenv",
    "env.",
    // A URI whose password is a variable: `amqps://user:$password@host`.
    ":$",
];

struct Rule {
    id: String,
    description: String,
    re: Regex,
    entropy: Option<f32>,
    /// A `token` rule (value in assignment context), checked like a generic value.
    context: bool,
    /// The keywords, lowercase (to check how a `token` rule's name is written).
    keywords: Vec<String>,
    /// When every match contains one of the rule's keywords and is at most this long, the rule
    /// runs only in windows around keyword occurrences instead of over the whole text.
    window: Option<usize>,
    /// The secret is a URI's or connection string's password (`scheme://user:secret@host`,
    /// `User Id=u;Password=secret`): the structure is the evidence, so a weak word is still a
    /// password there.
    structural: bool,
    /// Publicly known values of this format that are not secrets.
    allow: Vec<String>,
    /// An `identifier.*` rule: reported with the action `allow`, and only where no secret is.
    identifier: bool,
}

/// Longest match that is still searched in windows around keywords.
const MAX_WINDOW: usize = 4096;

/// The window for a rule: its longest match, when every match provably contains a keyword.
fn keyword_window(pattern: &str, keywords: &[String]) -> Option<usize> {
    let max = super::literals::max_match_len(pattern).filter(|&m| m <= MAX_WINDOW)?;
    // Literals are read without case folding; matching and the keyword search both ignore
    // case, so a leading `(?i)` can be dropped and literals compared lowercased.
    let plain = pattern.strip_prefix("(?i)").unwrap_or(pattern);
    let keywords: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
    super::literals::every_match_contains(plain, &keywords).then_some(max)
}

/// Where a rule searches: windows around its keyword hits, or the whole text.
fn regions(window: Option<usize>, hits: &[Range<usize>], len: usize) -> Vec<Range<usize>> {
    match window {
        Some(w) => windows(hits, w, len),
        None => std::iter::once(0..len).collect(),
    }
}

/// Calls `f` with the captures of every match of `re` in `regions` of `s`, leftmost first.
fn each_match(re: &Regex, s: &str, regions: &[Range<usize>], mut f: impl FnMut(&Captures)) {
    let mut caps = re.create_captures();
    for region in regions {
        let mut at = region.start;
        while at <= region.end {
            re.search_captures(
                &regex_automata::Input::new(s).range(at..region.end),
                &mut caps,
            );
            let Some(m) = caps.get_match() else { break };
            at = m.end().max(m.start() + 1);
            f(&caps);
        }
    }
}

/// Calls `f` with the captures of `re` matched *anchored* at the identifier around each keyword
/// hit (at most 30 bytes before it), looking at most `len` bytes past it. The generic patterns
/// start with the name that holds the keyword, so this finds what a search of the whole text
/// would, in time proportional to the hits rather than to the text.
fn each_anchored(
    re: &Regex,
    s: &str,
    hits: &[Range<usize>],
    len: usize,
    mut f: impl FnMut(&Captures),
) {
    let b = s.as_bytes();
    let mut caps = re.create_captures();
    let mut last = usize::MAX;
    for h in hits {
        let floor = h.start.saturating_sub(30);
        let mut start = h.start;
        while start > floor
            && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'.' | b'-'))
        {
            start -= 1;
        }
        if start == last {
            continue;
        }
        last = start;
        let input = regex_automata::Input::new(s)
            .range(start..(h.end + len).min(s.len()))
            .anchored(regex_automata::Anchored::Yes);
        re.search_captures(&input, &mut caps);
        if caps.is_match() {
            f(&caps);
        }
    }
}

/// Merges the windows `[hit - len, hit + len]` of keyword hits into sorted disjoint ranges.
fn windows(hits: &[Range<usize>], len: usize, text_len: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for h in hits {
        let w = h.start.saturating_sub(len)..(h.end + len).min(text_len);
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// Whether the unquoted value at `v` of `s` is code rather than a literal: a name called
/// (`=> as_2d_tokens(input)`, `key: ed25519.hexToDER(k)`) or a type in a declaration
/// (`DOORACCESS: NtmsLmOperation = 9i32`).
fn code_expression(s: &str, v: Range<usize>) -> bool {
    if s[..v.start].ends_with(['"', '\'', '`']) {
        return false;
    }
    let after = &s[v.end..];
    let spaced = after.trim_start_matches([' ', '\t']);
    after.starts_with('(') || (spaced.len() < after.len() && spaced.starts_with('='))
}

/// Whether a value fails the fixed format of the key its name gives: an AWS secret access key
/// (`aws_secret_access_key`, `AWS_SECRET_KEY`) is always forty characters of base64, so a
/// value of another length there is a test value or a fragment, and a real key is the
/// provider rule's to find.
fn format_mismatch(name: &str, v: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("aws")
        && name.contains("secret")
        && !(v.len() == 40
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b'=')))
}

/// The length of the value `v` up to the next parameter of a query string, if one follows
/// (`Qx7Lp2Wm9d&user=x` → `Qx7Lp2Wm9d`); all of `v` otherwise.
fn query_value_len(v: &str) -> usize {
    match v.find('&') {
        Some(amp)
            if v[amp + 1..].split_once('=').is_some_and(|(n, _)| {
                !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            }) =>
        {
            amp
        }
        _ => v.len(),
    }
}

/// Whether `sep`, between a name and its value, ends an XML element's start tag: `>` right
/// after the name (`<apiToken>…`), or attributes and then `>` (`<password name="db">…`).
fn xml_element(sep: &str) -> bool {
    let t = sep.trim_start_matches(['"', '\'', '`', '\\', ' ', '\t']);
    t.starts_with('>')
        || (sep.starts_with([' ', '\t'])
            && (sep.contains("=\"") || sep.contains("='"))
            && sep.trim_end().ends_with('>'))
}

/// The keyword automaton's target for an account label of a note (`ID:`, `계정`): it runs
/// only the note's pair check, not the generic detector.
const ACCOUNT_HIT: usize = usize::MAX - 1;

/// Words of a column named for a password or a key that holds something else
/// (`password_hint`, `token_created_at`, `reset_password_sent`).
const SQL_COLUMN_STOPS: &[&str] = &[
    "hint", "salt", "reset", "question", "changed", "updated", "created", "_at", "date",
    "required", "strength", "history", "attempt", "sent", "id",
];

/// The keyword automaton's target for `INSERT INTO`: it lets the generic detector read the
/// statement's columns.
const INSERT_HIT: usize = usize::MAX - 2;

/// The longest run of one repeated byte.
fn longest_run(v: &str) -> usize {
    let b = v.as_bytes();
    let (mut best, mut run) = (0, 0);
    for (i, &c) in b.iter().enumerate() {
        run = if i > 0 && b[i - 1] == c { run + 1 } else { 1 };
        best = best.max(run);
    }
    best
}

/// Checks for values found only by context (token rules and the generic detector): a random
/// token of twelve or more characters has a digit, and no long run of one character.
fn plausible_value(v: &str) -> bool {
    let digit = v.bytes().any(|c| c.is_ascii_digit());
    let mixed =
        v.bytes().any(|c| c.is_ascii_uppercase()) && v.bytes().any(|c| c.is_ascii_lowercase());
    // `$VAR`, `[PASSWORD]`, `{value}`, `%s`, `<token>`: references and templates.
    !v.starts_with(['$', '[', '{', '%', '<'])
        && !constant_case(v)
        && !code_identifier(v)
        && !number_literal(v)
        && (v.len() < 12 || digit || (mixed && !camel_case(v)))
        // Base64 of leading zero bytes (`AAAA…`) is a common token start, not a placeholder.
        && longest_run(v.trim_start_matches('A')) < 6
}

/// An identifier in CONSTANT_CASE (`CF_R2_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`): an
/// environment variable's name, not its value.
fn constant_case(v: &str) -> bool {
    let segments = v.split('_').filter(|g| !g.is_empty());
    let words = segments
        .clone()
        .filter(|g| g.len() >= 3 && g.bytes().all(|c| c.is_ascii_uppercase()))
        .count();
    v.bytes()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        && segments.count() >= 2
        && words >= 1
        && (v.bytes().filter(u8::is_ascii_digit).count() <= 3 || words >= 3)
}

/// A number literal of code, marked as one by a sign, digit separators, a type suffix or a hex
/// prefix (`-2147483552i32`, `1_000_000u64`, `0x7fff_ffff`). Plain digits are not: numeric
/// client secrets and ids exist.
fn number_literal(v: &str) -> bool {
    if v.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let v = v.strip_prefix('-').unwrap_or(v);
    let v = [
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "f32", "f64",
    ]
    .iter()
    .find_map(|t| v.strip_suffix(t))
    .unwrap_or(v);
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => {
            !hex.is_empty()
                && hex.len() <= 20
                && hex.bytes().all(|c| c.is_ascii_hexdigit() || c == b'_')
        }
        None => !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit() || c == b'_'),
    }
}

/// A code expression made of identifiers (`RefreshableCredentials.create_from_metadata`,
/// `&self.colon2_token`, `SpGetTbalSupplementalCredsFn`, `endOfRuleState`, JavaScript's
/// `this.$session.getTokens` and `!!key.emitKey`, a key name `Shift-PageDown`): three quarters of
/// its letters are in words, fragments of three or more letters with a vowel and no run of four
/// consonants. A random token's case changes every character or two and its fragments do not
/// read as words (`sug5XpdpaoxtOH`, `DjayBenyJrtpvyd`).
fn code_identifier(v: &str) -> bool {
    let v = v.trim_start_matches(['&', '*', '!']).trim_end_matches("()");
    let b = v.as_bytes();
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        || !b.iter().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'$' | b'-' | b'=' | b'#')
        })
        || b.iter().filter(|c| c.is_ascii_digit()).count() > 6
        || b.windows(2)
            .filter(|w| !w[0].is_ascii_digit() && w[1].is_ascii_digit())
            .count()
            + usize::from(b[0].is_ascii_digit())
            > 2
    {
        return false;
    }
    // A member of the object at hand (`this.#keyList`, `self.missingBackslash`).
    if v.starts_with("this.") || v.starts_with("self.") {
        return true;
    }
    let word = |f: &[u8]| {
        let mut run = 0;
        let mut vowel = false;
        for c in f {
            if matches!(
                c.to_ascii_lowercase(),
                b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
            ) {
                vowel = true;
                run = 0;
            } else {
                run += 1;
                if run >= 4 {
                    return false;
                }
            }
        }
        f.len() >= 3 && vowel
    };
    // Split the letters into fragments: at non-letters, before a capital that follows a
    // lowercase letter, and before the last capital of a run followed by a lowercase letter
    // (`HTTPServer` is `HTTP` + `Server`).
    let (mut letters, mut in_words, mut fragments, mut start) = (0usize, 0usize, 0usize, None);
    for i in 0..=b.len() {
        let c = b.get(i).copied().unwrap_or(b'.');
        let boundary = !c.is_ascii_alphabetic()
            || (i > 0
                && c.is_ascii_uppercase()
                && (b[i - 1].is_ascii_lowercase()
                    || (b[i - 1].is_ascii_uppercase()
                        && b.get(i + 1).is_some_and(u8::is_ascii_lowercase))));
        if boundary && let Some(s0) = start.take() {
            let f = &b[s0..i];
            fragments += 1;
            if word(f) {
                in_words += f.len();
            }
        }
        if c.is_ascii_alphabetic() {
            letters += 1;
            start.get_or_insert(i);
        }
    }
    (fragments >= 2 && letters > 0 && in_words * 4 >= letters * 3) || segmented_name(v, word)
}

/// A name of three or more parts joined by `.` or `_`, each part in one case style of code
/// (`fs.s3.cse.kms.keyId`, `X509_pubkey_st`): `lower` or `lower2`, `UPPER` or `X509`,
/// `Capitalized`, `camelCase`, at most twelve characters each, four digits in all, one part a
/// word. Short parts are abbreviations there; a random token's parts mix cases (`Xk9_QwErTy`).
fn segmented_name(v: &str, word: impl Fn(&[u8]) -> bool) -> bool {
    let styled = |p: &str| {
        let b = p.as_bytes();
        let rest = &b[1..];
        b[0].is_ascii_alphabetic()
            && b.len() <= 12
            && if b[0].is_ascii_uppercase() {
                rest.iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    || rest.iter().all(u8::is_ascii_lowercase)
            } else {
                rest.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    || (b.len() >= 3 && camel_case(p))
            }
    };
    v.split(['.', '_']).count() >= 3
        && v.split(['.', '_']).all(|p| !p.is_empty() && styled(p))
        && v.bytes().filter(u8::is_ascii_digit).count() <= 4
        && v.split(['.', '_']).any(|p| word(p.as_bytes()))
}

/// An identifier in camelCase or PascalCase (`searchConfluenceUsingCql`): capitals each start a
/// lowercase run of two or more letters.
fn camel_case(v: &str) -> bool {
    let b = v.as_bytes();
    b.iter().all(u8::is_ascii_alphabetic)
        && b.iter().enumerate().all(|(i, c)| {
            !c.is_ascii_uppercase()
                || (b.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                    && b.get(i + 2).is_none_or(u8::is_ascii_lowercase))
        })
}

/// The secret detector (`secret`).
pub struct Secrets {
    rules: Vec<Rule>,
    /// Keyword automaton: keyword → rules it lets run.
    keywords: Option<(AhoCorasick, Vec<Vec<usize>>)>,
    /// Host keywords of the identifier rules, for text that `may_hold_secret` rules out.
    host_words: Option<AhoCorasick>,
    generic: Option<Generic>,
    allow: Vec<String>,
    allow_patterns: Option<Regex>,
    stopwords: Vec<String>,
    redact_keep: usize,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// The assignment grammar of `token` rules: a name containing a keyword, an optional closing
/// quote, an optional string type (`var apiToken string = `, `token: str = `), an assignment
/// operator (`=`, `:=`, make's `::=` and `:::=`, `=>`, ...; or a quoted name then a comma:
/// `setProperty("SLACK_TOKEN", "…")`, `environ.setdefault('SLACK_TOKEN', '…')`), an optional
/// opening quote, the token, and a character that cannot continue it. Quotes may be escaped
/// (`\"`): code inside a JSON string (a notebook cell, a logged request body).
fn context_regex(keywords: &[String], token: &str) -> String {
    // A keyword starts a word (any case), or continues an identifier in camelCase with a
    // capital (`myMessageBird`); never the middle of a lowercase word (`rookTable`).
    let mut whole = Vec::new();
    let mut camel = Vec::new();
    for k in keywords {
        let k = k.to_ascii_lowercase();
        whole.push(regex_syntax::escape(&k));
        let mut chars = k.chars();
        if let Some(first) = chars.next() {
            camel.push(format!(
                "{}(?i:{})",
                regex_syntax::escape(&first.to_ascii_uppercase().to_string()),
                regex_syntax::escape(chars.as_str())
            ));
        }
    }
    format!(
        r#"(?:(?:\A|[^A-Za-z])(?i:{whole})|[a-z0-9](?:{camel}))(?i:(?-u:[\w.-]){{0,24}}?\\?["'`]?\]?(?:[ \t]{{1,3}}(?-i:string|String|str)|[ \t]{{0,3}}:[ \t]{{0,3}}(?-i:string|String|str|&str|&'static str))?[ \t]{{0,3}}(?:=|:=|::=|:::=|\?=|\.=|:|=>|->|\|\||>\s{{0,16}}|\\?["'`][ \t]{{0,3}},)[ \t]{{0,24}}(?:\\?["'`]|\b[A-Za-z]{{1,16}} )?({token}))(?:[^A-Za-z0-9_+/=.~-]|\z)"#,
        whole = whole.join("|"),
        camel = camel.join("|"),
    )
}

/// The generic detector: a value assigned to a secret-sounding name, or an `Authorization`
/// header, with entropy and charset checks.
struct Generic {
    re: Regex,
    passwords: Regex,
    prose: Regex,
    /// `KEY_PROSE`: keys and tokens given in words of other languages.
    keys: Regex,
    /// `PROSE_WORDS`, for text the keyword pass skips.
    prose_words: AhoCorasick,
    entropy: f32,
}

const GENERIC_PATTERN: &str = r#"(?i)((?-u:[\w.-]){0,30}?(?:password|passwd|pwd|passphrase|secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|client[_.-]?secret|credentials?|creds|signing[_.-]?key|encryption[_.-]?key|key|access|private|auth)(?-u:[\w.-]){0,20}?)(?:\\?["'`]?[ \t]{0,3},?[ \t]{0,3}(?:\r?\n[ \t]{0,30})?["']?value["']?[ \t]{0,3}:[ \t]{0,3}|</name>\s{0,30}<value>|\\?["'`][ \t]{0,3},[ \t]{0,3}|\\?["'`]?\]?(?:[ \t]{1,3}(?-i:string|String|str)|[ \t]{0,3}:[ \t]{0,3}(?-i:&'static str|&str|String|string|str)|[ \t]{1,3}as[ \t]{1,3}(?-i:String|string)|[ \t]{0,3}\{[ \t]{0,3}get;[ \t]{0,3}(?:(?:private|protected|internal)[ \t]{1,3})?(?:set|init);[ \t]{0,3}\})?(?:[ \t]{0,30}(?::::=|::=|:=|\?=|\.=|=>|<<-|<-|=|:|value[ \t]*=)[ \t]{0,30}(?:\\\r?\n[ \t]{0,30})?|:[ \t]*\r?\n[ \t]{1,30}|>[ \t]*(?:\r?\n[ \t]{0,30})?|(?:[ \t]{1,3}[A-Za-z_][A-Za-z0-9_:.-]{0,30}=(?:"[\x20\x21\x23-\x3B\x3D\x3F-\x7E]{0,60}"|'[\x20-\x26\x28-\x3B\x3D\x3F-\x7E]{0,60}')){1,3}[ \t]{0,3}>[ \t]*(?:\r?\n[ \t]{0,30})?|[ \t]{1,3}))(?:\\?["'`]){0,2}(?:base64:)?([A-Za-z0-9+/=_.~!@#$%^&*?-]{12,200})|\bauthorization["']?(?:[ \t]{0,3}[:=]|[ \t]{1,3}["'])[ \t]{0,3}["']?(?:bearer|token|basic)[ \t]{1,3}([A-Za-z0-9._~+/=-]{12,512})"#;

/// The words that head a secret's name (see [`generic_name_stop`]).
const HEAD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "credential",
];

/// Name parts that disqualify a name wherever they stand in it: public or fake values.
const QUALIFIER_STOPS: &[&str] = &[
    "public",
    "csrf",
    "authenticity",
    "xsrf",
    "nonmatching",
    "fake",
    "dummy",
    "mock",
    "example",
    "sample",
    "invalid",
    "placeholder",
];

/// Name parts that make an assignment not a secret when they head the name: identifiers,
/// lengths, locations, formats (public or fake values: [`QUALIFIER_STOPS`]).
const GENERIC_NAME_STOPS: &[&str] = &[
    "length",
    "_len",
    "count",
    "size",
    "url",
    "uri",
    "file",
    "path",
    "type",
    "name",
    "expir",
    "ttl",
    "header",
    "field",
    "format",
    "prefix",
    "hash",
    "policy",
    "timeout",
    "version",
    "index",
    "enabled",
    "label",
    "description",
];

/// Names where a bare `key` is a data-structure or UI key, not a credential.
const KEY_NAME_STOPS: &[&str] = &[
    "primary",
    "foreign",
    "schema",
    "bucket",
    "sort",
    "partition",
    "cache",
    "event",
    "press",
    "pair",
    "signature",
    "meshing",
    "vault",
    "char",
    "str",
    // Redis and Kafka stream keys (`ORDERS_STREAM_KEY`) name a stream.
    "stream",
    "word",
    "map",
    "lookup",
    "hot",
    "short",
    "sign",
    "board",
    "store",
    "ring",
    "frame",
    "value",
];

/// Prefixes of provider tokens whose format a provider rule checks. A value that starts with one
/// and that no provider rule took is a malformed or made-up token of that provider
/// (`xoxp-1234567890`, `dapi…defg5` with a letter outside hex), not an unnamed secret.
const PROVIDER_PREFIXES: &[&str] = &[
    "xoxp-",
    "xoxb-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xoxe-",
    "xapp-",
    "dapi",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "pk_test_",
    "sk-ant-",
    "sk-proj-",
    "hf_",
    "npm_",
    "pypi-",
    "shpat_",
    "shpss_",
    "AKIA",
    "AIza",
    "NRAK-",
    "px-api-",
    "px-dep-",
];

/// Suffixes of provider tokens whose format a provider rule checks, like [`PROVIDER_PREFIXES`]:
/// a New Relic license key ends in `NRAL`.
const PROVIDER_SUFFIXES: &[&str] = &["nral"];

/// Whether `v` carries a provider's prefix or suffix ([`PROVIDER_PREFIXES`],
/// [`PROVIDER_SUFFIXES`]): a token of that provider, the provider rule's to judge.
fn provider_marked(v: &str) -> bool {
    PROVIDER_PREFIXES.iter().any(|p| v.starts_with(p))
        || PROVIDER_SUFFIXES.iter().any(|x| {
            v.len() > x.len()
                && v.is_char_boundary(v.len() - x.len())
                && v[v.len() - x.len()..].eq_ignore_ascii_case(x)
        })
}

/// Whether `word` (lowercase) is a word of the assignment name `name` (`lower` is its
/// lowercase): between separators or case changes (`token_length`, `secretName`), or ending the
/// name (`tokenlength`), or, for a stem (`expir`, `_len`), starting a word (`expiresAt`); not
/// inside another word (`uri` in `security`, `hash` in `hashicorp_token`); counting only an
/// occurrence that starts at byte `from` or later.
fn name_has_word_from(name: &str, lower: &str, word: &str, from: usize) -> bool {
    let b = name.as_bytes();
    let stem = matches!(word, "expir" | "_len");
    lower.match_indices(word).any(|(at, _)| {
        if at < from {
            return false;
        }
        let end = at + word.len();
        let before = at == 0
            || !b[at - 1].is_ascii_alphabetic()
            || (b[at - 1].is_ascii_lowercase() && b[at].is_ascii_uppercase());
        let after = end == b.len() || !b[end].is_ascii_lowercase();
        let suffix = lower[end..].bytes().all(|c| !c.is_ascii_alphanumeric());
        (before && (after || stem)) || suffix
    })
}

/// Whether a name whose only secret word is a bare `key` names a data-structure or UI key: a
/// word of [`KEY_NAME_STOPS`] in it (`primaryKey`, `sort_key`, `HOT_KEY`) or joined to the key
/// (`cachekey`); not a provider's name that begins like one (`STRIPE_KEY`, `mapbox_key`,
/// `wordpressKey`). `lower` is the name in lowercase.
fn key_name_stop(name: &str, lower: &str) -> bool {
    let b = name.as_bytes();
    // In CONSTANT_CASE only separators end words.
    let constant = !b.iter().any(u8::is_ascii_lowercase);
    KEY_NAME_STOPS.iter().any(|w| {
        lower.match_indices(w).any(|(at, _)| {
            let end = at + w.len();
            let starts = at == 0
                || !b[at - 1].is_ascii_alphabetic()
                || (b[at - 1].is_ascii_lowercase() && b[at].is_ascii_uppercase());
            let ends = end == b.len()
                || !b[end].is_ascii_alphabetic()
                || (!constant && b[end].is_ascii_uppercase())
                || lower[end..].starts_with("key");
            starts && ends
        })
    })
}

/// Whether an assignment's name rules its value out as a generic secret.
fn generic_name_stop(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // A word that says what the value is counts where the name's last secret word does not
    // follow it: English puts the head last (`passwordResetUrl` is a URL, `resetUrlPassword`
    // a password, `tokenLength` a length). Qualifiers (`public`, `fake`, `csrf`) count
    // anywhere.
    let head = HEAD_WORDS
        .iter()
        .filter_map(|w| lower.rfind(w))
        .max()
        .unwrap_or(0);
    if QUALIFIER_STOPS
        .iter()
        .any(|w| name_has_word_from(name, &lower, w, 0))
        || GENERIC_NAME_STOPS
            .iter()
            .any(|w| name_has_word_from(name, &lower, w, head))
    {
        return true;
    }
    // Named only by a bare `key`: it must end the name (`api_key`, `licenseKey`) and not be a
    // data-structure key (`primaryKey`, `sort_key`).
    let strong = GENERIC_KEYWORDS
        .iter()
        .chain(LABEL_WORDS)
        .filter(|k| !WEAK_KEYWORDS.contains(k))
        .any(|k| lower.contains(k));
    let trimmed = lower.trim_end_matches(['"', '\'', '`']);
    if !strong
        && (!WEAK_KEYWORDS.iter().any(|k| trimmed.ends_with(k)) || key_name_stop(name, &lower))
    {
        return true;
    }
    // A collection (`keyVaultToStoreSecrets`, `api_tokens`): the plural ends the name.
    if ["secrets", "tokens", "passwords", "keys"]
        .iter()
        .any(|w| trimmed.ends_with(w))
    {
        return true;
    }
    // `...Id`, `..._id`, `...ID`: identifiers.
    lower.ends_with("id") && !lower.ends_with("apikeyid") && name.len() > 2
}

/// Passwords: a value of six or more characters assigned to a password-like name (quoted, or
/// unquoted with a digit or symbol), compared with one (`if creds.Secret != "open-sesame"`),
/// or given as the value of a keyed entry (`<add key="SmtpPassword" value="…"/>`). A password
/// needs less randomness than an unnamed secret: the name is the evidence. Quotes may be
/// escaped, as in code quoted inside a string (`$password = \"goodspec\";`).
const PASSWORD_PATTERN: &str = r#"(?i)((?-u:[\w.-]){0,20}?(?:password|passwd|pwd|passphrase|secret|passwort|kennwort|contrase(?:ñ|n)a|mot de passe|senha|wachtwoord|l(?:ö|o)senord|salasana|has(?:ł|l)o|heslo|parola|пароль|パスワード|密码|密碼|비밀번호|(?:ş|s)ifre|jelsz(?:ó|o)|psk|pass|pw))(?:\\?["'`]?[ \t]{0,3},?[ \t]{0,3}(?:\r?\n[ \t]{0,30})?["']?value["']?[ \t]{0,3}:[ \t]{0,3}|</name>\s{0,30}<value>|\\?["'`]?\]?[ \t]{0,30}(?:===|!==|==|!=|=>|:::=|::=|:=|\?=|\.=|<<-|<-|=|:|：|>|value[ \t]*=|as[ \t]{1,3}(?-i:String|string)[ \t]{0,3}=)[ \t]{0,30}(?:\\\r?\n[ \t]{0,30})?|(?:[ \t]{1,3}[A-Za-z_][A-Za-z0-9_:.-]{0,30}=(?:"[\x20\x21\x23-\x3B\x3D\x3F-\x7E]{0,60}"|'[\x20-\x26\x28-\x3B\x3D\x3F-\x7E]{0,60}')){1,3}[ \t]{0,3}>[ \t]{0,30})(?:\\?"([^"\s]{6,128}|[A-Za-z0-9_!@#$%^&*.-]{2,64}(?: [A-Za-z0-9_!@#$%^&*.-]{2,64}){1,2})"|\\?'([^'\s]{6,128}|[A-Za-z0-9_!@#$%^&*.-]{2,64}(?: [A-Za-z0-9_!@#$%^&*.-]{2,64}){1,2})'|([^\s"'`,;()\\]{6,128}))"#;

/// Passwords and keys given in prose: "the (default) password (for user 'x') is 'hunter22'",
/// "my wifi password is Summer2024!", "the API key is Xk29vLm3Qz8p"; or a password label of any
/// of the common languages followed by the value ("verwende das Passwort Sommer2024!", "la
/// contraseña es «Tr0ub4dor»", "use password Xk29vLm3!", "密码是Abc12345"; a qualifier may follow
/// the label, "a senha do wifi é …", and Swedish, Norwegian, Danish and Turkish inflect it:
/// "lösenordet", "şifrem"); or "use … as the token". Groups 1 and 3 are quoted values, groups
/// 2, 4, 5 and 6 unquoted ones.
const PASSWORD_PROSE: &str = r#"(?i)\b(?:the|my|your|our|his|her|their|its|a|default|admin|root|new|temporary|initial)(?: (?:default|admin|root|new|temporary|initial|wifi|wi-fi|account|login|user|database|db|email|api|access|secret|license))* (?:password|passphrase|passcode|passwd|pwd|pw|key|token|secret)(?: (?:for|of|on|at|in) (?:the |my |our |your |this )?(?:user(?:name)? |account )?(?:["'][^"'\n]{1,40}["']|[^\s"']{1,40}(?: [^\s"']{1,40}){0,2})| (?:that |which )?(?:you|we|i|they) (?:need|use|want|should use|must use|have to use|can use|got|get|have))? (?:is|was|will be|is set to|set to|to)(?::? ["'\x{201c}]([^"'\x{201d}\s]{4,64})["'\x{201d}]|:? ([^\s"'`\x{201c}\x{201d}]{4,64}))|\b(?:password|passphrase|passcode|passwort|kennwort|contraseña|contrasena|clave|mot de passe|clé|senha|wachtwoord|lösenord(?:et)?|losenord(?:et)?|passord(?:et)?|adgangskode(?:n)?|salasana|hasło|haslo|heslo|parola|пароль|jelszó|jelszo|(?:ş|s)ifre(?:m|n|niz|miz|si)?|mật khẩu|mat khau|kata sandi(?:nya)?|κωδικός|κωδικος|ה?סיסמ(?:ה|א)|كلمة المرور|كلمة السر|رمز عبور|पासवर्ड|รหัสผ่าน(?:คือ)?)(?: (?:do|da|de|del|della|du|des|der|van|för|für|fuer|pour|para|per|voor|dla|для|от|на)(?: [^\s"':]{1,24}){1,2})?(?: (?:ist|lautet|war|es|era|est|était|é|è|is|was|jest|to|je|är|er|on|là|adalah|είναι|היא|هي|است|คือ|है|=|:|—|-))?:? ["'\x{201c}\x{201e}\x{ab}]([^"'\x{201c}\x{201d}\x{201e}\x{ab}\x{bb}\s]{4,64})["'\x{201c}\x{201d}\x{bb}]|\b(?:password|passphrase|passcode|passwort|kennwort|contraseña|contrasena|clave|mot de passe|clé|senha|wachtwoord|lösenord(?:et)?|losenord(?:et)?|passord(?:et)?|adgangskode(?:n)?|salasana|hasło|haslo|heslo|parola|пароль|jelszó|jelszo|(?:ş|s)ifre(?:m|n|niz|miz|si)?|mật khẩu|mat khau|kata sandi(?:nya)?|κωδικός|κωδικος|ה?סיסמ(?:ה|א)|كلمة المرور|كلمة السر|رمز عبور|पासवर्ड|รหัสผ่าน(?:คือ)?)(?: (?:do|da|de|del|della|du|des|der|van|för|für|fuer|pour|para|per|voor|dla|для|от|на)(?: [^\s"':]{1,24}){1,2})?(?: (?:ist|lautet|war|es|era|est|était|é|è|is|was|jest|to|je|är|er|on|là|adalah|είναι|היא|هي|است|คือ|है|=|:|—|-))?:? ([^\s"'`\x{201c}\x{201d}\x{201e}\x{ab}\x{bb}]{6,64})|(?:パスワード|密码|密碼|口令|비밀번호|암호)(?:は|是|为|為|는|은|を)?[:：]?[ \t]?((?-u:[A-Za-z0-9!@#$%^&*._+=~-]){6,64})|\buse ([^\s"'`]{6,64}) as (?:the |my |your |our |a |an )?(?:(?:api|access|auth|secret|bearer|admin|root|login|account|wifi|wi-fi|database|db) )?(?:password|passphrase|passcode|key|token|secret)\b"#;

/// Keys and tokens given in words of other languages than English ("Mein API-Schlüssel lautet:
/// …", "ma clé API : …", "minha chave de API é …", "мой API ключ: …", "私のAPIキーは …",
/// "我的API密钥是 …"); English prose and assignments are `GENERIC_PATTERN`'s and
/// `PASSWORD_PROSE`'s. The label, then a qualifier (`API`, `de acceso`), then a separator (a
/// verb, a particle, a colon or spaces; never nothing, so `Schlüsselwort…` is no label), then the value
/// (group 1), checked like a generic secret. The English words `token` and `API key` count only
/// followed by a verb of another language ("el token de acceso es …", "le jeton est …", "meine
/// API-Key ist …"); `apiToken = …` is an assignment, with the generic detector's checks of its
/// name.
const KEY_PROSE: &str = r#"(?i)(?:(?:\A|[ \t(])(?:token|jeton|api[ _-]?key)(?:[ \t](?:de|da|do|di|del|d')[ \t]?(?:acceso|acesso|accesso|accès|acces))?[ \t]{1,3}(?:ist|lautet|est|es|era|é|è|är|jest|adalah|là)[ \t]{0,3}:?|(?:schl(?:ü|ue)ssel|cl(?:é|e)|chave|chiave|sleutel|nyckel(?:n)?|n(?:ø|o)kkel(?:en)?|n(?:ø|o)gle(?:n)?|klucz|kl(?:í|i)(?:č|c)|ключ|токен|anahtar(?:ı|i|ım|im)?|kulcs(?:a|om)?|kunci|kh(?:ó|o)a|מפתח|مفتاح|کلید|कुंजी|टोकन|คีย์|โทเค็น|キー|トークン|密钥|密鑰|秘钥|令牌|키|토큰)(?:[ \t](?:(?:de|da|do|di|del|della|van|för|dla|для) )?(?:api|acceso|acesso|accesso|accès|acces|toegang|åtkomst|dostępu|доступа|secreta|secrète|secrete|segreta|geheim))?(?:[ \t]{0,3}(?:は|是|为|為|는|은|이|가)?[ \t]{0,3}[:：=]|[ \t]{0,3}(?:は|是|为|為|는|은)|[ \t]{1,3}(?:ist|lautet|war|is|est|es|era|é|è|är|er|on|jest|je|to|adalah|là|है|הוא|هو|คือ|—|-)[ \t]{0,3}:?|[ \t]{1,3}))[ \t]{0,3}["'`\x{201c}\x{201e}\x{ab}]?([A-Za-z0-9+/=_.~-]{12,200})"#;

/// Key and token labels of [`KEY_PROSE`] for the keyword automaton, as `to_ascii_lowercase`
/// leaves them (a capital outside ASCII stays: `Ключ`).
const KEY_LABEL_WORDS: &[&str] = &[
    "schlüssel",
    "schluessel",
    "clé",
    "jeton",
    "chave",
    "chiave",
    "sleutel",
    "nyckel",
    "nøkkel",
    "nøgle",
    "klucz",
    "klíč",
    "ключ",
    "Ключ",
    "токен",
    "Токен",
    "anahtar",
    "kulcs",
    "kunci",
    "khóa",
    "מפתח",
    "مفتاح",
    "کلید",
    "कुंजी",
    "टोकन",
    "คีย์",
    "โทเค็น",
    "キー",
    "トークン",
    "密钥",
    "密鑰",
    "秘钥",
    "令牌",
    "키",
    "토큰",
];

/// Words for a password that name a field by themselves, in the languages agents meet most
/// (`Passwort`, `contraseña`, `mot de passe`, `senha`, `пароль`, `パスワード`, `密码`, ...);
/// lowercase, as `to_ascii_lowercase` leaves them.
const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "psk",
    "passphrase",
    "secret",
    "passwort",
];

/// Password labels of other languages that the keyword automaton finds too (`Passwort` is
/// found through `pass`), as `to_ascii_lowercase` leaves them.
const LABEL_WORDS: &[&str] = &[
    "kennwort",
    "clave",
    "clé",
    "passord",
    "adgangskode",
    "mật khẩu",
    "mat khau",
    "kata sandi",
    "κωδικός",
    "κωδικος",
    "סיסמה",
    "סיסמא",
    "كلمة المرور",
    "كلمة السر",
    "رمز عبور",
    "पासवर्ड",
    "รหัสผ่าน",
    "contraseña",
    "contrasena",
    "mot de passe",
    "senha",
    "wachtwoord",
    "lösenord",
    "losenord",
    "salasana",
    "hasło",
    "haslo",
    "heslo",
    "parola",
    "пароль",
    "Пароль",
    "パスワード",
    "密码",
    "密碼",
    "口令",
    "비밀번호",
    "암호",
    "şifre",
    "Şifre",
    "sifre",
    "jelszó",
    "jelszo",
    "비번",
    "패스워드",
    "p/w",
    "paasword",
];

/// Words that let the prose form run on text without token syntax.
const PROSE_WORDS: &[&str] = &["password", "passphrase", "passcode"];

/// A value that names a password field (`user_password`, `#add-password`, `ChangePassword`,
/// `MY_PASSWD`) rather than holding a password (`thisismypassword`, `Password123!`).
fn names_password_field(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let Some(at) = lower.find("password").or_else(|| lower.find("passwd")) else {
        return false;
    };
    // A symbol, or digits in a capitalized value, after the word make a person's password of
    // it (`AdminPassword01`, `myPassword!`), not a field's or variable's name
    // (`adminPassword`, `userPassword2`).
    let tail = &v[at + 6..];
    let chosen = tail.bytes().any(|c| b"!@$%^&*+=?~".contains(&c))
        || (v.starts_with(|c: char| c.is_ascii_uppercase())
            && tail.bytes().any(|c| c.is_ascii_digit()));
    v.contains(['_', '-', '.', '/', ':', '#', ' '])
        || (at > 0 && v.as_bytes()[at].is_ascii_uppercase() && !chosen)
}

/// The (at most) `n` bytes of `s` before `end`, from a character boundary, lowercased.
fn lowercase_before(s: &str, end: usize, n: usize) -> String {
    let mut from = end.saturating_sub(n);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    s[from..end].to_ascii_lowercase()
}

/// Whether one of the four lines above `line_start` sets a user (`user = Aladdin`,
/// `username: admin`, `login=ops`): then `password = open_sesame` below it, spaces around `=`
/// and all, is the pair of a configuration block rather than an assignment in code.
fn user_line_above(s: &str, line_start: usize) -> bool {
    s[..line_start].lines().rev().take(4).any(|l| {
        let l = l.trim_start().to_ascii_lowercase();
        ["username", "user", "login"].iter().any(|k| {
            l.strip_prefix(k)
                .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with(['=', ':']))
        })
    })
}

/// A line of a configuration file (`.env`, INI, properties): the name starts the line (after
/// indentation or `export`), `=` follows it with no space, and the value runs to the end of the
/// line or to a comment (`Password=thisismypassword`, `export DB_PASSWORD=hunter2hunter`). The
/// value is then a literal, as a quoted one is in code; code puts spaces around `=` (unless a
/// user is set just above, see [`user_line_above`]) or passes `password=x` inside a call.
fn config_line(s: &str, name_start: usize, name_end: usize, value: Range<usize>) -> bool {
    let line_start = s[..name_start].rfind('\n').map_or(0, |i| i + 1);
    let indent = s[line_start..name_start].trim_start_matches([' ', '\t']);
    let rest = s[value.end..].trim_start_matches([' ', '\t']);
    let sep = &s[name_end..value.start];
    (indent.is_empty() || indent == "export ")
        && (sep == "=" || (sep.trim_matches([' ', '\t']) == "=" && user_line_above(s, line_start)))
        && (rest.is_empty() || rest.starts_with(['\n', '\r', '#', ';']) || rest.starts_with("//"))
        && !s[value.clone()].contains(['(', '[', '{', '.'])
}

/// References, templates, selectors, paths and values that name the field itself
/// (`#add-password`, `/passwords/:id`, `arn:aws:…:ChangePassword`); a value running from one
/// field into the next (`"Password:",rememberMe:"…`) or ending in a colon (`"Password:"`) is a
/// label or a piece of markup.
fn password_reference(v: &str) -> bool {
    v.starts_with([
        '$', '{', '[', '(', '%', '<', '@', '&', '*', '.', '/', '#', '\'', '"', '\\', ',',
    ]) || v.ends_with(':')
        || v.contains("://")
        || v.to_ascii_lowercase().starts_with("arn:")
        // A YAML tag: `password: !vault |`, `password: !secret wifi_password`.
        || v
            .strip_prefix('!')
            .is_some_and(|t| !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphabetic()))
        || names_password_field(v)
}

/// Whether a password candidate is plausible: not a reference, call, path or identifier.
fn plausible_password(v: &str, quoted: bool) -> bool {
    if password_reference(v) {
        return false;
    }
    let identifier = v
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        && !v.bytes().any(|c| c.is_ascii_digit());
    if quoted {
        !identifier || v.bytes().all(|c| c.is_ascii_alphabetic())
    } else {
        plausible_password_shape(v) && !code_identifier(v)
    }
}

/// An unquoted password's shape: a digit or a symbol, a letter, and neither a plain identifier
/// nor code (calls, indexing, paths: `config['user']`, `windows_sys::core::PWSTR`).
fn plausible_password_shape(v: &str) -> bool {
    let symbol_or_digit = v.bytes().any(|c| !c.is_ascii_alphabetic());
    let identifier = v
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        && !v.bytes().any(|c| c.is_ascii_digit());
    let code = v.contains(['[', '(', '{', ')']) || v.contains("::") || v.contains("->");
    // A member of an object or module (`user.pw2`, `cfg.db_pass1`), in lowercase: a token
    // such as `ya29.a0AfH6SMBx8k2` changes case.
    let member = v.contains('.')
        && v.split('.').all(|g| {
            g.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && g.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        });
    symbol_or_digit && !identifier && !code && !member && v.contains(char::is_alphabetic)
}

/// Rows of a table read below a header that names a secret column.
const TABLE_ROWS: usize = 1000;

/// How far past its keyword a generic or password match can reach, in bytes.
const GENERIC_REACH: usize = 600;

/// How far around its keyword a prose password can lie, in bytes.
const PROSE_REACH: usize = 160;

/// Keywords that let the generic detector run.
const GENERIC_KEYWORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "psk",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "api.key",
    "access_key",
    "access-key",
    "accesskey",
    "auth_key",
    "authkey",
    "private_key",
    "privatekey",
    "private-key",
    "credential",
    "creds",
    "signing",
    "encryption",
    "authorization",
    "key",
    "access",
    "private",
    "auth",
];

/// Generic keywords too common to name a secret unless they end the name (`api_key`,
/// `STRIPE_ACCESS`, `buddynsPRIVATE`, not `key_down`, `access_level`, `private_mode`).
const WEAK_KEYWORDS: &[&str] = &["key", "access", "private", "auth"];

/// Shannon entropy of `s` in bits per byte.
pub(crate) fn entropy(s: &str) -> f32 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// Keys published on purpose and found in thousands of public repositories, never secrets
/// (gitleaks lists the same values among its stopwords).
const PUBLIC_VALUES: &[&str] = &[
    // Algolia's search-only key of the public npm-search index, embedded in yarn and in the
    // search boxes of many package sites.
    "6fe4476ee5a1832882e326b506d14126",
];

/// Values that are words, not secrets.
const PLACEHOLDER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "token",
    "secret",
    "pass",
    "username",
    "user",
    "null",
    "none",
    "true",
    "false",
    "undefined",
    "empty",
    "string",
    "value",
    "apikey",
    "api_key",
    "key",
];

/// Whether `v` is a word that stands for a value (`password`, `null`, `<token>`).
fn placeholder_value(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let bare = lower.trim_matches(|c: char| {
        matches!(
            c,
            '"' | '\'' | '`' | '[' | ']' | '(' | ')' | '<' | '>' | ':'
        )
    });
    PLACEHOLDER_VALUES.contains(&bare)
}

/// Whether `v` is an example, a template, a reference or a value too regular to be random;
/// `example_word` says whether the word `example` alone makes a placeholder. A value the match
/// names (`aws_secret_access_key="wJalr…EXAMPLEKEY"`) is
/// reported even so: documentation keys get pasted as real ones, and redacting one costs
/// nothing. A token known only by its format (`AKIAIOSFODNN7EXAMPLE`) is not.
fn placeholder_shape_with(v: &str, example_word: bool) -> bool {
    let lower = v.to_ascii_lowercase();
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| (example_word || *w != "example") && lower.contains(w))
    {
        return true;
    }
    // A format template: `{auth_token}`, `{0}`.
    if v.starts_with('{') && v.contains('}') {
        return true;
    }
    // A shell or template variable: `$PASSWORD`, `${TOKEN}`, `$_ENV`, `$password`.
    if let Some(rest) = v.strip_prefix('$')
        && (rest.starts_with(|c: char| c.is_ascii_uppercase() || c == '{' || c == '_')
            || (rest.starts_with(|c: char| c.is_ascii_lowercase())
                && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')))
    {
        return true;
    }
    // Long runs of one character other than `A` (base64 of zero bytes): `aaaaaaaa`, `55555555`,
    // unless another part of the token is random (`xoxa-2-511111111-…-e039d02840a0b9379c`:
    // the run is an id, the tail the secret).
    let b = v.as_bytes();
    let mut run = 1;
    for i in 1..b.len() {
        run = if b[i] == b[i - 1] && b[i] != b'A' {
            run + 1
        } else {
            1
        };
        if run >= 8 {
            return !v
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(random_segment);
        }
    }
    // Long values with very little entropy: `glc_1111…`, `0000…TUVWXYZ`.
    if v.len() >= 16 && entropy(v) < 2.5 {
        return true;
    }
    let mut distinct = [false; 256];
    let mut n = 0;
    for b in v.bytes() {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    // `aaaaaaaa`, `0000-0000`, `abababab`.
    n <= 3 || (v.len() >= 12 && n <= 5)
}

/// The length of the run of letters in alphabet order (`abcdefg`, `ABCDE`) that opens `v`.
fn typed_opening(v: &str) -> usize {
    let b = v.as_bytes();
    let mut n = usize::from(b.first().is_some_and(u8::is_ascii_alphabetic));
    while n > 0 && n < b.len() && b[n].is_ascii_alphabetic() && b[n] == b[n - 1] + 1 {
        n += 1;
    }
    n
}

/// A part of a token that looks drawn at random: twelve or more characters, eight or more of
/// them distinct, no run of four of one character.
fn random_segment(g: &str) -> bool {
    let b = g.as_bytes();
    let mut distinct = [false; 256];
    b.iter().for_each(|&c| distinct[c as usize] = true);
    b.len() >= 12
        && distinct.iter().filter(|&&d| d).count() >= 8
        && !b.windows(4).any(|w| w.iter().all(|&c| c == w[0]))
}

/// A value that is cut short or masked where it appears: `ops_eyJz..[Redacted]`, `sk-abc…`.
fn truncated(s: &str, end: usize) -> bool {
    let after = s[end..].trim_start_matches(['"', '\'']);
    let head = after.get(..10).unwrap_or(after).to_ascii_lowercase();
    head.starts_with("..")
        || head.starts_with('…')
        || head.starts_with("***")
        || head.starts_with("[redact")
        || head.starts_with("<redact")
}

/// A dotted name (`jetbrains.mps.v8_elimination`, `spring.datasource.password`) or a path
/// (`/en/enterprise/3.0/auth`): identifiers, not secrets.
fn identifier_like(v: &str) -> bool {
    if v.starts_with('/') {
        return true;
    }
    let segments: Vec<&str> = v.split('.').collect();
    segments.len() >= 2
        && segments.iter().all(|g| {
            g.starts_with(|c: char| c.is_ascii_lowercase())
                && g.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-')
                })
                && g.bytes().filter(u8::is_ascii_digit).count() <= 2
        })
}

/// A name under which a UUID is a credential (`jenkinsToken`, `HEROKU_API_KEY`,
/// `tatum_secret_key`), not a request or object id (`request_token_id`, `keyId`). npm's tokens
/// were UUIDs until 2021 (`npm_` and 36 characters since) and npm revoked those classic tokens
/// in 2025, so a UUID under an npm name is no longer one.
fn uuid_credential_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.contains("npm") {
        return false;
    }
    [
        "token", "secret", "password", "apikey", "api_key", "api-key", "auth",
    ]
    .iter()
    .any(|k| lower.contains(k))
        && !lower.trim_end_matches(['"', '\'', '`']).ends_with("id")
        && ![
            "csrf",
            "xsrf",
            "request",
            "trace",
            "correlation",
            "idempotency",
            "nonce",
            "state",
        ]
        .iter()
        .any(|k| lower.contains(k))
}

fn uuid_like(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Generic {
    /// Whether a generic candidate passes the charset and entropy checks.
    fn accepts(&self, v: &str, uuid_ok: bool) -> bool {
        let v = v.trim_end_matches(['.', ',']);
        if uuid_like(v) {
            return uuid_ok;
        }
        if v.len() < 12 {
            return false;
        }
        // A typed filler: seven or more letters of the alphabet in order, then too little for a
        // random part (`abcdefg12346+FJQCK`). Random text opens so in one of 26^6 values.
        if v.len() <= 20 && typed_opening(v) >= 7 {
            return false;
        }
        let lower = v.bytes().any(|c| c.is_ascii_lowercase());
        let upper = v.bytes().any(|c| c.is_ascii_uppercase());
        let digit = v.bytes().any(|c| c.is_ascii_digit());
        // Words, identifiers and paths (`my_secret_name`, `config.api.token`) are not secrets:
        // a secret mixes at least two of lowercase, uppercase and digits.
        if (lower as u8 + upper as u8 + digit as u8) < 2 {
            return false;
        }
        // URLs and subresource-integrity digests (`sha512-…`) are not secrets by themselves.
        if v.contains("://") || (v.starts_with("sha") && v.contains('-')) || identifier_like(v) {
            return false;
        }
        entropy(v) >= self.entropy
    }
}

impl Secrets {
    /// The built-in rules with the default configuration.
    pub fn builtin() -> Result<Self, Error> {
        Self::new(&SecretsConfig::default())
    }

    /// Built-in rules plus those of `config`, with its allowlists.
    pub fn new(config: &SecretsConfig) -> Result<Self, Error> {
        let mut defs = Vec::new();
        if !config.no_builtin_rules {
            defs.extend(parse_rules(BUILTIN_RULES, "builtin secret rules")?);
        }
        if let Some(extra) = &config.extra_rules {
            defs.extend(parse_rules(extra, "secrets.extra_rules")?);
        }
        if config.identifiers {
            if !config.no_builtin_rules {
                defs.extend(parse_identifier_rules(
                    BUILTIN_IDENTIFIER_RULES,
                    "builtin identifier rules",
                )?);
            }
            if let Some(extra) = &config.extra_identifier_rules {
                defs.extend(parse_identifier_rules(
                    extra,
                    "secrets.extra_identifier_rules",
                )?);
            }
        }
        // Keywords of identifier rules that name a host (`jfrog.io`, `.okta`): such a rule
        // matches text without any token syntax (`acme.jfrog.io`), which the secret rules skip.
        let mut host_words: Vec<String> = Vec::new();
        let limits = Limits::default();
        let mut rules = Vec::with_capacity(defs.len());
        let mut keywords: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for d in defs {
            let pattern = match (&d.pattern, &d.token) {
                (Some(p), _) => p.clone(),
                (None, Some(t)) => context_regex(&d.keywords, t),
                (None, None) => unreachable!("checked by parse_rules"),
            };
            let window = keyword_window(&pattern, &d.keywords);
            // ASCII word boundaries and classes keep the lazy DFA on non-ASCII text.
            let pattern = pattern.replace(r"\b", r"(?-u:\b)");
            let re = matcher::compile(&d.id, &[pattern.as_str()], false, limits)?;
            for k in &d.keywords {
                keywords
                    .entry(k.to_ascii_lowercase())
                    .or_default()
                    .push(rules.len());
            }
            let identifier = d.id.starts_with("identifier.");
            if identifier {
                host_words.extend(
                    d.keywords
                        .iter()
                        .filter(|k| k.contains('.'))
                        .map(|k| k.to_ascii_lowercase()),
                );
            }
            rules.push(Rule {
                id: d.id,
                description: d.description,
                re,
                entropy: d.entropy,
                context: d.token.is_some(),
                keywords: d.keywords.iter().map(|k| k.to_ascii_lowercase()).collect(),
                window,
                structural: d.structural,
                allow: d.allow,
                identifier,
            });
        }
        let generic = if config.generic {
            let re = matcher::compile("secret.generic", &[GENERIC_PATTERN], false, limits)?;
            for k in GENERIC_KEYWORDS
                .iter()
                .chain(LABEL_WORDS)
                .chain(KEY_LABEL_WORDS)
            {
                keywords
                    .entry((*k).to_string())
                    .or_default()
                    .push(usize::MAX);
            }
            keywords
                .entry("insert into".to_string())
                .or_default()
                .push(INSERT_HIT);
            for k in notes::ACCOUNT_KEYWORDS {
                keywords
                    .entry((*k).to_string())
                    .or_default()
                    .push(ACCOUNT_HIT);
            }
            let passwords =
                matcher::compile("secret.password", &[PASSWORD_PATTERN], false, limits)?;
            let prose = matcher::compile("secret.password", &[PASSWORD_PROSE], false, limits)?;
            let keys = matcher::compile("secret.generic", &[KEY_PROSE], false, limits)?;
            let prose_words = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(PROSE_WORDS)
                .map_err(|e| Error::detector("secret", e.to_string()))?;
            Some(Generic {
                re,
                passwords,
                prose,
                keys,
                prose_words,
                entropy: config.generic_entropy,
            })
        } else {
            None
        };
        let keywords = if keywords.is_empty() {
            None
        } else {
            let (keys, targets): (Vec<String>, Vec<Vec<usize>>) = keywords.into_iter().unzip();
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&keys)
                .map_err(|e| Error::detector("secret", e.to_string()))?;
            Some((ac, targets))
        };
        let allow_patterns = if config.allow_patterns.is_empty() {
            None
        } else {
            let anchored: Vec<String> = config
                .allow_patterns
                .iter()
                .map(|p| format!("^(?:{p})$"))
                .collect();
            let refs: Vec<&str> = anchored.iter().map(String::as_str).collect();
            Some(matcher::compile(
                "secrets.allow_patterns",
                &refs,
                false,
                limits,
            )?)
        };
        let host_words = if host_words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&host_words)
                    .map_err(|e| Error::detector("secret", e.to_string()))?,
            )
        };
        Ok(Secrets {
            rules,
            keywords,
            host_words,
            generic,
            allow: config.allow.clone(),
            allow_patterns,
            stopwords: config
                .stopwords
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            redact_keep: config.redact_keep,
        })
    }

    /// Number of compiled rules, secret and identifier (the generic detector not counted).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The ids of the rules (`secret.*`, then `identifier.*`).
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Whether the value is allowlisted, a stopword hit or a placeholder.
    fn ignored(&self, v: &str) -> bool {
        placeholder_value(v) || self.ignored_shape(v)
    }

    /// [`Self::ignored`] without the placeholder words (for a URI's password).
    fn ignored_shape(&self, v: &str) -> bool {
        self.ignored_shape_with(v, true)
    }

    /// [`Self::ignored_shape`], with `example_word` as in [`placeholder_shape_with`].
    fn ignored_shape_with(&self, v: &str, example_word: bool) -> bool {
        if placeholder_shape_with(v, example_word)
            || PUBLIC_VALUES.contains(&v)
            || self.allow.iter().any(|a| a == v)
        {
            return true;
        }
        if !self.stopwords.is_empty() {
            let lower = v.to_ascii_lowercase();
            if self.stopwords.iter().any(|w| lower.contains(w.as_str())) {
                return true;
            }
        }
        self.allow_patterns
            .as_ref()
            .is_some_and(|re| re.is_match(v))
    }

    /// Reports the password of a match of `PASSWORD_PATTERN` (or, with `prose`, of
    /// `PASSWORD_PROSE`) in `s`, the canonical text of `layer`, when it is plausible.
    fn password(
        &self,
        caps: &Captures,
        prose: bool,
        at: &Found<'_>,
        seen: &mut Vec<Range<usize>>,
        out: &mut Vec<Finding>,
    ) {
        let Found { s, layer, original } = *at;
        let mut pair = false;
        let mut numeric = false;
        let (range, quoted) = if prose {
            match (1..7).find_map(|i| caps.get_group(i).map(|g| (i, g))) {
                // A bare label followed by a word ("a password and/or", "güçlü şifre
                // korumaları") is prose unless the word has a digit.
                Some((4 | 5, v)) if !s[v.range()].bytes().any(|c| c.is_ascii_digit()) => return,
                Some((i, v)) => {
                    let value = &s[v.range()];
                    let digits = value.bytes().all(|c| c.is_ascii_digit());
                    // Digits alone are a password or passcode ("my password is 19871023",
                    // "the passcode is 739215"), not a key's or token's size ("2048").
                    if digits {
                        let label = caps
                            .get_match()
                            .map(|m| s[m.start()..v.start].to_lowercase())
                            .unwrap_or_default();
                        if !(4..=12).contains(&value.len())
                            || ![
                                "password",
                                "passcode",
                                "passwort",
                                "contraseña",
                                "senha",
                                "пароль",
                            ]
                            .iter()
                            .any(|k| label.contains(k))
                        {
                            return;
                        }
                        numeric = true;
                    }
                    // Group 2 takes four characters for digits only; group 6 ("use … as the
                    // token") needs a value with a digit or symbol, like an unquoted password.
                    if i == 6 && !plausible_password_shape(value) {
                        return;
                    }
                    if i == 2 && !digits && value.chars().count() < 6 {
                        return;
                    }
                    (v.range(), i == 1 || i == 3)
                }
                None => return,
            }
        } else {
            let Some(name) = caps.get_group(1) else {
                return;
            };
            if generic_name_stop(&s[name.range()]) || mid_word(s, name.range()) {
                return;
            }
            let (range, quoted) = match (2..5).find_map(|i| caps.get_group(i).map(|g| (i, g))) {
                Some((i, v)) => (v.range(), i < 4),
                None => return,
            };
            // Named only by `pass` or `pw` (`DB_PASS`, `smtpPass`, `wifi_pw`): the word must start there (not
            // `LOCALBYPASS`) and the value be quoted or set with `=` (not `// Scale pass: 2-x`).
            let n = &s[name.range()];
            let lower = n.to_ascii_lowercase();
            if !PASSWORD_WORDS
                .iter()
                .chain(LABEL_WORDS)
                .any(|k| lower.contains(k))
            {
                let b = n.as_bytes();
                let at = lower
                    .rfind("pass")
                    .or_else(|| lower.rfind("pw"))
                    .unwrap_or(0);
                // A word glued before it that names an account (`userpass`, `DBPASS`,
                // `smtppass`) makes a compound, not a longer word (`bypass`, `compass`).
                let glued = lower[..at]
                    .rsplit(|c: char| !c.is_ascii_alphabetic())
                    .next()
                    .is_some_and(|w| SECRET_COMPOUNDS.contains(&w));
                let starts_word = at == 0
                    || !b[at - 1].is_ascii_alphabetic()
                    || (b[at - 1].is_ascii_lowercase() && b[at] == b'P')
                    || glued;
                // `pass: hunter22` right under a `user:` line (an e-mail, a note) is a login.
                let login_above = || {
                    let above = lowercase_before(s, name.start, 120);
                    ["user:", "username:", "login:", "user name:", "email:"]
                        .iter()
                        .any(|l| above.contains(l))
                };
                // A compound name (`ansible_become_pass`, `smtpPass`) is a field, not the word
                // `pass` in a sentence.
                let compound = at > 0 && b[at - 1] != b' ';
                // Inside a word in capitals (`MYSQLPASS`, but also `LOCALBYPASS`), only a value
                // drawn at random is a password.
                let random = || {
                    let v = &s[range.clone()];
                    v.len() >= 16
                        && entropy(v) >= 3.5
                        && v.split(|c: char| !c.is_ascii_alphanumeric())
                            .any(random_segment)
                };
                if (!starts_word && !random())
                    || (!quoted
                        && !compound
                        && !s[name.end..range.start].contains('=')
                        && !login_above())
                {
                    return;
                }
            }
            // `>` ends an XML element's name: `<password>hunter2x</password>` holds a literal up
            // to the closing tag (not `if password > limit`).
            let sep = &s[name.end..range.start];
            let (range, quoted) = if xml_element(sep) {
                if !s[..name.start].ends_with(['<', ':']) {
                    return;
                }
                let v = &s[range.clone()];
                let end = range.start + v.find('<').unwrap_or(v.len());
                (range.start..end, true)
            } else {
                (range, quoted)
            };
            let config_line = !quoted && config_line(s, name.start, name.end, range.clone());
            // Under a user line, a configuration block's password may be a word of code's
            // shape (`user = Aladdin` then `password = open_sesame`).
            pair = config_line && s[name.end..range.start] != *"=";
            (range, quoted || config_line)
        };
        // An unquoted value may end a sentence or a list: `… is Summer2024!.`, `pw=abc123,`.
        let v = &s[range.clone()];
        let v = if quoted {
            // The backslash of an escaped closing quote (`\"goodspec\"`).
            v.strip_suffix('\\').unwrap_or(v)
        } else {
            v[..query_value_len(v)].trim_end_matches(['.', ',', ';', ':', '?', ')'])
        };
        let range = range.start..range.start + v.len();
        // An anonymous login's password is by convention an e-mail address or its user part
        // (`user = "anonymous"; password = "busybox@"`), not a secret.
        let anonymous =
            v.ends_with('@') && lowercase_before(s, range.start, 200).contains("anonymous");
        // After a label in words ("le mot de passe est Lune#Bleue2024"), words joined by a
        // symbol and a digit are how people make passwords, not code ("is well-known" is not).
        let made_up = || {
            v.bytes()
                .any(|c| c.is_ascii_digit() || b"!#$%&*+=?@^~".contains(&c))
        };
        let plausible = numeric
            || plausible_password(v, quoted)
            || (pair && v.len() >= 6 && !password_reference(v))
            || (prose
                && !quoted
                && !password_reference(v)
                && plausible_password_shape(v)
                && made_up());
        if anonymous || !plausible || self.ignored(v) || overlaps(seen, &range) {
            return;
        }
        seen.push(range.clone());
        out.push(self.finding(
            "secret.password",
            "Password assigned to a password-like name",
            layer,
            original,
            range,
            0.8,
        ));
    }

    /// Secrets in a table (CSV, TSV, `;`-separated): a header line whose column names a
    /// password or a key (`username,password`, `name\tapi_key`) makes that column of the rows
    /// below secrets, checked like a quoted password or a generic value. `line_start` is the
    /// start of a line holding a keyword hit; `done` the headers already read.
    fn table(
        &self,
        g: &Generic,
        at: &Found<'_>,
        line_start: usize,
        seen: &mut Vec<Range<usize>>,
        out: &mut Vec<Finding>,
    ) {
        let Found { s, layer, original } = *at;
        let header_end = s[line_start..]
            .find('\n')
            .map_or(s.len(), |i| line_start + i);
        // A Markdown table's outer pipes (`| user | password |`) hold no column.
        let pipes = |l: &str| -> (usize, usize) {
            let t = l.trim_end_matches('\r');
            let lead = t.len() - t.trim_start().trim_start_matches('|').len();
            (lead, t.trim_end().trim_end_matches('|').len().max(lead))
        };
        let (h0, h1) = pipes(&s[line_start..header_end]);
        let header = &s[line_start + h0..line_start + h1];
        let Some(sep) = [',', '\t', ';', '|']
            .into_iter()
            .find(|c| header.matches(*c).count() >= 1)
        else {
            return;
        };
        let names: Vec<&str> = header
            .split(sep)
            .map(|f| f.trim().trim_matches(['"', '\'']))
            .collect();
        // A header is short names only: `username,password`, not a sentence with commas.
        if names.len() > 64
            || names.iter().any(|n| {
                n.is_empty()
                    || n.len() > 40
                    || !n.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b' ')
                    })
            })
        {
            return;
        }
        let column = |n: &str| {
            if n.len() > 24 || n.split(' ').count() > 2 {
                return None;
            }
            let lower = n.to_ascii_lowercase();
            let password = PASSWORD_WORDS.iter().any(|w| lower.contains(w)) || lower == "pass";
            let secret = !password
                && [
                    "token",
                    "api_key",
                    "apikey",
                    "api key",
                    "api-key",
                    "secret",
                    "access_key",
                    "private_key",
                ]
                .iter()
                .any(|w| lower.contains(w));
            match (password, secret) {
                _ if generic_name_stop(n) => None,
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            }
        };
        let columns: Vec<(usize, bool)> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| column(n).map(|p| (i, p)))
            .collect();
        if columns.is_empty() {
            return;
        }
        let mut at = header_end + 1;
        for _ in 0..TABLE_ROWS {
            if at >= s.len() {
                break;
            }
            let end = s[at..].find('\n').map_or(s.len(), |i| at + i);
            let (r0, r1) = pipes(&s[at..end]);
            let row = &s[at + r0..at + r1];
            // The rule under a Markdown header (`|---|:---:|`).
            if sep == '|' && row.bytes().all(|c| matches!(c, b'-' | b':' | b'|' | b' ')) {
                at = end + 1;
                continue;
            }
            if row.split(sep).count() != names.len() {
                break;
            }
            let mut field_start = at + r0;
            for (i, field) in row.split(sep).enumerate() {
                let here = field_start;
                field_start += field.len() + sep.len_utf8();
                let Some(&(_, password)) = columns.iter().find(|(c, _)| *c == i) else {
                    continue;
                };
                let lead = field.len() - field.trim_start_matches([' ', '"', '\'']).len();
                let v = field.trim_matches([' ', '"', '\'']);
                let range = here + lead..here + lead + v.len();
                let ok = !v.contains(char::is_whitespace)
                    && if password {
                        v.len() >= 6 && plausible_password(v, true) && !self.ignored(v)
                    } else {
                        plausible_value(v) && g.accepts(v, false) && !self.ignored(v)
                    };
                if ok && !overlaps(seen, &range) {
                    seen.push(range.clone());
                    out.push(self.finding(
                        if password {
                            "secret.password"
                        } else {
                            "secret.generic"
                        },
                        "Secret in a table column named for one",
                        layer,
                        original,
                        range,
                        0.8,
                    ));
                }
            }
            at = end + 1;
        }
    }

    /// The finding for secret `range` of `view` found by rule `id`.
    fn finding(
        &self,
        id: &str,
        description: &str,
        layer: &crate::text::Layer<'_>,
        original: &str,
        range: Range<usize>,
        score: f32,
    ) -> Finding {
        let view = layer.canonical();
        let span = view.to_original(range.clone());
        let secret = &view.as_str()[range];
        let masked = match layer.origin() {
            // The original bytes are the secret itself: keep a prefix.
            Origin::Original if &original[span.clone()] == secret => {
                let keep: String = secret.chars().take(self.redact_keep).collect();
                let hidden = secret.chars().count().saturating_sub(keep.chars().count());
                format!("{keep}{}", "*".repeat(hidden))
            }
            // Normalized or encoded: hide the whole span.
            _ => "*".repeat(original[span.clone()].chars().count()),
        };
        let shown: String = masked.chars().take(24).collect();
        Finding::new(
            id.to_string(),
            Category::Secret,
            span,
            score,
            Action::Redact,
            format!("{description}: {shown}{}", layer.describe()),
        )
        .with_replacement(masked)
    }
}

/// Where a candidate was found: the canonical text `s` of `layer`, and the original text.
#[derive(Clone, Copy)]
struct Found<'a> {
    s: &'a str,
    layer: &'a crate::text::Layer<'a>,
    original: &'a str,
}

impl Secrets {
    /// Reports the value at `range` as `id` unless it is allowlisted, a placeholder, or covered
    /// by a reported secret.
    fn report(
        &self,
        at: &Found<'_>,
        id: &str,
        description: &str,
        range: Range<usize>,
        seen: &mut Vec<Range<usize>>,
        out: &mut Vec<Finding>,
    ) {
        if self.ignored(&at.s[range.clone()]) || overlaps(seen, &range) {
            return;
        }
        seen.push(range.clone());
        out.push(self.finding(id, description, at.layer, at.original, range, 0.8));
    }
}

/// A candidate of the generic detector: its value's range (trailing `.` and `,` are trimmed
/// off), whether a UUID may be a secret under its name, and the finding's description.
struct GenericValue {
    range: Range<usize>,
    uuid_ok: bool,
    description: &'static str,
}

impl Secrets {
    /// Reports a generic candidate of `s` (the canonical text of `layer`) as `secret.generic`
    /// when it passes the generic detector's checks (plausible, no provider prefix, entropy and
    /// charset, not cut short, not allowlisted) and no reported secret covers it.
    fn generic_value(
        &self,
        g: &Generic,
        at: &Found<'_>,
        found: GenericValue,
        seen: &mut Vec<Range<usize>>,
        out: &mut Vec<Finding>,
    ) {
        let Found { s, layer, original } = *at;
        let v = s[found.range.clone()].trim_end_matches(['.', ',']);
        let range = found.range.start..found.range.start + v.len();
        if !plausible_value(v)
            || provider_marked(v)
            || !g.accepts(v, found.uuid_ok)
            || truncated(s, range.end)
            || self.ignored(v)
            || overlaps(seen, &range)
        {
            return;
        }
        seen.push(range.clone());
        out.push(self.finding(
            "secret.generic",
            found.description,
            layer,
            original,
            range,
            0.7,
        ));
    }

    /// The finding for an identifier: category `identifier`, action `allow`, masked like a
    /// secret should a rule raise the action to `redact`.
    fn identifier_finding(
        &self,
        rule: &Rule,
        layer: &crate::text::Layer<'_>,
        original: &str,
        range: Range<usize>,
    ) -> Finding {
        let mut f = self.finding(&rule.id, &rule.description, layer, original, range, 0.9);
        f.category = Category::Identifier;
        f.action = Action::Allow;
        f.message = format!("{} (an identifier, not a secret)", f.message);
        f
    }
}

/// Whether every secret-like word of an assignment name continues a lowercase word
/// (`webtoken`, `notoken`): then the name is not about a secret. CamelCase (`apiToken`),
/// separators (`api_token`) and one keyword standing alone (`ipapi_key` holds `api_key` inside
/// `ipapi`, but its `key` follows `_`) are fine.
fn mid_word(s: &str, name: Range<usize>) -> bool {
    let name_text = &s[name];
    let lower = name_text.to_ascii_lowercase();
    let b = name_text.as_bytes();
    let mut any = false;
    for k in GENERIC_KEYWORDS.iter().chain(LABEL_WORDS) {
        for (at, _) in lower.match_indices(k) {
            any = true;
            if at == 0
                || !(b[at - 1].is_ascii_lowercase() && b[at].is_ascii_lowercase())
                || SECRET_COMPOUNDS.iter().any(|p| lower[..at].ends_with(p))
            {
                return false;
            }
        }
    }
    any
}

/// Words that form one lowercase compound with a secret word and keep its meaning
/// (`jwtsecret`, `clientsecret`, `apitoken`, `rootpassword`, `userpass`).
const SECRET_COMPOUNDS: &[&str] = &[
    "jwt", "api", "app", "client", "db", "auth", "session", "bot", "access", "admin", "root",
    "master", "refresh", "bearer", "oauth", "webhook", "signing", "shared", "consumer", "user",
    "mysql", "pg", "postgres", "smtp", "mail", "ftp", "ssh", "key", "store", "redis", "proxy",
    "http", "sql", "vnc", "ldap", "bind", "wifi", "sudo", "login", "account", "jdbc", "mongo",
];

/// Whether the keyword that starts the match at `start` (after one boundary character) ends
/// where its word does in the text's own casing: `sumObj` holds `sumo` case-insensitively, but
/// its capital `O` starts another word.
fn keyword_ends_word(s: &str, start: usize, keywords: &[String]) -> bool {
    let b = s.as_bytes();
    for at in [start, start + 1] {
        for k in keywords {
            let end = at + k.len();
            if end <= b.len() && b[at..end].eq_ignore_ascii_case(k.as_bytes()) {
                let last = b[end - 1];
                let before_last = if k.len() >= 2 { b[end - 2] } else { b'_' };
                return !(last.is_ascii_uppercase() && before_last.is_ascii_lowercase());
            }
        }
    }
    true
}

/// Whether `range` overlaps a secret already reported.
fn overlaps(seen: &[Range<usize>], range: &Range<usize>) -> bool {
    seen.iter()
        .any(|r| r.start < range.end && range.start < r.end)
}

/// The secret of a match: group 1 (or 2) when the pattern has one, else the whole match.
fn secret_range(caps: &Captures) -> Option<Range<usize>> {
    (1..caps.group_len())
        .find_map(|g| caps.get_group(g))
        .or_else(|| caps.get_match().map(|m| m.span()))
        .map(|s| s.range())
}

/// Whether `s` has a dot followed by a letter or digit (`acme.okta.com`, not "the end. Next"):
/// a host name can only be there. Written without a branch per byte, so it vectorizes.
fn dotted_name(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(rest) = b.get(1..) else {
        return false;
    };
    b.iter().zip(rest).fold(0u8, |acc, (&p, &c)| {
        let alnum =
            u8::from((c | 0x20).wrapping_sub(b'a') < 26) | u8::from(c.wrapping_sub(b'0') < 10);
        acc | (u8::from(p == b'.') & alnum)
    }) != 0
}

/// Whether `s` can hold a secret at all: every rule's secret has a digit, a symbol of token or
/// assignment syntax (`_ + / = @ : % $ * & # ~ > | \\`), or a capital inside a word (random
/// tokens of sixteen or more characters without any are vanishingly rare). Prose without them,
/// most chat text, skips the keyword pass. Written without a branch per byte, so it vectorizes.
fn may_hold_secret(s: &str) -> bool {
    let b = s.as_bytes();
    let symbol = b.iter().fold(0u8, |acc, &c| {
        acc | u8::from(c.wrapping_sub(b'0') < 10)
            | u8::from(c == b'_')
            | u8::from(c == b'+')
            | u8::from(c == b'/')
            | u8::from(c == b'=')
            | u8::from(c == b'@')
            | u8::from(c == b':')
            | u8::from(c == b'%')
            | u8::from(c == b'$')
            | u8::from(c == b'*')
            | u8::from(c == b'&')
            | u8::from(c == b'#')
            | u8::from(c == b'~')
            | u8::from(c == b'>')
            | u8::from(c == b'|')
            | u8::from(c == b'\\')
    });
    if symbol != 0 {
        return true;
    }
    let inner_capital = b.iter().zip(b.iter().skip(1)).fold(0u8, |acc, (&p, &c)| {
        let letter_or_digit = (p | 0x20).wrapping_sub(b'a') < 26 || p.wrapping_sub(b'0') < 10;
        acc | u8::from(letter_or_digit & (c.wrapping_sub(b'A') < 26))
    });
    inner_capital != 0
}

impl Detector for Secrets {
    fn id(&self) -> &str {
        "secret"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let Some((ac, targets)) = &self.keywords else {
            return Ok(());
        };
        let original = input.text.original();
        let mut run: Vec<bool> = Vec::new();
        let mut generic_hits: Vec<Range<usize>> = Vec::new();
        // Where account labels of notes start (`ID:`, `계정`, `telnet`).
        let mut account_hits: Vec<usize> = Vec::new();
        // Where SQL `INSERT INTO` statements start.
        let mut inserts: Vec<usize> = Vec::new();
        // Keyword occurrences of the triggered rules that run in windows.
        let mut hits: Vec<Vec<Range<usize>>> = Vec::new();
        let mut seen: Vec<Range<usize>> = Vec::new();
        // Identifier matches of a layer (rule, range), reported after its secrets.
        let mut pending: Vec<(usize, Range<usize>)> = Vec::new();
        for layer in input.text.layers() {
            let view = layer.canonical();
            let s = view.as_str();
            let at = Found { s, layer, original };
            let relay = layer.relayed() && !matches!(layer.origin(), Origin::Original);
            if relay {
                continue;
            }
            if !may_hold_secret(s)
                && !self
                    .host_words
                    .as_ref()
                    .is_some_and(|ac| dotted_name(s) && ac.is_match(s))
            {
                // Prose without token syntax can still give a password in words ("the
                // default password is 'blooberry'").
                if let Some(g) = &self.generic {
                    generic_hits.clear();
                    generic_hits.extend(g.prose_words.find_iter(s).map(|m| m.range()));
                    if !generic_hits.is_empty() {
                        seen.clear();
                        let regions = windows(&generic_hits, PROSE_REACH, s.len());
                        each_match(&g.prose, s, &regions, |caps| {
                            self.password(caps, true, &at, &mut seen, out);
                        });
                    }
                }
                continue;
            }
            run.clear();
            run.resize(self.rules.len(), false);
            hits.iter_mut().for_each(Vec::clear);
            hits.resize(self.rules.len(), Vec::new());
            let mut generic = false;
            generic_hits.clear();
            account_hits.clear();
            inserts.clear();
            for m in ac.find_overlapping_iter(s) {
                for &r in &targets[m.pattern().as_usize()] {
                    match run.get_mut(r) {
                        Some(flag) => {
                            *flag = true;
                            if self.rules[r].window.is_some() {
                                hits[r].push(m.range());
                            }
                        }
                        None if r == ACCOUNT_HIT => account_hits.push(m.start()),
                        None if r == INSERT_HIT => inserts.push(m.start()),
                        None => {
                            generic = true;
                            generic_hits.push(m.range());
                        }
                    }
                }
            }
            seen.clear();
            pending.clear();
            for (i, rule) in self.rules.iter().enumerate().filter(|(i, _)| run[*i]) {
                let regions = regions(rule.window, &hits[i], s.len());
                each_match(&rule.re, s, &regions, |caps| {
                    let Some(range) = secret_range(caps) else {
                        return;
                    };
                    if rule.context
                        && let Some(m) = caps.get_match()
                        && !keyword_ends_word(s, m.start(), &rule.keywords)
                    {
                        return;
                    }
                    let v = &s[range.clone()];
                    if rule.identifier {
                        if !truncated(s, range.end)
                            && !rule.allow.iter().any(|a| a == v)
                            && !self.ignored_shape_with(v, false)
                        {
                            pending.push((i, range));
                        }
                        return;
                    }
                    // A value the match names (`ipapi_key=…`: the provider's keyword comes
                    // before the secret) has the name as evidence, so the rule's entropy floor
                    // (there against chance matches of its shape) does not apply.
                    let named = rule.context
                        || caps.get_match().is_some_and(|m| {
                            let before = s[m.start()..range.start].to_ascii_lowercase();
                            rule.keywords.iter().any(|k| before.contains(k.as_str()))
                        });
                    if (!named && rule.entropy.is_some_and(|e| entropy(v) < e))
                        || (rule.context && !plausible_value(v))
                        || truncated(s, range.end)
                        || rule.allow.iter().any(|a| a == v)
                        || if rule.structural {
                            self.ignored_shape_with(v, false)
                        } else if named {
                            placeholder_value(v) || self.ignored_shape_with(v, false)
                        } else {
                            self.ignored(v)
                        }
                        || overlaps(&seen, &range)
                    {
                        return;
                    }
                    seen.push(range.clone());
                    out.push(self.finding(
                        &rule.id,
                        &rule.description,
                        layer,
                        original,
                        range,
                        0.95,
                    ));
                });
            }
            if let (true, Some(g)) = (generic, &self.generic) {
                generic_hits.sort_by_key(|h| h.start);
                each_anchored(&g.re, s, &generic_hits, GENERIC_REACH, |caps| {
                    let mut uuid_ok = false;
                    let range = match (caps.get_group(1), caps.get_group(2)) {
                        (Some(name), Some(value)) => {
                            uuid_ok = uuid_credential_name(&s[name.range()]);
                            if generic_name_stop(&s[name.range()]) || mid_word(s, name.range()) {
                                return;
                            }
                            // `>` ends an XML element's name (`<apiToken>…`), not a phrase
                            // (`<testing secret key>\n region=…`).
                            let sep = &s[name.end..value.start];
                            if xml_element(sep) && !s[..name.start].ends_with('<') {
                                return;
                            }
                            // Named only by a space (`token 5zS0…`, not `token = …`): prose
                            // ("**Key Components**", "filled with secrets pic.twitter.com/…")
                            // unless the value has a digit and is not a link.
                            // A JSON key (`"api-key", "c098…": "…"`): the name was a value.
                            let after = s[value.end..].trim_start_matches(['"', '\'']);
                            if s[value.end..].starts_with(['"', '\''])
                                && after
                                    .trim_start_matches([' ', '\t'])
                                    .strip_prefix(':')
                                    .is_some_and(|r| !r.starts_with(':'))
                            {
                                return;
                            }
                            // A query string runs on to its next parameter (`spaceKey=LOGIC&title=…`).
                            let mut value = value.range();
                            value.end = value.start + query_value_len(&s[value.clone()]);
                            let v = &s[value.clone()];
                            if code_expression(s, value.clone())
                                || format_mismatch(&s[name.range()], v)
                            {
                                return;
                            }
                            if !s[name.end..value.start].contains(['=', ':'])
                                && (!v.bytes().any(|c| c.is_ascii_digit())
                                    || (v.contains('/') && v.contains('.')))
                            {
                                return;
                            }
                            value
                        }
                        _ => match caps.get_group(3) {
                            Some(header) => header.range(),
                            None => return,
                        },
                    };
                    let found = GenericValue {
                        range,
                        uuid_ok,
                        description: "High-entropy value assigned to a secret-like name",
                    };
                    self.generic_value(g, &at, found, &mut seen, out);
                });
                each_anchored(&g.passwords, s, &generic_hits, GENERIC_REACH, |caps| {
                    self.password(caps, false, &at, &mut seen, out);
                });
                let regions = windows(&generic_hits, PROSE_REACH, s.len());
                each_match(&g.prose, s, &regions, |caps| {
                    self.password(caps, true, &at, &mut seen, out);
                });
                each_match(&g.keys, s, &regions, |caps| {
                    let Some(value) = caps.get_group(1) else {
                        return;
                    };
                    let v = s[value.range()].trim_end_matches(['.', ',']);
                    // In words, a key has a digit, a letter and a part drawn at random ("2048
                    // bits", "ISBN-978-3-16-148410-0" and "Ctrl+Shift+T2" do not).
                    if !v.bytes().any(|c| c.is_ascii_digit())
                        || !v.bytes().any(|c| c.is_ascii_alphabetic())
                        || !v
                            .split(|c: char| !c.is_ascii_alphanumeric())
                            .any(random_segment)
                    {
                        return;
                    }
                    let found = GenericValue {
                        range: value.range(),
                        uuid_ok: false,
                        description: "High-entropy value given as a key or token",
                    };
                    self.generic_value(g, &at, found, &mut seen, out);
                });
                // Passwords written down in notes (`PW:Qw3rty!9`, `ID/PW: admin/Qw3rty!9`).
                let mut last = usize::MAX;
                for h in &generic_hits {
                    if h.start == last {
                        continue;
                    }
                    last = h.start;
                    if let Some(range) = notes::note_password(s, h.start) {
                        let description = "Password written down in a note";
                        self.report(&at, "secret.password", description, range, &mut seen, out);
                    }
                }
                // A column of an `INSERT` statement named for a secret: its values.
                if !inserts.is_empty() {
                    let mut last = usize::MAX;
                    for h in &generic_hits {
                        if h.start == last
                            || !inserts
                                .iter()
                                .any(|&i| i < h.start && h.start - i <= sql::REACH)
                        {
                            continue;
                        }
                        last = h.start;
                        let Some((name, values)) = sql::insert_values(s, h.start) else {
                            continue;
                        };
                        let lower = name.to_ascii_lowercase();
                        if generic_name_stop(name)
                            || mid_word(name, 0..name.len())
                            || SQL_COLUMN_STOPS.iter().any(|w| lower.contains(w))
                        {
                            continue;
                        }
                        let password = ["password", "passwd", "pwd", "pass"]
                            .iter()
                            .any(|w| lower.contains(w));
                        for range in values {
                            let v = &s[range.clone()];
                            let ok = if password {
                                v.len() >= 4 && plausible_password(v, true)
                            } else {
                                plausible_value(v) && g.accepts(v, false)
                            };
                            if ok {
                                let id = if password {
                                    "secret.password"
                                } else {
                                    "secret.generic"
                                };
                                self.report(
                                    &at,
                                    id,
                                    "Secret in a column of an SQL INSERT named for one",
                                    range,
                                    &mut seen,
                                    out,
                                );
                            }
                        }
                    }
                }
                // A keyword in a table's header line: its column below.
                if s.contains('\n') {
                    let mut line_end = 0;
                    for h in &generic_hits {
                        if h.start < line_end {
                            continue; // the line of the previous hit
                        }
                        let line = s[line_end..h.start]
                            .rfind('\n')
                            .map_or(line_end, |i| line_end + i + 1);
                        line_end = s[h.start..].find('\n').map_or(s.len(), |i| h.start + i);
                        // A header is names and separators only (no `=`, `:`, `(`).
                        let header = &s[line..line_end];
                        if header
                            .bytes()
                            .any(|c| matches!(c, b',' | b'\t' | b';' | b'|'))
                            && header.bytes().all(|c| {
                                c.is_ascii_alphanumeric()
                                    || matches!(
                                        c,
                                        b'_' | b'-'
                                            | b'.'
                                            | b' '
                                            | b','
                                            | b'\t'
                                            | b';'
                                            | b'|'
                                            | b'"'
                                            | b'\''
                                            | b'\r'
                                    )
                            })
                        {
                            self.table(g, &at, line, &mut seen, out);
                        }
                    }
                }
            }
            if self.generic.is_some() {
                account_hits.dedup();
                for &start in &account_hits {
                    if let Some(range) = notes::account_pair(s, start) {
                        let description = "Password of a user/password pair written down in a note";
                        self.report(&at, "secret.password", description, range, &mut seen, out);
                    }
                }
            }
            // Identifiers where no secret is (a secret's finding covers its host or name).
            for (i, range) in pending.drain(..) {
                if !overlaps(&seen, &range) {
                    seen.push(range.clone());
                    let rule = &self.rules[i];
                    out.push(self.identifier_finding(rule, layer, original, range));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `v` looks like a placeholder, template or example rather than a secret.
    fn placeholder(v: &str) -> bool {
        placeholder_value(v) || placeholder_shape_with(v, true)
    }

    #[test]
    fn prose_without_token_syntax_cannot_hold_a_secret() {
        assert!(!may_hold_secret(
            "Hi! I'm planning a trip to Portugal. Could you suggest an itinerary?"
        ));
        for s in [
            "key ghp_abc",
            "AKIAQEGRGOWXKJTH",
            "pass: x",
            "token 7f",
            "-----BEGIN",
            "a -> b",
        ] {
            assert!(may_hold_secret(s), "{s}");
        }
    }

    #[test]
    fn rules_with_a_keyword_in_every_bounded_match_run_in_windows() {
        let s = Secrets::builtin().unwrap();
        let windowed = s.rules.iter().filter(|r| r.window.is_some()).count();
        assert!(windowed >= 200, "{windowed} of {}", s.rules.len());
        let gh = s
            .rules
            .iter()
            .find(|r| r.id == "secret.github_pat")
            .unwrap();
        assert_eq!(gh.window, Some(40), "ghp_ and 36 characters");
        // A keyword that is context, not part of the match, cannot bound the search.
        assert_eq!(
            keyword_window(r"\b([0-9]{15})\b", &["facebook".into()]),
            None
        );
    }

    #[test]
    fn overlapping_keyword_windows_merge() {
        let w = windows(&[10..14, 20..24, 200..204], 30, 220);
        assert_eq!(w, vec![0..54, 170..220]);
    }

    #[test]
    fn entropy_of_uniform_and_repeated_text() {
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!((entropy("abcdefgh") - 3.0).abs() < 1e-4);
    }

    #[test]
    fn placeholders_are_recognized() {
        for v in [
            "xxxxxxxxxxxx",
            "<your-api-key>",
            "${TOKEN}",
            "changeme",
            "aaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(placeholder(v) || !plausible_value(v), "{v}");
        }
        assert!(!placeholder("q8Xz2Lm4Vn7Rt1Kp9Wc3"));
        // Labels, environment references and URI passwords held in variables.
        for v in [
            "Password:",
            "env.PERKEEP_TEST_PASSWORD",
            "amqps://username:$password@localhost",
            "$password",
        ] {
            assert!(placeholder(v), "{v}");
        }
    }

    #[test]
    fn truncated_or_masked_values_and_dotted_names_are_not_secrets() {
        let s = "token: ops_eyJzaWduSW5B..[Redacted] and key=sk_live_Abc123Def456Ghi789 ok";
        let end = s.find("..").unwrap();
        assert!(truncated(s, end));
        let end = s.find(" ok").unwrap();
        assert!(!truncated(s, end));
        assert!(truncated("k = 'abc123XYZ…'", 14));
        for v in [
            "jetbrains.mps.v8_elimination",
            "spring.datasource.password",
            "/en/enterprise/3.0/auth",
        ] {
            assert!(identifier_like(v), "{v}");
        }
        for v in [
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "Abc.Def9x7",
            "q8Xz2Lm4Vn7Rt1Kp9Wc3",
        ] {
            assert!(!identifier_like(v), "{v}");
        }
    }
}
