//! The tamper-evident audit log: every decision and every administrative act, one JSON line
//! each, chained by SHA-256 (or HMAC-SHA256 with a key) so that a modified, deleted, reordered,
//! inserted or truncated record is found by [`verify`].
//!
//! A record is one line:
//!
//! ```text
//! {"seq":7,"ts":"2026-11-26T01:23:37.123Z","prev":"<64 hex>","event":{"type":"check",...},"hash":"<64 hex>"}
//! ```
//!
//! `hash` is SHA-256 (HMAC-SHA256 under the log's key) of the exact bytes of the line before
//! `,"hash":`, which include `prev`, the previous record's hash. Nothing is canonicalized:
//! the bytes on disk are the bytes hashed. Without a key the chain proves that the file was not
//! changed by accident or by someone who did not rewrite every later record; with a key
//! (`key_file`) someone who can write the file still cannot forge a chain that verifies.
//! Truncation at the end is caught by the signed checkpoint file next to the log
//! (`<log>.checkpoint`), which [`FileSink`] rewrites every `checkpoint_every` records, at
//! rotation and at close, and which vouches only for records already synced to disk.
//!
//! Content is minimized by default ([`Content::Redacted`]): PII and secret spans are cut out
//! of the logged text, tool-call arguments are reduced to their names and a digest, and
//! detector messages (which may quote what they found) are left out.
//!
//! ```
//! use palisade::audit::{FileSink, FileSinkOptions, verify};
//! use palisade::{Context, Guard, Pipeline};
//! use std::sync::Arc;
//!
//! let dir = std::env::temp_dir().join(format!("palisade-doc-audit-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let log = dir.join("audit.jsonl");
//! # let _ = std::fs::remove_file(&log);
//! # let _ = std::fs::remove_file(dir.join("audit.jsonl.checkpoint"));
//! let sink = FileSink::open(&log, FileSinkOptions::default())?;
//! let guard = Pipeline::builder().audit(Arc::new(sink)).build()?;
//! guard.check_input(&Context::new().user("u-1"), "Mail ana@example.com the report");
//! drop(guard); // closes the log and writes the final checkpoint
//!
//! let report = verify(&log, None)?;
//! assert!(report.is_whole(), "{report}");
//! assert_eq!(report.records, 3); // log opened, pipeline configured, one check
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod file;
pub(crate) mod record;
mod verify;

use std::path::PathBuf;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use file::{FileSink, FileSinkOptions, Fsync};
pub(crate) use record::check_record;
pub use record::{AuditEvent, AuditFinding, CheckRecord, Content, DetectorVersion};
pub use verify::{Problem, ProblemKind, VerifyReport, verify, verify_bytes};

/// The `[audit]` section of the configuration.
///
/// ```toml
/// [audit]
/// file = "audit.jsonl"        # relative to the configuration file; no audit log without it
/// key_file = "audit.key"      # HMAC key (`palisade audit keygen`); plain SHA-256 chain without it
/// fsync = "1s"                # "always", "never", or at most this long after a record
/// content = "redacted"        # "redacted", "digest" (needs key_file), "none" or "full"
/// max_text_bytes = 2048       # text kept per record
/// rotate_bytes = 67108864     # rotate the file at this size (0: never)
/// retain = "90d"              # delete rotated files older than this (default: keep all)
/// checkpoint_every = 1000     # signed checkpoint every N records (and every fsync, at close)
/// buffer = "50ms"             # hold records in memory this long (default: write each at once)
/// on_error = "allow"          # "block": refuse a check whose record cannot be written
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The log file. Default: none (no audit log).
    pub file: Option<PathBuf>,
    /// The key file. Default: none (unkeyed chain).
    pub key_file: Option<PathBuf>,
    /// `always`, `never`, or a duration (`500ms`, `1s`). Default `1s`.
    pub fsync: String,
    /// How much text records keep. Default `redacted`.
    pub content: Content,
    /// Text bytes kept per record. Default 2048.
    pub max_text_bytes: usize,
    /// Rotation size in bytes (0: never). Default 64 MiB.
    pub rotate_bytes: u64,
    /// Retention of rotated files (`90d`). Default: keep all.
    pub retain: Option<String>,
    /// Records per checkpoint. Default 1000.
    pub checkpoint_every: u64,
    /// `allow` (count the error) or `block`. Default `allow`.
    pub on_error: crate::verdict::Action,
    /// Write buffer (`50ms`): faster appends; a process crash loses at most that much.
    /// Default: none (every record reaches the OS before the check returns).
    pub buffer: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            file: None,
            key_file: None,
            fsync: "1s".into(),
            content: Content::Redacted,
            max_text_bytes: 2048,
            rotate_bytes: 64 << 20,
            retain: None,
            checkpoint_every: 1000,
            on_error: crate::verdict::Action::Allow,
            buffer: None,
        }
    }
}

