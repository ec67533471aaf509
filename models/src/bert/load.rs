//! Loading a BERT-family encoder from a local HF model directory, offline.
//!
//! A directory holds `config.json` and `model.safetensors` (as written by `save_pretrained`).
//! Keys may carry a `bert.` / `roberta.` / `roberta_prelayernorm.` prefix (checkpoints saved from
//! `BertForMaskedLM`, `RobertaForMaskedLM` and friends); it is
//! stripped so they match the bare encoder's names. Extra keys (MLM heads, the `position_ids`
//! buffer) are ignored; missing ones are an error listing all of them, and shapes must match.

use std::collections::HashMap;
use std::path::Path;

use tch::{nn, Device, Tensor};

use crate::bert::{BertConfig, BertModel};
use crate::ModelError;

/// Prefixes that HF task models put in front of the encoder's keys.
const ENCODER_PREFIXES: [&str; 3] = ["bert.", "roberta_prelayernorm.", "roberta."];

/// An encoder together with the VarStore that owns its parameters.
#[derive(Debug)]
pub struct LoadedBert {
    /// Owns every parameter; save with `vs.save("x.safetensors")`.
    pub vs: nn::VarStore,
    /// The encoder.
    pub model: BertModel,
    /// Its config.
    pub config: BertConfig,
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`.
///
/// The pooler is built only when the checkpoint has `pooler.dense.weight`, so encoder-only
/// checkpoints load without complaints about missing pooler weights.
pub fn load_bert(dir: &Path, device: Device) -> Result<LoadedBert, ModelError> {
    let config = BertConfig::from_file(&dir.join("config.json"))?;
    let weights_path = dir.join("model.safetensors");
    if let Err(source) = std::fs::metadata(&weights_path) {
        return Err(ModelError::Io {
            path: weights_path,
            source,
        });
    }
    let tensors = read_checkpoint(&weights_path)?;
    let with_pooler = tensors.contains_key("pooler.dense.weight");
    let vs = nn::VarStore::new(device);
    let model = config.build(&vs.root(), with_pooler)?;
    copy_into(&vs, &tensors, &weights_path)?;
    Ok(LoadedBert { vs, model, config })
}

/// Reads a safetensors file into a name → tensor map, stripping [`ENCODER_PREFIXES`].
pub fn read_checkpoint(path: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    let tensors = Tensor::read_safetensors(path)?;
    Ok(tensors
        .into_iter()
        .map(|(name, tensor)| {
            let bare = ENCODER_PREFIXES
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix))
                .map(str::to_string)
                .unwrap_or(name);
            (bare, tensor)
        })
        .collect())
}

/// Copies checkpoint tensors into every variable of `vs`, converting dtype and device.
/// `path` is only used in error messages.
pub fn copy_into(
    vs: &nn::VarStore,
    tensors: &HashMap<String, Tensor>,
    path: &Path,
) -> Result<(), ModelError> {
    let mut missing = Vec::new();
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    // Copying into leaf tensors that require grad must not be recorded by autograd.
    let _guard = tch::no_grad_guard();
    for (name, mut var) in variables {
        let Some(src) = tensors.get(&name) else {
            missing.push(name);
            continue;
        };
        if src.size() != var.size() {
            return Err(ModelError::ShapeMismatch {
                name,
                expected: var.size(),
                found: src.size(),
            });
        }
        var.f_copy_(src)?;
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ModelError::MissingTensors {
            path: path.to_path_buf(),
            missing,
        })
    }
}
