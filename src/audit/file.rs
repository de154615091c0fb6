//! [`FileSink`]: the append-only, hash-chained JSON-lines audit file.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::verify::{Parsed, parse_line};
use super::{AuditError, AuditEvent, AuditKey, AuditSink, Checkpoint, Hasher, io_err, rfc3339};

/// When appended records are forced to disk (`fsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// After every record: nothing acknowledged is ever lost, at the cost of one disk flush per
    /// check.
    Always,
    /// At most this long after a record, from a background thread (the default, 1 s): a power
    /// loss loses at most that much; a process crash loses nothing (every record is written to
    /// the OS at once).
    Interval(Duration),
    /// Never explicitly (the OS decides); checkpoints and close still sync.
    Never,
}

/// Settings of a [`FileSink`].
#[derive(Clone, Debug)]
pub struct FileSinkOptions {
    /// The fsync policy. Default `Interval(1 s)`.
    pub fsync: Fsync,
    /// Key of the HMAC chain and of content digests; `None`: plain SHA-256 chain.
    pub key: Option<AuditKey>,
    /// Rotate when the active file reaches this size (the chain continues in the next file).
    /// `0`: never. Default 64 MiB.
    pub rotate_bytes: u64,
    /// Delete rotated files whose last write is older than this (a `retention` record keeps the
    /// rest verifiable). `None` (the default): keep everything.
    pub retain: Option<Duration>,
    /// Write a signed checkpoint every this many records (also at every fsync interval,
    /// rotation and close). Default 1000.
    pub checkpoint_every: u64,
    /// Hold records in memory at most this long (and at most 64 KiB) before handing them to
    /// the OS in one write: appends get cheaper, and a process crash loses at most that much
    /// (what it loses was never synced). `None` (the default): every record is written to the
    /// OS before `append` returns, so a process crash loses nothing. Not with `Fsync::Always`.
    pub buffer: Option<Duration>,
}

impl Default for FileSinkOptions {
    fn default() -> Self {
        FileSinkOptions {
            fsync: Fsync::Interval(Duration::from_secs(1)),
            key: None,
            rotate_bytes: 64 << 20,
            retain: None,
            checkpoint_every: 1000,
            buffer: None,
        }
    }
}

/// The tamper-evident audit file: JSON lines, one record each, hash-chained (see the
/// [module documentation](super)).
///
/// - One writer per log: the file is locked (`flock`-style) while open.
/// - Every record is one `write` of a whole line, so a process crash leaves at most a torn
///   last line; opening the log again cuts it away (and says so in the `log_opened` record).
/// - Any number of threads may append; they share one chain.
/// - Rotation renames the active file to `<file>.000001`, `<file>.000002`, ... and the chain
///   continues in a fresh file; `verify` reads them in order.
pub struct FileSink {
    shared: Arc<Shared>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    hasher: Hasher,
    fsync: Fsync,
    rotate_bytes: u64,
    retain: Option<Duration>,
    checkpoint_every: u64,
    buffered: bool,
    inner: Mutex<Inner>,
    stop: AtomicBool,
}

struct Inner {
    file: File,
    len: u64,
    next_seq: u64,
    prev: [u8; 32],
    /// The last record written: (seq, hash).
    last: Option<(u64, [u8; 32])>,
    since_checkpoint: u64,
    dirty: bool,
    next_rotation: u32,
    failed: Option<String>,
    line: Vec<u8>,
    /// Records accepted but not yet written to the OS (buffered mode).
    pending: Vec<u8>,
    last_sync: std::time::Instant,
    /// The last timestamp formatted, reused within the same millisecond.
    ts: (u64, String),
}

/// Buffered records are written once this many bytes are pending.
const BUFFER_BYTES: usize = 64 * 1024;

const ZERO: [u8; 32] = [0; 32];

