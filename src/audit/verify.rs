//! Verification of an audit log: [`verify`] reports the first broken record or that the log
//! is whole.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::rotated_files;
use super::{AuditError, AuditKey, Checkpoint, Hasher, io_err};

/// What kind of damage [`verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A record's content no longer matches its hash.
    Modified,
    /// A line is not a record at all.
    Malformed,
    /// Records are missing from the middle of the chain.
    Deleted,
    /// Records are out of order (moved or replayed).
    Reordered,
    /// A record was inserted (two records claim one place in the chain).
    Inserted,
    /// Records are missing from the end (cut off, or a torn last line).
    Truncated,
    /// Records are missing from the start without a retention record accounting for them.
    MissingStart,
    /// The checkpoint file is missing, malformed or not signed by the log's key.
    Checkpoint,
    /// The log was written with a key and none was given, or the other way round.
    Key,
}

/// The first damage found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The file it is in.
    pub file: PathBuf,
    /// The 1-based line in that file (0: about the file as a whole).
    pub line: usize,
    /// The sequence number concerned, when known.
    pub seq: Option<u64>,
    /// A sentence for a human.
    pub message: String,
}

/// What [`verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The files read, oldest first.
    pub files: Vec<PathBuf>,
    /// Records that verified before the first problem (all of them when whole).
    pub records: u64,
    /// The first record's sequence number (0 unless retention dropped older files).
    pub first_seq: Option<u64>,
    /// The last verified record's sequence number.
    pub last_seq: Option<u64>,
    /// The record the checkpoint vouches for.
    pub checkpoint_seq: Option<u64>,
    /// The first damage, or `None` when the log is whole.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// Whether every record verified and nothing is missing.
    pub fn is_whole(&self) -> bool {
        self.problem.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "whole: {} records (seq {}..={}) in {} file(s), checkpoint at seq {}",
                self.records,
                self.first_seq.unwrap_or(0),
                self.last_seq.unwrap_or(0),
                self.files.len(),
                self.checkpoint_seq
                    .map_or_else(|| "none".to_owned(), |s| s.to_string())
            ),
            Some(p) => {
                write!(f, "BROKEN ({:?}) at {}", p.kind, p.file.display())?;
                if p.line > 0 {
                    write!(f, ":{}", p.line)?;
                }
                if let Some(s) = p.seq {
                    write!(f, " (seq {s})")?;
                }
                write!(
                    f,
                    ": {} [{} records verified before it]",
                    p.message, self.records
                )
            }
        }
    }
}

/// A parsed, hash-checked record.
pub(crate) struct Parsed {
    pub(crate) seq: u64,
    pub(crate) prev: [u8; 32],
    pub(crate) hash: [u8; 32],
    pub(crate) ty: String,
    pub(crate) alg: Option<String>,
    pub(crate) first: Option<(u64, [u8; 32])>,
}

pub(crate) enum LineError {
    Malformed(String),
    Modified,
}

impl LineError {
    pub(crate) fn message(&self) -> String {
        match self {
            LineError::Malformed(m) => format!("not a record: {m}"),
            LineError::Modified => "its content does not match its hash".to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw<'a> {
    seq: u64,
    #[serde(borrow)]
    #[allow(dead_code)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(borrow)]
    event: Head<'a>,
    #[serde(borrow)]
    #[allow(dead_code)]
    hash: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(default)]
    first_seq: Option<u64>,
    #[serde(default, borrow)]
    first_prev: Option<Cow<'a, str>>,
}

const HASH_FIELD: &[u8] = b",\"hash\":\"";

fn unhex(s: &[u8]) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let v = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = (v(pair[0])? << 4) | v(pair[1])?;
    }
    Some(out)
}

/// Checks one line (without its newline): shape, hash, then fields.
pub(crate) fn parse_line(line: &[u8], hasher: &Hasher) -> Result<Parsed, LineError> {
    let n = line.len();
    let tail = 2 + 64 + HASH_FIELD.len();
    if n < tail + 8 || !line.starts_with(b"{\"seq\":") || !line.ends_with(b"\"}") {
        return Err(LineError::Malformed(
            "not a JSON record ending in its hash".into(),
        ));
    }
    let at = n - tail;
    if &line[at..at + HASH_FIELD.len()] != HASH_FIELD {
        return Err(LineError::Malformed("no trailing \"hash\" field".into()));
    }
    let stored = unhex(&line[at + HASH_FIELD.len()..n - 2])
        .ok_or_else(|| LineError::Malformed("hash is not 64 lowercase hex digits".into()))?;
    let hash = hasher.hash(&[&line[..at]]);
    if hash != stored {
        return Err(LineError::Modified);
    }
    let raw: Raw<'_> =
        serde_json::from_slice(line).map_err(|e| LineError::Malformed(e.to_string()))?;
    let prev = unhex(raw.prev.as_bytes())
        .ok_or_else(|| LineError::Malformed("prev is not 64 lowercase hex digits".into()))?;
    let first = match (raw.event.first_seq, &raw.event.first_prev) {
        (Some(s), Some(p)) => Some((s, unhex(p.as_bytes()).unwrap_or([0xff; 32]))),
        _ => None,
    };
    Ok(Parsed {
        seq: raw.seq,
        prev,
        hash,
        ty: raw.event.ty.into_owned(),
        alg: raw.event.alg.map(Cow::into_owned),
        first,
    })
}

