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

use std::path::PathBuf;
use std::time::Instant;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{label_of, stage_err, unit_draw, ComponentPaths, Components};
use crate::attack::attack::summarize;
use crate::attack::{AttackConfig, Attacker, ExampleResult, Importance, Victim};
use crate::victims::load_victim;

fn d_label() -> String {
    "label".into()
}
fn d_top_k() -> usize {
    50
}
fn d_one() -> usize {
    1
}
fn d_sim() -> f64 {
    0.8
}
fn d_importance() -> String {
    "delete".into()
}
fn d_min_chars() -> usize {
    2
}
fn d_device() -> String {
    "cpu".into()
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

/// Attacks each labelled record with MLM synonym substitution.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct SynonymAttackConfig {
    /// Victim directory: a word-CNN/BiLSTM from `mavuno train-victim` (`victim.json`) or a
    /// classifier from `mavuno finetune --task classify` (`config.json`).
    pub victim: String,
    /// Fill-mask MLM directory (BERT, RoBERTa or pre-LN RoBERTa with its MLM head and
    /// `tokenizer.json`), e.g. written by `mavuno pretrain`.
    pub mlm: String,
    /// Sentence encoder directory for the similarity filter (mean pooling, e.g.
    /// all-MiniLM-L6-v2); no similarity filter without it.
    #[serde(default)]
    pub encoder: Option<String>,
    /// POS tagger model (`.mvt`) for the POS-equality filter; none by default.
    #[serde(default)]
    pub pos_model: Option<String>,
    /// ISO 639-3 code of the committed stopword list: stopwords are never attacked nor
    /// inserted. None by default.
    #[serde(default)]
    pub lang: Option<String>,
    /// More words never attacked nor inserted, besides the stopword list (case-insensitive),
    /// e.g. `["user"]` for AfriSenti's `@user` mention placeholder.
    #[serde(default)]
    pub protect: Vec<String>,
    /// Field holding the gold label (string or number; default `label`).
    #[serde(default = "d_label")]
    pub label_field: String,
    /// Fill-mask candidates per word (paper: 50).
    #[serde(default = "d_top_k")]
    pub top_k: usize,
    /// Maximum words substituted per example (paper: 1).
    #[serde(default = "d_one")]
    pub max_words: usize,
    /// Maximum ranked words tried (paper: 1); default: `max_words`.
    #[serde(default)]
    pub try_words: Option<usize>,
    /// Minimum cosine between original and adversarial embeddings (needs `encoder`; 0.8).
    #[serde(default = "d_sim")]
    pub min_sim: f64,
    /// Maximum victim queries per example, the original included; unlimited by default.
    #[serde(default)]
    pub query_budget: Option<usize>,
    /// Maximum character edit distance between a word and its replacement; none by default.
    #[serde(default)]
    pub max_edit: Option<usize>,
    /// Word importance by `delete` (paper) or by replacing the word with this token
    /// (e.g. `<unk>`).
    #[serde(default = "d_importance")]
    pub importance: String,
    /// Words shorter than this (characters) are neither scored, attacked nor inserted (2).
    #[serde(default = "d_min_chars")]
    pub min_word_chars: usize,
    /// `all` (default) or `successes`: which attacked records leave the stage.
    #[serde(default)]
    pub keep: KeepMode,
    /// Put the adversarial text in `text` and the original in `original_text` (false).
    #[serde(default)]
    pub replace_text: bool,
    /// Attack this seeded random share of the records (0 < sample ≤ 1); all by default.
    #[serde(default)]
    pub sample: Option<f64>,
    /// Device: `cpu` (default), `auto`, `cuda`, `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
    /// Summary JSON, relative to the run directory (`attack_summary.json`).
    #[serde(default = "d_summary")]
    pub summary: String,
}

impl SynonymAttackConfig {
    fn paths(&self) -> ComponentPaths<'_> {
        ComponentPaths {
            mlm: &self.mlm,
            encoder: self.encoder.as_deref(),
            pos_model: self.pos_model.as_deref(),
            lang: self.lang.as_deref(),
            protect: &self.protect,
            device: &self.device,
        }
    }

    /// The attack's hyperparameters.
    pub fn attack_config(&self) -> AttackConfig {
        AttackConfig {
            top_k: self.top_k,
            max_words: self.max_words,
            try_words: self.try_words.unwrap_or(self.max_words),
            min_sim: self.min_sim as f32,
            query_budget: self.query_budget,
            max_edit: self.max_edit,
            importance: if self.importance == "delete" {
                Importance::Delete
            } else {
                Importance::Replace(self.importance.clone())
            },
            min_word_chars: self.min_word_chars,
        }
    }
}

impl StageConfig for SynonymAttackConfig {
    const TYPE: &'static str = "synonym_attack";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.victim.is_empty() {
            v.error("victim", "must not be empty");
        }
        self.paths().validate(v);
        v.at_least("top_k", self.top_k, 1);
        v.at_least("max_words", self.max_words, 1);
        if let Some(t) = self.try_words {
            v.at_least("try_words", t, self.max_words);
        }
        v.range("min_sim", self.min_sim, -1.0, 1.0);
        if let Some(q) = self.query_budget {
            v.at_least("query_budget", q, 2);
        }
        if let Some(s) = self.sample {
            if !(s > 0.0 && s <= 1.0) {
                v.error("sample", format!("must be in (0, 1], got {s}"));
            }
        }
        if self.importance.is_empty() {
            v.error("importance", "must be \"delete\" or a replacement token");
        }
        if self.summary.is_empty() {
            v.error("summary", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        let mut f = self.paths().files();
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

/// Copies the attack's outcome into the record.
fn annotate(rec: &mut mavuno_pipeline::Record, r: &ExampleResult, replace_text: bool) {
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
    }
}

impl Stage for SynonymAttack {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        if self.loaded.is_none() {
            let victim = load_victim(std::path::Path::new(&self.config.victim), {
                crate::pick_device(&self.config.device).map_err(stage_err)?
            })
            .map_err(stage_err)?;
            self.loaded = Some(Loaded {
                victim,
                parts: self.config.paths().load()?,
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
            config: cfg.attack_config(),
        };
        let (results, _) = attacker.attack_all(&examples).map_err(stage_err)?;
        self.busy += start.elapsed().as_secs_f64();
        let (mut succ, mut skip, mut queries) = (0u64, 0u64, 0u64);
        for ((slot, mut rec), mut r) in pending.into_iter().zip(results) {
            succ += u64::from(r.success);
            skip += u64::from(r.skipped);
            queries += r.queries as u64;
            annotate(&mut rec, &r, cfg.replace_text);
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
        let mut v = serde_json::to_value(&summary).map_err(|e| StageError::msg(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "config".into(),
                serde_json::to_value(&self.config).unwrap_or_default(),
            );
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| StageError::msg(e.to_string()))?;
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

    fn example() -> SynonymAttackConfig {
        super::super::testutil::doc_example(include_str!("synonym_attack.rs"))
    }

    #[test]
    fn example_validates_and_errors_name_the_field() {
        let c = example();
        assert_eq!(c.top_k, 50);
        assert_eq!(c.keep, KeepMode::All);
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let bad = SynonymAttackConfig {
            top_k: 0,
            sample: Some(1.5),
            try_words: Some(0),
            max_words: 2,
            device: "gpu".into(),
            lang: Some("xxx".into()),
            ..c
        };
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
        let e = t.try_into::<SynonymAttackConfig>().unwrap_err();
        assert!(e.to_string().contains("top_kk"), "{e}");
    }
}
