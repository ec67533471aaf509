//! `dedup_near`: MinHash + LSH near-duplicate removal, keep-first, in one streaming pass.
//!
//! Records are decided in input order against an incremental LSH index of the records
//! kept so far: a record whose similarity with a kept candidate (the earliest one that
//! qualifies) is at least `threshold` is a near duplicate of it; otherwise it is kept and
//! indexed. Clusters are therefore stars around their first record, and the output does
//! not depend on batch size or thread count (rayon only computes signatures).
//!
//! Similarity is the MinHash estimate (share of equal signature positions); with
//! `verify = true` it is the exact Jaccard of the shingle sets, read back from a spill
//! file in the stage's scratch directory.
//!
//! `action = "drop"` drops near duplicates with reason `near_duplicate`; `action = "mark"`
//! keeps every record and sets `fields["dup_cluster"]` to the id of its cluster's first
//! record (its own id for a first record), which the `stats` stage turns into cluster
//! sizes. Either way `clusters_path` (relative to the run directory) lists one JSON line
//! per near duplicate: `{"id": …, "dup_of": …, "similarity": …}`.
//!
//! For the run report the stage records, per language, the similarity of every record it
//! compared (a near duplicate's with its cluster's first record; a kept record's highest
//! with a candidate, 0 without one) in a fixed-size histogram (`<run>/metrics/<stage>.json`,
//! the `filter` stage's format), and a bounded, seeded sample of clusters with their texts
//! (`<run>/clusters/<stage>.json`, [`examples`]). What another threshold would keep is read
//! off the histogram, so it is an estimate: decisions depend on earlier ones. A dropped near
//! duplicate carries its similarity and the threshold into `<run>/dropped/`.
//!
//! Counters: `near_dup_pairs_total` (near duplicates found), `near_dup_clusters_total`
//! (kept records with at least one near duplicate), `near_dup_candidates_total`
//! (similarity checks made), and per language `lang_in_<lang>_total` /
//! `lang_dropped_<lang>_total` ([`super::by_lang`]).
//!
//! Memory: about [`LshIndex::bytes_per_doc`] bytes (≈700 for 16 × 7; ≈1150 measured with
//! the slack of growing tables) plus the id per kept record. Under `--shard i/n` the stage
//! is global: it runs in three phases (map, `mavuno reduce`, apply; see [`global`]) and the
//! shards together keep exactly what a single run keeps.
//!
//! ```toml
//! [stages.near]
//! type = "dedup_near"
//! inputs = ["exact"]
//! shingle = "char"
//! n = 5
//! bands = 16
//! rows = 7
//! threshold = 0.8
//! ```

use super::by_lang::ByLang;
use super::dedup_exact::field_text;
use super::key::{normalize, Normalize};
use super::minhash::{candidate_probability, LshIndex, MinHasher, ShingleKind};
use crate::quality::measures::{metrics_path, FilterMetrics, MetricDef};
use crate::stats::histogram::Scale;
use examples::{clusters_sample_path, ClusterSample};
use index::{NearIndex, Prepared, Verdict};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::global::ReduceContext;
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::DropDetail;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

mod bands;
mod cluster;
pub mod examples;
pub(crate) mod global;
mod index;
mod pair_file;

/// Largest signature length accepted (`bands * rows`).
pub const MAX_PERM: usize = 1024;

/// What happens to a near duplicate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum Action {
    /// Drop it with reason `near_duplicate`.
    #[default]
    Drop,
    /// Keep it and write `fields["dup_cluster"]` on every record.
    Mark,
}

/// Removes near duplicates with MinHash LSH, keeping the first record of each cluster.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct DedupNearConfig {
    /// Field compared: `text` (default) or the name of a string field.
    #[serde(default = "default_field")]
    pub field: String,
    /// Normalisation before shingling: `nfkc_casefold_ws` (default) or `none`.
    #[serde(default)]
    pub normalize: Normalize,
    /// Shingle unit: `char` (grapheme clusters, default) or `word`.
    #[serde(default)]
    pub shingle: ShingleKind,
    /// Shingle length in units, 1–64; default 5 for `char`, 3 for `word`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// LSH bands (default 16). `bands * rows` is the signature length, at most 1024.
    #[serde(default = "default_bands")]
    pub bands: usize,
    /// Rows (hashes) per band (default 7).
    #[serde(default = "default_rows")]
    pub rows: usize,
    /// Similarity at or above which a record is a near duplicate, in [0, 1] (default 0.8).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Check candidates with the exact Jaccard of their shingle sets instead of the
    /// MinHash estimate (slower; spills shingles to scratch). Default false.
    #[serde(default)]
    pub verify: bool,
    /// `drop` (default) or `mark` (keep all, write `dup_cluster`).
    #[serde(default)]
    pub action: Action,
    /// JSONL list of near duplicates, relative to the run directory; "" writes none.
    #[serde(default = "default_clusters_path")]
    pub clusters_path: String,
}

