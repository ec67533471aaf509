//! The optimisers of a run ([`Optimizers`]): CLIMB's per-unit layout by default, one AdamW
//! over everything as an option.
//!
//! CLIMB (SEEDS.md §2.1, `codebyzeb/CLIMB` `src/trainer.py` and `objective_curriculum/units/`)
//! gives each objective unit its own AdamW over its own task head, with a linear warm-up over
//! a share of that unit's *active* steps and a linear decay to the end of its span; the encoder
//! follows the run's schedule. So an MLM head that joins at 12.5 % of training still warms up
//! from zero instead of receiving the full, already-decaying learning rate. Here:
//! - group `encoder`: every model variable outside the MLM head, the run schedule
//!   (`warmup_steps`, `decay`); with tied embeddings the decoder weight is the word embedding
//!   and so belongs here;
//! - group `<unit>` for each objective unit: the MLM head (`lm_head.*` / `cls.*`) for `mlm`,
//!   `pos_heads.<unit>.*` for word-class units; stepped only while the unit is active, with
//!   warm-up over `unit_warmup` of its active steps.
//!
//! `shared` puts every variable in one group on the run schedule (HF `Trainer`, what LEM's
//! scripts use). Gradients are clipped by their global norm over all groups, as one
//! `clip_grad_norm_` over the model would.

use std::path::Path;

use mavuno_pipeline::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::optim::{lr_at, AdamW, AdamWConfig, Decay};
use crate::ModelError;

/// How parameters are split among optimisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum OptimizerLayout {
    /// CLIMB: the encoder on the run schedule, each objective unit's head its own AdamW with
    /// warm-up over its active span.
    #[default]
    PerUnit,
    /// One AdamW over every parameter, on the run schedule.
    Shared,
}

/// The active span of a unit in optimizer steps: `[first, last]` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First active step.
    pub first: u64,
    /// Last active step.
    pub last: u64,
}

impl Span {
    /// The steps of a unit active over fractions `[start, end]` of `total` steps (the same
    /// test as `ObjectiveSchedule::active`: step/total within the range, inclusive).
    pub fn of(start: f64, end: f64, total: u64) -> Option<Span> {
        let t = total.max(1) as f64;
        let steps: Vec<u64> = (0..total)
            .filter(|&s| {
                let f = s as f64 / t;
                f >= start && f <= end
            })
            .collect();
        Some(Span {
            first: *steps.first()?,
            last: *steps.last()?,
        })
    }

    /// Number of active steps.
    pub fn steps(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Whether `step` is inside.
    pub fn contains(&self, step: u64) -> bool {
        (self.first..=self.last).contains(&step)
    }
}

/// One optimiser and the schedule it follows.
#[derive(Debug)]
pub struct Group {
    /// `all` (shared), `encoder`, or a unit name.
    pub name: String,
    /// The optimiser.
    pub opt: AdamW,
    /// For unit groups: the active span (steps) and its warm-up in steps.
    pub unit: Option<(Span, u64)>,
}

/// Schedule inputs shared by all groups.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Total optimizer steps.
    pub total: u64,
    /// Run warm-up steps.
    pub warmup: u64,
    /// Peak learning rate.
    pub peak: f64,
    /// Decay after warm-up.
    pub decay: Decay,
}

/// The optimisers of a run.
#[derive(Debug)]
pub struct Optimizers {
    /// The groups, `encoder` (or `all`) first.
    pub groups: Vec<Group>,
}

/// Which unit a model/aux variable's gradient trains, by name: the MLM head's variables belong
/// to `mlm`, `pos_heads.<unit>.…` to `<unit>`, everything else to the encoder.
pub fn unit_of(name: &str) -> Option<String> {
    if name.starts_with("lm_head.") || name.starts_with("cls.") {
        return Some("mlm".into());
    }
    let rest = name.strip_prefix("pos_heads.")?;
    Some(rest.split('.').next().unwrap_or(rest).to_string())
}

impl Optimizers {
    /// Builds the groups over `params` (named variables of the model and the aux heads).
    /// `units` are the schedule's units with their active spans (a unit never active gets no
    /// group; its variables are left untouched) and `unit_warmup` the warm-up share of a
    /// unit's active steps.
    pub fn new(
        layout: OptimizerLayout,
        params: Vec<(String, Tensor)>,
        units: &[(String, Option<Span>)],
        unit_warmup: f64,
        config: AdamWConfig,
    ) -> Result<Self, ModelError> {
        if layout == OptimizerLayout::Shared {
            return Ok(Self {
                groups: vec![Group {
                    name: "all".into(),
                    opt: AdamW::new(params, config)?,
                    unit: None,
                }],
            });
        }
        let mut encoder = Vec::new();
        let mut per_unit: Vec<(String, Vec<(String, Tensor)>)> = Vec::new();
        for (name, t) in params {
            match unit_of(&name) {
                None => encoder.push((name, t)),
                Some(u) => match per_unit.iter_mut().find(|(n, _)| *n == u) {
                    Some((_, v)) => v.push((name, t)),
                    None => per_unit.push((u, vec![(name, t)])),
                },
            }
        }
        let mut groups = vec![Group {
            name: "encoder".into(),
            opt: AdamW::new(encoder, config)?,
            unit: None,
        }];
        for (unit, vars) in per_unit {
            let span = units.iter().find(|(n, _)| *n == unit).and_then(|(_, s)| *s);
            let Some(span) = span else { continue };
            let warm = (unit_warmup * span.steps() as f64).round() as u64;
            groups.push(Group {
                name: unit,
                opt: AdamW::new(vars, config)?,
                unit: Some((span, warm)),
            });
        }
        Ok(Self { groups })
    }

