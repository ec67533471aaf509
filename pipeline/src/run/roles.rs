//! Roles: which stages of a plan run, which are replayed from a checkpoint, which are
//! skipped, decided from the content keys and the completion markers in the run
//! directory before anything starts.
//!
//! Terminal stages that are not complete must run; a stage that must run needs each
//! input either replayed from its checkpoint file or run as well.

use crate::cache::{self, CachePaths, StageReport};
use crate::config::{Plan, PlannedStage};
use crate::global::GlobalPhase;
use crate::run::RunOptions;
use crate::stage::StageKind;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// What happens to a stage in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Built and run.
    Run,
    /// Complete earlier; its checkpoint file feeds a stage that runs.
    Replay,
    /// Complete earlier (or not needed by anything that runs).
    Skip,
}

/// The content key of every stage: its type, config, seed, shard, input keys and input
/// files ([`cache::stage_key`]).
/// A global stage's phase goes into its key, so map and apply are separate completions.
pub(crate) fn keys(
    plan: &Plan,
    opts: &RunOptions,
    phases: &HashMap<String, GlobalPhase>,
) -> HashMap<String, String> {
    let mut keys: HashMap<String, String> = HashMap::new();
    for s in &plan.stages {
        let inputs: Vec<String> = s
            .inputs
            .iter()
            .map(|i| keys.get(i).cloned().unwrap_or_default())
            .collect();
        let mut config = s.config.to_json();
        if let Some(p) = phases.get(&s.id) {
            config = serde_json::json!({"config": config, "global_phase": p.key_tag()});
        }
        let k = cache::stage_key(
            s.config.type_name(),
            &config,
            s.seed,
            opts.shard,
            &inputs,
            &s.config.input_files(),
        );
        keys.insert(s.id.clone(), k);
    }
    keys
}

/// Whether a stage's emitted records are kept in a checkpoint file.
pub(crate) fn checkpoints_records(s: &PlannedStage) -> bool {
    match s.config.kind() {
        StageKind::Sink => !s.consumers.is_empty() && s.checkpoint,
        _ => s.checkpoint,
    }
}

/// The checkpoint paths of every stage under a run directory.
pub(crate) fn cache_paths(
    plan: &Plan,
    dir: &Path,
    keys: &HashMap<String, String>,
) -> HashMap<String, CachePaths> {
    plan.stages
        .iter()
        .map(|s| (s.id.clone(), CachePaths::new(dir, &s.id, &keys[&s.id])))
        .collect()
}

/// The role of every stage, and the reports of the checkpointed stages complete earlier.
pub(crate) struct Roles {
    roles: HashMap<String, Role>,
    completed: HashMap<String, StageReport>,
}

impl Roles {
    /// Decides the roles (see the module docs).
    pub(crate) fn decide(plan: &Plan, paths: &HashMap<String, CachePaths>) -> Roles {
        let completed: HashMap<String, StageReport> = plan
            .stages
            .iter()
            .filter(|s| s.checkpoint)
            .filter_map(|s| paths[&s.id].completed().map(|r| (s.id.clone(), r)))
            .collect();
        let has_records = |s: &PlannedStage| {
            completed.contains_key(&s.id) && checkpoints_records(s) && paths[&s.id].records.exists()
        };
        let by_id: HashMap<&str, &PlannedStage> =
            plan.stages.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut run: BTreeSet<&str> = BTreeSet::new();
        let mut replay: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = plan
            .stages
            .iter()
            .filter(|s| s.consumers.is_empty() && !completed.contains_key(&s.id))
            .map(|s| s.id.as_str())
            .collect();
        while let Some(id) = stack.pop() {
            if !run.insert(id) {
                continue;
            }
            for i in &by_id[id].inputs {
                if has_records(by_id[i.as_str()]) {
                    replay.insert(i.as_str());
                } else {
                    stack.push(i.as_str());
                }
            }
        }
        let roles = plan
            .stages
            .iter()
            .map(|s| {
                let id = s.id.as_str();
                let r = if run.contains(id) {
                    Role::Run
                } else if replay.contains(id) {
                    Role::Replay
                } else {
                    Role::Skip
                };
                (s.id.clone(), r)
            })
            .collect();
        Roles { roles, completed }
    }

    /// The role of stage `id`.
    pub(crate) fn of(&self, id: &str) -> Role {
        self.roles.get(id).copied().unwrap_or(Role::Skip)
    }

    /// The report of a checkpointed stage complete before this run.
    pub(crate) fn completed(&self, id: &str) -> Option<&StageReport> {
        self.completed.get(id)
    }
}
