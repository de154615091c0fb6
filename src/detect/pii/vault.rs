//! The pseudonym vault: per session, the same value always gets the same placeholder, and
//! placeholders can be put back for the user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroize;

use super::entity::Entity;
use crate::tools::Clock;

/// One session's pseudonyms. Its strings are zeroized when it is dropped (expiry, eviction,
/// [`Vault::forget`], or the vault's drop).
#[derive(Default)]
struct Session {
    /// Per entity: value → placeholder.
    forward: [HashMap<String, String>; Entity::COUNT],
    /// Values held (all entities).
    entries: usize,
    back: HashMap<String, String>,
    counters: [u32; Entity::COUNT],
    touched_ms: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        for (mut value, mut placeholder) in self.forward.iter_mut().flat_map(HashMap::drain) {
            value.zeroize();
            placeholder.zeroize();
        }
        for (mut placeholder, mut value) in self.back.drain() {
            value.zeroize();
            placeholder.zeroize();
        }
    }
}

/// Session-isolated pseudonyms with a size bound and an expiry.
///
/// ```
/// use palisade::detect::pii::{Entity, Vault};
/// let vault = Vault::new(1000, std::time::Duration::from_secs(3600), 100);
/// let a = vault.pseudonym("s-1", Entity::Email, "ana@example.com").unwrap();
/// assert_eq!(a, "<EMAIL_1>");
/// assert_eq!(vault.pseudonym("s-1", Entity::Email, "ana@example.com").unwrap(), a);
/// assert_eq!(vault.restore("s-1", "write to <EMAIL_1>"), "write to ana@example.com");
/// assert_eq!(vault.restore("s-2", "write to <EMAIL_1>"), "write to <EMAIL_1>"); // isolated
/// ```
pub struct Vault {
    sessions: Mutex<HashMap<String, Session>>,
    max_entries: usize,
    ttl_ms: u64,
    max_sessions: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("max_entries", &self.max_entries)
            .field("ttl_ms", &self.ttl_ms)
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault keeping at most `max_entries` values per session and `max_sessions` sessions,
    /// each forgotten `ttl` after its last use.
    pub fn new(max_entries: usize, ttl: std::time::Duration, max_sessions: usize) -> Vault {
        Vault::with_clock(
            max_entries,
            ttl,
            max_sessions,
            Arc::new(crate::tools::SystemClock::new()),
        )
    }

