//! mavuno-pipeline: the engine.
//!
//! A TOML config describes a DAG of stages. [`config::load`] turns it into a validated
//! [`config::Plan`] (every error collected, each naming its key); [`run::execute`] runs
//! the plan as threads joined by bounded channels, accounts for every record, checkpoints
//! outputs under content keys and resumes after a crash. Stage types live in
//! `mavuno-stages` and are registered into a [`registry::Registry`].
//!
//! This crate never depends on tch or polars.
#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod dropped;
pub mod emitter;
pub mod error;
pub mod global;
pub mod io;
pub mod progress;
pub mod read_ahead;
pub mod record;
pub mod record_json;
pub mod registry;
pub mod run;
pub mod stage;
pub mod sweep;

pub use dropped::DropDetail;
pub use emitter::{Counts, Emitter, Outcome};
pub use error::{DataError, RunError, StageError};
pub use progress::ReadMeter;
pub use record::{Batch, Provenance, Record, Span};
pub use registry::Registry;
pub use schemars;
pub use stage::{BuildContext, Source, Stage, StageConfig, StageImpl, StageKind};
