//! BERT-family encoder (BERT, and pre-LayerNorm RoBERTa-style via `pre_layer_norm`) whose
//! parameter paths equal HF state-dict keys, so `model.safetensors` from a local HF directory loads
//! offline (issue #6).
//!
//! - `config.rs`: [`BertConfig`], deserialized straight from HF `config.json`.
//! - `model.rs`: the modules and forward pass.
//! - `load.rs`: building a model from a local HF directory.

mod config;
mod load;
mod model;

pub use config::{BertConfig, HiddenAct};
pub use load::{copy_into, load_bert, read_checkpoint, LoadedBert};
pub use model::{BertAttention, BertEmbeddings, BertLayer, BertModel, BertOutput, BertPooler};
