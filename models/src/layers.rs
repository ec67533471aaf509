//! Fallible building blocks (linear, layer norm, embedding) with HF parameter names.
//!
//! tch's `nn::linear` / `nn::layer_norm` / `nn::embedding` create variables with `Path::var`, which
//! panics on error; STYLE.md asks for `f_*` constructors in library code, so these thin layers use
//! `Path::f_var` and friends. The variable names (`weight`, `bias`) match PyTorch's, so a module
//! built at `p / "dense"` owns `dense.weight` and `dense.bias` exactly as in an HF state dict.

use tch::nn::{Init, Module, Path};
use tch::Tensor;

use crate::ModelError;

/// `y = x Wᵀ + b`, like `torch.nn.Linear`.
/// Reference: <https://pytorch.org/docs/stable/generated/torch.nn.Linear.html>
#[derive(Debug)]
pub struct Linear {
    /// `[out, in]`
    pub weight: Tensor,
    /// `[out]`
    pub bias: Tensor,
}

impl Linear {
    /// Creates `weight` with `init` and a zero `bias` under `p`.
    pub fn new(p: &Path, in_dim: i64, out_dim: i64, init: Init) -> Result<Self, ModelError> {
        Ok(Self {
            weight: p.f_var("weight", &[out_dim, in_dim], init)?,
            bias: p.f_zeros("bias", &[out_dim])?,
        })
    }

    /// Fallible forward, for library code that propagates errors.
    pub fn f_forward(&self, xs: &Tensor) -> Result<Tensor, ModelError> {
        Ok(xs.f_linear(&self.weight, Some(&self.bias))?)
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.linear(&self.weight, Some(&self.bias))
    }
}

/// Layer normalisation over the last dimension, like `torch.nn.LayerNorm(dim, eps)`.
/// Reference: <https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html>
#[derive(Debug)]
pub struct LayerNorm {
    /// `[dim]`, initialised to ones.
    pub weight: Tensor,
    /// `[dim]`, initialised to zeros.
    pub bias: Tensor,
    dim: i64,
    eps: f64,
}

impl LayerNorm {
    /// Creates `weight` (ones) and `bias` (zeros) under `p`.
    pub fn new(p: &Path, dim: i64, eps: f64) -> Result<Self, ModelError> {
        Ok(Self {
            weight: p.f_ones("weight", &[dim])?,
            bias: p.f_zeros("bias", &[dim])?,
            dim,
            eps,
        })
    }

    /// Fallible forward.
    pub fn f_forward(&self, xs: &Tensor) -> Result<Tensor, ModelError> {
        // cudnn_enable=true lets libtorch pick its fused kernel where one exists.
        Ok(xs.f_layer_norm(
            [self.dim],
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
            true,
        )?)
    }
}

/// A lookup table `[num, dim]`, like `torch.nn.Embedding`.
/// Reference: <https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html>
#[derive(Debug)]
pub struct Embedding {
    /// `[num, dim]`
    pub weight: Tensor,
}

impl Embedding {
    /// Creates `weight` with `init` under `p`.
    pub fn new(p: &Path, num: i64, dim: i64, init: Init) -> Result<Self, ModelError> {
        Ok(Self {
            weight: p.f_var("weight", &[num, dim], init)?,
        })
    }

    /// Looks up `ids` (any integer shape `[..]`) and returns `[.., dim]`.
    pub fn f_forward(&self, ids: &Tensor) -> Result<Tensor, ModelError> {
        // padding_idx -1: HF zeroes the padding row at init only; gradients still flow to it.
        Ok(Tensor::f_embedding(&self.weight, ids, -1, false, false)?)
    }
}
