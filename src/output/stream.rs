//! Checking an answer while it streams.

use std::time::Instant;

use super::StreamConfig;
use crate::context::Context;
use crate::detect::Deferred;
use crate::detect::length::{LengthConfig, quarter_tokens};
use crate::detect::pii::Numbering;
use crate::pipeline::Pipeline;
use crate::verdict::{Action, Category, CheckKind, Finding, Timing, Verdict, redact_with};

/// A stream blocked mid-answer: nothing more is released. [`Blocked::verdict`] says why.
#[derive(Clone, Debug)]
pub struct Blocked(Box<Verdict>);

impl Blocked {
    /// The verdict of the answer up to the block (its text is what was released).
    pub fn verdict(&self) -> &Verdict {
        &self.0
    }

    /// The strongest finding's id and message.
    pub fn reason(&self) -> String {
        self.0.reason()
    }
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "answer blocked: {}", self.0.reason())
    }
}

impl std::error::Error for Blocked {}

/// The end of a stream: the text still to release and the verdict of the whole answer.
#[derive(Clone, Debug)]
pub struct StreamEnd {
    /// The rest of the answer, redacted (empty when the stream was blocked).
    pub text: String,
    /// The verdict of the whole answer (counted and audited once); its text is everything
    /// the stream released.
    pub verdict: Verdict,
}

/// Checks an answer chunk by chunk, from [`Pipeline::output_stream`].
///
/// [`push`](OutputStream::push) returns the text that is safe to show now. It holds back the
/// last `lookahead` bytes and, beyond them, only what could still grow into a finding: a run
/// without spaces (a key, a URL), a value a detector found near the end, the start of a
/// canary, an unfinished private key, words that continue a system prompt. Held text is
/// checked with the released text before it as context, by the same detectors as
/// `check_output`, so the released text, concatenated, is exactly the redacted answer of
/// `check_output` on the whole answer (pseudonym numbering included), whatever the chunking.
/// A blocking finding stops the stream; nothing after the last release is shown. Held text
/// never exceeds `max_holdback` bytes: past it, the undecidable run is redacted as
/// `[REDACTED:stream.withheld]`.
///
/// ```
/// use palisade::{Context, Pipeline};
///
/// let guard = Pipeline::recommended();
/// let ctx = Context::new().session("s-7");
/// let mut stream = guard.output_stream(&ctx);
/// let mut shown = String::new();
/// for chunk in ["Your card 4111 11", "11 1111 1111 is on file. ", "Anything else?"] {
///     match stream.push(chunk) {
///         Ok(safe) => shown.push_str(&safe),
///         Err(blocked) => panic!("{blocked}"),
///     }
/// }
/// let end = stream.finish();
/// shown.push_str(&end.text);
/// assert_eq!(shown, "Your card <CREDIT_CARD_1> is on file. Anything else?");
/// assert_eq!(end.verdict.text(), shown);
/// ```
pub struct OutputStream<'g> {
    guard: &'g Pipeline,
    ctx: Context,
    cfg: StreamConfig,
    limits: Option<LengthConfig>,
    /// Released context, then the held text.
    buf: String,
    /// Bytes of `buf` already released.
    released: usize,
    /// Where `buf` starts in the answer.
    offset: usize,
    /// Bytes pushed since the last check.
    unchecked: usize,
    answer: String,
    out: String,
    chars: usize,
    quarter_tokens: usize,
    findings: Vec<Finding>,
    timings: Vec<Timing>,
    numbering: Numbering,
    blocked: Option<Blocked>,
    start: Instant,
}

