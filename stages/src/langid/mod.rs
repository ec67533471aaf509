//! Language identification: script detection ([`script`]), mavuno's own hashed
//! character n-gram classifier ([`model`]), a pure-Rust fastText model reader
//! ([`fasttext`]), evaluation ([`eval`]) and the `langid` stage ([`langid`]).
//!
//! [`Identifier`] hides the backend: both give a [`model::Prediction`] (an ISO 639-3
//! label or `und`, and a confidence in [0, 1]) under the same threshold rules.

pub mod eval;
pub mod fasttext;
#[allow(clippy::module_inception)]
pub mod langid;
pub mod lingua_fallback;
pub mod model;
pub mod names;
pub mod script;

use model::{best_of, Features, LidModel, Prediction, Thresholds};
use std::path::Path;

/// The committed default model; found from any directory by [`crate::shipped::resolve`].
pub const DEFAULT_MODEL: &str = crate::shipped::LID_MODEL;

/// The committed default model from this crate's tests, whatever the working directory.
#[cfg(test)]
pub(crate) fn committed_model_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DEFAULT_MODEL)
}

/// Which classifier to use.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// mavuno's own model (`mavuno lid train`).
    #[default]
    Mavuno,
    /// A fastText supervised model (`.bin` or `.ftz`): lid.176, GlotLID, OpenLID, NLLB.
    Fasttext,
}

use mavuno_pipeline::schemars;

/// A loaded language identifier.
#[allow(clippy::large_enum_variant)] // one per stage, never moved in a hot loop
pub enum Identifier {
    /// mavuno's model.
    Mavuno(LidModel),
    /// A fastText model.
    FastText(fasttext::FastText),
    /// mavuno's model, then lingua for the languages it has no data for.
    MavunoLingua(LidModel, lingua_fallback::LinguaFallback),
}

/// The default `und` threshold for fastText models.
pub const FASTTEXT_DEFAULT_THRESHOLD: f32 = 0.5;

impl Identifier {
    /// Loads a model of the given backend.
    pub fn load(backend: Backend, path: &Path) -> Result<Identifier, String> {
        match backend {
            Backend::Mavuno => LidModel::load(path)
                .map(Identifier::Mavuno)
                .map_err(|e| e.to_string()),
            Backend::Fasttext => fasttext::FastText::load(path)
                .map(Identifier::FastText)
                .map_err(|e| e.to_string()),
        }
    }

    /// Adds lingua after mavuno's model ([`lingua_fallback`]): `min_confidence` is
    /// lingua's bar (default [`lingua_fallback::DEFAULT_MIN_CONFIDENCE`]).
    pub fn with_lingua(self, min_confidence: Option<f64>) -> Result<Identifier, String> {
        let f = || {
            lingua_fallback::LinguaFallback::new(
                min_confidence.unwrap_or(lingua_fallback::DEFAULT_MIN_CONFIDENCE),
            )
        };
        match self {
            Identifier::Mavuno(m) => Ok(Identifier::MavunoLingua(m, f())),
            Identifier::MavunoLingua(m, _) => Ok(Identifier::MavunoLingua(m, f())),
            Identifier::FastText(_) => Err("lingua combines with the mavuno backend only; \
                fastText models such as GlotLID label Zulu, Xhosa, Somali and Luganda themselves"
                .into()),
        }
    }

    /// mavuno's model, when this identifier uses one.
    pub fn mavuno_model(&self) -> Option<&LidModel> {
        match self {
            Identifier::Mavuno(m) | Identifier::MavunoLingua(m, _) => Some(m),
            Identifier::FastText(_) => None,
        }
    }

    /// The model's own `und` threshold (used where the config sets none).
    pub fn default_threshold(&self) -> f32 {
        match self {
            Identifier::Mavuno(m) | Identifier::MavunoLingua(m, _) => m.header().threshold,
            Identifier::FastText(_) => FASTTEXT_DEFAULT_THRESHOLD,
        }
    }

    /// The labels the model can output (besides `und`).
    pub fn labels(&self) -> Vec<String> {
        match self {
            Identifier::Mavuno(m) => m.labels().to_vec(),
            Identifier::FastText(f) => f.labels().to_vec(),
            Identifier::MavunoLingua(m, _) => {
                let mut l = m.labels().to_vec();
                for x in lingua_fallback::LinguaFallback::labels() {
                    if !l.contains(&x) {
                        l.push(x);
                    }
                }
                l
            }
        }
    }

    /// Every label's score for one text (mavuno's model: after the coverage factor, over
    /// the labels of the text's script; fastText: its probabilities), before any threshold.
    pub fn scores_with(&self, text: &str, f: &mut Features) -> Vec<(String, f32)> {
        match self {
            Identifier::Mavuno(m) | Identifier::MavunoLingua(m, _) => m.scores_with(text, f),
            Identifier::FastText(ft) => ft.probabilities(text),
        }
    }

    /// Predicts one text.
    pub fn predict(&self, text: &str, t: &Thresholds) -> Prediction {
        let mut f = Features::default();
        self.predict_with(text, t, &mut f)
    }

    /// Predicts one text, reusing a feature buffer.
    pub fn predict_with(&self, text: &str, t: &Thresholds, f: &mut Features) -> Prediction {
        match self {
            Identifier::Mavuno(m) => m.predict_with(text, t, f),
            Identifier::MavunoLingua(m, l) => {
                let p = m.predict_with(text, t, f);
                l.predict(m, text, &p).unwrap_or(p)
            }
            Identifier::FastText(ft) => {
                if text.trim().is_empty() {
                    return Prediction::und(0.0);
                }
                best_of(ft.probabilities(text), t, FASTTEXT_DEFAULT_THRESHOLD)
            }
        }
    }
}
