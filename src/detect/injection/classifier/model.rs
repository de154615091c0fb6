//! Loading and running a model (cargo feature `classifier`).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use super::{
    Backend, ClassifierConfig, ClassifierError, ID, Manifest, Score, SecondOpinion, backend,
    budget, windows,
};
use crate::detect::{Detector, Input};
use crate::error::DetectorError;
use crate::verdict::{Action, Category, Finding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    Ids,
    Mask,
    Types,
}

/// One ONNX graph with its sessions.
struct Net {
    path: PathBuf,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    feeds: Vec<(String, Feed)>,
    output: String,
}

/// A loaded model, shared by every classifier of the process that uses the same files.
struct Model {
    path: PathBuf,
    manifest: Manifest,
    variant: String,
    threshold: f32,
    backend: Backend,
    tokenizer: Tokenizer,
    net: Net,
    /// The screen run first, and the manifest's escalation probability.
    screen: Option<(Net, f32)>,
    injection: Vec<usize>,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    pad: u32,
}

/// Folder, manifest hash, backend, variant, threads, sessions, screen.
type CacheKey = (PathBuf, String, Backend, String, usize, usize, bool);
static CACHE: OnceLock<Mutex<HashMap<CacheKey, Weak<Model>>>> = OnceLock::new();

/// The injection classifier: a [`Detector`] with id `injection.classifier`.
pub struct InjectionClassifier {
    model: Arc<Model>,
    threshold: f32,
    /// Screen probability from which a window goes to the full model (None: no screen).
    escalate: Option<f32>,
    max_windows: usize,
    stride: usize,
    batch: usize,
    report_from: f32,
    uncertain: [f32; 2],
    second: OnceLock<Arc<dyn SecondOpinion>>,
    seed: AtomicU64,
}

impl std::fmt::Debug for InjectionClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InjectionClassifier")
            .field("model", &self.model.path)
            .field("variant", &self.model.variant)
            .field("backend", &self.model.backend)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// Where the default model is looked for, in order.
pub fn default_model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("PALISADE_MODEL_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/injection"));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(dir.join("models/injection"));
    }
    dirs
}

