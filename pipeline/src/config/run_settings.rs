//! The `[run]` table: settings that apply to the whole run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When stage outputs are checkpointed to the run directory for resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Checkpoint {
    /// Barrier stages (dedup clustering, ordering, training) and writers. Streaming stages
    /// between them are cheap to recompute.
    Barriers,
    /// Every stage.
    All,
    /// Only writers (their completed outputs are still skipped on rerun).
    None,
}

/// `[run]`: the run's name, seed and execution settings.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RunSettings {
    /// Run name: the run directory is `<workdir>/<name>`.
    pub name: String,
    /// Seed for every random choice in the run.
    pub seed: u64,
    /// Records per batch between stages (1 to 1000000). Outputs do not depend on it.
    pub batch_size: usize,
    /// Worker threads for data-parallel work inside stages; 0 = all cores. Outputs do not depend on it.
    pub threads: usize,
    /// Directory that holds run directories.
    pub workdir: String,
    /// Batches buffered on each edge between stages (back-pressure bound), 1 to 1024.
    pub channel_capacity: usize,
    /// Which stage outputs are checkpointed for resume.
    pub checkpoint: Checkpoint,
    /// How `--shard i/n` splits inputs: `file` (whole files, when a reader has at least n files) or `record`.
    pub shard_by: ShardBy,
    /// Dropped records written to `<run>/dropped/<stage>.jsonl.zst`: `sample` (a seeded
    /// sample of `dropped_per_reason` per stage and reason), `all` or `none`.
    pub keep_dropped: crate::dropped::KeepDropped,
    /// Records kept per stage and drop reason when `keep_dropped = "sample"` (0 to 100000).
    pub dropped_per_reason: usize,
}

/// How shards split their input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShardBy {
    /// Whole files round-robin (file k to shard k mod n); records when there are fewer files than shards.
    File,
    /// Records round-robin by position.
    Record,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            name: "run".into(),
            seed: 13,
            batch_size: 256,
            threads: 0,
            workdir: "runs".into(),
            channel_capacity: 4,
            checkpoint: Checkpoint::Barriers,
            shard_by: ShardBy::File,
            keep_dropped: crate::dropped::KeepDropped::Sample,
            dropped_per_reason: 200,
        }
    }
}
