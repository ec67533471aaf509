//! AdamW with decoupled weight decay on weight matrices only, a linear warmup/decay schedule,
//! and global-norm gradient clipping.
//!
//! Written out instead of using `tch::nn::Optimizer` because tch assigns weight-decay groups at
//! variable creation time, while the encoder is built by shared code that knows nothing about
//! groups; HF's recipe (no decay on biases and LayerNorm weights) needs a per-name decision.
//! Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019), and
//! `torch.optim.AdamW`.

use tch::{nn, Tensor};

use crate::ModelError;

/// One parameter with its Adam moments.
struct Slot {
    param: Tensor,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW over every trainable variable of a VarStore.
pub struct AdamW {
    slots: Vec<Slot>,
    step: i32,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

/// HF convention: biases and LayerNorm weights are not decayed.
pub fn decays(name: &str) -> bool {
    name.ends_with("weight") && !name.contains("LayerNorm")
}

impl AdamW {
    /// β = (0.9, 0.999), ε = 1e-8 (PyTorch defaults) and the given decoupled weight decay.
    pub fn new(vs: &nn::VarStore, weight_decay: f64) -> Result<Self, ModelError> {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        // Deterministic order: HashMap iteration order would make float sums non-reproducible.
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let slots = vars
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .map(|(name, param)| {
                Ok(Slot {
                    m: param.f_zeros_like()?,
                    v: param.f_zeros_like()?,
                    decay: decays(&name),
                    param,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            slots,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    /// Scales gradients so their global L2 norm is at most `max_norm`; returns the norm before
    /// clipping (like `torch.nn.utils.clip_grad_norm_`).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64, ModelError> {
        let _guard = tch::no_grad_guard();
        let mut sq = 0.0;
        for s in &self.slots {
            let g = s.param.grad();
            if g.defined() {
                sq += g
                    .f_square()?
                    .f_sum(tch::Kind::Double)?
                    .f_double_value(&[])?;
            }
        }
        let norm = sq.sqrt();
        if max_norm > 0.0 && norm > max_norm {
            let scale = max_norm / (norm + 1e-6);
            for s in &self.slots {
                let mut g = s.param.grad();
                if g.defined() {
                    let _ = g.f_mul_scalar_(scale)?;
                }
            }
        }
        Ok(norm)
    }

    /// One update with learning rate `lr`, then zeroes the gradients.
    pub fn step(&mut self, lr: f64) -> Result<(), ModelError> {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let bc1 = 1.0 - self.beta1.powi(self.step);
        let bc2 = 1.0 - self.beta2.powi(self.step);
        for s in &mut self.slots {
            let mut g = s.param.grad();
            if !g.defined() {
                continue;
            }
            // m ← β₁m + (1-β₁)g ; v ← β₂v + (1-β₂)g²
            let _ = s.m.f_mul_scalar_(self.beta1)?;
            let _ = s.m.f_add_(&g.f_mul_scalar(1.0 - self.beta1)?)?;
            let _ = s.v.f_mul_scalar_(self.beta2)?;
            let _ = s.v.f_add_(&g.f_square()?.f_mul_scalar(1.0 - self.beta2)?)?;
            // Decoupled decay: p ← p - lr·wd·p, applied before the Adam step as torch does.
            if s.decay && self.weight_decay > 0.0 {
                let _ = s.param.f_mul_scalar_(1.0 - lr * self.weight_decay)?;
            }
            let denom = s.v.f_div_scalar(bc2)?.f_sqrt()?.f_add_scalar(self.eps)?;
            let update = s.m.f_div(&denom)?.f_mul_scalar(lr / bc1)?;
            let _ = s.param.f_sub_(&update)?;
            let _ = g.f_zero_()?;
        }
        Ok(())
    }

    /// Clears gradients without updating (e.g. after a skipped batch).
    pub fn zero_grad(&mut self) -> Result<(), ModelError> {
        for s in &self.slots {
            let mut g = s.param.grad();
            if g.defined() {
                let _ = g.f_zero_()?;
            }
        }
        Ok(())
    }
}

/// Linear warmup to `peak` over `warmup` steps, then linear decay to 0 at `total`
/// (HF `get_linear_schedule_with_warmup`). `step` counts from 0.
pub fn linear_lr(peak: f64, step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        peak * (step + 1) as f64 / warmup as f64
    } else {
        let rest = total.saturating_sub(warmup).max(1);
        peak * (total.saturating_sub(step) as f64 / rest as f64).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert!((linear_lr(1.0, 0, 10, 100) - 0.1).abs() < 1e-12);
        assert!((linear_lr(1.0, 9, 10, 100) - 1.0).abs() < 1e-12);
        assert!((linear_lr(1.0, 10, 10, 100) - 1.0).abs() < 1e-12);
        assert!(linear_lr(1.0, 55, 10, 100) < linear_lr(1.0, 20, 10, 100));
        assert_eq!(linear_lr(1.0, 100, 10, 100), 0.0);
    }

    #[test]
    fn decay_only_on_weight_matrices() {
        assert!(decays("bert.encoder.layer.0.attention.self.query.weight"));
        assert!(!decays("bert.encoder.layer.0.attention.self.query.bias"));
        assert!(!decays("bert.embeddings.LayerNorm.weight"));
    }

    #[test]
    fn adamw_minimises_a_quadratic() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let x = vs.root().f_ones("x", &[3]).unwrap();
        let mut opt = AdamW::new(&vs, 0.0).unwrap();
        for _ in 0..200 {
            let loss = x.square().sum(tch::Kind::Float);
            loss.backward();
            opt.clip_grad_norm(1.0).unwrap();
            opt.step(0.05).unwrap();
        }
        assert!(x.abs().max().double_value(&[]) < 0.1);
    }
}
