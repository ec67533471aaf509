//! `gen_synonyms`: label-preserving data augmentation by synonym substitution
//! ([`crate::attack::augment::Augmenter`]: fill-mask candidates through the attack's filters,
//! no victim). Each record is kept and followed by up to `variants` distinct variants in which
//! about `swap_frac` of the words are replaced. A variant copies the record's id (plus
//! `~syn<k>`), language, provenance and label field, and gets `augmented_from` = the original's
//! id; other fields are not copied, since they may describe the original text (`tokens`,
//! `spans`). Records that get no variant (no eligible word, no surviving candidate) are still
//! kept. The variants of the k-th record (in input order) use the RNG of (run seed, k), so the
//! output does not depend on batch size.
//!
//! ```toml
//! [stages.augment]
//! type = "gen_synonyms"
//! inputs = ["train"]
//! mlm = "runs/mlm/hau"
//! pos_model = "models/tag/pos-hau.mvt"
//! lang = "hau"
//! variants = 2
//! swap_frac = 0.1
//! top_k = 30
//! ```
//!
//! Counters: `variants_total`, `no_variant_total`, `candidates_total`, `candidates_kept_total`.

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};

use super::{stage_err, ComponentPaths, Components};
use crate::attack::augment::{AugmentConfig, Augmenter};

fn d_label() -> String {
    "label".into()
}
fn d_variants() -> usize {
    2
}
fn d_swap() -> f64 {
    0.1
}
fn d_top_k() -> usize {
    50
}
fn d_sim() -> f64 {
    0.8
}
fn d_device() -> String {
    "cpu".into()
}

/// Adds synonym-substituted variants after each record.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct GenSynonymsConfig {
    /// Fill-mask MLM directory (BERT, RoBERTa or pre-LN RoBERTa with its MLM head and
    /// `tokenizer.json`), e.g. written by `mavuno pretrain`.
    pub mlm: String,
    /// Sentence encoder directory for the similarity filter; none by default.
    #[serde(default)]
    pub encoder: Option<String>,
    /// POS tagger model (`.mvt`) for the POS-equality filter; none by default.
    #[serde(default)]
    pub pos_model: Option<String>,
    /// ISO 639-3 code of the committed stopword list (never replaced, never inserted).
    #[serde(default)]
    pub lang: Option<String>,
    /// More words never attacked nor inserted, besides the stopword list (case-insensitive),
    /// e.g. `["user"]` for AfriSenti's `@user` mention placeholder.
    #[serde(default)]
    pub protect: Vec<String>,
    /// Field copied to the variants (the label; default `label`). Absent is fine.
    #[serde(default = "d_label")]
    pub label_field: String,
    /// Variants per record, at most (2).
    #[serde(default = "d_variants")]
    pub variants: usize,
    /// Share of words replaced per variant, at least one word (0.1).
    #[serde(default = "d_swap")]
    pub swap_frac: f64,
    /// Fill-mask candidates per word (50).
    #[serde(default = "d_top_k")]
    pub top_k: usize,
    /// Minimum cosine of each substitution to the original (needs `encoder`; 0.8).
    #[serde(default = "d_sim")]
    pub min_sim: f64,
    /// Maximum character edit distance between a word and its replacement; none by default.
    #[serde(default)]
    pub max_edit: Option<usize>,
    /// Device: `cpu` (default), `auto`, `cuda`, `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
}

impl GenSynonymsConfig {
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
}

impl StageConfig for GenSynonymsConfig {
    const TYPE: &'static str = "gen_synonyms";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        self.paths().validate(v);
        v.at_least("variants", self.variants, 1);
        if !(self.swap_frac > 0.0 && self.swap_frac <= 1.0) {
            v.error(
                "swap_frac",
                format!("must be in (0, 1], got {}", self.swap_frac),
            );
        }
        v.at_least("top_k", self.top_k, 1);
        v.range("min_sim", self.min_sim, -1.0, 1.0);
    }

    fn input_files(&self) -> Vec<String> {
        self.paths().files()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(GenSynonyms {
            config: self.clone(),
            seed: ctx.seed,
            parts: None,
            next_index: 0,
        })))
    }
}

