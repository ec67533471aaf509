//! The BERT-family encoder: embeddings, self-attention layers and the optional pooler.
//!
//! Every module is built at an `nn::Path` whose segments equal the HF state-dict keys
//! (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, ...), so a
//! VarStore built here and an HF checkpoint line up name for name (see load.rs). Reference:
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/modeling_bert.py>
//! and, for `pre_layer_norm`,
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/roberta_prelayernorm/modeling_roberta_prelayernorm.py>.
//!
//! Forward passes are fallible (`Result`) and take the `train` flag explicitly (the tch
//! `ModuleT::forward_t` convention), which switches dropout on or off.

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::bert::{BertConfig, HiddenAct};
use crate::layers::{Embedding, LayerNorm, Linear};
use crate::ModelError;

/// HF `_init_weights`: normal(0, initializer_range) for linear and embedding weights.
fn weight_init(config: &BertConfig) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: config.initializer_range,
    }
}

/// Word + position + token-type embeddings, then LayerNorm and dropout.
/// Reference: `BertEmbeddings` in modeling_bert.py.
#[derive(Debug)]
pub struct BertEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
    dropout: f64,
    max_positions: i64,
    /// RoBERTa's padding index for position ids (see [`BertConfig::position_offset`]).
    position_offset: Option<i64>,
}

impl BertEmbeddings {
    /// Builds the embeddings at `p` (HF: `embeddings`).
    pub fn new(p: &nn::Path, config: &BertConfig) -> Result<Self, ModelError> {
        let init = weight_init(config);
        let h = config.hidden_size;
        Ok(Self {
            word_embeddings: Embedding::new(&(p / "word_embeddings"), config.vocab_size, h, init)?,
            position_embeddings: Embedding::new(
                &(p / "position_embeddings"),
                config.max_position_embeddings,
                h,
                init,
            )?,
            token_type_embeddings: Embedding::new(
                &(p / "token_type_embeddings"),
                config.type_vocab_size,
                h,
                init,
            )?,
            layer_norm: LayerNorm::new(&(p / "LayerNorm"), h, config.layer_norm_eps)?,
            dropout: config.hidden_dropout_prob,
            max_positions: config.max_position_embeddings,
            position_offset: config.position_offset(),
        })
    }

    /// # Shapes
    /// `input_ids`, `token_type_ids`: `[batch, seq]` (int64) → `[batch, seq, hidden]`.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let (_, seq) = input_ids.size2()?;
        let needed = seq + self.position_offset.map_or(0, |pad| pad + 1);
        if needed > self.max_positions {
            return Err(ModelError::InvalidConfig(format!(
                "sequence of {seq} tokens needs {needed} positions, more than max_position_embeddings {}",
                self.max_positions
            )));
        }
        let positions = match self.position_offset {
            // BERT positions are 0..seq regardless of padding; [seq], broadcast over the batch.
            None => Tensor::f_arange(seq, (Kind::Int64, input_ids.device()))?,
            // RoBERTa: cumsum of the non-pad mask, so real tokens get pad+1, pad+2, ... and
            // padding keeps position `pad` (HF `create_position_ids_from_input_ids`). [batch, seq]
            Some(pad) => {
                let real = input_ids.f_ne(pad)?.f_to_kind(Kind::Int64)?;
                real.f_cumsum(1, Kind::Int64)?
                    .f_mul(&real)?
                    .f_add_scalar(pad)?
            }
        };
        let token_types = match token_type_ids {
            Some(t) => t.shallow_clone(),
            None => input_ids.f_zeros_like()?,
        };
        let words = self.word_embeddings.f_forward(input_ids)?; // [batch, seq, hidden]
        let pos = self.position_embeddings.f_forward(&positions)?; // [seq or batch×seq, hidden]
        let types = self.token_type_embeddings.f_forward(&token_types)?;
        let sum = words.f_add(&types)?.f_add(&pos)?;
        let normed = self.layer_norm.f_forward(&sum)?;
        Ok(normed.f_dropout(self.dropout, train)?)
    }
}

