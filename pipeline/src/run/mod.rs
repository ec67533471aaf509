//! The executor: config → plan → runner → commit.
//!
//! [`execute`] takes a validated [`Plan`] and:
//! 1. locks the run directory ([`lock`]): a second run on it fails at once;
//! 2. gives each stage its content key and role ([`roles`]): stages whose outputs are
//!    complete are skipped; a checkpointed stage that feeds a stage which must run is
//!    *replayed* from its checkpoint file;
//! 3. builds every stage that runs before any thread starts, so a build error (a missing
//!    model file) stops the run before it reads anything;
//! 4. wires the stages with bounded channels ([`wiring`]): a slow consumer blocks its
//!    producer, so memory stays bounded; order is preserved on every edge;
//! 5. runs one thread per stage ([`runner`]), which owns timing, the rejects file,
//!    progress and the `in = kept + dropped + rejected` check; data-parallel work inside a
//!    stage runs on one rayon pool of `threads` workers;
//! 6. checks that every edge delivered what its producer emitted ([`wiring::check_edges`]);
//! 7. commits ([`commit`]): outputs are written under temporary names and renamed when
//!    the stage completes; completion markers are written last. A run killed at any point
//!    therefore reruns exactly what was not complete, and produces the same bytes.
//!
//! Any error after the lock leaves a `manifest.json` with `status = "failed"`.

mod commit;
mod lock;
mod merge;
mod phases;
pub use merge::{merge, merge_ranked};
pub use phases::reduce;
mod roles;
mod runner;
mod wiring;

pub(crate) use runner::partial as partial_path;

use crate::cache::{CachePaths, StageReport};
use crate::config::{Plan, ShardBy};
use crate::error::RunError;
use crate::stage::{BuildContext, Shard, StageImpl, StageKind};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Options from the command line.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides `run.workdir`.
    pub workdir: Option<PathBuf>,
    /// `--shard i/n`.
    pub shard: Option<(u64, u64)>,
    /// Show progress bars (the CLI sets this when stderr is a terminal and not `--quiet`).
    pub progress: bool,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// One report per stage, in plan order.
    pub stages: Vec<StageReport>,
    /// Records rejected over all stages.
    pub rejected_total: u64,
    /// In a sharded run, the global stage whose map this run wrote: the shard continues
    /// after `mavuno reduce --stage <id>`.
    pub pending_reduce: Option<String>,
}

/// What `mavuno plan` shows per stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StagePlan {
    /// Stage id.
    pub id: String,
    /// Stage type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Kind.
    pub kind: StageKind,
    /// Inputs.
    pub inputs: Vec<String>,
    /// Content key.
    pub key: String,
    /// Whether the stage is complete in the run directory (will be skipped).
    pub cached: bool,
    /// Whether its output is checkpointed.
    pub checkpoint: bool,
}

/// The run directory for a plan and options.
pub fn run_dir(plan: &Plan, opts: &RunOptions) -> PathBuf {
    let base = phases::base_dir(plan, opts);
    match opts.shard {
        Some((i, n)) => base.join(format!("shard-{i}-of-{n}")),
        None => base,
    }
}

/// The plan with keys and cache status, for `mavuno plan`.
pub fn describe(plan: &Plan, opts: &RunOptions) -> Vec<StagePlan> {
    let dir = run_dir(plan, opts);
    let phased = phases::phase(plan, opts);
    let keys = roles::keys(plan, opts, &phased.phases);
    plan.stages
        .iter()
        .map(|s| {
            let key = keys.get(&s.id).cloned().unwrap_or_default();
            let cached = s.checkpoint && CachePaths::new(&dir, &s.id, &key).completed().is_some();
            StagePlan {
                id: s.id.clone(),
                type_name: s.config.type_name().into(),
                kind: s.config.kind(),
                inputs: s.inputs.clone(),
                key,
                cached,
                checkpoint: s.checkpoint,
            }
        })
        .collect()
}

