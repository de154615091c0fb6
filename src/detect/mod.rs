//! Detectors: small independent checks that report [`Finding`]s and never decide the outcome.
//!
//! Each detector has a stable id (`family.name`); the findings it reports use ids of its family
//! (the injection heuristics report `injection.override`, `injection.template_token`, ...), so
//! the policy can address a whole family or one id. Implement [`Detector`] to plug in your own.
//!
//! ```
//! use palisade::detect::{Detector, Input};
//! use palisade::{Action, Category, DetectorError, Finding};
//!
//! /// Flags the word "tomato" (case-insensitively, through every normalization).
//! struct Tomato;
//!
//! impl Detector for Tomato {
//!     fn id(&self) -> &str { "custom.tomato" }
//!     fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError> {
//!         for layer in input.text.layers() {
//!             let view = layer.folded();
//!             if let Some(at) = view.as_str().find("tomato") {
//!                 let span = view.to_original(at..at + 6);
//!                 out.push(Finding::new("custom.tomato", Category::Custom, span, 1.0,
//!                                       Action::Block, "tomato"));
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let guard = palisade::Pipeline::builder().input(Tomato).build().unwrap();
//! let ctx = palisade::Context::new();
//! use palisade::Guard;
//! assert!(guard.check_input(&ctx, "I like T O M A T O soup").is_blocked());
//! ```

pub mod banned;
pub mod injection;
pub mod length;
pub(crate) mod literals;
pub(crate) mod matcher;
pub mod pii;
pub mod secrets;
pub mod unicode;

use crate::context::Context;
use crate::error::DetectorError;
use crate::text::Text;
use crate::verdict::{CheckKind, Finding};

/// What a detector reads: the normalized text, the kind of check and the caller's context.
pub struct Input<'a> {
    /// The normalized text (original, layers and views).
    pub text: &'a Text<'a>,
    /// Which check runs.
    pub kind: CheckKind,
    /// The caller's context.
    pub context: &'a Context,
    /// Set while an output stream checks a window: detectors with side effects (the PII
    /// pseudonyms) defer them to the release of the text.
    pub(crate) deferred: Option<&'a Deferred>,
}

/// What a detector leaves for the stream to settle when it releases text.
#[derive(Default)]
pub(crate) struct Deferred {
    pub(crate) pii: std::cell::RefCell<Vec<pii::DeferredPii>>,
}

/// One detector of the pipeline.
pub trait Detector: Send + Sync {
    /// The stable id, `family.name` or just `family` (`unicode`, `injection.heuristics`, ...).
    fn id(&self) -> &str;

    /// The version of the detector's logic, rules or model, recorded in the audit log's
    /// `config_loaded` event. Default: palisade's version.
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Appends what it finds in `input` to `out`.
    ///
    /// Spans must be byte ranges of the original text (`input.text.original()`), on `char`
    /// boundaries; map view ranges with [`crate::text::View::to_original`]. An `Err` means the
    /// detector could not judge (model failure, limit exceeded): the pipeline then fails closed.
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) -> Result<(), DetectorError>;
}
