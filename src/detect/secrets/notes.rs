//! Passwords written down in notes, tickets and chat rather than in code: `PW:Prl23Db#@`,
//! `ID/PW: admin/Qw3rty!9`, `id pw admin // Qw3rty!9`, `PASSWORD(Qw3rty!9)`, `비번은Qw3rty!9`,
//! `--pass Qw3rty!9`. Such a label has no assignment syntax that code would give it, so the value
//! has to look like a password on its own: six to 64 characters with a letter and either three
//! kinds of character (lowercase, uppercase, digits, symbols) or a digit and eight or more
//! characters, and nothing that reads as code, a path, a reference or a placeholder.

use std::ops::Range;

/// Password labels of notes, longest first (`password` before `pass`), ASCII ones lowercase.
const LABELS: &[&str] = &[
    "password",
    "paasword",
    "passowrd",
    "passwd",
    "비밀번호",
    "패스워드",
    "pass",
    "pwd",
    "p/w",
    "비번",
    "암호",
    "pw",
];

/// Labels that name the account before a password label (`ID/PW`, `user/pass`, `계정/PW`).
const ACCOUNT_LABELS: &[&str] = &[
    "id",
    "user",
    "username",
    "user name",
    "login",
    "account",
    "creds",
    "credentials",
    "계정",
    "아이디",
];

/// The label among [`LABELS`] that starts at `at` in `s`, as a range, when it stands as a
/// word of its own: not inside another word (`bypass`, `passport`, `pwd_file`), though a
/// prefix in capitals may name what it is for (`ANYpw`, `DBpassword`).
fn label_at(s: &str, at: usize) -> Option<Range<usize>> {
    let rest = &s[at..];
    let label = LABELS.iter().find(|l| starts_with_ci(rest, l))?;
    let mut end = at + label.len();
    if !label.is_ascii() {
        return Some(at..end);
    }
    let b = s.as_bytes();
    if *label == "password" && b.get(end).is_some_and(|c| c.eq_ignore_ascii_case(&b's')) {
        end += 1;
    }
    let before_ok = at == 0
        || !b[at - 1].is_ascii_alphanumeric()
        || (b[at - 1].is_ascii_uppercase() && b[at].is_ascii_lowercase());
    let after_ok = b
        .get(end)
        .is_none_or(|c| !c.is_ascii_alphanumeric() && !matches!(c, b'_' | b'.' | b'$'));
    (before_ok && after_ok).then_some(at..end)
}

/// Whether an account label ends `before` (spaces and `/`, `&`, `(` between it and the
/// password label): `ID/PW`, `(ID&PWD)`, `User/Password`, `id pw`, `계정/PW`.
fn account_label_before(before: &str) -> bool {
    let t = before.trim_end_matches([' ', '\t', '/', '&', '(', ':']);
    if t.len() == before.len() && !before.is_empty() {
        return false;
    }
    ACCOUNT_LABELS.iter().any(|l| {
        t.len() >= l.len()
            && t.is_char_boundary(t.len() - l.len())
            && t[t.len() - l.len()..].eq_ignore_ascii_case(l)
            && {
                let head = &t[..t.len() - l.len()];
                let last = head.bytes().last();
                // `ANYID`: a prefix in capitals; not `valid`, `userid` inside a word.
                !l.is_ascii()
                    || last.is_none_or(|c| !c.is_ascii_alphanumeric())
                    || (last.is_some_and(|c| c.is_ascii_uppercase())
                        && t.as_bytes()[t.len() - l.len()].is_ascii_uppercase())
            }
    })
}

/// Characters that end a value in a note.
fn ends_value(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '"' | '\'' | '`' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}' | '|'
        )
}

/// The end of the value that starts at `at`.
fn value_end(s: &str, at: usize) -> usize {
    s[at..].find(ends_value).map_or(s.len(), |i| at + i)
}