fn find_default() -> Result<PathBuf, ClassifierError> {
    let dirs = default_model_dirs();
    dirs.iter()
        .find(|d| d.join("manifest.toml").is_file())
        .cloned()
        .ok_or_else(|| {
            ClassifierError::NotFound(
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

fn read_checked(dir: &Path, file: &str, sha256: &str) -> Result<Vec<u8>, ClassifierError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|source| ClassifierError::Io {
        path: path.clone(),
        source,
    })?;
    let actual = crate::tools::hex(&Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(sha256.trim()) {
        return Err(ClassifierError::Hash {
            path,
            expected: sha256.trim().to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

impl Net {
    /// Builds `config.sessions` sessions of one graph and reads its inputs and output.
    fn load(
        env: &ort::environment::Environment,
        path: PathBuf,
        bytes: &[u8],
        config: &ClassifierConfig,
    ) -> Result<Net, ClassifierError> {
        let model_err = |message: String| ClassifierError::Model {
            path: path.clone(),
            message,
        };
        let mut sessions = Vec::with_capacity(config.sessions);
        for _ in 0..config.sessions {
            let session = Session::builder(env)
                .map_err(|e| model_err(e.to_string()))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| model_err(e.to_string()))?
                .with_intra_threads(config.threads)
                .map_err(|e| model_err(e.to_string()))?
                .commit_from_memory(bytes)
                .map_err(|e| model_err(e.to_string()))?;
            sessions.push(Mutex::new(session));
        }
        let (feeds, output) = {
            let s = sessions[0].lock().unwrap_or_else(|e| e.into_inner());
            let mut feeds = Vec::new();
            for input in s.inputs() {
                let feed = match input.name() {
                    "input_ids" => Feed::Ids,
                    "attention_mask" => Feed::Mask,
                    "token_type_ids" => Feed::Types,
                    other => {
                        return Err(model_err(format!(
                            "unknown input {other:?} (expected input_ids, attention_mask, token_type_ids)"
                        )));
                    }
                };
                feeds.push((input.name().to_owned(), feed));
            }
            if !feeds.iter().any(|(_, f)| *f == Feed::Ids) {
                return Err(model_err("the model has no input_ids input".into()));
            }
            let output = s
                .outputs()
                .iter()
                .find(|o| o.name() == "logits")
                .or_else(|| s.outputs().first())
                .map(|o| o.name().to_owned())
                .ok_or_else(|| model_err("the model has no output".into()))?;
            (feeds, output)
        };
        Ok(Net {
            path,
            sessions,
            next: AtomicUsize::new(0),
            feeds,
            output,
        })
    }
}

impl Model {
    fn load(dir: &Path, config: &ClassifierConfig) -> Result<Model, ClassifierError> {
        let manifest_path = dir.join("manifest.toml");
        let manifest = Manifest::from_file(&manifest_path)?;
        let bad = |message: String| ClassifierError::Manifest {
            path: manifest_path.clone(),
            message,
        };
        let variant = match &config.variant {
            Some(v) => v.clone(),
            None if config.backend == Backend::Onnxruntime
                && manifest.variants.contains_key("int8") =>
            {
                "int8".into()
            }
            None if manifest.variants.contains_key("fp32") => "fp32".into(),
            None => manifest.variants.keys().next().cloned().unwrap_or_default(),
        };
        let Some(v) = manifest.variants.get(&variant) else {
            return Err(bad(format!(
                "no variant {variant:?} (has: {})",
                manifest
                    .variants
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if !v.backends.is_empty() && !v.backends.contains(&config.backend) {
            return Err(bad(format!(
                "variant {variant:?} does not run on {}",
                config.backend.name()
            )));
        }
        // Hashes first: nothing unverified is parsed.
        let tok_bytes = read_checked(dir, &manifest.tokenizer.file, &manifest.tokenizer.sha256)?;
        let mut tokenizer = Tokenizer::from_bytes(&tok_bytes)
            .map_err(|e| ClassifierError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| ClassifierError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let (prefix, suffix) = specials(&tokenizer)?;
        if prefix.len() + suffix.len() + 1 >= manifest.window {
            return Err(bad("window: too small for the special tokens".into()));
        }
        let pad = ["[PAD]", "<pad>", "<PAD>"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .unwrap_or(0);
        let env = backend::environment(config.backend, config.library.as_ref())?;
        // Each graph is hashed, then built; the screen on a second thread, at the same time.
        let load = |file: &str, sha256: &str| -> Result<Net, ClassifierError> {
            let bytes = read_checked(dir, file, sha256)?;
            Net::load(&env, dir.join(file), &bytes, config)
        };
        let screen_file = v.screen.as_ref().filter(|_| config.screen);
        let (net, screen) = std::thread::scope(|scope| {
            let screen = screen_file.map(|sf| scope.spawn(|| load(&sf.file, &sf.sha256)));
            let net = load(&v.file, &v.sha256);
            let screen = screen.map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ClassifierError::Backend(
                        "loading the screen model panicked".into(),
                    ))
                })
            });
            (net, screen)
        });
        let net = net?;
        let screen = match (screen, screen_file) {
            (Some(s), Some(sf)) => Some((s?, sf.escalate)),
            _ => None,
        };
        let injection = manifest
            .injection_labels
            .iter()
            .filter_map(|l| manifest.labels.iter().position(|x| x == l))
            .collect();
        let model = Model {
            path: dir.join(&v.file),
            threshold: v.threshold,
            variant,
            backend: config.backend,
            tokenizer,
            net,
            screen,
            injection,
            prefix,
            suffix,
            pad,
            manifest,
        };
        // One run proves the graphs and the labels agree before the first real check.
        let probe = [model.wrap(&[])];
        for net in std::iter::once(&model.net).chain(model.screen.as_ref().map(|(n, _)| n)) {
            let p = model.run(net, &probe)?;
            if p.len() != 1 || !p[0].is_finite() {
                return Err(ClassifierError::Model {
                    path: net.path.clone(),
                    message: "the model's output does not match the manifest's labels".into(),
                });
            }
        }
        Ok(model)
    }

    fn wrap(&self, body: &[u32]) -> Vec<i64> {
        let mut ids = Vec::with_capacity(body.len() + self.prefix.len() + self.suffix.len());
        ids.extend(self.prefix.iter().map(|&t| t as i64));
        ids.extend(body.iter().map(|&t| t as i64));
        ids.extend(self.suffix.iter().map(|&t| t as i64));
        ids
    }

    /// Injection probabilities of token sequences (special tokens included), one run of `net`.
    fn run(&self, net: &Net, seqs: &[Vec<i64>]) -> Result<Vec<f32>, ClassifierError> {
        let err = |message: String| ClassifierError::Model {
            path: net.path.clone(),
            message,
        };
        let b = seqs.len();
        let n = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = vec![self.pad as i64; b * n];
        let mut mask = vec![0i64; b * n];
        for (i, s) in seqs.iter().enumerate() {
            ids[i * n..i * n + s.len()].copy_from_slice(s);
            mask[i * n..i * n + s.len()].iter_mut().for_each(|m| *m = 1);
        }
        let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
        for (name, feed) in &net.feeds {
            let data = match feed {
                Feed::Ids => ids.clone(),
                Feed::Mask => mask.clone(),
                Feed::Types => vec![0i64; b * n],
            };
            let t = Tensor::from_array(([b, n], data)).map_err(|e| err(e.to_string()))?;
            inputs.push((name.clone(), t.into()));
        }
        let k = net.sessions.len();
        let start = net.next.fetch_add(1, Ordering::Relaxed);
        let mut guard = None;
        for j in 0..k {
            if let Ok(g) = net.sessions[(start + j) % k].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut session = match guard {
            Some(g) => g,
            None => net.sessions[start % k]
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        };
        let outputs = session.run(inputs).map_err(|e| err(e.to_string()))?;
        let (shape, logits) = outputs[net.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| err(e.to_string()))?;
        let labels = self.manifest.labels.len();
        if shape.len() != 2 || shape[0] as usize != b || shape[1] as usize != labels {
            return Err(err(format!(
                "output {} has shape {:?}, expected [{b}, {labels}]",
                net.output,
                &shape[..]
            )));
        }
        Ok(logits
            .chunks(labels)
            .map(|row| {
                if labels == 1 {
                    1.0 / (1.0 + (-row[0]).exp())
                } else {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exp: Vec<f32> = row.iter().map(|x| (x - max).exp()).collect();
                    let sum: f32 = exp.iter().sum();
                    self.injection.iter().map(|&i| exp[i]).sum::<f32>() / sum
                }
            })
            .collect())
    }
}

/// The special tokens the tokenizer adds before and after a text.
fn specials(tokenizer: &Tokenizer) -> Result<(Vec<u32>, Vec<u32>), ClassifierError> {
    let e = |e: tokenizers::Error| ClassifierError::Tokenizer(e.to_string());
    let with = tokenizer.encode("hello", true).map_err(e)?;
    let without = tokenizer.encode("hello", false).map_err(e)?;
    let (w, wo) = (with.get_ids(), without.get_ids());
    let at = (0..=w.len().saturating_sub(wo.len()))
        .find(|&i| w[i..].starts_with(wo))
        .ok_or_else(|| {
            ClassifierError::Tokenizer("cannot locate the special tokens it adds".into())
        })?;
    Ok((w[..at].to_vec(), w[at + wo.len()..].to_vec()))
}

impl InjectionClassifier {
    /// Loads the model a configuration names (or the default one). Models are shared: loading
    /// the same files with the same backend twice returns the already loaded model.
    pub fn load(config: &ClassifierConfig) -> Result<InjectionClassifier, ClassifierError> {
        Self::load_in(config, None)
    }

    /// Loads the model in folder `dir` with default settings.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<InjectionClassifier, ClassifierError> {
        let config = ClassifierConfig {
            model: Some(dir.as_ref().to_owned()),
            ..ClassifierConfig::default()
        };
        Self::load(&config)
    }

    /// Like [`load`](Self::load), with relative model paths read from `base`.
    pub fn load_in(
        config: &ClassifierConfig,
        base: Option<&Path>,
    ) -> Result<InjectionClassifier, ClassifierError> {
        config.validate()?;
        let dir = match &config.model {
            Some(p) => crate::audit::resolve(base, p),
            None => find_default()?,
        };
        let dir = dir.canonicalize().map_err(|source| ClassifierError::Io {
            path: dir.clone(),
            source,
        })?;
        // The manifest's hash is part of the key: a changed model folder loads afresh.
        let manifest = dir.join("manifest.toml");
        let manifest_hash = std::fs::read(&manifest)
            .map(|b| crate::tools::hex(&Sha256::digest(&b)))
            .map_err(|source| ClassifierError::Io {
                path: manifest,
                source,
            })?;
        let key: CacheKey = (
            dir.clone(),
            manifest_hash,
            config.backend,
            config.variant.clone().unwrap_or_default(),
            config.threads,
            config.sessions,
            config.screen,
        );
        let cache = CACHE.get_or_init(Default::default);
        let model = {
            let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = Arc::new(Model::load(&dir, config)?);
                    map.retain(|_, w| w.strong_count() > 0);
                    map.insert(key, Arc::downgrade(&m));
                    m
                }
            }
        };
        let stride = config.stride.unwrap_or(model.manifest.stride);
        let body = model.manifest.window - model.prefix.len() - model.suffix.len();
        if stride > body {
            return Err(ClassifierError::Config {
                field: "stride",
                message: format!(
                    "{stride} is larger than a window's {body} text tokens: text would be skipped"
                ),
            });
        }
        let threshold = config.threshold.unwrap_or(model.threshold);
        let escalate = model
            .screen
            .as_ref()
            .map(|(_, e)| config.escalate.unwrap_or(*e));
        if let Some(e) = escalate
            && e >= threshold
        {
            return Err(ClassifierError::Config {
                field: "escalate",
                message: format!(
                    "{e} is not below the threshold {threshold}: the screen alone would flag windows"
                ),
            });
        }
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Ok(InjectionClassifier {
            threshold,
            escalate,
            max_windows: config.max_windows,
            stride,
            batch: config.batch,
            report_from: config.report_from,
            uncertain: config.uncertain,
            second: OnceLock::new(),
            seed: AtomicU64::new(u64::from_le_bytes(seed) | 1),
            model,
        })
    }

    /// Sets the second opinion for uncertain scores (once; `false` if one was already set).
    pub fn set_second_opinion(&self, judge: Arc<dyn SecondOpinion>) -> bool {
        self.second.set(judge).is_ok()
    }

    /// With a second opinion for uncertain scores.
    pub fn with_second_opinion(self, judge: Arc<dyn SecondOpinion>) -> Self {
        let _ = self.second.set(judge);
        self
    }

    /// The probability at which a finding reaches the policy threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The model's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.model.manifest
    }

    /// The variant running (`fp32`, `int8`, ...).
    pub fn variant(&self) -> &str {
        &self.model.variant
    }

    /// The backend running the model.
    pub fn backend(&self) -> Backend {
        self.model.backend
    }

    /// Rescales a probability so that the threshold maps to 0.5 (the policy's default).
    pub fn policy_score(&self, probability: f32) -> f32 {
        let t = self.threshold;
        let p = probability.clamp(0.0, 1.0);
        if p < t {
            0.5 * p / t
        } else {
            0.5 + 0.5 * (p - t) / (1.0 - t)
        }
    }

    fn rng(&self) -> u64 {
        self.seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            | 1
    }

    /// Runs `net` on the jobs `order` names, `batch` at a time, writing their probabilities.
    fn run_batches(
        &self,
        net: &Net,
        jobs: &[(usize, Range<usize>, Vec<i64>)],
        order: &[usize],
        probs: &mut [f32],
    ) -> Result<(), ClassifierError> {
        for chunk in order.chunks(self.batch) {
            let seqs: Vec<Vec<i64>> = chunk.iter().map(|&j| jobs[j].2.clone()).collect();
            for (&j, p) in chunk.iter().zip(self.model.run(net, &seqs)?) {
                probs[j] = p;
            }
        }
        Ok(())
    }

    /// Whether a screen model runs before the full model, and from which screen probability it
    /// sends a window on.
    pub fn screen_escalate(&self) -> Option<f32> {
        self.escalate
    }

    /// Scores one text: the most suspicious window under the budget.
    pub fn score(&self, text: &str) -> Result<Score, ClassifierError> {
        Ok(self.score_many(&[text])?.remove(0))
    }

    /// Scores many texts, running their windows together in batches.
    pub fn score_many(&self, texts: &[&str]) -> Result<Vec<Score>, ClassifierError> {
        let m = &self.model;
        let body = m.manifest.window - m.prefix.len() - m.suffix.len();
        let mut rng = self.rng();
        // (text index, byte span, token ids with specials)
        let mut jobs: Vec<(usize, Range<usize>, Vec<i64>)> = Vec::new();
        let mut counts = vec![(0usize, 0usize); texts.len()];
        for (i, text) in texts.iter().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let enc = m
                .tokenizer
                .encode(*text, false)
                .map_err(|e| ClassifierError::Tokenizer(e.to_string()))?;
            let (ids, offsets) = (enc.get_ids(), enc.get_offsets());
            if ids.is_empty() {
                continue;
            }
            let all = windows(ids.len(), body, self.stride);
            counts[i].0 = all.len();
            let kept = budget(all, self.max_windows, &mut rng);
            counts[i].1 = kept.len();
            for w in kept {
                let span = offsets[w.start].0..offsets[w.end - 1].1;
                jobs.push((i, span, m.wrap(&ids[w])));
            }
        }
        // Similar lengths together: less padding.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&j| jobs[j].2.len());
        let mut probs = vec![0f32; jobs.len()];
        let mut full = vec![true; jobs.len()];
        if let (Some((screen, _)), Some(escalate)) = (&m.screen, self.escalate) {
            self.run_batches(screen, &jobs, &order, &mut probs)?;
            for (f, &p) in full.iter_mut().zip(&probs) {
                *f = p >= escalate;
            }
            order.retain(|&j| full[j]);
        }
        self.run_batches(&m.net, &jobs, &order, &mut probs)?;
        let mut out: Vec<Score> = counts
            .iter()
            .map(|&(windows, scanned)| Score {
                probability: 0.0,
                score: 0.0,
                span: 0..0,
                windows,
                scanned,
                escalated: 0,
                second_opinion: false,
            })
            .collect();
        for (((i, span, _), p), f) in jobs.into_iter().zip(probs).zip(full) {
            out[i].escalated += usize::from(f);
            if p > out[i].probability || out[i].span.is_empty() {
                out[i].probability = p;
                out[i].span = span;
            }
        }
        for s in &mut out {
            s.score = self.policy_score(s.probability);
        }
        Ok(out)
    }
}

impl Detector for InjectionClassifier {
    fn id(&self) -> &str {
        ID
    }

    fn version(&self) -> &str {
        &self.model.manifest.version
    }

    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
        let mut best: Option<(Score, String)> = None;
        let layers: Vec<_> = input
            .text
            .layers()
            .iter()
            .filter(|l| !l.relayed() && !l.spelled())
            .take(8)
            .collect();
        let texts: Vec<&str> = layers.iter().map(|l| l.canonical().as_str()).collect();
        let scores = self
            .score_many(&texts)
            .map_err(|e| DetectorError::new(format!("injection classifier: {e}")))?;
        for (layer, mut s) in layers.iter().zip(scores) {
            if s.scanned == 0 {
                continue;
            }
            s.span = layer.canonical().to_original(s.span.clone());
            if best
                .as_ref()
                .is_none_or(|(b, _)| s.probability > b.probability)
            {
                best = Some((s, layer.describe()));
            }
        }
        let Some((mut s, where_)) = best else {
            return Ok(());
        };
        if let Some(judge) = self.second.get()
            && s.score >= self.uncertain[0]
            && s.score < self.uncertain[1]
        {
            let p = judge.judge(input.text.original(), s.probability)?;
            if !p.is_finite() {
                return Err(DetectorError::new(
                    "second opinion returned a non-finite probability",
                ));
            }
            s.probability = p.clamp(0.0, 1.0);
            s.score = self.policy_score(s.probability);
            s.second_opinion = true;
        }
        if s.score < self.report_from {
            return Ok(());
        }
        let mut message = format!(
            "injection classifier: probability {:.3} (model threshold {:.3}){where_}",
            s.probability, self.threshold
        );
        if s.second_opinion {
            message.push_str(", decided by the second opinion");
        }
        if s.scanned < s.windows {
            message.push_str(&format!(", {} of {} windows scanned", s.scanned, s.windows));
        }
        out.push(Finding::new(
            ID,
            Category::Injection,
            s.span,
            s.score,
            Action::Block,
            message,
        ));
        Ok(())
    }
}