    /// The same, reading time from `clock`.
    pub fn with_clock(
        max_entries: usize,
        ttl: std::time::Duration,
        max_sessions: usize,
        clock: Arc<dyn Clock>,
    ) -> Vault {
        Vault {
            sessions: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
            ttl_ms: (ttl.as_millis() as u64).max(1),
            max_sessions: max_sessions.max(1),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The placeholder of `value` in `session` (`<EMAIL_3>`), creating it if needed; `None`
    /// when the session is full.
    pub fn pseudonym(&self, session: &str, entity: Entity, value: &str) -> Option<String> {
        self.pseudonyms(session, [(entity, value)]).pop().flatten()
    }

    /// [`pseudonym`](Vault::pseudonym) of each value in turn, under one lock.
    pub fn pseudonyms<'v>(
        &self,
        session: &str,
        values: impl IntoIterator<Item = (Entity, &'v str)>,
    ) -> Vec<Option<String>> {
        let now = self.clock.now_ms();
        let mut map = self.lock();
        if !map.contains_key(session) && map.len() >= self.max_sessions {
            // Full: forget expired sessions, then the least recently used tenth, in one sweep
            // (amortized, so a stream of new sessions does not pay a scan each).
            let ttl = self.ttl_ms;
            map.retain(|_, s| now.saturating_sub(s.touched_ms) < ttl);
            if map.len() >= self.max_sessions {
                let mut ages: Vec<(u64, String)> =
                    map.iter().map(|(k, s)| (s.touched_ms, k.clone())).collect();
                ages.sort_unstable();
                let drop = (self.max_sessions / 10).max(1);
                for (_, k) in ages.into_iter().take(drop) {
                    map.remove(&k);
                }
            }
        }
        let s = match map.get_mut(session) {
            Some(s) => s,
            None => map.entry(session.to_owned()).or_default(),
        };
        if now.saturating_sub(s.touched_ms) >= self.ttl_ms && s.touched_ms != 0 {
            *s = Session::default();
        }
        s.touched_ms = now.max(1);
        let values = values.into_iter();
        let mut out = Vec::with_capacity(values.size_hint().1.unwrap_or(0));
        for (entity, value) in values {
            if let Some(p) = s.forward[entity as usize].get(value) {
                out.push(Some(p.clone()));
                continue;
            }
            if s.entries >= self.max_entries {
                out.push(None);
                continue;
            }
            let n = &mut s.counters[entity as usize];
            *n += 1;
            let placeholder = format!("<{}_{}>", entity.tag(), n);
            s.forward[entity as usize].insert(value.to_owned(), placeholder.clone());
            s.entries += 1;
            s.back.insert(placeholder.clone(), value.to_owned());
            out.push(Some(placeholder));
        }
        out
    }

    /// `text` with every placeholder of `session` replaced by its value; unknown placeholders
    /// (another session's, or expired) stay as they are.
    pub fn restore(&self, session: &str, text: &str) -> String {
        if !text.contains('<') {
            return text.to_owned();
        }
        let now = self.clock.now_ms();
        let map = self.lock();
        let Some(s) = map
            .get(session)
            .filter(|s| now.saturating_sub(s.touched_ms) < self.ttl_ms)
        else {
            return text.to_owned();
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(k) = rest.find('<') {
            out.push_str(&rest[..k]);
            let tail = &rest[k..];
            let end = tail.bytes().take(40).position(|c| c == b'>').filter(|&e| {
                tail[1..e]
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            });
            match end.and_then(|e| s.back.get(&tail[..=e]).map(|v| (e, v))) {
                Some((e, v)) => {
                    out.push_str(v);
                    rest = &tail[e + 1..];
                }
                None => {
                    out.push('<');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Forgets a session now (its values are zeroized).
    pub fn forget(&self, session: &str) {
        self.lock().remove(session);
    }

    /// How many values `session` holds.
    pub fn len(&self, session: &str) -> usize {
        self.lock().get(session).map_or(0, |s| s.entries)
    }

    /// Whether `session` holds nothing.
    pub fn is_empty(&self, session: &str) -> bool {
        self.len(session) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ManualClock;
    use std::time::Duration;

    /// One batch under one lock numbers values exactly as the same calls one by one, repeats
    /// included, and answers `None` past the session's bound.
    #[test]
    fn a_batch_equals_the_calls_one_by_one() {
        let items = [
            (Entity::Email, "a@x.org"),
            (Entity::Person, "Ana"),
            (Entity::Email, "b@x.org"),
            (Entity::Email, "a@x.org"),
            (Entity::Person, "Bo"),
        ];
        let one = Vault::new(4, Duration::from_secs(60), 10);
        let batch = Vault::new(4, Duration::from_secs(60), 10);
        let want: Vec<Option<String>> = items
            .iter()
            .map(|(e, v)| one.pseudonym("s", *e, v))
            .collect();
        assert_eq!(batch.pseudonyms("s", items), want);
        assert_eq!(
            want,
            [
                Some("<EMAIL_1>".into()),
                Some("<PERSON_1>".into()),
                Some("<EMAIL_2>".into()),
                Some("<EMAIL_1>".into()),
                Some("<PERSON_2>".into()),
            ]
        );
        assert_eq!(batch.pseudonyms("s", [(Entity::Phone, "1")]), [None]);
        assert_eq!(batch.restore("s", "<PERSON_2> <EMAIL_2>"), "Bo b@x.org");
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let clock = Arc::new(ManualClock::new(1_000));
        let v = Vault::with_clock(2, Duration::from_secs(60), 2, clock.clone());
        assert_eq!(
            v.pseudonym("a", Entity::Phone, "1").as_deref(),
            Some("<PHONE_1>")
        );
        assert_eq!(
            v.pseudonym("a", Entity::Phone, "2").as_deref(),
            Some("<PHONE_2>")
        );
        assert_eq!(v.pseudonym("a", Entity::Phone, "3"), None, "full");
        clock.advance(Duration::from_secs(61));
        assert_eq!(v.restore("a", "<PHONE_1>"), "<PHONE_1>", "expired");
        assert_eq!(
            v.pseudonym("a", Entity::Phone, "9").as_deref(),
            Some("<PHONE_1>")
        );
        v.pseudonym("b", Entity::Email, "x@y.z");
        v.pseudonym("c", Entity::Email, "x@y.z");
        assert_eq!(
            v.len("a") + v.len("b") + v.len("c"),
            2,
            "one session evicted"
        );
        v.forget("c");
        assert!(v.is_empty("c"));
    }
}
