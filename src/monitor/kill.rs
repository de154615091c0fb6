//! The kill switch: stop an agent, a user, a session or everything, at once.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, AuditSink, with_suffix};
use crate::context::Context;

/// Who a kill-switch engagement stops.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every check.
    Global,
    /// Checks whose context names this agent.
    Agent(String),
    /// Checks whose context names this user.
    User(String),
    /// Checks whose context names this session.
    Session(String),
}

impl Scope {
    /// Parses `global`, `agent:NAME`, `user:NAME` or `session:NAME`.
    ///
    /// ```
    /// use palisade::monitor::Scope;
    /// assert_eq!(Scope::parse("user:u-42").unwrap(), Scope::User("u-42".into()));
    /// assert!(Scope::parse("user:").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Scope, String> {
        if s == "global" {
            return Ok(Scope::Global);
        }
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: a scope is global, agent:NAME, user:NAME or session:NAME")
        })?;
        if name.is_empty() {
            return Err(format!("{s:?}: the scope names no {kind}"));
        }
        let name = name.to_owned();
        match kind {
            "agent" => Ok(Scope::Agent(name)),
            "user" => Ok(Scope::User(name)),
            "session" => Ok(Scope::Session(name)),
            _ => Err(format!(
                "{s:?}: unknown scope kind {kind:?} (global, agent, user, session)"
            )),
        }
    }

    /// Whether a check in `ctx` falls under this scope.
    pub fn matches(&self, ctx: &Context) -> bool {
        match self {
            Scope::Global => true,
            Scope::Agent(a) => ctx.agent.as_deref() == Some(a),
            Scope::User(u) => ctx.user.as_deref() == Some(u),
            Scope::Session(s) => ctx.session.as_deref() == Some(s),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Agent(a) => write!(f, "agent:{a}"),
            Scope::User(u) => write!(f, "user:{u}"),
            Scope::Session(s) => write!(f, "session:{s}"),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One engaged scope: who engaged it, why, when, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// What it stops.
    pub scope: Scope,
    /// Who engaged it (an operator, or `alert:<name>` for an escalation).
    pub by: String,
    /// Why.
    pub reason: String,
    /// When (Unix ms).
    pub at_ms: u64,
    /// When it lapses by itself (Unix ms); `None`: until released.
    #[serde(default)]
    pub until_ms: Option<u64>,
}

/// Why the kill switch could not be changed or its state file read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KillError {
    /// The state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not valid.
    #[error("{path}: not a kill-switch state file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Engagements must say who engaged them.
    #[error("an engagement must name who engages it")]
    NoOperator,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    engaged: Vec<Engagement>,
}

/// The kill switch. Engaging a scope makes every later check in it, on any thread, return
/// `Block` with a `kill_switch.engaged` finding naming who engaged it and why — even in
/// shadow mode.
///
/// With a state file ([`KillSwitch::with_state_file`]) engagements persist across restarts
/// and are shared with other processes and with `palisade kill engage|release --state FILE`;
/// the pipeline polls the file (every `kill_switch.poll`, default 250 ms) and applies changes.
///
/// ```
/// use palisade::monitor::{KillSwitch, Scope};
/// use palisade::{Context, Guard, Pipeline};
/// use std::sync::Arc;
///
/// let kill = Arc::new(KillSwitch::new());
/// let guard = Pipeline::builder().kill_switch(Arc::clone(&kill)).build()?;
/// let mallory = Context::new().user("mallory");
/// kill.engage(Scope::User("mallory".into()), "alice@ops", "exfiltration attempts", None)?;
/// let v = guard.check_input(&mallory, "hello");
/// assert!(v.is_blocked());
/// assert!(v.reason().contains("alice@ops"));
/// assert!(guard.check_input(&Context::new().user("bob"), "hello").is_allowed());
/// kill.release(&Scope::User("mallory".into()), "alice@ops")?;
/// assert!(guard.check_input(&mallory, "hello").is_allowed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KillSwitch {
    /// Number of engagements in memory: the fast path reads only this.
    active: AtomicUsize,
    entries: RwLock<Vec<Engagement>>,
    file: Option<PathBuf>,
    /// (modified time, length) of the state file when last read.
    stamp: Mutex<Option<(SystemTime, u64)>>,
    audit: OnceLock<Arc<dyn AuditSink>>,
}

