//! `dedup_near` in a sharded run: map, reduce and apply (see `mavuno_pipeline::global`).
//!
//! - **map**: each record's band keys go to the shard's map file, its 32-bit signature
//!   (and shingles with `verify = true`) to the side file, which the reduce reads only
//!   for the candidates of a pair (≈ 130 bytes per record to decompress on each pass
//!   over the map files instead of ≈ 580); records pass through.
//! - **reduce**, in two steps as datatrove's multi-step MinHash: K band-range tasks
//!   ([`bands`], `--band-range k/K`) each hold the band keys with `key mod K = k` and
//!   write the similar pairs their buckets make; then one cluster step ([`cluster`],
//!   `--cluster`; run at once when K = 1) joins the pairs in global order with the
//!   single run's keep-first rule and writes per shard the near duplicates (`dup_of`,
//!   similarity) and the kept records that head a cluster.
//! - **apply**: each shard drops (or marks) its near duplicates, writes its part of the
//!   clusters file, and counts what a single run counts.

use super::index::Prepared;
use super::{bands, cluster, prepare, write_cluster_line, Action, DedupNearConfig};
use crate::dedup::by_lang::ByLang;
use crate::dedup::dedup_exact::field_text;
use crate::dedup::global::{MapStage, Payload};
use mavuno_pipeline::global::{Decisions, GlobalPhase, ReduceContext};
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::{Batch, BuildContext, Emitter, Record, Stage, StageError, StageImpl};
use std::path::PathBuf;

/// The stage of one phase.
pub(crate) fn build(
    cfg: &DedupNearConfig,
    ctx: &BuildContext,
    phase: &GlobalPhase,
) -> Result<StageImpl, StageError> {
    Ok(StageImpl::Stage(match phase {
        GlobalPhase::Map { file, side } => {
            let (c, hasher) = (cfg.clone(), cfg.hasher(ctx.seed));
            Box::new(MapStage::create(file, Some(side), move |r: &Record| {
                let p = prepare(&c, &hasher, r)?;
                Ok(encode(&p, c.verify))
            })?)
        }
        GlobalPhase::Apply { decisions } => Box::new(ApplyNear {
            cfg: cfg.clone(),
            decisions: Decisions::open(decisions)?,
            ordinal: 0,
            clusters: cfg.clusters_file(ctx)?,
            written: Vec::new(),
            by_lang: ByLang::default(),
        }),
    }))
}

/// Map payload: key count, then keys. Side data: 32-bit signature, then shingles when
/// verifying (nothing for a record without keys, which is never a candidate).
fn encode(p: &Prepared, verify: bool) -> Payload {
    let mut keys = Vec::with_capacity(4 + p.keys.len() * 8);
    keys.extend_from_slice(&(p.keys.len() as u32).to_le_bytes());
    if p.keys.is_empty() {
        return keys.into();
    }
    p.keys
        .iter()
        .for_each(|k| keys.extend_from_slice(&k.to_le_bytes()));
    let shingles = if verify { p.shingles.len() } else { 0 };
    let mut side = Vec::with_capacity(p.sig.len() * 4 + shingles * 8);
    // The index compares 32-bit signature values: nothing is lost.
    p.sig
        .iter()
        .for_each(|v| side.extend_from_slice(&(*v as u32).to_le_bytes()));
    if verify {
        p.shingles
            .iter()
            .for_each(|s| side.extend_from_slice(&s.to_le_bytes()));
    }
    Payload { keys, side }
}

/// The band keys of a map payload.
pub(super) fn decode_keys(b: &[u8]) -> Result<Vec<u64>, StageError> {
    let bad = || StageError::msg("corrupt dedup_near map row");
    let word = |i: usize, n: usize| b.get(i..i + n).ok_or_else(bad);
    let nk = u32::from_le_bytes(word(0, 4)?.try_into().map_err(|_| bad())?) as usize;
    (0..nk)
        .map(|k| {
            Ok(u64::from_le_bytes(
                word(4 + 8 * k, 8)?.try_into().map_err(|_| bad())?,
            ))
        })
        .collect()
}

