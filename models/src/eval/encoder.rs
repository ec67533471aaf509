//! [`Encoder`]: sentence embeddings from any BERT-family directory (a base encoder, a
//! Mirror-BERT-tuned one, or a fine-tuned classifier whose `bert.*` weights are reused), for
//! bitext retrieval and for the attack code's similarity constraint.
//!
//! Embeddings are L2-normalised, so a dot product is the cosine similarity.

use std::path::Path;

use mavuno_stages::tokenize::Tok;
use tch::{nn, Device, Kind, Tensor};

use crate::bert::{load_bert, BertModel};
use crate::finetune::data::{encode_text, load_tokenizer, pad_batch, pad_id};
use crate::heads::l2_normalize;
use crate::ModelError;

/// How token states become one sentence vector.
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
pub enum Pooling {
    /// The first (`[CLS]`) token's last hidden state (Mirror-BERT's choice).
    Cls,
    /// Mean of the last hidden states over non-padding tokens (sentence-transformers' default).
    #[default]
    Mean,
}

/// Pools `[batch, seq, hidden]` states with the `[batch, seq]` mask into `[batch, hidden]`.
pub fn pool(hidden: &Tensor, mask: &Tensor, pooling: Pooling) -> Result<Tensor, ModelError> {
    match pooling {
        Pooling::Cls => Ok(hidden.f_select(1, 0)?),
        Pooling::Mean => {
            let m = mask.f_to_kind(hidden.kind())?.f_unsqueeze(-1)?; // [batch, seq, 1]
            let sum = hidden
                .f_mul(&m)?
                .f_sum_dim_intlist(1, false, hidden.kind())?;
            let count = m
                .f_sum_dim_intlist(1, false, hidden.kind())?
                .f_clamp_min(1e-9)?;
            Ok(sum.f_div(&count)?)
        }
    }
}

/// A sentence encoder.
///
/// ```no_run
/// # fn main() -> Result<(), mavuno_models::ModelError> {
/// use mavuno_models::eval::{Encoder, Pooling};
/// let enc = Encoder::load(std::path::Path::new("models/minilm"), tch::Device::Cpu, Pooling::Mean)?;
/// let e = enc.embed(&["a cat", "a dog"])?; // [2, hidden], unit rows, on CPU
/// let cos = enc.embed_vecs(&["a cat"])?; // Vec<Vec<f32>>
/// # let _ = (e, cos); Ok(()) }
/// ```
pub struct Encoder {
    /// Owns the weights (trainable: Mirror-BERT tunes through it).
    pub vs: nn::VarStore,
    /// The encoder.
    pub model: BertModel,
    tok: Tok,
    pooling: Pooling,
    device: Device,
    batch_size: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("pooling", &self.pooling)
            .field("device", &self.device)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Loads `dir` (`config.json`, `model.safetensors` with or without a `bert.` prefix,
    /// `tokenizer.json`). Inputs are truncated to 128 tokens; see [`Encoder::with_max_len`].
    pub fn load(dir: &Path, device: Device, pooling: Pooling) -> Result<Self, ModelError> {
        let loaded = load_bert(dir, device)?;
        let tok = load_tokenizer(dir, 128)?;
        Ok(Self {
            vs: loaded.vs,
            model: loaded.model,
            tok,
            pooling,
            device,
            batch_size: 64,
        })
    }

    /// Sets the truncation length (tokens, specials included).
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.tok.max_len = Some(max_len);
        self
    }

    /// Sets the inference batch size (default 64).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The tokenizer (with the truncation length set).
    pub fn tokenizer(&self) -> &Tok {
        &self.tok
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Pooled, **un**-normalised embeddings of one padded batch; with `train` dropout is on and
    /// autograd records (Mirror-BERT).
    ///
    /// # Shapes
    /// `[batch, seq]` → `[batch, hidden]`.
    pub fn forward_pooled(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let hidden = self.model.forward_t(ids, Some(mask), None, train)?;
        pool(&hidden, mask, self.pooling)
    }

    /// Token ids for one batch of texts, padded: `(ids, mask)` on the encoder's device.
    pub fn batch(&self, texts: &[&str]) -> Result<(Tensor, Tensor), ModelError> {
        let seqs = texts
            .iter()
            .map(|t| encode_text(&self.tok, t))
            .collect::<Result<Vec<_>, _>>()?;
        pad_batch(&seqs, pad_id(&self.tok), self.device)
    }

    /// L2-normalised embeddings `[texts.len(), hidden]` (float32, on CPU), batched under
    /// `no_grad`, each batch padded to its longest text.
    pub fn embed(&self, texts: &[&str]) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        let mut parts = Vec::new();
        for chunk in texts.chunks(self.batch_size) {
            let (ids, mask) = self.batch(chunk)?;
            let pooled = self.forward_pooled(&ids, &mask, false)?;
            parts.push(l2_normalize(&pooled.f_to_kind(Kind::Float)?)?.f_to_device(Device::Cpu)?);
        }
        if parts.is_empty() {
            let h = self
                .vs
                .variables()
                .get("embeddings.word_embeddings.weight")
                .map_or(0, |w| w.size()[1]);
            return Ok(Tensor::f_zeros([0, h], (Kind::Float, Device::Cpu))?);
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    /// [`Encoder::embed`] as plain vectors.
    pub fn embed_vecs(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let e = self.embed(texts)?;
        if e.size()[0] == 0 {
            return Ok(Vec::new());
        }
        Ok(Vec::<Vec<f32>>::try_from(&e)?)
    }
}
