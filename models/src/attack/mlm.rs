//! Transformer-backed implementations of the attack traits: [`MlmCandidates`] (fill-mask
//! candidates from any masked-LM checkpoint [`crate::mlm::load_mlm`] reads: BERT
//! `cls.predictions`, RoBERTa and pre-LN RoBERTa `lm_head`, so every `mavuno pretrain` output
//! works) and [`MeanPooledEncoder`] (sentence embeddings by attention-masked mean pooling, as
//! sentence-transformers' MiniLM does).
//!
//! Both read a local HF directory: `config.json`, `model.safetensors`, `tokenizer.json`. Special
//! tokens are BERT's (`[CLS] [SEP] [PAD] [MASK]`) or RoBERTa's (`<s> </s> <pad> <mask>`).
//!
//! Whole-word candidates: the attacked word (however many subwords it has) is replaced by ONE
//! mask; the top tokens at that position are kept only when they are whole words: not a special
//! token, not a WordPiece `##` continuation, and, in vocabularies that mark word starts
//! (SentencePiece `▁`, byte-level `Ġ`), a word-start token with the marker removed; the rest must
//! be a word under the shared segmentation. Multi-piece candidates (two masks, beam over pieces)
//! are deliberately NOT generated: BERT-Attack's sub-word combinations are what made TextAttack
//! take hours per example (#586), and the paper's fill-mask pipeline is single-mask too. The cost
//! is that rare words of morphologically rich languages, split into pieces by the vocabulary,
//! never appear as candidates.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tokenizers::Tokenizer;

use super::traits::{CandidateGenerator, SentenceEncoder, MASK_SENTINEL};
use crate::bert::{load_bert, BertModel};
use crate::mlm::{load_mlm, LoadedMlm};
use crate::ModelError;

fn tok_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidConfig(format!("tokenizer {}: {e}", path.display()))
}

/// A tokenizer with its special-token ids, and where its tensors go.
struct TextTok {
    tokenizer: Tokenizer,
    cls: i64,
    sep: i64,
    pad: i64,
    mask: Option<i64>,
    /// Longest sequence the position embeddings allow, specials included.
    max_len: usize,
    device: Device,
    path: std::path::PathBuf,
}

impl TextTok {
    /// `max_positions` comes from the encoder config; `offset` is the number of position rows
    /// a sequence cannot use (RoBERTa numbers positions from `pad + 1`, so `pad + 1` rows).
    fn load(
        dir: &Path,
        max_positions: i64,
        offset: i64,
        pad_default: i64,
        device: Device,
    ) -> Result<Self, ModelError> {
        let tpath = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tpath).map_err(|e| tok_err(&tpath, e))?;
        // We place [CLS]/[SEP] and truncate ourselves, around the mask.
        tokenizer
            .with_truncation(None)
            .map_err(|e| tok_err(&tpath, e))?;
        tokenizer.with_padding(None);
        let id = |names: &[&str]| {
            names
                .iter()
                .find_map(|t| tokenizer.token_to_id(t))
                .map(i64::from)
        };
        let need = |names: &[&str]| {
            id(names).ok_or_else(|| tok_err(&tpath, format!("no {} token", names.join(" or "))))
        };
        let max_len = usize::try_from(max_positions - offset)
            .unwrap_or(512)
            .max(4);
        Ok(Self {
            cls: need(&["[CLS]", "<s>"])?,
            sep: need(&["[SEP]", "</s>"])?,
            pad: id(&["[PAD]", "<pad>"]).unwrap_or(pad_default),
            mask: id(&["[MASK]", "<mask>"]),
            max_len,
            tokenizer,
            device,
            path: tpath,
        })
    }

    fn ids(&self, text: &str) -> Result<Vec<i64>, ModelError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| tok_err(&self.path, e))?;
        Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// Pads id rows into `[batch, seq]` ids and attention mask tensors.
    fn batch(&self, rows: &[Vec<i64>]) -> Result<(Tensor, Tensor), ModelError> {
        let seq = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut ids = Vec::with_capacity(rows.len() * seq);
        let mut mask = Vec::with_capacity(rows.len() * seq);
        for r in rows {
            ids.extend_from_slice(r);
            ids.extend(std::iter::repeat_n(self.pad, seq - r.len()));
            mask.extend(std::iter::repeat_n(1i64, r.len()));
            mask.extend(std::iter::repeat_n(0i64, seq - r.len()));
        }
        let shape = [rows.len() as i64, seq as i64];
        Ok((
            Tensor::from_slice(&ids)
                .f_view(shape)?
                .f_to_device(self.device)?,
            Tensor::from_slice(&mask)
                .f_view(shape)?
                .f_to_device(self.device)?,
        ))
    }

    /// The whole word each vocabulary id stands for, if any (see the module docs).
    fn whole_words(&self) -> Vec<Option<String>> {
        let n = self.tokenizer.get_vocab_size(true) as u32;
        let special: std::collections::HashSet<u32> = self
            .tokenizer
            .get_added_tokens_decoder()
            .iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| *id)
            .collect();
        let tokens: Vec<String> = (0..n)
            .map(|i| self.tokenizer.id_to_token(i).unwrap_or_default())
            .collect();
        let marked = |t: &str| t.starts_with('\u{2581}') || t.starts_with('\u{120}');
        // A vocabulary that marks word starts has them on a good share of its tokens.
        let marks_starts = tokens.iter().filter(|t| marked(t)).count() * 10 >= tokens.len();
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bracketed = (t.starts_with('[') && t.ends_with(']'))
                    || (t.starts_with('<') && t.ends_with('>'));
                if special.contains(&(i as u32)) || bracketed || t.starts_with("##") {
                    return None;
                }
                let w = if marks_starts {
                    if !marked(t) {
                        return None;
                    }
                    if t.starts_with('\u{120}') {
                        // Byte-level BPE: only decoding gives the real characters.
                        self.tokenizer.decode(&[i as u32], false).ok()?
                    } else {
                        t.chars().skip(1).collect()
                    }
                } else {
                    t.clone()
                };
                let w = w.trim();
                super::filters::is_word(w).then(|| w.to_string())
            })
            .collect()
    }
}

