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

    /// [`MaskedLm::load`], with the weights cast to `precision`.
    pub fn load_as(dir: &Path, device: Device, precision: Precision) -> Result<Self, ModelError> {
        let mut m = Self::load(dir, device)?;
        if precision == Precision::Bf16 {
            m.loaded.vs.bfloat16();
        }
        Ok(m)
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

/// The number format of the weights and activations while scoring. Losses are always
/// computed in f32 from the logits.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    mavuno_pipeline::schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum Precision {
    /// 32-bit floats (exact reference).
    #[default]
    F32,
    /// bfloat16: on CPUs with AMX or AVX-512 BF16 (and on GPUs) much faster; the PLL loss
    /// moves by about 1e-4 nats (measured on a tiny Yoruba model, docs/EXPERIMENTS.md).
    Bf16,
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
/// Returns `{loss, pseudo_perplexity, tokens, sentences, sentence_loss, items}`: `loss` is
/// the mean cross-entropy over all scored tokens; `sentence_loss` the mean over sentences
/// of each sentence's mean cross-entropy, with the per-sentence values in
/// `items.sentence_loss` (what a sweep resamples for a paired interval over sentences).
pub fn pseudo_perplexity(
    dir: &Path,
    texts: &[&str],
    max_sentences: Option<usize>,
    max_len: usize,
    batch_size: usize,
    device: Device,
    precision: Precision,
) -> Result<Value, ModelError> {
    let model = MaskedLm::load_as(dir, device, precision)?;
    let tok = load_tokenizer(dir, max_len)?;
    let texts = &texts[..max_sentences.map_or(texts.len(), |m| m.min(texts.len()))];
    let seqs = texts
        .iter()
        .map(|t| encode_text(&tok, t))
        .collect::<Result<Vec<_>, _>>()?;
    let slots = scored_slots(&tok.vocab.special_ids, &seqs, |_, _| true);
    let losses = slot_losses(
        &model.loaded.model,
        &seqs,
        &slots,
        vocab_of(&tok),
        batch_size,
        device,
    )?;
    Ok(report(&slots, &losses, texts.len()))
}

/// Pseudo-log-likelihood loss restricted to the subword tokens of selected words: each
/// sentence is `(words, selected)`, and only tokens of words with `selected[w]` are masked
/// (one at a time) and scored. With `selected` = "word is a named entity" this is the MLM
/// loss on entity tokens. Returns what [`pseudo_perplexity`] returns, where `sentences`
/// counts those with at least one scored token.
pub fn pseudo_perplexity_words(
    dir: &Path,
    sentences: &[(Vec<String>, Vec<bool>)],
    max_len: usize,
    batch_size: usize,
    device: Device,
    precision: Precision,
) -> Result<Value, ModelError> {
    let model = MaskedLm::load_as(dir, device, precision)?;
    let tok = load_tokenizer(dir, max_len)?;
    let mut seqs = Vec::with_capacity(sentences.len());
    let mut word_ids = Vec::with_capacity(sentences.len());
    for (words, _) in sentences {
        let (ids, wids) = tok
            .encode_words(words)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        seqs.push(ids.into_iter().map(i64::from).collect::<Vec<i64>>());
        word_ids.push(wids);
    }
    let slots = scored_slots(&tok.vocab.special_ids, &seqs, |s, pos| {
        word_ids[s]
            .get(pos)
            .copied()
            .flatten()
            .and_then(|w| sentences[s].1.get(w as usize).copied())
            .unwrap_or(false)
    });
    let losses = slot_losses(
        &model.loaded.model,
        &seqs,
        &slots,
        vocab_of(&tok),
        batch_size,
        device,
    )?;
    let used = slots
        .iter()
        .map(|s| s.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(report(&slots, &losses, used))
}

fn vocab_of(tok: &Tok) -> PllVocab<'_> {
    PllVocab {
        special_ids: &tok.vocab.special_ids,
        mask_id: tok.vocab.mask_id,
        pad_id: pad_id(tok) as u32,
    }
}

/// The report of [`pseudo_perplexity`] from per-slot losses (slots grouped by sentence).
fn report(slots: &[(usize, usize)], losses: &[f64], sentences: usize) -> Value {
    let n = losses.len();
    let loss = if n == 0 {
        0.0
    } else {
        losses.iter().sum::<f64>() / n as f64
    };
    let per_sentence = per_sequence_means(slots, losses);
    let sentence_loss = if per_sentence.is_empty() {
        0.0
    } else {
        per_sentence.iter().sum::<f64>() / per_sentence.len() as f64
    };
    json!({
        "loss": loss,
        "pseudo_perplexity": loss.exp(),
        "tokens": n,
        "sentences": sentences,
        "sentence_loss": sentence_loss,
        "items": {"sentence_loss": per_sentence},
    })
}

/// Mean loss of each sequence that has scored slots, in sequence order.
fn per_sequence_means(slots: &[(usize, usize)], losses: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let seq = slots[i].0;
        let j = slots[i..]
            .iter()
            .position(|s| s.0 != seq)
            .map_or(slots.len(), |k| i + k);
        out.push(losses[i..j].iter().sum::<f64>() / (j - i) as f64);
        i = j;
    }
    out
}

