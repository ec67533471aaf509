//! A loading-only fill-mask head (`BertForMaskedLM`'s `cls.predictions`), private to the attack.
//!
//! HF layout: `transform.dense` (hidden → hidden), the config's activation,
//! `transform.LayerNorm`, then a decoder tied to the word embeddings plus a per-token `bias`.
//! The MLM pretraining code owns the *training* head; this one only reads the weights so the
//! attack can run on any HF-style MLM checkpoint. Sentence-transformer checkpoints (MiniLM
//! `all-MiniLM-L6-v2`) ship without `cls.predictions.*`; loading them fails with
//! [`ModelError::MissingTensors`] naming the absent tensors, rather than guessing a head.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Tensor};

use crate::bert::{BertConfig, HiddenAct};
use crate::ModelError;

/// The head's tensors, already on the model's device.
#[derive(Debug)]
pub(crate) struct FillMaskHead {
    dense_w: Tensor,
    dense_b: Tensor,
    ln_w: Tensor,
    ln_b: Tensor,
    /// `[vocab, hidden]`: `cls.predictions.decoder.weight`, or the tied word embeddings.
    decoder: Tensor,
    /// `[vocab]`.
    bias: Tensor,
    act: HiddenAct,
    eps: f64,
    hidden: i64,
}

const PREFIX: &str = "cls.predictions.";

impl FillMaskHead {
    /// Takes the head out of a checkpoint map whose keys have the `bert.` prefix stripped.
    pub(crate) fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        config: &BertConfig,
        path: &Path,
        device: Device,
    ) -> Result<Self, ModelError> {
        let names = [
            "transform.dense.weight",
            "transform.dense.bias",
            "transform.LayerNorm.weight",
            "transform.LayerNorm.bias",
            "bias",
        ];
        let missing: Vec<String> = names
            .iter()
            .map(|n| format!("{PREFIX}{n}"))
            .filter(|n| !tensors.contains_key(n))
            .collect();
        if !missing.is_empty() {
            // Say why, not just what: the usual cause is a sentence-embedding checkpoint.
            let mut missing = missing;
            missing.push(
                "(no MLM head: this looks like an encoder-only/sentence-transformer checkpoint; \
                 use an MLM checkpoint saved from BertForMaskedLM)"
                    .to_string(),
            );
            return Err(ModelError::MissingTensors {
                path: path.to_path_buf(),
                missing,
            });
        }
        let get = |n: &str| -> Result<Tensor, ModelError> {
            let t = tensors.get(n).ok_or_else(|| ModelError::MissingTensors {
                path: path.to_path_buf(),
                missing: vec![n.to_string()],
            })?;
            Ok(t.f_to_kind(tch::Kind::Float)?.f_to_device(device)?)
        };
        // Tied weights are often not serialized; fall back to the input embeddings.
        let decoder = match tensors.get(&format!("{PREFIX}decoder.weight")) {
            Some(_) => get(&format!("{PREFIX}decoder.weight"))?,
            None => get("embeddings.word_embeddings.weight")?,
        };
        let head = Self {
            dense_w: get(&format!("{PREFIX}transform.dense.weight"))?,
            dense_b: get(&format!("{PREFIX}transform.dense.bias"))?,
            ln_w: get(&format!("{PREFIX}transform.LayerNorm.weight"))?,
            ln_b: get(&format!("{PREFIX}transform.LayerNorm.bias"))?,
            decoder,
            bias: get(&format!("{PREFIX}bias"))?,
            act: config.hidden_act,
            eps: config.layer_norm_eps,
            hidden: config.hidden_size,
        };
        let expect = [config.vocab_size, config.hidden_size];
        if head.decoder.size() != expect {
            return Err(ModelError::ShapeMismatch {
                name: format!("{PREFIX}decoder.weight"),
                expected: expect.to_vec(),
                found: head.decoder.size(),
            });
        }
        Ok(head)
    }

    /// Vocabulary logits for hidden states `[n, hidden]` → `[n, vocab]`.
    pub(crate) fn logits(&self, hidden: &Tensor) -> Result<Tensor, ModelError> {
        let h = hidden.f_linear(&self.dense_w, Some(&self.dense_b))?;
        let h = match self.act {
            HiddenAct::Gelu => h.f_gelu("none")?,
            HiddenAct::GeluTanh => h.f_gelu("tanh")?,
            HiddenAct::Relu => h.f_relu()?,
        };
        let h = h.f_layer_norm(
            [self.hidden],
            Some(&self.ln_w),
            Some(&self.ln_b),
            self.eps,
            false,
        )?;
        Ok(h.f_linear(&self.decoder, Some(&self.bias))?)
    }
}