/// Verifies the log at `path` (with its rotated files `<path>.000001`, ... and its checkpoint
/// `<path>.checkpoint`), with the key it was written with, if any.
///
/// Returns `Err` only when the files cannot be read; damage is reported in
/// [`VerifyReport::problem`].
pub fn verify(path: impl AsRef<Path>, key: Option<&AuditKey>) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    let mut files: Vec<PathBuf> = rotated_files(path).into_iter().map(|(_, p)| p).collect();
    if path.exists() || files.is_empty() {
        files.push(path.to_owned());
    }
    let cp_path = Checkpoint::path_for(path);
    let checkpoint = match std::fs::read(&cp_path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&cp_path)(e)),
    };
    let mut v = Verifier::new(Hasher::new(key.cloned()), checkpoint.as_deref(), &cp_path);
    for f in &files {
        let bytes = std::fs::read(f).map_err(io_err(f))?;
        v.report.files.push(f.clone());
        if !v.file(f, &bytes, &files) {
            return Ok(v.report);
        }
    }
    v.finish(true, &cp_path);
    Ok(v.report)
}

/// Verifies a log held in memory (one file, with an optional checkpoint). Never panics, on
/// any bytes; [`verify`] is the same check over files.
pub fn verify_bytes(log: &[u8], checkpoint: Option<&[u8]>, key: Option<&AuditKey>) -> VerifyReport {
    let name = Path::new("<log>");
    let cp = Path::new("<checkpoint>");
    let mut v = Verifier::new(Hasher::new(key.cloned()), checkpoint, cp);
    v.report.files.push(name.to_owned());
    if v.file(name, log, &[]) {
        v.finish(checkpoint.is_some(), cp);
    }
    v.report
}

struct Verifier {
    hasher: Hasher,
    report: VerifyReport,
    expected: Option<(u64, [u8; 32])>,
    /// The first record when it is not the genesis record, until a retention record vouches.
    start: Option<(u64, [u8; 32], PathBuf)>,
    checkpoint: Option<Result<Checkpoint, String>>,
    /// The hash of the record the checkpoint names, once seen.
    vouched: Option<[u8; 32]>,
    alg: Option<String>,
}

impl Verifier {
    fn new(hasher: Hasher, checkpoint: Option<&[u8]>, cp_path: &Path) -> Verifier {
        let checkpoint = checkpoint.map(|b| {
            let cp: Checkpoint = serde_json::from_slice(b).map_err(|e| e.to_string())?;
            if Checkpoint::mac(&hasher, cp.seq, &cp.hash, &cp.ts) != cp.mac {
                return Err(format!(
                    "{}: its signature does not verify{}",
                    cp_path.display(),
                    if cp.alg != hasher.alg() {
                        format!(" (written with {}, checked with {})", cp.alg, hasher.alg())
                    } else {
                        String::new()
                    }
                ));
            }
            Ok(cp)
        });
        Verifier {
            hasher,
            report: VerifyReport::default(),
            expected: None,
            start: None,
            checkpoint,
            vouched: None,
            alg: None,
        }
    }

    fn fail(&mut self, kind: ProblemKind, file: &Path, line: usize, seq: Option<u64>, m: String) {
        self.report.problem = Some(Problem {
            kind,
            file: file.to_owned(),
            line,
            seq,
            message: m,
        });
    }

