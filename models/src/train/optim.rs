//! AdamW over named tensors, with its state (`exp_avg`, `exp_avg_sq`, step) saveable as
//! safetensors, plus the learning-rate schedule and gradient clipping.
//!
//! tch's `nn::AdamW` keeps its moments inside libtorch where they cannot be written out, so a
//! killed run could not resume the same curve. This is PyTorch's `torch.optim.AdamW` update
//! (decoupled weight decay, bias-corrected moments; <https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html>)
//! written with in-place tensor ops. Weight decay skips biases and LayerNorm parameters, as
//! HF's `Trainer` does (`get_decay_parameter_names`).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::hf::write_safetensors_atomic;
use crate::ModelError;

/// AdamW hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay (applied as `p ← p·(1 − lr·wd)`).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    /// HF `TrainingArguments` defaults, except weight decay 0.01 (BERT/RoBERTa pre-training).
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

#[derive(Debug)]
struct Param {
    name: String,
    tensor: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    decay: bool,
}

/// AdamW with explicit, saveable state.
#[derive(Debug)]
pub struct AdamW {
    params: Vec<Param>,
    step: i64,
    config: AdamWConfig,
}

/// Whether a parameter is exempt from weight decay (biases and LayerNorm weights).
pub fn no_decay(name: &str) -> bool {
    name.ends_with(".bias")
        || name == "bias"
        || name.contains("LayerNorm")
        || name.contains("layer_norm")
}

impl AdamW {
    /// An optimizer over `params` (name, trainable leaf tensor), zero moments.
    pub fn new(params: Vec<(String, Tensor)>, config: AdamWConfig) -> Result<Self, ModelError> {
        let params = params
            .into_iter()
            .map(|(name, tensor)| {
                Ok(Param {
                    decay: !no_decay(&name),
                    exp_avg: tensor.f_zeros_like()?,
                    exp_avg_sq: tensor.f_zeros_like()?,
                    name,
                    tensor,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            params,
            step: 0,
            config,
        })
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> i64 {
        self.step
    }

    /// Sets every gradient to zero (keeps the buffers).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.tensor.zero_grad();
        }
    }

    /// Scales gradients so their global L2 norm is at most `max_norm` (PyTorch
    /// `clip_grad_norm_`); returns the norm before clipping. `max_norm <= 0` only measures.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64, ModelError> {
        Self::clip_global(&mut [self], max_norm)
    }

    /// [`AdamW::clip_grad_norm`] over the parameters of several optimisers together.
    pub fn clip_global(opts: &mut [&mut AdamW], max_norm: f64) -> Result<f64, ModelError> {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = opts
            .iter()
            .flat_map(|o| o.params.iter())
            .map(|p| p.tensor.grad())
            .filter(Tensor::defined)
            .collect();
        if grads.is_empty() {
            return Ok(0.0);
        }
        let norms = grads
            .iter()
            .map(|g| g.f_norm())
            .collect::<Result<Vec<_>, _>>()?;
        let total = f64::try_from(Tensor::f_stack(&norms, 0)?.f_norm()?)?;
        if max_norm > 0.0 {
            let coef = max_norm / (total + 1e-6);
            if coef < 1.0 {
                for mut g in grads {
                    let _ = g.f_mul_scalar_(coef)?;
                }
            }
        }
        Ok(total)
    }

    /// One update with learning rate `lr`. Parameters without a gradient are skipped (their
    /// moments do not decay), as in PyTorch.
    pub fn step(&mut self, lr: f64) -> Result<(), ModelError> {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        for p in &mut self.params {
            let g = p.tensor.grad();
            if !g.defined() {
                continue;
            }
            if p.decay && c.weight_decay != 0.0 {
                let _ = p.tensor.f_mul_scalar_(1.0 - lr * c.weight_decay)?;
            }
            // m ← β₁m + (1−β₁)g ; v ← β₂v + (1−β₂)g²
            let _ = p.exp_avg.f_mul_scalar_(c.beta1)?;
            let _ = p.exp_avg.f_add_(&g.f_mul_scalar(1.0 - c.beta1)?)?;
            let _ = p.exp_avg_sq.f_mul_scalar_(c.beta2)?;
            let _ = p
                .exp_avg_sq
                .f_add_(&g.f_square()?.f_mul_scalar(1.0 - c.beta2)?)?;
            // p ← p − (lr/bc₁) · m / (√v/√bc₂ + ε)
            let denom = p
                .exp_avg_sq
                .f_sqrt()?
                .f_div_scalar(bias2_sqrt)?
                .f_add_scalar(c.eps)?;
            let update = p.exp_avg.f_div(&denom)?.f_mul_scalar(lr / bias1)?;
            let _ = p.tensor.f_sub_(&update)?;
        }
        Ok(())
    }