impl FileSink {
    /// Opens (or creates) the log at `path`, repairs a torn last line, continues the chain
    /// and appends a `log_opened` record.
    ///
    /// Fails when another writer holds the log, when the key does not match the log, or when
    /// the last complete record does not verify (the end is damaged beyond a torn write:
    /// run `palisade audit verify` and move the file aside).
    pub fn open(path: impl AsRef<Path>, options: FileSinkOptions) -> Result<FileSink, AuditError> {
        let path = path.as_ref().to_owned();
        if options.checkpoint_every == 0 {
            return Err(AuditError::Invalid(
                "checkpoint_every must be at least 1".to_owned(),
            ));
        }
        if options.buffer.is_some() && options.fsync == Fsync::Always {
            return Err(AuditError::Invalid(
                "a write buffer contradicts fsync = always".to_owned(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let hasher = Hasher::new(options.key.clone());
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        lock(&file, &path)?;
        let (repaired, last) = repair(&mut file, &path, &hasher)?;
        let rotated = rotated_files(&path);
        let last = match last {
            Some(l) => Some(l),
            None => match rotated.last() {
                Some((_, p)) => {
                    let mut f = File::open(p).map_err(io_err(p))?;
                    match tail(&mut f, p)? {
                        (Some((_, line)), _) => Some(checked(&line, p, &hasher)?),
                        _ => None,
                    }
                }
                None => None,
            },
        };
        check_checkpoint(&path, &hasher, last.as_ref().map(|p| p.seq))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let inner = Inner {
            file,
            len,
            next_seq: last.as_ref().map_or(0, |p| p.seq + 1),
            prev: last.as_ref().map_or(ZERO, |p| p.hash),
            last: last.as_ref().map(|p| (p.seq, p.hash)),
            since_checkpoint: 0,
            dirty: false,
            next_rotation: rotated.last().map_or(1, |(n, _)| n + 1),
            failed: None,
            line: Vec::with_capacity(1024),
            pending: Vec::new(),
            last_sync: std::time::Instant::now(),
            ts: (0, String::new()),
        };
        let shared = Arc::new(Shared {
            path,
            hasher,
            fsync: options.fsync,
            rotate_bytes: options.rotate_bytes,
            retain: options.retain,
            checkpoint_every: options.checkpoint_every,
            buffered: options.buffer.is_some(),
            inner: Mutex::new(inner),
            stop: AtomicBool::new(false),
        });
        {
            let mut inner = shared.lock();
            let opened = AuditEvent::LogOpened {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                alg: shared.hasher.alg().to_owned(),
                pid: std::process::id(),
                repaired_bytes: repaired,
                checkpoint_every: shared.checkpoint_every,
            };
            shared.write(&mut inner, &to_json(&opened))?;
            shared.retention(&mut inner)?;
            shared.checkpoint(&mut inner)?;
        }
        let tick = match (options.fsync, options.buffer) {
            (Fsync::Interval(a), Some(b)) => Some(a.min(b)),
            (Fsync::Interval(a), None) => Some(a),
            (_, b) => b,
        };
        let flusher = match tick {
            Some(every) => {
                let weak = Arc::downgrade(&shared);
                let every = every.max(Duration::from_millis(1));
                Some(
                    std::thread::Builder::new()
                        .name("palisade-audit-fsync".into())
                        .spawn(move || flush_loop(weak, every))
                        .map_err(|e| AuditError::Io {
                            path: PathBuf::from("<thread>"),
                            source: e,
                        })?,
                )
            }
            None => None,
        };
        Ok(FileSink { shared, flusher })
    }

    /// The active file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

/// Refuses to continue a log whose checkpoint vouches for records that are gone (cut from the
/// end: a crash cannot do that, since checkpoints only vouch for synced records) or whose
/// checkpoint is not signed by this key: reopening must not paper over the evidence.
fn check_checkpoint(path: &Path, hasher: &Hasher, last: Option<u64>) -> Result<(), AuditError> {
    let cp_path = Checkpoint::path_for(path);
    let bytes = match std::fs::read(&cp_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(&cp_path)(e)),
    };
    let damaged = |message: String| AuditError::Damaged {
        path: cp_path.clone(),
        message,
    };
    let cp: Checkpoint =
        serde_json::from_slice(&bytes).map_err(|e| damaged(format!("not a checkpoint: {e}")))?;
    if Checkpoint::mac(hasher, cp.seq, &cp.hash, &cp.ts) != cp.mac {
        return Err(damaged(
            "the checkpoint is not signed with this log's key (wrong key, or forged)".into(),
        ));
    }
    if last.is_none_or(|l| l < cp.seq) {
        return Err(damaged(format!(
            "the checkpoint vouches for record {} but the log ends at {}: records were cut from the end (run `palisade audit verify`, keep the files as evidence)",
            cp.seq,
            last.map_or_else(|| "no record".to_owned(), |l| format!("record {l}"))
        )));
    }
    Ok(())
}

fn to_json(event: &AuditEvent) -> Vec<u8> {
    // Serializing our own types into memory cannot fail.
    let mut out = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut out, event) {
        Ok(()) => out,
        Err(_) => b"{\"type\":\"unserializable\"}".to_vec(),
    }
}

fn lock(file: &File, path: &Path) -> Result<(), AuditError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked {
            path: path.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(path)(e)),
    }
}

fn checked(line: &[u8], path: &Path, hasher: &Hasher) -> Result<Parsed, AuditError> {
    parse_line(line, hasher).map_err(|e| AuditError::Damaged {
        path: path.to_owned(),
        message: format!(
            "the last record does not verify ({}); refusing to append after a damaged end \
             (run `palisade audit verify`; a different key?)",
            e.message()
        ),
    })
}

/// Cuts a torn last line (or completes one that is whole but lacks its newline) and returns
/// the bytes cut and the last complete record.
fn repair(
    file: &mut File,
    path: &Path,
    hasher: &Hasher,
) -> Result<(u64, Option<Parsed>), AuditError> {
    let (last, torn) = tail(file, path)?;
    let mut repaired = 0;
    let mut last = last;
    if let Some((start, bytes)) = torn {
        if parse_line(&bytes, hasher).is_ok() {
            file.write_all(b"\n").map_err(io_err(path))?;
            last = Some((start, bytes));
        } else {
            repaired = bytes.len() as u64;
            file.set_len(start).map_err(io_err(path))?;
        }
        file.sync_all().map_err(io_err(path))?;
    }
    match last {
        Some((_, line)) => Ok((repaired, Some(checked(&line, path, hasher)?))),
        None => Ok((repaired, None)),
    }
}

/// The last complete line (without its newline) and the bytes after the last newline, each
/// with its offset.
#[allow(clippy::type_complexity)]
pub(crate) fn tail(
    file: &mut File,
    path: &Path,
) -> Result<(Option<(u64, Vec<u8>)>, Option<(u64, Vec<u8>)>), AuditError> {
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut chunk = 64 * 1024u64;
    loop {
        let from = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(from)).map_err(io_err(path))?;
        let mut buf = Vec::with_capacity((len - from) as usize);
        file.take(len - from)
            .read_to_end(&mut buf)
            .map_err(io_err(path))?;
        let at_start = from == 0;
        // Offsets of newlines in buf.
        let last_nl = buf.iter().rposition(|&b| b == b'\n');
        let torn = match last_nl {
            Some(i) if i + 1 < buf.len() => Some((from + i as u64 + 1, buf[i + 1..].to_vec())),
            None if !buf.is_empty() && at_start => Some((0, buf.clone())),
            None if buf.is_empty() => None,
            Some(_) => None,
            None => {
                chunk = chunk.saturating_mul(4);
                continue;
            }
        };
        let Some(end) = last_nl else {
            return Ok((None, torn));
        };
        match buf[..end].iter().rposition(|&b| b == b'\n') {
            Some(s) => return Ok((Some((from + s as u64 + 1, buf[s + 1..end].to_vec())), torn)),
            None if at_start => return Ok((Some((0, buf[..end].to_vec())), torn)),
            None => chunk = chunk.saturating_mul(4),
        }
    }
}

