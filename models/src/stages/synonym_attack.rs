//! `synonym_attack`: the MLM synonym attack (SEEDS.md §3, [`crate::attack::Attacker`]) on every
//! record with a `text` and a gold label. Each attacked record leaves with the attack's fields:
//! `adversarial`, `orig_pred`, `adv_pred`, `orig_probs`, `adv_probs`, `substitutions`
//! (`[{position, old, new}]`), `queries`, `success`, `skipped` (already misclassified, not
//! attacked). The corpus summary (accuracy under attack, success rate, % perturbed words, mean
//! queries, examples/s, filter counts) is written to `summary` in the run directory when the
//! input ends.
//!
//! The victim's original predictions are batched over each input batch, and every step of one
//! example (all deletions; all surviving candidates of a word) is one victim call. With
//! `keep = "successes"` the stage passes on only successful adversarial examples (the others are
//! dropped as `misclassified` or `attack_failed`), and `replace_text = true` makes `text` the
//! adversarial text (the original goes to `original_text`): together they produce the
//! adversarial-training set of `configs/attack-advtrain.toml`. `sample` attacks a seeded random
//! share of the records (the rest are dropped as `not_sampled`; the draw depends on the run seed
//! and the record's position only). Records without a label, or with a label the victim does not
//! know, are rejected; records with no word are dropped as `no_words`.
//!
//! ```toml
//! [stages.attack]
//! type = "synonym_attack"
//! inputs = ["test"]
//! victim = "runs/victims/hau-cnn"
//! mlm = "runs/mlm/hau"
//! pos_model = "models/tag/pos-hau.mvt"
//! lang = "hau"
//! top_k = 50
//! max_words = 1
//! min_sim = 0.8
//! summary = "attack_summary.json"
//! ```
//!
//! Counters: `attacked_total`, `successes_total`, `skipped_total`, `queries_total`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::synonym_source::{
    has_repeated_token, in_char_range, label_of, stage_err, unit_draw, unknown_fields,
    validate_attack, Components, SynonymSourceConfig,
};
use crate::attack::attack::summarize;
use crate::attack::{AttackConfig, Attacker, ExampleResult, Victim};
use crate::victims::load_victim;

fn d_label() -> String {
    "label".into()
}
fn d_summary() -> String {
    "attack_summary.json".into()
}

/// Which records leave the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum KeepMode {
    /// Every attacked record, successful or not.
    #[default]
    All,
    /// Only successful adversarial examples.
    Successes,
}

/// How an adversarial-training example is labelled (with `replace_text`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum AdvLabel {
    /// The victim's original prediction (the paper's `HARD_BERT_ADV.ipynb`).
    #[default]
    OriginalPrediction,
    /// The gold label.
    Gold,
}

/// Attacks each labelled record with MLM synonym substitution.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct SynonymAttackConfig {
    /// Victim directory: a word-CNN/BiLSTM from `mavuno train-victim` (`victim.json`) or a
    /// classifier from `mavuno finetune --task classify` (`config.json`).
    pub victim: String,
    /// Candidate source and filters (shared with `gen_synonyms` and the CLI).
    #[serde(flatten)]
    pub source: SynonymSourceConfig,
    /// The search (shared with `mavuno attack`).
    #[serde(flatten)]
    pub attack: AttackConfig,
    /// Field holding the gold label (string or number; default `label`).
    #[serde(default = "d_label")]
    pub label_field: String,
    /// `all` (default) or `successes`: which attacked records leave the stage.
    #[serde(default)]
    pub keep: KeepMode,
    /// Put the adversarial text in `text` and the original in `original_text` (false).
    #[serde(default)]
    pub replace_text: bool,
    /// With `replace_text`: label the adversarial example with the victim's
    /// `original_prediction` (the paper, default) or the `gold` label, written to
    /// `label_field` (the gold label goes to `gold_label`). Recorded in the summary.
    #[serde(default)]
    pub adv_label: AdvLabel,
    /// Attack this seeded random share of the records (0 < sample ≤ 1); all by default.
    #[serde(default)]
    pub sample: Option<f64>,
    /// The paper's sampling: attack only texts whose length (the sum of their words'
    /// characters) is within `[min, max]`, e.g. `[30, 300]`; others are dropped as
    /// `length_out_of_range`. All lengths by default.
    #[serde(default)]
    pub char_range: Option<[usize; 2]>,
    /// The paper's sampling, second condition: attack only texts in which no
    /// whitespace-separated token occurs twice; others are dropped as `repeated_token`.
    #[serde(default)]
    pub distinct_tokens: bool,
    /// Summary JSON, relative to the run directory (`attack_summary.json`).
    #[serde(default = "d_summary")]
    pub summary: String,
    /// Keys no option took: reported by validation.
    #[serde(flatten, skip_serializing)]
    #[schemars(skip)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

