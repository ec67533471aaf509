//! `order_curriculum`: scores every record's difficulty, emits the records easiest first
//! (ties keep input order) with `fields["difficulty"]`, and writes a curriculum manifest
//! to `path`: the score of every example id, the pacing function sampled at
//! `pacing_points` steps, the objective-unit schedule and the vocabulary-curriculum
//! settings, which a training loop reads together with the ordered data.
//!
//! Each record also gets `fields["curriculum_rank"]`, its position (0, 1, …) in the
//! output order.
//!
//! A barrier: records are spilled to the scratch directory, read once to fit the scorer
//! (count models), once to score, and once more to emit. Emission holds the records in
//! memory to reorder them.
//!
//! In a sharded run (`--shard i/n`) the stage is global ([`super::order_global`]): the
//! scorer is fitted on the whole corpus and the order is one global order, computed by
//! `mavuno reduce --stage ID`, which also writes the manifest where the single run
//! does; each shard emits its records in global-rank order, and `mavuno reduce --stage ID
//! --merge` merges the shards' JSON-lines outputs by `curriculum_rank` into the single
//! run's file, byte for byte.
//!
//! ```toml
//! [stages.curriculum]
//! type = "order_curriculum"
//! inputs = ["clean"]
//! scorer = "ngram_ppl"
//! ngram_order = 3
//! path = "curriculum.json"
//! pacing = { fn = "log", total_steps = 400000, start_percent = 0.0625, end_percent = 0.875, b = 0.1, c = 10.0, offset_start = true }
//! objective = "pos_nv_mlm"
//! vocab_map = "token_ids"
//! ```
//!
//! Counters: `scored_records_total`.
use crate::curriculum::difficulty::{
    easiest_first, words, DifficultyScorer, KneserNey, LengthScorer, SourceScorer, Unigram,
};
use crate::curriculum::pacing::{Pacing, PacingFn};
use crate::curriculum::spill::Spill;
use crate::curriculum::{ObjectiveSchedule, VocabMap};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::global::ReduceContext;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The field that carries a record's position in the curriculum order.
pub const RANK_FIELD: &str = "curriculum_rank";

/// The scorer as the stage and its reduce use it (shared across threads when scoring).
pub(crate) type Scorer = Box<dyn DifficultyScorer + Send + Sync>;

fn d_order() -> usize {
    3
}
fn d_k() -> f64 {
    1.0
}
fn d_points() -> usize {
    17
}
fn d_pacing() -> Pacing {
    Pacing::climb(PacingFn::Linear)
}
fn d_objective() -> String {
    "base_mlm".into()
}
fn d_source_field() -> String {
    "source_name".into()
}

/// Orders records easiest first and writes a curriculum manifest.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct OrderCurriculumConfig {
    /// Difficulty scorer: `length`, `unigram_ppl`, `ngram_ppl`, `rarity` or `source`.
    pub scorer: String,
    /// `ngram_ppl`: model order n (default 3; Kneser–Ney, discount 0.75).
    #[serde(default = "d_order")]
    pub ngram_order: usize,
    /// `unigram_ppl` and `rarity`: add-k smoothing constant (default 1).
    #[serde(default = "d_k")]
    pub smoothing_k: f64,
    /// `source`: source names, easiest first, matched against `fields[source_field]`
    /// and then the provenance file name; unknown sources rank last. Empty: CLIMB's
    /// spoken-first order of the BabyLM sources.
    #[serde(default)]
    pub source_order: Vec<String>,
    /// `source`: the field holding the source name (default `source_name`).
    #[serde(default = "d_source_field")]
    pub source_field: String,
    /// Manifest output path (relative paths under the run directory).
    pub path: String,
    /// Pacing function written to the manifest (default CLIMB linear).
    #[serde(default = "d_pacing")]
    pub pacing: Pacing,
    /// Number of evenly spaced steps (0 … total_steps) at which pacing is sampled (17).
    #[serde(default = "d_points")]
    pub pacing_points: usize,
    /// Objective curriculum: a CLIMB config name (`base_mlm`, `pos_nv_mlm`, …).
    #[serde(default = "d_objective")]
    pub objective: String,
    /// Vocabulary curriculum map, if any: `token_ids`, `pos_tags`, `pos_tags_and_token_ids`.
    #[serde(default)]
    pub vocab_map: Option<VocabMap>,
}

impl OrderCurriculumConfig {
    pub(crate) fn scorer_box(&self) -> Result<Scorer, String> {
        Ok(match self.scorer.as_str() {
            "length" => Box::new(LengthScorer),
            "unigram_ppl" => Box::new(Unigram::perplexity(self.smoothing_k)),
            "rarity" => Box::new(Unigram::rarity(self.smoothing_k)),
            "ngram_ppl" => Box::new(KneserNey::new(self.ngram_order)),
            "source" if self.source_order.is_empty() => Box::new(SourceScorer::climb_spoken_first()),
            "source" => Box::new(SourceScorer::from_order(&self.source_order)),
            other => return Err(format!("unknown scorer \"{other}\" (expected length, unigram_ppl, ngram_ppl, rarity, source)")),
        })
    }
}

