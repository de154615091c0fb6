//! Tool calls as the guard sees them.

use serde::{Deserialize, Serialize};

/// A tool call the model wants to make: the tool's name and its JSON arguments.
///
/// ```
/// let call = palisade::ToolCall::new("send_email", serde_json::json!({"to": "a@b.com"}));
/// assert_eq!(call.name, "send_email");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool's name, exactly as the model gave it.
    pub name: String,
    /// The arguments, as a JSON value (usually an object).
    #[serde(default)]
    pub arguments: serde_json::Value,
}

impl ToolCall {
    /// A call of `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        ToolCall {
            name: name.into(),
            arguments,
        }
    }
}