/// How a note joins its label to its value: a symbol (`:`, `=`, `=>`, `->`, `-`, `(`, `]`), a
/// Korean particle (`는`, `은`, `설정은`), a verb or phrase (`is`, `of root is`, `for admin:`),
/// or spaces alone. Returns where the value starts and whether only spaces joined them.
fn separator(s: &str, label: Range<usize>, bare_word: bool) -> Option<(usize, bool)> {
    let mut i = label.end;
    // A label in brackets: `(PW):`, `[PW]`.
    let mut from = label.start.saturating_sub(16);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let near = &s[from..label.start];
    let line = &near[near.rfind('\n').map_or(0, |n| n + 1)..];
    let open = line.rfind(['(', '[']);
    let bracket = open.is_some_and(|o| line.len() - o <= 16 && !line[o..].contains([')', ']']))
        && s[i..].starts_with([')', ']']);
    if bracket {
        i += 1;
    }
    let spaced = s[i..].trim_start_matches([' ', '\t']);
    let had_space = spaced.len() < s.len() - i;
    i = s.len() - spaced.len();
    let symbol = [
        "-->",
        "=>",
        "->",
        ":",
        "：",
        "=",
        "-",
        "(",
        "]",
        "설정은",
        "는",
        "은",
    ]
    .iter()
    .find(|p| starts_with_ci(spaced, p));
    let mut joined = false;
    // An element of its own: `<PW>Qw3rty!9</PW>`.
    if s[..label.start].ends_with('<') && s[i..].starts_with('>') {
        return Some((i + 1, false));
    }
    if let Some(p) = symbol {
        i += p.len();
        joined = true;
    } else if had_space {
        for verb in ["is ", "are ", "was "] {
            if starts_with_ci(spaced, verb) {
                i += verb.len();
                joined = true;
                break;
            }
        }
        // `pwd of master is …`, `password for master: …`, `password in xxxx is …`.
        if !joined {
            for prep in ["of ", "for ", "in "] {
                if starts_with_ci(spaced, prep) {
                    let r = &spaced[prep.len()..];
                    let word = r.find([' ', ':']).unwrap_or(r.len());
                    let after = &r[word..];
                    let link = if starts_with_ci(after, " is ") {
                        4
                    } else if after.starts_with(':') {
                        1
                    } else {
                        continue;
                    };
                    if word == 0 || word > 40 {
                        continue;
                    }
                    i += prep.len() + word + link;
                    joined = true;
                    break;
                }
            }
        }
    }
    // `(PW)Qw3rty!9`: the bracket joins them.
    joined |= bracket && !had_space;
    if !joined && (!had_space || bare_word) {
        return None;
    }
    let after = s[i..].trim_start_matches([' ', '\t']);
    Some((s.len() - after.len(), !joined))
}

/// Whether `h` starts with `p`, ASCII case ignored.
fn starts_with_ci(h: &str, p: &str) -> bool {
    h.len() >= p.len() && h.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// A user name in a `user/password` pair: letters, digits and `._@-`, starting with a letter.
fn user_name(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'@' | b'-'))
}

/// Whether `v`, found after a label in a note, looks like a password by itself (placeholders
/// and allowlisted values are refused where it is reported).
pub(super) fn note_value(v: &str) -> bool {
    let b = v.as_bytes();
    if !(6..=64).contains(&b.len()) || !b.iter().all(|c| c.is_ascii_graphic()) {
        return false;
    }
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let digit = b.iter().any(u8::is_ascii_digit);
    let symbol = b.iter().any(|c| !c.is_ascii_alphanumeric());
    let kinds = [lower, upper, digit, symbol].iter().filter(|&&k| k).count();
    if !(lower || upper) || !(kinds >= 3 || (digit && b.len() >= 8)) {
        return false;
    }
    // A dotted name or member (`user.pw2`, `TLSv1.2`, `config.yml`), a version, a path.
    let dotted = v.contains('.')
        && v.split('.')
            .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    // Words joined by hyphens (`2-vector`, `Zbuild-std`): a compound, not a password.
    let compound = v.contains('-')
        && v.split('-').all(|g| {
            let w = g
                .strip_prefix(|c: char| c.is_ascii_uppercase())
                .unwrap_or(g);
            !g.is_empty()
                && (w.bytes().all(|c| c.is_ascii_lowercase())
                    || g.bytes().all(|c| c.is_ascii_digit()))
        });
    !dotted
        && !compound
        && !v.contains('/')
        && !super::password_reference(v)
        && super::plausible_password_shape(v)
        && !super::code_identifier(v)
}

