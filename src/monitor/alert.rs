//! Alerts: thresholds on sliding windows of monitor signals, with escalation.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::Error;
use crate::tools::Window;
use crate::tools::policy::{Fnv, parse_duration};

/// What an alert counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Checks with an injection finding over its threshold.
    Injection,
    /// Checks with a PII finding over its threshold.
    Pii,
    /// Checks with a secret finding over its threshold.
    Secret,
    /// Tool calls denied.
    ToolDenied,
    /// Checks of any kind blocked.
    Blocked,
    /// Tool calls held for approval.
    ApprovalRequired,
    /// Tokens the caller reports ([`Pipeline::record_tokens`](crate::Pipeline::record_tokens));
    /// the threshold is a token budget.
    Tokens,
}

impl Signal {
    const ALL: [Signal; 7] = [
        Signal::Injection,
        Signal::Pii,
        Signal::Secret,
        Signal::ToolDenied,
        Signal::Blocked,
        Signal::ApprovalRequired,
        Signal::Tokens,
    ];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Injection => "injection",
            Signal::Pii => "pii",
            Signal::Secret => "secret",
            Signal::ToolDenied => "tool_denied",
            Signal::Blocked => "blocked",
            Signal::ApprovalRequired => "approval_required",
            Signal::Tokens => "tokens",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The signals one check raised, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Signals(pub(crate) u8);

impl Signals {
    pub(crate) fn set(&mut self, s: Signal) {
        self.0 |= s.bit();
    }

    pub(crate) fn has(self, s: Signal) -> bool {
        self.0 & s.bit() != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Whose events an alert counts together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// Per user.
    User,
    /// Per session.
    Session,
    /// Per agent.
    Agent,
    /// All together.
    #[default]
    Global,
}

/// What an alert does besides reporting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalate {
    /// Report only.
    #[default]
    None,
    /// Engage the kill switch for the user of the event that fired it.
    BlockUser,
    /// ... for its session.
    BlockSession,
    /// ... for its agent.
    BlockAgent,
    /// Engage the global kill switch.
    KillSwitch,
}

/// One alert rule (`[[monitor.alerts]]`).
///
/// ```toml
/// [[monitor.alerts]]
/// name = "injection-burst"
/// signal = "injection"      # injection | pii | secret | tool_denied | blocked | approval_required | tokens
/// per = "user"              # user | session | agent | global
/// threshold = 5             # fires when the windowed count (or token sum) reaches it
/// window = "10m"
/// escalate = "block_user"   # none | block_user | block_session | block_agent | kill_switch
/// block_for = "1h"          # how long the escalation lasts (default: until released)
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// A unique name.
    pub name: String,
    /// What it counts.
    pub signal: Signal,
    /// Whose events count together. Default `global`.
    #[serde(default)]
    pub per: Per,
    /// Fires when the count (or token sum) within the window reaches it.
    pub threshold: f64,
    /// The sliding window (`30s`, `10m`, `1h`, `1d`).
    pub window: String,
    /// Escalation. Default `none`.
    #[serde(default)]
    pub escalate: Escalate,
    /// How long an escalation lasts. Default: until released.
    #[serde(default)]
    pub block_for: Option<String>,
}

/// A fired alert, as delivered to the [`on_alert`](crate::PipelineBuilder::on_alert)
/// callback and written to the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name.
    pub name: String,
    /// What it counts.
    pub signal: Signal,
    /// The key counted (`user:u-42`, `global`).
    pub key: String,
    /// The windowed count or sum that reached the threshold.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// The window in milliseconds.
    pub window_ms: u64,
    /// When it fired (the pipeline clock, Unix ms).
    pub at_ms: u64,
    /// The context of the event that fired it.
    pub context: Context,
    /// The escalation to apply.
    pub escalate: Escalate,
    /// How long the escalation lasts (`None`: until released).
    pub block_for_ms: Option<u64>,
}

struct Compiled {
    rule: AlertRule,
    window_ms: u64,
    block_for_ms: Option<u64>,
}

/// At most this many (rule, key) windows; beyond it, new keys share one overflow window.
const MAX_KEYS: usize = 100_000;

/// The alert engine.
pub(crate) struct Alerts {
    rules: Vec<Compiled>,
    by_signal: [Vec<usize>; 7],
    state: Mutex<HashMap<(usize, String), Window, Fnv>>,
}