    /// The state as named tensors: `exp_avg.<name>`, `exp_avg_sq.<name>` and `step`.
    pub fn state_tensors(&self) -> Result<Vec<(String, Tensor)>, ModelError> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for p in &self.params {
            out.push((format!("exp_avg.{}", p.name), p.exp_avg.shallow_clone()));
            out.push((
                format!("exp_avg_sq.{}", p.name),
                p.exp_avg_sq.shallow_clone(),
            ));
        }
        out.push(("step".into(), Tensor::f_from_slice(&[self.step])?));
        Ok(out)
    }

    /// Writes the state to `path` (safetensors, atomically).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_safetensors_atomic(&self.state_tensors()?, path)
    }

    /// Restores the state written by [`AdamW::save`]; every parameter must be present with
    /// the same shape.
    pub fn load(&mut self, path: &Path) -> Result<(), ModelError> {
        let saved: HashMap<String, Tensor> = Tensor::read_safetensors(path)?.into_iter().collect();
        let _guard = tch::no_grad_guard();
        let mut missing = Vec::new();
        for p in &mut self.params {
            for (key, dst) in [
                (format!("exp_avg.{}", p.name), &mut p.exp_avg),
                (format!("exp_avg_sq.{}", p.name), &mut p.exp_avg_sq),
            ] {
                match saved.get(&key) {
                    Some(src) if src.size() == dst.size() => {
                        dst.f_copy_(src)?;
                    }
                    Some(src) => {
                        return Err(ModelError::ShapeMismatch {
                            name: key,
                            expected: dst.size(),
                            found: src.size(),
                        })
                    }
                    None => missing.push(key),
                }
            }
        }
        match saved.get("step") {
            Some(s) => self.step = s.f_to_kind(Kind::Int64)?.f_int64_value(&[0])?,
            None => missing.push("step".into()),
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
}

/// How the learning rate decays after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Linearly to 0 at the last step (HF `get_linear_schedule_with_warmup`).
    Linear,
    /// Half a cosine to 0 (HF `get_cosine_schedule_with_warmup`).
    Cosine,
    /// Stays at the peak.
    Constant,
}

/// The learning rate of optimizer step `step` (0-based) of `total`: linear warmup from 0 over
/// `warmup` steps to `peak`, then `decay`. Same multipliers as HF's schedulers.
pub fn lr_at(step: u64, total: u64, warmup: u64, peak: f64, decay: Decay) -> f64 {
    if step < warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    match decay {
        Decay::Linear => peak * (1.0 - progress).max(0.0),
        Decay::Cosine => peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        Decay::Constant => peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn schedule_matches_hf_multipliers() {
        assert_eq!(lr_at(0, 100, 10, 1.0, Decay::Linear), 0.0);
        assert!((lr_at(5, 100, 10, 1.0, Decay::Linear) - 0.5).abs() < 1e-12);
        assert!((lr_at(10, 100, 10, 1.0, Decay::Linear) - 1.0).abs() < 1e-12);
        assert!((lr_at(55, 100, 10, 1.0, Decay::Linear) - 0.5).abs() < 1e-12);
        assert!((lr_at(55, 100, 10, 1.0, Decay::Cosine) - 0.5).abs() < 1e-12);
        assert_eq!(lr_at(100, 100, 10, 1.0, Decay::Linear), 0.0);
    }

    #[test]
    fn decay_groups_follow_hf() {
        assert!(no_decay(
            "roberta.encoder.layer.0.attention.output.dense.bias"
        ));
        assert!(no_decay("roberta.embeddings.LayerNorm.weight"));
        assert!(no_decay("lm_head.layer_norm.weight"));
        assert!(no_decay("lm_head.bias"));
        assert!(!no_decay("lm_head.dense.weight"));
        assert!(!no_decay("roberta.embeddings.word_embeddings.weight"));
    }

    /// One step on f(p) = ½‖p‖² against the closed form of the first AdamW step:
    /// p₁ = p₀(1 − lr·wd) − lr·sign(g) (since m̂/√v̂ = g/|g| at t = 1, up to ε).
    #[test]
    fn first_step_matches_closed_form_and_state_round_trips(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let p0 = Tensor::f_from_slice(&[1.0f32, -2.0, 3.0])?.set_requires_grad(true);
        let config = AdamWConfig {
            weight_decay: 0.1,
            ..AdamWConfig::default()
        };
        let mut opt = AdamW::new(vec![("w.weight".into(), p0.shallow_clone())], config)?;
        let loss = p0.f_square()?.f_sum(Kind::Float)?.f_mul_scalar(0.5)?;
        loss.backward();
        opt.step(0.01)?;
        let got: Vec<f32> = Vec::try_from(&p0.detach())?;
        let want = [1.0 * 0.999 - 0.01, -2.0 * 0.999 + 0.01, 3.0 * 0.999 - 0.01];
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("optimizer.safetensors");
        opt.save(&path)?;
        let p1 = Tensor::f_zeros([3], (Kind::Float, Device::Cpu))?.set_requires_grad(true);
        let mut back = AdamW::new(vec![("w.weight".into(), p1)], config)?;
        back.load(&path)?;
        assert_eq!(back.steps(), 1);
        for ((_, a), (_, b)) in opt
            .state_tensors()?
            .iter()
            .zip(back.state_tensors()?.iter())
        {
            assert!(a.equal(b));
        }
        Ok(())
    }
}
