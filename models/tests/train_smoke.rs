//! Smoke test that libtorch trains: a 2-layer MLP fitted with AdamW on a seeded synthetic problem.
//!
//! Catches a broken link (no autograd, wrong libtorch) or a broken optimizer wiring before any
//! real model is involved. Everything is seeded (`tch::manual_seed`) and the margin is wide (loss
//! must fall below half its start after 50 full-batch steps; in practice it falls far more), so
//! the test is not flaky.

use std::error::Error;

use mavuno_models::layers::Linear;
use tch::nn::{self, Init, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

/// 8 → 32 → 3 classifier.
struct Mlp {
    hidden: Linear,
    out: Linear,
}

impl Mlp {
    fn new(p: &nn::Path) -> Result<Self, Box<dyn Error>> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.1,
        };
        Ok(Self {
            hidden: Linear::new(&(p / "hidden"), 8, 32, init)?,
            out: Linear::new(&(p / "out"), 32, 3, init)?,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor, Box<dyn Error>> {
        Ok(self.out.f_forward(&self.hidden.f_forward(xs)?.f_relu()?)?)
    }
}

#[test]
fn mlp_loss_falls_with_adamw() -> Result<(), Box<dyn Error>> {
    tch::manual_seed(42);
    let device = Device::Cpu;
    // Labels are the argmax of a fixed random linear map: learnable, but not at step 0.
    let xs = Tensor::f_randn([512, 8], (Kind::Float, device))?;
    let teacher = Tensor::f_randn([8, 3], (Kind::Float, device))?;
    let labels = xs.f_matmul(&teacher)?.f_argmax(-1, false)?; // [512]

    let vs = nn::VarStore::new(device);
    let mlp = Mlp::new(&vs.root())?;
    let mut opt = nn::AdamW::default().build(&vs, 1e-2)?;
    let mut losses = Vec::new();
    for _ in 0..50 {
        let logits = mlp.forward(&xs)?; // [512, 3]
        let loss =
            logits.f_cross_entropy_loss::<Tensor>(&labels, None, Reduction::Mean, -100, 0.0)?;
        losses.push(f64::try_from(&loss)?);
        opt.backward_step(&loss);
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    println!(
        "loss {first:.4} -> {last:.4} after {} AdamW steps",
        losses.len()
    );
    assert!(last < 0.5 * first, "loss only fell from {first} to {last}");
    Ok(())
}
