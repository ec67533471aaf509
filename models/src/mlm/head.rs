//! [`LmHead`]: the masked-LM prediction head, `dense → act → LayerNorm → decoder (+ bias)`.
//!
//! One struct serves three layouts, which differ only in names and activation:
//! BERT `cls.predictions.{transform.dense, transform.LayerNorm, decoder.weight, bias}`
//! (`BertLMPredictionHead`, activation = `hidden_act`), RoBERTa
//! `lm_head.{dense, layer_norm, decoder.weight, bias}` (`RobertaLMHead`, always exact GELU), and
//! CLIMB's word-class unit, an untied RoBERTa-style head with `|tags| + 1` outputs.
//! When the decoder is tied, the head owns no decoder weight: the caller passes the word
//! embeddings at forward time, so the tie survives any in-place update and HF sees the same
//! (absent) key it would write itself.

use tch::nn::{self, Init};
use tch::Tensor;

use crate::bert::HiddenAct;
use crate::layers::{LayerNorm, Linear};
use crate::ModelError;

/// Where the head's parameters live (all relative to the head's root path).
#[derive(Debug, Clone, Copy)]
pub enum HeadLayout {
    /// `BertLMPredictionHead` at `cls.predictions`.
    Bert,
    /// `RobertaLMHead` at `lm_head` (also the auxiliary heads).
    Roberta,
}

/// A masked-LM prediction head. References: `BertLMPredictionHead` (modeling_bert.py) and
/// `RobertaLMHead` (modeling_roberta.py).
#[derive(Debug)]
pub struct LmHead {
    dense: Linear,
    layer_norm: LayerNorm,
    /// Own decoder weight `[out, hidden]`; `None` when tied to the word embeddings.
    decoder: Option<Tensor>,
    /// `[out]`
    bias: Tensor,
    act: HiddenAct,
}

impl LmHead {
    /// Builds the head at `p` with `out` outputs. `tied` leaves out the decoder weight.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: &nn::Path,
        layout: HeadLayout,
        hidden: i64,
        out: i64,
        eps: f64,
        act: HiddenAct,
        tied: bool,
        init_std: f64,
    ) -> Result<Self, ModelError> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: init_std,
        };
        let (dense, layer_norm) = match layout {
            HeadLayout::Bert => {
                let t = p / "transform";
                (
                    Linear::new(&(&t / "dense"), hidden, hidden, init)?,
                    LayerNorm::new(&(&t / "LayerNorm"), hidden, eps)?,
                )
            }
            HeadLayout::Roberta => (
                Linear::new(&(p / "dense"), hidden, hidden, init)?,
                LayerNorm::new(&(p / "layer_norm"), hidden, eps)?,
            ),
        };
        let decoder = if tied {
            None
        } else {
            Some((p / "decoder").f_var("weight", &[out, hidden], init)?)
        };
        Ok(Self {
            dense,
            layer_norm,
            decoder,
            bias: p.f_zeros("bias", &[out])?,
            act,
        })
    }

    /// Whether the decoder is tied (needs the word embeddings at forward time).
    pub fn is_tied(&self) -> bool {
        self.decoder.is_none()
    }

    /// # Shapes
    /// `hidden`: `[.., hidden]` → `[.., out]`. `tied_weight` (`[out, hidden]`) is used only when
    /// the head is tied, and must then be given.
    pub fn forward(
        &self,
        hidden: &Tensor,
        tied_weight: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let x = self.dense.f_forward(hidden)?;
        let x = match self.act {
            HiddenAct::Gelu => x.f_gelu("none")?,
            HiddenAct::GeluTanh => x.f_gelu("tanh")?,
            HiddenAct::Relu => x.f_relu()?,
        };
        let x = self.layer_norm.f_forward(&x)?;
        let weight = match (&self.decoder, tied_weight) {
            (Some(w), _) => w,
            (None, Some(w)) => w,
            (None, None) => {
                return Err(ModelError::InvalidConfig(
                    "tied LM head called without the word embeddings".into(),
                ))
            }
        };
        Ok(x.f_linear(weight, Some(&self.bias))?)
    }
}