/// A record's side data (`perm` signature values, then shingles), as a [`Prepared`]
/// without keys.
pub(super) fn decode_side(b: &[u8], perm: usize) -> Result<Prepared, StageError> {
    let bad = || StageError::msg("corrupt dedup_near side row");
    let u32_at = |i: usize| -> Result<u32, StageError> {
        Ok(u32::from_le_bytes(
            b.get(i..i + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let u64_at = |i: usize| -> Result<u64, StageError> {
        Ok(u64::from_le_bytes(
            b.get(i..i + 8)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let mut p = Prepared {
        shingles: Vec::new(),
        sig: Vec::with_capacity(perm),
        keys: Vec::new(),
    };
    if b.is_empty() {
        return Ok(p);
    }
    for j in 0..perm {
        p.sig.push(u32_at(4 * j)? as u64);
    }
    let mut i = 4 * perm;
    while i < b.len() {
        p.shingles.push(u64_at(i)?);
        i += 8;
    }
    Ok(p)
}

/// Decision: the record is kept and heads a cluster.
pub(super) const HEADS_CLUSTER: u8 = 0;
/// Decision: the record is a near duplicate (then similarity, id of its cluster's head).
pub(super) const NEAR_DUP: u8 = 1;

/// The reduce: with `--cluster`, the cluster step; else the band-range task of
/// `ctx.range`, followed at once by the cluster step when it is the only range.
pub(crate) fn reduce(
    cfg: &DedupNearConfig,
    ctx: &ReduceContext,
) -> Result<serde_json::Value, StageError> {
    if ctx.cluster {
        return cluster::cluster(ctx);
    }
    let pairs = bands::pairs(cfg, ctx)?;
    if ctx.range.1 > 1 {
        return Ok(pairs);
    }
    let cluster = cluster::cluster(ctx)?;
    Ok(serde_json::json!({ "band_range": pairs, "cluster": cluster }))
}

/// The apply phase: the reduce's decisions for this shard, in order.
struct ApplyNear {
    cfg: DedupNearConfig,
    decisions: Decisions,
    ordinal: u64,
    clusters: Option<AtomicFile>,
    written: Vec<PathBuf>,
    by_lang: ByLang,
}

impl Stage for ApplyNear {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        // [pairs, clusters]
        let mut n = [0u64; 2];
        for mut rec in batch {
            let ordinal = self.ordinal;
            self.ordinal += 1;
            self.by_lang.seen(rec.lang.as_deref());
            if let Err(e) = field_text(&rec, &self.cfg.field) {
                out.reject(rec, e);
                continue;
            }
            let mut dup_of = None;
            for d in self.decisions.take(ordinal, &rec.id)? {
                match d.first() {
                    Some(&HEADS_CLUSTER) => n[1] += 1,
                    Some(&NEAR_DUP) if d.len() >= 9 => {
                        let sim = f64::from_le_bytes(d[1..9].try_into().unwrap_or([0; 8]));
                        let of = String::from_utf8_lossy(&d[9..]).into_owned();
                        write_cluster_line(&mut self.clusters, &self.cfg, &rec.id, &of, sim)?;
                        dup_of = Some(of);
                    }
                    _ => return Err(StageError::msg("corrupt dedup_near decision")),
                }
            }
            match (dup_of, self.cfg.action) {
                (Some(_), Action::Drop) => {
                    n[0] += 1;
                    self.by_lang.dropped(rec.lang.as_deref());
                    out.drop(rec, "near_duplicate");
                }
                (Some(of), Action::Mark) => {
                    n[0] += 1;
                    rec.set("dup_cluster", of);
                    out.keep(rec);
                }
                (None, action) => {
                    if action == Action::Mark {
                        let id = rec.id.clone();
                        rec.set("dup_cluster", id);
                    }
                    out.keep(rec);
                }
            }
        }
        out.counter("near_dup_pairs_total", n[0]);
        out.counter("near_dup_clusters_total", n[1]);
        self.by_lang.emit(out);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        self.decisions.finish()?;
        if let Some(f) = self.clusters.take() {
            self.written.push(f.commit()?);
        }
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}