/// Multi-head scaled dot-product self-attention plus its output projection.
/// Reference: `BertSelfAttention`, `BertSelfOutput` and `BertAttention` in modeling_bert.py
/// (and `RobertaPreLayerNormAttention` for the pre-LN variant).
#[derive(Debug)]
pub struct BertAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output_dense: Linear,
    /// Post-LN only: `attention.output.LayerNorm`.
    output_layer_norm: Option<LayerNorm>,
    /// Pre-LN only: `attention.LayerNorm`, applied to the block input.
    pre_layer_norm: Option<LayerNorm>,
    num_heads: i64,
    head_dim: i64,
    attention_dropout: f64,
    hidden_dropout: f64,
}

impl BertAttention {
    /// Builds the attention block at `p` (HF: `encoder.layer.N.attention`).
    pub fn new(p: &nn::Path, config: &BertConfig) -> Result<Self, ModelError> {
        let init = weight_init(config);
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let self_p = p / "self";
        let out_p = p / "output";
        let (output_layer_norm, pre_layer_norm) = if config.pre_layer_norm {
            (None, Some(LayerNorm::new(&(p / "LayerNorm"), h, eps)?))
        } else {
            (Some(LayerNorm::new(&(&out_p / "LayerNorm"), h, eps)?), None)
        };
        Ok(Self {
            query: Linear::new(&(&self_p / "query"), h, h, init)?,
            key: Linear::new(&(&self_p / "key"), h, h, init)?,
            value: Linear::new(&(&self_p / "value"), h, h, init)?,
            output_dense: Linear::new(&(&out_p / "dense"), h, h, init)?,
            output_layer_norm,
            pre_layer_norm,
            num_heads: config.num_attention_heads,
            head_dim: config.head_dim(),
            attention_dropout: config.attention_probs_dropout_prob,
            hidden_dropout: config.hidden_dropout_prob,
        })
    }

    /// `[batch, seq, hidden]` → `[batch, heads, seq, head_dim]`.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor, ModelError> {
        let (batch, seq, _) = xs.size3()?;
        Ok(xs
            .f_view([batch, seq, self.num_heads, self.head_dim])?
            .f_transpose(1, 2)?)
    }

    /// # Shapes
    /// `xs`: `[batch, seq, hidden]`; `mask_bias`: `[batch, 1, 1, seq]`, 0 for real tokens and a
    /// large negative number for padding (see [`BertModel::mask_bias`]) → `[batch, seq, hidden]`.
    pub fn forward_t(
        &self,
        xs: &Tensor,
        mask_bias: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let (batch, seq, hidden) = xs.size3()?;
        let input = match &self.pre_layer_norm {
            Some(ln) => ln.f_forward(xs)?,
            None => xs.shallow_clone(),
        };
        let q = self.split_heads(&self.query.f_forward(&input)?)?;
        let k = self.split_heads(&self.key.f_forward(&input)?)?;
        let v = self.split_heads(&self.value.f_forward(&input)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = q.f_matmul(&k.f_transpose(-1, -2)?)?.f_mul_scalar(scale)?; // [b, heads, seq, seq]
        let scores = scores.f_add(mask_bias)?;
        let probs = scores.f_softmax(-1, scores.kind())?;
        let probs = probs.f_dropout(self.attention_dropout, train)?;
        let context = probs.f_matmul(&v)?; // [b, heads, seq, head_dim]
        let context = context
            .f_transpose(1, 2)?
            .f_contiguous()?
            .f_view([batch, seq, hidden])?;
        let projected = self
            .output_dense
            .f_forward(&context)?
            .f_dropout(self.hidden_dropout, train)?;
        // The residual adds the block input before the pre-LN norm, as in HF.
        let residual = projected.f_add(xs)?;
        match &self.output_layer_norm {
            Some(ln) => ln.f_forward(&residual),
            None => Ok(residual),
        }
    }
}

