//! Errors of the engine and of stages.
//!
//! `StageError` is what a stage returns when it cannot go on: the run stops and the
//! message names the stage. Bad *records* are not errors: stages reject them through the
//! [`crate::Emitter`] and the run continues. A [`DataError`] names file, line and field so
//! that a user can open the file at the right place.

use std::fmt;
use std::path::PathBuf;

/// A problem with one input record: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// Input file.
    pub file: String,
    /// 1-based line (or row) of the record; 0 when the whole file is at fault.
    pub line: u64,
    /// The field or column at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, as a sentence fragment (`invalid UTF-8 at byte 17`).
    pub message: String,
}

impl DataError {
    /// A data error at a file and line.
    pub fn new(file: impl Into<String>, line: u64, message: impl Into<String>) -> DataError {
        DataError {
            file: file.into(),
            line,
            field: None,
            message: message.into(),
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> DataError {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.file, self.line)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

/// A fatal stage error: the run stops.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Bad input under `on_error = "fail"`.
    #[error("{0}")]
    Data(#[from] DataError),
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error from a library, with what was being done; `source()` is the error itself.
    #[error("{context}: {source}")]
    Context {
        /// What was being done, e.g. `writing report.json`.
        context: String,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Message(String),
    /// The run was stopped because another stage failed.
    #[error("cancelled because another stage failed")]
    Cancelled,
}

impl StageError {
    /// An I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StageError {
        StageError::Io {
            path: path.into(),
            source,
        }
    }

    /// A library error with context; keeps the error as the source.
    pub fn context(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StageError {
        StageError::Context {
            context: context.into(),
            source: source.into(),
        }
    }

    /// A free-form message.
    pub fn msg(m: impl Into<String>) -> StageError {
        StageError::Message(m.into())
    }
}

/// Errors of a whole run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config did not validate; every problem is listed.
    #[error("{}", .0.iter().map(|e| format!("error: {e}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<crate::config::ConfigError>),
    /// A stage failed.
    #[error("stage `{stage}` failed: {source}")]
    Stage {
        /// Stage id.
        stage: String,
        /// Why.
        source: StageError,
    },
    /// A stage lost records: an engine invariant broke.
    #[error("stage `{stage}`: accounting does not balance: in={records_in} kept={kept} dropped={dropped} rejected={rejected}")]
    Accounting {
        /// Stage id.
        stage: String,
        /// Records that entered.
        records_in: u64,
        /// Kept.
        kept: u64,
        /// Dropped with a reason.
        dropped: u64,
        /// Rejected.
        rejected: u64,
    },
    /// An edge delivered a different number of records than its producer emitted: an
    /// engine invariant broke.
    #[error("edge `{from}` -> `{to}`: {sent} records sent, {received} received")]
    Edge {
        /// Producer stage id.
        from: String,
        /// Consumer stage id (`(checkpoint)` for the producer's checkpoint file).
        to: String,
        /// Records the producer emitted.
        sent: u64,
        /// Records the consumer received.
        received: u64,
    },
    /// Another run holds the run directory.
    #[error("{}: run directory is in use (pid {pid})", dir.display())]
    InUse {
        /// The run directory.
        dir: PathBuf,
        /// The process that holds it.
        pid: u32,
    },
    /// An I/O error in the run directory.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
}

impl RunError {
    /// Exit code for the CLI: 2 for config errors, 1 for failed runs.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) => 2,
            _ => 1,
        }
    }
}
