//! Secrets in SQL `INSERT` statements: `INSERT INTO users (name, password) VALUES ('admin',
//! 'Qx7Lp2Wm9d!')` names the column in one list and gives the value in another, by position.

use std::ops::Range;

/// How far before a column name its `INSERT INTO` may start, in bytes.
pub(super) const REACH: usize = 300;

/// Rows of one `VALUES` list that are read.
const MAX_ROWS: usize = 100;

/// The statement's column list around `hit` (a keyword inside it): the list's range (inside the
/// brackets) when `INSERT INTO table (` opens it.
fn column_list(s: &str, hit: usize) -> Option<Range<usize>> {
    let mut from = hit.saturating_sub(REACH);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let before = &s[from..hit];
    let open = before.rfind('(')?;
    if before[open..].contains(')') {
        return None;
    }
    let head = before[..open].trim_end().to_ascii_lowercase();
    // `insert into <table>` (a schema, quotes or brackets around the name allowed).
    let table_start = head.rfind(|c: char| c.is_ascii_whitespace())? + 1;
    let table = &head[table_start..];
    if table.is_empty()
        || !table.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'"' | b'`' | b'[' | b']')
        })
        || !head[..table_start].trim_end().ends_with("insert into")
    {
        return None;
    }
    let start = from + open + 1;
    let close = s[start..].find(')')? + start;
    Some(start..close)
}

/// A value of a `VALUES` row: a quoted string (its content) or a bare word; `None` past the row.
fn next_value(s: &str, at: &mut usize) -> Option<(Range<usize>, bool)> {
    let b = s.as_bytes();
    while *at < b.len() && b[*at].is_ascii_whitespace() {
        *at += 1;
    }
    let start = *at;
    let quoted = matches!(b.get(start), Some(b'\'' | b'"'));
    let range = if quoted {
        let q = b[start];
        let mut i = start + 1;
        loop {
            match b.get(i) {
                None => return None,
                // A doubled quote is one quote inside the string.
                Some(&c) if c == q && b.get(i + 1) == Some(&q) => i += 2,
                Some(&c) if c == q => break,
                Some(_) => i += 1,
            }
        }
        *at = i + 1;
        start + 1..i
    } else {
        let end = s[start..].find([',', ')']).map_or(s.len(), |i| start + i);
        *at = end;
        start..end
    };
    while *at < b.len() && b[*at].is_ascii_whitespace() {
        *at += 1;
    }
    match b.get(*at) {
        Some(b',') => *at += 1,
        Some(b')') => {}
        _ => return None,
    }
    Some((range, quoted))
}

/// The quoted values of column `column` in the `VALUES` rows after the column list that ends at
/// `list_end` (its `)`).
fn column_values(s: &str, list_end: usize, column: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let rest = &s[list_end + 1..];
    let trimmed = rest.trim_start();
    if !trimmed
        .get(..6)
        .is_some_and(|v| v.eq_ignore_ascii_case("values"))
    {
        return out;
    }
    let mut at = s.len() - trimmed.len() + 6;
    for _ in 0..MAX_ROWS {
        let row = s[at..].trim_start();
        let Some(inner) = row.strip_prefix('(') else {
            break;
        };
        at = s.len() - inner.len();
        let mut i = 0;
        loop {
            let Some((range, quoted)) = next_value(s, &mut at) else {
                return out;
            };
            if i == column && quoted {
                out.push(range);
            }
            i += 1;
            if s.as_bytes().get(at) == Some(&b')') {
                at += 1;
                break;
            }
        }
        let next = s[at..].trim_start();
        match next.strip_prefix(',') {
            Some(r) => at = s.len() - r.len(),
            None => break,
        }
    }
    out
}

/// For a keyword at `hit` that names a column of an `INSERT` statement, the column's name and
/// the quoted values given for it.
pub(super) fn insert_values(s: &str, hit: usize) -> Option<(&str, Vec<Range<usize>>)> {
    let list = column_list(s, hit)?;
    let mut column = 0;
    let mut name = None;
    let mut at = list.start;
    for c in s[list.clone()].split(',') {
        if (at..=at + c.len()).contains(&hit) {
            name = Some(c.trim().trim_matches(['"', '`', '[', ']', '\'']));
            break;
        }
        at += c.len() + 1;
        column += 1;
    }
    let name = name?;
    Some((name, column_values(s, list.end, column)))
}
