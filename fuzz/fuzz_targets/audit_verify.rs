//! `verify` on arbitrary files never panics, only reports: raw bytes, and mutations of a
//! valid log (bytes overwritten, ranges cut, lines swapped or repeated), keyed and unkeyed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade::audit::{AuditEvent, AuditKey, AuditSink, FileSink, FileSinkOptions, Fsync};

/// A valid 40-record log and its checkpoint, written once per process.
fn valid(keyed: bool) -> &'static (Vec<u8>, Vec<u8>) {
    static LOGS: OnceLock<[(Vec<u8>, Vec<u8>); 2]> = OnceLock::new();
    &LOGS.get_or_init(|| {
        [false, true].map(|keyed| {
            let dir = std::env::temp_dir().join(format!(
                "palisade-fuzz-verify-{}-{keyed}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("a.jsonl");
            let sink = FileSink::open(
                &path,
                FileSinkOptions {
                    fsync: Fsync::Never,
                    key: keyed.then(key),
                    ..FileSinkOptions::default()
                },
            )
            .unwrap();
            for i in 0..40 {
                let _ = sink.append(&AuditEvent::Custom {
                    name: format!("e{i}"),
                    data: serde_json::json!({ "i": i, "s": "ä\"\\\n" }),
                });
            }
            drop(sink);
            let log = std::fs::read(&path).unwrap();
            let cp = std::fs::read(dir.join("a.jsonl.checkpoint")).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            (log, cp)
        })
    })[usize::from(keyed)]
}

fn key() -> AuditKey {
    AuditKey::from_bytes(b"fuzzing key, sixteen bytes or more").unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keyed = mode & 1 == 1;
    let key = keyed.then(key);
    if mode & 2 == 0 {
        // Raw bytes: log, then (after a NUL) a checkpoint.
        let (log, cp) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let r = palisade::audit::verify_bytes(log, cp, key.as_ref());
        let _ = r.to_string();
        return;
    }
    // Mutations of a valid log, driven by (op, a, b) triples.
    let (log, cp) = valid(keyed);
    let mut log = log.clone();
    for op in rest.chunks(5) {
        if op.len() < 5 || log.is_empty() {
            break;
        }
        let a = usize::from(u16::from_le_bytes([op[1], op[2]])) % log.len();
        let b = usize::from(u16::from_le_bytes([op[3], op[4]])) % log.len();
        match op[0] % 4 {
            0 => log[a] = op[3],
            1 => {
                let (lo, hi) = (a.min(b), a.max(b));
                log.drain(lo..hi);
            }
            2 => {
                let mut lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                log = lines.concat();
            }
            _ => {
                let lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
                let line = lines[a % lines.len()].to_vec();
                log.splice(b..b, line);
            }
        }
    }
    let r = palisade::audit::verify_bytes(&log, Some(cp), key.as_ref());
    let _ = r.to_string();
});