/// `(sequence, position)` of every non-special token that `keep` selects, in order.
fn scored_slots(
    special_ids: &[u32],
    seqs: &[Vec<i64>],
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut slots = Vec::new();
    for (s, ids) in seqs.iter().enumerate() {
        for (pos, &id) in ids.iter().enumerate() {
            if !special_ids.iter().any(|&x| i64::from(x) == id) && keep(s, pos) {
                slots.push((s, pos));
            }
        }
    }
    slots
}

/// Cross-entropy of the true token at every slot, with that token masked, in slot order.
///
/// Slots are batched by sequence length (sorted by length, ties in slot order), so a batch
/// of masked copies is padded little: with mixed lengths most of each forward pass scored
/// padding. Masked copies are built per batch, so memory is one batch of copies.
fn slot_losses(
    model: &MlmModel,
    seqs: &[Vec<i64>],
    slots: &[(usize, usize)],
    vocab: PllVocab<'_>,
    batch_size: usize,
    device: Device,
) -> Result<Vec<f64>, ModelError> {
    let _guard = tch::no_grad_guard();
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| seqs[slots[i].0].len());
    let mut losses = vec![0.0f64; slots.len()];
    let mask_id = i64::from(vocab.mask_id);
    for chunk in order.chunks(batch_size.max(1)) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut pos = Vec::with_capacity(chunk.len());
        let mut gold = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let (s, p) = slots[i];
            let mut masked = seqs[s].clone();
            gold.push(masked[p]);
            masked[p] = mask_id;
            rows.push(masked);
            pos.push(p as i64);
        }
        let (ids, mask) = pad_batch(&rows, i64::from(vocab.pad_id), device)?;
        let pos = Tensor::f_from_slice(&pos)?.f_to_device(device)?;
        let gold = Tensor::f_from_slice(&gold)?.f_to_device(device)?;
        let logits = logits_at(model, &ids, &mask, &pos)?.f_to_kind(Kind::Float)?;
        let ce = logits
            .f_cross_entropy_loss::<Tensor>(&gold, None, tch::Reduction::None, -100, 0.0)?
            .f_to_kind(Kind::Double)?
            .f_to_device(Device::Cpu)?;
        let ce: Vec<f64> = Vec::<f64>::try_from(&ce)?;
        for (&i, c) in chunk.iter().zip(ce) {
            losses[i] = c;
        }
    }
    Ok(losses)
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
    let seqs: Vec<Vec<i64>> = seqs
        .iter()
        .map(|s| s.iter().map(|&x| i64::from(x)).collect())
        .collect();
    let slots = scored_slots(vocab.special_ids, &seqs, |_, _| true);
    let losses = slot_losses(model, &seqs, &slots, vocab, batch_size, device)?;
    let mut sums = vec![0.0f64; seqs.len()];
    let mut counts = vec![0usize; seqs.len()];
    for (&(s, _), l) in slots.iter().zip(losses) {
        sums[s] += l;
        counts[s] += 1;
    }
    Ok(sums
        .iter()
        .zip(&counts)
        .map(|(&s, &n)| if n == 0 { 1.0 } else { (s / n as f64).exp() })
        .collect())
}
