//! MLM pre-training on libtorch: [`train_mlm`] runs the loop, writes metrics and checkpoints,
//! and resumes a killed run from its last checkpoint onto the same loss curve.
//!
//! - `data.rs`: tokenized examples and the masking collator.
//! - `join.rs`: CLIMB's `join_sentences` (fixed-length blocks of concatenated sentences).
//! - `rescore.rs`: CLIMB's model-based difficulty (`rescore_every`).
//! - `optim.rs`: AdamW with saveable state, LR schedule, clipping.
//! - `units.rs`: the optimisers of a run (CLIMB's per-unit AdamW and warm-up, or shared).
//! - `checkpoint.rs`: `ckpt/step_N/` directories.
//! - `setup.rs`: the model of a run (fresh preset or continued from an HF directory).
//!
//! Determinism (what makes resume exact): everything random is a pure function of
//! `(seed, step)`: the batch (epoch permutations or the curriculum sampler, seeded per
//! epoch/step), the masks (`example_rng(seed, stream(step, micro, slot, unit))`) and dropout
//! (`tch::manual_seed(seed + step)` before each step). A checkpoint holds the weights, the AdamW
//! moments and the step, so continuing from it replays exactly what the uninterrupted run does.
//! Layout of `run_dir`: `train_config.toml` (written before step 0), `metrics.jsonl`
//! (`step, loss, lr, tokens_per_s, grad_norm`; at every evaluation also `eval_loss` and the
//! realised masking of the MLM unit since the previous evaluation: `mask_rate`, `masked`,
//! `masked_ne`, `masked_verb`, `masked_noun` (LEM entity pass), `masked_fill`,
//! `masked_on_ne_words`), `ckpt/step_N/`.

pub mod checkpoint;
pub mod data;
pub mod join;
pub mod optim;
pub mod rescore;
pub mod setup;
pub mod units;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use mavuno_stages::curriculum::pacing::{Pacing, PacingFn};
use mavuno_stages::curriculum::{
    unit_tags, ObjectiveSchedule, PercentileSampler, VocabCurriculum, VocabMap,
};
use mavuno_stages::mask::plan::{example_rng, MaskSpec, ReplaceProbs, Strategy};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Tensor};

use crate::hf::{named_variables, write_atomic};
use crate::mlm::{masked_loss, AuxHeads, MlmModel};
use crate::ModelError;
pub use checkpoint::{latest_checkpoint, TrainerState};
pub use data::{collate, Batch, Dataset, Example, MaskCounts, UnitMasking, VocabSpec};
pub use optim::{lr_at, AdamW, AdamWConfig, Decay};
pub use setup::{build_model, BuiltModel, ModelSource};
pub use units::{OptimizerLayout, Optimizers};
use units::{Schedule as LrSchedule, Span};