    /// Checks one file's records; `false` once a problem is found.
    fn file(&mut self, name: &Path, bytes: &[u8], all: &[PathBuf]) -> bool {
        let mut lines = bytes
            .split_inclusive(|&b| b == b'\n')
            .enumerate()
            .peekable();
        while let Some((i, raw)) = lines.next() {
            let no = i + 1;
            let Some(line) = raw.strip_suffix(b"\n") else {
                self.fail(
                    ProblemKind::Truncated,
                    name,
                    no,
                    None,
                    "the last record is incomplete (cut mid-write; opening the log for \
                     writing repairs a torn line)"
                        .into(),
                );
                return false;
            };
            let p = match parse_line(line, &self.hasher) {
                Ok(p) => p,
                Err(LineError::Modified) if self.expected.is_none() && self.key_hint(line) => {
                    let m = match self.hasher.alg() {
                        "sha256" => "the log is keyed (hmac-sha256): give its key file",
                        _ => "the log was not written with this key (wrong key, or an unkeyed log)",
                    };
                    self.fail(ProblemKind::Key, name, no, None, m.into());
                    return false;
                }
                Err(e) => {
                    let kind = match e {
                        LineError::Modified => ProblemKind::Modified,
                        LineError::Malformed(_) => ProblemKind::Malformed,
                    };
                    let seq = self.expected.map(|(s, _)| s);
                    let m = match e {
                        LineError::Modified => "the record was changed after it was written \
                                                (its content does not match its hash)"
                            .to_owned(),
                        LineError::Malformed(m) => format!("not a record: {m}"),
                    };
                    self.fail(kind, name, no, seq, m);
                    return false;
                }
            };
            match self.expected {
                None => {
                    if p.seq != 0 || p.prev != [0; 32] {
                        self.start = Some((p.seq, p.prev, name.to_owned()));
                    }
                    self.report.first_seq = Some(p.seq);
                }
                Some((seq, prev)) if p.seq == seq && p.prev == prev => {}
                Some((seq, prev)) => {
                    let (kind, m) = if p.seq > seq {
                        let later = lines.clone().any(|(_, l)| seq_of(l) == Some(seq))
                            || all
                                .iter()
                                .skip_while(|f| f.as_path() != name)
                                .skip(1)
                                .any(|f| file_has_seq(f, seq));
                        if later {
                            (
                                ProblemKind::Reordered,
                                format!("record {seq} comes later in the log; records were moved"),
                            )
                        } else {
                            (
                                ProblemKind::Deleted,
                                format!("records {seq}..={} are missing (deleted)", p.seq - 1),
                            )
                        }
                    } else if p.seq + 1 == seq {
                        (
                            ProblemKind::Inserted,
                            format!(
                                "a second record {} follows record {}: one of them was inserted",
                                p.seq, p.seq
                            ),
                        )
                    } else if p.seq < seq {
                        (
                            ProblemKind::Reordered,
                            format!(
                                "record {} comes after record {}: records were moved or replayed",
                                p.seq,
                                seq - 1
                            ),
                        )
                    } else if p.prev != prev {
                        (
                            ProblemKind::Inserted,
                            format!(
                                "record {} does not chain to record {}: a record was inserted or replaced",
                                p.seq,
                                seq.wrapping_sub(1)
                            ),
                        )
                    } else {
                        unreachable!("seq and prev both match")
                    };
                    self.fail(kind, name, no, Some(p.seq), m);
                    return false;
                }
            }
            if p.ty == "log_opened" && self.alg.is_none() {
                self.alg = p.alg.clone();
            }
            if p.ty == "retention"
                && let (Some((s, prev, _)), Some(first)) = (&self.start, p.first)
                && (*s, *prev) == first
            {
                self.start = None;
            }
            if let Some(Ok(cp)) = &self.checkpoint
                && cp.seq == p.seq
            {
                self.vouched = Some(p.hash);
            }
            self.expected = Some((p.seq.wrapping_add(1), p.hash));
            self.report.records += 1;
            self.report.last_seq = Some(p.seq);
        }
        true
    }

    fn key_hint(&self, line: &[u8]) -> bool {
        let contains = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
        if self.hasher.alg() == "sha256" {
            contains(b"\"alg\":\"hmac-sha256\"")
        } else {
            contains(b"\"alg\":\"sha256\"")
        }
    }

    fn finish(&mut self, require_checkpoint: bool, cp_path: &Path) {
        if let Some((seq, _, file)) = self.start.take() {
            self.fail(
                ProblemKind::MissingStart,
                &file,
                1,
                Some(seq),
                format!(
                    "the log starts at record {seq}: records 0..{seq} are missing and no \
                     retention record accounts for them"
                ),
            );
            return;
        }
        let last = self.report.last_seq;
        let last_file = self.report.files.last().cloned().unwrap_or_default();
        match self.checkpoint.take() {
            None if require_checkpoint => self.fail(
                ProblemKind::Checkpoint,
                cp_path,
                0,
                None,
                "no checkpoint file: records cut from the end could not be detected".into(),
            ),
            None => {}
            Some(Err(m)) => self.fail(ProblemKind::Checkpoint, cp_path, 0, None, m),
            Some(Ok(cp)) => {
                self.report.checkpoint_seq = Some(cp.seq);
                if last.is_none_or(|l| l < cp.seq) {
                    let shown =
                        last.map_or_else(|| "no record".to_owned(), |l| format!("record {l}"));
                    self.fail(
                        ProblemKind::Truncated,
                        &last_file,
                        0,
                        last,
                        format!(
                            "the checkpoint vouches for record {} but the log ends at {shown}: \
                             records were cut from the end",
                            cp.seq
                        ),
                    );
                } else if self.vouched.map(|h| crate::tools::hex(&h)) != Some(cp.hash.clone()) {
                    self.fail(
                        ProblemKind::Checkpoint,
                        &last_file,
                        0,
                        Some(cp.seq),
                        format!(
                            "record {} is not the record the checkpoint vouches for",
                            cp.seq
                        ),
                    );
                }
            }
        }
    }
}

/// The `seq` of a line, read cheaply (for look-ahead only).
fn seq_of(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

fn file_has_seq(path: &Path, seq: u64) -> bool {
    std::fs::read(path).is_ok_and(|b| b.split(|&c| c == b'\n').any(|l| seq_of(l) == Some(seq)))
}
