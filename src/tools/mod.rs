//! Tool calls: what the model asks to run, and the policy that decides whether it may.
//!
//! A [`ToolPolicy`] (TOML) names every tool that may run, who may call it, and a constraint
//! for each argument; anything it does not name is denied.
//! [`check_tool_call`](crate::Guard::check_tool_call) applies it, asks for human approval where the policy says
//! so (bound to the exact arguments, single use, expiring), and enforces rate limits and
//! budgets per session, user or agent. Every verdict names the rule that decided it
//! ([`Verdict::rule`](crate::Verdict::rule)), and each denial finding names the failed
//! constraint and the argument (as a JSON Pointer).

mod canon;
pub(crate) mod egress;
mod expr;
mod path;
pub(crate) mod policy;
mod state;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use policy::{SCANNABLE, ToolPolicy};
pub use state::{Approval, ApprovalError, Clock, ManualClock, SystemClock};
pub(crate) use state::{Charge, Refusal, State, Window};

pub(crate) use canon::{digest, hex, unhex};

/// A tool call the model wants to make: the tool's name and its JSON arguments.
///
/// Build it with [`ToolCall::from_json`] from the raw argument string a model API returns:
/// that parse refuses duplicate keys (`{"to": "a@ok.com", "to": "b@evil.com"}` — parsers
/// disagree on which one wins), and the guard blocks such a call.
///
/// ```
/// let call = palisade::ToolCall::new("send_email", serde_json::json!({"to": "a@b.com"}));
/// assert_eq!(call.name, "send_email");
/// let bad = palisade::ToolCall::from_json("send_email", r#"{"to": "a@b.com", "to": "x@evil.com"}"#);
/// assert!(bad.malformed().unwrap().contains("duplicate"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool's name, exactly as the model gave it.
    pub name: String,
    /// The arguments, as a JSON value (usually an object).
    #[serde(default, deserialize_with = "strict_value")]
    pub arguments: Value,
    #[serde(skip)]
    malformed: Option<String>,
}

impl ToolCall {
    /// A call of `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            name: name.into(),
            arguments,
            malformed: None,
        }
    }

    /// A call of `name` with arguments given as JSON text. Invalid JSON or a duplicate key at any
    /// depth makes the call malformed (see [`ToolCall::malformed`]); the guard blocks it.
    pub fn from_json(name: impl Into<String>, arguments: &str) -> Self {
        let mut de = serde_json::Deserializer::from_str(arguments);
        let parsed = strict_value(&mut de).and_then(|v| de.end().map(|()| v));
        match parsed {
            Ok(v) => ToolCall::new(name, v),
            Err(e) => ToolCall {
                name: name.into(),
                arguments: Value::Null,
                malformed: Some(format!("arguments are not valid JSON: {e}")),
            },
        }
    }

    /// Why the arguments could not be read, for calls built with [`ToolCall::from_json`].
    pub fn malformed(&self) -> Option<&str> {
        self.malformed.as_deref()
    }
}

/// Deserializes a JSON value, refusing duplicate object keys.
fn strict_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    d.deserialize_any(StrictVisitor)
}

struct StrictVisitor;

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} (argument smuggling: parsers disagree on which value wins)"
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_at_any_depth_make_a_call_malformed() {
        assert!(
            ToolCall::from_json("t", r#"{"a": 1}"#)
                .malformed()
                .is_none()
        );
        assert!(
            ToolCall::from_json("t", r#"{"a": {"b": 1, "b": 2}}"#)
                .malformed()
                .is_some()
        );
        assert!(
            ToolCall::from_json("t", r#"[{"x": 1, "x": 1}]"#)
                .malformed()
                .is_some()
        );
        assert!(
            ToolCall::from_json("t", r#"{"a": 1} trailing"#)
                .malformed()
                .is_some()
        );
        let via_serde: Result<ToolCall, _> =
            serde_json::from_str(r#"{"name": "t", "arguments": {"to": 1, "to": 2}}"#);
        assert!(via_serde.is_err());
    }
}