impl fmt::Debug for KillSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KillSwitch")
            .field("engaged", &self.engaged())
            .field("file", &self.file)
            .finish()
    }
}

impl Default for KillSwitch {
    fn default() -> Self {
        KillSwitch::new()
    }
}

fn now_ms() -> u64 {
    crate::audit::now_ms()
}

impl KillSwitch {
    /// A kill switch held in memory only.
    pub fn new() -> KillSwitch {
        KillSwitch {
            active: AtomicUsize::new(0),
            entries: RwLock::new(Vec::new()),
            file: None,
            stamp: Mutex::new(None),
            audit: OnceLock::new(),
        }
    }

    /// A kill switch whose engagements live in `path` (created when first engaged), shared with
    /// other processes and the CLI. Reads the file now; a malformed file is an error.
    pub fn with_state_file(path: impl AsRef<Path>) -> Result<KillSwitch, KillError> {
        let mut k = KillSwitch::new();
        k.file = Some(path.as_ref().to_owned());
        k.reload()?;
        Ok(k)
    }

    /// The state file, if any.
    pub fn state_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    pub(crate) fn set_audit(&self, sink: Arc<dyn AuditSink>) {
        let _ = self.audit.set(sink);
    }

    /// The engagement that stops a check in `ctx` now, if any. Costs one atomic load when
    /// nothing is engaged.
    #[inline]
    pub fn check(&self, ctx: &Context) -> Option<Engagement> {
        if self.active.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.check_slow(ctx, now_ms)
    }

    /// [`KillSwitch::check`] at a given time (for a pipeline with its own clock).
    #[inline]
    pub(crate) fn check_at(&self, ctx: &Context, now: impl FnOnce() -> u64) -> Option<Engagement> {
        if self.active.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.check_slow(ctx, now)
    }

