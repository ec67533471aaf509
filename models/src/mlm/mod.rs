//! Masked-LM models whose state dicts are exactly HF's `BertForMaskedLM`,
//! `RobertaForMaskedLM` and `RobertaPreLayerNormForMaskedLM`, so a trained model exported with
//! [`MlmModel::save_hf`] loads in `transformers` and an HF checkpoint loads here.
//!
//! - `config.rs`: [`MlmConfig`] (family + encoder config + tying), size presets and the HF
//!   `config.json` it exports.
//! - `head.rs`: [`LmHead`], the dense → GELU → LayerNorm → decoder head (also used for CLIMB's
//!   word-class unit with `|tags| + 1` outputs).
//! - `model.rs`: [`MlmModel`], [`load_mlm`] and the auxiliary (non-HF) heads [`AuxHeads`].

mod config;
mod head;
mod model;

pub use config::{Family, MlmConfig, SizePreset};
pub use head::LmHead;
pub use model::{load_exact, load_mlm, masked_loss, AuxHeads, LoadedMlm, MlmModel};
