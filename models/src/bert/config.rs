//! [`BertConfig`]: the HF `config.json` of a BERT-family encoder, field names unchanged.
//!
//! Mirrors `BertConfig` in transformers
//! (<https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/configuration_bert.py>).
//! Unknown fields (`architectures`, `model_type`, ...) are ignored; fields that older checkpoints
//! omit get HF's defaults through `#[serde(default)]`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn;

use crate::bert::BertModel;
use crate::ModelError;

/// Activation of the feed-forward block (`hidden_act` in `config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HiddenAct {
    /// Exact (erf) GELU, HF `"gelu"`.
    #[serde(rename = "gelu")]
    Gelu,
    /// tanh-approximated GELU, HF `"gelu_new"` / `"gelu_pytorch_tanh"`.
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// HF `"relu"`.
    #[serde(rename = "relu")]
    Relu,
}

/// Hyperparameters of a BERT-family encoder, as in HF `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Size of the token vocabulary.
    pub vocab_size: i64,
    /// Width of every hidden state.
    pub hidden_size: i64,
    /// Number of transformer layers.
    pub num_hidden_layers: i64,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: i64,
    /// Width of the feed-forward block.
    pub intermediate_size: i64,
    /// Feed-forward activation.
    #[serde(default = "default_act")]
    pub hidden_act: HiddenAct,
    /// Dropout on embeddings and sub-layer outputs.
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Number of learned positions.
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: i64,
    /// Number of segment (token type) ids.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: i64,
    /// Std of the normal init of linear and embedding weights.
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_ln_eps")]
    pub layer_norm_eps: f64,
    /// Id of the padding token.
    #[serde(default)]
    pub pad_token_id: i64,
    /// Pre-LayerNorm blocks (RoBERTa-PreLayerNorm layout) instead of BERT's post-LN.
    #[serde(default)]
    pub pre_layer_norm: bool,
    /// HF `model_type` (`bert`, `roberta`, `xlm-roberta`, `roberta-prelayernorm`, ...). RoBERTa
    /// types number positions from `pad_token_id + 1` (see [`BertConfig::position_offset`]);
    /// `roberta-prelayernorm` implies `pre_layer_norm` (HF's config has no such field).
    #[serde(default = "default_model_type")]
    pub model_type: String,
}

// HF defaults, from configuration_bert.py.
fn default_act() -> HiddenAct {
    HiddenAct::Gelu
}
fn default_dropout() -> f64 {
    0.1
}
fn default_max_positions() -> i64 {
    512
}
fn default_type_vocab() -> i64 {
    2
}
fn default_init_range() -> f64 {
    0.02
}
fn default_ln_eps() -> f64 {
    1e-12
}
fn default_model_type() -> String {
    "bert".into()
}

/// `model_type`s whose embeddings use RoBERTa's padding-aware position ids.
const ROBERTA_TYPES: [&str; 4] = [
    "roberta",
    "xlm-roberta",
    "camembert",
    "roberta-prelayernorm",
];

impl BertConfig {
    /// Reads and validates an HF `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Self =
            serde_json::from_str(&text).map_err(|source| ModelError::Config {
                path: path.to_path_buf(),
                source,
            })?;
        if config.model_type == "roberta-prelayernorm" {
            config.pre_layer_norm = true;
        }
        config.validate()?;
        Ok(config)
    }

    /// Rejects configs that would fail deep inside a forward pass.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.num_attention_heads <= 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(ModelError::InvalidConfig(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.vocab_size <= 0 || self.num_hidden_layers <= 0 || self.intermediate_size <= 0 {
            return Err(ModelError::InvalidConfig(
                "vocab_size, num_hidden_layers and intermediate_size must be positive".into(),
            ));
        }
        Ok(())
    }

    /// RoBERTa-style models number real tokens' positions `pad_token_id + 1, + 2, ...` and give
    /// padding position `pad_token_id` (HF `create_position_ids_from_input_ids`); this returns
    /// that padding index, or `None` for BERT's plain `0..seq`.
    pub fn position_offset(&self) -> Option<i64> {
        ROBERTA_TYPES
            .contains(&self.model_type.as_str())
            .then_some(self.pad_token_id)
    }

    /// The longest input (specials included) the position table holds: RoBERTa types lose
    /// `pad_token_id + 1` rows to the padding offset.
    pub fn max_tokens(&self) -> usize {
        let offset = self.position_offset().map_or(0, |pad| pad + 1);
        usize::try_from(self.max_position_embeddings - offset).unwrap_or(0)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }

    /// Builds a freshly initialised encoder under `p` (see [`BertModel::new`]).
    pub fn build(&self, p: &nn::Path, with_pooler: bool) -> Result<BertModel, ModelError> {
        self.validate()?;
        BertModel::new(p, self, with_pooler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hf_config_with_defaults() -> Result<(), serde_json::Error> {
        let json = r#"{"architectures":["BertModel"],"model_type":"bert","vocab_size":100,
            "hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":64,"hidden_act":"gelu_pytorch_tanh"}"#;
        let config: BertConfig = serde_json::from_str(json)?;
        assert_eq!(config.hidden_act, HiddenAct::GeluTanh);
        assert_eq!(config.type_vocab_size, 2);
        assert_eq!(config.layer_norm_eps, 1e-12);
        assert!(!config.pre_layer_norm);
        assert_eq!(config.head_dim(), 8);
        Ok(())
    }

    #[test]
    fn rejects_heads_not_dividing_hidden() -> Result<(), serde_json::Error> {
        let json = r#"{"vocab_size":100,"hidden_size":30,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":64}"#;
        let config: BertConfig = serde_json::from_str(json)?;
        assert!(matches!(
            config.validate(),
            Err(ModelError::InvalidConfig(_))
        ));
        Ok(())
    }
}
