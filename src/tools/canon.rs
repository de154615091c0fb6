//! Canonical JSON for approval digests: keys sorted by bytes, strings in NFC, numbers in one
//! shortest form (`100`, `100.0` and `1e2` are the same number), no whitespace.

use serde_json::Value;
use sha2::{Digest, Sha256};
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

/// Writes the canonical form of `value` into `out`.
pub(crate) fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, &Value)> = map.iter().map(|(k, v)| (nfc(k), v)).collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
    }
}

fn nfc(s: &str) -> String {
    if matches!(
        is_nfc_quick(s.chars()),
        unicode_normalization::IsNormalized::Yes
    ) {
        s.to_owned()
    } else {
        s.nfc().collect()
    }
}

fn write_string(s: &str, out: &mut String) {
    let s = nfc(s);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &serde_json::Number, out: &mut String) {
    use std::fmt::Write;
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        // Integral values within the exact range print as integers; others in Rust's
        // shortest round-trip form. -0 is 0.
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            let _ = write!(out, "{}", f as i64);
        } else {
            let _ = write!(out, "{f:e}");
        }
    } else {
        out.push_str(&n.to_string());
    }
}

/// The canonical form of a call: `{"arguments":…,"tool":…}`.
pub(crate) fn canonical_call(tool: &str, arguments: &Value) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("{\"arguments\":");
    write(arguments, &mut out);
    out.push_str(",\"tool\":");
    write_string(tool, &mut out);
    out.push('}');
    out
}

/// SHA-256 of the canonical call, in lowercase hex.
pub(crate) fn digest(tool: &str, arguments: &Value) -> String {
    hex(&Sha256::digest(canonical_call(tool, arguments).as_bytes()))
}

/// Decodes hex digits (either case, even count); `None` on anything else.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_number_forms_do_not_change_the_digest() {
        let a: Value = serde_json::from_str(r#"{"to":"a@b.com","amount":100}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"amount":1e2,"to":"a@b.com"}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"amount":100.0,"to":"a@b.com"}"#).unwrap();
        assert_eq!(digest("pay", &a), digest("pay", &b));
        assert_eq!(digest("pay", &a), digest("pay", &c));
        assert_ne!(
            digest("pay", &a),
            digest("pay", &json!({"to":"a@b.com","amount":101}))
        );
        assert_ne!(digest("pay", &a), digest("refund", &a));
    }

    #[test]
    fn canonically_equivalent_strings_share_a_digest() {
        // "é" precomposed and as e + combining acute.
        assert_eq!(
            digest("t", &json!({"name": "caf\u{e9}"})),
            digest("t", &json!({"name": "cafe\u{301}"}))
        );
        assert_eq!(
            canonical_call("t", &json!({"b": [1.5, -0.0, "x\n"], "a": null})),
            r#"{"arguments":{"a":null,"b":[1.5e0,0,"x\u000a"]},"tool":"t"}"#
        );
    }
}
