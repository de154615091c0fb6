//! `palisade`: check texts from the command line.
//!
//! - `palisade check [--config F] [--kind input|output|tool_result] TEXT|-` prints a readable
//!   verdict; exit 0 on allow/redact, 1 on block, 3 on require-approval, 2 on a usage or
//!   configuration error.
//! - `palisade scan [--config F] [--kind K] [FILE|-]` reads JSONL (`{"text", "id"?, "kind"?}`)
//!   and writes one JSON verdict per line; exit 2 at the end if any line failed.
//! - `palisade policy check FILE` validates a tool policy and prints what it allows (exit 0),
//!   or the error naming file, line, tool and field (exit 2).
//! - `palisade tool --policy FILE [--role R] CALL.json` decides one tool call
//!   (`{"name", "arguments"}`; `arguments` may be an object or a JSON string, as model APIs
//!   return it); exit codes as `check`.
//! - `check`, `scan` and `tool` take `--audit FILE [--audit-key K]` to append every decision
//!   to a tamper-evident audit log.
//! - `palisade audit verify FILE [--key-file K] [--json]`: exit 0 when the log is whole, 1
//!   when broken (naming the first broken record), 2 when it cannot be read.
//! - `palisade audit keygen FILE` writes a fresh random key file (mode 0600).
//! - `palisade eval FILE.jsonl` (feature `classifier`) scores labelled JSONL
//!   (`{"text", "label": 0|1, "source"?}`) with the injection classifier and prints AUC,
//!   precision and recall at the threshold, recall at 1% and 0.1% false positives, a per-source
//!   table and latency percentiles (`--json` for a machine-readable report).
//! - `palisade kill engage|release --scope global|agent:A|user:U|session:S --state FILE`
//!   and `palisade kill status --state FILE`: the kill switch a running pipeline polls.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

