//! `dedup_exact` in a sharded run: map, reduce and apply (see `mavuno_pipeline::global`).
//!
//! - **map**: each record's 128-bit key goes to the shard's map file.
//! - **reduce** (`--band-range k/K`): the keys with `key mod K = k` are read in global
//!   order through the single run's rule ([`FirstSeen`]); every later copy becomes a
//!   decision for its shard. A range holds about 30 bytes per distinct key in it, so `K`
//!   ranges split the corpus's keys over `K` tasks.
//! - **apply**: each shard drops the records the reduce named, with the single run's
//!   reason and counters.

use super::by_lang::ByLang;
use super::dedup_exact::{field_text, DedupExactConfig, FirstSeen};
use super::global::MapStage;
use super::key::key128;
use mavuno_pipeline::global::{merge_global, Decisions, GlobalPhase, ReduceContext};
use mavuno_pipeline::{Batch, Emitter, Record, Stage, StageError, StageImpl};

/// The stage of one phase.
pub(crate) fn build(cfg: &DedupExactConfig, phase: &GlobalPhase) -> Result<StageImpl, StageError> {
    Ok(StageImpl::Stage(match phase {
        GlobalPhase::Map { file, .. } => {
            let (field, mode) = (cfg.field.clone(), cfg.normalize);
            Box::new(MapStage::create(file, None, move |r: &Record| {
                Ok(key128(field_text(r, &field)?, mode)
                    .to_le_bytes()
                    .to_vec()
                    .into())
            })?)
        }
        GlobalPhase::Apply { decisions } => Box::new(ApplyExact {
            field: cfg.field.clone(),
            decisions: Decisions::open(decisions)?,
            ordinal: 0,
            by_lang: ByLang::default(),
        }),
    }))
}

/// The reduce of one key range.
pub(crate) fn reduce(ctx: &ReduceContext) -> Result<serde_json::Value, StageError> {
    let (k, count) = ctx.range;
    let mut seen = FirstSeen::default();
    let mut writers = (0..ctx.shards())
        .map(|i| ctx.decision_writer(i))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut records, mut in_range, mut dups) = (0u64, 0u64, 0u64);
    merge_global(&ctx.maps, |shard, row| {
        records += 1;
        let key = u128::from_le_bytes(
            row.payload
                .as_slice()
                .try_into()
                .map_err(|_| StageError::msg("corrupt dedup_exact map row"))?,
        );
        if (key % count as u128) as u64 != k {
            return Ok(());
        }
        in_range += 1;
        if !seen.first(key) {
            dups += 1;
            writers[shard].write(row.ordinal, &row.id, &[])?;
        }
        Ok(())
    })?;
    for w in writers {
        w.commit()?;
    }
    let stats = serde_json::json!({
        "records": records,
        "records_in_range": in_range,
        "exact_duplicates": dups,
        "key_set_bytes": seen.bytes(),
    });
    ctx.complete(stats.clone())?;
    Ok(stats)
}

/// The apply phase: drop what the reduce named.
struct ApplyExact {
    field: String,
    decisions: Decisions,
    ordinal: u64,
    by_lang: ByLang,
}

impl Stage for ApplyExact {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let mut dups = 0;
        for rec in batch {
            let ordinal = self.ordinal;
            self.ordinal += 1;
            self.by_lang.seen(rec.lang.as_deref());
            if let Err(e) = field_text(&rec, &self.field) {
                out.reject(rec, e);
                continue;
            }
            if self.decisions.take(ordinal, &rec.id)?.is_empty() {
                out.keep(rec);
            } else {
                dups += 1;
                self.by_lang.dropped(rec.lang.as_deref());
                out.drop(rec, "exact_duplicate");
            }
        }
        self.by_lang.emit(out);
        out.counter("exact_dup_total", dups);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        self.decisions.finish()
    }
}