/// Rotated files of `path` (`<path>.000001`, ...), in order.
pub(crate) fn rotated_files(path: &Path) -> Vec<(u32, PathBuf)> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name();
            let n = n.to_str()?;
            let suffix = n.strip_prefix(name)?.strip_prefix('.')?;
            if suffix.len() < 6 || !suffix.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((suffix.parse().ok()?, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn rotated_name(path: &Path, n: u32) -> PathBuf {
    super::with_suffix(path, &format!(".{n:06}"))
}

fn flush_loop(weak: std::sync::Weak<Shared>, every: Duration) {
    loop {
        std::thread::park_timeout(every);
        let Some(shared) = weak.upgrade() else { return };
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let mut inner = shared.lock();
        if inner.failed.is_some() {
            continue;
        }
        // Errors surface on the next append (the sink is marked failed).
        let sync_due = match shared.fsync {
            Fsync::Interval(d) => inner.dirty && inner.last_sync.elapsed() >= d,
            _ => false,
        };
        let result = if sync_due {
            shared.checkpoint(&mut inner)
        } else {
            shared.flush(&mut inner)
        };
        if let Err(e) = result {
            inner.failed = Some(e.to_string());
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update of Inner happens in one step after the I/O it reflects succeeded.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes one record; returns its seq.
    fn write(&self, inner: &mut Inner, event: &[u8]) -> Result<u64, AuditError> {
        let seq = inner.next_seq;
        let mut line = std::mem::take(&mut inner.line);
        line.clear();
        line.extend_from_slice(b"{\"seq\":");
        let _ = write!(line, "{seq}");
        line.extend_from_slice(b",\"ts\":\"");
        let now = super::now_ms();
        if inner.ts.0 != now || inner.ts.1.is_empty() {
            inner.ts = (now, rfc3339(now));
        }
        line.extend_from_slice(inner.ts.1.as_bytes());
        line.extend_from_slice(b"\",\"prev\":\"");
        push_hex(&mut line, &inner.prev);
        line.extend_from_slice(b"\",\"event\":");
        line.extend_from_slice(event);
        let hash = self.hasher.hash(&[&line]);
        line.extend_from_slice(b",\"hash\":\"");
        push_hex(&mut line, &hash);
        line.extend_from_slice(b"\"}\n");
        if self.buffered {
            inner.pending.extend_from_slice(&line);
            inner.line = line;
            if inner.pending.len() >= BUFFER_BYTES {
                // The record is in the chain already: a failed flush fails the sink.
                if let Err(e) = self.flush(inner) {
                    inner.failed = Some(e.to_string());
                }
            }
        } else {
            let result = inner.file.write_all(&line);
            let n = line.len() as u64;
            inner.line = line;
            if let Err(e) = result {
                // Undo a partial line so the file stays a valid chain.
                if inner.file.set_len(inner.len).is_err() {
                    inner.failed = Some(format!("write failed and could not be undone: {e}"));
                }
                return Err(io_err(&self.path)(e));
            }
            inner.len += n;
        }
        inner.next_seq += 1;
        inner.prev = hash;
        inner.last = Some((seq, hash));
        inner.dirty = true;
        inner.since_checkpoint += 1;
        Ok(seq)
    }

    /// Writes buffered records to the OS.
    fn flush(&self, inner: &mut Inner) -> Result<(), AuditError> {
        if inner.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut inner.pending);
        let result = inner.file.write_all(&pending);
        if let Err(e) = result {
            if inner.file.set_len(inner.len).is_err() {
                inner.failed = Some(format!("write failed and could not be undone: {e}"));
            }
            inner.pending = pending;
            return Err(io_err(&self.path)(e));
        }
        inner.len += pending.len() as u64;
        inner.pending = pending;
        inner.pending.clear();
        Ok(())
    }

    /// Syncs the file and writes the checkpoint for the last record.
    fn checkpoint(&self, inner: &mut Inner) -> Result<(), AuditError> {
        self.flush(inner)?;
        inner.file.sync_data().map_err(io_err(&self.path))?;
        inner.last_sync = std::time::Instant::now();
        inner.dirty = false;
        inner.since_checkpoint = 0;
        let Some((seq, hash)) = inner.last else {
            return Ok(());
        };
        let hash = crate::tools::hex(&hash);
        let ts = rfc3339(super::now_ms());
        let cp = Checkpoint {
            seq,
            mac: Checkpoint::mac(&self.hasher, seq, &hash, &ts),
            hash,
            ts,
            alg: self.hasher.alg().to_owned(),
        };
        let path = Checkpoint::path_for(&self.path);
        let tmp = super::with_suffix(&path, ".tmp");
        let body = serde_json::to_vec(&cp).unwrap_or_default();
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&body).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }

    fn rotate(&self, inner: &mut Inner) -> Result<(), AuditError> {
        self.checkpoint(inner)?;
        let to = rotated_name(&self.path, inner.next_rotation);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&to)
            .map_err(io_err(&to))?;
        drop(file);
        std::fs::rename(&self.path, &to).map_err(io_err(&to))?;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        lock(&file, &self.path)?;
        inner.file = file;
        inner.len = 0;
        inner.next_rotation += 1;
        let ev = AuditEvent::Rotated {
            previous: to
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        self.write(inner, &to_json(&ev))?;
        self.retention(inner)?;
        self.checkpoint(inner)
    }

    /// Deletes rotated files older than the retention period, oldest first, after recording
    /// where the kept chain starts.
    fn retention(&self, inner: &mut Inner) -> Result<(), AuditError> {
        let Some(retain) = self.retain else {
            return Ok(());
        };
        let rotated = rotated_files(&self.path);
        let now = SystemTime::now();
        let old = rotated
            .iter()
            .take_while(|(_, p)| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > retain))
            })
            .count();
        if old == 0 {
            return Ok(());
        }
        let first_kept = rotated
            .get(old)
            .map_or(self.path.clone(), |(_, p)| p.clone());
        let first = first_record(&first_kept, &self.hasher)?;
        let Some(first) = first else {
            return Ok(());
        };
        let ev = AuditEvent::Retention {
            dropped: rotated[..old]
                .iter()
                .map(|(_, p)| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect(),
            first_seq: first.seq,
            first_prev: crate::tools::hex(&first.prev),
        };
        self.write(inner, &to_json(&ev))?;
        self.flush(inner)?;
        inner.file.sync_data().map_err(io_err(&self.path))?;
        for (_, p) in &rotated[..old] {
            std::fs::remove_file(p).map_err(io_err(p))?;
        }
        Ok(())
    }
}

