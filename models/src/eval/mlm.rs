//! Masked-LM evaluation: pseudo-log-likelihood loss and pseudo-perplexity (Salazar et al.,
//! "Masked Language Model Scoring", ACL 2020): every non-special token is masked in turn and
//! scored by the model; `loss` is the mean cross-entropy over all scored tokens and
//! `pseudo_perplexity = exp(loss)`.
//!
//! The masked copies of all sentences are scored in batches (one row per masked position), so
//! the cost is one forward pass per token, spread over full batches.
//! [`pseudo_perplexity_words`] scores only the tokens of selected words (e.g. named
//! entities: the "MLM loss on entity tokens" of the LEM experiments).
//! [`sequence_pseudo_perplexities`] gives one pseudo-perplexity per sequence, on a model in
//! memory: CLIMB's `self_perplexity` difficulty, which `train_mlm`'s `rescore_every` uses.

use std::path::Path;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use mavuno_stages::tokenize::Tok;

use crate::finetune::data::{encode_text, load_tokenizer, pad_batch, pad_id};
use crate::mlm::MlmModel;
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
        logits_at(&self.loaded.model, ids, mask, positions)
    }
}

/// [`MaskedLm::logits_at`] for any model in memory (eval mode: no dropout).
fn logits_at(
    model: &MlmModel,
    ids: &Tensor,
    mask: &Tensor,
    positions: &Tensor,
) -> Result<Tensor, ModelError> {
    let hidden = model.hidden(ids, Some(mask), false)?;
    let (b, _, h) = hidden.size3()?;
    let idx = positions.f_view([b, 1, 1])?.f_expand([b, 1, h], false)?;
    let at = hidden.f_gather(1, &idx, false)?.f_view([b, h])?; // [batch, hidden]
    model.head_logits(&at)
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
    let (specials, mask_id) = (&tok.vocab.special_ids, tok.vocab.mask_id);
    push_masked(specials, mask_id, ids, keep, items);
}

/// [`push_items`] with the special ids and the mask id given directly.
fn push_masked(
    special_ids: &[u32],
    mask_id: u32,
    ids: &[i64],
    keep: impl Fn(usize) -> bool,
    items: &mut Vec<Item>,
) {
    let mask_id = i64::from(mask_id);
    for (pos, &id) in ids.iter().enumerate() {
        if special_ids.iter().any(|&s| i64::from(s) == id) || !keep(pos) {
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

/// The vocabulary facts [`sequence_pseudo_perplexities`] needs.
#[derive(Debug, Clone, Copy)]
pub struct PllVocab<'a> {
    /// Ids never scored (every special token).
    pub special_ids: &'a [u32],
    /// The `<mask>` / `[MASK]` id.
    pub mask_id: u32,
    /// The padding id (also the model's `pad_token_id`).
    pub pad_id: u32,
}

/// The pseudo-perplexity of every sequence in `seqs` (token ids, specials included) under
/// `model`: each non-special token is masked in turn, and the score is exp(mean cross-entropy)
/// over them (CLIMB's `self_perplexity`). A sequence with no scoreable token scores 1.
/// `batch_size` masked copies go through the model at a time; the result depends only on the
/// model and the sequences, not on where a batch starts (items are scored in a fixed order).
pub fn sequence_pseudo_perplexities(
    model: &MlmModel,
    seqs: &[&[u32]],
    vocab: PllVocab<'_>,
    batch_size: usize,
    device: Device,
) -> Result<Vec<f64>, ModelError> {
    let _guard = tch::no_grad_guard();
    let mut sums = vec![0.0f64; seqs.len()];
    let mut counts = vec![0usize; seqs.len()];
    // Items are built one sequence batch at a time, so memory stays at one batch of copies.
    let mut items: Vec<Item> = Vec::new();
    let mut owners: Vec<usize> = Vec::new();
    let flush = |items: &mut Vec<Item>,
                 owners: &mut Vec<usize>,
                 sums: &mut [f64],
                 counts: &mut [usize]|
     -> Result<(), ModelError> {
        if items.is_empty() {
            return Ok(());
        }
        let seqs: Vec<Vec<i64>> = items.iter().map(|c| c.0.clone()).collect();
        let pos: Vec<i64> = items.iter().map(|c| c.1).collect();
        let gold: Vec<i64> = items.iter().map(|c| c.2).collect();
        let (ids, mask) = pad_batch(&seqs, i64::from(vocab.pad_id), device)?;
        let pos = Tensor::f_from_slice(&pos)?.f_to_device(device)?;
        let gold = Tensor::f_from_slice(&gold)?.f_to_device(device)?;
        let logits = logits_at(model, &ids, &mask, &pos)?.f_to_kind(Kind::Float)?;
        let ce = logits
            .f_cross_entropy_loss::<Tensor>(&gold, None, tch::Reduction::None, -100, 0.0)?
            .f_to_kind(Kind::Double)?
            .f_to_device(Device::Cpu)?;
        let ce: Vec<f64> = Vec::<f64>::try_from(&ce)?;
        for (&owner, c) in owners.iter().zip(ce) {
            sums[owner] += c;
            counts[owner] += 1;
        }
        items.clear();
        owners.clear();
        Ok(())
    };
    let batch_size = batch_size.max(1);
    for (i, seq) in seqs.iter().enumerate() {
        let ids: Vec<i64> = seq.iter().map(|&x| i64::from(x)).collect();
        let mut mine = Vec::new();
        push_masked(vocab.special_ids, vocab.mask_id, &ids, |_| true, &mut mine);
        for item in mine {
            items.push(item);
            owners.push(i);
            if items.len() == batch_size {
                flush(&mut items, &mut owners, &mut sums, &mut counts)?;
            }
        }
    }
    flush(&mut items, &mut owners, &mut sums, &mut counts)?;
    Ok(sums
        .iter()
        .zip(&counts)
        .map(|(&s, &n)| if n == 0 { 1.0 } else { (s / n as f64).exp() })
        .collect())
}
