//! `order_curriculum` in a sharded run: map, reduce and apply (see
//! `mavuno_pipeline::global`).
//!
//! - **map**: each record's scorer input (its source name and text) goes to the shard's
//!   map file; the record passes through.
//! - **reduce** (one task: the order needs every score): fits the scorer on every map row
//!   (the count models depend on the multiset of texts, not on their order), scores the
//!   rows in global order (in parallel; a score depends only on the row and the model),
//!   sorts them with the single run's sort ([`easiest_first`]: score, ties in global
//!   order = input file, then position), and writes each shard's decisions: per record,
//!   in the shard's order, its global rank and score. It also writes the curriculum
//!   manifest in the unsharded run directory, where the single run writes it. Memory: the
//!   fitted scorer (as in the single run) plus about 64 bytes and the id per record; the
//!   texts stream from the map files and the manifest streams into its file.
//! - **apply**: each shard takes its records' ranks and scores and emits them in rank
//!   order with `difficulty` and `curriculum_rank`; `mavuno reduce --stage ID --merge`
//!   then merges the shards' outputs by rank into the single run's file.

use super::difficulty::{easiest_first, words};
use super::order_curriculum::{mark, source_of, OrderCurriculumConfig, Scorer};
use super::spill::Spill;
use crate::dedup::global::MapStage;
use mavuno_pipeline::global::{merge_global, Decisions, GlobalPhase, MapReader, ReduceContext};
use mavuno_pipeline::{Batch, BuildContext, Emitter, Record, Stage, StageError, StageImpl};
use rayon::prelude::*;

/// The length tag of a record without a source name.
const NO_SOURCE: u32 = u32::MAX;
/// Rows scored per parallel batch in the reduce.
const CHUNK: usize = 8192;

/// A map row's payload: the source name (length-prefixed, or [`NO_SOURCE`]), then the text.
fn encode(source: Option<&str>, text: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + text.len() + source.map_or(0, str::len));
    match source {
        Some(s) => {
            p.extend((s.len() as u32).to_le_bytes());
            p.extend(s.as_bytes());
        }
        None => p.extend(NO_SOURCE.to_le_bytes()),
    }
    p.extend(text.as_bytes());
    p
}

fn decode(p: &[u8]) -> Result<(Option<&str>, &str), StageError> {
    let bad = || StageError::msg("corrupt order_curriculum map row");
    let len: [u8; 4] = p.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    let (source, rest) = match u32::from_le_bytes(len) {
        NO_SOURCE => (None, &p[4..]),
        n => {
            let end = 4 + n as usize;
            let s = std::str::from_utf8(p.get(4..end).ok_or_else(bad)?).map_err(|_| bad())?;
            (Some(s), &p[end..])
        }
    };
    Ok((source, std::str::from_utf8(rest).map_err(|_| bad())?))
}

/// A decision's payload: global rank, then score.
fn decision(rank: u64, score: f64) -> [u8; 16] {
    let mut d = [0u8; 16];
    d[..8].copy_from_slice(&rank.to_le_bytes());
    d[8..].copy_from_slice(&score.to_bits().to_le_bytes());
    d
}

/// The stage of one phase.
pub(crate) fn build(
    cfg: &OrderCurriculumConfig,
    phase: &GlobalPhase,
    ctx: &BuildContext,
) -> Result<StageImpl, StageError> {
    Ok(StageImpl::Stage(match phase {
        GlobalPhase::Map { file, .. } => {
            let field = cfg.source_field.clone();
            Box::new(MapStage::create(file, None, move |r: &Record| {
                Ok(encode(source_of(&field, r), &r.text).into())
            })?)
        }
        GlobalPhase::Apply { decisions } => Box::new(ApplyOrder {
            decisions: Decisions::open(decisions)?,
            spill: Spill::create(&ctx.scratch_dir, "records.jsonl.zst")?,
            keys: Vec::new(),
            batch_size: ctx.batch_size,
        }),
    }))
}

/// Fits `scorer` on the text of every row of every map file (shard after shard).
fn fit(scorer: &mut Scorer, ctx: &ReduceContext) -> Result<(), StageError> {
    let mut readers = ctx
        .maps
        .iter()
        .map(|p| MapReader::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut err = None;
    let mut k = 0;
    let mut texts = std::iter::from_fn(|| loop {
        let r = readers.get_mut(k)?;
        let row = match r.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => {
                k += 1;
                continue;
            }
            Err(e) => {
                err = Some(e);
                return None;
            }
        };
        match decode(&row.payload) {
            Ok((_, t)) => return Some(words(t)),
            Err(e) => {
                err = Some(e);
                return None;
            }
        }
    });
    scorer.fit(&mut texts);
    err.map_or(Ok(()), Err)
}