    #[cold]
    fn check_slow(&self, ctx: &Context, now: impl FnOnce() -> u64) -> Option<Engagement> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        // The clock is read only when a scope matches.
        let mut matching = entries.iter().filter(|e| e.scope.matches(ctx)).peekable();
        matching.peek()?;
        let now = now();
        matching
            .find(|e| e.until_ms.is_none_or(|u| now < u))
            .cloned()
    }

    /// Everything engaged now (lapsed engagements left out).
    pub fn engaged(&self) -> Vec<Engagement> {
        let now = now_ms();
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|e| e.until_ms.is_none_or(|u| now < u))
            .cloned()
            .collect()
    }

    /// Engages `scope` (replacing an engagement of the same scope), optionally for a while.
    /// Effective for the very next check on any thread; audited; written to the state file
    /// when there is one.
    pub fn engage(
        &self,
        scope: Scope,
        by: &str,
        reason: &str,
        lasting: Option<Duration>,
    ) -> Result<Engagement, KillError> {
        self.engage_from(scope, by, reason, lasting, "code", now_ms())
    }

    pub(crate) fn engage_from(
        &self,
        scope: Scope,
        by: &str,
        reason: &str,
        lasting: Option<Duration>,
        source: &str,
        now: u64,
    ) -> Result<Engagement, KillError> {
        if by.trim().is_empty() {
            return Err(KillError::NoOperator);
        }
        let e = Engagement {
            scope,
            by: by.to_owned(),
            reason: reason.to_owned(),
            at_ms: now,
            until_ms: lasting.map(|d| now.saturating_add(d.as_millis() as u64)),
        };
        let apply = |list: &mut Vec<Engagement>| {
            list.retain(|x| x.scope != e.scope && x.until_ms.is_none_or(|u| now < u));
            list.push(e.clone());
        };
        self.update(apply)?;
        self.record(&e, "engage", source);
        Ok(e)
    }

    /// Releases `scope`; returns the engagement it ended, if there was one. Audited.
    pub fn release(&self, scope: &Scope, by: &str) -> Result<Option<Engagement>, KillError> {
        if by.trim().is_empty() {
            return Err(KillError::NoOperator);
        }
        let mut ended = None;
        self.update(|list| {
            if let Some(i) = list.iter().position(|x| &x.scope == scope) {
                ended = Some(list.remove(i));
            }
        })?;
        if let Some(e) = &ended {
            let mut released = e.clone();
            released.by = by.to_owned();
            self.record(&released, "release", "code");
        }
        Ok(ended)
    }

    /// Applies a change to memory and, with a state file, to the file (under its lock).
    fn update(&self, f: impl FnOnce(&mut Vec<Engagement>)) -> Result<(), KillError> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        match &self.file {
            Some(path) => {
                let list = modify_state_file(path, f)?;
                *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp(path);
                *entries = list;
            }
            None => f(&mut entries),
        }
        self.active.store(entries.len(), Ordering::Release);
        Ok(())
    }

    fn record(&self, e: &Engagement, op: &str, source: &str) {
        if let Some(sink) = self.audit.get() {
            let _ = sink.append(&AuditEvent::KillSwitch {
                op: op.to_owned(),
                scope: e.scope.to_string(),
                by: e.by.clone(),
                reason: e.reason.clone(),
                until_ms: e.until_ms,
                source: source.to_owned(),
            });
        }
    }

    /// Re-reads the state file when it changed since the last read, applies it and audits
    /// what changed. Returns whether anything changed. Without a state file, does nothing.
    pub fn reload(&self) -> Result<bool, KillError> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        let now_stamp = stamp(path);
        {
            let s = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
            if s.is_some() && *s == now_stamp {
                return Ok(false);
            }
        }
        let list = read_state_file(path)?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = now_stamp;
        if *entries == list {
            return Ok(false);
        }
        for e in list.iter().filter(|e| !entries.contains(e)) {
            self.record(e, "engage", "state_file");
        }
        for e in entries.iter().filter(|e| !list.contains(e)) {
            self.record(e, "release", "state_file");
        }
        *entries = list;
        self.active.store(entries.len(), Ordering::Release);
        Ok(true)
    }

    /// Polls the state file every `every` from a background thread that ends when the kill
    /// switch is dropped. Read errors keep the last good state.
    pub fn watch(self: &Arc<Self>, every: Duration) -> std::io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("palisade-kill-switch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    let Some(k) = weak.upgrade() else { return };
                    let _ = k.reload();
                }
            })?;
        Ok(())
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Reads the engagements in a state file (none when it does not exist).
pub fn read_state_file(path: &Path) -> Result<Vec<Engagement>, KillError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(KillError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let state: StateFile = serde_json::from_slice(&bytes).map_err(|e| KillError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if state.version != 1 {
        return Err(KillError::Format {
            path: path.to_owned(),
            message: format!("version {} (this palisade reads version 1)", state.version),
        });
    }
    Ok(state.engaged)
}

/// Read-modify-write of a state file under an exclusive lock on `<file>.lock`, replaced
/// atomically (write, fsync, rename). Returns the new list.
pub(crate) fn modify_state_file(
    path: &Path,
    f: impl FnOnce(&mut Vec<Engagement>),
) -> Result<Vec<Engagement>, KillError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| KillError::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let lock_path = with_suffix(path, ".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let mut list = read_state_file(path)?;
    f(&mut list);
    let now = now_ms();
    list.retain(|e| e.until_ms.is_none_or(|u| now < u));
    let body = serde_json::to_vec_pretty(&StateFile {
        version: 1,
        engaged: list.clone(),
    })
    .unwrap_or_default();
    let tmp = with_suffix(path, ".tmp");
    let mut t = File::create(&tmp).map_err(io(&tmp))?;
    t.write_all(&body).map_err(io(&tmp))?;
    t.write_all(b"\n").map_err(io(&tmp))?;
    t.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    drop(lock);
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_only_their_context() {
        let ctx = Context::new().user("u").session("s").agent("a");
        assert!(Scope::Global.matches(&ctx));
        assert!(Scope::User("u".into()).matches(&ctx));
        assert!(!Scope::User("v".into()).matches(&ctx));
        assert!(Scope::Session("s".into()).matches(&ctx));
        assert!(Scope::Agent("a".into()).matches(&ctx));
        assert!(!Scope::Agent("a".into()).matches(&Context::new()));
    }

    #[test]
    fn lapsed_engagements_stop_nothing() {
        let k = KillSwitch::new();
        k.engage_from(
            Scope::Global,
            "ops",
            "",
            Some(Duration::from_millis(10)),
            "code",
            1000,
        )
        .unwrap();
        assert!(k.check_at(&Context::new(), || 1005).is_some());
        assert!(k.check_at(&Context::new(), || 1010).is_none());
    }

    #[test]
    fn engaging_needs_an_operator() {
        assert!(matches!(
            KillSwitch::new().engage(Scope::Global, " ", "x", None),
            Err(KillError::NoOperator)
        ));
    }
}