/// Everything that decides a training run; saved as `run_dir/train_config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seed of batches, masks, dropout and the eval split.
    pub seed: u64,
    /// Optimizer steps.
    pub steps: u64,
    /// Sequences per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Warmup steps (linear from 0).
    pub warmup_steps: u64,
    /// Decay after warmup.
    pub decay: Decay,
    /// AdamW hyperparameters.
    pub adamw: AdamWConfig,
    /// Clip the global gradient norm to this (0 = off).
    pub max_grad_norm: f64,
    /// MLM masking (strategy + 80/10/10 replacement).
    pub mask: MaskSpec,
    /// Log a metrics line every N steps.
    pub log_every: u64,
    /// Evaluate held-out MLM loss every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Checkpoint every N steps (0 = only at the end).
    pub checkpoint_every: u64,
    /// Keep this many newest checkpoints.
    pub keep_checkpoints: usize,
    /// CLIMB vocabulary curriculum map (SEEDS §2.2), paced by `pacing`.
    pub vocab_curriculum: Option<VocabMap>,
    /// CLIMB data curriculum: sample batches with the percentile sampler over `difficulty`.
    pub data_curriculum: bool,
    /// CLIMB `self_perplexity`: every N steps (0 = never) re-score all training examples with
    /// the current model's MLM pseudo-perplexity for the data curriculum (`rescore.rs`).
    /// Needs `data_curriculum`. Left out of `train_config.toml` when 0, so the fingerprints of
    /// runs without it did not change when it was added.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rescore_every: u64,
    /// Pacing shape for both curricula (CLIMB fractions of `steps`).
    pub pacing: PacingFn,
    /// CLIMB objective schedule name (`base_mlm`, `multitask_pos_all_mlm_0`, ...).
    pub objectives: String,
    /// Mixed precision (libtorch autocast) on CUDA; ignored on CPU.
    pub amp: bool,
    /// Optimiser layout: CLIMB's per-unit AdamW (default) or one shared AdamW (`units.rs`).
    #[serde(default)]
    pub optimizer: OptimizerLayout,
    /// Per-unit layout: warm-up share of each unit's active steps (CLIMB: 0.1).
    #[serde(default = "d_unit_warmup")]
    pub unit_warmup: f64,
    /// Keep the weights of the evaluation with the lowest held-out loss (`ckpt/best/`) and
    /// leave them in the model when training ends (the LEM paper continues from the best
    /// MLM checkpoint). Left out of `train_config.toml` when false, so older fingerprints hold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_best: bool,
}

fn d_unit_warmup() -> f64 {
    0.1
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            steps: 300,
            batch_size: 32,
            grad_accum: 1,
            lr: 5e-4,
            warmup_steps: 30,
            decay: Decay::Linear,
            adamw: AdamWConfig::default(),
            max_grad_norm: 1.0,
            mask: MaskSpec {
                strategy: Strategy::Token { rate: 0.15 },
                replace: ReplaceProbs::BERT,
            },
            log_every: 10,
            eval_every: 100,
            checkpoint_every: 100,
            keep_checkpoints: 2,
            vocab_curriculum: None,
            data_curriculum: false,
            rescore_every: 0,
            pacing: PacingFn::Linear,
            objectives: "base_mlm".into(),
            amp: true,
            optimizer: OptimizerLayout::default(),
            unit_warmup: d_unit_warmup(),
            keep_best: false,
        }
    }
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// Run-time options that do not change the result.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Resume from the newest checkpoint in `run_dir` when there is one.
    pub resume: bool,
    /// Stop after this many completed steps (as if killed; used by tests and time limits).
    pub stop_after: Option<u64>,
    /// Print a progress line per log interval to stderr.
    pub verbose: bool,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Completed steps (including those before a resume).
    pub steps: u64,
    /// Step this process started from (0, or the resumed checkpoint).
    pub start_step: u64,
    /// Training loss of the last step.
    pub last_loss: Option<f64>,
    /// First training loss this process saw.
    pub first_loss: Option<f64>,
    /// Last held-out MLM loss.
    pub eval_loss: Option<f64>,
    /// With `keep_best`: the step and held-out loss of the weights left in the model.
    pub best: Option<(u64, f64)>,
    /// Non-pad input tokens per second over this process's steps.
    pub tokens_per_s: f64,
    /// Wall time of this process's steps.
    pub seconds: f64,
}

/// The pieces of one training run.
pub struct TrainRun<'a> {
    /// The model.
    pub model: &'a MlmModel,
    /// Its VarStore.
    pub vs: &'a nn::VarStore,
    /// Training examples.
    pub train: &'a Dataset,
    /// Held-out examples (may be empty).
    pub eval: &'a Dataset,
    /// Vocabulary facts.
    pub vocab: &'a VocabSpec,
    /// `<unk>` id for the vocabulary curriculum.
    pub unk_id: Option<u32>,
    /// The config.
    pub config: &'a TrainConfig,
    /// Where metrics and checkpoints go.
    pub run_dir: &'a Path,
    /// The device the model lives on.
    pub device: Device,
}

const SHUFFLE_SALT: u64 = 0x5_4FF1E;
const SAMPLER_SALT: u64 = 0x5A_3B1E;
const EVAL_SALT: u64 = 0xE_7A1;