/// Fill-mask candidate generator over a masked-LM checkpoint (BERT or RoBERTa family).
pub struct MlmCandidates {
    text: TextTok,
    mlm: LoadedMlm,
    mask: i64,
    /// id → the whole word it stands for, or `None` (pieces, specials, punctuation).
    words: Vec<Option<String>>,
    /// Requests per forward pass.
    pub batch_size: usize,
}

impl MlmCandidates {
    /// Loads model, head and tokenizer from `dir` with [`load_mlm`]; errors with
    /// [`ModelError::MissingTensors`] when the checkpoint has no MLM head (it would be random).
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let mlm = load_mlm(dir, device)?;
        if !mlm.fresh.is_empty() {
            // Say why, not just what: the usual cause is a sentence-embedding checkpoint.
            let mut missing = mlm.fresh.clone();
            missing.push(
                "(no MLM head: this looks like an encoder-only/sentence-transformer checkpoint; \
                 use a masked-LM checkpoint, e.g. one written by `mavuno pretrain`)"
                    .to_string(),
            );
            return Err(ModelError::MissingTensors {
                path: dir.join(crate::hf::WEIGHTS_FILE),
                missing,
            });
        }
        let e = &mlm.model.config.encoder;
        let text = TextTok::load(
            dir,
            e.max_position_embeddings,
            e.position_offset().map_or(0, |pad| pad + 1),
            e.pad_token_id,
            device,
        )?;
        let mask = text
            .mask
            .ok_or_else(|| tok_err(&text.path, "no [MASK] or <mask> token"))?;
        let vocab = text.tokenizer.get_vocab_size(true) as i64;
        if vocab > e.vocab_size {
            return Err(tok_err(
                &text.path,
                format!(
                    "{vocab} tokens but the model has {} embeddings",
                    e.vocab_size
                ),
            ));
        }
        Ok(Self {
            words: text.whole_words(),
            text,
            mlm,
            mask,
            batch_size: 32,
        })
    }

    /// `[CLS] left [MASK] right [SEP]`, truncated symmetrically around the mask.
    /// Ids of `words` with word `i` masked (and every word equal to [`MASK_SENTINEL`]), and
    /// the position of word `i`'s mask.
    fn masked_ids(&self, words: &[String], i: usize) -> Result<(Vec<i64>, usize), ModelError> {
        let left = self.side_ids(&words[..i])?;
        let right = self.side_ids(&words[i + 1..])?;
        let room = self.text.max_len.saturating_sub(3);
        // Keep at least half the window on the left when both sides overflow it.
        let keep_left = left
            .len()
            .min((room / 2).max(room.saturating_sub(right.len())));
        let keep_right = right.len().min(room - keep_left);
        let left = &left[left.len() - keep_left..];
        let right = &right[..keep_right];
        let mut ids = Vec::with_capacity(left.len() + right.len() + 3);
        ids.push(self.text.cls);
        ids.extend_from_slice(left);
        let pos = ids.len();
        ids.push(self.mask);
        ids.extend_from_slice(right);
        ids.push(self.text.sep);
        Ok((ids, pos))
    }
}

impl MlmCandidates {
    /// Ids of a run of words; runs between [`MASK_SENTINEL`] words are encoded separately and
    /// the sentinels become mask ids.
    fn side_ids(&self, words: &[String]) -> Result<Vec<i64>, ModelError> {
        let mut out = Vec::new();
        for (k, run) in words.split(|w| w == MASK_SENTINEL).enumerate() {
            if k > 0 {
                out.push(self.mask);
            }
            if !run.is_empty() {
                out.extend(self.text.ids(&run.join(" "))?);
            }
        }
        Ok(out)
    }
}

