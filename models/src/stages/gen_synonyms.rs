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

use std::collections::BTreeMap;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};

use super::synonym_source::{stage_err, unknown_fields, Components, SynonymSourceConfig};
use crate::attack::augment::{AugmentConfig, Augmenter};

fn d_label() -> String {
    "label".into()
}
fn d_variants() -> usize {
    AugmentConfig::default().variants
}
fn d_swap() -> f64 {
    AugmentConfig::default().swap_frac
}

/// Adds synonym-substituted variants after each record.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct GenSynonymsConfig {
    /// Candidate source and filters (shared with `synonym_attack` and the CLI); `min_sim`
    /// applies to each single-word substitution.
    #[serde(flatten)]
    pub source: SynonymSourceConfig,
    /// Field copied to the variants (the label; default `label`). Absent is fine.
    #[serde(default = "d_label")]
    pub label_field: String,
    /// Variants per record, at most (2).
    #[serde(default = "d_variants")]
    pub variants: usize,
    /// Share of words replaced per variant, at least one word (0.1).
    #[serde(default = "d_swap")]
    pub swap_frac: f64,
    /// Keys no option took: reported by validation.
    #[serde(flatten, skip_serializing)]
    #[schemars(skip)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

impl StageConfig for GenSynonymsConfig {
    const TYPE: &'static str = "gen_synonyms";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        unknown_fields::<GenSynonymsConfig>(v, &self.unknown);
        self.source.validate(v);
        v.at_least("variants", self.variants, 1);
        if !(self.swap_frac > 0.0 && self.swap_frac <= 1.0) {
            v.error(
                "swap_frac",
                format!("must be in (0, 1], got {}", self.swap_frac),
            );
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.source.files()
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
            self.parts = Some(self.config.source.load()?);
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
                candidates: cfg.source.candidates.clone(),
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
        assert_eq!((c.variants, c.source.candidates.top_k), (2, 30));
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let mut bad = c.clone();
        bad.variants = 0;
        bad.swap_frac = 0.0;
        bad.source.mlm = String::new();
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