/// Runs a plan. Config errors cannot happen here (the plan is validated); stage errors
/// stop the run and are returned with the stage id. See the module docs for the steps.
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let dir = run_dir(plan, opts);
    std::fs::create_dir_all(&dir).map_err(|e| RunError::Io {
        path: dir.clone(),
        source: e,
    })?;
    // Held until the run ends; another run's directory is never written to.
    let _lock = lock::RunLock::acquire(&dir)?;
    let phased = phases::phase(plan, opts);
    let r = execute_locked(&phased, opts, &dir, started);
    if let Err(e) = &r {
        let _ = commit::write_manifest(plan, opts, &dir, &[], started, Some(&e.to_string()));
    }
    r
}

fn execute_locked(
    phased: &phases::Phased,
    opts: &RunOptions,
    dir: &std::path::Path,
    started: Instant,
) -> Result<RunSummary, RunError> {
    let plan = &phased.plan;
    let keys = roles::keys(plan, opts, &phased.phases);
    let paths: HashMap<String, CachePaths> = roles::cache_paths(plan, dir, &keys);
    let roles = roles::Roles::decide(plan, &paths);
    init_pool(plan.run.threads);
    let built = build(plan, opts, &roles, dir, &phased.phases)?;
    let wiring = wiring::Wiring::new(plan, &roles, plan.run.channel_capacity);
    let ran = runner::run_all(plan, &roles, &paths, built, wiring, opts.progress, dir)?;
    wiring::check_edges(plan, &roles, &ran.flow)?;
    commit::Commit {
        plan,
        opts,
        dir,
        keys: &keys,
        paths: &paths,
        roles: &roles,
        started,
    }
    .run(ran)
    .map(|mut summary| {
        summary.pending_reduce = phased.pending_reduce.clone();
        summary
    })
}

/// Builds every stage that runs, each with an emptied scratch directory.
fn build(
    plan: &Plan,
    opts: &RunOptions,
    roles: &roles::Roles,
    dir: &std::path::Path,
    phases: &HashMap<String, crate::global::GlobalPhase>,
) -> Result<HashMap<String, StageImpl>, RunError> {
    let shard = opts.shard.map(|(index, count)| Shard {
        index,
        count,
        by_file: plan.run.shard_by == ShardBy::File,
    });
    let mut built = HashMap::new();
    for s in &plan.stages {
        if roles.of(&s.id) != roles::Role::Run {
            continue;
        }
        let scratch = dir.join(".tmp").join(&s.id);
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(|e| RunError::Io {
            path: scratch.clone(),
            source: e,
        })?;
        let ctx = BuildContext {
            stage_id: s.id.clone(),
            seed: s.seed,
            batch_size: plan.run.batch_size,
            run_dir: dir.to_path_buf(),
            scratch_dir: scratch,
            shard,
            global: phases.get(&s.id).cloned(),
        };
        let st = s.config.build(&ctx).map_err(|e| RunError::Stage {
            stage: s.id.clone(),
            source: e,
        })?;
        built.insert(s.id.clone(), st);
    }
    Ok(built)
}

/// Sizes rayon's global pool from `run.threads` (0 = all cores), once per process.
///
/// Stage threads are not pool workers: they block on channel sends, and a blocked worker
/// would starve every other stage's parallel work (with one thread, a deadlock). So stages
/// run on their own threads and only their `par_iter` work enters the pool. The pool is
/// process-wide; a second run in the same process with another `threads` value keeps the
/// first size (outputs do not depend on it), with a warning.
fn init_pool(threads: usize) {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let n = if threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        threads
    };
    let size = *SIZE.get_or_init(|| {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("mavuno-worker-{i}"))
            .build_global()
        {
            Ok(()) => n,
            Err(_) => rayon::current_num_threads(),
        }
    });
    if size != n {
        tracing::warn!(
            requested = n,
            actual = size,
            "Worker pool already started in this process; keeping its size."
        );
    }
}
