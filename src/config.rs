//! The TOML configuration of a [`Pipeline`](crate::Pipeline). Every field has a default, so an
//! empty file is the recommended configuration.
//!
//! ```toml
//! mode = "enforce"            # or "shadow": record what would be blocked, allow everything
//! fail_open = false           # a detector error blocks (true: allow, with a finding)
//! max_input_bytes = 4194304   # larger texts are blocked without being scanned
//!
//! [checks]                    # which detectors run on which kind of text
//! input = ["length", "unicode", "injection", "classifier", "banned", "secret", "pii"]
//! tool_result = ["length", "unicode", "injection", "classifier", "banned", "secret", "pii"]
//! output = ["length", "unicode", "banned", "secret", "pii", "leak", "exfil"]
//!
//! [normalize]
//! max_decode_depth = 3
//!
//! [length]
//! max_tokens = 8000
//!
//! [classifier]                # the local ONNX injection classifier
//! backend = "tract"           # or "onnxruntime" (cargo feature `onnxruntime`)
//! max_windows = 6
//!
//! [banned]
//! substrings = ["project nightingale"]
//! patterns = ['\bACME-\d{6}\b']
//!
//! [rules."injection"]         # a whole family ...
//! threshold = 0.5
//! action = "block"
//! [rules."unicode.bidi"]      # ... or one id
//! action = "block"
//! [rules."injection.role_spoof_weak"]
//! enabled = false
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::detect::banned::BannedConfig;
use crate::detect::injection::InjectionConfig;
use crate::detect::length::LengthConfig;
use crate::detect::pii::PiiConfig;
use crate::detect::secrets::SecretsConfig;
use crate::error::Error;
use crate::text::NormalizeConfig;
use crate::verdict::Action;

/// Enforce decisions, or only record them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Verdicts carry the decided action.
    #[default]
    Enforce,
    /// Monitor only: every verdict allows; [`crate::Verdict::shadow_action`] says what
    /// enforcement would have done.
    Shadow,
}

/// Policy for one detector id or family: its action, threshold, and whether it runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rule {
    /// The action when a finding reaches the threshold (default: the detector's own).
    pub action: Option<Action>,
    /// Findings scoring below it are kept but allowed. Default 0.5.
    pub threshold: Option<f32>,
    /// `false` drops these findings (and skips a detector whose id this names). Default `true`.
    pub enabled: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            action: None,
            threshold: None,
            enabled: true,
        }
    }
}

impl Rule {
    /// A rule that changes nothing.
    pub fn new() -> Self {
        Rule::default()
    }

    /// Sets the action.
    pub fn action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets the threshold.
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// Turns the detector or finding id off.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }
}

/// Which detectors run on each kind of text, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checks {
    /// Detectors for `check_input`.
    pub input: Vec<String>,
    /// Detectors for `check_output`.
    pub output: Vec<String>,
    /// Detectors for `check_tool_result` (documents, web pages, tool answers).
    pub tool_result: Vec<String>,
}

impl Default for Checks {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Checks {
            input: v(SCREENED),
            output: v(&[
                "length", "unicode", "banned", "secret", "pii", "leak", "exfil",
            ]),
            tool_result: v(SCREENED),
        }
    }
}