impl StageConfig for OrderCurriculumConfig {
    const TYPE: &'static str = "order_curriculum";
    const KIND: StageKind = StageKind::Barrier;

    fn validate(&self, v: &mut Validator) {
        if let Err(e) = self.scorer_box() {
            v.error("scorer", e);
        }
        v.at_least("ngram_order", self.ngram_order, 1);
        if self.smoothing_k <= 0.0 {
            v.error(
                "smoothing_k",
                format!("must be positive, got {}", self.smoothing_k),
            );
        }
        if let Err(e) = self.pacing.check() {
            v.error("pacing", e);
        }
        v.at_least("pacing_points", self.pacing_points, 2);
        if ObjectiveSchedule::climb(&self.objective).is_none() {
            v.error(
                "objective",
                format!("unknown objective curriculum \"{}\"", self.objective),
            );
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        if let Some(phase) = &ctx.global {
            return super::order_global::build(self, phase, ctx);
        }
        Ok(StageImpl::Stage(Box::new(OrderCurriculum {
            scorer: self.scorer_box().map_err(StageError::msg)?,
            spill: Spill::create(&ctx.scratch_dir, "records.jsonl.zst")?,
            out_path: ctx.output_path(&self.path),
            batch_size: ctx.batch_size,
            cfg: self.clone(),
        })))
    }

    /// Global: the count scorers fit on the whole corpus, and the order is one order over
    /// every shard's records.
    fn global(&self) -> bool {
        true
    }

    fn rank_field(&self) -> Option<&'static str> {
        Some(RANK_FIELD)
    }

    fn reduce(&self, ctx: &ReduceContext) -> Result<serde_json::Value, StageError> {
        super::order_global::reduce(self, ctx)
    }
}

impl OrderCurriculumConfig {
    /// Writes the curriculum manifest: `examples` lists `[id, score]` in curriculum order.
    /// The single run and the reduce of a sharded run both write it here. The examples
    /// stream into the file (pretty-printed exactly as `serde_json::to_vec_pretty` would
    /// print the whole object), so no JSON tree of the corpus is built.
    pub(crate) fn write_manifest<'a>(
        &self,
        examples: impl Iterator<Item = (&'a str, f64)>,
        out: &Path,
    ) -> Result<(), StageError> {
        let p = &self.pacing;
        let n = self.pacing_points.max(2);
        let pacing: Vec<serde_json::Value> = (0..n)
            .map(|k| {
                let step = (p.total_steps as f64 * k as f64 / (n - 1) as f64).round() as u64;
                serde_json::json!({"step": step, "p": p.at(step)})
            })
            .collect();
        let manifest = serde_json::json!({
            "scorer": self.scorer,
            "examples": [],
            "pacing": {"params": p, "schedule": pacing},
            "objective": ObjectiveSchedule::climb(&self.objective),
            "vocabulary_curriculum": self.vocab_map.map(|m| serde_json::json!({"map": m, "pos_order": crate::curriculum::CLIMB_POS})),
        });
        let json =
            |e: serde_json::Error| StageError::context("encoding the curriculum manifest", e);
        let whole = serde_json::to_string_pretty(&manifest).map_err(json)?;
        // Keys print sorted, so `examples` comes first: `{\n  "examples": [],\n…`.
        let (head, tail) = whole
            .split_once("\"examples\": []")
            .ok_or_else(|| StageError::msg("curriculum manifest layout (a bug)"))?;
        let mut f = mavuno_pipeline::io::AtomicFile::create(out)?;
        let io = |e| StageError::io(out, e);
        f.write_all(head.as_bytes()).map_err(io)?;
        f.write_all(b"\"examples\": [").map_err(io)?;
        let mut first = true;
        for (id, score) in examples {
            let item =
                serde_json::to_string_pretty(&serde_json::json!([id, score])).map_err(json)?;
            f.write_all(if first { b"\n" } else { b",\n" })
                .map_err(io)?;
            first = false;
            for (k, line) in item.lines().enumerate() {
                if k > 0 {
                    f.write_all(b"\n").map_err(io)?;
                }
                f.write_all(b"    ").map_err(io)?;
                f.write_all(line.as_bytes()).map_err(io)?;
            }
        }
        f.write_all(if first { b"]" } else { b"\n  ]" })
            .map_err(io)?;
        f.write_all(tail.as_bytes()).map_err(io)?;
        f.commit().map(|_| ())
    }
}

/// Sets the fields the stage gives an emitted record: its score and its rank.
pub(crate) fn mark(r: &mut Record, score: f64, rank: u64) {
    r.set("difficulty", score);
    r.set(RANK_FIELD, rank);
}

/// The runtime stage.
pub struct OrderCurriculum {
    cfg: OrderCurriculumConfig,
    scorer: Scorer,
    spill: Spill,
    out_path: PathBuf,
    batch_size: usize,
}

/// The record's source name: `fields[source_field]`, else its provenance file name.
pub(crate) fn source_of<'a>(source_field: &str, r: &'a Record) -> Option<&'a str> {
    r.str_field(source_field).or_else(|| {
        r.source.as_ref().map(|p| {
            let f: &str = &p.file;
            f.rsplit('/').next().unwrap_or(f)
        })
    })
}

