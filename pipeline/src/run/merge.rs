//! `mavuno reduce --merge`: the last step of a sharded run with a global ordering stage
//! (one with a [`crate::StageConfig::rank_field`], `order_curriculum`).
//!
//! Each shard emits its records in global-rank order, each carrying its rank in that
//! field; the writers downstream of the stage write one file per shard. The merge finds
//! those writers (every sink reachable from the stage), reads from each shard's manifest
//! the files they wrote under the shard's directory, and merges the shards' files of each
//! writer line by line by the rank into the same relative path under the unsharded run
//! directory, where the single run writes it. The lines are copied verbatim, so the
//! merged file holds the single run's bytes (for `.zst`/`.gz` outputs: its decompressed
//! bytes; the compression level may differ). Only JSON-lines outputs carry the rank: a
//! line without it is an error naming the file, line and field.

use crate::config::Plan;
use crate::error::{DataError, RunError, StageError};
use crate::global::GlobalDir;
use crate::io::AtomicFile;
use crate::run::RunOptions;
use crate::stage::StageKind;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// One shard's file, read line by line with the rank of its current line.
struct RankedLines {
    lines: Box<dyn BufRead + Send>,
    path: PathBuf,
    line_no: u64,
    head: Option<(u64, String)>,
    /// The rank of the line read before, to check the shard's order.
    last: Option<u64>,
}

impl RankedLines {
    fn advance(&mut self, field: &str) -> Result<(), StageError> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .lines
                .read_line(&mut line)
                .map_err(|e| StageError::io(&self.path, e))?;
            if n == 0 {
                self.head = None;
                return Ok(());
            }
            self.line_no += 1;
            if !line.trim().is_empty() {
                break;
            }
        }
        let body = line.trim_end_matches(['\n', '\r']).to_string();
        let err = |m: String| {
            StageError::Data(DataError::new(
                self.path.display().to_string(),
                self.line_no,
                m,
            ))
        };
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| err(format!("not a JSON line: {e}")))?;
        let rank = v.get(field).and_then(|r| r.as_u64()).ok_or_else(|| {
            err(format!(
                "field `{field}` is missing or not a rank: only JSON-lines outputs that keep the field can be merged in rank order"
            ))
        })?;
        if let Some(last) = self.last {
            if rank <= last {
                return Err(err(format!(
                    "rank {rank} after rank {last}: the shard's output is not in rank order"
                )));
            }
        }
        self.last = Some(rank);
        self.head = Some((rank, body));
        Ok(())
    }
}

/// Merges `inputs` (one file per shard) by `field` into `out`; returns the line count.
pub fn merge_ranked(inputs: &[PathBuf], field: &str, out: &Path) -> Result<u64, StageError> {
    let mut streams = Vec::with_capacity(inputs.len());
    let mut heap = BinaryHeap::new();
    for (s, p) in inputs.iter().enumerate() {
        let mut r = RankedLines {
            lines: crate::io::open_read(p)?,
            path: p.clone(),
            line_no: 0,
            head: None,
            last: None,
        };
        r.advance(field)?;
        if let Some((rank, _)) = &r.head {
            heap.push(Reverse((*rank, s)));
        }
        streams.push(r);
    }
    let mut w = Compressed::create(out)?;
    let io = |e| StageError::io(out, e);
    let (mut written, mut last) = (0u64, None);
    while let Some(Reverse((rank, s))) = heap.pop() {
        if last == Some(rank) {
            return Err(StageError::msg(format!(
                "rank {rank} is in two shards' outputs ({}): the shards come from different runs",
                streams[s].path.display()
            )));
        }
        last = Some(rank);
        let r = &mut streams[s];
        if let Some((_, body)) = r.head.take() {
            w.write_all(body.as_bytes()).map_err(io)?;
            w.write_all(b"\n").map_err(io)?;
            written += 1;
        }
        r.advance(field)?;
        if let Some((rank, _)) = &r.head {
            heap.push(Reverse((*rank, s)));
        }
    }
    w.commit()?;
    Ok(written)
}

/// The merged file, compressed as its extension says (as the writers do).
enum Compressed {
    Plain(AtomicFile),
    Zstd(zstd::stream::write::Encoder<'static, AtomicFile>),
    Gz(flate2::write::GzEncoder<AtomicFile>),
}

impl Compressed {
    fn create(out: &Path) -> Result<Compressed, StageError> {
        let file = AtomicFile::create(out)?;
        let name = out.to_string_lossy();
        Ok(if name.ends_with(".zst") || name.ends_with(".zstd") {
            Compressed::Zstd(
                zstd::stream::write::Encoder::new(file, 3).map_err(|e| StageError::io(out, e))?,
            )
        } else if name.ends_with(".gz") {
            Compressed::Gz(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ))
        } else {
            Compressed::Plain(file)
        })
    }

    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Compressed::Plain(f) => f.write_all(b),
            Compressed::Zstd(f) => f.write_all(b),
            Compressed::Gz(f) => f.write_all(b),
        }
    }

    fn commit(self) -> Result<PathBuf, StageError> {
        let file = match self {
            Compressed::Plain(f) => f,
            Compressed::Zstd(f) => f.finish().map_err(|e| StageError::msg(e.to_string()))?,
            Compressed::Gz(f) => f.finish().map_err(|e| StageError::msg(e.to_string()))?,
        };
        file.commit()
    }
}