/// Feed-forward block: `intermediate.dense` → activation → `output.dense` → residual (+ LayerNorm).
/// Reference: `BertIntermediate` and `BertOutput` in modeling_bert.py.
#[derive(Debug)]
pub struct BertOutput {
    intermediate_dense: Linear,
    output_dense: Linear,
    /// Post-LN only: `output.LayerNorm`.
    output_layer_norm: Option<LayerNorm>,
    /// Pre-LN only: `intermediate.LayerNorm`, applied to the block input.
    pre_layer_norm: Option<LayerNorm>,
    act: HiddenAct,
    hidden_dropout: f64,
}

impl BertOutput {
    /// Builds the feed-forward block from `encoder.layer.N` (it spans `intermediate` and `output`).
    pub fn new(layer_p: &nn::Path, config: &BertConfig) -> Result<Self, ModelError> {
        let init = weight_init(config);
        let (h, i, eps) = (
            config.hidden_size,
            config.intermediate_size,
            config.layer_norm_eps,
        );
        let inter_p = layer_p / "intermediate";
        let out_p = layer_p / "output";
        let (output_layer_norm, pre_layer_norm) = if config.pre_layer_norm {
            (
                None,
                Some(LayerNorm::new(&(&inter_p / "LayerNorm"), h, eps)?),
            )
        } else {
            (Some(LayerNorm::new(&(&out_p / "LayerNorm"), h, eps)?), None)
        };
        Ok(Self {
            intermediate_dense: Linear::new(&(&inter_p / "dense"), h, i, init)?,
            output_dense: Linear::new(&(&out_p / "dense"), i, h, init)?,
            output_layer_norm,
            pre_layer_norm,
            act: config.hidden_act,
            hidden_dropout: config.hidden_dropout_prob,
        })
    }

    /// # Shapes
    /// `[batch, seq, hidden]` → `[batch, seq, hidden]`.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let input = match &self.pre_layer_norm {
            Some(ln) => ln.f_forward(xs)?,
            None => xs.shallow_clone(),
        };
        let inner = self.intermediate_dense.f_forward(&input)?; // [batch, seq, intermediate]
        let inner = match self.act {
            HiddenAct::Gelu => inner.f_gelu("none")?,
            HiddenAct::GeluTanh => inner.f_gelu("tanh")?,
            HiddenAct::Relu => inner.f_relu()?,
        };
        let out = self
            .output_dense
            .f_forward(&inner)?
            .f_dropout(self.hidden_dropout, train)?;
        let residual = out.f_add(xs)?;
        match &self.output_layer_norm {
            Some(ln) => ln.f_forward(&residual),
            None => Ok(residual),
        }
    }
}

/// One transformer layer. Reference: `BertLayer` in modeling_bert.py.
#[derive(Debug)]
pub struct BertLayer {
    attention: BertAttention,
    feed_forward: BertOutput,
}

impl BertLayer {
    /// Builds `encoder.layer.N` at `p`.
    pub fn new(p: &nn::Path, config: &BertConfig) -> Result<Self, ModelError> {
        Ok(Self {
            attention: BertAttention::new(&(p / "attention"), config)?,
            feed_forward: BertOutput::new(p, config)?,
        })
    }

    /// # Shapes
    /// `[batch, seq, hidden]` (+ mask bias `[batch, 1, 1, seq]`) → `[batch, seq, hidden]`.
    pub fn forward_t(
        &self,
        xs: &Tensor,
        mask_bias: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let xs = self.attention.forward_t(xs, mask_bias, train)?;
        self.feed_forward.forward_t(&xs, train)
    }
}

/// `tanh(dense(hidden[:, 0]))`. Reference: `BertPooler` in modeling_bert.py.
#[derive(Debug)]
pub struct BertPooler {
    dense: Linear,
}

impl BertPooler {
    /// Builds `pooler.dense` at `p` (HF: `pooler`).
    pub fn new(p: &nn::Path, config: &BertConfig) -> Result<Self, ModelError> {
        let h = config.hidden_size;
        Ok(Self {
            dense: Linear::new(&(p / "dense"), h, h, weight_init(config))?,
        })
    }