impl AuditConfig {
    /// Checks the settings; returns `(field, message)` for the first bad one.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        self.fsync_policy().map_err(|m| ("fsync", m))?;
        self.retention().map_err(|m| ("retain", m))?;
        let buffer = self.write_buffer().map_err(|m| ("buffer", m))?;
        if buffer.is_some() && self.fsync == "always" {
            return Err((
                "buffer",
                "a write buffer contradicts fsync = \"always\"".into(),
            ));
        }
        if self.max_text_bytes > 1 << 20 {
            return Err(("max_text_bytes", "at most 1048576".into()));
        }
        if self.checkpoint_every == 0 {
            return Err(("checkpoint_every", "at least 1".into()));
        }
        if self.rotate_bytes != 0 && self.rotate_bytes < 4096 {
            return Err(("rotate_bytes", "0 (never) or at least 4096".into()));
        }
        if self.content == Content::Digest && self.key_file.is_none() {
            return Err((
                "content",
                "\"digest\" needs key_file (a keyed digest)".into(),
            ));
        }
        if !matches!(
            self.on_error,
            crate::verdict::Action::Allow | crate::verdict::Action::Block
        ) {
            return Err(("on_error", "\"allow\" or \"block\"".into()));
        }
        Ok(())
    }

    fn fsync_policy(&self) -> Result<Fsync, String> {
        match self.fsync.as_str() {
            "always" => Ok(Fsync::Always),
            "never" => Ok(Fsync::Never),
            d => crate::tools::policy::parse_duration(d)
                .map(|ms| Fsync::Interval(std::time::Duration::from_millis(ms)))
                .map_err(|m| format!("{m} (or \"always\", \"never\")")),
        }
    }

    fn write_buffer(&self) -> Result<Option<std::time::Duration>, String> {
        self.buffer
            .as_deref()
            .map(|b| crate::tools::policy::parse_duration(b).map(std::time::Duration::from_millis))
            .transpose()
    }

    fn retention(&self) -> Result<Option<std::time::Duration>, String> {
        self.retain
            .as_deref()
            .map(|r| {
                crate::tools::policy::parse_duration_max(r, 100 * 366 * 86_400_000)
                    .map(std::time::Duration::from_millis)
            })
            .transpose()
    }

    /// The sink options, with paths resolved against `base`.
    pub(crate) fn options(
        &self,
        base: Option<&std::path::Path>,
    ) -> Result<FileSinkOptions, AuditError> {
        let key = match &self.key_file {
            Some(k) => Some(AuditKey::from_file(resolve(base, k))?),
            None => None,
        };
        Ok(FileSinkOptions {
            fsync: self.fsync_policy().map_err(AuditError::Invalid)?,
            key,
            rotate_bytes: self.rotate_bytes,
            retain: self.retention().map_err(AuditError::Invalid)?,
            checkpoint_every: self.checkpoint_every,
            buffer: self.write_buffer().map_err(AuditError::Invalid)?,
        })
    }
}

