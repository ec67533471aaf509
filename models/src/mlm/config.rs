//! [`MlmConfig`]: which HF masked-LM class a model corresponds to, plus its encoder config.
//!
//! The family decides the state-dict prefixes (`bert.` + `cls.predictions.*` for BERT;
//! `roberta.` or `roberta_prelayernorm.` + `lm_head.*` for RoBERTa), the position ids
//! (RoBERTa counts from `pad_token_id + 1`) and the `architectures` / `model_type` written to
//! `config.json`. References:
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/modeling_bert.py>
//! (`BertForMaskedLM`),
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/roberta/modeling_roberta.py>
//! (`RobertaForMaskedLM`) and `roberta_prelayernorm/modeling_roberta_prelayernorm.py`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::bert::{BertConfig, HiddenAct};
use crate::ModelError;

/// The HF model family of an MLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `BertForMaskedLM` (post-LN only: HF has no pre-LN BERT).
    Bert,
    /// `RobertaForMaskedLM`, or `RobertaPreLayerNormForMaskedLM` when the encoder is pre-LN.
    Roberta,
}

impl Family {
    /// Parses `bert` / `roberta`.
    pub fn parse(s: &str) -> Option<Family> {
        match s {
            "bert" => Some(Family::Bert),
            "roberta" | "xlm-roberta" | "xlmr" => Some(Family::Roberta),
            _ => None,
        }
    }
}

/// Model size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizePreset {
    /// 2 layers, hidden 128, 2 heads, FFN 512: trains on a laptop CPU in minutes.
    Tiny,
    /// CLIMB "small" (SEEDS §2.1): pre-LN, 8 layers, hidden 256, 8 heads, FFN 2048, untied.
    Small,
    /// BERT/RoBERTa-base: 12 layers, hidden 768, 12 heads, FFN 3072.
    Base,
}

impl SizePreset {
    /// Parses `tiny` / `small` / `base`.
    pub fn parse(s: &str) -> Option<SizePreset> {
        match s {
            "tiny" => Some(SizePreset::Tiny),
            "small" => Some(SizePreset::Small),
            "base" => Some(SizePreset::Base),
            _ => None,
        }
    }

    /// The MLM config of this size for `family`, a vocabulary of `vocab_size` ids padded with
    /// `pad_token_id`, and sequences of at most `max_len` tokens (specials included).
    pub fn config(
        self,
        family: Family,
        vocab_size: i64,
        pad_token_id: i64,
        max_len: i64,
    ) -> MlmConfig {
        let (layers, hidden, heads, ffn, pre_ln) = match self {
            SizePreset::Tiny => (2, 128, 2, 512, false),
            // HF has no pre-LN BERT, so a BERT-family "small" stays post-LN.
            SizePreset::Small => (8, 256, 8, 2048, family == Family::Roberta),
            SizePreset::Base => (12, 768, 12, 3072, false),
        };
        // RoBERTa's positions start at pad + 1, so it needs pad + 1 extra rows (514 for 512).
        let offset = match family {
            Family::Bert => 0,
            Family::Roberta => pad_token_id + 1,
        };
        let max_positions = match self {
            SizePreset::Base => 512 + offset,
            _ => max_len + offset,
        };
        let model_type = match (family, pre_ln) {
            (Family::Bert, _) => "bert",
            (Family::Roberta, false) => "roberta",
            (Family::Roberta, true) => "roberta-prelayernorm",
        };
        let encoder = BertConfig {
            vocab_size,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: ffn,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: max_positions,
            type_vocab_size: if family == Family::Bert { 2 } else { 1 },
            initializer_range: 0.02,
            // RoBERTa-family checkpoints (and CLIMB) use 1e-5; BERT 1e-12.
            layer_norm_eps: if family == Family::Bert { 1e-12 } else { 1e-5 },
            pad_token_id,
            pre_layer_norm: pre_ln,
            model_type: model_type.into(),
        };
        MlmConfig {
            family,
            encoder,
            // CLIMB unties input and output embeddings (SEEDS §2.1); the others tie, as HF does.
            tie_word_embeddings: self != SizePreset::Small,
            extra: serde_json::Map::new(),
        }
    }
}

/// A masked LM's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct MlmConfig {
    /// HF family (decides names and positions).
    pub family: Family,
    /// The encoder.
    pub encoder: BertConfig,
    /// Decoder weight = word embeddings (HF `tie_word_embeddings`, default true).
    pub tie_word_embeddings: bool,
    /// Extra `config.json` fields carried through unchanged (`bos_token_id`, `eos_token_id`, ...).
    pub extra: serde_json::Map<String, Value>,
}

/// Fields that [`MlmConfig::to_hf`] writes itself; everything else in a loaded config is kept.
const OWN_FIELDS: [&str; 18] = [
    "architectures",
    "model_type",
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
    "layer_norm_eps",
    "pad_token_id",
    "pre_layer_norm",
    "tie_word_embeddings",
    "torch_dtype",
];

