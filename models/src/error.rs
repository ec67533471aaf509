//! `ModelError`: the one error type of the models crate (STYLE.md, "Naming": one thiserror
//! enum per library crate; `anyhow` only in the binary and tests).

use std::path::PathBuf;

/// Everything that can go wrong while building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A libtorch call failed (shape error, out of memory, bad device, ...).
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),

    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file or directory could not be written (or renamed into place).
    #[error("cannot write {path}")]
    Write {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Training data, a tokenizer or a training option is unusable (the message says which).
    #[error("{0}")]
    Data(String),

    /// A `config.json` did not parse.
    #[error("cannot parse model config {path}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A config parsed but describes an impossible model.
    #[error("invalid model config: {0}")]
    InvalidConfig(String),

    /// The checkpoint lacks tensors that the model needs.
    #[error("checkpoint {path} lacks {} tensor(s): {}", missing.len(), missing.join(", "))]
    MissingTensors {
        /// The checkpoint file.
        path: PathBuf,
        /// Model parameter names not found in it (after prefix stripping).
        missing: Vec<String>,
    },

    /// A checkpoint tensor has a different shape than the model parameter of the same name.
    #[error("shape mismatch for {name}: model has {expected:?}, checkpoint has {found:?}")]
    ShapeMismatch {
        /// Parameter name.
        name: String,
        /// Shape the model expects.
        expected: Vec<i64>,
        /// Shape found in the checkpoint.
        found: Vec<i64>,
    },

    /// The device string is not one of `auto`, `cpu`, `cuda`, `cuda:N`.
    #[error("unknown device {0:?} (expected auto, cpu, cuda or cuda:N)")]
    UnknownDevice(String),

    /// CUDA was asked for explicitly but libtorch sees no (such) GPU.
    #[error("device {requested:?} requested but libtorch sees {available} CUDA device(s)")]
    CudaUnavailable {
        /// The device string that was asked for.
        requested: String,
        /// How many CUDA devices libtorch sees.
        available: i64,
    },

    /// A tokenizer could not be loaded or failed to encode (fine-tuning, evaluation).
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
}
