//! The tamper-evident audit log: every tamper form is found, crashes are repaired, many
//! writers keep one chain, rotation and retention keep it verifiable, content is minimized.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use palisade::audit::{
    AuditEvent, AuditKey, AuditSink, Content, FileSink, FileSinkOptions, Fsync, ProblemKind,
    verify, verify_bytes,
};
use palisade::monitor::{KillSwitch, Scope};
use palisade::tools::ToolPolicy;
use palisade::{Action, Context, Guard, Pipeline, ToolCall};
use serde_json::{Value, json};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn quiet() -> FileSinkOptions {
    FileSinkOptions {
        fsync: Fsync::Never,
        ..FileSinkOptions::default()
    }
}

fn custom(i: usize) -> AuditEvent {
    AuditEvent::Custom {
        name: "test".into(),
        data: json!({ "i": i }),
    }
}

/// A closed log of `n` custom records (plus `log_opened`).
fn log_with(dir: &Path, n: usize, options: FileSinkOptions) -> PathBuf {
    let path = dir.join("audit.jsonl");
    let sink = FileSink::open(&path, options).unwrap();
    for i in 0..n {
        sink.append(&custom(i)).unwrap();
    }
    drop(sink);
    path
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

fn problem(path: &Path, key: Option<&AuditKey>) -> (ProblemKind, Option<u64>, usize, String) {
    let r = verify(path, key).unwrap();
    let p = r
        .problem
        .clone()
        .unwrap_or_else(|| panic!("not detected: {r}"));
    (p.kind, p.seq, p.line, r.to_string())
}

#[test]
fn an_untouched_log_verifies_whole() {
    let d = dir("whole");
    let path = log_with(&d, 50, quiet());
    let r = verify(&path, None).unwrap();
    assert!(r.is_whole(), "{r}");
    assert_eq!(r.records, 51);
    assert_eq!(r.checkpoint_seq, Some(50));
}

#[test]
fn tamper_modified_record_is_found() {
    let d = dir("modified");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    l[7] = l[7].replace("\"i\":6", "\"i\":66");
    write_lines(&path, &l);
    let (kind, _, line, msg) = problem(&path, None);
    assert_eq!((kind, line), (ProblemKind::Modified, 8), "{msg}");
}

#[test]
fn tamper_deleted_record_is_found() {
    let d = dir("deleted");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    l.remove(10);
    write_lines(&path, &l);
    let (kind, seq, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::Deleted, "{msg}");
    assert_eq!(seq, Some(11));
    assert!(msg.contains("records 10..=10 are missing"), "{msg}");
}

#[test]
fn tamper_reordered_records_are_found() {
    let d = dir("reordered");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    l.swap(5, 6);
    write_lines(&path, &l);
    let (kind, _, line, msg) = problem(&path, None);
    assert_eq!((kind, line), (ProblemKind::Reordered, 6), "{msg}");
}

#[test]
fn tamper_replayed_record_is_found() {
    let d = dir("replayed");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    let old = l[3].clone();
    l.insert(15, old);
    write_lines(&path, &l);
    let (kind, _, line, msg) = problem(&path, None);
    assert_eq!((kind, line), (ProblemKind::Reordered, 16), "{msg}");
}

/// Recomputes an unkeyed record line around a new event (what an attacker without the key,
/// against an unkeyed log, can do).
fn forge(seq: u64, prev: &str, event: &str) -> String {
    use sha2::{Digest, Sha256};
    let body = format!(
        "{{\"seq\":{seq},\"ts\":\"2026-11-26T00:00:00.000Z\",\"prev\":\"{prev}\",\"event\":{event}"
    );
    let h = Sha256::digest(body.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("{body},\"hash\":\"{hex}\"}}")
}

fn field(line: &str, name: &str) -> Value {
    serde_json::from_str::<Value>(line).unwrap()[name].clone()
}

#[test]
fn tamper_inserted_record_is_found_even_with_a_valid_hash() {
    let d = dir("inserted");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    // A forged record 10 that chains to record 9 and hashes correctly.
    let prev = field(&l[9], "hash");
    let forged = forge(
        10,
        prev.as_str().unwrap(),
        r#"{"type":"custom","name":"x","data":{}}"#,
    );
    l.insert(10, forged);
    write_lines(&path, &l);
    let (kind, seq, line, msg) = problem(&path, None);
    assert_eq!(
        (kind, seq, line),
        (ProblemKind::Inserted, Some(10), 12),
        "{msg}"
    );
}

#[test]
fn tamper_truncated_end_is_found_through_the_checkpoint() {
    let d = dir("truncated");
    let path = log_with(&d, 20, quiet());
    let mut l = lines(&path);
    l.truncate(15);
    write_lines(&path, &l);
    let (kind, _, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::Truncated, "{msg}");
    assert!(msg.contains("vouches for record 20"), "{msg}");
    // The sink refuses to continue a log cut from the end rather than hide it.
    let e = FileSink::open(&path, quiet()).unwrap_err().to_string();
    assert!(e.contains("cut from the end"), "{e}");
}

#[test]
fn tamper_torn_last_line_is_reported_until_repaired() {
    let d = dir("torn");
    let path = log_with(&d, 5, quiet());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":6,\"ts\":\"2026");
    std::fs::write(&path, &bytes).unwrap();
    let (kind, _, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::Truncated, "{msg}");
}

#[test]
fn tamper_deleted_checkpoint_is_reported() {
    let d = dir("nocheckpoint");
    let path = log_with(&d, 5, quiet());
    std::fs::remove_file(d.join("audit.jsonl.checkpoint")).unwrap();
    let (kind, _, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::Checkpoint, "{msg}");
}

#[test]
fn keyed_log_cannot_be_forged_without_the_key() {
    let d = dir("keyed");
    let key = AuditKey::from_bytes(b"0123456789abcdef0123456789abcdef").unwrap();
    let opts = FileSinkOptions {
        key: Some(key.clone()),
        ..quiet()
    };
    let path = log_with(&d, 10, opts);
    assert!(verify(&path, Some(&key)).unwrap().is_whole());
    // Verifying without the key, or with another, says so.
    let (kind, _, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::Key, "{msg}");
    let other = AuditKey::from_bytes(b"another key, also long enough!!").unwrap();
    assert!(!verify(&path, Some(&other)).unwrap().is_whole());
    // An attacker rewrites record 4 and recomputes plain SHA-256 hashes: the HMAC chain breaks.
    let mut l = lines(&path);
    let prev = field(&l[3], "hash");
    l[4] = forge(
        4,
        prev.as_str().unwrap(),
        r#"{"type":"custom","name":"x","data":{}}"#,
    );
    write_lines(&path, &l);
    let (kind, _, line, msg) = problem(&path, Some(&key));
    assert_eq!((kind, line), (ProblemKind::Modified, 5), "{msg}");
}

#[test]
fn crash_at_every_byte_of_the_last_record_is_repaired_on_reopen() {
    let d = dir("crash");
    let path = d.join("audit.jsonl");
    let opts = || FileSinkOptions {
        checkpoint_every: 1_000_000,
        ..quiet()
    };
    let sink = FileSink::open(&path, opts()).unwrap();
    for i in 0..10 {
        sink.append(&custom(i)).unwrap();
    }
    sink.sync().unwrap(); // the checkpoint vouches for what is on disk now ...
    let checkpoint = std::fs::read(d.join("audit.jsonl.checkpoint")).unwrap();
    let before = std::fs::read(&path).unwrap();
    sink.append(&custom(10)).unwrap(); // ... and the process dies while writing this one.
    drop(sink);
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > before.len() + 50);
    for cut in before.len()..full.len() - 1 {
        std::fs::write(&path, &full[..cut]).unwrap();
        std::fs::write(d.join("audit.jsonl.checkpoint"), &checkpoint).unwrap();
        let sink = FileSink::open(&path, opts())
            .unwrap_or_else(|e| panic!("reopen after a crash at byte {cut}: {e}"));
        sink.append(&custom(99)).unwrap();
        drop(sink);
        let after = std::fs::read(&path).unwrap();
        assert!(
            after.starts_with(&before),
            "earlier records changed (cut at {cut})"
        );
        let r = verify(&path, None).unwrap();
        assert!(r.is_whole(), "cut at {cut}: {r}");
        // The reopen says how many torn bytes it cut.
        let opened = lines(&path)
            .into_iter()
            .find(|l| l.contains("log_opened") && field(l, "seq").as_u64() == Some(11))
            .unwrap();
        let repaired = field(&opened, "event")["repaired_bytes"].as_u64().unwrap();
        assert_eq!(repaired as usize, cut - before.len(), "cut at {cut}");
    }
    // A last line cut only before its newline is whole: it is kept, not discarded.
    std::fs::write(&path, &full[..full.len() - 1]).unwrap();
    std::fs::write(d.join("audit.jsonl.checkpoint"), &checkpoint).unwrap();
    drop(FileSink::open(&path, opts()).unwrap());
    assert!(std::fs::read(&path).unwrap().starts_with(&full));
}

