//! The stage traits: what a stage type is (config + validation + build) and what it does
//! at run time (process batches, then finish).
//!
//! A stage type is a config struct that implements [`StageConfig`]; `build` turns a
//! validated config into a runtime object, either a [`Source`] (a reader: no inputs) or a
//! [`Stage`] (everything else, including writers and barrier stages).

use crate::config::Validator;
use crate::emitter::Emitter;
use crate::error::StageError;
use crate::global::{GlobalPhase, ReduceContext};
use crate::record::Batch;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// How a stage consumes its input; decides checkpointing defaults and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Reads files; has no inputs.
    Source,
    /// Maps, filters or annotates records batch by batch.
    Streaming,
    /// Needs all of its input before it can emit (near-dup clustering, ordering,
    /// training). Spills to disk rather than holding a corpus in memory.
    Barrier,
    /// Writes files; passes its records through unchanged.
    Sink,
}

/// A runtime stage that processes batches in input order.
pub trait Stage: Send {
    /// Called once per input batch, in input order. Every record must leave through the
    /// emitter (keep, keep_many, drop or reject). `Err` stops the run.
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError>;

    /// Called once after the last batch. Barrier stages emit here.
    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        Ok(())
    }

    /// Files this stage wrote, for the manifest (writers). Called after `finish`.
    fn outputs(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// A runtime reader.
pub trait Source: Send {
    /// Reads every input and emits records (keep) or bad input (reject_raw). Must call
    /// [`Emitter::take_next`] once per record before parsing it: it skips other shards'
    /// records under record-level sharding and counts the record in, so the runner can
    /// check that every record taken was kept, dropped or rejected.
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError>;
}

/// What `build` returns.
pub enum StageImpl {
    /// A reader.
    Source(Box<dyn Source>),
    /// Any other stage.
    Stage(Box<dyn Stage>),
}

/// How `--shard i/n` splits the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index, from 0.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
    /// Split whole files (when a reader has at least `count` files) instead of records.
    pub by_file: bool,
}

/// What a stage's `build` may use.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The stage id (its table key in the config).
    pub stage_id: String,
    /// The run's seed; stages that draw random numbers derive their RNG from it.
    pub seed: u64,
    /// Records per batch.
    pub batch_size: usize,
    /// The run directory: writers resolve relative output paths against it.
    pub run_dir: PathBuf,
    /// A scratch directory for this stage's spills; emptied before the stage runs.
    pub scratch_dir: PathBuf,
    /// The shard this run processes, if any.
    pub shard: Option<Shard>,
    /// For a global stage in a sharded run: its phase (map or apply). `None` in a single
    /// run, where the stage decides on its own.
    pub global: Option<GlobalPhase>,
}

impl BuildContext {
    /// A context for unit tests: everything under `dir`.
    pub fn for_tests(dir: &Path) -> BuildContext {
        BuildContext {
            stage_id: "test".into(),
            seed: 13,
            batch_size: 3,
            run_dir: dir.to_path_buf(),
            scratch_dir: dir.join("scratch"),
            shard: None,
            global: None,
        }
    }

    /// Resolves a writer's output path: relative paths go under the run directory.
    pub fn output_path(&self, p: &str) -> PathBuf {
        crate::io::resolve_output(&self.run_dir, p)
    }

    /// The files of a reader that this shard reads. With file-level sharding (and at
    /// least as many files as shards), file k goes to shard k mod n; otherwise every
    /// file is read and records are split by position (see [`Emitter::take_next`]).
    pub fn shard_files(&self, files: Vec<PathBuf>) -> Vec<PathBuf> {
        match self.shard {
            Some(s) if s.by_file && files.len() as u64 >= s.count => files
                .into_iter()
                .enumerate()
                .filter(|(k, _)| *k as u64 % s.count == s.index)
                .map(|(_, f)| f)
                .collect(),
            _ => files,
        }
    }

    /// Whether readers must split records (rather than files) between shards.
    pub fn record_shard(&self, n_files: usize) -> Option<(u64, u64)> {
        match self.shard {
            Some(s) if !(s.by_file && n_files as u64 >= s.count) => Some((s.index, s.count)),
            _ => None,
        }
    }
}

/// A stage type. Implemented by each stage's config struct; see the crate docs of
/// `mavuno-stages` for the file layout.
pub trait StageConfig:
    DeserializeOwned + Serialize + JsonSchema + Debug + Send + Sync + 'static
{
    /// The `type = "…"` name in configs.
    const TYPE: &'static str;
    /// How the stage consumes input.
    const KIND: StageKind;

    /// Pure checks, no I/O. Report problems with `v.error(field, message)`.
    fn validate(&self, _v: &mut Validator) {}

    /// Files the stage reads besides its inputs (models, dictionaries, reader globs):
    /// their sizes and modification times go into the stage's cache key.
    fn input_files(&self) -> Vec<String> {
        Vec::new()
    }

    /// Builds the runtime object. May load models and open files.
    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError>;

    /// Whether the stage needs the whole corpus to decide, so that a sharded run runs it
    /// in three phases (map, `mavuno reduce`, apply; see [`crate::global`]). Such a stage
    /// must honour [`BuildContext::global`] and implement [`StageConfig::reduce`].
    fn global(&self) -> bool {
        false
    }

    /// Whether the reduce of this global stage has two steps: its band-range tasks write
    /// candidate pairs, and a cluster step (`ReduceContext::cluster`) run after all of
    /// them writes the decisions (with one range the task clusters at once).
    fn reduce_clusters(&self) -> bool {
        false
    }

    /// For a global stage that orders the corpus (`order_curriculum`): the record field
    /// holding each record's global rank (0, 1, … in the single run's output order). Each
    /// shard emits its records in rank order, and `mavuno reduce --merge` merges the
    /// shards' JSON-lines outputs by this field into the single run's file. `None` for
    /// stages whose shard outputs are merely unioned (dedup).
    fn rank_field(&self) -> Option<&'static str> {
        None
    }

    /// The reduce of a global stage: reads every shard's map file, decides with the same
    /// rule as a single run, writes each shard's decisions for `ctx.range` and returns
    /// statistics for the completion marker.
    fn reduce(&self, _ctx: &ReduceContext) -> Result<serde_json::Value, StageError> {
        Err(StageError::msg(format!(
            "stage type {} is not a global stage: it has no reduce",
            Self::TYPE
        )))
    }
}