/// The runtime stage.
pub struct GenSynonyms {
    config: GenSynonymsConfig,
    seed: u64,
    parts: Option<Components>,
    next_index: u64,
}

/// The variant record: text, id, language, provenance and label of `rec`.
fn variant(rec: &Record, text: String, k: usize, label_field: &str) -> Record {
    let mut v = Record::new(format!("{}~syn{k}", rec.id), text);
    v.lang = rec.lang.clone();
    v.source = rec.source.clone();
    if let Some(l) = rec.field(label_field) {
        v.set(label_field, l.clone());
    }
    v.set("augmented_from", rec.id.clone());
    v
}

impl Stage for GenSynonyms {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        if self.parts.is_none() {
            self.parts = Some(self.config.paths().load()?);
        }
        let Some(p) = self.parts.as_ref() else {
            return Err(StageError::msg("models not loaded"));
        };
        let cfg = &self.config;
        let mut aug = Augmenter {
            generator: &p.generator,
            tagger: p.tagger.as_ref().map(|t| t as _),
            encoder: p.encoder.as_ref().map(|e| e as _),
            stopwords: p.stopwords.clone(),
            config: AugmentConfig {
                variants: cfg.variants,
                swap_frac: cfg.swap_frac,
                top_k: cfg.top_k,
                min_sim: cfg.min_sim as f32,
                max_edit: cfg.max_edit,
                seed: 0,
            },
        };
        for rec in batch {
            let index = self.next_index;
            self.next_index += 1;
            // One RNG stream per record: (run seed, position).
            aug.config.seed = self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (mut vs, counts) = aug
                .augment(std::slice::from_ref(&rec.text))
                .map_err(stage_err)?;
            let vs = vs.pop().unwrap_or_default();
            out.counter("candidates_total", counts.generated as u64);
            out.counter("candidates_kept_total", counts.kept as u64);
            out.counter("variants_total", vs.len() as u64);
            out.counter("no_variant_total", u64::from(vs.is_empty()));
            let extra: Vec<Record> = vs
                .into_iter()
                .enumerate()
                .map(|(k, t)| variant(&rec, t, k, &cfg.label_field))
                .collect();
            out.keep_many(std::iter::once(rec).chain(extra));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> GenSynonymsConfig {
        super::super::testutil::doc_example(include_str!("gen_synonyms.rs"))
    }

    #[test]
    fn example_validates_and_bad_values_are_named() {
        let c = example();
        assert_eq!((c.variants, c.top_k), (2, 30));
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let bad = GenSynonymsConfig {
            variants: 0,
            swap_frac: 0.0,
            mlm: String::new(),
            ..c
        };
        let mut v = Validator::default();
        bad.validate(&mut v);
        let got: Vec<(&str, &str)> = v
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("mlm", "must not be empty"),
                ("variants", "must be at least 1, got 0"),
                ("swap_frac", "must be in (0, 1], got 0"),
            ]
        );
    }

    #[test]
    fn variants_carry_label_and_provenance_but_not_stale_fields() {
        let mut r = Record::new("r1", "ina son gida");
        r.lang = Some("hau".into());
        r.set("label", "positive");
        r.set("tokens", serde_json::json!(["ina", "son", "gida"]));
        let v = variant(&r, "ina son daki".into(), 0, "label");
        assert_eq!(v.id, "r1~syn0");
        assert_eq!(v.lang.as_deref(), Some("hau"));
        assert_eq!(v.str_field("label"), Some("positive"));
        assert_eq!(v.str_field("augmented_from"), Some("r1"));
        assert!(v.field("tokens").is_none());
    }
}
