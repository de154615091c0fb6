//! National and tax identifiers with check digits, driven by a data table
//! (`national_ids.toml`, extendable from configuration).
//!
//! Each identifier type names its context words, the shape of its compact form and its checks
//! (Luhn, weighted sums with a remainder map, or weighted sums that must vanish). In text, an
//! identifier is reported only shortly after one of its context words (`RUT`, `CUIT`,
//! `fødselsnummer`, ...) or a generic one (`national ID`, `tax number`): most of these are
//! plain digit strings, and a checksum alone passes one random number in ten or eleven.

use std::ops::Range;

use regex_automata::meta::Regex;
use serde::Deserialize;

use super::stack::StackVec;
use super::wordset::Literals;
use crate::error::Error;

/// The built-in table.
pub const BUILTIN: &str = include_str!("national_ids.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    generic_context: Vec<String>,
    #[serde(default)]
    id: Vec<IdSpec>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct IdSpec {
    id: String,
    name: String,
    #[serde(default)]
    context: Vec<String>,
    format: String,
    #[serde(default)]
    min: Option<u64>,
    #[serde(default)]
    max: Option<u64>,
    #[serde(default)]
    check: Vec<CheckSpec>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Algorithm {
    Luhn,
    Weighted,
    Zero,
    Verhoeff,
    #[serde(rename = "iso7064_mod11_10")]
    Iso7064Mod11_10,
    Mod97Key,
    ItCodiceFiscale,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Reduce {
    Remainder,
    Complement,
    Negated,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    algorithm: Algorithm,
    #[serde(default)]
    length: Option<usize>,
    #[serde(default)]
    start: Option<i64>,
    #[serde(default)]
    end: Option<i64>,
    #[serde(default)]
    weights: Vec<i64>,
    #[serde(default)]
    from_right: bool,
    #[serde(default)]
    modulus: Option<i64>,
    #[serde(default)]
    result: Option<Reduce>,
    #[serde(default)]
    map: Option<String>,
    #[serde(default)]
    fallback: Option<Vec<i64>>,
    #[serde(default)]
    fallback_map: Option<String>,
    /// Character values: entry `i` lists the characters worth `i` (default: the digits).
    #[serde(default)]
    values: Option<Vec<String>>,
}

struct Compiled {
    spec: IdSpec,
    format: Regex,
}

/// The identifier table: validation by id, and recognition in text after context words.
///
/// ```
/// use palisade::detect::pii::NationalIds;
/// let ids = NationalIds::builtin();
/// assert!(ids.validate("cl_rut", "12.345.678-5"));
/// assert!(!ids.validate("cl_rut", "12.345.678-6"));
/// assert_eq!(ids.name("tr_tckimlik"), Some("Turkish T.C. Kimlik No."));
/// ```
pub struct NationalIds {
    ids: Vec<Compiled>,
    words: Option<Literals>,
    /// Per context-word pattern: the ids it names (empty: every id).
    targets: Vec<Vec<u16>>,
    /// Whether some id's format allows a compact value of that length.
    lengths: [bool; MAX_COMPACT + 1],
    /// No context word holds a digit or a line break.
    plain_words: bool,
}

/// The longest compact value checked.
const MAX_COMPACT: usize = 40;

impl std::fmt::Debug for NationalIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// Removes separators (space, `-`, `.`, `/`, `,`, dashes) and uppercases.
fn compact(v: &str) -> String {
    v.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/' | ',' | '\u{2013}' | '\u{2014}'))
        .flat_map(char::to_uppercase)
        .collect()
}

fn weighted(body: &[u8], weights: &[i64], from_right: bool) -> i64 {
    let at = |i: usize| weights[i % weights.len()];
    if from_right {
        body.iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| at(i) * i64::from(d))
            .sum()
    } else {
        body.iter()
            .enumerate()
            .map(|(i, &d)| at(i) * i64::from(d))
            .sum()
    }
}

impl CheckSpec {
    /// The characters this check covers.
    fn range(&self, n: usize) -> Option<Range<usize>> {
        let at = |v: i64| -> Option<usize> {
            if v < 0 {
                n.checked_sub(v.unsigned_abs() as usize)
            } else {
                Some(v as usize)
            }
        };
        let start = at(self.start.unwrap_or(0))?;
        let end = at(self.end.unwrap_or(n as i64))?;
        (start < end && end <= n).then_some(start..end)
    }

    fn holds(&self, s: &[u8]) -> bool {
        if self.length.is_some_and(|l| l != s.len()) {
            return true;
        }
        let Some(r) = self.range(s.len()) else {
            return false;
        };
        let part = &s[r];
        let digits = |b: &[u8]| -> Option<Vec<u8>> {
            b.iter()
                .map(|c| match &self.values {
                    None => c.is_ascii_digit().then(|| c - b'0'),
                    Some(v) => v
                        .iter()
                        .position(|chars| chars.as_bytes().contains(c))
                        .and_then(|i| u8::try_from(i).ok()),
                })
                .collect()
        };
        let m = self.modulus.unwrap_or(10);
        match self.algorithm {
            Algorithm::Luhn => part.iter().all(u8::is_ascii_digit) && super::checksum::luhn(part),
            Algorithm::Verhoeff => super::checksum::verhoeff(part),
            Algorithm::Iso7064Mod11_10 => {
                digits(part).is_some_and(|d| super::checksum::iso7064_mod11_10(&d))
            }
            Algorithm::Mod97Key => digits(part).is_some_and(|d| super::checksum::mod97_key(&d)),
            Algorithm::ItCodiceFiscale => super::checksum::it_codice_fiscale(part),
            Algorithm::Zero => {
                digits(part).is_some_and(|d| weighted(&d, &self.weights, self.from_right) % m == 0)
            }
            Algorithm::Weighted => {
                let (Some((&check, body)), Some(reduce)) = (part.split_last(), self.result) else {
                    return false;
                };
                let Some(body) = digits(body) else {
                    return false;
                };
                let index = |w: &[i64]| -> usize {
                    let r = weighted(&body, w, self.from_right).rem_euclid(m);
                    (match reduce {
                        Reduce::Remainder => r,
                        Reduce::Complement => m - r,
                        Reduce::Negated => (m - r) % m,
                    }) as usize
                };
                let lookup = |map: &str, i: usize| map.as_bytes().get(i).copied().unwrap_or(b'-');
                let map = self.map.as_deref().unwrap_or("0123456789");
                let mut expected = lookup(map, index(&self.weights));
                if expected == b'-'
                    && let (Some(w), Some(fm)) = (&self.fallback, &self.fallback_map)
                {
                    expected = lookup(fm, index(w));
                }
                expected != b'-' && expected == check
            }
        }
    }

    fn validate(&self, field: &str) -> Result<(), String> {
        let m = self.modulus.unwrap_or(10);
        if !(2..=97).contains(&m) {
            return Err(format!("{field}.modulus: {m} is outside 2..=97"));
        }
        if let Some(v) = &self.values
            && (v.is_empty() || v.len() > 64 || v.iter().any(|c| !c.is_ascii()))
        {
            return Err(format!(
                "{field}.values: 1 to 64 entries of ASCII characters"
            ));
        }
        match self.algorithm {
            Algorithm::Luhn
            | Algorithm::Verhoeff
            | Algorithm::Iso7064Mod11_10
            | Algorithm::Mod97Key
            | Algorithm::ItCodiceFiscale => {
                if !self.weights.is_empty() || self.result.is_some() || self.map.is_some() {
                    return Err(format!(
                        "{field}: {:?} takes no weights, result or map",
                        self.algorithm
                    ));
                }
                if self.values.is_some()
                    && matches!(
                        self.algorithm,
                        Algorithm::Luhn | Algorithm::Verhoeff | Algorithm::ItCodiceFiscale
                    )
                {
                    return Err(format!("{field}: {:?} takes no values", self.algorithm));
                }
            }
            Algorithm::Zero | Algorithm::Weighted => {
                if self.weights.is_empty() || self.weights.len() > 64 {
                    return Err(format!("{field}.weights: 1 to 64 weights"));
                }
                if self.weights.iter().any(|w| w.abs() > 1000) {
                    return Err(format!("{field}.weights: each within ±1000"));
                }
            }
        }
        if self.algorithm == Algorithm::Weighted {
            if self.result.is_none() {
                return Err(format!("{field}.result: remainder, complement or negated"));
            }
            let map = self.map.as_deref().unwrap_or("0123456789");
            if map.is_empty() || !map.is_ascii() {
                return Err(format!("{field}.map: ASCII characters, one per index"));
            }
            if self.fallback.is_some() != self.fallback_map.is_some() {
                return Err(format!("{field}: fallback and fallback_map go together"));
            }
        } else if self.fallback.is_some() || self.result.is_some() {
            return Err(format!(
                "{field}: result and fallback belong to weighted checks"
            ));
        }
        Ok(())
    }
}

impl NationalIds {
    /// The built-in table (parsed once).
    pub fn builtin() -> &'static NationalIds {
        static IDS: std::sync::OnceLock<NationalIds> = std::sync::OnceLock::new();
        IDS.get_or_init(|| match NationalIds::new(&[], "") {
            Ok(t) => t,
            Err(e) => unreachable!("the built-in national id table is tested: {e}"),
        })
    }

    /// The built-in table restricted to `only` (all when empty), plus `extra` (a TOML table of
    /// `[[id]]` entries in the same format, always included; an entry replaces a built-in one
    /// of the same id).
    pub fn new(only: &[String], extra: &str) -> Result<NationalIds, Error> {
        let err = |file: &str, field: String, message: String| Error::Config {
            file: file.to_owned(),
            line: None,
            field,
            message,
        };
        let parse = |source: &str, file: &str| -> Result<Table, Error> {
            toml::from_str(source).map_err(|e| crate::config::toml_error(file, source, &e))
        };
        let builtin = parse(BUILTIN, "national_ids.toml")?;
        let mut generic = builtin.generic_context;
        let mut specs = builtin.id;
        let more = if extra.trim().is_empty() {
            Vec::new()
        } else {
            let more = parse(extra, "pii.extra_national_ids")?;
            generic.extend(more.generic_context);
            more.id
        };
        for (i, name) in only.iter().enumerate() {
            if !specs.iter().chain(&more).any(|s| &s.id == name) {
                let mut known: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
                known.sort_unstable();
                return Err(err(
                    "<config>",
                    format!("pii.national_ids[{i}]"),
                    format!("unknown identifier {name:?}; known: {}", known.join(", ")),
                ));
            }
        }
        // `only` selects among the built-in types; added types always count.
        if !only.is_empty() {
            specs.retain(|s| only.contains(&s.id));
        }
        for s in more {
            specs.retain(|x| x.id != s.id);
            specs.push(s);
        }
        let mut ids = Vec::with_capacity(specs.len());
        let mut lengths = [false; MAX_COMPACT + 1];
        for spec in specs {
            let field = format!("id {:?}", spec.id);
            let valid_id = !spec.id.is_empty()
                && spec
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_id || spec.name.trim().is_empty() {
                return Err(err(
                    "national_ids",
                    field,
                    "ids are lowercase letters, digits and `_`, with a name".into(),
                ));
            }
            if spec.check.is_empty() {
                return Err(err(
                    "national_ids",
                    format!("{field}.check"),
                    "at least one check (a format alone is not an identifier)".into(),
                ));
            }
            for (k, c) in spec.check.iter().enumerate() {
                c.validate(&format!("{field}.check[{k}]"))
                    .map_err(|m| err("national_ids", field.clone(), m))?;
            }
            if spec.format.len() > 512 {
                return Err(err(
                    "national_ids",
                    format!("{field}.format"),
                    "at most 512 bytes".into(),
                ));
            }
            let format = Regex::builder()
                .configure(Regex::config().nfa_size_limit(Some(1 << 20)))
                .build(&format!(r"\A(?:{})\z", spec.format))
                .map_err(|e| err("national_ids", format!("{field}.format"), e.to_string()))?;
            // The compact lengths the format allows (values of other lengths need no context
            // search).
            let hir = regex_automata::util::syntax::parse(&format!(r"\A(?:{})\z", spec.format))
                .map_err(|e| err("national_ids", format!("{field}.format"), e.to_string()))?;
            let lo = hir.properties().minimum_len().unwrap_or(0);
            let hi = hir.properties().maximum_len().unwrap_or(usize::MAX);
            for (n, ok) in lengths.iter_mut().enumerate() {
                *ok |= (lo..=hi).contains(&n);
            }
            ids.push(Compiled { spec, format });
        }
        if ids.len() > u16::MAX as usize {
            return Err(err("national_ids", "id".into(), "too many ids".into()));
        }
        // Context words: every id's own, then the generic ones (naming every id).
        let mut words: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<u16>> = Vec::new();
        let mut add = |w: &str, t: Option<u16>| {
            let w = w.trim();
            if w.is_empty() {
                return;
            }
            let mut forms = vec![w.to_lowercase()];
            if !w.is_ascii() {
                forms.push(w.to_uppercase());
                let mut cap = w.chars();
                if let Some(first) = cap.next() {
                    forms.push(first.to_uppercase().chain(cap).collect());
                }
            }
            for f in forms {
                match words.iter().position(|x| *x == f) {
                    Some(i) => match t {
                        Some(t) if !targets[i].is_empty() && !targets[i].contains(&t) => {
                            targets[i].push(t)
                        }
                        None => targets[i].clear(),
                        _ => {}
                    },
                    None => {
                        words.push(f);
                        targets.push(t.map(|t| vec![t]).unwrap_or_default());
                    }
                }
            }
        };
        for (i, c) in ids.iter().enumerate() {
            for w in &c.spec.context {
                add(w, Some(i as u16));
            }
        }
        for w in &generic {
            add(w, None);
        }
        let plain_words = words
            .iter()
            .all(|w| !w.bytes().any(|c| c.is_ascii_digit() || c == b'\n'));
        let words = if words.is_empty() || ids.is_empty() {
            None
        } else {
            Some(Literals::new(&words).map_err(|e| err("national_ids", "context".into(), e))?)
        };
        Ok(NationalIds {
            ids,
            words,
            plain_words,
            targets,
            lengths,
        })
    }

    /// The ids of the table.
    pub fn ids(&self) -> Vec<&str> {
        self.ids.iter().map(|c| c.spec.id.as_str()).collect()
    }

    /// The human name of an id.
    pub fn name(&self, id: &str) -> Option<&str> {
        self.position(id).map(|i| self.ids[i].spec.name.as_str())
    }

    /// The context words of an id (besides the generic ones).
    pub fn context(&self, id: &str) -> Option<&[String]> {
        self.position(id)
            .map(|i| self.ids[i].spec.context.as_slice())
    }

    pub(crate) fn name_at(&self, i: u16) -> &str {
        self.ids
            .get(usize::from(i))
            .map_or("national identifier", |c| c.spec.name.as_str())
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|c| c.spec.id == id)
    }

    /// Whether `value` (separators allowed) is a valid identifier of type `id`.
    pub fn validate(&self, id: &str, value: &str) -> bool {
        self.position(id)
            .is_some_and(|i| self.valid_at(i, &compact(value)))
    }

    fn valid_at(&self, i: usize, compact: &str) -> bool {
        let c = &self.ids[i];
        if compact.len() > MAX_COMPACT || !c.format.is_match(compact) {
            return false;
        }
        if c.spec.min.is_some() || c.spec.max.is_some() {
            let Ok(n) = compact.parse::<u64>() else {
                return false;
            };
            if c.spec.min.is_some_and(|m| n < m) || c.spec.max.is_some_and(|m| n > m) {
                return false;
            }
        }
        c.spec.check.iter().all(|k| k.holds(compact.as_bytes()))
    }

    /// Identifiers in `s` after a context word: (byte range, table index).
    pub(crate) fn find(&self, s: &str, out: &mut Vec<(Range<usize>, u16)>) {
        let Some(words) = &self.words else { return };
        let b = s.as_bytes();
        // Values first (digits are rare in prose), then a context word just before each.
        let mut k = 0;
        let mut ends = StackVec::default();
        while let Some(digit) = next_digit(b, k) {
            // A value may open with capitals (`X1234567L`, `RSSMRA85C14H501Z`): back up over
            // at most eight of them to the start of the word.
            let mut start = digit;
            while start > k && digit - start < 8 && b[start - 1].is_ascii_uppercase() {
                start -= 1;
            }
            let mut e = digit;
            while e < b.len() && b[e].is_ascii_alphanumeric() {
                e += 1;
            }
            k = e.max(digit + 1);
            if start > 0 && b[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            // The whole run (`415 555 2671`) is one value: its later groups start nothing.
            group_ends(b, start, &mut ends);
            let Some(&(last, _)) = ends.last() else {
                continue;
            };
            k = k.max(last);
            if last - start < 5
                || !ends
                    .iter()
                    .any(|&(_, n)| self.lengths.get(n) == Some(&true))
            {
                continue;
            }
            // The context word ends at most 32 bytes before the value, on the same line, with
            // no digit in between. Words without digits or line breaks therefore lie after the
            // last of those: the search starts there.
            let mut from = start.saturating_sub(32 + 48);
            if self.plain_words
                && let Some(p) = last_digit_or_newline(&b[from..start])
            {
                from += p + 1;
            }
            let mut context = None;
            for (ws, we, pattern) in words.find_iter(b, from, start) {
                let left_ok = ws == 0 || !b[ws - 1].is_ascii_alphanumeric();
                let right_ok = !b[we].is_ascii_alphanumeric() || !b[we - 1].is_ascii_alphanumeric();
                let gap = &b[we..start];
                if left_ok
                    && right_ok
                    && gap.len() <= 32
                    && !gap.iter().any(|c| *c == b'\n' || c.is_ascii_digit())
                {
                    context = Some(pattern);
                }
            }
            let Some(pattern) = context else { continue };
            let targets = &self.targets[pattern];
            for &(end, n) in ends.iter().rev() {
                // No format allows this compact length: nothing to validate.
                if self.lengths.get(n) != Some(&true) {
                    continue;
                }
                let Some(value) = s.get(start..end) else {
                    continue;
                };
                let c = compact(value);
                let valid = |i: &usize| self.valid_at(*i, &c);
                let hit = if targets.is_empty() {
                    (0..self.ids.len()).find(valid)
                } else {
                    targets.iter().map(|&t| usize::from(t)).find(valid)
                };
                if let Some(i) = hit {
                    out.push((start..end, i as u16));
                    k = end;
                    break;
                }
            }
        }
    }
}

/// The first ASCII digit at or after `from`, eight bytes at a time.
fn next_digit(b: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(from..from + 8) {
        // `x ^ '0'` maps the digits, and only them, to the bytes below 10.
        let x = u64::from_le_bytes(chunk.try_into().ok()?) ^ (ONES * u64::from(b'0'));
        if x.wrapping_sub(ONES * 10) & !x & HIGH != 0 {
            break;
        }
        from += 8;
    }
    b.get(from..)?
        .iter()
        .position(u8::is_ascii_digit)
        .map(|o| from + o)
}

/// The last ASCII digit or line feed in `b`, eight bytes at a time from the end.
fn last_digit_or_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut end = b.len();
    while end >= 8 {
        let Ok(chunk) = <[u8; 8]>::try_from(&b[end - 8..end]) else {
            break;
        };
        let x = u64::from_le_bytes(chunk);
        // Zero bytes of `d` are the digits' (below 10), those of `n` the line feeds.
        let d = x ^ (ONES * u64::from(b'0'));
        let n = x ^ (ONES * u64::from(b'\n'));
        if (d.wrapping_sub(ONES * 10) & !d | n.wrapping_sub(ONES) & !n) & HIGH != 0 {
            break;
        }
        end -= 8;
    }
    b[..end]
        .iter()
        .rposition(|c| c.is_ascii_digit() || *c == b'\n')
}

