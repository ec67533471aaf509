//! Dropped records kept for reading (`<run>/dropped/<stage>.jsonl.zst`).
//!
//! Tuning a filter means looking at what each rule removed (datatrove keeps every dropped
//! document with its exclusion writer). A stage's [`crate::Emitter`] offers every drop to
//! a [`DropKeeper`], which by `run.keep_dropped` keeps:
//! - `sample` (default): a bounded sample of `run.dropped_per_reason` records per reason.
//!   It is a *bottom-k* sample: each record gets the priority `xxh3(id, seed ⊕ stage)` and
//!   the k smallest priorities per reason are kept. That is a uniform sample that depends
//!   only on the seed and the record ids, never on thread count, batch size or the order
//!   drops of other reasons arrive in; memory is k records per reason (texts cut at
//!   [`SAMPLE_TEXT_CHARS`]).
//! - `all`: every dropped record, whole, streamed to the file as it is dropped.
//! - `none`: nothing.
//!
//! Shards of a run (`--shard i/n`) sample with the same priorities, so the union of their
//! samples holds the bottom-k of the whole run: [`merge_samples`] takes it, and a sharded
//! run's report shows the same records a single run's would.
//!
//! Each line is `{"stage", "reason", "value"?, "threshold"?, "id", "lang", "source",
//! "text"}`; `value` and `threshold` are present when the stage said which measure fired
//! ([`crate::Emitter::drop_measured`]). In sample mode lines are grouped by reason (in
//! name order), each group in drop order. Counting does not depend on this: the emitter
//! counts every drop whatever is kept.

use crate::record::Record;
use crate::run::partial_path;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Which dropped records a run keeps (`run.keep_dropped`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeepDropped {
    /// A seeded sample of `run.dropped_per_reason` records per stage and reason.
    #[default]
    Sample,
    /// Every dropped record.
    All,
    /// None.
    None,
}

/// The measure that made a stage drop a record, for people tuning its threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropDetail {
    /// The record's value of the measure.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
}

/// Texts in a sample are cut to this many characters (the sample stays small in memory).
pub const SAMPLE_TEXT_CHARS: usize = 2000;

/// The file a stage's dropped records go to.
pub fn dropped_path(run_dir: &Path, stage: &str) -> PathBuf {
    run_dir.join("dropped").join(format!("{stage}.jsonl.zst"))
}

/// The seed a stage's sample is drawn with: the stage's seed mixed with its id.
fn stage_seed(seed: u64, stage: &str) -> u64 {
    seed ^ xxhash_rust::xxh3::xxh3_64(stage.as_bytes())
}

/// A dropped record's sample priority (smallest kept first) in `stage` with seed `seed`.
pub fn sample_priority(id: &str, seed: u64, stage: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), stage_seed(seed, stage))
}

/// Merges the sampled lines of one stage (from the shards of a run, in shard order) into
/// the bottom-`k` per reason, each reason's lines by priority (ties: the order given).
/// Lines of `keep_dropped = "all"` merge the same way, into a sample.
pub fn merge_samples(
    lines: Vec<serde_json::Value>,
    k: usize,
    seed: u64,
    stage: &str,
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut by: BTreeMap<String, Vec<(u64, usize, serde_json::Value)>> = BTreeMap::new();
    for (i, v) in lines.into_iter().enumerate() {
        let reason = v["reason"].as_str().unwrap_or("").to_string();
        let prio = sample_priority(v["id"].as_str().unwrap_or(""), seed, stage);
        by.entry(reason).or_default().push((prio, i, v));
    }
    by.into_iter()
        .map(|(r, mut v)| {
            v.sort_by_key(|e| (e.0, e.1));
            (r, v.into_iter().take(k).map(|e| e.2).collect())
        })
        .collect()
}

/// One sampled record: ordered by (priority, drop ordinal), so the heap's top is the one
/// to evict.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    prio: u64,
    ordinal: u64,
    line: Vec<u8>,
}

type ZstdFile = zstd::stream::write::Encoder<'static, BufWriter<File>>;

/// Keeps a stage's dropped records; see the module docs.
pub struct DropKeeper {
    mode: KeepDropped,
    per_reason: usize,
    seed: u64,
    stage: String,
    /// The file, under its temporary name until the commit.
    tmp: PathBuf,
    samples: BTreeMap<String, BinaryHeap<Entry>>,
    ordinal: u64,
    all: Option<ZstdFile>,
    error: Option<std::io::Error>,
}

impl DropKeeper {
    /// A keeper for `stage` of the run in `run_dir`.
    pub fn new(
        mode: KeepDropped,
        per_reason: usize,
        seed: u64,
        stage: &str,
        run_dir: &Path,
    ) -> DropKeeper {
        DropKeeper {
            mode,
            per_reason,
            seed,
            stage: stage.to_string(),
            tmp: partial_path(&dropped_path(run_dir, stage)),
            samples: BTreeMap::new(),
            ordinal: 0,
            all: None,
            error: None,
        }
    }

    fn line(&self, rec: &Record, reason: &str, d: Option<DropDetail>, cut: bool) -> Vec<u8> {
        let text = match rec.text.char_indices().nth(SAMPLE_TEXT_CHARS) {
            Some((i, _)) if cut => format!("{}…", &rec.text[..i]),
            _ => rec.text.clone(),
        };
        let mut v = json!({"stage": self.stage, "reason": reason});
        if let Some(d) = d {
            v["value"] = json!(d.value);
            v["threshold"] = json!(d.threshold);
        }
        v["id"] = json!(rec.id);
        v["lang"] = json!(rec.lang);
        v["source"] = json!(rec.source.as_ref().map(|p| p.to_string()));
        v["text"] = json!(text);
        let mut b = serde_json::to_vec(&v).unwrap_or_default();
        b.push(b'\n');
        b
    }

