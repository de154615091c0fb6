//! What a check returns: [`Action`], [`Finding`]s and the [`Verdict`].

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The outcome of a check. Actions form a lattice: `Allow < Redact < RequireApproval < Block`,
/// and when several findings ask for different actions the strongest wins.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let the text or call through unchanged.
    #[default]
    Allow,
    /// Let it through with the flagged spans replaced (see [`Verdict::text`]).
    Redact,
    /// Hold it until a human approves.
    RequireApproval,
    /// Refuse it.
    Block,
}

impl Action {
    /// The stronger of two actions.
    pub fn join(self, other: Action) -> Action {
        self.max(other)
    }

    /// The lowercase name used in configuration and output (`allow`, `redact`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::RequireApproval => "require_approval",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which check a verdict answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A user message on its way to the model.
    Input,
    /// A model answer on its way to the user.
    Output,
    /// Text that a tool or a retrieved document brings back (the indirect-injection path).
    ToolResult,
    /// A tool call the model wants to make.
    ToolCall,
}

impl CheckKind {
    /// All text kinds (`input`, `output`, `tool_result`).
    pub const TEXT: [CheckKind; 3] = [CheckKind::Input, CheckKind::Output, CheckKind::ToolResult];

    /// The lowercase name (`input`, `output`, `tool_result`, `tool_call`).
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Input => "input",
            CheckKind::Output => "output",
            CheckKind::ToolResult => "tool_result",
            CheckKind::ToolCall => "tool_call",
        }
    }

    /// Parses a name as written by [`CheckKind::name`].
    pub fn parse(name: &str) -> Option<CheckKind> {
        Some(match name {
            "input" => CheckKind::Input,
            "output" => CheckKind::Output,
            "tool_result" => CheckKind::ToolResult,
            "tool_call" => CheckKind::ToolCall,
            _ => return None,
        })
    }
}

/// The kind of threat a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Prompt injection or jailbreak.
    Injection,
    /// Invisible, directional, tag or look-alike characters.
    Unicode,
    /// Size limits.
    Length,
    /// Content the operator banned.
    Banned,
    /// Personal data.
    Pii,
    /// Credentials and keys.
    Secret,
    /// Names of accounts, tenants, buckets, hosts and OAuth clients (`identifier.*`): not
    /// secrets, but what an attacker pairs with one.
    Identifier,
    /// Tool-call policy.
    Tool,
    /// Output-only concerns (leaks, exfiltration links).
    Output,
    /// A detector that failed at check time.
    Error,
    /// Operator controls: the kill switch and escalations, audit failures.
    Control,
    /// A user-defined detector.
    Custom,
}

/// One thing a detector found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id, `family.name` (`injection.override`, `unicode.bidi`, ...).
    pub detector: Cow<'static, str>,
    /// What kind of threat this is.
    pub category: Category,
    /// Byte span in the **original** text (empty for findings about the whole call).
    pub span: Range<usize>,
    /// Confidence in `0.0..=1.0`, compared with the configured threshold.
    pub score: f32,
    /// A human-readable explanation.
    pub message: String,
    /// The action the policy assigned to this finding (the detector's default until then).
    pub action: Action,
    /// What a redaction puts in place of the span (`None`: `[REDACTED:<detector>]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// For tool calls: the argument concerned, as a JSON Pointer (`/to/0`); the span is then
    /// within that argument's string value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// For tool calls: the policy rule or constraint behind the finding
    /// (`tools.send_email.args.to.domains`, `default_deny`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Finding {
    /// A finding with the detector's default action `action`.
    pub fn new(
        detector: impl Into<Cow<'static, str>>,
        category: Category,
        span: Range<usize>,
        score: f32,
        action: Action,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            detector: detector.into(),
            category,
            span,
            score,
            message: message.into(),
            action,
            replacement: None,
            argument: None,
            rule: None,
        }
    }

    /// Sets what a redaction puts in place of the span.
    pub fn with_replacement(mut self, replacement: impl Into<String>) -> Self {
        self.replacement = Some(replacement.into());
        self
    }

    /// The family of the detector id (`injection` for `injection.override`).
    pub fn family(&self) -> &str {
        family(&self.detector)
    }
}

/// The family part of a `family.name` id.
pub fn family(id: &str) -> &str {
    id.split_once('.').map_or(id, |(f, _)| f)
}

/// How long one detector took.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timing {
    /// The detector id.
    #[serde(serialize_with = "as_str")]
    pub detector: std::sync::Arc<str>,
    /// Wall time spent in it.
    #[serde(serialize_with = "as_micros")]
    pub duration: Duration,
}

fn as_str<S: serde::Serializer>(v: &std::sync::Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn opt_as_str<S: serde::Serializer>(
    v: &Option<std::sync::Arc<str>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v),
        None => s.serialize_none(),
    }
}

fn as_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e6)
}

