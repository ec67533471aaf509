//! Phases of a sharded run with global stages (see [`crate::global`]).
//!
//! Before a sharded run starts, each global stage in plan order gets its phase: `Apply`
//! when the reduce of its decisions is complete for this shard count, else `Map`, and
//! the first stage in `Map` ends this run: the plan is cut to that stage and its
//! ancestors, and the stage becomes terminal. Every stage that feeds a global stage is
//! checkpointed, so the next run replays it instead of computing it again, except those
//! that are cheaper to compute again than to write and replay ([`recomputed`]): readers
//! (the next run reads its shard of the input files again) and global stages in their
//! apply phase. Without a shard, or without global stages, the plan is unchanged.

use crate::config::{Plan, PlannedStage};
use crate::error::RunError;
use crate::global::{GlobalDir, GlobalPhase};
use crate::run::RunOptions;
use crate::stage::StageKind;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// The plan of this run, each global stage's phase, and the stage whose map this run
/// writes (the run's output then waits for `mavuno reduce --stage` of it).
pub(crate) struct Phased {
    pub(crate) plan: Plan,
    pub(crate) phases: HashMap<String, GlobalPhase>,
    pub(crate) pending_reduce: Option<String>,
}

/// The unsharded run directory, under which `global/` lives.
pub(crate) fn base_dir(plan: &Plan, opts: &RunOptions) -> PathBuf {
    opts.workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&plan.run.workdir))
        .join(&plan.run.name)
}

/// Decides the phases (see the module docs).
pub(crate) fn phase(plan: &Plan, opts: &RunOptions) -> Phased {
    let mut phases = HashMap::new();
    let Some((i, n)) = opts.shard else {
        return Phased {
            plan: plan.clone(),
            phases,
            pending_reduce: None,
        };
    };
    let base = base_dir(plan, opts);
    let mut pending = None;
    for s in plan.stages.iter().filter(|s| s.config.global()) {
        let g = GlobalDir::new(&base, &s.id);
        match g.decisions_for((i, n)) {
            Some(decisions) => {
                phases.insert(s.id.clone(), GlobalPhase::Apply { decisions });
            }
            None => {
                let (file, side) = (g.map_file(i, n), g.side_file(i, n));
                phases.insert(s.id.clone(), GlobalPhase::Map { file, side });
                pending = Some(s.id.clone());
                break;
            }
        }
    }
    let mut p = plan.clone();
    let feeds_global: BTreeSet<String> = p
        .stages
        .iter()
        .filter(|s| s.config.global())
        .flat_map(|s| s.inputs.iter().cloned())
        .collect();
    for s in &mut p.stages {
        if feeds_global.contains(&s.id) && !recomputed(s, &phases) {
            s.checkpoint = true;
        }
    }
    if let Some(g) = &pending {
        let by_id: HashMap<&str, &Vec<String>> = plan
            .stages
            .iter()
            .map(|s| (s.id.as_str(), &s.inputs))
            .collect();
        let mut keep: BTreeSet<String> = BTreeSet::new();
        let mut stack = vec![g.clone()];
        while let Some(id) = stack.pop() {
            if keep.insert(id.clone()) {
                stack.extend(by_id[id.as_str()].iter().cloned());
            }
        }
        p.stages.retain(|s| keep.contains(&s.id));
        for s in &mut p.stages {
            s.consumers.retain(|c| keep.contains(c));
            if &s.id == g {
                // Its records only pass through to the map file: nothing to checkpoint.
                s.consumers.clear();
                s.checkpoint = false;
            }
        }
    }
    Phased {
        plan: p,
        phases,
        pending_reduce: pending,
    }
}

/// Whether a stage that feeds a global stage is computed again in the next phase rather
/// than checkpointed (a checkpoint the user asked for is kept): a reader, since reading
/// its shard of the input files again (the shard's selection is deterministic) costs less
/// than writing and replaying its records as JSON lines; and a global stage in its apply
/// phase, which only reads its decision lists, over inputs that are themselves replayed
/// or computed again. Either way the next phase gets the same records in the same order,
/// and a changed input is caught when decisions are applied (each names its record's
/// position and id).
fn recomputed(s: &PlannedStage, phases: &HashMap<String, GlobalPhase>) -> bool {
    s.config.kind() == StageKind::Source
        || matches!(phases.get(&s.id), Some(GlobalPhase::Apply { .. }))
}

/// Wraps a stage's error for `mavuno reduce`.
pub(crate) fn stage_error(
    stage: &str,
) -> impl Fn(crate::error::StageError) -> RunError + Copy + '_ {
    move |e| RunError::Stage {
        stage: stage.to_string(),
        source: e,
    }
}

/// The stage `stage` of the plan, or an error naming it.
pub(crate) fn named_stage<'a>(plan: &'a Plan, stage: &str) -> Result<&'a PlannedStage, RunError> {
    plan.stage(stage).ok_or_else(|| {
        stage_error(stage)(crate::error::StageError::msg(format!(
            "no stage \"{stage}\" in the config"
        )))
    })
}

/// `mavuno reduce`: runs the reduce of global stage `stage` for `range` over the map
/// files of every shard (or, with `cluster`, the step that joins the ranges of a reduce
/// in two steps), and returns its statistics.
pub fn reduce(
    plan: &Plan,
    opts: &RunOptions,
    stage: &str,
    range: (u64, u64),
    cluster: bool,
) -> Result<serde_json::Value, RunError> {
    use crate::error::StageError;
    let err = stage_error(stage);
    let s = named_stage(plan, stage)?;
    if !s.config.global() {
        return Err(err(StageError::msg(format!(
            "stage \"{stage}\" ({}) is not a global stage; global stages: {}",
            s.config.type_name(),
            plan.stages
                .iter()
                .filter(|s| s.config.global())
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    if cluster && !s.config.reduce_clusters() {
        return Err(err(StageError::msg(format!(
            "stage \"{stage}\" ({}) decides in each band range: its reduce has no cluster step",
            s.config.type_name()
        ))));
    }
    if cluster && range != (0, 1) {
        return Err(err(StageError::msg(
            "the cluster step joins every band range: give it no --band-range",
        )));
    }
    if range.1 == 0 || range.0 >= range.1 {
        return Err(err(StageError::msg(format!(
            "band range {}/{}: the index must be below the count",
            range.0, range.1
        ))));
    }
    let run_dir = base_dir(plan, opts);
    let dir = GlobalDir::new(&run_dir, stage);
    let maps = dir.map_files().map_err(err)?;
    let scratch = dir.path().join(".tmp").join(if cluster {
        "cluster".to_string()
    } else {
        format!("range-{}-of-{}", range.0, range.1)
    });
    let ctx = crate::global::ReduceContext {
        stage_id: stage.to_string(),
        seed: s.seed,
        dir,
        run_dir,
        maps,
        range,
        scratch_dir: scratch.clone(),
        cluster,
    };
    let r = s.config.reduce(&ctx).map_err(err);
    let _ = std::fs::remove_dir_all(&scratch);
    r
}
