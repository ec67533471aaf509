//! Evaluation of encoders and fine-tuned models, each returning a JSON report:
//!
//! - `mlm.rs`: pseudo-log-likelihood loss and pseudo-perplexity of an MLM checkpoint.
//! - `metrics.rs` + [`classify_report`]: accuracy, macro-F1, per-label P/R/F1, confusion matrix.
//! - [`ner_report`]: seqeval-strict entity P/R/F1 (micro and per type), reusing
//!   `mavuno_stages::tag::metrics` so the perceptron tagger and the transformer are scored alike.
//! - `bitext.rs`: P@1 and xSIM margin error in both directions over an [`Encoder`].
//! - `probe.rs`: a frozen-feature linear POS probe (accuracy of a softmax layer on word vectors).

pub mod bitext;
pub mod encoder;
pub mod metrics;
pub mod mlm;
pub mod probe;

use std::path::Path;

use serde_json::Value;
use tch::Device;

use crate::finetune::classifier::{argmax, Classifier, Tagger};
use crate::finetune::data::{LabelledText, TaggedWords};
use crate::ModelError;
pub use bitext::bitext_report;
pub use encoder::{Encoder, Pooling};

/// Scores the classifier in `dir` on labelled `data`. Gold labels the model does not know count
/// as errors (they are reported under `unknown_gold_labels`).
pub fn classify_report(
    dir: &Path,
    data: &[LabelledText],
    device: Device,
) -> Result<Value, ModelError> {
    let clf = Classifier::load(dir, device)?;
    let rows: Vec<&LabelledText> = data.iter().filter(|e| e.label.is_some()).collect();
    let texts: Vec<&str> = rows.iter().map(|e| e.text.as_str()).collect();
    let probs = clf.predict_proba(&texts)?;
    let pred: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let mut unknown = 0;
    let gold: Vec<usize> = rows
        .iter()
        .map(|e| {
            let l = e.label.as_deref().unwrap_or_default();
            clf.labels().iter().position(|x| x == l).unwrap_or_else(|| {
                unknown += 1;
                usize::MAX
            })
        })
        .collect();
    let mut rep = metrics::classification_report(&gold, &pred, clf.labels());
    rep["unknown_gold_labels"] = unknown.into();
    Ok(rep)
}

/// Scores the tagger in `dir` on tagged `data` (seqeval strict, IOB2).
pub fn ner_report(dir: &Path, data: &[TaggedWords], device: Device) -> Result<Value, ModelError> {
    let tagger = Tagger::load(dir, device)?;
    let rows: Vec<&TaggedWords> = data.iter().filter(|s| s.tags.is_some()).collect();
    let words: Vec<Vec<String>> = rows.iter().map(|s| s.words.clone()).collect();
    let gold: Vec<Vec<String>> = rows
        .iter()
        .map(|s| s.tags.clone().unwrap_or_default())
        .collect();
    let pred = tagger.tag(&words)?;
    Ok(mavuno_stages::tag::metrics::ner_report(
        &gold,
        &pred,
        tagger.labels(),
    ))
}

/// The longest input (specials included) the model in `dir` can take: its position table
/// minus RoBERTa's offset. `None` when `config.json` cannot be read as an encoder config.
pub fn model_max_len(dir: &Path) -> Option<usize> {
    let raw = crate::hf::read_config(dir).ok()?;
    let enc = crate::mlm::MlmConfig::from_hf(&raw).ok()?.encoder;
    let offset = enc.position_offset().map_or(0, |p| p + 1);
    usize::try_from(enc.max_position_embeddings - offset).ok()
}