fn default_field() -> String {
    "text".into()
}
fn default_bands() -> usize {
    16
}
fn default_rows() -> usize {
    7
}
fn default_threshold() -> f64 {
    0.8
}
fn default_clusters_path() -> String {
    "dedup_near_clusters.jsonl".into()
}

impl Default for DedupNearConfig {
    fn default() -> Self {
        DedupNearConfig {
            field: default_field(),
            normalize: Normalize::default(),
            shingle: ShingleKind::default(),
            n: None,
            bands: default_bands(),
            rows: default_rows(),
            threshold: default_threshold(),
            verify: false,
            action: Action::default(),
            clusters_path: default_clusters_path(),
        }
    }
}

impl DedupNearConfig {
    /// Shingle length with its default filled in.
    pub fn shingle_len(&self) -> usize {
        self.n.unwrap_or(match self.shingle {
            ShingleKind::Char => 5,
            ShingleKind::Word => 3,
        })
    }
}

impl StageConfig for DedupNearConfig {
    const TYPE: &'static str = "dedup_near";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.field.is_empty() {
            v.error("field", "must not be empty");
        }
        if let Some(n) = self.n {
            v.range("n", n, 1, 64);
        }
        v.at_least("bands", self.bands, 1);
        v.at_least("rows", self.rows, 1);
        let perm = self.bands.saturating_mul(self.rows);
        if perm > MAX_PERM {
            v.error(
                "bands",
                format!("bands * rows must be at most {MAX_PERM}, got {perm}"),
            );
        }
        v.range("threshold", self.threshold, 0.0, 1.0);
        let p = candidate_probability(self.threshold, self.bands, self.rows);
        if v.errors.is_empty() && self.threshold > 0.0 && p < 0.5 {
            v.warn(
                "threshold",
                format!("{} bands of {} rows find a pair at similarity {} with probability {p:.2}; use fewer rows or more bands", self.bands, self.rows, self.threshold),
            );
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        match &ctx.global {
            None => Ok(StageImpl::Stage(Box::new(DedupNear::new(
                self.clone(),
                ctx,
            )?))),
            Some(phase) => global::build(self, ctx, phase),
        }
    }

    fn global(&self) -> bool {
        true
    }

    fn reduce_clusters(&self) -> bool {
        true
    }

    fn reduce(&self, ctx: &ReduceContext) -> Result<serde_json::Value, StageError> {
        global::reduce(self, ctx)
    }
}

/// The runtime stage of a single run (or of a shard without global phases).
pub struct DedupNear {
    cfg: DedupNearConfig,
    hasher: MinHasher,
    index: NearIndex,
    clusters: Option<AtomicFile>,
    written: Vec<PathBuf>,
    by_lang: ByLang,
    /// Similarity histograms per language (one measure, `similarity`).
    metrics: FilterMetrics,
    /// Sampled clusters for the report.
    sample: ClusterSample,
    /// Where the metrics and the sample go.
    report_files: (PathBuf, PathBuf),
}

/// The measure `dedup_near` records: a record is dropped at similarity ≥ `threshold`.
pub(crate) fn similarity_def(threshold: f64) -> MetricDef {
    MetricDef {
        name: "similarity".into(),
        field: "threshold".into(),
        scale: Scale::Fraction,
        min: None,
        max: Some(threshold),
        drops_at_max: true,
    }
}

/// The shingles, signature and band keys of a record's field, or why it has none.
pub(crate) fn prepare(
    cfg: &DedupNearConfig,
    hasher: &MinHasher,
    rec: &Record,
) -> Result<Prepared, String> {
    let text = normalize(field_text(rec, &cfg.field)?, cfg.normalize);
    let shingles = hasher.shingles(&text);
    let sig = hasher.signature(&shingles);
    let keys = if shingles.is_empty() {
        Vec::new()
    } else {
        LshIndex::new(cfg.bands, cfg.rows).band_keys(&sig)
    };
    Ok(Prepared {
        shingles,
        sig,
        keys,
    })
}

impl DedupNearConfig {
    /// The hash family: from the run seed.
    pub(crate) fn hasher(&self, seed: u64) -> MinHasher {
        MinHasher::new(
            self.shingle,
            self.shingle_len(),
            self.bands * self.rows,
            seed,
        )
    }