    /// Zeroes every gradient.
    pub fn zero_grad(&mut self) {
        for g in &mut self.groups {
            g.opt.zero_grad();
        }
    }

    /// Clips by the global norm over all groups; returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64, ModelError> {
        let mut opts: Vec<&mut AdamW> = self.groups.iter_mut().map(|g| &mut g.opt).collect();
        AdamW::clip_global(&mut opts, max_norm)
    }

    /// The learning rate of `group` at `step`, or `None` when the group does not step.
    pub fn lr(group: &Group, step: u64, s: &Schedule) -> Option<f64> {
        match group.unit {
            None => Some(lr_at(step, s.total, s.warmup, s.peak, s.decay)),
            Some((span, warm)) => span
                .contains(step)
                .then(|| lr_at(step - span.first, span.steps(), warm, s.peak, s.decay)),
        }
    }

    /// One step of every group that is active at `step`; returns the encoder's (or the shared
    /// group's) learning rate.
    pub fn step(&mut self, step: u64, s: &Schedule) -> Result<f64, ModelError> {
        let mut main = 0.0;
        for g in &mut self.groups {
            if let Some(lr) = Self::lr(g, step, s) {
                if g.unit.is_none() {
                    main = lr;
                }
                g.opt.step(lr)?;
            }
        }
        Ok(main)
    }

    /// The file of a group's state in a checkpoint: `optimizer.safetensors` for the shared
    /// group, `optimizer.<group>.safetensors` otherwise.
    pub fn file(dir: &Path, group: &str) -> std::path::PathBuf {
        if group == "all" {
            dir.join("optimizer.safetensors")
        } else {
            dir.join(format!("optimizer.{group}.safetensors"))
        }
    }

    /// Writes every group's state into the checkpoint directory `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        for g in &self.groups {
            g.opt.save(&Self::file(dir, &g.name))?;
        }
        Ok(())
    }

    /// Restores every group's state from `dir`.
    pub fn load(&mut self, dir: &Path) -> Result<(), ModelError> {
        for g in &mut self.groups {
            g.opt.load(&Self::file(dir, &g.name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_go_to_their_unit() {
        assert_eq!(unit_of("lm_head.dense.weight").as_deref(), Some("mlm"));
        assert_eq!(
            unit_of("cls.predictions.transform.dense.weight").as_deref(),
            Some("mlm")
        );
        assert_eq!(
            unit_of("pos_heads.pos_all.dense.weight").as_deref(),
            Some("pos_all")
        );
        assert_eq!(unit_of("roberta.embeddings.word_embeddings.weight"), None);
    }

    #[test]
    fn spans_follow_the_schedule_fractions() {
        // CLIMB's mlm [0.125, 1] over 400 steps starts at step 50.
        let s = Span::of(0.125, 1.0, 400).unwrap_or(Span { first: 0, last: 0 });
        assert_eq!((s.first, s.last, s.steps()), (50, 399, 350));
        assert!(Span::of(0.0, 1.0, 10).is_some_and(|s| s.steps() == 10));
    }

    #[test]
    fn a_late_unit_warms_up_over_its_own_span() -> Result<(), ModelError> {
        let t = |x: f32| -> Result<Tensor, ModelError> {
            Ok(Tensor::f_from_slice(&[x])?.set_requires_grad(true))
        };
        let params = vec![
            ("roberta.w".to_string(), t(1.0)?),
            ("lm_head.w".to_string(), t(1.0)?),
        ];
        let units = [("mlm".to_string(), Span::of(0.5, 1.0, 100))];
        let opts = Optimizers::new(
            OptimizerLayout::PerUnit,
            params,
            &units,
            0.1,
            AdamWConfig::default(),
        )?;
        let s = Schedule {
            total: 100,
            warmup: 10,
            peak: 1e-3,
            decay: Decay::Linear,
        };
        let (enc, head) = (&opts.groups[0], &opts.groups[1]);
        assert_eq!(head.name, "mlm");
        // Inactive before its span; at its first step the head starts from 0 while the
        // encoder is already decaying.
        assert_eq!(Optimizers::lr(head, 49, &s), None);
        assert_eq!(Optimizers::lr(head, 50, &s), Some(0.0));
        assert!((Optimizers::lr(head, 55, &s).unwrap_or(0.0) - 1e-3).abs() < 1e-12);
        let e50 = Optimizers::lr(enc, 50, &s).unwrap_or(0.0);
        assert!(e50 > 0.0 && e50 < 1e-3);
        // Shared: one group on the run schedule.
        let shared = Optimizers::new(
            OptimizerLayout::Shared,
            vec![("lm_head.w".to_string(), t(1.0)?)],
            &units,
            0.1,
            AdamWConfig::default(),
        )?;
        assert_eq!(shared.groups.len(), 1);
        assert_eq!(Optimizers::lr(&shared.groups[0], 50, &s), Some(e50));
        Ok(())
    }
}