/// The password a note gives after the label that starts at `at` in `s`, if any.
pub(super) fn note_password(s: &str, at: usize) -> Option<Range<usize>> {
    let label = label_at(s, at)?;
    // The value first: "Vk82#qLmz is the password", "… was my pw".
    let before = &s[..at];
    if let Some(head) = ["is the ", "is my ", "was the ", "was my "]
        .iter()
        .find_map(|p| {
            let n = before.len().checked_sub(p.len())?;
            before
                .get(n..)
                .is_some_and(|t| t.eq_ignore_ascii_case(p))
                .then(|| &before[..n])
        })
    {
        let head = head.trim_end_matches([' ', '\t']);
        let from = head.rfind(ends_value).map_or(0, |i| {
            i + head[i..].chars().next().map_or(1, char::len_utf8)
        });
        let v = &head[from..];
        if note_value(v) && !s[label.end..].starts_with(char::is_alphanumeric) {
            return Some(from..from + v.len());
        }
    }
    let word = &s[label.clone()];
    // `pass` alone is an English word ("pass Q3-Report to Anna"): spaces do not join it to a
    // value unless it is a command-line flag (`--pass`).
    let account = account_label_before(&s[..at]);
    let bare_word = word.eq_ignore_ascii_case("pass") && !s[..at].ends_with('-') && !account;
    let (start, spaced) = separator(s, label, bare_word)?;
    let quoted = s[start..].starts_with(['"', '\'']);
    let (start, end) = if quoted {
        let q = s.as_bytes()[start] as char;
        let close = s[start + 1..].find(q)?;
        (start + 1, start + 1 + close)
    } else {
        (start, value_end(s, start))
    };
    let token = &s[start..end];
    if token.is_empty() {
        return None;
    }
    // `master/Qw3rty!9`, `master//Qw3rty!9`, `master:Qw3rty!9`: a pair, the password last.
    for sep in ["//", "/", ":"] {
        if let Some(at) = token.rfind(sep) {
            let (user, pass) = (&token[..at], &token[at + sep.len()..]);
            if !user_name(user) {
                return None;
            }
            let range = end - pass.len()..end;
            return note_value(pass).then_some(range);
        }
    }
    if note_value(token) {
        // A value joined by spaces alone must stand alone: `PW Qw3rty!9`, not the first word
        // of a sentence ("password Reset-2FA flow").
        return (!spaced
            || account
            || s[end..].trim_start_matches([' ', '\t']).is_empty()
            || s[end..].starts_with(['\n', '\r', ',', ')']))
        .then_some(start..end);
    }
    if !user_name(token) {
        return None;
    }
    // `master(Qw3rty!9)`, `master,Qw3rty!9`, and after `ID PW` also `master Qw3rty!9`,
    // `master // Qw3rty!9`.
    let rest = &s[end..];
    let next = if let Some(r) = rest.strip_prefix(['(', ',']) {
        r
    } else if account && rest.starts_with([' ', '\t']) {
        let r = rest.trim_start_matches([' ', '\t']);
        let r = r
            .strip_prefix("//")
            .or_else(|| r.strip_prefix('/'))
            .unwrap_or(r);
        r.trim_start_matches([' ', '\t'])
    } else {
        return None;
    };
    let from = s.len() - next.len();
    let to = value_end(s, from);
    note_value(&s[from..to]).then_some(from..to)
}

/// Labels of an account given as `user/password` without a password label (`ID:`,
/// `Login:`, `계정:`, `telnet(…)`, `ssh host (…)`), as the keyword automaton finds them.
pub(super) const ACCOUNT_KEYWORDS: &[&str] = &[
    "id:",
    "id(",
    "id=",
    "login",
    "account",
    "creds",
    "credentials",
    "계정",
    "아이디",
    "telnet",
    "ssh",
    "sftp",
    "ftp",
    // Private IPv4 networks: `10.0.3.7 (root/Qw3rty!9)` in a runbook.
    "10.",
    "192.168.",
    "172.",
];

/// A host in a note: `user@host`, an IPv4 address, a dotted name.
fn host(v: &str) -> bool {
    v.len() >= 3
        && v.contains(['.', '@'])
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'@' | b'-' | b'_' | b':'))
}