impl StageConfig for SynonymAttackConfig {
    const TYPE: &'static str = "synonym_attack";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        unknown_fields::<SynonymAttackConfig>(v, &self.unknown);
        if self.victim.is_empty() {
            v.error("victim", "must not be empty");
        }
        self.source.validate(v);
        validate_attack(&self.attack, v);
        if let Some([lo, hi]) = self.char_range {
            if lo > hi {
                v.error("char_range", format!("min {lo} is above max {hi}"));
            }
        }
        if let Some(s) = self.sample {
            if !(s > 0.0 && s <= 1.0) {
                v.error("sample", format!("must be in (0, 1], got {s}"));
            }
        }
        if self.summary.is_empty() {
            v.error("summary", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        let mut f = self.source.files();
        // Word victims keep their weights in model.safetensors too; victim.json or
        // config.json tells which kind, and a change to either must invalidate the cache.
        f.push(format!("{}/model.safetensors", self.victim));
        f
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(SynonymAttack {
            config: self.clone(),
            summary_path: ctx.output_path(&self.summary),
            seed: ctx.seed,
            loaded: None,
            results: Vec::new(),
            next_index: 0,
            busy: 0.0,
        })))
    }
}

struct Loaded {
    victim: Box<dyn Victim + Send>,
    parts: Components,
}

/// The runtime stage.
pub struct SynonymAttack {
    config: SynonymAttackConfig,
    summary_path: PathBuf,
    seed: u64,
    loaded: Option<Loaded>,
    /// Results of every attacked record, texts removed: the summary's input.
    results: Vec<ExampleResult>,
    next_index: u64,
    /// Seconds spent attacking (model loading excluded).
    busy: f64,
}

/// Copies the attack's outcome into the record; with `replace_text` the adversarial text
/// becomes `text`, labelled as `adv_label` says.
fn annotate(rec: &mut mavuno_pipeline::Record, r: &ExampleResult, cfg: &SynonymAttackConfig) {
    let replace_text = cfg.replace_text;
    rec.set("adversarial", r.adversarial.clone());
    rec.set("orig_pred", r.orig_pred.clone());
    rec.set("adv_pred", r.adv_pred.clone());
    rec.set("orig_probs", json!(r.orig_probs));
    rec.set("adv_probs", json!(r.adv_probs));
    rec.set("substitutions", json!(r.substitutions));
    rec.set("queries", r.queries as u64);
    rec.set("success", r.success);
    rec.set("skipped", r.skipped);
    if replace_text {
        let original = std::mem::replace(&mut rec.text, r.adversarial.clone());
        rec.set("original_text", original);
        if cfg.adv_label == AdvLabel::OriginalPrediction {
            rec.set("gold_label", r.label.clone());
            rec.set(&cfg.label_field, r.orig_pred.clone());
        }
        rec.set(
            "adv_label",
            serde_json::to_value(cfg.adv_label).unwrap_or_default(),
        );
    }
}