/// Ends of the groups of a value that starts at `start`, each with the count of alphanumeric
/// characters before it (the compact length): alphanumeric runs joined by at most six
/// separator characters (` - . / ,` and dashes), at most 40 bytes in all. A group after a
/// separator must hold a digit, or be one character (a check letter such as `K`).
fn group_ends(b: &[u8], start: usize, ends: &mut StackVec<(usize, usize), 24>) {
    ends.clear();
    let mut compact = 0;
    let limit = (start + 40).min(b.len());
    let mut i = start;
    loop {
        let g = i;
        while i < limit && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i == g {
            break;
        }
        let group = &b[g..i];
        if g != start && group.len() > 1 && !group.iter().any(u8::is_ascii_digit) {
            break;
        }
        if i < b.len() && b[i].is_ascii_alphanumeric() {
            // Cut by the 40-byte limit inside a group: not a value end.
            break;
        }
        compact += i - g;
        ends.push((i, compact));
        let mut k = i;
        let mut seps = 0;
        while k < limit && seps < 6 {
            let n = match b[k] {
                b' ' | b'-' | b'.' | b'/' | b',' => 1,
                0xE2 if b.get(k + 1) == Some(&0x80)
                    && matches!(b.get(k + 2), Some(0x93 | 0x94)) =>
                {
                    3
                }
                _ => break,
            };
            k += n;
            seps += 1;
        }
        if seps == 0 || k >= limit || !b[k].is_ascii_alphanumeric() {
            break;
        }
        i = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_loads() {
        assert!(NationalIds::builtin().ids().len() >= 25);
    }

    #[test]
    fn found_after_its_context_word_only() {
        let t = NationalIds::builtin();
        let mut out = Vec::new();
        t.find("Mi RUT es 12.345.678-5, gracias", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(t.name_at(out[0].1), "Chilean RUT/RUN");
        assert_eq!(
            &"Mi RUT es 12.345.678-5, gracias"[out[0].0.clone()],
            "12.345.678-5"
        );
        out.clear();
        t.find("order 12.345.678-5 shipped", &mut out);
        assert!(out.is_empty());
        t.find("running 12.345.678-5", &mut out);
        assert!(out.is_empty(), "`run` inside `running` is no context");
    }

    /// The search for the context word starts after the last digit or line break before the
    /// value: a context word after earlier numbers still counts, one before them does not.
    #[test]
    fn digits_and_line_breaks_before_the_context_word() {
        let t = NationalIds::builtin();
        let mut out = Vec::new();
        t.find("Factura 2024-11 (3 items), RUT 12.345.678-5", &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        t.find("RUT 7, 12.345.678-5", &mut out);
        assert!(out.is_empty(), "a number between the word and the value");
        t.find("RUT\n12.345.678-5", &mut out);
        assert!(
            out.is_empty(),
            "a line break between the word and the value"
        );
    }

    /// The eight-at-a-time search agrees with a plain one on every suffix of mixed text.
    #[test]
    fn last_digit_or_newline_matches_a_plain_search() {
        let text = "Invoice 2024 for Zoë\nRUT é12.345.678-5 and more words here, none a digit…";
        let b = text.as_bytes();
        for start in 0..b.len() {
            for end in start..=b.len() {
                let plain = b[start..end]
                    .iter()
                    .rposition(|c| c.is_ascii_digit() || *c == b'\n');
                assert_eq!(
                    last_digit_or_newline(&b[start..end]),
                    plain,
                    "{start}..{end}"
                );
            }
        }
    }

    /// Every value is found after its own word, also when words and values alternate
    /// on one line; a word with no value after it (or one too far) names nothing.
    #[test]
    fn each_value_after_its_own_word() {
        let t = NationalIds::builtin();
        let mut out = Vec::new();
        let s = "RUT 12.345.678-5, TC Kimlik No: 10000000146, and the RUT is unknown";
        t.find(s, &mut out);
        let found: Vec<&str> = out.iter().map(|(r, _)| &s[r.clone()]).collect();
        assert_eq!(found, ["12.345.678-5", "10000000146"]);
        out.clear();
        let far = format!("RUT{}12.345.678-5", " ".repeat(40));
        t.find(&far, &mut out);
        assert!(out.is_empty(), "more than 32 bytes between word and value");
    }

    #[test]
    fn a_longer_run_falls_back_to_the_valid_prefix() {
        let t = NationalIds::builtin();
        let mut out = Vec::new();
        let s = "TC Kimlik No: 10000000146 2 adet";
        t.find(s, &mut out);
        assert_eq!(&s[out[0].0.clone()], "10000000146");
    }

    #[test]
    fn bad_tables_are_refused_with_the_field() {
        let bad = r#"
[[id]]
id = "xx_id"
name = "X"
format = '^\d{5}$'
[[id.check]]
algorithm = "weighted"
weights = [1, 2]
"#;
        let e = NationalIds::new(&[], bad).unwrap_err().to_string();
        assert!(e.contains("result"), "{e}");
        let e = NationalIds::new(&["nope".into()], "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pii.national_ids[0]"), "{e}");
    }
}
