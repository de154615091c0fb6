//! Construction errors. Checks never fail; building a pipeline can.

use std::path::PathBuf;

/// Why a pipeline, a configuration or a detector could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is malformed or names something invalid.
    #[error("{file}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        /// The file (or `<config>` for a string).
        file: String,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// The field, as a dotted path (`banned.patterns[2]`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The audit log could not be opened or written.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The kill switch's state file could not be read.
    #[error(transparent)]
    Kill(#[from] crate::monitor::KillError),
    /// The injection classifier's model could not be loaded.
    #[cfg(feature = "classifier")]
    #[error(transparent)]
    Classifier(#[from] crate::detect::injection::classifier::ClassifierError),
    /// A pattern or phrase a detector was given cannot be compiled within limits.
    #[error("detector {detector}: {message}")]
    Detector {
        /// The detector id.
        detector: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn detector(detector: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Detector {
            detector: detector.into(),
            message: message.into(),
        }
    }
}

/// A detector's failure at check time. The pipeline turns it into a `Block` (fail closed) or,
/// where configured, an `Allow` with a finding (fail open).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DetectorError {
    /// What went wrong.
    pub message: String,
}

impl DetectorError {
    /// A detector error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        DetectorError {
            message: message.into(),
        }
    }
}