impl CandidateGenerator for MlmCandidates {
    fn candidates(
        &self,
        requests: &[(Vec<String>, usize)],
        k: usize,
    ) -> Result<Vec<Vec<(String, f32)>>, ModelError> {
        let _guard = tch::no_grad_guard();
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(self.batch_size.max(1)) {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut positions = Vec::with_capacity(chunk.len());
            for (words, i) in chunk {
                if *i >= words.len() {
                    return Err(ModelError::InvalidConfig(format!(
                        "candidate request for word {i} of a {}-word text",
                        words.len()
                    )));
                }
                let (ids, pos) = self.masked_ids(words, *i)?;
                rows.push(ids);
                positions.push(pos as i64);
            }
            let (ids, mask) = self.text.batch(&rows)?;
            let hidden = self.mlm.model.hidden(&ids, Some(&mask), false)?;
            let n = rows.len() as i64;
            let idx = Tensor::from_slice(&positions).f_to_device(self.text.device)?;
            let rows_idx = Tensor::f_arange(n, (Kind::Int64, self.text.device))?;
            // hidden[r, pos_r, :] for each row r → [n, hidden].
            let at_mask = hidden.f_index(&[Some(rows_idx), Some(idx)])?;
            let probs = self
                .mlm
                .model
                .head_logits(&at_mask)?
                .f_softmax(-1, Kind::Float)?;
            // Over-fetch: many top tokens are ## pieces or punctuation and get dropped.
            let vocab = probs.size().last().copied().unwrap_or(0) as usize;
            let fetch = (k * 4 + 16).min(vocab) as i64;
            let (vals, ids) = probs.f_topk(fetch, -1, true, true)?;
            let vals = Vec::<f32>::try_from(vals.f_to_device(Device::Cpu)?.f_flatten(0, -1)?)?;
            let ids = Vec::<i64>::try_from(ids.f_to_device(Device::Cpu)?.f_flatten(0, -1)?)?;
            for r in 0..rows.len() {
                let mut cands = Vec::with_capacity(k);
                for j in 0..fetch as usize {
                    let id = ids[r * fetch as usize + j] as usize;
                    if let Some(Some(w)) = self.words.get(id) {
                        cands.push((w.clone(), vals[r * fetch as usize + j]));
                        if cands.len() == k {
                            break;
                        }
                    }
                }
                out.push(cands);
            }
        }
        Ok(out)
    }
}

/// Mean-pooled, L2-normalised sentence embeddings from a BERT-family encoder (the pooling of
/// sentence-transformers `all-MiniLM-L6-v2`, so its checkpoint gives its published embeddings).
pub struct MeanPooledEncoder {
    text: TextTok,
    bert: BertModel,
    /// Owns the encoder's parameters.
    _vs: tch::nn::VarStore,
    /// Texts per forward pass.
    pub batch_size: usize,
}

impl MeanPooledEncoder {
    /// Loads encoder and tokenizer from `dir` (no head needed).
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let loaded = load_bert(dir, device)?;
        let c = &loaded.config;
        Ok(Self {
            text: TextTok::load(
                dir,
                c.max_position_embeddings,
                c.position_offset().map_or(0, |pad| pad + 1),
                c.pad_token_id,
                device,
            )?,
            bert: loaded.model,
            _vs: loaded.vs,
            batch_size: 64,
        })
    }
}

impl SentenceEncoder for MeanPooledEncoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let _guard = tch::no_grad_guard();
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.batch_size.max(1)) {
            let rows = chunk
                .iter()
                .map(|t| {
                    let mut ids = self.text.ids(t)?;
                    // sentence-transformers truncates MiniLM at 256 tokens; keep the head.
                    ids.truncate(self.text.max_len.min(256) - 2);
                    let mut row = Vec::with_capacity(ids.len() + 2);
                    row.push(self.text.cls);
                    row.extend(ids);
                    row.push(self.text.sep);
                    Ok(row)
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            let (ids, mask) = self.text.batch(&rows)?;
            let hidden = self.bert.forward_t(&ids, Some(&mask), None, false)?;
            let m = mask.f_unsqueeze(-1)?.f_to_kind(Kind::Float)?;
            let sum = hidden.f_mul(&m)?.f_sum_dim_intlist(1, false, Kind::Float)?;
            let count = m
                .f_sum_dim_intlist(1, false, Kind::Float)?
                .f_clamp_min(1e-9)?;
            let mean = sum.f_div(&count)?;
            let norm = mean.f_norm_scalaropt_dim(2, 1, true)?.f_clamp_min(1e-12)?;
            let emb = mean.f_div(&norm)?.f_to_device(Device::Cpu)?;
            let dim = emb.size().get(1).copied().unwrap_or(0) as usize;
            let flat = Vec::<f32>::try_from(emb.f_flatten(0, -1)?)?;
            out.extend(flat.chunks(dim.max(1)).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}
