//! Reading and writing HF-layout model directories (`config.json`, `model.safetensors`,
//! `tokenizer.json`), so models trained here load in `transformers` and back.
//!
//! Writes go to a temporary name in the target directory and are renamed into place, so a
//! crash mid-write never leaves a truncated `model.safetensors` that looks valid.

use std::path::Path;

use tch::nn;

use crate::ModelError;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `vs` as `dir/model.safetensors`, `config` as `dir/config.json` and copies
/// `tokenizer_json` (if any) to `dir/tokenizer.json`. Creates `dir` when missing.
pub fn save_hf_dir(
    vs: &nn::VarStore,
    config: &serde_json::Value,
    tokenizer_json: Option<&Path>,
    dir: &Path,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let weights = dir.join("model.safetensors");
    // The extension must stay `.safetensors`: `VarStore::save` picks the format from it.
    let tmp = dir.join(".tmp-model.safetensors");
    vs.save(&tmp)?;
    std::fs::rename(&tmp, &weights).map_err(io_err(&weights))?;

    let cfg_path = dir.join("config.json");
    let cfg_tmp = dir.join(".config.json.tmp");
    let text = serde_json::to_string_pretty(config).map_err(|source| ModelError::Config {
        path: cfg_path.clone(),
        source,
    })?;
    std::fs::write(&cfg_tmp, text).map_err(io_err(&cfg_tmp))?;
    std::fs::rename(&cfg_tmp, &cfg_path).map_err(io_err(&cfg_path))?;

    if let Some(src) = tokenizer_json {
        let dst = dir.join("tokenizer.json");
        // Copying a file onto itself would truncate it (saving back into the source dir).
        let same = match (src.canonicalize(), dst.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            let tok_tmp = dir.join(".tokenizer.json.tmp");
            std::fs::copy(src, &tok_tmp).map_err(io_err(src))?;
            std::fs::rename(&tok_tmp, &dst).map_err(io_err(&dst))?;
        }
    }
    Ok(())
}

/// Reads `dir/config.json` as untyped JSON (keeps every HF field, e.g. `id2label`).
pub fn read_config(dir: &Path) -> Result<serde_json::Value, ModelError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|source| ModelError::Config { path, source })
}
