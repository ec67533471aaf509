//! Inference on fine-tuned models: [`Classifier`] (sequence classification, the API the
//! adversarial-attack code queries) and [`Tagger`] (token classification / NER).
//!
//! Both load an HF-layout directory written by `mavuno finetune` (or by `transformers`'
//! `save_pretrained` plus a `tokenizer.json`), run batched under `no_grad`, and pad each batch
//! only to its longest member, so short attack queries stay cheap.

use std::path::{Path, PathBuf};

use mavuno_stages::tokenize::Tok;
use tch::{nn, Device, Kind, Tensor};

use crate::bert::BertConfig;
use crate::finetune::data::{encode_text, encode_words, load_tokenizer, pad_batch, pad_id};
use crate::heads::{
    classifier_dropout, labels_from_config, load_weights, SequenceClassifier, TaskLayout,
    TokenClassifier,
};
use crate::hf::read_config;
use crate::ModelError;

/// Default batch size for inference.
pub const DEFAULT_BATCH: usize = 32;

/// Max length stored in a model's `config.json` by fine-tuning (`mavuno.max_len`), else the
/// position limit; never more than the position table holds.
pub fn stored_max_len(raw: &serde_json::Value, config: &BertConfig) -> usize {
    raw.pointer("/mavuno/max_len")
        .and_then(serde_json::Value::as_u64)
        .map_or(config.max_tokens(), |n| n as usize)
        .min(config.max_tokens())
}

fn labels_of(dir: &Path, raw: &serde_json::Value) -> Result<Vec<String>, ModelError> {
    labels_from_config(raw).ok_or_else(|| {
        ModelError::InvalidConfig(format!(
            "{}: config.json has no usable id2label (is this a fine-tuned model?)",
            dir.join("config.json").display()
        ))
    })
}

/// Softmax probabilities of `texts` under `model`, batched. Shared by [`Classifier`] and the
/// dev evaluation inside the training loop.
pub fn classify_probs(
    model: &SequenceClassifier,
    tok: &Tok,
    texts: &[&str],
    batch_size: usize,
    device: Device,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let _guard = tch::no_grad_guard();
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(batch_size.max(1)) {
        let seqs = chunk
            .iter()
            .map(|t| encode_text(tok, t))
            .collect::<Result<Vec<_>, _>>()?;
        let (ids, mask) = pad_batch(&seqs, pad_id(tok), device)?;
        let probs = model
            .forward_t(&ids, &mask, false)?
            .f_softmax(-1, Kind::Float)?
            .f_to_device(Device::Cpu)?;
        let rows: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(&probs)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Per-word tag ids for `sentences` under `model` (argmax on each word's first subword).
/// Words cut off by truncation get tag id 0's neighbour rule: they are predicted `O` by the
/// caller (we return `None`).
pub fn tag_ids(
    model: &TokenClassifier,
    tok: &Tok,
    sentences: &[Vec<String>],
    batch_size: usize,
    device: Device,
) -> Result<Vec<Vec<Option<usize>>>, ModelError> {
    let _guard = tch::no_grad_guard();
    let mut out = Vec::with_capacity(sentences.len());
    for chunk in sentences.chunks(batch_size.max(1)) {
        let encoded = chunk
            .iter()
            .map(|w| encode_words(tok, w))
            .collect::<Result<Vec<_>, _>>()?;
        let seqs: Vec<Vec<i64>> = encoded.iter().map(|(ids, _)| ids.clone()).collect();
        let (ids, mask) = pad_batch(&seqs, pad_id(tok), device)?;
        // [batch, seq]
        let best = model
            .forward_t(&ids, &mask, false)?
            .f_argmax(-1, false)?
            .f_to_device(Device::Cpu)?;
        let best: Vec<Vec<i64>> = Vec::<Vec<i64>>::try_from(&best)?;
        for ((words, (_, firsts)), row) in chunk.iter().zip(&encoded).zip(best) {
            let mut tags = vec![None; words.len()];
            for (pos, first) in firsts.iter().enumerate() {
                if let Some(w) = first {
                    if let (Some(slot), Some(&t)) = (tags.get_mut(*w), row.get(pos)) {
                        *slot = Some(t as usize);
                    }
                }
            }
            out.push(tags);
        }
    }
    Ok(out)
}

/// A fine-tuned sequence classifier ready for batched inference.
///
/// ```no_run
/// # fn main() -> Result<(), mavuno_models::ModelError> {
/// use mavuno_models::finetune::Classifier;
/// let clf = Classifier::load(std::path::Path::new("runs/senti"), tch::Device::Cpu)?;
/// let probs = clf.predict_proba(&["great match", "terrible food"])?; // [2][num_labels]
/// println!("{:?} {:?}", clf.labels(), probs);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Classifier {
    _vs: nn::VarStore,
    model: SequenceClassifier,
    tok_path: PathBuf,
    tok: TokHolder,
    labels: Vec<String>,
    device: Device,
    batch_size: usize,
}

/// `Tok` has no `Debug`; this keeps `Classifier: Debug` without printing the vocabulary.
struct TokHolder(Tok);

impl std::fmt::Debug for TokHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tok")
    }
}

