//! Masked-LM evaluation: pseudo-log-likelihood loss and pseudo-perplexity (Salazar et al.,
//! "Masked Language Model Scoring", ACL 2020): every non-special token is masked in turn and
//! scored by the model; `loss` is the mean cross-entropy over all scored tokens and
//! `pseudo_perplexity = exp(loss)`.
//!
//! The masked copies of all sentences are scored in batches (one row per masked position), so
//! the cost is one forward pass per token, spread over full batches.

use std::path::Path;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::finetune::data::{encode_text, load_tokenizer, pad_batch, pad_id};
use crate::ModelError;

/// A masked LM (BERT, RoBERTa or pre-LN RoBERTa layout) loaded through
/// [`crate::mlm::load_mlm`], so every checkpoint `mavuno pretrain` writes can be scored.
pub struct MaskedLm {
    loaded: crate::mlm::LoadedMlm,
}

impl MaskedLm {
    /// Loads `dir`; the checkpoint must contain the MLM head (`cls.predictions.*` or
    /// `lm_head.*`): scoring with a freshly initialised head would be meaningless.
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let loaded = crate::mlm::load_mlm(dir, device)?;
        if !loaded.fresh.is_empty() {
            return Err(ModelError::InvalidConfig(format!(
                "{} is not a masked-LM checkpoint: missing {}",
                dir.display(),
                loaded.fresh.join(", ")
            )));
        }
        Ok(Self { loaded })
    }

    /// Logits at selected positions.
    ///
    /// # Shapes
    /// `ids`, `mask`: `[batch, seq]`; `positions`: `[batch]` → `[batch, vocab]`.
    pub fn logits_at(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        positions: &Tensor,
    ) -> Result<Tensor, ModelError> {
        let hidden = self.loaded.model.hidden(ids, Some(mask), false)?;
        let (b, _, h) = hidden.size3()?;
        let idx = positions.f_view([b, 1, 1])?.f_expand([b, 1, h], false)?;
        let at = hidden.f_gather(1, &idx, false)?.f_view([b, h])?; // [batch, hidden]
        self.loaded.model.head_logits(&at)
    }
}

/// Pseudo-perplexity of `texts` (at most `max_sentences` of them) under the model in `dir`.
/// Returns `{loss, pseudo_perplexity, tokens, sentences}`.
pub fn pseudo_perplexity(
    dir: &Path,
    texts: &[&str],
    max_sentences: Option<usize>,
    max_len: usize,
    batch_size: usize,
    device: Device,
) -> Result<Value, ModelError> {
    let model = MaskedLm::load(dir, device)?;
    let tok = load_tokenizer(dir, max_len)?;
    let mask_id = i64::from(tok.vocab.mask_id);
    let specials: Vec<i64> = tok
        .vocab
        .special_ids
        .iter()
        .map(|&i| i64::from(i))
        .collect();
    let texts = &texts[..max_sentences.map_or(texts.len(), |m| m.min(texts.len()))];
    // One item per (sentence, position): the masked copy, the position and the true id.
    let mut items: Vec<(Vec<i64>, i64, i64)> = Vec::new();
    for t in texts {
        let ids = encode_text(&tok, t)?;
        for (pos, &id) in ids.iter().enumerate() {
            if specials.contains(&id) {
                continue;
            }
            let mut masked = ids.clone();
            masked[pos] = mask_id;
            items.push((masked, pos as i64, id));
        }
    }
    let _guard = tch::no_grad_guard();
    let mut total = 0.0;
    for chunk in items.chunks(batch_size.max(1)) {
        let seqs: Vec<Vec<i64>> = chunk.iter().map(|c| c.0.clone()).collect();
        let pos: Vec<i64> = chunk.iter().map(|c| c.1).collect();
        let gold: Vec<i64> = chunk.iter().map(|c| c.2).collect();
        let (ids, mask) = pad_batch(&seqs, pad_id(&tok), device)?;
        let pos = Tensor::f_from_slice(&pos)?.f_to_device(device)?;
        let gold = Tensor::f_from_slice(&gold)?.f_to_device(device)?;
        let logits = model.logits_at(&ids, &mask, &pos)?.f_to_kind(Kind::Float)?;
        let ce =
            logits.f_cross_entropy_loss::<Tensor>(&gold, None, tch::Reduction::Sum, -100, 0.0)?;
        total += ce.f_double_value(&[])?;
    }
    let n = items.len();
    let loss = if n == 0 { 0.0 } else { total / n as f64 };
    Ok(json!({
        "loss": loss,
        "pseudo_perplexity": loss.exp(),
        "tokens": n,
        "sentences": texts.len(),
    }))
}
