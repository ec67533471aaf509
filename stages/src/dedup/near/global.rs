//! `dedup_near` in a sharded run: map, reduce and apply (see `mavuno_pipeline::global`).
//!
//! - **map**: each record's band keys and 32-bit signature (and shingles with
//!   `verify = true`) go to the shard's map file; records pass through.
//! - **reduce**: the map files are merged in global order and fed to the same
//!   [`NearIndex`] as a single run, so the decisions are the single run's. It writes per
//!   shard the near duplicates (`dup_of`, similarity) and the kept records that head a
//!   cluster. It decides in one pass, so it takes one range (`--band-range 0/1`) and holds
//!   the single run's index: about [`LshIndex::bytes_per_doc`] bytes per kept record.
//! - **apply**: each shard drops (or marks) its near duplicates, writes its part of the
//!   clusters file, and counts what a single run counts.

use super::index::{NearIndex, Prepared, Verdict};
use super::{prepare, write_cluster_line, Action, DedupNearConfig};
use crate::dedup::by_lang::ByLang;
use crate::dedup::exact::field_text;
use crate::dedup::global::{MapStage, Payload};
use crate::dedup::minhash::LshIndex;
use mavuno_pipeline::global::{merge_global, Decisions, GlobalPhase, ReduceContext};
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
        GlobalPhase::Map { file } => {
            let (c, hasher) = (cfg.clone(), cfg.hasher(ctx.seed));
            Box::new(MapStage::create(file, move |r: &Record| {
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

/// Map payload: key count, keys, 32-bit signature, then shingles when verifying.
fn encode(p: &Prepared, verify: bool) -> Payload {
    let mut b = Vec::with_capacity(4 + p.keys.len() * 8 + p.sig.len() * 4);
    b.extend_from_slice(&(p.keys.len() as u32).to_le_bytes());
    if p.keys.is_empty() {
        return b;
    }
    p.keys
        .iter()
        .for_each(|k| b.extend_from_slice(&k.to_le_bytes()));
    // The index compares 32-bit signature values: nothing is lost.
    p.sig
        .iter()
        .for_each(|v| b.extend_from_slice(&(*v as u32).to_le_bytes()));
    if verify {
        p.shingles
            .iter()
            .for_each(|s| b.extend_from_slice(&s.to_le_bytes()));
    }
    b
}

fn decode(b: &[u8], perm: usize) -> Result<Prepared, StageError> {
    let bad = || StageError::msg("corrupt dedup_near map row");
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
    let nk = u32_at(0)? as usize;
    let mut p = Prepared {
        shingles: Vec::new(),
        sig: Vec::new(),
        keys: Vec::with_capacity(nk),
    };
    if nk == 0 {
        return Ok(p);
    }
    for k in 0..nk {
        p.keys.push(u64_at(4 + 8 * k)?);
    }
    let s0 = 4 + 8 * nk;
    for j in 0..perm {
        p.sig.push(u32_at(s0 + 4 * j)? as u64);
    }
    let mut i = s0 + 4 * perm;
    while i < b.len() {
        p.shingles.push(u64_at(i)?);
        i += 8;
    }
    Ok(p)
}

const HEADS_CLUSTER: u8 = 0;
const NEAR_DUP: u8 = 1;

/// The reduce: one pass over every shard's map in global order through [`NearIndex`].
pub(crate) fn reduce(
    cfg: &DedupNearConfig,
    ctx: &ReduceContext,
) -> Result<serde_json::Value, StageError> {
    if ctx.range != (0, 1) {
        return Err(StageError::msg(format!(
            "dedup_near decides in one pass over all band keys: use --band-range 0/1, not {}/{}",
            ctx.range.0, ctx.range.1
        )));
    }
    let _ = std::fs::remove_dir_all(&ctx.scratch_dir);
    let spill = cfg
        .verify
        .then(|| ctx.scratch_dir.join("dedup_near_shingles.bin"));
    let mut index = NearIndex::new(cfg.bands, cfg.rows, cfg.threshold, spill)?;
    let perm = cfg.bands * cfg.rows;
    let n = ctx.maps.len();
    // Per shard: (ordinal, id, decision). Kept records: where they live.
    let mut out: Vec<Vec<(u64, String, Vec<u8>)>> = vec![Vec::new(); n];
    let mut kept_at: Vec<(u32, u64)> = Vec::new();
    let (mut records, mut dups, mut checks) = (0u64, 0u64, 0u64);
    merge_global(&ctx.maps, |shard, row| {
        records += 1;
        let p = decode(&row.payload, perm)?;
        match index.decide(&row.id, &p, &mut checks)? {
            Verdict::Unindexed => {}
            Verdict::Kept(doc) => {
                debug_assert_eq!(doc as usize, kept_at.len());
                kept_at.push((shard as u32, row.ordinal));
            }
            Verdict::Dup { doc, sim, first } => {
                dups += 1;
                let mut d = vec![NEAR_DUP];
                d.extend_from_slice(&sim.to_le_bytes());
                d.extend_from_slice(index.kept_id(doc).as_bytes());
                out[shard].push((row.ordinal, row.id, d));
                if first {
                    let (s, o) = kept_at[doc as usize];
                    out[s as usize].push((o, index.kept_id(doc).to_string(), vec![HEADS_CLUSTER]));
                }
            }
        }
        Ok(())
    })?;
    index.close();
    for (i, mut list) in out.into_iter().enumerate() {
        list.sort_by_key(|e| e.0);
        let mut w = ctx.decision_writer(i as u64)?;
        for (o, id, d) in &list {
            w.write(*o, id, d)?;
        }
        w.commit()?;
    }
    let stats = serde_json::json!({
        "records": records,
        "kept_indexed": kept_at.len(),
        "near_duplicates": dups,
        "candidate_checks": checks,
        "index_bytes": index.lsh().index_bytes(),
        "index_bytes_per_doc_expected": LshIndex::bytes_per_doc(cfg.bands, cfg.rows),
    });
    ctx.complete(stats.clone())?;
    Ok(stats)
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