/// Mixes (step, slot in step, unit) into one RNG stream id. Slots are < 2^24 and units < 16.
fn stream(step: u64, slot: usize, unit: usize) -> u64 {
    (step << 28) ^ ((slot as u64) << 4) ^ unit as u64
}

/// Chooses the training examples of each micro-batch, as a pure function of (seed, step).
struct Sampler {
    n: usize,
    batch: usize,
    accum: usize,
    seed: u64,
    percentile: Option<(PercentileSampler, Pacing)>,
    cached: Option<(u64, Vec<usize>)>,
}

impl Sampler {
    fn indices(&mut self, step: u64, micro: usize) -> Vec<usize> {
        let slot = step * self.accum as u64 + micro as u64;
        if let Some((sampler, pacing)) = &self.percentile {
            let p = pacing.at(step);
            return sampler.sample(
                p,
                self.batch,
                &mut example_rng(self.seed ^ SAMPLER_SALT, slot),
            );
        }
        // Epoch permutations: sample k of the run is position k of the concatenated
        // per-epoch shuffles.
        (0..self.batch)
            .map(|j| {
                let k = slot * self.batch as u64 + j as u64;
                let (epoch, pos) = (k / self.n as u64, (k % self.n as u64) as usize);
                self.permutation(epoch)[pos]
            })
            .collect()
    }

    fn permutation(&mut self, epoch: u64) -> &[usize] {
        if self.cached.as_ref().map(|c| c.0) != Some(epoch) {
            let mut perm: Vec<usize> = (0..self.n).collect();
            perm.shuffle(&mut example_rng(self.seed ^ SHUFFLE_SALT, epoch));
            self.cached = Some((epoch, perm));
        }
        self.cached.as_ref().map(|c| c.1.as_slice()).unwrap_or(&[])
    }
}

/// One objective unit of the schedule.
struct Unit {
    name: String,
    masking: UnitMasking,
    span: Option<Span>,
}

/// The schedule's distinct units and, per unit name, its active span in steps (the first
/// and last step of any of its schedule entries).
fn units_of(config: &TrainConfig) -> Result<(ObjectiveSchedule, Vec<Unit>), ModelError> {
    let schedule = ObjectiveSchedule::climb(&config.objectives).ok_or_else(|| {
        ModelError::Data(format!(
            "unknown objective schedule {:?} (base_mlm, pos_nv_mlm, pos_all_mlm, multitask_pos_all_mlm, multitask_pos_all_mlm_0, multitask_pos_nv_mlm_0, multitask_pos_nv_all_mlm, multitask_pos_nv_all_mlm_0)",
            config.objectives
        ))
    })?;
    let mut units: Vec<Unit> = Vec::new();
    for u in &schedule.units {
        let span = Span::of(u.start, u.end, config.steps);
        if let Some(x) = units.iter_mut().find(|x| x.name == u.unit) {
            x.span = match (x.span, span) {
                (Some(a), Some(b)) => Some(Span {
                    first: a.first.min(b.first),
                    last: a.last.max(b.last),
                }),
                (a, b) => a.or(b),
            };
            continue;
        }
        let masking = match unit_tags(&u.unit) {
            None => UnitMasking {
                spec: config.mask.clone(),
                tags: None,
            },
            Some(tags) => UnitMasking {
                spec: MaskSpec {
                    strategy: Strategy::PosObjective {
                        tagged_rate: 0.4,
                        other_rate: 0.15,
                    },
                    replace: ReplaceProbs::BERT,
                },
                tags: Some(tags),
            },
        };
        units.push(Unit {
            name: u.unit.clone(),
            masking,
            span,
        });
    }
    Ok((schedule, units))
}