    /// The clusters file, if one is configured.
    pub(crate) fn clusters_file(
        &self,
        ctx: &BuildContext,
    ) -> Result<Option<AtomicFile>, StageError> {
        if self.clusters_path.is_empty() {
            Ok(None)
        } else {
            Ok(Some(AtomicFile::create(
                &ctx.output_path(&self.clusters_path),
            )?))
        }
    }
}

/// Writes one line of the clusters file.
pub(crate) fn write_cluster_line(
    f: &mut Option<AtomicFile>,
    cfg: &DedupNearConfig,
    id: &str,
    dup_of: &str,
    sim: f64,
) -> Result<(), StageError> {
    if let Some(f) = f.as_mut() {
        let line = serde_json::json!({"id": id, "dup_of": dup_of, "similarity": sim});
        writeln!(f, "{line}").map_err(|e| StageError::io(PathBuf::from(&cfg.clusters_path), e))?;
    }
    Ok(())
}

impl DedupNear {
    /// Builds the stage: the hash family comes from the run seed.
    pub fn new(cfg: DedupNearConfig, ctx: &BuildContext) -> Result<DedupNear, StageError> {
        let spill = cfg
            .verify
            .then(|| ctx.scratch_dir.join("dedup_near_shingles.bin"));
        Ok(DedupNear {
            hasher: cfg.hasher(ctx.seed),
            index: NearIndex::new(cfg.bands, cfg.rows, cfg.threshold, spill)?,
            clusters: cfg.clusters_file(ctx)?,
            metrics: FilterMetrics::new(vec![similarity_def(cfg.threshold)]),
            sample: ClusterSample::new(ctx.seed),
            report_files: (
                metrics_path(&ctx.run_dir, &ctx.stage_id),
                clusters_sample_path(&ctx.run_dir, &ctx.stage_id),
            ),
            cfg,
            written: Vec::new(),
            by_lang: ByLang::default(),
        })
    }

    /// The LSH index (for reporting its size).
    pub fn index(&self) -> &LshIndex {
        self.index.lsh()
    }

    fn decide(
        &mut self,
        mut rec: Record,
        p: Prepared,
        out: &mut Emitter,
        n: &mut [u64; 3],
    ) -> Result<(), StageError> {
        match self.index.decide(&rec.id, &p, &mut n[2])? {
            Verdict::Dup { doc, sim, first } => {
                n[0] += 1;
                n[1] += first as u64;
                let dup_of = self.index.kept_id(doc).to_string();
                write_cluster_line(&mut self.clusters, &self.cfg, &rec.id, &dup_of, sim)?;
                let lang = rec.lang.as_deref();
                self.metrics.add_one(lang, 0, sim);
                self.sample.duplicate(doc, &rec.id, lang, &rec.text, sim);
                match self.cfg.action {
                    Action::Drop => {
                        self.by_lang.dropped(rec.lang.as_deref());
                        let d = DropDetail {
                            value: sim,
                            threshold: self.cfg.threshold,
                        };
                        out.drop_measured(rec, "near_duplicate", d)
                    }
                    Action::Mark => {
                        rec.set("dup_cluster", dup_of);
                        out.keep(rec);
                    }
                }
            }
            Verdict::Kept { doc, best } => {
                let lang = rec.lang.as_deref();
                self.metrics.add_one(lang, 0, best);
                self.sample.kept(doc, &rec.id, lang, &rec.text);
                if self.cfg.action == Action::Mark {
                    let id = rec.id.clone();
                    rec.set("dup_cluster", id);
                }
                out.keep(rec);
            }
            Verdict::Unindexed => {
                if self.cfg.action == Action::Mark {
                    let id = rec.id.clone();
                    rec.set("dup_cluster", id);
                }
                out.keep(rec);
            }
        }
        Ok(())
    }
}

impl Stage for DedupNear {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let (cfg, hasher) = (&self.cfg, &self.hasher);
        let prepared: Vec<Result<Prepared, String>> =
            batch.par_iter().map(|r| prepare(cfg, hasher, r)).collect();
        // [pairs, clusters, candidate checks]
        let mut n = [0u64; 3];
        for (rec, p) in batch.into_iter().zip(prepared) {
            self.by_lang.seen(rec.lang.as_deref());
            match p {
                Err(e) => out.reject(rec, e),
                Ok(p) => self.decide(rec, p, out, &mut n)?,
            }
        }
        out.counter("near_dup_pairs_total", n[0]);
        out.counter("near_dup_clusters_total", n[1]);
        out.counter("near_dup_candidates_total", n[2]);
        self.by_lang.emit(out);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        if let Some(f) = self.clusters.take() {
            self.written.push(f.commit()?);
        }
        self.index.close();
        let (m, c) = &self.report_files;
        self.metrics.write(m)?;
        self.sample.write(c, self.cfg.threshold)?;
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}

#[cfg(test)]
mod tests;
