//! HF-layout model directories: `model.safetensors` + `config.json` (+ `tokenizer.json`).
//!
//! This is the one place that writes a directory `transformers.AutoModel*.from_pretrained` can
//! read, so pre-training, fine-tuning and checkpoints all export the same way. Writes are atomic
//! per file (write `.<name>.tmp`, then rename): a run killed while exporting leaves either the old
//! file or the new one, never a truncated safetensors that would fail to load much later.

use std::path::{Path, PathBuf};

use tch::{nn, Device, Tensor};

use crate::ModelError;

/// File names inside an HF model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The model config.
pub const CONFIG_FILE: &str = "config.json";
/// The `tokenizers` JSON file.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The temporary sibling of `path` used for atomic writes (`dir/.name.tmp`).
fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(write_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

/// Writes named tensors as safetensors atomically. Tensors are moved to the CPU and made
/// contiguous first (safetensors stores dense row-major data; CUDA tensors cannot be written).
pub fn write_safetensors_atomic(
    tensors: &[(String, Tensor)],
    path: &Path,
) -> Result<(), ModelError> {
    let cpu = tensors
        .iter()
        .map(|(name, t)| Ok((name.clone(), t.f_to_device(Device::Cpu)?.f_contiguous()?)))
        .collect::<Result<Vec<_>, ModelError>>()?;
    let tmp = tmp_path(path);
    Tensor::write_safetensors(&cpu, &tmp)?;
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

/// Every variable of `vs`, sorted by name (stable files and diffs).
pub fn named_variables(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Saves `vs` as an HF model directory: `dir/model.safetensors` (every variable under its
/// VarStore name, which must already be the HF state-dict key), `dir/config.json` (pretty
/// printed `config`) and, when given, a copy of `tokenizer_json` as `dir/tokenizer.json`.
/// Creates `dir` if needed.
pub fn save_hf_dir(
    vs: &nn::VarStore,
    config: &serde_json::Value,
    tokenizer_json: Option<&Path>,
    dir: &Path,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    // Detach from autograd: writing reads data only, but detached CPU copies are cheap and
    // keep the graph out of it.
    let _guard = tch::no_grad_guard();
    write_safetensors_atomic(&named_variables(vs), &dir.join(WEIGHTS_FILE))?;
    let text = serde_json::to_string_pretty(config).map_err(|e| {
        ModelError::Data(format!(
            "cannot serialise config.json for {}: {e}",
            dir.display()
        ))
    })?;
    write_atomic(&dir.join(CONFIG_FILE), format!("{text}\n").as_bytes())?;
    if let Some(src) = tokenizer_json {
        let dst = dir.join(TOKENIZER_FILE);
        // Copying a file onto itself would truncate it on some platforms.
        let same = match (src.canonicalize(), dst.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            let bytes = std::fs::read(src).map_err(|source| ModelError::Io {
                path: src.to_path_buf(),
                source,
            })?;
            write_atomic(&dst, &bytes)?;
        }
    }
    Ok(())
}

/// Reads `dir/config.json` as untyped JSON (callers pick the fields they need, e.g.
/// `model_type`, `architectures`, `id2label`).
pub fn read_config(dir: &Path) -> Result<serde_json::Value, ModelError> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ModelError::Config { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::Init;

    #[test]
    fn save_then_read_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().sub("bert").sub("dense").f_var(
            "weight",
            &[3, 2],
            Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        )?;
        let tok = dir.path().join("tok.json");
        std::fs::write(&tok, "{}")?;
        let config = serde_json::json!({"model_type": "bert", "hidden_size": 2});
        let out = dir.path().join("model");
        save_hf_dir(&vs, &config, Some(&tok), &out)?;
        assert_eq!(read_config(&out)?, config);
        assert_eq!(std::fs::read_to_string(out.join(TOKENIZER_FILE))?, "{}");
        let tensors = Tensor::read_safetensors(out.join(WEIGHTS_FILE))?;
        assert_eq!(tensors.len(), 1);
        assert_eq!(tensors[0].0, "bert.dense.weight");
        assert!(tensors[0].1.equal(&w));
        // No temporary files are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&out)?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        Ok(())
    }
}