/// The password of a `user/password` pair given after an account label that starts at `at`
/// (`ID:master/Qw3rty!9`, `계정:gildong.hong,Ih#Sb1Gg`, `telnet(admin/Qw3rty!9)`,
/// `ssh ops@10.0.0.5 (admin/Qw3rty!9)`), if any.
pub(super) fn account_pair(s: &str, at: usize) -> Option<Range<usize>> {
    if s.as_bytes()[at].is_ascii_digit() {
        return host_pair(s, at);
    }
    let rest = &s[at..];
    let label = ACCOUNT_KEYWORDS.iter().find(|l| starts_with_ci(rest, l))?;
    let b = s.as_bytes();
    let mut i = at + label.len();
    if label.is_ascii() {
        // `ID` in capitals only (`id:` is every other line of JSON and YAML); not inside a word.
        if label.starts_with("id") && !rest.starts_with("ID") {
            return None;
        }
        if at > 0 && b[at - 1].is_ascii_alphanumeric() {
            return None;
        }
        if label.bytes().all(|c| c.is_ascii_alphabetic())
            && b.get(i).is_some_and(u8::is_ascii_alphanumeric)
        {
            return None;
        }
    }
    let command = matches!(*label, "telnet" | "ssh" | "sftp" | "ftp");
    let after = s[i..].trim_start_matches([' ', '\t']);
    let spaced = after.len() < s.len() - i;
    i = s.len() - after.len();
    if label.ends_with([':', '(', '=']) {
    } else if let Some(r) = after.strip_prefix([':', '(', '=', ']', '：']) {
        i = s.len() - r.len();
    } else if !(command && spaced) {
        return None;
    }
    let mut v = s[i..].trim_start_matches([' ', '\t']);
    // A host first: `ssh ops@10.0.0.5 (admin/…)`.
    let first = value_end(s, s.len() - v.len()) - (s.len() - v.len());
    if command && first > 0 && host(&v[..first]) && !v[..first].contains('/') {
        v = v[first..].trim_start_matches([' ', '\t']);
        v = v.strip_prefix('(').unwrap_or(v);
    }
    let start = s.len() - v.len();
    let end = value_end(s, start);
    let token = &s[start..end];
    let (user, pass) = if let Some(p) = token.find("//").or_else(|| token.find('/')) {
        let sep = if token[p..].starts_with("//") { 2 } else { 1 };
        (&token[..p], end - token.len() + p + sep..end)
    } else if s[end..].starts_with(',') {
        let from = end + 1;
        (token, from..value_end(s, from))
    } else if let Some(r) = s[end..]
        .trim_start_matches([' ', '\t'])
        .strip_prefix('/')
        .filter(|r| r.starts_with([' ', '\t']))
    {
        // `creds: deploy / Qw3rty!9`.
        let from = s.len() - r.trim_start_matches([' ', '\t']).len();
        (token, from..value_end(s, from))
    } else {
        return None;
    };
    (user_name(user) && note_value(&s[pass.clone()])).then_some(pass)
}

/// The end of the IPv4 address (with an optional `:port`) that starts at `at`, if one does.
fn ipv4_end(s: &str, at: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = at;
    for octet in 0..4 {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            i += 1;
        }
        if i == start {
            return None;
        }
        if octet < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    if b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    if b.get(i) == Some(&b':') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    Some(i)
}

/// The password of a `user/password` pair right after an IPv4 address that starts at `at`
/// (`10.0.3.7 root/Qw3rty!9`, `192.168.0.1(admin/Qw3rty!9)`, `10.0.3.7 --> admin/Qw3rty!9`),
/// not a path of a URL (`http://10.0.3.7/admin/Console2`).
fn host_pair(s: &str, at: usize) -> Option<Range<usize>> {
    let b = s.as_bytes();
    if at > 0 && (b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b'.' | b'/' | b'-')) {
        return None;
    }
    let end = ipv4_end(s, at)?;
    let rest = &s[end..];
    let joined = rest.trim_start_matches([' ', '\t', ',', '(', '-', '>', '=', ':']);
    let joiner = &rest[..rest.len() - joined.len()];
    if joiner.is_empty() || joiner.len() > 6 {
        return None;
    }
    let start = s.len() - joined.len();
    let stop = value_end(s, start);
    let token = &s[start..stop];
    let (user, pass) = token.split_once('/')?;
    let pass = pass.strip_prefix('/').unwrap_or(pass);
    // The pair ends the note's entry: a space, a bracket, a comma or the line's end follow.
    let next = s[stop..].chars().next();
    if !user_name(user)
        || pass.contains('/')
        || !next.is_none_or(|c| c.is_whitespace() || matches!(c, ')' | ','))
    {
        return None;
    }
    note_value(pass).then_some(stop - pass.len()..stop)
}
