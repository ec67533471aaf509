//! Save/load round trips and mask behaviour of the BERT encoder on tiny random configs.
//!
//! These need no checkpoint: they check that parameter names survive `VarStore::save` →
//! `load_bert` (including the `bert.` prefix of task checkpoints and the pre-LN layout), that a
//! checkpoint with missing tensors is rejected with their names, that padding under a 0 mask does
//! not change the real tokens' states, and that dropout really acts in training mode.

use std::error::Error;
use std::path::Path;

use mavuno_models::bert::{load_bert, BertConfig, BertModel};
use mavuno_models::ModelError;
use tch::{nn, Device, Kind, Tensor};

fn tiny_config(pre_layer_norm: bool, layers: i64) -> Result<BertConfig, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": layers,
        "num_attention_heads": 4, "intermediate_size": 32, "max_position_embeddings": 12,
        "pre_layer_norm": pre_layer_norm,
    }))
}

/// Builds a random model under `prefix` (e.g. `bert`) and saves it as an HF-style directory.
fn save_random(
    dir: &Path,
    config: &BertConfig,
    prefix: Option<&str>,
) -> Result<(nn::VarStore, BertModel), Box<dyn Error>> {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = match prefix {
        Some(p) => vs.root() / p,
        None => vs.root(),
    };
    let model = config.build(&root, false)?;
    vs.save(dir.join("model.safetensors"))?;
    std::fs::write(dir.join("config.json"), serde_json::to_string(config)?)?;
    Ok((vs, model))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f64, Box<dyn Error>> {
    Ok(f64::try_from((a - b).abs().max().to_kind(Kind::Double))?)
}

#[test]
fn round_trip_with_prefix_and_both_layouts() -> Result<(), Box<dyn Error>> {
    tch::manual_seed(1);
    let ids = Tensor::from_slice(&[2i64, 7, 9, 4, 3, 11, 5, 8]).view([2, 4]);
    for pre_layer_norm in [false, true] {
        let dir = tempfile::tempdir()?;
        let config = tiny_config(pre_layer_norm, 2)?;
        let (_vs, original) = save_random(dir.path(), &config, Some("bert"))?;
        let loaded = load_bert(dir.path(), Device::Cpu)?;
        let a = tch::no_grad(|| original.forward_t(&ids, None, None, false))?;
        let b = tch::no_grad(|| loaded.model.forward_t(&ids, None, None, false))?;
        assert_eq!(a.size(), vec![2, 4, 16]);
        assert_eq!(
            max_abs_diff(&a, &b)?,
            0.0,
            "pre_layer_norm={pre_layer_norm}"
        );
    }
    Ok(())
}

#[test]
fn missing_tensors_are_named() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    save_random(dir.path(), &tiny_config(false, 1)?, None)?;
    // Claim one more layer than the checkpoint has.
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string(&tiny_config(false, 2)?)?,
    )?;
    match load_bert(dir.path(), Device::Cpu) {
        Err(ModelError::MissingTensors { missing, .. }) => {
            assert!(missing
                .iter()
                .all(|name| name.starts_with("encoder.layer.1.")));
            assert!(missing.contains(&"encoder.layer.1.attention.self.query.weight".to_string()));
        }
        other => panic!("expected MissingTensors, got {other:?}"),
    }
    Ok(())
}

#[test]
fn padding_does_not_change_real_tokens() -> Result<(), Box<dyn Error>> {
    tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = tiny_config(false, 2)?.build(&vs.root(), false)?;
    let short = Tensor::from_slice(&[2i64, 7, 9]).view([1, 3]);
    let padded = Tensor::from_slice(&[2i64, 7, 9, 0, 0]).view([1, 5]);
    let mask = Tensor::from_slice(&[1i64, 1, 1, 0, 0]).view([1, 5]);
    let a = tch::no_grad(|| model.forward_t(&short, None, None, false))?;
    let b = tch::no_grad(|| model.forward_t(&padded, Some(&mask), None, false))?;
    assert!(max_abs_diff(&a, &b.narrow(1, 0, 3))? < 1e-5);
    Ok(())
}

#[test]
fn dropout_acts_only_in_training() -> Result<(), Box<dyn Error>> {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = tiny_config(false, 1)?.build(&vs.root(), false)?;
    let ids = Tensor::from_slice(&[2i64, 7, 9, 4]).view([1, 4]);
    let eval_a = model.forward_t(&ids, None, None, false)?;
    let eval_b = model.forward_t(&ids, None, None, false)?;
    let train = model.forward_t(&ids, None, None, true)?;
    assert_eq!(max_abs_diff(&eval_a, &eval_b)?, 0.0);
    assert!(max_abs_diff(&eval_a, &train)? > 1e-3);
    Ok(())
}