impl Classifier {
    /// Loads `dir` (`config.json` with `id2label`, `model.safetensors`, `tokenizer.json`).
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let raw = read_config(dir)?;
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let labels = labels_of(dir, &raw)?;
        let vs = nn::VarStore::new(device);
        let model = SequenceClassifier::new(
            &vs.root(),
            &config,
            labels.len() as i64,
            classifier_dropout(&raw, &config),
        )?;
        load_weights(
            &vs,
            &dir.join("model.safetensors"),
            TaskLayout::of(&config)?.prefix,
            |_| false,
        )?;
        let tok_path = dir.join("tokenizer.json");
        let tok = load_tokenizer(dir, stored_max_len(&raw, &config))?;
        Ok(Self {
            _vs: vs,
            model,
            tok_path,
            tok: TokHolder(tok),
            labels,
            device,
            batch_size: DEFAULT_BATCH,
        })
    }

    /// Sets the inference batch size (default [`DEFAULT_BATCH`]).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Class probabilities for each text, `[texts.len()][labels().len()]`, in label-id order.
    /// Batched, under `no_grad`, each batch padded to its longest text.
    pub fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        classify_probs(
            &self.model,
            &self.tok.0,
            texts,
            self.batch_size,
            self.device,
        )
    }

    /// The arg-max label id of each text.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<usize>, ModelError> {
        Ok(self
            .predict_proba(texts)?
            .iter()
            .map(|p| argmax(p))
            .collect())
    }

    /// Raw logits `[batch, num_labels]` of an already encoded batch (`input_ids` and the 1/0
    /// `attention_mask`, `[batch, seq]`), under `no_grad`: for parity checks against other
    /// implementations of the same model.
    pub fn logits(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        self.model.forward_t(input_ids, attention_mask, false)
    }

    /// Label names in id order (index `i` of a probability row is `labels()[i]`).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The tokenizer file this classifier uses (attack code may tokenize with the same).
    pub fn tokenizer_path(&self) -> &Path {
        &self.tok_path
    }
}

/// Index of the largest value (first on ties; 0 for an empty slice).
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// A fine-tuned token classifier (NER tagger).
#[derive(Debug)]
pub struct Tagger {
    _vs: nn::VarStore,
    model: TokenClassifier,
    tok: TokHolder,
    labels: Vec<String>,
    device: Device,
    batch_size: usize,
}

impl Tagger {
    /// Loads `dir` (`config.json` with `id2label`, `model.safetensors`, `tokenizer.json`).
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let raw = read_config(dir)?;
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let labels = labels_of(dir, &raw)?;
        let vs = nn::VarStore::new(device);
        let model = TokenClassifier::new(
            &vs.root(),
            &config,
            labels.len() as i64,
            classifier_dropout(&raw, &config),
        )?;
        // A pooler in the file (exported from a sequence model) is simply unused.
        load_weights(
            &vs,
            &dir.join("model.safetensors"),
            TaskLayout::of(&config)?.prefix,
            |_| false,
        )?;
        let tok = load_tokenizer(dir, stored_max_len(&raw, &config))?;
        Ok(Self {
            _vs: vs,
            model,
            tok: TokHolder(tok),
            labels,
            device,
            batch_size: DEFAULT_BATCH,
        })
    }

    /// One tag per word for each sentence. Words lost to truncation are tagged `O`.
    pub fn tag(&self, sentences: &[Vec<String>]) -> Result<Vec<Vec<String>>, ModelError> {
        let ids = tag_ids(
            &self.model,
            &self.tok.0,
            sentences,
            self.batch_size,
            self.device,
        )?;
        Ok(ids
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|t| {
                        t.and_then(|t| self.labels.get(t).cloned())
                            .unwrap_or_else(|| "O".into())
                    })
                    .collect()
            })
            .collect())
    }

    /// Raw logits `[batch, seq, num_labels]` of an already encoded batch, under `no_grad`
    /// (see [`Classifier::logits`]).
    pub fn logits(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        self.model.forward_t(input_ids, attention_mask, false)
    }

    /// Tag names in id order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
}

/// Whether `dir`'s config describes a token-classification model.
pub fn is_token_classifier(raw: &serde_json::Value) -> bool {
    raw.get("architectures")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|x| {
                x.as_str()
                    .is_some_and(|s| s.ends_with("ForTokenClassification"))
            })
        })
}

/// Convenience for callers holding `Tensor` logits: softmax rows as `Vec<Vec<f32>>`.
pub fn softmax_rows(logits: &Tensor) -> Result<Vec<Vec<f32>>, ModelError> {
    let p = logits
        .f_softmax(-1, Kind::Float)?
        .f_to_device(Device::Cpu)?;
    Ok(Vec::<Vec<f32>>::try_from(&p)?)
}
