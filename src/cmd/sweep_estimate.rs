//! `mavuno sweep --dry-run`: the grid, and a time estimate from two short probe runs.
//!
//! A run's time is setup (reading, tagging, tokenizer training, model loading, evaluation)
//! plus training steps. One probe cannot tell the two apart, so the first point runs twice
//! in one probe directory: with every training stage cut to `p` steps, then to `2p`. The
//! second run reuses everything upstream of training (cached) and reruns training and what
//! follows; a training stage's extra busy time over `p` steps is its per-step cost. The
//! first probe's wall time, minus its training steps, is the setup a full run pays once.
//! Stages under `--shared` (and their ancestors) are paid by the first point only.

use super::sweep::{run_one, with_ancestors, SweepArgs};
use anyhow::{bail, Context, Result};
use mavuno_pipeline::config::Plan;
use mavuno_pipeline::sweep::grid;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Stage types whose `steps` the probe shortens.
const TRAINING_TYPES: &[&str] = &["train_mlm", "finetune"];

/// What a full run of one stage costs, from the probes.
struct StageCost {
    /// Busy seconds of the first probe (setup and `p` steps for training stages).
    probe_s: f64,
    /// Seconds per training step (0 for other stages).
    per_step_s: f64,
    /// Steps the first probe trained.
    probe_steps: u64,
    /// Steps the full run trains beyond the probe's.
    extra_steps: u64,
}

impl StageCost {
    fn full_s(&self) -> f64 {
        self.probe_s + self.per_step_s * self.extra_steps as f64
    }
}

/// Prints the grid and the estimate; runs no point of the sweep.
pub fn dry_run(
    args: &SweepArgs,
    g: &grid::Grid,
    plans: &[Plan],
    shared: &[String],
    dir: &Path,
) -> Result<i32> {
    println!("sweep directory: {}", dir.display());
    println!(
        "{} arm(s) × {} seed(s) = {} run(s), {} at a time",
        g.arms.len(),
        g.seeds.len(),
        g.points.len(),
        args.parallel
    );
    for (p, plan) in g.points.iter().zip(plans) {
        println!(
            "  {:<40} seed {:<6} {}",
            g.arms[p.arm].label(),
            p.seed,
            plan.run.name
        );
    }
    let plan = &plans[0];
    let training: BTreeMap<String, u64> = plan
        .stages
        .iter()
        .filter(|s| TRAINING_TYPES.contains(&s.config.type_name()))
        .filter_map(|s| Some((s.id.clone(), s.config.to_json()["steps"].as_u64()?)))
        .collect();
    let p = args.probe_steps.max(1);
    let probe_dir = tempfile::tempdir().context("creating the probe directory")?;
    std::fs::create_dir_all(probe_dir.path().join("logs"))?;
    let first = probe(args, g, shared, probe_dir.path(), &training, p)?;
    let second = if training.is_empty() {
        None
    } else {
        Some(probe(args, g, shared, probe_dir.path(), &training, 2 * p)?)
    };
    let costs = stage_costs(&first, second.as_ref(), &training, p);
    let wall = first["wall_seconds"].as_f64().unwrap_or(0.0);
    let busy_total: f64 = costs.values().map(|c| c.probe_s).sum();
    // Stages run concurrently in a stream: the wall time, not the busy sum, is what a run
    // takes; the extra steps add to it (training holds the run's threads while it steps).
    let extra = |ids: &mut dyn Iterator<Item = &String>| -> f64 {
        ids.filter_map(|id| costs.get(id))
            .map(|c| c.per_step_s * c.extra_steps as f64)
            .sum()
    };
    let once = with_ancestors(plan, &args.shared);
    let per_first = wall + extra(&mut costs.keys());
    // Later points find the shared stages cached: their busy time and steps are not repaid.
    let shared_s: f64 = once
        .iter()
        .filter_map(|id| costs.get(id))
        .map(StageCost::full_s)
        .sum();
    let per_other = (per_first - shared_s).max(0.0);
    for (id, steps) in &training {
        if let Some(c) = costs.get(id) {
            println!(
                "probe: {id}: {:.0} ms/step ({} step(s) in full){}",
                c.per_step_s * 1000.0,
                steps,
                if once.contains(id) {
                    ", shared: once"
                } else {
                    ""
                }
            );
        }
    }
    println!(
        "probe: setup (everything but training steps) ≈ {:.0} s wall, {:.0} s busy over stages",
        (wall
            - costs
                .values()
                .map(|c| c.per_step_s * c.probe_steps as f64)
                .sum::<f64>())
        .max(0.0),
        busy_total
    );
    let n = g.points.len();
    let total = if args.shared.is_empty() {
        per_first * n.div_ceil(args.parallel) as f64
    } else {
        per_first + per_other * (n - 1).div_ceil(args.parallel) as f64
    };
    println!(
        "estimate: ≈ {} for the first run, ≈ {} per later run, ≈ {} for the sweep",
        human(per_first),
        human(per_other),
        human(total)
    );
    Ok(0)
}