/// The detectors that screen inputs and tool results by default.
#[cfg(feature = "classifier")]
const SCREENED: &[&str] = &[
    "length",
    "unicode",
    "injection",
    "classifier",
    "banned",
    "secret",
    "pii",
];
#[cfg(not(feature = "classifier"))]
const SCREENED: &[&str] = &["length", "unicode", "injection", "banned", "secret", "pii"];

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Enforce or shadow. Default `enforce`.
    pub mode: Mode,
    /// A detector that fails at check time allows (with a finding) instead of blocking.
    /// Default `false` (fail closed).
    pub fail_open: bool,
    /// Texts longer than this are blocked before any normalization. Default 4 MiB.
    pub max_input_bytes: usize,
    /// Which detectors run where.
    pub checks: Checks,
    /// The normalization stage.
    pub normalize: NormalizeConfig,
    /// `length` limits.
    pub length: LengthConfig,
    /// `injection` heuristics.
    pub injection: InjectionConfig,
    /// The local ONNX injection `classifier` (cargo feature `classifier`, on by default).
    #[cfg(feature = "classifier")]
    pub classifier: crate::detect::injection::classifier::ClassifierConfig,
    /// `banned` substrings and patterns.
    pub banned: BannedConfig,
    /// `secret` rules, allowlists and redaction.
    pub secrets: SecretsConfig,
    /// `pii` recognizers, lists, operators and the pseudonym vault.
    pub pii: PiiConfig,
    /// Answers: limits, `leak` (canaries, system prompts), `exfil` links, streaming.
    pub output: crate::output::OutputConfig,
    /// Per-id and per-family policy (`"injection"`, `"unicode.bidi"`, ...).
    pub rules: BTreeMap<String, Rule>,
    /// The tool policy file (TOML, see [`ToolPolicy`](crate::tools::ToolPolicy)); a relative
    /// path is read from the configuration file's folder. Without it every tool call is denied.
    pub tool_policy: Option<std::path::PathBuf>,
    /// The tamper-evident audit log.
    pub audit: crate::audit::AuditConfig,
    /// Alert rules.
    pub monitor: crate::monitor::MonitorConfig,
    /// The kill switch's shared state file.
    pub kill_switch: crate::monitor::KillSwitchConfig,
    /// The folder of the configuration file, for relative paths.
    #[serde(skip)]
    pub base_dir: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Enforce,
            fail_open: false,
            max_input_bytes: 4 << 20,
            checks: Checks::default(),
            normalize: NormalizeConfig::default(),
            length: LengthConfig::default(),
            injection: InjectionConfig::default(),
            #[cfg(feature = "classifier")]
            classifier: Default::default(),
            banned: BannedConfig::default(),
            secrets: SecretsConfig::default(),
            pii: PiiConfig::default(),
            output: Default::default(),
            rules: BTreeMap::new(),
            tool_policy: None,
            audit: crate::audit::AuditConfig::default(),
            monitor: crate::monitor::MonitorConfig::default(),
            kill_switch: crate::monitor::KillSwitchConfig::default(),
            base_dir: None,
        }
    }
}

/// The detector ids a configuration can name in `[checks]`.
pub const KNOWN_DETECTORS: &[&str] = &[
    "length",
    "unicode",
    "injection",
    "classifier",
    "banned",
    "secret",
    "pii",
    "leak",
    "exfil",
];

impl Config {
    /// Parses a TOML string; `file` names it in errors.
    pub fn from_toml(source: &str, file: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(source).map_err(|e| toml_error(file, source, &e))?;
        config.validate(file, source)?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_toml(&source, &path.display().to_string())?;
        config.base_dir = path.parent().map(Path::to_path_buf);
        Ok(config)
    }

    /// Checks what serde cannot: known detector ids, id syntax, thresholds, limits.
    pub fn validate(&self, file: &str, source: &str) -> Result<(), Error> {
        let err = |field: String, needle: &str, message: String| Error::Config {
            file: file.to_owned(),
            line: line_of(source, needle),
            field,
            message,
        };
        for (kind, list) in [
            ("input", &self.checks.input),
            ("output", &self.checks.output),
            ("tool_result", &self.checks.tool_result),
        ] {
            for (i, d) in list.iter().enumerate() {
                if d == "classifier" && !cfg!(feature = "classifier") {
                    return Err(err(
                        format!("checks.{kind}[{i}]"),
                        d,
                        "palisade was built without the cargo feature `classifier`".into(),
                    ));
                }
                if !KNOWN_DETECTORS.contains(&d.as_str()) {
                    return Err(err(
                        format!("checks.{kind}[{i}]"),
                        d,
                        format!(
                            "unknown detector {d:?}; known: {}",
                            KNOWN_DETECTORS.join(", ")
                        ),
                    ));
                }
            }
        }
        for (id, rule) in &self.rules {
            if !valid_id(id) {
                return Err(err(
                    format!("rules.{id:?}"),
                    id,
                    "ids are `family` or `family.name`: lowercase letters, digits, `_` and `-`"
                        .into(),
                ));
            }
            if let Some(t) = rule.threshold
                && !(0.0..=1.0).contains(&t)
            {
                return Err(err(
                    format!("rules.{id:?}.threshold"),
                    id,
                    format!("{t} is outside 0..=1"),
                ));
            }
        }
        if self.max_input_bytes == 0 || self.max_input_bytes > u32::MAX as usize / 2 {
            return Err(err(
                "max_input_bytes".into(),
                "max_input_bytes",
                format!(
                    "{} must be between 1 and {}",
                    self.max_input_bytes,
                    u32::MAX / 2
                ),
            ));
        }
        if let Err((field, message)) = self.audit.check() {
            return Err(err(format!("audit.{field}"), field, message));
        }
        crate::monitor::Alerts::new(&self.monitor.alerts, file)?;
        crate::tools::policy::parse_duration(&self.kill_switch.poll)
            .map_err(|m| err("kill_switch.poll".into(), "poll", m))?;
        if let Err(Error::Config { field, message, .. }) = self.output.stream.validate() {
            let needle = field.rsplit('.').next().unwrap_or_default().to_owned();
            return Err(err(field, &needle, message));
        }
        if self.normalize.max_decode_depth > 8 {
            return Err(err(
                "normalize.max_decode_depth".into(),
                "max_decode_depth",
                "at most 8".into(),
            ));
        }
        Ok(())
    }
}

