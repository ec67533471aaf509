//! The three interfaces the attack is written against, so it runs on any victim (word-CNN,
//! BiLSTM, a fine-tuned BERT `Classifier`), any candidate source (a fill-mask MLM, a
//! dictionary, a test fake) and any sentence encoder, without this module importing them.
//!
//! Every method takes a *batch*: the attack builds all variants of a step (all deletions, all
//! candidate substitutions of one word) and sends them in one call. This is the design choice
//! that makes the attack fast compared with TextAttack, whose constraints query one text at a
//! time (ANCHORS.md §3, TextAttack #245, #372).

use crate::ModelError;

/// A black-box classifier under attack: label names and class probabilities.
pub trait Victim {
    /// Class names; `predict_proba` rows are in this order.
    fn labels(&self) -> &[String];
    /// One probability row (summing to 1) per text.
    fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// A word equal to this in a candidate request stands for a masked position (the attack's
/// `mask_all_occurrences`): generators that mask (the fill-mask MLM) put their mask token
/// there; others may treat it as an unknown word.
pub const MASK_SENTINEL: &str = "\u{0}MASK\u{0}";

/// Proposes replacement words in context.
pub trait CandidateGenerator {
    /// Top-`k` whole-word fill-mask candidates for word `i` of `words`, batched over several
    /// requests: one `(word, score)` list (best first) per request, each at most `k` long.
    fn candidates(
        &self,
        requests: &[(Vec<String>, usize)],
        k: usize,
    ) -> Result<Vec<Vec<(String, f32)>>, ModelError>;
}

/// Maps texts to fixed-size vectors; the attack compares them by cosine similarity.
pub trait SentenceEncoder {
    /// One vector per text, all of the same dimension.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// Cosine similarity; 0 when either vector is zero (no direction, no similarity claim).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// A fine-tuned transformer classifier (`mavuno finetune --task classify`) is a victim: its
/// `predict_proba` is already batched and runs under `no_grad`.
impl Victim for crate::finetune::Classifier {
    fn labels(&self) -> &[String] {
        crate::finetune::Classifier::labels(self)
    }
    fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        crate::finetune::Classifier::predict_proba(self, texts)
    }
}
