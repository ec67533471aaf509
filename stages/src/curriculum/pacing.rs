//! CLIMB pacing functions (SEEDS §2.3): the share p ∈ [b, 1] of the difficulty range
//! (data curriculum) or of the vocabulary (vocabulary curriculum) unlocked at a step.
//!
//! With `T = (end_percent − start_percent) · total_steps` and `t' = step − start`:
//! p = b before `start`; then linear `b + (1−b)·t'/T`, quad `b + (1−b)·(t'/T)²`,
//! root `b + (1−b)·√(t'/T)`, log `b + (1−b)·(1 + ln(t'/T + e^−c)/c)`, exp
//! `b + (1−b)·(e^{c·t'/T} − 1)/(e^c − 1)` (c = 10), step `b` until `end` then 1; all
//! capped at 1. These reproduce the test vectors of SEEDS §2.3. CLIMB's
//! `src/data_curriculum/pacing_fn.py` exists in two revisions that differ here: the one at
//! commit `e6d4d8f5` measures growth from the start (`step_diff = step − step_start`, what
//! the default `offset_start = true` does), the one at commit `43b3d17e` evaluates the
//! formulas at the raw `step` (set `offset_start = false` for that behaviour).
use serde::{Deserialize, Serialize};

/// The pacing function's shape.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, mavuno_pipeline::schemars::JsonSchema,
)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum PacingFn {
    /// Linear growth.
    Linear,
    /// Quadratic growth (slow start).
    Quad,
    /// Square-root growth (fast start).
    Root,
    /// Logarithmic growth (very fast start).
    Log,
    /// Exponential growth (very slow start).
    Exp,
    /// b until the end step, then 1.
    Step,
}

impl PacingFn {
    /// Parses a name.
    pub fn parse(s: &str) -> Option<PacingFn> {
        Some(match s {
            "linear" => PacingFn::Linear,
            "quad" => PacingFn::Quad,
            "root" => PacingFn::Root,
            "log" => PacingFn::Log,
            "exp" => PacingFn::Exp,
            "step" => PacingFn::Step,
            _ => return None,
        })
    }
}

/// A pacing function with CLIMB's parameters.
#[derive(
    Clone, Copy, Debug, PartialEq, Serialize, Deserialize, mavuno_pipeline::schemars::JsonSchema,
)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(deny_unknown_fields)]
pub struct Pacing {
    /// Shape.
    #[serde(rename = "fn")]
    pub shape: PacingFn,
    /// Total training steps (CLIMB: 400 000).
    pub total_steps: u64,
    /// Fraction of steps before difficulty starts growing (CLIMB: 0.0625).
    pub start_percent: f64,
    /// Fraction of steps at which difficulty reaches 1 (CLIMB: 0.875).
    pub end_percent: f64,
    /// Starting difficulty b (CLIMB: 0.1).
    pub b: f64,
    /// Growth constant c of `log` and `exp` (10).
    pub c: f64,
    /// Measure growth from the start step (SEEDS formulas, default true).
    pub offset_start: bool,
}

impl Pacing {
    /// CLIMB's configuration for a shape: 400k steps, 0.0625, 0.875, b = 0.1.
    pub fn climb(shape: PacingFn) -> Pacing {
        Pacing {
            shape,
            total_steps: 400_000,
            start_percent: 0.0625,
            end_percent: 0.875,
            b: 0.1,
            c: 10.0,
            offset_start: true,
        }
    }

    /// Checks parameters; the message names the problem.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.start_percent) || !(0.0..=1.0).contains(&self.end_percent) {
            return Err("start_percent and end_percent must be in [0, 1]".into());
        }
        if self.start_percent >= self.end_percent {
            return Err(format!(
                "start_percent ({}) must be less than end_percent ({})",
                self.start_percent, self.end_percent
            ));
        }
        if !(0.0..=1.0).contains(&self.b) {
            return Err(format!("b must be in [0, 1], got {}", self.b));
        }
        if self.total_steps == 0 {
            return Err("total_steps must be at least 1".into());
        }
        Ok(())
    }

    /// p at `step`.
    pub fn at(&self, step: u64) -> f64 {
        let start = self.start_percent * self.total_steps as f64;
        let end = self.end_percent * self.total_steps as f64;
        let t_len = (end - start).trunc().max(1.0); // CLIMB: num_steps = int(end − start)
        let s = step as f64;
        if s < start {
            return self.b;
        }
        let x = if self.offset_start { s - start } else { s } / t_len;
        let (b, c) = (self.b, self.c);
        let p = match self.shape {
            PacingFn::Linear => b + (1.0 - b) * x,
            PacingFn::Quad => b + (1.0 - b) * x * x,
            PacingFn::Root => b + (1.0 - b) * x.sqrt(),
            PacingFn::Log => b + (1.0 - b) * (1.0 + (x + (-c).exp()).ln() / c),
            PacingFn::Exp => b + (1.0 - b) * ((c * x).exp() - 1.0) / (c.exp() - 1.0),
            PacingFn::Step => {
                if s < end {
                    b
                } else {
                    1.0
                }
            }
        };
        p.min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [u64; 8] = [
        0, 25_000, 50_000, 100_000, 200_000, 300_000, 350_000, 400_000,
    ];

    fn r3(x: f64) -> f64 {
        (x * 1000.0).round() / 1000.0
    }

    #[test]
    fn seeds_test_vectors() {
        let lin: Vec<f64> = STEPS
            .iter()
            .map(|&s| r3(Pacing::climb(PacingFn::Linear).at(s)))
            .collect();
        assert_eq!(lin, [0.1, 0.1, 0.169, 0.308, 0.585, 0.862, 1.0, 1.0]);
        let log: Vec<f64> = STEPS
            .iter()
            .map(|&s| r3(Pacing::climb(PacingFn::Log).at(s)))
            .collect();
        assert_eq!(log, [0.1, 0.1, 0.769, 0.868, 0.944, 0.985, 1.0, 1.0]);
    }

    #[test]
    fn every_shape_is_monotone_and_bounded() {
        for f in [
            PacingFn::Linear,
            PacingFn::Quad,
            PacingFn::Root,
            PacingFn::Log,
            PacingFn::Exp,
            PacingFn::Step,
        ] {
            let p = Pacing::climb(f);
            let mut last = 0.0;
            for s in (0..=400_000).step_by(500) {
                let x = p.at(s);
                assert!(
                    x >= last - 1e-12 && (0.1..=1.0).contains(&x),
                    "{f:?} at {s}: {x}"
                );
                last = x;
            }
            assert_eq!(p.at(400_000), 1.0, "{f:?}");
        }
    }
}