impl std::fmt::Debug for OutputStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStream")
            .field("answer_bytes", &self.answer.len())
            .field("held_bytes", &self.held())
            .field("blocked", &self.blocked.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether a check may cut right after `c`: whitespace, or a CJK or later character
/// (scripts written without spaces).
fn boundary_char(c: char) -> bool {
    c.is_whitespace() || c >= '\u{2E80}'
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The last cut position in `(lo, p]` right after a boundary character, or `lo`.
fn boundary_before(s: &str, lo: usize, p: usize) -> usize {
    s[lo..p]
        .char_indices()
        .rev()
        .find(|&(_, c)| boundary_char(c))
        .map_or(lo, |(i, c)| lo + i + c.len_utf8())
}

/// The start of an unfinished PEM block in `s` (a `-----BEGIN` without its `-----END ...-----`).
fn open_pem(s: &str) -> Option<usize> {
    let at = s.rfind("-----BEGIN")?;
    let rest = &s[at + 10..];
    match rest.find("-----END") {
        Some(e) if rest[e + 8..].contains("-----") => None,
        _ => Some(at),
    }
}

impl<'g> OutputStream<'g> {
    pub(crate) fn new(
        guard: &'g Pipeline,
        ctx: &Context,
        cfg: StreamConfig,
        limits: Option<LengthConfig>,
    ) -> Self {
        OutputStream {
            guard,
            ctx: ctx.clone(),
            cfg,
            limits,
            buf: String::new(),
            released: 0,
            offset: 0,
            unchecked: 0,
            answer: String::new(),
            out: String::new(),
            chars: 0,
            quarter_tokens: 0,
            findings: Vec::new(),
            timings: Vec::new(),
            numbering: Numbering::default(),
            blocked: None,
            start: Instant::now(),
        }
    }

    /// Bytes pushed but not released yet.
    pub fn held(&self) -> usize {
        self.buf.len() - self.released
    }

    /// The whole answer pushed so far (unredacted).
    pub fn answer(&self) -> &str {
        &self.answer
    }

    /// Adds a chunk of the answer; returns the text safe to show now (often empty), or why the
    /// answer is blocked. After a block every call returns the same error.
    pub fn push(&mut self, chunk: &str) -> Result<String, Blocked> {
        if let Some(b) = &self.blocked {
            return Err(b.clone());
        }
        self.answer.push_str(chunk);
        self.buf.push_str(chunk);
        self.unchecked += chunk.len();
        self.chars += chunk.chars().count();
        self.quarter_tokens += quarter_tokens(chunk);
        if let Some(f) = self.over_limit() {
            return Err(self.block(vec![f]));
        }
        if self.unchecked < self.cfg.check_every && self.held() <= self.cfg.max_holdback {
            return Ok(String::new());
        }
        self.step(false)
    }

    /// Ends the answer: checks and releases what was held, and records the verdict of the
    /// whole answer (monitor and audit log).
    pub fn finish(mut self) -> StreamEnd {
        if let Some(b) = self.blocked.take() {
            return StreamEnd {
                text: String::new(),
                verdict: *b.0,
            };
        }
        match self.step(true) {
            Err(b) => StreamEnd {
                text: String::new(),
                verdict: *b.0,
            },
            Ok(text) => {
                let mut findings = std::mem::take(&mut self.findings);
                let action = findings.iter().fold(Action::Allow, |a, f| a.join(f.action));
                findings.sort_by_key(|f| (f.span.start, f.span.end));
                let (action, shadow) = self.guard.enforce(action);
                let v = Verdict {
                    kind: CheckKind::Output,
                    action,
                    shadow,
                    findings,
                    changed: self.out != self.answer,
                    text: std::mem::take(&mut self.out),
                    timings: std::mem::take(&mut self.timings),
                    elapsed: self.start.elapsed(),
                    rule: None,
                    approval: None,
                };
                let verdict = self.guard.stream_record(&self.ctx, &self.answer, v);
                StreamEnd { text, verdict }
            }
        }
    }

    fn over_limit(&self) -> Option<Finding> {
        let hard = self.guard.max_input_bytes();
        let l = self.limits.as_ref();
        let checks = [
            (
                "length.bytes",
                "bytes",
                self.answer.len(),
                l.and_then(|l| l.max_bytes),
            ),
            ("length.bytes", "bytes", self.answer.len(), Some(hard)),
            (
                "length.chars",
                "characters",
                self.chars,
                l.and_then(|l| l.max_chars),
            ),
            (
                "length.tokens",
                "estimated tokens",
                self.quarter_tokens.div_ceil(4),
                l.and_then(|l| l.max_tokens),
            ),
        ];
        checks.into_iter().find_map(|(id, what, n, max)| {
            let max = max?;
            (n > max).then(|| {
                Finding::new(
                    id,
                    Category::Length,
                    0..self.answer.len(),
                    1.0,
                    Action::Block,
                    format!("{n} {what}, over the limit of {max}"),
                )
            })
        })
    }

    /// Stops the stream with `extra` findings (answer offsets) and records the verdict.
    fn block(&mut self, mut extra: Vec<Finding>) -> Blocked {
        let mut findings = std::mem::take(&mut self.findings);
        let rule_action = self.guard.apply_rules(&mut extra);
        findings.append(&mut extra);
        let (action, shadow) = self.guard.enforce(rule_action.join(Action::Block));
        let v = Verdict {
            kind: CheckKind::Output,
            action,
            shadow,
            findings,
            changed: true,
            text: self.out.clone(),
            timings: std::mem::take(&mut self.timings),
            elapsed: self.start.elapsed(),
            rule: None,
            approval: None,
        };
        let v = self.guard.stream_record(&self.ctx, &self.answer, v);
        let b = Blocked(Box::new(v));
        self.blocked = Some(b.clone());
        b
    }

    fn add_timings(&mut self, timings: Vec<Timing>) {
        for t in timings {
            match self.timings.iter_mut().find(|x| x.detector == t.detector) {
                Some(x) => x.duration += t.duration,
                None => self.timings.push(t),
            }
        }
    }

    /// Where the held text may be cut: after a boundary, at least `lookahead` bytes before
    /// the end, outside every finding and before anything that could still grow into one.
    fn cut(&self, findings: &[Finding]) -> usize {
        let (buf, lo) = (self.buf.as_str(), self.released);
        let end = buf.len();
        let p = floor_char(buf, end.saturating_sub(self.cfg.lookahead));
        if p <= lo {
            return lo;
        }
        let held = &buf[lo..];
        let mut open = open_pem(held).map(|i| lo + i);
        // Characters spelled out one at a time up to the end may still grow into a secret.
        if let Some(at) = crate::text::open_spelled_run(held) {
            open = Some(open.map_or(lo + at, |o| o.min(lo + at)));
        }
        if let Some(leak) = self.guard.leak() {
            for at in [leak.open_canary(held), leak.open_prompt_run(held)]
                .into_iter()
                .flatten()
            {
                open = Some(open.map_or(lo + at, |o| o.min(lo + at)));
            }
        }
        let mut p = boundary_before(buf, lo, p);
        loop {
            let mut q = p;
            for f in findings {
                if f.span.start < q && q < f.span.end {
                    q = f.span.start;
                }
            }
            if let Some(o) = open {
                q = q.min(o);
            }
            if q == p {
                return p;
            }
            p = boundary_before(buf, lo, q.max(lo));
            if p <= lo {
                return lo;
            }
        }
    }

    /// Checks the held text and releases what is safe (everything when `last`).
    fn step(&mut self, last: bool) -> Result<String, Blocked> {
        self.unchecked = 0;
        if let Some(v) = self
            .guard
            .stream_killed(&self.ctx, &self.answer, self.start)
        {
            let b = Blocked(Box::new(v));
            self.blocked = Some(b.clone());
            return Err(b);
        }
        if self.held() == 0 {
            return Ok(String::new());
        }
        let deferred = Deferred::default();
        let (mut findings, timings) = self.guard.scan(
            CheckKind::Output,
            &self.ctx,
            &self.buf,
            Some(&deferred),
            true,
        );
        self.add_timings(timings);
        let action = self.guard.apply_rules(&mut findings);
        let lo = self.released;
        if action == Action::Block && self.guard.enforce(action).0 == Action::Block {
            let offset = self.offset;
            let blocking: Vec<Finding> = findings
                .into_iter()
                .filter(|f| f.span.end > lo || f.span.is_empty())
                .map(|mut f| {
                    if !f.span.is_empty() {
                        f.span = f.span.start.max(lo) + offset..f.span.end + offset;
                    }
                    f
                })
                .collect();
            return Err(self.block(blocking));
        }
        let end = self.buf.len();
        let mut p = if last { end } else { self.cut(&findings) };
        let mut withheld = None;
        if !last && end - p > self.cfg.max_holdback {
            // Held too long: release up to the lookahead, redacting the undecided run.
            let mut q = floor_char(&self.buf, end - self.cfg.lookahead).max(p);
            for f in &findings {
                if f.span.start < q && q < f.span.end {
                    q = f.span.end;
                }
            }
            withheld = Some(p..q);
            p = q;
        }
        if p <= lo {
            return Ok(String::new());
        }
        // Settle the pseudonyms of the released values, in the order the detector found them.
        let session = self.ctx.session.as_deref();
        for d in deferred.pii.borrow().iter() {
            if d.span.start < lo || d.span.start >= p {
                continue;
            }
            let (r, message) = d.resolve(session, &mut self.numbering);
            if let Some(f) = findings
                .iter_mut()
                .find(|f| f.span == d.span && f.replacement.is_none() && f.family() == "pii")
            {
                f.replacement = Some(r);
                f.message = message;
            }
        }
        let mut seg: Vec<Finding> = findings
            .into_iter()
            .filter(|f| {
                f.span.start < p && (f.span.end > lo || (f.span.is_empty() && f.span.start >= lo))
            })
            .map(|mut f| {
                f.span = f.span.start.max(lo) - lo..f.span.end.min(p) - lo;
                f
            })
            .collect();
        if let Some(w) = withheld.filter(|w| w.start < w.end) {
            seg.push(Finding::new(
                "stream.withheld",
                Category::Output,
                w.start - lo..w.end - lo,
                1.0,
                Action::Redact,
                format!(
                    "{} bytes that could still have become a finding were held past the {}-byte limit",
                    w.end - w.start,
                    self.cfg.max_holdback
                ),
            ));
        }
        let text = &self.buf[lo..p];
        let restore = self.guard.output_restorer(CheckKind::Output, &self.ctx);
        let released = redact_with(
            text,
            &seg,
            restore.as_ref().map(|r| r as &dyn Fn(&str) -> String),
        )
        .unwrap_or_else(|| text.to_owned());
        let base = self.offset + lo;
        self.findings.extend(seg.into_iter().map(|mut f| {
            f.span = f.span.start + base..f.span.end + base;
            f
        }));
        self.out.push_str(&released);
        self.released = p;
        // Keep `context` bytes of released text, from a boundary on.
        if p > self.cfg.context {
            let from = floor_char(&self.buf, p - self.cfg.context);
            let q = self.buf[from..p]
                .char_indices()
                .find(|&(_, c)| boundary_char(c))
                .map_or(from, |(i, c)| from + i + c.len_utf8());
            self.buf.drain(..q);
            self.offset += q;
            self.released -= q;
        }
        Ok(released)
    }
}