    /// # Shapes
    /// `[batch, seq, hidden]` → `[batch, hidden]` (from the first token).
    pub fn forward(&self, hidden: &Tensor) -> Result<Tensor, ModelError> {
        let first = hidden.f_select(1, 0)?;
        Ok(self.dense.f_forward(&first)?.f_tanh()?)
    }
}

/// The encoder: embeddings, `num_hidden_layers` layers, and optionally the pooler.
/// Reference: `BertModel` in modeling_bert.py.
#[derive(Debug)]
pub struct BertModel {
    embeddings: BertEmbeddings,
    layers: Vec<BertLayer>,
    /// Pre-LN only: the final `LayerNorm` after the last layer.
    final_layer_norm: Option<LayerNorm>,
    pooler: Option<BertPooler>,
}

impl BertModel {
    /// Builds the encoder at `p`; names under `p` are HF's (`embeddings.*`, `encoder.layer.N.*`,
    /// `pooler.*`, and for pre-LN a root `LayerNorm.*`).
    pub fn new(p: &nn::Path, config: &BertConfig, with_pooler: bool) -> Result<Self, ModelError> {
        let layer_p = p / "encoder" / "layer";
        let layers = (0..config.num_hidden_layers)
            .map(|i| BertLayer::new(&(&layer_p / i), config))
            .collect::<Result<Vec<_>, _>>()?;
        let final_layer_norm = if config.pre_layer_norm {
            Some(LayerNorm::new(
                &(p / "LayerNorm"),
                config.hidden_size,
                config.layer_norm_eps,
            )?)
        } else {
            None
        };
        let pooler = if with_pooler {
            Some(BertPooler::new(&(p / "pooler"), config)?)
        } else {
            None
        };
        Ok(Self {
            embeddings: BertEmbeddings::new(&(p / "embeddings"), config)?,
            layers,
            final_layer_norm,
            pooler,
        })
    }

    /// The word embedding matrix `[vocab, hidden]` (MLM heads tie their decoder to it).
    pub fn word_embeddings(&self) -> &Tensor {
        &self.embeddings.word_embeddings.weight
    }

    /// The position embedding matrix `[max_positions, hidden]`.
    pub fn position_embeddings(&self) -> &Tensor {
        &self.embeddings.position_embeddings.weight
    }

    /// The pooler, when the model was built with one.
    pub fn pooler(&self) -> Option<&BertPooler> {
        self.pooler.as_ref()
    }

    /// Turns a `[batch, seq]` 1/0 attention mask into the additive bias `[batch, 1, 1, seq]`:
    /// 0 where attended, the most negative finite value of `kind` where padded. Finite (not -inf)
    /// so that a fully padded row yields a uniform softmax instead of NaN, as in HF.
    pub fn mask_bias(attention_mask: &Tensor, kind: Kind) -> Result<Tensor, ModelError> {
        let (batch, seq) = attention_mask.size2()?;
        let min = match kind {
            Kind::Half => -65504.0,
            Kind::BFloat16 => -3.389_531_389_251_535e38,
            Kind::Double => f64::MIN,
            _ => f64::from(f32::MIN),
        };
        let mask = attention_mask.f_to_kind(kind)?.f_view([batch, 1, 1, seq])?;
        Ok(mask.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(min)?)
    }

    /// Last hidden states.
    ///
    /// # Shapes
    /// `input_ids`, `attention_mask`, `token_type_ids`: `[batch, seq]` → `[batch, seq, hidden]`.
    /// A missing mask means no padding; missing token types mean segment 0.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let mut hidden = self
            .embeddings
            .forward_t(input_ids, token_type_ids, train)?;
        let mask = match attention_mask {
            Some(m) => m.shallow_clone(),
            None => input_ids.f_ones_like()?,
        };
        let bias = Self::mask_bias(&mask, hidden.kind())?;
        for layer in &self.layers {
            hidden = layer.forward_t(&hidden, &bias, train)?;
        }
        match &self.final_layer_norm {
            Some(ln) => ln.f_forward(&hidden),
            None => Ok(hidden),
        }
    }
}