/// The files that sink `id` wrote in shard `(i, n)`, relative to the shard's directory.
fn shard_outputs(base: &Path, id: &str, i: u64, n: u64) -> Result<Vec<PathBuf>, StageError> {
    let dir = base.join(format!("shard-{i}-of-{n}"));
    let mpath = dir.join("manifest.json");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&mpath).map_err(|e| {
        StageError::context(
            format!("{}: shard {i}/{n} has not run to the end", mpath.display()),
            e,
        )
    })?)
    .map_err(|e| StageError::context(format!("{}", mpath.display()), e))?;
    let stage = m["stages"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id));
    let (Some(stage), Some("succeeded")) = (stage, m["status"].as_str()) else {
        return Err(StageError::msg(format!(
            "{}: shard {i}/{n} has not run stage {id}: run every shard to the end first",
            mpath.display()
        )));
    };
    let mut out = Vec::new();
    for o in stage["outputs"].as_array().into_iter().flatten() {
        let p = PathBuf::from(o["path"].as_str().unwrap_or(""));
        let rel = p.strip_prefix(&dir).map_err(|_| {
            StageError::msg(format!(
                "stage {id} of shard {i}/{n} wrote {} outside the shard's directory: give it a relative path",
                p.display()
            ))
        })?;
        out.push(rel.to_path_buf());
    }
    Ok(out)
}

/// `mavuno reduce --stage ID --merge` (see the module docs); returns the merged files
/// and their line counts.
pub fn merge(plan: &Plan, opts: &RunOptions, stage: &str) -> Result<serde_json::Value, RunError> {
    let err = crate::run::phases::stage_error(stage);
    let s = crate::run::phases::named_stage(plan, stage)?;
    let Some(field) = s.config.rank_field() else {
        return Err(err(StageError::msg(format!(
            "stage \"{stage}\" ({}) does not order the corpus: its shards' outputs are a union, with nothing to merge",
            s.config.type_name()
        ))));
    };
    let base = crate::run::phases::base_dir(plan, opts);
    let n = GlobalDir::new(&base, stage).map_files().map_err(err)?.len() as u64;
    // Every sink reachable from the stage.
    let mut sinks = BTreeSet::new();
    let mut stack = s.consumers.clone();
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(c) = plan.stage(&id) {
            if c.config.kind() == StageKind::Sink {
                sinks.insert(id.clone());
            }
            stack.extend(c.consumers.iter().cloned());
        }
    }
    if sinks.is_empty() {
        return Err(err(StageError::msg(format!(
            "no writer after stage \"{stage}\": nothing to merge"
        ))));
    }
    let mut merged = Vec::new();
    for id in &sinks {
        let rels = shard_outputs(&base, id, 0, n).map_err(err)?;
        for i in 1..n {
            let other = shard_outputs(&base, id, i, n).map_err(err)?;
            if other != rels {
                return Err(err(StageError::msg(format!(
                    "stage {id} wrote different files in shard 0 and shard {i}/{n}"
                ))));
            }
        }
        for rel in rels {
            let inputs: Vec<PathBuf> = (0..n)
                .map(|i| base.join(format!("shard-{i}-of-{n}")).join(&rel))
                .collect();
            let out = base.join(&rel);
            let lines = merge_ranked(&inputs, field, &out).map_err(err)?;
            merged.push(serde_json::json!({"writer": id, "path": out.display().to_string(), "records": lines}));
        }
    }
    Ok(serde_json::json!({"stage": stage, "shards": n, "rank_field": field, "merged": merged}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_rank_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let a = w(
            "a.jsonl",
            "{\"id\":\"x\",\"r\":0}\n{\"id\":\"z\",\"r\":3}\n",
        );
        let b = w(
            "b.jsonl",
            "{\"id\":\"y\",\"r\":1}\n\n{\"id\":\"w\",\"r\":2}\n",
        );
        let out = dir.path().join("m.jsonl.zst");
        assert_eq!(merge_ranked(&[a.clone(), b.clone()], "r", &out).unwrap(), 4);
        let text = String::from_utf8(crate::io::read_all(&out).unwrap()).unwrap();
        let ids: Vec<&str> = text.lines().map(|l| &l[7..8]).collect();
        assert_eq!(ids, ["x", "y", "w", "z"]);
        let e = merge_ranked(&[a.clone(), w("c.jsonl", "{\"id\":\"q\"}\n")], "r", &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.jsonl:1") && e.contains("`r`"), "{e}");
        let e = merge_ranked(&[a.clone(), a], "r", &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rank 0 is in two shards"), "{e}");
        let e = merge_ranked(&[w("d.jsonl", "{\"r\":2}\n{\"r\":1}\n")], "r", &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in rank order"), "{e}");
    }
}