/// Held-out MLM loss (token-weighted mean over masked positions), with masks fixed by the
/// seed so evaluations at different steps are comparable.
pub fn eval_mlm(
    model: &MlmModel,
    eval: &Dataset,
    vocab: &VocabSpec,
    mask: &MaskSpec,
    batch_size: usize,
    seed: u64,
    device: Device,
) -> Result<Option<f64>, ModelError> {
    if eval.is_empty() {
        return Ok(None);
    }
    let _guard = tch::no_grad_guard();
    let unit = UnitMasking {
        spec: mask.clone(),
        tags: None,
    };
    let (mut sum, mut count) = (0.0, 0i64);
    for (b, chunk) in eval.examples.chunks(batch_size.max(1)).enumerate() {
        let refs: Vec<&Example> = chunk.iter().collect();
        let base = b * batch_size;
        let batch = collate(
            &refs,
            &unit,
            vocab,
            None,
            seed ^ EVAL_SALT,
            |i| (base + i) as u64,
            device,
        )?;
        let hidden = model.hidden_typed(
            &batch.input_ids,
            Some(&batch.attention_mask),
            batch.token_type_ids.as_ref(),
            false,
        )?;
        let (loss, n) = masked_loss(&hidden, &batch.labels, |rows| model.head_logits(rows))?;
        if n > 0 {
            sum += f64::try_from(&loss)? * n as f64;
            count += n;
        }
    }
    Ok((count > 0).then(|| sum / count as f64))
}