impl Stage for SynonymAttack {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        if self.loaded.is_none() {
            let victim = load_victim(std::path::Path::new(&self.config.victim), {
                crate::pick_device(&self.config.source.device).map_err(stage_err)?
            })
            .map_err(stage_err)?;
            self.loaded = Some(Loaded {
                victim,
                parts: self.config.source.load()?,
            });
        }
        let Some(l) = self.loaded.as_ref() else {
            return Err(StageError::msg("models not loaded"));
        };
        let cfg = &self.config;
        let labels = l.victim.labels().to_vec();
        // Decide each record's fate; collect the attacked ones in order.
        let mut slots: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut pending = Vec::new();
        let mut examples = Vec::new();
        for rec in batch {
            let index = self.next_index;
            self.next_index += 1;
            let sampled = cfg.sample.is_none_or(|s| unit_draw(self.seed, index) < s);
            let label = label_of(&rec, &cfg.label_field);
            let outcome = match label {
                None => Some(Outcome::Reject(
                    rec,
                    format!("no string or number field {:?}", cfg.label_field),
                )),
                Some(l) if !labels.contains(&l) => Some(Outcome::Reject(
                    rec,
                    format!("label {l:?} is not one of the victim's labels {labels:?}"),
                )),
                Some(_) if !sampled => Some(Outcome::Drop(rec, "not_sampled")),
                Some(_) if cfg.char_range.is_some_and(|r| !in_char_range(&rec.text, r)) => {
                    Some(Outcome::Drop(rec, "length_out_of_range"))
                }
                Some(_) if cfg.distinct_tokens && has_repeated_token(&rec.text) => {
                    Some(Outcome::Drop(rec, "repeated_token"))
                }
                Some(_) if mavuno_stages::text::segment::words(&rec.text).is_empty() => {
                    Some(Outcome::Drop(rec, "no_words"))
                }
                Some(l) => {
                    examples.push((rec.text.clone(), l));
                    pending.push((slots.len(), rec));
                    None
                }
            };
            slots.push(outcome);
        }
        let start = Instant::now();
        let attacker = Attacker {
            victim: l.victim.as_ref(),
            generator: &l.parts.generator,
            tagger: l.parts.tagger.as_ref().map(|t| t as _),
            encoder: l.parts.encoder.as_ref().map(|e| e as _),
            stopwords: l.parts.stopwords.clone(),
            candidates: cfg.source.candidates.clone(),
            config: cfg.attack.clone(),
        };
        let (results, _) = attacker.attack_all(&examples).map_err(stage_err)?;
        self.busy += start.elapsed().as_secs_f64();
        let (mut succ, mut skip, mut queries) = (0u64, 0u64, 0u64);
        for ((slot, mut rec), mut r) in pending.into_iter().zip(results) {
            succ += u64::from(r.success);
            skip += u64::from(r.skipped);
            queries += r.queries as u64;
            annotate(&mut rec, &r, cfg);
            slots[slot] = Some(match (cfg.keep, r.success, r.skipped) {
                (KeepMode::Successes, false, true) => Outcome::Drop(rec, "misclassified"),
                (KeepMode::Successes, false, false) => Outcome::Drop(rec, "attack_failed"),
                _ => Outcome::Keep(rec),
            });
            r.text.clear();
            r.adversarial.clear();
            self.results.push(r);
        }
        out.counter("attacked_total", examples.len() as u64);
        out.counter("successes_total", succ);
        out.counter("skipped_total", skip);
        out.counter("queries_total", queries);
        for o in slots.into_iter().flatten() {
            out.apply(o);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        let summary = summarize(&self.results, self.busy);
        let mut v = serde_json::to_value(&summary)
            .map_err(|e| StageError::context("encoding the attack summary", e))?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "config".into(),
                serde_json::to_value(&self.config).unwrap_or_default(),
            );
        }
        let text = serde_json::to_string_pretty(&v)
            .map_err(|e| StageError::context("encoding the attack summary", e))?;
        if let Some(dir) = self.summary_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StageError::io(dir, e))?;
        }
        mavuno_pipeline::io::write_atomic(&self.summary_path, text.as_bytes())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        vec![self.summary_path.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::Importance;

    fn example() -> SynonymAttackConfig {
        super::super::testutil::doc_example(include_str!("synonym_attack.rs"))
    }

    #[test]
    fn example_validates_and_errors_name_the_field() {
        let c = example();
        assert_eq!(c.source.candidates.top_k, 50);
        assert_eq!(c.keep, KeepMode::All);
        assert_eq!(c.attack.search, crate::attack::Search::FirstFlip);
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let mut bad = c.clone();
        bad.source.candidates.top_k = 0;
        bad.sample = Some(1.5);
        bad.attack.try_words = Some(0);
        bad.attack.max_words = 2;
        bad.source.device = "gpu".into();
        bad.source.lang = Some("xxx".into());
        let mut v = Validator::default();
        bad.validate(&mut v);
        let fields: Vec<&str> = v.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["lang", "device", "top_k", "try_words", "sample"],
            "{:?}",
            v.errors
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let t: toml::Value = toml::from_str("victim = \"v\"\nmlm = \"m\"\ntop_kk = 3\n").unwrap();
        let c = t.try_into::<SynonymAttackConfig>().unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert_eq!(v.errors.len(), 1, "{:?}", v.errors);
        assert_eq!(v.errors[0].field, "top_kk");
        assert_eq!(v.errors[0].message, "unknown field `top_kk`");
    }

    #[test]
    fn shared_options_parse_flat_and_round_trip() {
        let t: toml::Value = toml::from_str(
            "victim = \"v\"\nmlm = \"m\"\ntop_k = 7\nmin_sim = 0.5\nsearch = \"min_prob\"\n\
             attack_all = true\nmask_all_occurrences = true\nchar_range = [30, 300]\n\
             distinct_tokens = true\n\
             adv_label = \"gold\"\nimportance = \"<unk>\"\n",
        )
        .unwrap();
        let c = t.try_into::<SynonymAttackConfig>().unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(c.source.candidates.top_k, 7);
        assert_eq!(c.attack.search, crate::attack::Search::MinProb);
        assert!(c.attack.attack_all && c.attack.mask_all_occurrences);
        assert_eq!(c.attack.importance, Importance::Replace("<unk>".into()));
        assert_eq!(c.char_range, Some([30, 300]));
        assert!(c.distinct_tokens);
        assert_eq!(c.adv_label, AdvLabel::Gold);
        let back: SynonymAttackConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back.attack, c.attack);
        assert_eq!(back.source, c.source);
    }
}