impl MlmConfig {
    /// The HF `model_type`.
    pub fn model_type(&self) -> &'static str {
        match (self.family, self.encoder.pre_layer_norm) {
            (Family::Bert, _) => "bert",
            (Family::Roberta, false) => "roberta",
            (Family::Roberta, true) => "roberta-prelayernorm",
        }
    }

    /// The HF masked-LM class.
    pub fn architecture(&self) -> &'static str {
        match (self.family, self.encoder.pre_layer_norm) {
            (Family::Bert, _) => "BertForMaskedLM",
            (Family::Roberta, false) => "RobertaForMaskedLM",
            (Family::Roberta, true) => "RobertaPreLayerNormForMaskedLM",
        }
    }

    /// The state-dict prefix of the encoder (`bert`, `roberta`, `roberta_prelayernorm`): HF's
    /// `base_model_prefix` of the class.
    pub fn encoder_prefix(&self) -> &'static str {
        match (self.family, self.encoder.pre_layer_norm) {
            (Family::Bert, _) => "bert",
            (Family::Roberta, false) => "roberta",
            (Family::Roberta, true) => "roberta_prelayernorm",
        }
    }

    /// Checks the combination is one HF can load.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.encoder.validate()?;
        if self.family == Family::Bert && self.encoder.pre_layer_norm {
            return Err(ModelError::InvalidConfig(
                "pre-LayerNorm BERT has no HF class; use the roberta family".into(),
            ));
        }
        let want = match self.family {
            Family::Bert => None,
            Family::Roberta => Some(self.encoder.pad_token_id),
        };
        if self.encoder.position_offset() != want {
            return Err(ModelError::InvalidConfig(format!(
                "model_type {:?} does not match the {:?} family",
                self.encoder.model_type, self.family
            )));
        }
        Ok(())
    }

    /// Reads an HF `config.json` value: the family from `model_type`, tying from
    /// `tie_word_embeddings` (default true), every other field kept in `extra`.
    pub fn from_hf(value: &Value) -> Result<MlmConfig, ModelError> {
        let mut encoder: BertConfig = serde_json::from_value(value.clone())
            .map_err(|e| ModelError::InvalidConfig(format!("config.json: {e}")))?;
        let family = match encoder.model_type.as_str() {
            "bert" => Family::Bert,
            "roberta" | "xlm-roberta" | "camembert" => Family::Roberta,
            "roberta-prelayernorm" => {
                encoder.pre_layer_norm = true;
                Family::Roberta
            }
            other => {
                return Err(ModelError::InvalidConfig(format!(
                    "model_type {other:?} is not a BERT/RoBERTa masked LM"
                )))
            }
        };
        // Exported configs name the model type of the class actually written.
        if family == Family::Roberta && encoder.model_type != "roberta-prelayernorm" {
            encoder.model_type = "roberta".into();
            if encoder.pre_layer_norm {
                encoder.model_type = "roberta-prelayernorm".into();
            }
        }
        let tie_word_embeddings = value
            .get("tie_word_embeddings")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let extra = value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !OWN_FIELDS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let config = MlmConfig {
            family,
            encoder,
            tie_word_embeddings,
            extra,
        };
        config.validate()?;
        Ok(config)
    }

    /// The HF `config.json` of this model (what `from_pretrained` needs to rebuild it).
    pub fn to_hf(&self) -> Value {
        let e = &self.encoder;
        let act = match e.hidden_act {
            HiddenAct::Gelu => "gelu",
            HiddenAct::GeluTanh => "gelu_new",
            HiddenAct::Relu => "relu",
        };
        let mut out = serde_json::Map::new();
        for (k, v) in &self.extra {
            out.insert(k.clone(), v.clone());
        }
        let own = json!({
            "architectures": [self.architecture()],
            "model_type": self.model_type(),
            "vocab_size": e.vocab_size,
            "hidden_size": e.hidden_size,
            "num_hidden_layers": e.num_hidden_layers,
            "num_attention_heads": e.num_attention_heads,
            "intermediate_size": e.intermediate_size,
            "hidden_act": act,
            "hidden_dropout_prob": e.hidden_dropout_prob,
            "attention_probs_dropout_prob": e.attention_probs_dropout_prob,
            "max_position_embeddings": e.max_position_embeddings,
            "type_vocab_size": e.type_vocab_size,
            "initializer_range": e.initializer_range,
            "layer_norm_eps": e.layer_norm_eps,
            "pad_token_id": e.pad_token_id,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
        });
        if let Value::Object(own) = own {
            out.extend(own);
        }
        out.entry("position_embedding_type")
            .or_insert_with(|| json!("absolute"));
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip_through_hf_json() -> Result<(), ModelError> {
        for (size, family) in [
            (SizePreset::Tiny, Family::Roberta),
            (SizePreset::Small, Family::Roberta),
            (SizePreset::Tiny, Family::Bert),
        ] {
            let c = size.config(family, 100, 1, 64);
            c.validate()?;
            let back = MlmConfig::from_hf(&c.to_hf())?;
            assert_eq!(back.family, c.family);
            assert_eq!(back.encoder, c.encoder);
            assert_eq!(back.tie_word_embeddings, c.tie_word_embeddings);
        }
        let small = SizePreset::Small.config(Family::Roberta, 8192, 1, 128);
        assert_eq!(small.architecture(), "RobertaPreLayerNormForMaskedLM");
        assert_eq!(small.encoder_prefix(), "roberta_prelayernorm");
        assert_eq!(small.encoder.max_position_embeddings, 130);
        Ok(())
    }
}
