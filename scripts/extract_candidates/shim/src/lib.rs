//! The one item of `mavuno-pipeline` that stages/src/web/records.rs uses, so that this
//! standalone crate can include mavuno's web modules without building the workspace.

/// An I/O error on a named path.
#[derive(Debug)]
pub enum StageError {
    /// The path and the error.
    Io(std::path::PathBuf, std::io::Error),
}

impl StageError {
    /// An I/O error with its path.
    pub fn io(p: impl Into<std::path::PathBuf>, e: std::io::Error) -> Self {
        StageError::Io(p.into(), e)
    }
}