/// Runs the first point with training cut to `steps`; returns its manifest.
fn probe(
    args: &SweepArgs,
    g: &grid::Grid,
    shared: &[String],
    dir: &Path,
    training: &BTreeMap<String, u64>,
    steps: u64,
) -> Result<Value> {
    let point = &g.points[0];
    let mut sets = super::sweep::point_sets(args, g, point, shared);
    for (id, full) in training {
        sets.push(format!("stages.{id}.steps={}", steps.min(*full)));
    }
    let code = run_one(&args.config, &sets, dir, &point.name);
    if code != 0 {
        let log = std::fs::read_to_string(dir.join("logs").join(format!("{}.log", point.name)))
            .unwrap_or_default();
        bail!("the probe run failed (exit {code}):\n{log}");
    }
    let path = dir.join(&point.name).join("manifest.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Per-stage costs from the probe at `p` steps and (when there is training) at `2p`.
fn stage_costs(
    first: &Value,
    second: Option<&Value>,
    training: &BTreeMap<String, u64>,
    p: u64,
) -> BTreeMap<String, StageCost> {
    let busy = |m: &Value| -> BTreeMap<String, (f64, bool)> {
        m["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let id = s["id"].as_str()?.to_string();
                let ran = s["status"].as_str() == Some("ran");
                Some((id, (s["busy_seconds"].as_f64().unwrap_or(0.0), ran)))
            })
            .collect()
    };
    let a = busy(first);
    let b = second.map(busy).unwrap_or_default();
    a.into_iter()
        .map(|(id, (probe_s, _))| {
            let full = training.get(&id).copied();
            let (s1, s2) = full.map_or((0, 0), |f| (p.min(f), (2 * p).min(f)));
            let per_step_s = match b.get(&id) {
                // Only a stage the second probe ran again, with more steps, has a
                // comparable time.
                Some(&(t2, true)) if s2 > s1 => ((t2 - probe_s) / (s2 - s1) as f64).max(0.0),
                _ => 0.0,
            };
            let c = StageCost {
                probe_s,
                per_step_s,
                probe_steps: s1,
                extra_steps: full.map_or(0, |f| f - s1),
            };
            (id, c)
        })
        .collect()
}

fn human(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(stages: &[(&str, f64, &str)]) -> Value {
        json!({"stages": stages.iter().map(|(id, busy, status)| {
            json!({"id": id, "busy_seconds": busy, "status": status})
        }).collect::<Vec<_>>()})
    }

    #[test]
    fn per_step_cost_is_the_difference_between_the_probes() {
        // train: 4 s setup + 0.5 s/step → 9 s at 10 steps, 14 s at 20 steps.
        let a = manifest(&[("read", 3.0, "ran"), ("train", 9.0, "ran")]);
        let b = manifest(&[("read", 0.0, "cached"), ("train", 14.0, "ran")]);
        let training = BTreeMap::from([("train".to_string(), 110)]);
        let c = stage_costs(&a, Some(&b), &training, 10);
        assert!((c["train"].per_step_s - 0.5).abs() < 1e-9);
        assert_eq!(c["train"].extra_steps, 100);
        assert!((c["train"].full_s() - 59.0).abs() < 1e-9);
        // A stage that is not training costs what the first probe measured.
        assert_eq!(c["read"].per_step_s, 0.0);
        assert!((c["read"].full_s() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn short_runs_and_cached_stages_add_no_steps() {
        // Full run of 15 steps: the second probe trains 15, not 20.
        let a = manifest(&[("train", 9.0, "ran"), ("base", 2.0, "ran")]);
        let b = manifest(&[("train", 11.5, "ran"), ("base", 0.0, "cached")]);
        let training = BTreeMap::from([("train".to_string(), 15), ("base".to_string(), 500)]);
        let c = stage_costs(&a, Some(&b), &training, 10);
        assert!((c["train"].per_step_s - 0.5).abs() < 1e-9);
        assert_eq!(c["train"].extra_steps, 5);
        // A training stage the second probe did not rerun has no measured step cost.
        assert_eq!(c["base"].per_step_s, 0.0);
        // Full run shorter than the probe: nothing extra.
        let training = BTreeMap::from([("train".to_string(), 5)]);
        let c = stage_costs(&a, Some(&b), &training, 10);
        assert_eq!(c["train"].extra_steps, 0);
        assert_eq!(c["train"].full_s(), 9.0);
    }
}
