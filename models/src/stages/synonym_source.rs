//! What the two stage types over [`crate::attack`] share: `synonym_attack` (the MLM synonym
//! attack of SEEDS.md §3 on every record, one record out per record in, summary JSON in the
//! run directory) and `gen_synonyms` (label-preserving synonym variants for augmentation)
//! take their synonym source from one [`SynonymSourceConfig`], which `mavuno attack` and
//! `mavuno augment` also use.
//!
//! Both load their models (victim, fill-mask MLM, optional sentence encoder and POS tagger) at
//! the first batch, so an upstream stage of the same run may write them. Model paths are
//! relative to the working directory (as `tag_pos`'s `model`); output files (the attack
//! summary) are relative to the run directory (as writers' `path`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::StageError;
use mavuno_stages::tag::perceptron::Perceptron;
use serde::{Deserialize, Serialize};

use crate::attack::{AttackConfig, CandidateConfig, Importance, MeanPooledEncoder, MlmCandidates};
use crate::ModelError;

/// A model error as a stage error, with its whole `source()` chain (a `ModelError::Io` says
/// only "cannot read PATH"; the reason is in its source).
pub fn stage_err(e: ModelError) -> StageError {
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
pub struct Components {
    /// Fill-mask candidates.
    pub generator: MlmCandidates,
    /// Sentence encoder for the similarity filter.
    pub encoder: Option<MeanPooledEncoder>,
    /// POS tagger for the POS-equality filter.
    pub tagger: Option<Perceptron>,
    /// Lowercased stopwords and protected words.
    pub stopwords: HashSet<String>,
}

fn d_device() -> String {
    "cpu".into()
}

/// Where synonyms come from and how they are filtered: the options `synonym_attack`,
/// `gen_synonyms`, `mavuno attack` and `mavuno augment` share, declared once (flattened into
/// the stages' tables; the verbs' flags override these defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct SynonymSourceConfig {
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
    /// Candidate count and filters.
    #[serde(flatten)]
    pub candidates: CandidateConfig,
    /// Device: `cpu` (default), `auto`, `cuda`, `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
}

impl SynonymSourceConfig {
    /// The defaults with this MLM (what the verbs start from).
    pub fn with_mlm(mlm: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "mlm": mlm }))
    }

    /// Pure checks shared by both stages and the verbs.
    pub fn validate(&self, v: &mut Validator) {
        if self.mlm.is_empty() {
            v.error("mlm", "must not be empty");
        }
        if let Some(l) = &self.lang {
            if mavuno_stages::quality::stopwords::stopword_list(l).is_none() {
                v.error("lang", format!("no committed stopword list for {l:?}"));
            }
        }
        if let Err(e) = parse_device(&self.device) {
            v.error("device", e);
        }
        v.at_least("top_k", self.candidates.top_k, 1);
        v.range("min_sim", self.candidates.min_sim, -1.0, 1.0);
    }

    /// Model files, for the cache key.
    pub fn files(&self) -> Vec<String> {
        let mut f = vec![
            format!("{}/model.safetensors", self.mlm),
            format!("{}/tokenizer.json", self.mlm),
        ];
        if let Some(e) = &self.encoder {
            f.push(format!("{e}/model.safetensors"));
        }
        if let Some(p) = &self.pos_model {
            f.push(p.clone());
        }
        f
    }

    /// Loads everything.
    pub fn load(&self) -> Result<Components, StageError> {
        let device = crate::pick_device(&self.device).map_err(stage_err)?;
        let generator = MlmCandidates::load(Path::new(&self.mlm), device).map_err(stage_err)?;
        let encoder = match &self.encoder {
            Some(d) => Some(MeanPooledEncoder::load(Path::new(d), device).map_err(stage_err)?),
            None => None,
        };
        let tagger = match &self.pos_model {
            Some(p) => Some(Perceptron::load(Path::new(p)).map_err(StageError::msg)?),
            None => None,
        };
        let mut stopwords: HashSet<String> = match &self.lang {
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

/// Keys of a stage table that no field of `T` declares (the stages flatten shared option
/// structs, which serde cannot combine with `deny_unknown_fields`; their catch-all map also
/// sees the keys the flattened structs took, so the known names come from `T`'s schema);
/// `validate` reports each as an error.
pub(crate) fn unknown_fields<T: JsonSchema>(
    v: &mut Validator,
    unknown: &BTreeMap<String, serde_json::Value>,
) {
    let schema = mavuno_pipeline::schemars::schema_for!(T);
    let known = schema
        .get("properties")
        .and_then(serde_json::Value::as_object);
    for k in unknown.keys() {
        if !known.is_some_and(|p| p.contains_key(k)) {
            v.error(k, format!("unknown field `{k}`"));
        }
    }
}

/// Checks of the attack's search options, shared by the stage and `mavuno attack`.
pub fn validate_attack(a: &AttackConfig, v: &mut Validator) {
    v.at_least("max_words", a.max_words, 1);
    if let Some(t) = a.try_words {
        v.at_least("try_words", t, a.max_words);
    }
    if let Some(q) = a.query_budget {
        v.at_least("query_budget", q, 2);
    }
    if let Some(b) = a.flip_batch {
        v.at_least("flip_batch", b, 1);
    }
    if a.importance == Importance::Replace(String::new()) {
        v.error("importance", "must be \"delete\" or a replacement token");
    }
}

/// Whether `text`'s length in characters, counted as the paper does (the sum of its
/// whitespace-separated words' lengths), is within `range` (inclusive).
pub fn in_char_range(text: &str, range: [usize; 2]) -> bool {
    let n: usize = text.split_whitespace().map(|w| w.chars().count()).sum();
    n >= range[0] && n <= range[1]
}

/// Whether some whitespace-separated token occurs more than once in `text`: the paper samples
/// only texts without a repeated token.
pub fn has_repeated_token(text: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    text.split_whitespace().any(|t| !seen.insert(t))
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
    fn a_repeated_whitespace_token_is_found() {
        assert!(has_repeated_token("a b  a"));
        assert!(!has_repeated_token("a b ab"));
        assert!(!has_repeated_token(""));
    }

    #[test]
    fn paper_char_range_counts_word_characters() {
        assert!(in_char_range(&"a".repeat(30), [30, 300]));
        assert!(!in_char_range(&"a".repeat(29), [30, 300]));
        // Whitespace does not count: 15 + 15 characters in two words.
        assert!(in_char_range(
            &format!("{}   {}", "b".repeat(15), "c".repeat(15)),
            [30, 300]
        ));
        assert!(!in_char_range(&"d".repeat(301), [30, 300]));
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
