//! The cluster step of the `dedup_near` reduce (`mavuno reduce --cluster`): joins the
//! similar pairs of every band range into each shard's decisions, with the single run's
//! keep-first rule.
//!
//! The single run decides each record, in global order, against the kept records that
//! share a band key with it: it is a near duplicate of the earliest one whose similarity
//! reaches the threshold, else it is kept. The band-range tasks listed, for every record,
//! exactly the earlier records that share a band key and reach the threshold (whether
//! kept or not). So one pass in global order over the map files (for where each record
//! lives) and the merged pair files (sorted by later record) reproduces the decisions:
//! a record's duplicate-of is the earliest of its listed records that was kept.
//!
//! It holds the positions of the records that some later record is similar to (8 bytes
//! each), where the kept ones among them live (their id), and the decisions: memory in
//! proportion to the pairs, not to the corpus.

use super::global::{HEADS_CLUSTER, NEAR_DUP};
use super::pair_file::PairReader;
use mavuno_pipeline::global::{merge_global, ReduceContext, PAIRS};
use mavuno_pipeline::StageError;
use std::collections::HashMap;

/// A kept record that later records may be near duplicates of.
struct Head {
    shard: usize,
    ordinal: u64,
    id: String,
    has_dup: bool,
}

/// Runs the cluster step over the pair files of the last complete set of band ranges.
pub(crate) fn cluster(ctx: &ReduceContext) -> Result<serde_json::Value, StageError> {
    let ranges = ctx.dir.complete_ranges(PAIRS, ctx.shards()).ok_or_else(|| {
        StageError::msg(format!(
            "no complete set of band ranges in {}: run `mavuno reduce --band-range k/K` for every k of K (after the map phase of every shard) first",
            ctx.dir.path().join(PAIRS).display()
        ))
    })?;
    let files: Vec<_> = (0..ranges)
        .map(|k| ctx.dir.pairs_file((k, ranges)))
        .collect();
    // The records some later record is similar to: the only ones that can head a cluster.
    let mut earlier: Vec<u64> = Vec::new();
    let mut pairs_read = 0u64;
    for f in &files {
        let mut r = PairReader::open(f)?;
        while let Some(p) = r.peek() {
            pairs_read += 1;
            earlier.push(p.earlier);
            r.advance()?;
        }
    }
    earlier.sort_unstable();
    earlier.dedup();
    earlier.shrink_to_fit();

    let mut readers = files
        .iter()
        .map(|f| PairReader::open(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut heads: HashMap<u64, Head> = HashMap::new();
    // Per shard: (ordinal, id, decision).
    let mut out: Vec<Vec<(u64, String, Vec<u8>)>> = vec![Vec::new(); ctx.maps.len()];
    let mut similar: Vec<(u64, f64)> = Vec::new();
    let (mut g, mut dups, mut clusters) = (0u64, 0u64, 0u64);
    merge_global(&ctx.maps, |shard, row| {
        let here = g;
        g += 1;
        similar.clear();
        for r in &mut readers {
            while let Some(p) = r.peek() {
                if p.later > here {
                    break;
                }
                if p.later < here {
                    return Err(StageError::msg(
                        "a pair file does not follow the map files: rerun every band range",
                    ));
                }
                similar.push((p.earlier, p.sim));
                r.advance()?;
            }
        }
        // Several ranges may list one pair (same similarity): the earliest kept wins.
        similar.sort_unstable_by_key(|&(e, _)| e);
        match similar.iter().find(|(e, _)| heads.contains_key(e)) {
            Some(&(e, sim)) => {
                dups += 1;
                let h = heads
                    .get_mut(&e)
                    .ok_or_else(|| StageError::msg("dedup_near cluster lost a head (a bug)"))?;
                let mut d = vec![NEAR_DUP];
                d.extend_from_slice(&sim.to_le_bytes());
                d.extend_from_slice(h.id.as_bytes());
                out[shard].push((row.ordinal, row.id, d));
                if !h.has_dup {
                    h.has_dup = true;
                    clusters += 1;
                    out[h.shard].push((h.ordinal, h.id.clone(), vec![HEADS_CLUSTER]));
                }
            }
            None => {
                if earlier.binary_search(&here).is_ok() {
                    heads.insert(
                        here,
                        Head {
                            shard,
                            ordinal: row.ordinal,
                            id: row.id,
                            has_dup: false,
                        },
                    );
                }
            }
        }
        Ok(())
    })?;
    if readers.iter().any(|r| r.peek().is_some()) {
        return Err(StageError::msg(
            "a pair file names records past the end of the map files: rerun every band range",
        ));
    }
    for (i, mut list) in out.into_iter().enumerate() {
        list.sort_by_key(|e| e.0);
        let mut w = ctx.decision_writer(i as u64)?;
        for (o, id, d) in &list {
            w.write(*o, id, d)?;
        }
        w.commit()?;
    }
    let stats = serde_json::json!({
        "records": g,
        "band_ranges": ranges,
        "similar_pairs_read": pairs_read,
        "records_with_later_similar": earlier.len(),
        "kept_heads_held": heads.len(),
        "near_duplicates": dups,
        "clusters": clusters,
    });
    ctx.complete(stats.clone())?;
    Ok(stats)
}