#[test]
fn eight_threads_times_ten_thousand_appends_keep_one_valid_chain_across_rotations() {
    let d = dir("threads");
    let path = d.join("audit.jsonl");
    let sink = Arc::new(
        FileSink::open(
            &path,
            FileSinkOptions {
                rotate_bytes: 1 << 20,
                ..quiet()
            },
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                for i in 0..10_000 {
                    sink.append(&AuditEvent::Custom {
                        name: format!("t{t}"),
                        data: json!({ "i": i }),
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(sink);
    let r = verify(&path, None).unwrap();
    assert!(r.is_whole(), "{r}");
    assert!(r.files.len() > 3, "expected rotations: {r}");
    // 80,000 appends + log_opened + one `rotated` record per rotation.
    assert_eq!(r.records as usize, 80_000 + 1 + (r.files.len() - 1));
}

#[test]
fn retention_drops_old_files_and_what_remains_still_verifies() {
    let d = dir("retention");
    let path = d.join("audit.jsonl");
    let opts = |retain| FileSinkOptions {
        rotate_bytes: 4096,
        retain,
        ..quiet()
    };
    let sink = FileSink::open(&path, opts(None)).unwrap();
    for i in 0..200 {
        sink.append(&custom(i)).unwrap();
    }
    drop(sink);
    let before = verify(&path, None).unwrap();
    assert!(before.is_whole() && before.files.len() > 4, "{before}");
    // The two oldest rotated files are a year old.
    let year_ago = SystemTime::now() - Duration::from_secs(366 * 86_400);
    for f in &before.files[..2] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(year_ago)
            .unwrap();
    }
    drop(FileSink::open(&path, opts(Some(Duration::from_secs(90 * 86_400)))).unwrap());
    let after = verify(&path, None).unwrap();
    assert!(after.is_whole(), "{after}");
    assert_eq!(after.files.len(), before.files.len() - 2);
    assert!(after.first_seq.unwrap() > 0);
    // Deleting the oldest remaining file by hand is not retention: it is caught.
    std::fs::remove_file(&after.files[0]).unwrap();
    let (kind, _, _, msg) = problem(&path, None);
    assert_eq!(kind, ProblemKind::MissingStart, "{msg}");
}

#[test]
fn a_second_writer_is_refused() {
    let d = dir("locked");
    let path = d.join("audit.jsonl");
    let _a = FileSink::open(&path, quiet()).unwrap();
    let e = FileSink::open(&path, quiet()).unwrap_err().to_string();
    assert!(e.contains("another writer"), "{e}");
}

#[test]
fn verify_bytes_never_panics_on_garbage() {
    for junk in [
        &b""[..],
        b"\n\n\n",
        b"{\"seq\":",
        b"{\"seq\":1,\"hash\":\"zz\"}\n",
        &[0xff, 0xfe, b'\n', 0],
    ] {
        let r = verify_bytes(junk, Some(b"{"), None);
        let _ = r.to_string();
    }
}

fn events(path: &Path) -> Vec<Value> {
    lines(path).iter().map(|l| field(l, "event")).collect()
}

fn audited_guard(d: &Path, content: Content, key: Option<AuditKey>) -> (Pipeline, PathBuf) {
    let path = d.join("audit.jsonl");
    let sink = FileSink::open(&path, FileSinkOptions { key, ..quiet() }).unwrap();
    let guard = Pipeline::builder()
        .detector(
            palisade::detect::pii::Pii::new(&Default::default()).unwrap(),
            &[palisade::CheckKind::Input],
        )
        .detector(
            palisade::detect::injection::Heuristics::builtin().unwrap(),
            &[palisade::CheckKind::Input],
        )
        .audit(Arc::new(sink))
        .audit_content(content)
        .build()
        .unwrap();
    (guard, path)
}

#[test]
fn check_records_keep_no_personal_data_by_default() {
    let d = dir("redacted");
    let (guard, path) = audited_guard(&d, Content::Redacted, None);
    let ctx = Context::new().user("u-1").session("s-1").role("support");
    let v = guard.check_input(&ctx, "Please email ana.lima@example.com the invoice");
    assert_eq!(v.action(), Action::Redact);
    drop(guard);
    assert!(verify(&path, None).unwrap().is_whole());
    let ev = events(&path);
    assert_eq!(ev[1]["type"], "config_loaded");
    let check = &ev[2];
    assert_eq!(check["type"], "check");
    assert_eq!(check["kind"], "input");
    assert_eq!(check["action"], "redact");
    assert_eq!(check["ctx"]["user"], "u-1");
    assert_eq!(check["findings"][0]["id"], "pii.email");
    assert_eq!(check["pipeline"], ev[1]["fingerprint"]);
    let text = check["text"].as_str().unwrap();
    assert_eq!(text, "Please email [pii.email] the invoice");
    assert!(!std::fs::read_to_string(&path).unwrap().contains("ana.lima"));
}

#[test]
fn digest_content_keeps_only_a_keyed_digest() {
    let d = dir("digest");
    let key = AuditKey::from_bytes(&[9u8; 32]).unwrap();
    let (guard, path) = audited_guard(&d, Content::Digest, Some(key));
    guard.check_input(&Context::new(), "my SIN is 046 454 286");
    guard.check_input(&Context::new(), "my SIN is 046 454 286");
    drop(guard);
    let ev = events(&path);
    let (a, b) = (&ev[2], &ev[3]);
    assert!(a.get("text").is_none());
    assert_eq!(a["digest"].as_str().unwrap().len(), 64);
    assert_eq!(a["digest"], b["digest"], "same text, same digest");
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("046 454 286")
    );
    // Digest content without a key is refused at construction.
    let sink = FileSink::open(d.join("other.jsonl"), quiet()).unwrap();
    let e = Pipeline::builder()
        .audit(Arc::new(sink))
        .audit_content(Content::Digest)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("keyed"), "{e}");
}

#[test]
fn tool_calls_approvals_and_kill_switch_are_audited() {
    let d = dir("admin");
    let path = d.join("audit.jsonl");
    let sink = FileSink::open(&path, quiet()).unwrap();
    let policy = ToolPolicy::from_toml(
        r#"
        [tools.refund]
        roles = ["support"]
        approval = true
        args.amount = { type = "number", required = true }
        "#,
        "policy.toml",
    )
    .unwrap();
    let kill = Arc::new(KillSwitch::new());
    let guard = Pipeline::builder()
        .tool_policy(policy)
        .audit(Arc::new(sink))
        .kill_switch(Arc::clone(&kill))
        .build()
        .unwrap();
    let ctx = Context::new().session("s").role("support").user("u");
    let call = ToolCall::new("refund", json!({"amount": 30}));
    let v = guard.check_tool_call(&ctx, &call);
    let id = v.approval().unwrap().id.clone();
    guard.approve(&id, "alice@ops").unwrap();
    assert!(guard.check_tool_call(&ctx, &call).is_allowed());
    kill.engage(Scope::User("u".into()), "bob@ops", "investigating", None)
        .unwrap();
    assert!(guard.check_tool_call(&ctx, &call).is_blocked());
    kill.release(&Scope::User("u".into()), "bob@ops").unwrap();
    drop(guard);
    drop(kill);
    assert!(verify(&path, None).unwrap().is_whole());
    let ev = events(&path);
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "log_opened",
            "config_loaded",
            "check",
            "approval",
            "check",
            "kill_switch",
            "check",
            "kill_switch"
        ]
    );
    assert_eq!(ev[2]["action"], "require_approval");
    assert_eq!(ev[2]["tool"], "refund");
    assert_eq!(ev[2]["arg_names"], json!(["amount"]));
    assert!(ev[2].get("arguments").is_none());
    assert_eq!(ev[3]["op"], "granted");
    assert_eq!(ev[3]["by"], "alice@ops");
    assert_eq!(ev[3]["digest"], ev[2]["call_digest"]);
    assert_eq!(ev[5]["op"], "engage");
    assert_eq!(ev[5]["scope"], "user:u");
    assert_eq!(ev[6]["findings"][0]["id"], "kill_switch.engaged");
    assert_eq!(ev[7]["op"], "release");
}

#[test]
fn a_failing_sink_blocks_when_configured_and_is_counted() {
    struct Broken;
    impl AuditSink for Broken {
        fn append(&self, _: &AuditEvent) -> Result<u64, palisade::audit::AuditError> {
            Err(palisade::audit::AuditError::Closed("disk full".into()))
        }
    }
    struct Failing(std::sync::atomic::AtomicBool);
    impl AuditSink for Failing {
        fn append(&self, _: &AuditEvent) -> Result<u64, palisade::audit::AuditError> {
            if self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
                Err(palisade::audit::AuditError::Closed("disk full".into()))
            } else {
                Ok(0)
            }
        }
    }
    // The configuration record cannot be written: construction fails.
    assert!(Pipeline::builder().audit(Arc::new(Broken)).build().is_err());
    let sink = Arc::new(Failing(false.into()));
    let guard = Pipeline::builder()
        .audit(sink)
        .audit_block_on_error(true)
        .build()
        .unwrap();
    let v = guard.check_input(&Context::new(), "hello");
    assert!(v.is_blocked());
    assert_eq!(v.findings()[0].detector, "audit.error");
    assert_eq!(guard.monitor().snapshot().audit_errors, 1);
}