#[cfg(feature = "classifier")]
#[path = "palisade/eval.rs"]
mod eval;
use palisade::audit::AuditKey;
use palisade::monitor::{KillSwitch, Scope};
use palisade::tools::ToolPolicy;
use palisade::{Action, CheckKind, Config, Context, Guard, Pipeline, ToolCall, Verdict};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Guardrails for AI agents: check texts from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Appending decisions to an audit log.
#[derive(clap::Args, Clone, Default)]
struct AuditArgs {
    /// Append every decision to this audit log (tamper-evident JSON lines).
    #[arg(long)]
    audit: Option<PathBuf>,
    /// HMAC key file for the audit log (see `palisade audit keygen`).
    #[arg(long, requires = "audit")]
    audit_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Check one text and print the verdict (exit 0 allow/redact, 1 block, 3 approval).
    Check {
        /// Configuration file (TOML); the recommended defaults without it.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        audit: AuditArgs,
        /// What the text is: input, output or tool_result.
        #[arg(long, default_value = "input")]
        kind: String,
        /// Print the verdict as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The text, or `-` to read standard input.
        text: String,
    },
    /// Check every line of a JSONL file ({"text", "id"?, "kind"?}) and write JSONL verdicts.
    Scan {
        /// Configuration file (TOML); the recommended defaults without it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Kind for lines that do not say: input, output or tool_result.
        #[arg(long, default_value = "input")]
        kind: String,
        #[command(flatten)]
        audit: AuditArgs,
        /// Print a summary to standard error at the end: lines, failures, time and (on Linux)
        /// peak memory.
        #[arg(long)]
        stats: bool,
        /// The JSONL file, or `-` (the default) for standard input.
        file: Option<PathBuf>,
    },
    /// Tool policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Audit logs: verify, keygen.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The kill switch: engage, release, status.
    Kill {
        #[command(subcommand)]
        command: KillCommand,
    },
    /// Evaluate the injection classifier on labelled JSONL ({"text", "label": 0|1, "source"?}).
    #[cfg(feature = "classifier")]
    Eval(eval::Args),
    /// Decide one tool call ({"name", "arguments"}) against a policy (exit 0 allow, 1 block,
    /// 3 approval).
    Tool {
        /// The tool policy (TOML).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Pipeline configuration (its `tool_policy`, detectors and rules); `--policy`
        /// overrides its policy.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The caller's role.
        #[arg(long)]
        role: Option<String>,
        /// The caller's agent.
        #[arg(long)]
        agent: Option<String>,
        /// The end user.
        #[arg(long)]
        user: Option<String>,
        /// The session.
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        audit: AuditArgs,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
        /// The call as JSON, or `-` for standard input.
        call: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify a log's chain and checkpoint (exit 0 whole, 1 broken, 2 unreadable).
    Verify {
        /// The log (its rotated files `FILE.000001`, ... and `FILE.checkpoint` are read too).
        file: PathBuf,
        /// The key file the log was written with.
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a new random key file (32 bytes as hex, mode 0600); refuses to overwrite.
    Keygen {
        /// The key file to create.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KillCommand {
    /// Engage the kill switch for a scope.
    Engage {
        /// global, agent:NAME, user:NAME or session:NAME.
        #[arg(long)]
        scope: String,
        /// The shared state file the pipelines poll.
        #[arg(long)]
        state: PathBuf,
        /// Who engages it (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Lapse after this long (`15m`, `1h`); default: until released.
        #[arg(long = "for")]
        lasting: Option<String>,
    },
    /// Release a scope.
    Release {
        /// The scope to release.
        #[arg(long)]
        scope: String,
        /// The shared state file.
        #[arg(long)]
        state: PathBuf,
        /// Who releases it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Print what is engaged.
    Status {
        /// The shared state file.
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file and print what it allows.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

/// Peak resident memory of this process in KiB, where the OS reports it (Linux `VmHWM`).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_kind(s: &str) -> Result<CheckKind, String> {
    match CheckKind::parse(s) {
        Some(k) if k != CheckKind::ToolCall => Ok(k),
        _ => Err(format!(
            "unknown kind {s:?}: use input, output or tool_result"
        )),
    }
}

fn load_config(config: &Option<PathBuf>, audit: &AuditArgs) -> Result<Config, String> {
    let mut cfg = match config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let absolute =
        |p: &PathBuf| std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()));
    if let Some(file) = &audit.audit {
        cfg.audit.file = Some(absolute(file)?);
        cfg.audit.key_file = audit.audit_key.as_ref().map(absolute).transpose()?;
    }
    // The command line shows the classifier's score on every text, however low.
    #[cfg(feature = "classifier")]
    {
        cfg.classifier.report_from = 0.0;
    }
    Ok(cfg)
}

fn load(config: &Option<PathBuf>, audit: &AuditArgs) -> Result<Pipeline, String> {
    Pipeline::from_config(&load_config(config, audit)?).map_err(|e| e.to_string())
}

fn audit_verify(file: &PathBuf, key_file: &Option<PathBuf>, as_json: bool) -> Result<u8, String> {
    let key = key_file
        .as_ref()
        .map(AuditKey::from_file)
        .transpose()
        .map_err(|e| e.to_string())?;
    let report = palisade::audit::verify(file, key.as_ref()).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    if as_json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&report).unwrap_or_default()
        );
    } else {
        let _ = writeln!(out, "{}: {report}", file.display());
    }
    Ok(if report.is_whole() { 0 } else { 1 })
}

fn audit_keygen(file: &PathBuf) -> Result<u8, String> {
    let hex = AuditKey::generate_hex().map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    f.write_all(format!("{hex}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", file.display()))?;
    println!("{}: new audit key written", file.display());
    Ok(0)
}

fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cli".to_owned())
}

