//! Who and what a check is about.

use serde::{Deserialize, Serialize};

/// The caller's context: user, session, agent and role.
///
/// Per-session state (pseudonym vaults, rate limits, approvals) is keyed by it, and tool
/// policies match on the role and agent.
///
/// ```
/// let ctx = palisade::Context::new().user("u-42").session("s-1").role("support-agent");
/// assert_eq!(ctx.role.as_deref(), Some("support-agent"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Context {
    /// The end user on whose behalf the agent acts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The conversation or task session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The agent (or principal) that runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The role the agent acts in, as named in tool policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the user.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the session.
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }

    /// Sets the agent.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Sets the role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
}
