//! Per-session state of tool calls: rate-limit windows and approvals, and the clock they read.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Milliseconds since the Unix epoch, as rate limits and approvals see them.
///
/// The default is [`SystemClock`]; tests and simulations use [`ManualClock`].
pub trait Clock: Send + Sync + Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The wall clock read once at creation, then advanced by the monotonic clock, so windows never
/// run backwards when the system time is changed.
#[derive(Debug)]
pub struct SystemClock {
    base_ms: u64,
    start: Instant,
}

impl SystemClock {
    /// A clock starting at the current system time.
    pub fn new() -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        SystemClock {
            base_ms,
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        self.base_ms + self.start.elapsed().as_millis() as u64
    }
}

/// A clock that moves only when told to: for tests of windows and expiry.
///
/// ```
/// use palisade::tools::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::new(1_000);
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now_ms(), 3_000);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualClock {
            ms: AtomicU64::new(start_ms),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sets the reading.
    pub fn set(&self, ms: u64) {
        self.ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.ms.load(Ordering::SeqCst)
    }
}

/// An approval request, or a granted approval, bound to one exact call.
///
/// `digest` is the SHA-256 of the canonical call (tool name and arguments with sorted keys,
/// NFC strings and one form per number): a grant authorizes that call only, in the context
/// (user, session, agent, role) that asked, once, until `expires_at_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The request id to pass to [`Pipeline::approve`](crate::Pipeline::approve).
    pub id: String,
    /// The tool.
    pub tool: String,
    /// SHA-256 (hex) of the canonical call.
    pub digest: String,
    /// The policy rule that asked for approval (`tools.transfer.approval`).
    pub rule: String,
    /// Why approval is needed.
    pub reason: String,
    /// When it was requested.
    pub requested_at_ms: u64,
    /// When the request (or, once granted, the grant) expires.
    pub expires_at_ms: u64,
    /// Who approved, once granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_at_ms: Option<u64>,
}

/// Why an approval could not be granted or rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// No pending request has this id (never issued, already decided, or evicted).
    #[error("no pending approval request {0:?}")]
    Unknown(String),
    /// The request expired before a decision.
    #[error("approval request {0:?} expired")]
    Expired(String),
    /// The approver must be named.
    #[error("the approver must be named")]
    NoApprover,
}

/// Events in one sliding window: (time, amount).
#[derive(Debug, Default)]
pub(crate) struct Window {
    events: VecDeque<(u64, f64)>,
}

/// At most this many events per window; older ones are merged (conservatively, keeping the
/// later time) so memory stays bounded whatever the amounts.
const MAX_EVENTS: usize = 1024;

impl Window {
    pub(crate) fn used(&mut self, now: u64, window_ms: u64) -> f64 {
        // An event at `t` counts while `now - t < window_ms`.
        while self
            .events
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) >= window_ms)
        {
            self.events.pop_front();
        }
        self.events.iter().map(|(_, a)| a).sum()
    }

    pub(crate) fn add(&mut self, now: u64, amount: f64) {
        self.events.push_back((now, amount));
        if self.events.len() > MAX_EVENTS
            && let Some((_, a)) = self.events.pop_front()
            && let Some(next) = self.events.front_mut()
        {
            next.1 += a;
        }
    }
}

/// One limit to test: its id, the scope key, the window, the maximum and this call's amount.
pub(crate) struct Charge<'a> {
    pub(crate) limit: u32,
    pub(crate) key: &'a str,
    pub(crate) window_ms: u64,
    pub(crate) max: f64,
    pub(crate) amount: f64,
}

/// What exceeded a limit: its index in the charges and the amount already used.
pub(crate) enum Refusal {
    Exceeded { index: usize, used: f64 },
    Full,
}

#[derive(Debug)]
struct Pending {
    ctx: String,
    approval: Approval,
}

/// Mutable tool-call state, behind one mutex in the pipeline.
#[derive(Debug, Default)]
pub(crate) struct State {
    windows: HashMap<(u32, String), Window>,
    pending: HashMap<String, Pending>,
    grants: HashMap<(String, String), Approval>,
}