fn kill(command: KillCommand) -> Result<u8, String> {
    let open = |state: &PathBuf| KillSwitch::with_state_file(state).map_err(|e| e.to_string());
    let mut out = std::io::stdout().lock();
    match command {
        KillCommand::Engage {
            scope,
            state,
            by,
            reason,
            lasting,
        } => {
            let scope = Scope::parse(&scope)?;
            let lasting = lasting
                .as_deref()
                .map(palisade::config::parse_duration)
                .transpose()
                .map_err(|e| format!("--for: {e}"))?;
            let e = open(&state)?
                .engage(scope, &operator(by), &reason, lasting)
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "engaged {} by {}", e.scope, e.by);
        }
        KillCommand::Release { scope, state, by } => {
            let scope = Scope::parse(&scope)?;
            match open(&state)?
                .release(&scope, &operator(by))
                .map_err(|e| e.to_string())?
            {
                Some(e) => {
                    let _ = writeln!(out, "released {} (engaged by {})", e.scope, e.by);
                }
                None => {
                    let _ = writeln!(out, "{scope} was not engaged");
                }
            }
        }
        KillCommand::Status { state } => {
            let engaged = open(&state)?.engaged();
            if engaged.is_empty() {
                let _ = writeln!(out, "nothing engaged");
            }
            for e in engaged {
                let _ = writeln!(
                    out,
                    "{}\tby {}\t{}{}",
                    e.scope,
                    e.by,
                    e.reason,
                    e.until_ms
                        .map(|u| format!("\tuntil {}", palisade::audit::rfc3339(u)))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            config,
            audit,
            kind,
            json,
            text,
        } => check(&config, &audit, &kind, json, &text),
        Command::Scan {
            config,
            kind,
            audit,
            file,
            stats,
        } => scan(&config, &audit, &kind, file, stats),
        Command::Audit {
            command:
                AuditCommand::Verify {
                    file,
                    key_file,
                    json,
                },
        } => audit_verify(&file, &key_file, json),
        Command::Audit {
            command: AuditCommand::Keygen { file },
        } => audit_keygen(&file),
        Command::Kill { command } => kill(command),
        #[cfg(feature = "classifier")]
        Command::Eval(args) => eval::run(args),
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => policy_check(&file),
        Command::Tool {
            policy,
            config,
            role,
            agent,
            user,
            session,
            audit,
            json,
            call,
        } => {
            let ctx = Context {
                user,
                session,
                agent,
                role,
            };
            tool(policy, config, &audit, ctx, json, &call)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("palisade: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_arg(arg: &str) -> Result<String, String> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("{arg}: cannot read: {e}"))
    }
}

fn policy_check(file: &PathBuf) -> Result<u8, String> {
    let policy = ToolPolicy::from_file(file).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: valid, {} tools\n{}",
        file.display(),
        policy.tool_names().len(),
        policy.describe()
    );
    Ok(0)
}

/// Reads a call file: `{"name", "arguments"}`, duplicate keys anywhere make it malformed.
fn read_call(text: &str) -> Result<ToolCall, String> {
    let loose: Value =
        serde_json::from_str(text).map_err(|e| format!("the call is not JSON: {e}"))?;
    let name = loose
        .get("name")
        .and_then(Value::as_str)
        .ok_or("the call needs a string \"name\"")?
        .to_owned();
    let strict = ToolCall::from_json(name.clone(), text);
    if strict.malformed().is_some() {
        return Ok(strict);
    }
    Ok(match strict.arguments.get("arguments") {
        Some(Value::String(raw)) => ToolCall::from_json(name, raw),
        Some(v) => ToolCall::new(name, v.clone()),
        None => ToolCall::new(name, Value::Null),
    })
}

fn tool(
    policy: Option<PathBuf>,
    config: Option<PathBuf>,
    audit: &AuditArgs,
    ctx: Context,
    as_json: bool,
    call: &str,
) -> Result<u8, String> {
    let mut cfg = load_config(&config, audit)?;
    if let Some(p) = policy {
        let p = std::path::absolute(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        cfg.tool_policy = Some(p);
    }
    if cfg.tool_policy.is_none() {
        return Err("give --policy FILE (or a --config with tool_policy)".into());
    }
    let guard = Pipeline::from_config(&cfg).map_err(|e| e.to_string())?;
    let call = read_call(&read_arg(call)?)?;
    let v = guard.check_tool_call(&ctx, &call);
    let mut out = std::io::stdout().lock();
    if as_json {
        let _ = writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default());
    } else {
        let _ = writeln!(out, "action: {}", v.action());
        if let Some(s) = v.shadow_action() {
            let _ = writeln!(out, "shadow action (not enforced): {s}");
        }
        let _ = writeln!(out, "rule: {}", v.rule().unwrap_or(""));
        for f in v.findings() {
            let _ = writeln!(
                out,
                "  {:<24} {:<16} {}{}\n      {}",
                f.detector,
                f.action.name(),
                f.rule.as_deref().unwrap_or(""),
                f.argument
                    .as_deref()
                    .map(|a| format!("  argument {a}"))
                    .unwrap_or_default(),
                f.message
            );
        }
        if let Some(a) = v.approval() {
            let _ = writeln!(
                out,
                "approval: {} for {} (digest {})",
                a.id, a.tool, a.digest
            );
        }
    }
    Ok(exit_code(v.action()))
}

fn exit_code(action: Action) -> u8 {
    match action {
        Action::Allow | Action::Redact => 0,
        Action::Block => 1,
        Action::RequireApproval => 3,
    }
}

fn findings_json(text: &str, v: &Verdict) -> Vec<Value> {
    v.findings()
        .iter()
        .map(|f| {
            let cs = text.get(..f.span.start).map_or(0, |p| p.chars().count());
            let ce = cs + text.get(f.span.clone()).map_or(0, |p| p.chars().count());
            json!({
                "detector": f.detector,
                "category": f.category,
                "start": f.span.start,
                "end": f.span.end,
                "char_start": cs,
                "char_end": ce,
                "score": (f64::from(f.score) * 1000.0).round() / 1000.0,
                "action": f.action,
                "message": f.message,
            })
        })
        .collect()
}

fn check(
    config: &Option<PathBuf>,
    audit: &AuditArgs,
    kind: &str,
    as_json: bool,
    text: &str,
) -> Result<u8, String> {
    let kind = parse_kind(kind)?;
    let guard = load(config, audit)?;
    let text = if text == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading standard input: {e}"))?;
        s
    } else {
        text.to_owned()
    };
    let v = guard.check_text(kind, &Context::new(), &text);
    let mut out = std::io::stdout().lock();
    if as_json {
        let mut line = json!({
            "action": v.action(),
            "findings": findings_json(&text, &v),
            "latency_us": v.elapsed().as_micros() as u64,
        });
        if let Some(s) = v.shadow_action() {
            line["shadow_action"] = json!(s);
        }
        if v.is_redacted() {
            line["text"] = json!(v.text());
        }
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "action: {}", v.action());
        if let Some(s) = v.shadow_action() {
            let _ = writeln!(out, "shadow action (not enforced): {s}");
        }
        for f in v.findings() {
            let excerpt: String = text
                .get(f.span.clone())
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            let _ = writeln!(
                out,
                "  {:<28} {:<16} score {:.2}  bytes {}..{}  {:?}\n      {}",
                f.detector,
                f.action.name(),
                f.score,
                f.span.start,
                f.span.end,
                excerpt,
                f.message
            );
        }
        if v.is_redacted() {
            let _ = writeln!(out, "text: {}", v.text());
        }
        let _ = writeln!(out, "latency: {} µs", v.elapsed().as_micros());
    }
    Ok(exit_code(v.action()))
}

