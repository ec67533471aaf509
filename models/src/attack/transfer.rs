//! Transferability (SEEDS.md §3.2): replay adversarial examples found on victim A against
//! victim B and measure B's accuracy on originals vs adversarials, the fraction of B's
//! predictions that change, and B's mean confidence drop on its original prediction.

use serde::Serialize;

use super::attack::argmax;
use super::traits::Victim;
use crate::ModelError;

/// One victim's response to a set of adversarial pairs.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// Victim name (its directory, for the CLI).
    pub victim: String,
    /// Pairs replayed.
    pub examples: usize,
    /// Accuracy against the gold label on the original texts.
    pub accuracy_original: f64,
    /// Accuracy against the gold label on the adversarial texts.
    pub accuracy_adversarial: f64,
    /// Fraction of pairs whose predicted label differs between original and adversarial.
    pub flip_rate: f64,
    /// Among pairs the victim got right originally, the fraction it gets wrong adversarially.
    pub success_rate_on_correct: f64,
    /// Mean of p(orig pred | original) − p(orig pred | adversarial).
    pub mean_confidence_drop: f64,
}

/// One adversarial pair: original text, adversarial text, gold label.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Original text.
    pub text: String,
    /// Adversarial text.
    pub adversarial: String,
    /// Gold label.
    pub label: String,
}

/// Scores `pairs` on `victim`, in batches of 256 texts.
pub fn transfer(
    name: &str,
    victim: &dyn Victim,
    pairs: &[Pair],
) -> Result<TransferReport, ModelError> {
    let labels = victim.labels();
    let (mut correct_o, mut correct_a, mut flips, mut drop) = (0usize, 0usize, 0usize, 0f64);
    let (mut right_before, mut broken) = (0usize, 0usize);
    for chunk in pairs.chunks(128) {
        let mut texts: Vec<&str> = chunk.iter().map(|p| p.text.as_str()).collect();
        texts.extend(chunk.iter().map(|p| p.adversarial.as_str()));
        let probs = victim.predict_proba(&texts)?;
        let (po, pa) = probs.split_at(chunk.len());
        for ((p, o), a) in chunk.iter().zip(po).zip(pa) {
            let (yo, ya) = (argmax(o), argmax(a));
            let gold = labels.iter().position(|l| *l == p.label);
            let ok_o = gold == Some(yo);
            correct_o += usize::from(ok_o);
            correct_a += usize::from(gold == Some(ya));
            flips += usize::from(yo != ya);
            if ok_o {
                right_before += 1;
                broken += usize::from(gold != Some(ya));
            }
            drop += f64::from(o[yo] - a.get(yo).copied().unwrap_or(0.0));
        }
    }
    let n = pairs.len().max(1) as f64;
    Ok(TransferReport {
        victim: name.to_string(),
        examples: pairs.len(),
        accuracy_original: correct_o as f64 / n,
        accuracy_adversarial: correct_a as f64 / n,
        flip_rate: flips as f64 / n,
        success_rate_on_correct: broken as f64 / right_before.max(1) as f64,
        mean_confidence_drop: drop / n,
    })
}