impl State {
    /// Tests every charge; on success records them all.
    pub(crate) fn charge(
        &mut self,
        now: u64,
        charges: &[Charge<'_>],
        max_tracked: usize,
        commit: bool,
    ) -> Result<(), Refusal> {
        let new_keys = charges
            .iter()
            .filter(|c| !self.windows.contains_key(&(c.limit, c.key.to_owned())))
            .count();
        if new_keys > 0 && self.windows.len() + new_keys > max_tracked {
            // Drop windows with nothing left in them.
            let max_window = charges.iter().map(|c| c.window_ms).max().unwrap_or(0);
            self.windows.retain(|_, w| {
                w.used(now, max_window.max(1));
                !w.events.is_empty()
            });
            if self.windows.len() + new_keys > max_tracked {
                return Err(Refusal::Full);
            }
        }
        for (index, c) in charges.iter().enumerate() {
            let used = self
                .windows
                .get_mut(&(c.limit, c.key.to_owned()))
                .map_or(0.0, |w| w.used(now, c.window_ms));
            if used + c.amount > c.max {
                return Err(Refusal::Exceeded { index, used });
            }
        }
        if !commit {
            return Ok(());
        }
        for c in charges {
            self.windows
                .entry((c.limit, c.key.to_owned()))
                .or_default()
                .add(now, c.amount);
        }
        Ok(())
    }

    /// Takes the grant for this exact call in this context, if one is live (single use).
    pub(crate) fn take_grant(&mut self, ctx: &str, digest: &str, now: u64) -> Option<Approval> {
        let g = self.grants.remove(&(ctx.to_owned(), digest.to_owned()))?;
        (g.expires_at_ms > now).then_some(g)
    }

    /// Files (or finds again) the pending request for this exact call in this context.
    pub(crate) fn request(&mut self, ctx: &str, mut approval: Approval, now: u64) -> Approval {
        if let Some(p) = self.pending.values().find(|p| {
            p.ctx == ctx && p.approval.digest == approval.digest && p.approval.expires_at_ms > now
        }) {
            return p.approval.clone();
        }
        const MAX_PENDING: usize = 10_000;
        if self.pending.len() >= MAX_PENDING {
            self.pending.retain(|_, p| p.approval.expires_at_ms > now);
            if self.pending.len() >= MAX_PENDING
                && let Some(oldest) = self
                    .pending
                    .iter()
                    .min_by_key(|(_, p)| p.approval.requested_at_ms)
                    .map(|(k, _)| k.clone())
            {
                self.pending.remove(&oldest);
            }
        }
        approval.id = new_id();
        self.pending.insert(
            approval.id.clone(),
            Pending {
                ctx: ctx.to_owned(),
                approval: approval.clone(),
            },
        );
        approval
    }

    /// Grants a pending request.
    pub(crate) fn grant(
        &mut self,
        id: &str,
        approver: &str,
        now: u64,
        ttl_ms: u64,
    ) -> Result<Approval, ApprovalError> {
        if approver.trim().is_empty() {
            return Err(ApprovalError::NoApprover);
        }
        let p = self
            .pending
            .remove(id)
            .ok_or_else(|| ApprovalError::Unknown(id.to_owned()))?;
        if p.approval.expires_at_ms <= now {
            return Err(ApprovalError::Expired(id.to_owned()));
        }
        let mut a = p.approval;
        a.approved_by = Some(approver.to_owned());
        a.approved_at_ms = Some(now);
        a.expires_at_ms = now.saturating_add(ttl_ms);
        const MAX_GRANTS: usize = 10_000;
        if self.grants.len() >= MAX_GRANTS {
            self.grants.retain(|_, g| g.expires_at_ms > now);
        }
        if self.grants.len() < MAX_GRANTS {
            self.grants.insert((p.ctx, a.digest.clone()), a.clone());
        }
        Ok(a)
    }

    /// Rejects (forgets) a pending request.
    pub(crate) fn reject(&mut self, id: &str) -> Result<Approval, ApprovalError> {
        self.pending
            .remove(id)
            .map(|p| p.approval)
            .ok_or_else(|| ApprovalError::Unknown(id.to_owned()))
    }
}

/// A fresh unguessable request id (128 random bits).
fn new_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: fall back to hashing the time and a counter (still unique).
        static N: AtomicU64 = AtomicU64::new(0);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = N.fetch_add(1, Ordering::Relaxed);
        use sha2::Digest;
        let h = sha2::Sha256::digest(format!("{t}:{n}:{}", std::process::id()));
        b.copy_from_slice(&h[..16]);
    }
    format!("apr_{}", super::canon::hex(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_admits_again_once_old_calls_leave_it() {
        let mut s = State::default();
        let c = |amount| Charge {
            limit: 0,
            key: "s1",
            window_ms: 1000,
            max: 2.0,
            amount,
        };
        assert!(s.charge(0, &[c(1.0)], 10, true).is_ok());
        assert!(s.charge(500, &[c(1.0)], 10, true).is_ok());
        assert!(matches!(
            s.charge(999, &[c(1.0)], 10, true),
            Err(Refusal::Exceeded { .. })
        ));
        assert!(s.charge(1000, &[c(1.0)], 10, true).is_ok()); // the call at 0 left the window
        assert!(matches!(
            s.charge(1001, &[c(1.0)], 10, true),
            Err(Refusal::Exceeded { .. })
        ));
    }

    #[test]
    fn window_memory_stays_bounded() {
        let mut w = Window::default();
        for t in 0..5000 {
            w.add(t, 0.5);
        }
        assert!(w.events.len() <= MAX_EVENTS);
        assert_eq!(w.used(5000, 10_000), 2500.0);
    }
}
