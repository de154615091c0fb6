//! Output filtering: what the model says, checked before the user (or a renderer) sees it.
//!
//! `check_output` runs the detectors named in `checks.output`: by default `length` (with the
//! answer limits of `[output]`), `unicode`, `banned`, `secret` and `pii` (redacting, and
//! putting this session's pseudonymized values back where the model wrote placeholders), plus
//! the two detectors of this module:
//!
//! - [`Leak`] (`leak.canary`, `leak.system_prompt`): a [`Canary`] planted in the system prompt,
//!   found verbatim, with separators, in another case or encoded; and runs of words shared
//!   with a registered system prompt (whitespace, case and punctuation changes do not hide
//!   them). Default action `block`.
//! - [`Exfil`] (`exfil.image`, `exfil.link`): markdown images and links, reference-style
//!   definitions, HTML `src`/`href`/`srcset`, CSS `url()`, autolinks and bare URLs whose host
//!   is not in `allowed_hosts` and whose query, fragment, path or subdomain labels carry data.
//!   Default action `redact` (the URL is replaced).
//!
//! [`OutputStream`] applies the same checks to an answer as it streams: it releases what is
//! safe and holds back only what could still become a finding.
//!
//! ```
//! use palisade::{Context, Guard, Pipeline};
//!
//! let guard = Pipeline::recommended();
//! let system = guard.protect_system_prompt("You are Ada, the support agent of Example Corp. Answer billing questions only.")?;
//! // `system` (the prompt with a canary planted) is what the model gets.
//! let ctx = Context::new().session("s-1");
//! let leaked = format!("Of course, here it is: {system}");
//! assert!(guard.check_output(&ctx, &leaked).is_blocked());
//! let v = guard.check_output(&ctx, "Your invoice is attached. Mail me at ana@example.com.");
//! assert_eq!(v.text(), "Your invoice is attached. Mail me at <EMAIL_1>.");
//! # Ok::<(), palisade::Error>(())
//! ```

mod exfil;
mod leak;
mod stream;

use serde::{Deserialize, Serialize};

pub use exfil::Exfil;
pub use leak::{Canary, Leak};
pub use stream::{Blocked, OutputStream, StreamEnd};

use crate::error::Error;

/// `[output]` settings: answer limits, system-prompt leaks, exfiltration links, streaming.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Most characters of an answer (`length.chars`). Default: `[length].max_chars`.
    pub max_chars: Option<usize>,
    /// Most estimated tokens of an answer (`length.tokens`). Default: `[length].max_tokens`.
    pub max_tokens: Option<usize>,
    /// Canary tokens planted in system prompts (at least 12 ASCII letters and digits each;
    /// [`Canary::generate`] makes good ones). More can be added at run time
    /// ([`Pipeline::protect_system_prompt`](crate::Pipeline::protect_system_prompt)).
    pub canaries: Vec<String>,
    /// System prompts whose text must not show up in answers (at least 3 words each).
    pub system_prompts: Vec<String>,
    /// Consecutive words an answer shares with a system prompt before it counts as a leak
    /// (all of the prompt when it is shorter). Default 12.
    pub min_leak_words: usize,
    /// Hosts answers may link and embed with data (`example.com`, `*.example.com`, an IP).
    /// Default: none.
    pub allowed_hosts: Vec<String>,
    /// Streaming (see [`OutputStream`]).
    pub stream: StreamConfig,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            max_chars: None,
            max_tokens: None,
            canaries: Vec::new(),
            system_prompts: Vec::new(),
            min_leak_words: 12,
            allowed_hosts: Vec::new(),
            stream: StreamConfig::default(),
        }
    }
}

/// `[output.stream]` settings of [`OutputStream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// Bytes always held back at the end of the stream, so a finding split across chunks
    /// (a card number, a phone number with spaces) is seen whole before anything of it is
    /// released. Default 64.
    pub lookahead: usize,
    /// Most bytes ever held back. A longer run that could still be a finding (a token without
    /// spaces, an unfinished private key) is redacted as `[REDACTED:stream.withheld]` rather
    /// than making the user wait. Default 1024.
    pub max_holdback: usize,
    /// New bytes between two checks of the held text. Default 128.
    pub check_every: usize,
    /// Bytes of already-released text kept as context for the next check (context words
    /// before a value, the `![` of an image). Default 128.
    pub context: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            lookahead: 64,
            max_holdback: 1024,
            check_every: 128,
            context: 128,
        }
    }
}

impl StreamConfig {
    /// Checks the settings fit together.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &str, message: &str| {
            Err(Error::Config {
                file: "<config>".into(),
                line: None,
                field: format!("output.stream.{field}"),
                message: message.into(),
            })
        };
        if self.lookahead < 16 {
            return bad("lookahead", "at least 16 bytes");
        }
        if self.max_holdback > 1 << 20 {
            return bad("max_holdback", "at most 1 MiB");
        }
        if self.max_holdback < 2 * self.lookahead {
            return bad("max_holdback", "at least twice the lookahead");
        }
        if self.check_every == 0 || self.check_every > self.max_holdback / 2 {
            return bad("check_every", "between 1 and half of max_holdback");
        }
        if self.context > 4096 {
            return bad("context", "at most 4096 bytes");
        }
        Ok(())
    }
}
