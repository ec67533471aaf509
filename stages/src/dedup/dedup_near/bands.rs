//! One band-range task of the `dedup_near` reduce (`mavuno reduce --band-range k/K`):
//! the candidate pairs made by the band keys with `key mod K = k`, with their similarity.
//!
//! A task numbers the records of every shard's map file by their global position (the
//! order of `merge_global`, the single run's order) and makes two passes over the maps:
//! 1. it collects `(band key, position)` for the keys of its range in sorted chunks,
//!    then merges the chunks: every key held by two or more records (a bucket, as in the
//!    single run's index, where a key means the same whichever band made it) gives every
//!    pair (earlier, later) of its records. Only its range's keys are held, 16 bytes each:
//!    `16 × bands / K` bytes per record;
//! 2. it reads the similarity data (32-bit signature, or shingles with `verify`) of the
//!    records in some pair from the shards' side files (skipping the other records'
//!    rows), spills it to scratch and, at each pair's later record, computes the pair's
//!    similarity exactly as the single run does, writing the pairs at or above the
//!    threshold to its pair file ([`super::pair_file`]).
//!
//! Both passes decompress only the map files' rows of keys (≈ 130 bytes per record);
//! the signatures (≈ 450 bytes per record) are read for the candidates only.
//!
//! All pairs of a bucket are listed, since which earlier record is kept is decided only
//! by the cluster step: a bucket of m records gives m(m − 1)/2 pairs (held in memory and
//! on disk: 16 and 24 bytes each).

use super::global::{decode_keys, decode_side};
use super::index::ShingleSpill;
use super::pair_file::{Pair, PairWriter};
use super::DedupNearConfig;
use crate::dedup::minhash::{estimated_jaccard, jaccard};
use mavuno_pipeline::global::{merge_global, ReduceContext, SideReader, PAIRS};
use mavuno_pipeline::StageError;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Entries per sorted chunk of pass 1 (16 MiB): chunks are never reallocated, so the
/// task holds its keys and no more.
const CHUNK: usize = 1 << 20;

/// The similarity of two records as the single run computes it: map files hold 32-bit
/// signature values, as the single run's index does.
fn similarity(verify: bool, a: &[u64], b: &[u64]) -> f64 {
    if verify {
        jaccard(a, b)
    } else {
        estimated_jaccard(a, b)
    }
}

/// Runs the task of `ctx.range`; returns its statistics (also in its marker).
pub(crate) fn pairs(
    cfg: &DedupNearConfig,
    ctx: &ReduceContext,
) -> Result<serde_json::Value, StageError> {
    let (k, count) = ctx.range;
    let perm = cfg.bands * cfg.rows;
    // Pass 1: (key, position) for the keys in range, in sorted chunks.
    let mut chunks: Vec<Vec<(u64, u64)>> = Vec::new();
    let mut cur: Vec<(u64, u64)> = Vec::with_capacity(CHUNK);
    let (mut records, mut keys_in_range) = (0u64, 0u64);
    merge_global(&ctx.maps, |_, row| {
        let g = records;
        records += 1;
        for key in decode_keys(&row.payload)? {
            if key % count == k {
                keys_in_range += 1;
                cur.push((key, g));
                if cur.len() == CHUNK {
                    chunks.push(std::mem::replace(&mut cur, Vec::with_capacity(CHUNK)));
                }
            }
        }
        Ok(())
    })?;
    cur.shrink_to_fit();
    chunks.push(cur);
    chunks.par_iter_mut().for_each(|c| c.sort_unstable());
    let key_bytes: usize = chunks.iter().map(|c| c.capacity() * 16).sum();

    // Buckets: merge the chunks by key; every pair of a key's records, as (later, earlier).
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut pos = vec![0usize; chunks.len()];
    for (c, chunk) in chunks.iter().enumerate() {
        if let Some(&(key, g)) = chunk.first() {
            heap.push(Reverse((key, g, c)));
        }
    }
    let mut bucket: Vec<u64> = Vec::new();
    let mut bucket_key = None;
    let flush = |bucket: &mut Vec<u64>, pairs: &mut Vec<(u64, u64)>| {
        bucket.dedup();
        for (b, &later) in bucket.iter().enumerate() {
            pairs.extend(bucket[..b].iter().map(|&earlier| (later, earlier)));
        }
        bucket.clear();
    };
    while let Some(Reverse((key, g, c))) = heap.pop() {
        pos[c] += 1;
        if let Some(&(nk, ng)) = chunks[c].get(pos[c]) {
            heap.push(Reverse((nk, ng, c)));
        }
        if bucket_key != Some(key) {
            flush(&mut bucket, &mut pairs);
            bucket_key = Some(key);
        }
        bucket.push(g);
    }
    flush(&mut bucket, &mut pairs);
    drop(chunks);
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut docs: Vec<u64> = pairs.iter().flat_map(|&(l, e)| [l, e]).collect();
    docs.par_sort_unstable();
    docs.dedup();
    docs.shrink_to_fit();

    // Pass 2: spill the candidates' similarity data; score each pair at its later record.
    let _ = std::fs::remove_dir_all(&ctx.scratch_dir);
    let mut spill = ShingleSpill::create(ctx.scratch_dir.join("dedup_near_candidates.bin"))?;
    let mut out = PairWriter::create(&ctx.dir.pairs_file(ctx.range))?;
    let mut sides = (0..ctx.shards())
        .map(|i| SideReader::open(&ctx.dir.side_file(i, ctx.shards())))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut g, mut next_doc, mut next_pair, mut similar) = (0u64, 0usize, 0usize, 0u64);
    merge_global(&ctx.maps, |shard, _| {
        let here = g;
        g += 1;
        if docs.get(next_doc) != Some(&here) {
            return sides[shard].skip();
        }
        let p = decode_side(sides[shard].read_row()?, perm)?;
        let data = if cfg.verify { p.shingles } else { p.sig };
        while let Some(&(later, earlier)) = pairs.get(next_pair) {
            if later != here {
                break;
            }
            next_pair += 1;
            let rank = docs
                .binary_search(&earlier)
                .map_err(|_| StageError::msg("dedup_near reduce lost a candidate (a bug)"))?;
            let sim = similarity(cfg.verify, &spill.get(rank as u32)?, &data);
            if sim >= cfg.threshold {
                similar += 1;
                out.write(Pair {
                    later,
                    earlier,
                    sim,
                })?;
            }
        }
        spill.push(&data)?;
        next_doc += 1;
        Ok(())
    })?;
    spill.remove();
    for s in &sides {
        s.finish()?;
    }
    if next_pair != pairs.len() || g != records {
        return Err(StageError::msg(
            "the map files changed during the reduce: run it again",
        ));
    }
    out.commit()?;
    let stats = serde_json::json!({
        "records": records,
        "keys_in_range": keys_in_range,
        "key_bytes": key_bytes,
        "key_bytes_per_record": key_bytes as f64 / records.max(1) as f64,
        "candidate_pairs": pairs.len(),
        "candidate_records": docs.len(),
        "similar_pairs": similar,
    });
    ctx.complete_in(PAIRS, stats.clone())?;
    Ok(stats)
}
