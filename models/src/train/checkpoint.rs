//! Checkpoints: `run_dir/ckpt/step_N/` with `model.safetensors` (the model VarStore, HF names),
//! `aux_heads.safetensors` (CLIMB word-class heads), the AdamW moments and step of each
//! optimiser group (`optimizer.safetensors` when shared, else `optimizer.<group>.safetensors`,
//! see `units.rs`), with `rescore_every` the data curriculum's current scores
//! (`difficulty_scores.json`, see `rescore.rs`), and `trainer_state.json`. The state file is written last, so a directory without it is
//! an interrupted save and is ignored when resuming.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::nn;

use crate::hf::{named_variables, write_atomic, write_safetensors_atomic, WEIGHTS_FILE};
use crate::mlm::{load_exact, AuxHeads};
use crate::train::units::Optimizers;
use crate::ModelError;

/// `trainer_state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Completed optimizer steps.
    pub step: u64,
    /// The run's seed (batches, masks and dropout are functions of seed and step).
    pub seed: u64,
    /// Training sequences consumed so far (the data position).
    pub samples_seen: u64,
    /// Loss of the last step.
    pub last_loss: Option<f64>,
    /// Last held-out loss.
    pub eval_loss: Option<f64>,
    /// Masking counts since the last evaluation (logged at the next one), so a resumed run
    /// logs the same realised rates as an uninterrupted one.
    #[serde(default)]
    pub mask_window: crate::train::data::MaskCounts,
    /// With `keep_best`: step and held-out loss of the weights in `ckpt/best/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<(u64, f64)>,
}

const STATE_FILE: &str = "trainer_state.json";

fn ckpt_root(run_dir: &Path) -> PathBuf {
    run_dir.join("ckpt")
}

/// Complete checkpoints in `run_dir`, oldest first.
pub fn checkpoints(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>, ModelError> {
    let root = ckpt_root(run_dir);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step_")?.parse().ok()?;
            let dir = e.path();
            dir.join(STATE_FILE).is_file().then_some((step, dir))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The newest complete checkpoint, if any.
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<(u64, PathBuf)>, ModelError> {
    Ok(checkpoints(run_dir)?.pop())
}

/// Writes `ckpt/step_N/` and deletes all but the newest `keep` checkpoints.
pub fn save(
    run_dir: &Path,
    state: &TrainerState,
    vs: &nn::VarStore,
    aux: &AuxHeads,
    opt: &Optimizers,
    scores: Option<&[f64]>,
    keep: usize,
) -> Result<PathBuf, ModelError> {
    let dir = ckpt_root(run_dir).join(format!("step_{}", state.step));
    std::fs::create_dir_all(&dir).map_err(|source| ModelError::Write {
        path: dir.clone(),
        source,
    })?;
    let _guard = tch::no_grad_guard();
    write_safetensors_atomic(&named_variables(vs), &dir.join(WEIGHTS_FILE))?;
    if !aux.is_empty() {
        write_safetensors_atomic(&named_variables(&aux.vs), &AuxHeads::file(&dir))?;
    }
    opt.save(&dir)?;
    if let Some(scores) = scores {
        crate::train::rescore::save_scores(&dir, scores)?;
    }
    let text = serde_json::to_string_pretty(state)
        .map_err(|e| ModelError::Data(format!("cannot serialise trainer state: {e}")))?;
    write_atomic(&dir.join(STATE_FILE), text.as_bytes())?;
    let all = checkpoints(run_dir)?;
    for (_, old) in all.iter().take(all.len().saturating_sub(keep.max(1))) {
        std::fs::remove_dir_all(old).map_err(|source| ModelError::Write {
            path: old.clone(),
            source,
        })?;
    }
    Ok(dir)
}

/// `ckpt/best/model.safetensors`: the weights of the best evaluation so far. It lives under
/// `ckpt/` so that starting a run over (new config or data) removes it with the checkpoints.
fn best_weights(run_dir: &Path) -> PathBuf {
    ckpt_root(run_dir).join("best").join(WEIGHTS_FILE)
}

/// Writes the model's weights as the best so far (atomically).
pub fn save_best(run_dir: &Path, vs: &nn::VarStore) -> Result<(), ModelError> {
    let path = best_weights(run_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let _guard = tch::no_grad_guard();
    write_safetensors_atomic(&named_variables(vs), &path)
}

/// Loads the best weights into the model.
pub fn load_best(run_dir: &Path, vs: &nn::VarStore) -> Result<(), ModelError> {
    load_exact(vs, &best_weights(run_dir))
}

/// Restores weights, auxiliary heads and optimizer state from `dir`.
pub fn load(
    dir: &Path,
    vs: &nn::VarStore,
    aux: &AuxHeads,
    opt: &mut Optimizers,
) -> Result<TrainerState, ModelError> {
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(|source| ModelError::Io {
        path: state_path.clone(),
        source,
    })?;
    let state: TrainerState = serde_json::from_str(&text).map_err(|source| ModelError::Config {
        path: state_path,
        source,
    })?;
    load_exact(vs, &dir.join(WEIGHTS_FILE))?;
    if !aux.is_empty() {
        load_exact(&aux.vs, &AuxHeads::file(dir))?;
    }
    opt.load(dir)?;
    Ok(state)
}

/// Drops metric lines after `step` (a resumed run rewrites them) .
pub fn truncate_metrics(path: &Path, step: u64) -> Result<(), ModelError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            step > 0
                && serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("step")?.as_u64())
                    .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())
}
