//! Content keys and checkpoint files, the basis of resume.
//!
//! A stage's key hashes the tool version, its type and config (defaults filled in), the
//! run seed, the shard, its inputs' keys, and the size and mtime of files it names. Batch
//! size and thread count are left out on purpose: outputs do not depend on them. A stage
//! is complete when `<key>.done.json` exists; it is written last, after every output was
//! renamed into place, so a run killed at any point leaves no false "complete".

use crate::emitter::Counts;
use crate::error::StageError;
use crate::record::Record;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The tool version that goes into every key.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One output file of a stage, as recorded in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutputFile {
    /// Path as written.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// xxh3-128 of the content.
    pub xxh3: String,
}

/// What the manifest says about one stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    /// Stage id.
    pub id: String,
    /// Stage type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Content key.
    pub key: String,
    /// `ran`, `cached` (complete from an earlier run) or `replayed` (its checkpoint fed a stage that ran).
    pub status: String,
    /// Record accounting.
    pub counts: Counts,
    /// Seconds spent in the stage's own code.
    pub busy_seconds: f64,
    /// Seconds spent blocked on a full downstream channel (back-pressure).
    pub blocked_seconds: f64,
    /// Files written.
    pub outputs: Vec<OutputFile>,
}

/// Paths of a stage's checkpoint files.
#[derive(Clone, Debug)]
pub struct CachePaths {
    /// `<key>.records.jsonl.zst`: the records the stage emitted.
    pub records: PathBuf,
    /// `<key>.rejects.jsonl`: what the stage rejected.
    pub rejects: PathBuf,
    /// `<key>.done.json`: the completion marker with the stage report.
    pub done: PathBuf,
}

impl CachePaths {
    /// The paths for a stage and key under a run directory.
    pub fn new(run_dir: &Path, id: &str, key: &str) -> CachePaths {
        let d = run_dir.join(".cache").join(id);
        CachePaths {
            records: d.join(format!("{key}.records.jsonl.zst")),
            rejects: d.join(format!("{key}.rejects.jsonl")),
            done: d.join(format!("{key}.done.json")),
        }
    }

    /// The stage report of a completed stage, if the marker exists and parses, and every
    /// output it lists still has its recorded size.
    pub fn completed(&self) -> Option<StageReport> {
        let bytes = std::fs::read(&self.done).ok()?;
        let rep: StageReport = serde_json::from_slice(&bytes).ok()?;
        for o in &rep.outputs {
            if std::fs::metadata(&o.path).map(|m| m.len()).ok()? != o.bytes {
                return None;
            }
        }
        Some(rep)
    }
}

/// Computes a stage key.
pub fn stage_key(
    type_name: &str,
    config: &serde_json::Value,
    seed: u64,
    shard: Option<(u64, u64)>,
    input_keys: &[String],
    files: &[String],
) -> String {
    let v = json!({
        "mavuno": TOOL_VERSION,
        "type": type_name,
        "config": config,
        "seed": seed,
        "shard": shard,
        "inputs": input_keys,
        "files": fingerprint(files),
    });
    let bytes = serde_json::to_vec(&v).unwrap_or_default();
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
}

/// Size and mtime of every file matched by the patterns; missing ones are noted as such.
fn fingerprint(patterns: &[String]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for p in patterns {
        let matches: Vec<PathBuf> = glob::glob(p)
            .map(|g| g.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if matches.is_empty() {
            out.push(json!([p, "missing"]));
        }
        for m in matches {
            match std::fs::metadata(&m) {
                Ok(md) => {
                    let mtime = md
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_nanos() as u64);
                    out.push(json!([m.display().to_string(), md.len(), mtime]));
                }
                Err(_) => out.push(json!([m.display().to_string(), "missing"])),
            }
        }
    }
    out
}

/// Writes records as zstd-compressed JSON lines (checkpoints and spills).
pub struct RecordFileWriter<W: Write> {
    enc: zstd::stream::write::Encoder<'static, W>,
}

impl<W: Write> RecordFileWriter<W> {
    /// Wraps a writer.
    pub fn new(w: W) -> std::io::Result<Self> {
        Ok(RecordFileWriter {
            enc: zstd::stream::write::Encoder::new(w, 1)?,
        })
    }

    /// Appends one record.
    pub fn write(&mut self, r: &Record) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.enc, r)?;
        self.enc.write_all(b"\n")
    }

    /// Finishes the zstd frame and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.enc.finish()
    }
}

/// Reads records back from a file written by [`RecordFileWriter`], calling `f` per batch.
pub fn read_record_file(
    path: &Path,
    batch_size: usize,
    mut f: impl FnMut(Vec<Record>) -> bool,
) -> Result<(), StageError> {
    let r = crate::io::open_read(path)?;
    let mut batch = Vec::with_capacity(batch_size);
    for (i, line) in r.lines().enumerate() {
        let line = line.map_err(|e| StageError::io(path, e))?;
        let rec = crate::record_json::parse_record(&line, "text").map_err(|e| {
            StageError::msg(format!(
                "{}:{}: corrupt checkpoint: {e}",
                path.display(),
                i + 1
            ))
        })?;
        batch.push(rec);
        if batch.len() >= batch_size
            && !f(std::mem::replace(
                &mut batch,
                Vec::with_capacity(batch_size),
            ))
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        f(batch);
    }
    Ok(())
}