fn first_record(path: &Path, hasher: &Hasher) -> Result<Option<Parsed>, AuditError> {
    let f = File::open(path).map_err(io_err(path))?;
    let mut line = Vec::new();
    std::io::BufReader::new(f)
        .read_until(b'\n', &mut line)
        .map_err(io_err(path))?;
    if line.last() != Some(&b'\n') {
        return Ok(None);
    }
    line.pop();
    parse_line(&line, hasher)
        .map(Some)
        .map_err(|e| AuditError::Damaged {
            path: path.to_owned(),
            message: format!("first record does not verify: {}", e.message()),
        })
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8; 32]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
}

impl AuditSink for FileSink {
    fn append(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        let json = to_json(event);
        let s = &*self.shared;
        let mut inner = s.lock();
        if let Some(why) = &inner.failed {
            return Err(AuditError::Closed(why.clone()));
        }
        let seq = s.write(&mut inner, &json)?;
        let mut result = Ok(());
        if s.fsync == Fsync::Always {
            result = inner.file.sync_data().map_err(io_err(&s.path));
            if result.is_ok() {
                inner.dirty = false;
            }
        }
        if result.is_ok() && inner.since_checkpoint >= s.checkpoint_every {
            result = s.checkpoint(&mut inner);
        }
        if result.is_ok()
            && s.rotate_bytes > 0
            && inner.len + inner.pending.len() as u64 >= s.rotate_bytes
        {
            result = s.rotate(&mut inner);
        }
        if let Err(e) = result {
            inner.failed = Some(e.to_string());
            return Err(e);
        }
        Ok(seq)
    }

    fn sync(&self) -> Result<(), AuditError> {
        let s = &*self.shared;
        let mut inner = s.lock();
        if let Some(why) = &inner.failed {
            return Err(AuditError::Closed(why.clone()));
        }
        s.checkpoint(&mut inner)
    }

    fn digest(&self, text: &[u8]) -> Option<String> {
        self.shared.hasher.digest(text)
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.flusher.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        let mut inner = self.shared.lock();
        if inner.failed.is_none() {
            let _ = self.shared.checkpoint(&mut inner);
        }
    }
}
