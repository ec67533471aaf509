//! Pipeline stage types over [`crate::attack`]: `synonym_attack` (the MLM synonym attack of
//! SEEDS.md §3 on every record, one record out per record in, summary JSON in the run
//! directory) and `gen_synonyms` (label-preserving synonym variants for augmentation).
//!
//! Both load their models (victim, fill-mask MLM, optional sentence encoder and POS tagger) at
//! the first batch, so an upstream stage of the same run may write them. Model paths are
//! relative to the working directory (as `tag_pos`'s `model`); output files (the attack
//! summary) are relative to the run directory (as writers' `path`).

pub mod gen_synonyms;
pub mod synonym_attack;

use std::collections::HashSet;
use std::path::Path;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::{Registry, StageError};
use mavuno_stages::tag::perceptron::Perceptron;

use crate::attack::{MeanPooledEncoder, MlmCandidates};
use crate::ModelError;

/// Registers `synonym_attack` and `gen_synonyms`.
pub fn register(r: &mut Registry) {
    r.add::<synonym_attack::SynonymAttackConfig>();
    r.add::<gen_synonyms::GenSynonymsConfig>();
}

/// A model error as a stage error, with its whole `source()` chain (a `ModelError::Io` says
/// only "cannot read PATH"; the reason is in its source).
pub(crate) fn stage_err(e: ModelError) -> StageError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    StageError::msg(msg)
}

/// The candidate generator and filters that both stages share.
pub(crate) struct Components {
    pub generator: MlmCandidates,
    pub encoder: Option<MeanPooledEncoder>,
    pub tagger: Option<Perceptron>,
    pub stopwords: HashSet<String>,
}

/// Paths and names of [`Components`], as the stage configs spell them.
pub(crate) struct ComponentPaths<'a> {
    pub mlm: &'a str,
    pub encoder: Option<&'a str>,
    pub pos_model: Option<&'a str>,
    pub lang: Option<&'a str>,
    pub protect: &'a [String],
    pub device: &'a str,
}

impl ComponentPaths<'_> {
    /// Pure checks shared by both stages.
    pub fn validate(&self, v: &mut Validator) {
        if self.mlm.is_empty() {
            v.error("mlm", "must not be empty");
        }
        if let Some(l) = self.lang {
            if mavuno_stages::quality::stopwords::stopword_list(l).is_none() {
                v.error("lang", format!("no committed stopword list for {l:?}"));
            }
        }
        if let Err(e) = parse_device(self.device) {
            v.error("device", e);
        }
    }

    /// Model files, for the cache key.
    pub fn files(&self) -> Vec<String> {
        let mut f = vec![
            format!("{}/model.safetensors", self.mlm),
            format!("{}/tokenizer.json", self.mlm),
        ];
        if let Some(e) = self.encoder {
            f.push(format!("{e}/model.safetensors"));
        }
        if let Some(p) = self.pos_model {
            f.push(p.to_string());
        }
        f
    }

    /// Loads everything.
    pub fn load(&self) -> Result<Components, StageError> {
        let device = crate::pick_device(self.device).map_err(stage_err)?;
        let generator = MlmCandidates::load(Path::new(self.mlm), device).map_err(stage_err)?;
        let encoder = match self.encoder {
            Some(d) => Some(MeanPooledEncoder::load(Path::new(d), device).map_err(stage_err)?),
            None => None,
        };
        let tagger = match self.pos_model {
            Some(p) => Some(Perceptron::load(Path::new(p)).map_err(StageError::msg)?),
            None => None,
        };
        let mut stopwords: HashSet<String> = match self.lang {
            Some(l) => match mavuno_stages::quality::stopwords::stopword_list(l) {
                Some(src) => mavuno_stages::quality::stopwords::parse_list(src)
                    .into_iter()
                    .map(|w| w.to_lowercase())
                    .collect(),
                None => return Err(StageError::msg(format!("no stopword list for {l:?}"))),
            },
            None => HashSet::new(),
        };
        stopwords.extend(self.protect.iter().map(|w| w.to_lowercase()));
        Ok(Components {
            generator,
            encoder,
            tagger,
            stopwords,
        })
    }
}

/// `cpu`, `auto`, `cuda` or `cuda:N`; checked without touching a device.
fn parse_device(s: &str) -> Result<(), String> {
    match s {
        "cpu" | "auto" | "cuda" => Ok(()),
        _ if s
            .strip_prefix("cuda:")
            .is_some_and(|n| n.parse::<usize>().is_ok()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "unknown device {s:?} (expected cpu, auto, cuda, cuda:N)"
        )),
    }
}

// Uniform `[0, 1)` draw for record `index` under `seed`: sampling decisions do not depend
// on batch size (the shared SplitMix64 finaliser over the pair).
pub(crate) use mavuno_stages::util::splitmix::unit_draw;

/// The label of a record's `field` as a string (numbers allowed, as `read_labeled` does).
pub(crate) fn label_of(rec: &mavuno_pipeline::Record, field: &str) -> Option<String> {
    match rec.field(field)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! The stage's `//!` TOML example parsed as its config.
    pub(crate) use mavuno_stages::testutil::doc_example;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_draw_is_uniform_enough_and_seeded() {
        let xs: Vec<f64> = (0..10_000).map(|i| unit_draw(7, i)).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let below = xs.iter().filter(|x| **x < 0.3).count();
        assert!((2_800..3_200).contains(&below), "{below}");
        assert_ne!(unit_draw(7, 5), unit_draw(8, 5));
        assert_eq!(unit_draw(7, 5), unit_draw(7, 5));
    }

    #[test]
    fn devices_are_checked_without_a_device() {
        assert!(parse_device("cuda:1").is_ok());
        assert!(parse_device("cpu").is_ok());
        assert_eq!(
            parse_device("gpu").unwrap_err(),
            "unknown device \"gpu\" (expected cpu, auto, cuda, cuda:N)"
        );
    }
}