impl Alerts {
    pub(crate) fn new(rules: &[AlertRule], file: &str) -> Result<Alerts, Error> {
        let err = |i: usize, field: &str, message: String| Error::Config {
            file: file.to_owned(),
            line: None,
            field: format!("monitor.alerts[{i}].{field}"),
            message,
        };
        let mut compiled = Vec::new();
        let mut by_signal: [Vec<usize>; 7] = Default::default();
        for (i, r) in rules.iter().enumerate() {
            if r.name.trim().is_empty() {
                return Err(err(i, "name", "an alert needs a name".into()));
            }
            if rules[..i].iter().any(|x| x.name == r.name) {
                return Err(err(i, "name", format!("{:?} is used twice", r.name)));
            }
            if !(r.threshold.is_finite() && r.threshold > 0.0) {
                return Err(err(i, "threshold", format!("{} must be > 0", r.threshold)));
            }
            let window_ms = parse_duration(&r.window).map_err(|m| err(i, "window", m))?;
            let block_for_ms = match (&r.block_for, r.escalate) {
                (Some(_), Escalate::None) => {
                    return Err(err(
                        i,
                        "block_for",
                        "block_for needs an escalation (escalate = ...)".into(),
                    ));
                }
                (Some(d), _) => Some(parse_duration(d).map_err(|m| err(i, "block_for", m))?),
                (None, _) => None,
            };
            by_signal[r.signal as usize].push(compiled.len());
            compiled.push(Compiled {
                rule: r.clone(),
                window_ms,
                block_for_ms,
            });
        }
        Ok(Alerts {
            rules: compiled,
            by_signal,
            state: Mutex::new(HashMap::default()),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Counts `amount` for every signal in `signals` and returns the alerts that reached their
    /// threshold with this event (an alert fires when its windowed value crosses the
    /// threshold; it can fire again once the window has dropped below it).
    pub(crate) fn observe(
        &self,
        signals: Signals,
        ctx: &Context,
        now: u64,
        amount: f64,
    ) -> Vec<Alert> {
        let mut fired = Vec::new();
        if self.rules.is_empty() || signals.is_empty() {
            return fired;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for s in Signal::ALL {
            if !signals.has(s) {
                continue;
            }
            for &i in &self.by_signal[s as usize] {
                let c = &self.rules[i];
                let key = key_of(c.rule.per, ctx);
                if state.len() >= MAX_KEYS && !state.contains_key(&(i, key.clone())) {
                    state.retain(|(r, _), w| w.used(now, self.rules[*r].window_ms) > 0.0);
                }
                let key = if state.len() >= MAX_KEYS && !state.contains_key(&(i, key.clone())) {
                    "(overflow)".to_owned()
                } else {
                    key
                };
                let w = state.entry((i, key.clone())).or_default();
                let before = w.used(now, c.window_ms);
                w.add(now, amount);
                let after = before + amount;
                if before < c.rule.threshold && after >= c.rule.threshold {
                    fired.push(Alert {
                        name: c.rule.name.clone(),
                        signal: s,
                        key,
                        value: after,
                        threshold: c.rule.threshold,
                        window_ms: c.window_ms,
                        at_ms: now,
                        context: ctx.clone(),
                        escalate: c.rule.escalate,
                        block_for_ms: c.block_for_ms,
                    });
                }
            }
        }
        fired
    }
}

fn key_of(per: Per, ctx: &Context) -> String {
    let name = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    match per {
        Per::User => format!("user:{}", name(&ctx.user)),
        Per::Session => format!("session:{}", name(&ctx.session)),
        Per::Agent => format!("agent:{}", name(&ctx.agent)),
        Per::Global => "global".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(threshold: f64) -> AlertRule {
        AlertRule {
            name: "burst".into(),
            signal: Signal::Injection,
            per: Per::User,
            threshold,
            window: "10m".into(),
            escalate: Escalate::None,
            block_for: None,
        }
    }

    fn injection() -> Signals {
        let mut s = Signals::default();
        s.set(Signal::Injection);
        s
    }

    #[test]
    fn fires_exactly_at_the_threshold_and_again_after_the_window() {
        let a = Alerts::new(&[rule(5.0)], "t").unwrap();
        let u = Context::new().user("u");
        let min = 60_000;
        for t in 0..4 {
            assert!(
                a.observe(injection(), &u, t * min, 1.0).is_empty(),
                "event {t}"
            );
        }
        let fired = a.observe(injection(), &u, 4 * min, 1.0);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].key, "user:u");
        assert_eq!(fired[0].value, 5.0);
        // Still over the threshold: no second alert.
        assert!(a.observe(injection(), &u, 5 * min, 1.0).is_empty());
        // Another user's events count apart.
        assert!(
            a.observe(injection(), &Context::new().user("v"), 5 * min, 1.0)
                .is_empty()
        );
        // 30 minutes later every event has left the window: five more fire again.
        for t in 0..4 {
            assert!(a.observe(injection(), &u, 30 * min + t, 1.0).is_empty());
        }
        assert_eq!(a.observe(injection(), &u, 30 * min + 4, 1.0).len(), 1);
    }

    #[test]
    fn window_expiry_is_exact() {
        let a = Alerts::new(&[rule(2.0)], "t").unwrap();
        let u = Context::new().user("u");
        assert!(a.observe(injection(), &u, 0, 1.0).is_empty());
        // At exactly 10 minutes the first event has left the window.
        assert!(a.observe(injection(), &u, 600_000, 1.0).is_empty());
        assert_eq!(a.observe(injection(), &u, 600_001, 1.0).len(), 1);
    }

    #[test]
    fn other_signals_do_not_count() {
        let a = Alerts::new(&[rule(1.0)], "t").unwrap();
        let mut pii = Signals::default();
        pii.set(Signal::Pii);
        assert!(a.observe(pii, &Context::new(), 0, 1.0).is_empty());
    }

    #[test]
    fn invalid_rules_are_refused_with_the_field() {
        let mut r = rule(0.0);
        let e = Alerts::new(&[r.clone()], "c.toml")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("monitor.alerts[0].threshold"), "{e}");
        r.threshold = 1.0;
        r.block_for = Some("1h".into());
        let e = Alerts::new(&[r.clone()], "c.toml")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("block_for"), "{e}");
        r.block_for = None;
        r.window = "10".into();
        assert!(Alerts::new(&[r], "c.toml").is_err());
    }
}