impl Stage for OrderCurriculum {
    fn process(&mut self, batch: Batch, _out: &mut Emitter) -> Result<(), StageError> {
        // Records are emitted (kept) in finish, after reordering.
        for r in &batch {
            self.spill.push(r)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        let bs = self.batch_size;
        // Pass 1: fit. The corpus iterator is materialised per batch.
        let mut all_words: Vec<Vec<String>> = Vec::new();
        self.spill.replay(bs, |b| {
            all_words.extend(b.iter().map(|r| words(&r.text)));
            Ok(())
        })?;
        self.scorer.fit(&mut all_words.into_iter());
        // Pass 2: score and hold the records for reordering.
        let mut recs: Vec<Record> = Vec::new();
        let mut scores: Vec<f64> = Vec::new();
        let (scorer, field) = (&self.scorer, &self.cfg.source_field);
        self.spill.replay(bs, |b| {
            for r in b {
                scores.push(scorer.score(&words(&r.text), source_of(field, &r)));
                recs.push(r);
            }
            Ok(())
        })?;
        let order = easiest_first(&scores);
        let mut slots: Vec<Option<Record>> = recs.into_iter().map(Some).collect();
        let mut listed = Vec::with_capacity(order.len());
        for (rank, &i) in order.iter().enumerate() {
            let Some(mut r) = slots[i].take() else {
                continue;
            };
            mark(&mut r, scores[i], rank as u64);
            listed.push((r.id.clone(), scores[i]));
            out.keep(r);
        }
        out.counter("scored_records_total", order.len() as u64);
        self.cfg.write_manifest(
            listed.iter().map(|(id, s)| (id.as_str(), *s)),
            &self.out_path,
        )
    }

    fn outputs(&self) -> Vec<PathBuf> {
        vec![self.out_path.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> OrderCurriculumConfig {
        crate::testutil::doc_example(include_str!("order_curriculum.rs"))
    }

    #[test]
    fn example_validates_and_errors_are_verbatim() {
        let c = example();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let bad = OrderCurriculumConfig {
            scorer: "size".into(),
            objective: "x".into(),
            ..c
        };
        let mut v = Validator::default();
        bad.validate(&mut v);
        let msgs: Vec<&str> = v.errors.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "unknown scorer \"size\" (expected length, unigram_ppl, ngram_ppl, rarity, source)",
                "unknown objective curriculum \"x\""
            ]
        );
    }

    #[test]
    fn orders_easiest_first_and_writes_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = example();
        c.scorer = "length".into();
        let ctx = BuildContext::for_tests(dir.path());
        let StageImpl::Stage(mut s) = c.build(&ctx).unwrap() else {
            panic!()
        };
        let mut out = Emitter::collecting(2);
        let texts = ["a b c", "a", "a b c d", "x y z"];
        let recs: Vec<Record> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Record::new(i.to_string(), *t))
            .collect();
        s.process(recs[..2].to_vec(), &mut out).unwrap();
        s.process(recs[2..].to_vec(), &mut out).unwrap();
        s.finish(&mut out).unwrap();
        let ids: Vec<String> = out.take_collected().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["1", "0", "3", "2"]);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("curriculum.json")).unwrap())
                .unwrap();
        assert_eq!(m["examples"][0], serde_json::json!(["1", 1.0]));
        assert_eq!(m["pacing"]["schedule"].as_array().unwrap().len(), 17);
        assert_eq!(m["objective"]["units"][0]["unit"], "pos_noun_verb");
    }

    #[test]
    fn the_streamed_manifest_is_the_pretty_printed_object() {
        let dir = tempfile::tempdir().unwrap();
        let c = example();
        let write = |examples: &[(&str, f64)]| {
            let p = dir.path().join("m.json");
            c.write_manifest(examples.iter().copied(), &p).unwrap();
            String::from_utf8(std::fs::read(&p).unwrap()).unwrap()
        };
        let empty = write(&[]);
        let v: serde_json::Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(v["examples"], serde_json::json!([]));
        assert_eq!(v["scorer"], "ngram_ppl");
        let examples = [("a:1", 2.5), ("b\"x", 1e-7)];
        // What serde_json prints for the whole object, examples included.
        let whole =
            serde_json::to_string_pretty(&serde_json::json!({ "examples": examples })).unwrap();
        let printed = whole
            .strip_prefix("{\n  ")
            .unwrap()
            .strip_suffix("\n}")
            .unwrap();
        assert_eq!(
            write(&examples),
            empty.replacen("\"examples\": []", printed, 1)
        );
    }

    #[test]
    fn masking_and_curriculum_stages_are_registered_with_documented_fields() {
        let r = crate::registry();
        for t in ["train_tokenizer", "plan_masks", "order_curriculum"] {
            let e = r.get(t).unwrap_or_else(|| panic!("{t} not registered"));
            assert!(!e.description().is_empty(), "{t}");
            for f in e.fields() {
                assert!(!f.description.is_empty(), "{t}.{} has no doc", f.name);
            }
        }
    }
}