/// Parses a duration as configuration files write them: `500ms`, `30s`, `10m`, `1h`, `7d`
/// (at most 366 days).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(palisade::config::parse_duration("10m"), Ok(Duration::from_secs(600)));
/// assert!(palisade::config::parse_duration("10").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::tools::policy::parse_duration(s).map(std::time::Duration::from_millis)
}

/// Whether `id` is `family` or `family.name`.
pub fn valid_id(id: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    match id.split_once('.') {
        Some((f, n)) => ok(f) && ok(n),
        None => ok(id),
    }
}

pub(crate) fn line_of(source: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    source
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
}

/// A file of `[[rule]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile<T> {
    #[serde(default = "Vec::new")]
    rule: Vec<T>,
}

/// Parses a file of detector rules (`[[rule]]` tables). Every rule's id (given by `id`) must be
/// `<family>.<name>`; `check` validates the rest and names the failing field.
pub(crate) fn parse_rule_file<T: serde::de::DeserializeOwned>(
    source: &str,
    file: &str,
    family: &str,
    id: impl Fn(&T) -> &str,
    check: impl Fn(&T) -> Result<(), (&'static str, String)>,
) -> Result<Vec<T>, Error> {
    let parsed: RuleFile<T> = toml::from_str(source).map_err(|e| toml_error(file, source, &e))?;
    let bad = |i: usize, field: &str, message: String| Error::Config {
        file: file.into(),
        line: None,
        field: format!("rule[{i}].{field}"),
        message,
    };
    for (i, r) in parsed.rule.iter().enumerate() {
        let rule_id = id(r);
        let name = rule_id
            .strip_prefix(family)
            .and_then(|r| r.strip_prefix('.'));
        if name.is_none_or(str::is_empty) {
            return Err(bad(
                i,
                "id",
                format!("{rule_id:?} must be `{family}.<name>`"),
            ));
        }
        check(r).map_err(|(field, message)| bad(i, field, message))?;
    }
    Ok(parsed.rule)
}

/// Turns a TOML parse error into [`Error::Config`] with the line and the key at that line.
pub(crate) fn toml_error(file: &str, source: &str, e: &toml::de::Error) -> Error {
    let (line, field) = match e.span() {
        Some(span) => {
            let at = span.start.min(source.len());
            let line = source[..at].matches('\n').count() + 1;
            let text = source.lines().nth(line - 1).unwrap_or("");
            let key = text
                .split_once('=')
                .map(|(k, _)| k.trim().to_owned())
                .unwrap_or_else(|| text.trim().to_owned());
            (Some(line), key)
        }
        None => (None, String::new()),
    };
    Error::Config {
        file: file.to_owned(),
        line,
        field: if field.is_empty() {
            "(document)".into()
        } else {
            field
        },
        message: e.message().trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(Config::from_toml("", "x").unwrap(), Config::default());
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let e = Config::from_toml("mode = \"enforce\"\n[length]\nmax_byts = 3\n", "p.toml")
            .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("p.toml:3: max_byts:"), "{s}");
        assert!(s.contains("unknown field"), "{s}");
    }

    #[test]
    fn bad_threshold_is_rejected() {
        let e = Config::from_toml("[rules.injection]\nthreshold = 1.5\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("outside 0..=1"), "{e}");
    }

    #[test]
    fn unknown_detector_is_rejected() {
        let e = Config::from_toml("[checks]\ninput = [\"nope\"]\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("checks.input[0]"), "{e}");
    }
}
