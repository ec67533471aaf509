//! Model-based difficulty ("self-paced", CLIMB's `self_perplexity`, SEEDS.md §2.3): every
//! `rescore_every` steps all training examples are re-scored with the current model's MLM
//! pseudo-perplexity (each non-special token masked in turn, exp of the mean cross-entropy;
//! `eval::mlm::sequence_pseudo_perplexities`), and the data curriculum's percentile sampler
//! continues on the new scores. Before the first rescoring the scores are the examples'
//! `difficulty` (e.g. unigram perplexity from `order_curriculum`; uniform difficulties give
//! CLIMB's "random_perplexity" start), else their length.
//!
//! Resume: the scores in use are stored in each checkpoint (`difficulty_scores.json`), so a
//! resumed run continues on exactly the scores the uninterrupted run had at that step, even
//! when the checkpoint falls between two rescorings (the model of the last rescoring is gone by
//! then). The file holds each score twice: `scores` as JSON numbers for reading, and `bits`
//! (the f64 bit patterns) which resuming uses, because JSON text does not round-trip every
//! f64 (serde_json's default float parser is off by an ulp at times; the test shows one).

use std::path::Path;

use tch::Device;

use crate::eval::mlm::{sequence_pseudo_perplexities, PllVocab};
use crate::hf::write_atomic;
use crate::mlm::MlmModel;
use crate::train::data::{Dataset, VocabSpec};
use crate::ModelError;

/// Masked copies per forward pass. Fixed (not the training batch size) so the scores, and
/// with them the sampled batches, do not change with `batch_size`.
pub const RESCORE_BATCH: usize = 64;

const SCORES_FILE: &str = "difficulty_scores.json";

/// The pseudo-perplexity of every example of `data` under `model` (eval mode, no dropout).
pub fn self_perplexities(
    model: &MlmModel,
    data: &Dataset,
    vocab: &VocabSpec,
    device: Device,
) -> Result<Vec<f64>, ModelError> {
    let seqs: Vec<&[u32]> = data.examples.iter().map(|e| e.ids.as_slice()).collect();
    let pll = PllVocab {
        special_ids: &vocab.info.special_ids,
        mask_id: vocab.info.mask_id,
        pad_id: vocab.pad_id,
    };
    sequence_pseudo_perplexities(model, &seqs, pll, RESCORE_BATCH, device)
}

/// Writes `scores` into checkpoint directory `dir`.
pub fn save_scores(dir: &Path, scores: &[f64]) -> Result<(), ModelError> {
    let bits: Vec<u64> = scores.iter().map(|x| x.to_bits()).collect();
    let text = serde_json::to_string(&serde_json::json!({"scores": scores, "bits": bits}))
        .map_err(|e| ModelError::Data(format!("cannot serialise difficulty scores: {e}")))?;
    write_atomic(&dir.join(SCORES_FILE), text.as_bytes())
}

/// The scores stored in checkpoint `dir`, if it has them; they must be `n` long (one per
/// training example), otherwise the checkpoint belongs to other data.
pub fn load_scores(dir: &Path, n: usize) -> Result<Option<Vec<f64>>, ModelError> {
    let path = dir.join(SCORES_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    #[derive(serde::Deserialize)]
    struct Stored {
        bits: Vec<u64>,
    }
    let stored: Stored = serde_json::from_str(&text).map_err(|source| ModelError::Config {
        path: path.clone(),
        source,
    })?;
    let scores: Vec<f64> = stored.bits.into_iter().map(f64::from_bits).collect();
    if scores.len() != n {
        return Err(ModelError::Data(format!(
            "{}: {} scores for {n} training examples",
            path.display(),
            scores.len()
        )));
    }
    Ok(Some(scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_exactly_and_length_is_checked() -> Result<(), ModelError> {
        let dir = tempfile::tempdir().map_err(|source| ModelError::Io {
            path: "tempdir".into(),
            source,
        })?;
        let scores = vec![1.0 / 3.0, 1234.5678901234567, f64::MIN_POSITIVE, 7.0];
        save_scores(dir.path(), &scores)?;
        let back = load_scores(dir.path(), 4)?.ok_or(ModelError::Data("no scores".into()))?;
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            scores.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(matches!(
            load_scores(dir.path(), 5),
            Err(ModelError::Data(_))
        ));
        let empty = tempfile::tempdir().map_err(|source| ModelError::Io {
            path: "tempdir".into(),
            source,
        })?;
        assert!(load_scores(empty.path(), 4)?.is_none());
        Ok(())
    }
}