/// Trains (or resumes training) `run.model` and returns what happened. The final model is
/// not exported here: the caller decides (see `MlmModel::save_hf`).
pub fn train_mlm(run: &TrainRun, options: &RunOptions) -> Result<TrainSummary, ModelError> {
    let cfg = run.config;
    if run.train.is_empty() {
        return Err(ModelError::Data("no training examples".into()));
    }
    if cfg.batch_size == 0 || cfg.grad_accum == 0 {
        return Err(ModelError::Data(
            "batch_size and grad_accum must be at least 1".into(),
        ));
    }
    std::fs::create_dir_all(run.run_dir).map_err(|source| ModelError::Write {
        path: run.run_dir.to_path_buf(),
        source,
    })?;
    let config_text = toml::to_string(cfg)
        .map_err(|e| ModelError::Data(format!("cannot serialise the training config: {e}")))?;
    write_atomic(
        &run.run_dir.join("train_config.toml"),
        config_text.as_bytes(),
    )?;

    let (schedule, units) = units_of(cfg)?;
    let pos_units: Vec<(String, i64)> = units
        .iter()
        .filter_map(|u| Some((u.name.clone(), u.masking.tags.as_ref()?.len() as i64 + 1)))
        .collect();
    let aux = AuxHeads::new(&run.model.config, &pos_units, run.device)?;
    let mut params = named_variables(run.vs);
    params.extend(named_variables(&aux.vs));
    let spans: Vec<(String, Option<Span>)> =
        units.iter().map(|u| (u.name.clone(), u.span)).collect();
    let mut opt = Optimizers::new(cfg.optimizer, params, &spans, cfg.unit_warmup, cfg.adamw)?;
    let schedule_lr = LrSchedule {
        total: cfg.steps,
        warmup: cfg.warmup_steps,
        peak: cfg.lr,
        decay: cfg.decay,
    };

    let mut pacing = Pacing::climb(cfg.pacing);
    pacing.total_steps = cfg.steps;
    let vocab_curriculum = match cfg.vocab_curriculum {
        Some(map) => Some(VocabCurriculum {
            map,
            vocab_size: run.vocab.info.vocab_size,
            unk_id: run.unk_id.ok_or_else(|| {
                ModelError::Data("the vocabulary curriculum needs an <unk> token".into())
            })?,
            special_ids: run.vocab.info.special_ids.clone(),
        }),
        None => None,
    };
    if cfg.rescore_every > 0 && !cfg.data_curriculum {
        return Err(ModelError::Data(
            "rescore_every re-scores the data curriculum: set data_curriculum too".into(),
        ));
    }
    // The scores in use, kept only when rescoring (they then go into every checkpoint).
    let mut scores: Option<Vec<f64>> = None;
    let percentile = if cfg.data_curriculum {
        let initial: Vec<f64> = run
            .train
            .examples
            .iter()
            .map(|e| e.difficulty.unwrap_or(e.ids.len() as f64))
            .collect();
        if cfg.rescore_every > 0 {
            scores = Some(initial.clone());
        }
        Some((PercentileSampler::new(initial), pacing))
    } else {
        None
    };
    let mut sampler = Sampler {
        n: run.train.len(),
        batch: cfg.batch_size,
        accum: cfg.grad_accum,
        seed: cfg.seed,
        percentile,
        cached: None,
    };

    let mut start_step = 0;
    let mut eval_loss = None;
    let mut best: Option<(u64, f64)> = None;
    let mut mask_window = MaskCounts::default();
    if options.resume {
        if let Some((step, dir)) = latest_checkpoint(run.run_dir)? {
            let state = checkpoint::load(&dir, run.vs, &aux, &mut opt)?;
            start_step = step;
            eval_loss = state.eval_loss;
            best = state.best;
            mask_window = state.mask_window;
            if cfg.rescore_every > 0 {
                // Checkpoints always carry the scores of a rescoring run; one without them
                // would silently continue on the initial scores.
                let stored = rescore::load_scores(&dir, run.train.len())?.ok_or_else(|| {
                    ModelError::Data(format!(
                        "{}: checkpoint without difficulty scores cannot resume a rescoring run",
                        dir.display()
                    ))
                })?;
                sampler.percentile = Some((PercentileSampler::new(stored.clone()), pacing));
                scores = Some(stored);
            }
        }
    }
    let metrics_path = run.run_dir.join("metrics.jsonl");
    checkpoint::truncate_metrics(&metrics_path, start_step)?;
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(|source| ModelError::Write {
            path: metrics_path.clone(),
            source,
        })?;

    let end = options.stop_after.map_or(cfg.steps, |s| s.min(cfg.steps));
    let use_amp = cfg.amp && run.device.is_cuda();
    let t0 = Instant::now();
    let (mut window_t, mut window_tokens) = (Instant::now(), 0i64);
    let mut total_tokens = 0i64;
    let (mut first_loss, mut last_loss) = (None, None);
    for step in start_step..end {
        // Self-paced data curriculum: re-score with the model as it is after `step` steps.
        let mut rescored = None;
        if cfg.rescore_every > 0 && step > 0 && step % cfg.rescore_every == 0 {
            let t = Instant::now();
            let fresh = rescore::self_perplexities(run.model, run.train, run.vocab, run.device)?;
            let mean_log = fresh.iter().map(|x| x.ln()).sum::<f64>() / fresh.len().max(1) as f64;
            rescored = Some((mean_log.exp(), t.elapsed().as_secs_f64()));
            sampler.percentile = Some((PercentileSampler::new(fresh.clone()), pacing));
            scores = Some(fresh);
        }
        tch::manual_seed((cfg.seed.wrapping_add(step)) as i64);
        let active: Vec<(usize, &Unit)> = schedule
            .active(step, cfg.steps)
            .iter()
            .filter_map(|a| units.iter().enumerate().find(|(_, u)| u.name == a.unit))
            .collect();
        let p = pacing.at(step);
        let vc = vocab_curriculum.as_ref().map(|vc| (vc, p));
        opt.zero_grad();
        let mut step_loss = 0.0;
        for micro in 0..cfg.grad_accum {
            let idx = sampler.indices(step, micro);
            let examples: Vec<&Example> = idx.iter().map(|&i| &run.train.examples[i]).collect();
            let mut total: Option<Tensor> = None;
            for (k, &(ui, unit)) in active.iter().enumerate() {
                let slot0 = micro * cfg.batch_size;
                let batch = collate(
                    &examples,
                    &unit.masking,
                    run.vocab,
                    vc,
                    cfg.seed,
                    |i| stream(step, slot0 + i, ui),
                    run.device,
                )?;
                if k == 0 {
                    window_tokens += batch.tokens;
                    total_tokens += batch.tokens;
                }
                if unit.masking.tags.is_none() {
                    mask_window.add(&batch.counts);
                }
                let (loss, _) = tch::autocast(use_amp, || -> Result<(Tensor, i64), ModelError> {
                    let hidden = run.model.hidden_typed(
                        &batch.input_ids,
                        Some(&batch.attention_mask),
                        batch.token_type_ids.as_ref(),
                        true,
                    )?;
                    match unit.masking.tags {
                        None => {
                            masked_loss(&hidden, &batch.labels, |rows| run.model.head_logits(rows))
                        }
                        Some(_) => aux.loss(&unit.name, &hidden, &batch.labels),
                    }
                })?;
                total = Some(match total {
                    None => loss,
                    Some(t) => t.f_add(&loss)?,
                });
            }
            let Some(total) = total else { continue };
            step_loss += f64::try_from(&total)? / cfg.grad_accum as f64;
            total.f_div_scalar(cfg.grad_accum as f64)?.backward();
        }
        let grad_norm = opt.clip_grad_norm(cfg.max_grad_norm)?;
        let lr = opt.step(step, &schedule_lr)?;
        let done = step + 1;
        first_loss.get_or_insert(step_loss);
        last_loss = Some(step_loss);

        let is_last = done == cfg.steps;
        let mut line =
            serde_json::json!({"step": done, "loss": step_loss, "lr": lr, "grad_norm": grad_norm});
        if let Some((geo_mean, secs)) = rescored {
            line["rescored_geomean_ppl"] = serde_json::json!(geo_mean);
            line["rescore_seconds"] = serde_json::json!(secs);
        }
        let eval_due = (cfg.eval_every > 0 && done % cfg.eval_every == 0) || is_last;
        if eval_due {
            eval_loss = eval_mlm(
                run.model,
                run.eval,
                run.vocab,
                &cfg.mask,
                cfg.batch_size,
                cfg.seed,
                run.device,
            )?;
            line["eval_loss"] = serde_json::json!(eval_loss);
            if let (true, Some(l)) = (cfg.keep_best, eval_loss) {
                if best.is_none_or(|(_, b)| l < b) {
                    checkpoint::save_best(run.run_dir, run.vs)?;
                    best = Some((done, l));
                    line["best"] = serde_json::json!(true);
                }
            }
            if let (Some(obj), serde_json::Value::Object(m)) =
                (line.as_object_mut(), mask_window.to_json())
            {
                obj.extend(m);
            }
            mask_window = MaskCounts::default();
        }
        if done % cfg.log_every.max(1) == 0 || eval_due || done == end || rescored.is_some() {
            let secs = window_t.elapsed().as_secs_f64().max(1e-9);
            let tps = window_tokens as f64 / secs;
            line["tokens_per_s"] = serde_json::json!(tps);
            writeln!(metrics, "{line}").map_err(|source| ModelError::Write {
                path: metrics_path.clone(),
                source,
            })?;
            if options.verbose {
                eprintln!(
                    "step {done}/{} loss {step_loss:.4} lr {lr:.2e} {tps:.0} tok/s{}",
                    cfg.steps,
                    eval_loss.map_or(String::new(), |e| format!(" eval {e:.4}"))
                );
            }
            window_t = Instant::now();
            window_tokens = 0;
        }
        if (cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0) || is_last {
            let state = TrainerState {
                step: done,
                seed: cfg.seed,
                samples_seen: done * (cfg.batch_size * cfg.grad_accum) as u64,
                last_loss: Some(step_loss),
                eval_loss,
                mask_window,
                best,
            };
            checkpoint::save(
                run.run_dir,
                &state,
                run.vs,
                &aux,
                &opt,
                scores.as_deref(),
                cfg.keep_checkpoints,
            )?;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    if cfg.keep_best && best.is_some() {
        checkpoint::load_best(run.run_dir, run.vs)?;
    }
    Ok(TrainSummary {
        steps: end.max(start_step),
        start_step,
        last_loss,
        first_loss,
        eval_loss,
        best: best.filter(|_| cfg.keep_best),
        tokens_per_s: total_tokens as f64 / seconds.max(1e-9),
        seconds,
    })
}