fn scan(
    config: &Option<PathBuf>,
    audit: &AuditArgs,
    kind: &str,
    file: Option<PathBuf>,
    stats: bool,
) -> Result<u8, String> {
    let default_kind = parse_kind(kind)?;
    let guard = load(config, audit)?;
    let reader: Box<dyn BufRead> = match &file {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let progress = std::io::stderr().is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let ctx = Context::new();
    let mut failed = 0usize;
    let started = Instant::now();
    let mut reader = reader;
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                // Not UTF-8 or unreadable: report it and skip to the next line.
                n += 1;
                failed += 1;
                let _ = writeln!(
                    out,
                    "{}",
                    json!({"id": n, "error": format!("line {n}: {e}")})
                );
                let mut skip = Vec::new();
                if reader.read_until(b'\n', &mut skip).is_err() {
                    break;
                }
                continue;
            }
        }
        n += 1;
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if trimmed.trim().is_empty() {
            continue;
        }
        let result = scan_line(&guard, &ctx, default_kind, n, trimmed);
        match result {
            Ok(v) => {
                let _ = writeln!(out, "{v}");
            }
            Err((id, e)) => {
                failed += 1;
                let _ = writeln!(out, "{}", json!({"id": id, "error": e}));
            }
        }
        if progress && n.is_multiple_of(1000) {
            eprint!("\r{n} lines, {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    let _ = out.flush();
    if progress || stats {
        let peak = peak_memory_kib()
            .map(|k| format!(", peak memory {k} KiB"))
            .unwrap_or_default();
        eprintln!(
            "{}{n} lines, {:.1} s, {failed} failed{peak}",
            if progress { "\r" } else { "" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failed > 0 { 2 } else { 0 })
}

fn scan_line(
    guard: &Pipeline,
    ctx: &Context,
    default_kind: CheckKind,
    n: usize,
    line: &str,
) -> Result<Value, (Value, String)> {
    let row: Value = serde_json::from_str(line)
        .map_err(|e| (json!(n), format!("line {n}: invalid JSON: {e}")))?;
    let id = row.get("id").cloned().unwrap_or(json!(n));
    let text = row
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| (id.clone(), format!("line {n}: no string field \"text\"")))?;
    let kind = match row.get("kind").and_then(Value::as_str) {
        Some(k) => parse_kind(k).map_err(|e| (id.clone(), format!("line {n}: {e}")))?,
        None => default_kind,
    };
    let v = guard.check_text(kind, ctx, text);
    let mut out = json!({
        "id": id,
        "action": v.action(),
        "findings": findings_json(text, &v),
        "latency_us": v.elapsed().as_micros() as u64,
    });
    if let Some(s) = v.shadow_action() {
        out["shadow_action"] = json!(s);
    }
    if v.is_redacted() {
        out["text"] = json!(v.text());
    }
    Ok(out)
}