    /// Offers one dropped record.
    pub fn offer(&mut self, rec: &Record, reason: &str, detail: Option<DropDetail>) {
        let ordinal = self.ordinal;
        self.ordinal += 1;
        match self.mode {
            KeepDropped::None => {}
            KeepDropped::All => {
                if self.error.is_some() {
                    return;
                }
                let line = self.line(rec, reason, detail, false);
                if let Err(e) = self.write_all(&line) {
                    self.error = Some(e);
                }
            }
            KeepDropped::Sample => {
                if self.per_reason == 0 {
                    return;
                }
                let prio = sample_priority(&rec.id, self.seed, &self.stage);
                let full = self
                    .samples
                    .get(reason)
                    .is_some_and(|h| h.len() >= self.per_reason);
                if full {
                    let top = self.samples.get(reason).and_then(|h| h.peek());
                    if top.is_some_and(|t| (prio, ordinal) >= (t.prio, t.ordinal)) {
                        return;
                    }
                }
                let line = self.line(rec, reason, detail, true);
                let h = self.samples.entry(reason.to_string()).or_default();
                if full {
                    h.pop();
                }
                h.push(Entry {
                    prio,
                    ordinal,
                    line,
                });
            }
        }
    }

    fn write_all(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.all.is_none() {
            if let Some(p) = self.tmp.parent() {
                std::fs::create_dir_all(p)?;
            }
            let f = BufWriter::with_capacity(1 << 20, File::create(&self.tmp)?);
            self.all = Some(zstd::stream::write::Encoder::new(f, 3)?);
        }
        match self.all.as_mut() {
            Some(w) => w.write_all(line),
            None => Ok(()),
        }
    }

    /// Writes what was kept to the temporary file (none when nothing was dropped or
    /// `keep_dropped = "none"`); the commit renames it.
    pub fn finish(self) -> Result<(), crate::StageError> {
        let tmp = self.tmp.clone();
        self.write_out().map_err(|e| crate::StageError::io(&tmp, e))
    }

    fn write_out(mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let samples = std::mem::take(&mut self.samples);
        for (_, heap) in samples {
            let mut v = heap.into_vec();
            v.sort_by_key(|e| e.ordinal);
            for e in v {
                self.write_all(&e.line)?;
            }
        }
        if let Some(w) = self.all.take() {
            w.finish()?.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> Vec<serde_json::Value> {
        let b = zstd::stream::decode_all(File::open(p).unwrap()).unwrap();
        b.split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    fn run(mode: KeepDropped, order: &[usize]) -> Vec<serde_json::Value> {
        let dir = tempfile::tempdir().unwrap();
        let mut k = DropKeeper::new(mode, 5, 13, "f", dir.path());
        for &i in order {
            let why = if i % 3 == 0 { "a" } else { "b" };
            let d = (why == "a").then_some(DropDetail {
                value: i as f64,
                threshold: 0.5,
            });
            k.offer(&Record::new(format!("r{i}"), "x".repeat(i)), why, d);
        }
        k.finish().unwrap();
        let p = partial_path(&dropped_path(dir.path(), "f"));
        if p.exists() {
            read(&p)
        } else {
            Vec::new()
        }
    }

    fn ids(v: &[serde_json::Value]) -> Vec<String> {
        let mut ids: Vec<String> = v.iter().map(|l| l["id"].to_string()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn sample_is_bounded_per_reason_and_independent_of_order() {
        let fwd: Vec<usize> = (0..300).collect();
        let rev: Vec<usize> = (0..300).rev().collect();
        let a = run(KeepDropped::Sample, &fwd);
        assert_eq!(a.len(), 10, "5 per reason");
        assert_eq!(a.iter().filter(|l| l["reason"] == "a").count(), 5);
        // Same records whatever order the drops arrive in (threads, batches).
        assert_eq!(ids(&a), ids(&run(KeepDropped::Sample, &rev)));
        // Not simply the first five.
        assert_ne!(
            ids(&a[..5]),
            ["\"r0\"", "\"r12\"", "\"r3\"", "\"r6\"", "\"r9\""]
        );
        let with = a.iter().find(|l| l["reason"] == "a").unwrap();
        assert_eq!(with["threshold"], 0.5);
        assert!(a
            .iter()
            .filter(|l| l["reason"] == "b")
            .all(|l| l.get("value").is_none()));
    }

    #[test]
    fn merged_shard_samples_are_the_single_runs_sample() {
        let ids = |v: &BTreeMap<String, Vec<serde_json::Value>>| -> Vec<String> {
            v.values().flatten().map(|l| l["id"].to_string()).collect()
        };
        let all: Vec<usize> = (0..300).collect();
        let single = run(KeepDropped::Sample, &all);
        let shards: Vec<serde_json::Value> = (0..3)
            .flat_map(|s| {
                let mine: Vec<usize> = all.iter().copied().filter(|i| i % 3 == s).collect();
                run(KeepDropped::Sample, &mine)
            })
            .collect();
        let merged = merge_samples(shards, 5, 13, "f");
        assert_eq!(merged["a"].len(), 5);
        assert_eq!(ids(&merged), ids(&merge_samples(single, 5, 13, "f")));
    }

    #[test]
    fn all_keeps_everything_and_none_nothing() {
        let recs: Vec<usize> = (0..50).collect();
        assert_eq!(run(KeepDropped::All, &recs).len(), 50);
        assert!(run(KeepDropped::None, &recs).is_empty());
    }
}