/// `path` relative to `base` when it is relative.
pub(crate) fn resolve(base: Option<&std::path::Path>, path: &std::path::Path) -> PathBuf {
    match base {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

/// Where audit events go. Implement it to send records elsewhere (a database, a log shipper);
/// [`FileSink`] is the tamper-evident file log.
///
/// `append` is called on the checking thread after the decision; it must be cheap and must
/// not block for long. An error is counted by the monitor (`audit_errors`) and, when the
/// pipeline's `audit.on_error` is `block`, turns the verdict into a block.
pub trait AuditSink: Send + Sync {
    /// Appends one event and returns its sequence number.
    fn append(&self, event: &AuditEvent) -> Result<u64, AuditError>;

    /// Forces what was appended to durable storage (a no-op where that means nothing).
    fn sync(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// The keyed digest of a text for [`Content::Digest`] (HMAC-SHA256 under the log's digest
    /// key), or `None` where the sink has no key.
    fn digest(&self, _text: &[u8]) -> Option<String> {
        None
    }
}

/// Why the audit log could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An I/O error on a file of the log.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or sink) holds the log open for writing.
    #[error(
        "{path}: another writer holds this audit log (one writer per log keeps one valid chain)"
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The end of the log is damaged beyond a torn last line: appending would hide it.
    #[error("{path}: {message}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An option is out of range.
    #[error("audit log: {0}")]
    Invalid(String),
    /// The key is unusable.
    #[error("audit key: {0}")]
    Key(String),
    /// The sink failed earlier and refuses further writes until reopened.
    #[error("the audit sink failed earlier and was closed: {0}")]
    Closed(String),
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The secret that keys the chain (HMAC-SHA256) and the content digests.
///
/// Two independent keys are derived from it, one for the chain and checkpoints and one for
/// text digests, so a digest never reveals anything about the chain key.
#[derive(Clone)]
pub struct AuditKey {
    chain: [u8; 32],
    digest: [u8; 32],
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl Drop for AuditKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.chain.zeroize();
        self.digest.zeroize();
    }
}

impl AuditKey {
    /// A key from secret bytes (at least 16).
    pub fn from_bytes(secret: &[u8]) -> Result<AuditKey, AuditError> {
        if secret.len() < 16 {
            return Err(AuditError::Key(format!(
                "{} bytes; at least 16 are needed (32 random bytes recommended)",
                secret.len()
            )));
        }
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            m.update(label);
            m.finalize().into_bytes().into()
        };
        Ok(AuditKey {
            chain: derive(b"palisade audit chain v1"),
            digest: derive(b"palisade audit digest v1"),
        })
    }

    /// Reads a key file: 32+ hex digits (what `palisade audit keygen` writes), or raw bytes.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<AuditKey, AuditError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let text = std::str::from_utf8(&bytes).map(str::trim).unwrap_or("");
        if text.len() >= 32
            && let Some(raw) = crate::tools::unhex(text)
        {
            return AuditKey::from_bytes(&raw);
        }
        AuditKey::from_bytes(&bytes)
    }

    /// 32 fresh random bytes from the operating system, as 64 hex digits for a key file.
    pub fn generate_hex() -> Result<String, AuditError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b)
            .map_err(|e| AuditError::Key(format!("no randomness from the OS: {e}")))?;
        Ok(crate::tools::hex(&b))
    }
}

/// The hash function of one log: SHA-256, or HMAC-SHA256 under the chain key.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hasher {
    key: Option<AuditKey>,
}

impl Hasher {
    pub(crate) fn new(key: Option<AuditKey>) -> Self {
        Hasher { key }
    }

    pub(crate) fn alg(&self) -> &'static str {
        if self.key.is_some() {
            "hmac-sha256"
        } else {
            "sha256"
        }
    }

    pub(crate) fn hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        match &self.key {
            Some(k) => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k.chain)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().into()
            }
            None => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    pub(crate) fn digest(&self, text: &[u8]) -> Option<String> {
        let k = self.key.as_ref()?;
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k.digest)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(text);
        Some(crate::tools::hex(&m.finalize().into_bytes()))
    }
}

/// The signed checkpoint next to a log: the last record it vouches for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    pub(crate) seq: u64,
    pub(crate) hash: String,
    pub(crate) ts: String,
    pub(crate) alg: String,
    pub(crate) mac: String,
}

impl Checkpoint {
    pub(crate) fn mac(h: &Hasher, seq: u64, hash: &str, ts: &str) -> String {
        let seq = seq.to_string();
        crate::tools::hex(&h.hash(&[
            b"palisade checkpoint v1|",
            seq.as_bytes(),
            b"|",
            hash.as_bytes(),
            b"|",
            ts.as_bytes(),
        ]))
    }

    pub(crate) fn path_for(log: &std::path::Path) -> PathBuf {
        with_suffix(log, ".checkpoint")
    }
}

/// `path` with `suffix` appended to its last component (`audit.jsonl` → `audit.jsonl.tmp`).
pub(crate) fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Formats Unix milliseconds as RFC 3339 UTC, as audit records write them.
///
/// ```
/// assert_eq!(palisade::audit::rfc3339(1_795_656_217_123), "2026-11-26T01:23:37.123Z");
/// ```
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_656_217_123), "2026-11-26T01:23:37.123Z");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(AuditKey::from_bytes(b"short").is_err());
        assert!(AuditKey::from_bytes(&[7u8; 16]).is_ok());
    }

    #[test]
    fn keyed_and_unkeyed_hashes_differ_and_digests_need_a_key() {
        let k = Hasher::new(Some(AuditKey::from_bytes(&[1u8; 32]).unwrap()));
        let u = Hasher::new(None);
        assert_ne!(k.hash(&[b"x"]), u.hash(&[b"x"]));
        assert!(u.digest(b"x").is_none());
        assert_eq!(k.digest(b"x").unwrap().len(), 64);
    }
}
