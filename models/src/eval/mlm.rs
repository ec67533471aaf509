//! Masked-LM evaluation: pseudo-log-likelihood loss and pseudo-perplexity (Salazar et al.,
//! "Masked Language Model Scoring", ACL 2020): every non-special token is masked in turn and
//! scored by the model; `loss` is the mean cross-entropy over all scored tokens and
//! `pseudo_perplexity = exp(loss)`.
//!
//! The masked copies of all sentences are scored in batches (one row per masked position), so
//! the cost is one forward pass per token, spread over full batches.
//! [`pseudo_perplexity_words`] scores only the tokens of selected words (e.g. named
//! entities: the "MLM loss on entity tokens" of the LEM experiments).

use std::path::Path;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use mavuno_stages::tokenize::Tok;

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
    let texts = &texts[..max_sentences.map_or(texts.len(), |m| m.min(texts.len()))];
    let mut items = Vec::new();
    for t in texts {
        let ids = encode_text(&tok, t)?;
        push_items(&tok, &ids, |_| true, &mut items);
    }
    let (loss, n) = score_items(&model, &tok, &items, batch_size, device)?;
    Ok(json!({
        "loss": loss,
        "pseudo_perplexity": loss.exp(),
        "tokens": n,
        "sentences": texts.len(),
    }))
}

/// Pseudo-log-likelihood loss restricted to the subword tokens of selected words: each
/// sentence is `(words, selected)`, and only tokens of words with `selected[w]` are masked
/// (one at a time) and scored. With `selected` = "word is a named entity" this is the MLM
/// loss on entity tokens. Returns `{loss, pseudo_perplexity, tokens, sentences}` where
/// `sentences` counts those with at least one scored token.
pub fn pseudo_perplexity_words(
    dir: &Path,
    sentences: &[(Vec<String>, Vec<bool>)],
    max_len: usize,
    batch_size: usize,
    device: Device,
) -> Result<Value, ModelError> {
    let model = MaskedLm::load(dir, device)?;
    let tok = load_tokenizer(dir, max_len)?;
    let mut items = Vec::new();
    let mut used = 0;
    for (words, selected) in sentences {
        let (ids, wids) = tok
            .encode_words(words)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
        let before = items.len();
        push_items(
            &tok,
            &ids,
            |pos| {
                wids.get(pos)
                    .copied()
                    .flatten()
                    .and_then(|w| selected.get(w as usize).copied())
                    .unwrap_or(false)
            },
            &mut items,
        );
        used += usize::from(items.len() > before);
    }
    let (loss, n) = score_items(&model, &tok, &items, batch_size, device)?;
    Ok(json!({
        "loss": loss,
        "pseudo_perplexity": loss.exp(),
        "tokens": n,
        "sentences": used,
    }))
}

/// One item per (sentence, position): the masked copy, the position and the true id.
type Item = (Vec<i64>, i64, i64);

/// Adds a masked copy of `ids` for every non-special position that `keep` selects.
fn push_items(tok: &Tok, ids: &[i64], keep: impl Fn(usize) -> bool, items: &mut Vec<Item>) {
    let mask_id = i64::from(tok.vocab.mask_id);
    for (pos, &id) in ids.iter().enumerate() {
        if tok.vocab.special_ids.iter().any(|&s| i64::from(s) == id) || !keep(pos) {
            continue;
        }
        let mut masked = ids.to_vec();
        masked[pos] = mask_id;
        items.push((masked, pos as i64, id));
    }
}

/// Mean cross-entropy of the true ids at the masked positions, and the number of items.
fn score_items(
    model: &MaskedLm,
    tok: &Tok,
    items: &[Item],
    batch_size: usize,
    device: Device,
) -> Result<(f64, usize), ModelError> {
    let _guard = tch::no_grad_guard();
    let mut total = 0.0;
    for chunk in items.chunks(batch_size.max(1)) {
        let seqs: Vec<Vec<i64>> = chunk.iter().map(|c| c.0.clone()).collect();
        let pos: Vec<i64> = chunk.iter().map(|c| c.1).collect();
        let gold: Vec<i64> = chunk.iter().map(|c| c.2).collect();
        let (ids, mask) = pad_batch(&seqs, pad_id(tok), device)?;
        let pos = Tensor::f_from_slice(&pos)?.f_to_device(device)?;
        let gold = Tensor::f_from_slice(&gold)?.f_to_device(device)?;
        let logits = model.logits_at(&ids, &mask, &pos)?.f_to_kind(Kind::Float)?;
        let ce =
            logits.f_cross_entropy_loss::<Tensor>(&gold, None, tch::Reduction::Sum, -100, 0.0)?;
        total += ce.f_double_value(&[])?;
    }
    let n = items.len();
    Ok((if n == 0 { 0.0 } else { total / n as f64 }, n))
}