/// Scores a chunk of (source, text) rows in parallel, appending in order.
fn score_chunk(scorer: &Scorer, chunk: &mut Vec<(Option<String>, String)>, out: &mut Vec<f64>) {
    out.par_extend(
        chunk
            .par_iter()
            .map(|(s, t)| scorer.score(&words(t), s.as_deref())),
    );
    chunk.clear();
}

/// The reduce: fit, score, order, decisions and the manifest.
pub(crate) fn reduce(
    cfg: &OrderCurriculumConfig,
    ctx: &ReduceContext,
) -> Result<serde_json::Value, StageError> {
    if ctx.range != (0, 1) || ctx.cluster {
        return Err(StageError::msg(
            "order_curriculum's reduce is one task (the global order needs every score): give it no --band-range or --cluster",
        ));
    }
    let mut scorer = cfg.scorer_box().map_err(StageError::msg)?;
    fit(&mut scorer, ctx)?;
    // In global order: where each row lives, its id and its score.
    let mut at: Vec<(u32, u64)> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut scores: Vec<f64> = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    merge_global(&ctx.maps, |shard, row| {
        let (source, text) = decode(&row.payload)?;
        chunk.push((source.map(str::to_string), text.to_string()));
        at.push((shard as u32, row.ordinal));
        ids.push(row.id);
        if chunk.len() >= CHUNK {
            score_chunk(&scorer, &mut chunk, &mut scores);
        }
        Ok(())
    })?;
    score_chunk(&scorer, &mut chunk, &mut scores);
    let order = easiest_first(&scores);
    let mut rank = vec![0u64; order.len()];
    for (r, &g) in order.iter().enumerate() {
        rank[g] = r as u64;
    }
    let mut writers = (0..ctx.shards())
        .map(|i| ctx.decision_writer(i))
        .collect::<Result<Vec<_>, _>>()?;
    for (g, &(shard, ordinal)) in at.iter().enumerate() {
        writers[shard as usize].write(ordinal, &ids[g], &decision(rank[g], scores[g]))?;
    }
    for w in writers {
        w.commit()?;
    }
    let manifest = mavuno_pipeline::io::resolve_output(&ctx.run_dir, &cfg.path);
    cfg.write_manifest(
        order.iter().map(|&g| (ids[g].as_str(), scores[g])),
        &manifest,
    )?;
    let stats = serde_json::json!({
        "records": order.len(),
        "scorer": cfg.scorer,
        "manifest": manifest.display().to_string(),
    });
    ctx.complete(stats.clone())?;
    Ok(stats)
}

/// The apply phase: the shard's records in global-rank order.
struct ApplyOrder {
    decisions: Decisions,
    spill: Spill,
    /// (rank, score) of each record, in arrival order.
    keys: Vec<(u64, f64)>,
    batch_size: usize,
}

impl Stage for ApplyOrder {
    fn process(&mut self, batch: Batch, _out: &mut Emitter) -> Result<(), StageError> {
        // Records are emitted (kept) in finish, in rank order.
        for r in &batch {
            let ordinal = self.keys.len() as u64;
            let d = self.decisions.take(ordinal, &r.id)?;
            let key = match d.as_slice() {
                [p] if p.len() == 16 => {
                    let (a, b) = p.split_at(8);
                    let rank = u64::from_le_bytes(a.try_into().unwrap_or_default());
                    let bits = u64::from_le_bytes(b.try_into().unwrap_or_default());
                    (rank, f64::from_bits(bits))
                }
                _ => {
                    return Err(StageError::msg(format!(
                        "no curriculum rank for record {} (position {ordinal}): the reduce did not see this shard's input; rerun every shard and the reduce",
                        r.id
                    )))
                }
            };
            self.keys.push(key);
            self.spill.push(r)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        self.decisions.finish()?;
        let mut recs: Vec<Option<Record>> = Vec::with_capacity(self.keys.len());
        self.spill.replay(self.batch_size, |b| {
            recs.extend(b.into_iter().map(Some));
            Ok(())
        })?;
        let mut order: Vec<usize> = (0..recs.len()).collect();
        order.sort_unstable_by_key(|&i| self.keys[i].0);
        for &i in &order {
            let Some(mut r) = recs[i].take() else {
                continue;
            };
            let (rank, score) = self.keys[i];
            mark(&mut r, score, rank);
            out.keep(r);
        }
        out.counter("scored_records_total", order.len() as u64);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_corruption_is_an_error() {
        for (s, t) in [(Some("wiki.txt"), "a b c"), (None, ""), (Some(""), "x")] {
            let p = encode(s, t);
            assert_eq!(decode(&p).unwrap(), (s, t));
        }
        assert!(decode(&[1, 2]).is_err());
        assert!(decode(&[9, 0, 0, 0, b'a']).is_err());
        let d = decision(7, 2.5);
        assert_eq!(u64::from_le_bytes(d[..8].try_into().unwrap()), 7);
        assert_eq!(
            f64::from_bits(u64::from_le_bytes(d[8..].try_into().unwrap())),
            2.5
        );
    }
}