/// The answer to one check.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub(crate) kind: CheckKind,
    pub(crate) action: Action,
    pub(crate) shadow: Option<Action>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) text: String,
    pub(crate) changed: bool,
    pub(crate) timings: Vec<Timing>,
    #[serde(serialize_with = "as_micros")]
    pub(crate) elapsed: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "opt_as_str")]
    pub(crate) rule: Option<std::sync::Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) approval: Option<crate::tools::Approval>,
}

impl Verdict {
    /// Which check this answers.
    pub fn kind(&self) -> CheckKind {
        self.kind
    }

    /// The decided action (in shadow mode always [`Action::Allow`]; see [`Verdict::shadow_action`]).
    pub fn action(&self) -> Action {
        self.action
    }

    /// In shadow (monitor-only) mode, the action that enforcement would have taken.
    pub fn shadow_action(&self) -> Option<Action> {
        self.shadow
    }

    /// Whether the check refused the text or call.
    pub fn is_blocked(&self) -> bool {
        self.action == Action::Block
    }

    /// Whether the text or call may go through (possibly redacted).
    pub fn is_allowed(&self) -> bool {
        self.action <= Action::Redact
    }

    /// Every finding, including those under their threshold (whose action is `Allow`).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The text to pass on: the original with every redacted span replaced.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether [`Verdict::text`] differs from the checked text.
    pub fn is_redacted(&self) -> bool {
        self.changed
    }

    /// Time spent in each detector, in pipeline order.
    pub fn timings(&self) -> &[Timing] {
        &self.timings
    }

    /// Total time of the check.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// For tool calls, the policy rule that decided: `tools.<name>` when allowed,
    /// `tools.<name>.approval` when approval is asked for or was granted, the failed constraint
    /// (`tools.send_email.args.to.domains`, `tools.x.limits[0]`) when denied, `default_deny`
    /// for a tool no rule names.
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// For tool calls: the approval request to show a human ([`Action::RequireApproval`]), or
    /// the granted approval that allowed this call (with who approved).
    pub fn approval(&self) -> Option<&crate::tools::Approval> {
        self.approval.as_ref()
    }

    /// A one-line reason: the strongest finding's id and message (empty when allowed cleanly).
    pub fn reason(&self) -> String {
        let decided = self.shadow.unwrap_or(self.action);
        self.findings
            .iter()
            .filter(|f| f.action == decided && decided > Action::Allow)
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .map(|f| format!("{}: {}", f.detector, f.message))
            .unwrap_or_default()
    }
}

/// Applies the replacements of every finding whose action is `Redact` (a blocked text is
/// refused whole, so blocking findings replace nothing).
///
/// Overlapping spans are merged into one; the merged span takes the replacement of the
/// finding that starts first (the longest on ties).
#[cfg(test)]
pub(crate) fn redact(original: &str, findings: &[Finding]) -> Option<String> {
    redact_with(original, findings, None)
}

/// [`redact`], passing the text between redacted spans through `keep` (which restores
/// pseudonyms in answers). `None` when the result is the original text.
pub(crate) fn redact_with(
    original: &str,
    findings: &[Finding],
    keep: Option<&dyn Fn(&str) -> String>,
) -> Option<String> {
    let mut spans: Vec<(&Range<usize>, &Finding)> = Vec::with_capacity(findings.len());
    spans.extend(
        findings
            .iter()
            .filter(|f| f.action == Action::Redact && f.span.start < f.span.end)
            .map(|f| (&f.span, f)),
    );
    let push = |out: &mut String, s: &str| match keep {
        Some(k) if s.contains('<') => out.push_str(&k(s)),
        _ => out.push_str(s),
    };
    if spans.is_empty() {
        let k = keep?;
        if !original.contains('<') {
            return None;
        }
        let restored = k(original);
        return (restored != original).then_some(restored);
    }
    spans.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
    let mut out = String::with_capacity(original.len());
    let mut copied = 0usize;
    let mut i = 0;
    while i < spans.len() {
        let (first, f) = spans[i];
        let mut end = first.end;
        let mut j = i + 1;
        while j < spans.len() && spans[j].0.start < end {
            end = end.max(spans[j].0.end);
            j += 1;
        }
        let start = first.start.max(copied);
        if start > copied {
            push(&mut out, original.get(copied..start)?);
        }
        match &f.replacement {
            Some(r) => out.push_str(r),
            None => {
                out.push_str("[REDACTED:");
                out.push_str(&f.detector);
                out.push(']');
            }
        }
        copied = end.min(original.len());
        i = j;
    }
    push(&mut out, original.get(copied..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_form_a_lattice() {
        assert!(Action::Allow < Action::Redact);
        assert!(Action::Redact < Action::RequireApproval);
        assert!(Action::RequireApproval < Action::Block);
        assert_eq!(Action::Redact.join(Action::Block), Action::Block);
    }

    #[test]
    fn overlapping_redactions_merge() {
        let f = |s: Range<usize>, r: &str| {
            Finding::new("x.y", Category::Custom, s, 1.0, Action::Redact, "").with_replacement(r)
        };
        let text = "abcdefghij";
        let out = redact(text, &[f(2..5, "#"), f(4..7, "$"), f(8..9, "")]).unwrap();
        assert_eq!(out, "ab#hj");
    }
}
