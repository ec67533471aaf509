//! The executor: runs a [`Plan`] as threads connected by bounded channels.
//!
//! One thread per stage; edges are `crossbeam_channel::bounded(channel_capacity)`, so a
//! slow consumer blocks its producer and memory stays bounded. Data-parallel work inside
//! a stage runs on one rayon pool of `threads` workers. Order is preserved on every edge.
//!
//! Resume: before anything runs, each stage gets its content key ([`crate::cache`]).
//! Stages whose outputs are complete are skipped; a checkpointed stage that feeds a stage
//! which must run is *replayed* from its checkpoint file. Outputs are written under
//! temporary names and renamed when the stage completes; completion markers are written
//! last. A run killed at any point therefore reruns exactly what was not complete, and
//! produces the same bytes.
//!
//! A stage with several inputs reads them one after another, in the order given. To
//! avoid a deadlock when two inputs share an upstream (a diamond), inputs after the first
//! are drained into spill files on disk while the first is read.

use crate::cache::{self, CachePaths, OutputFile, RecordFileWriter, StageReport};
use crate::config::{Plan, PlannedStage, ShardBy};
use crate::emitter::{Counts, Emitter, Sink};
use crate::error::{RunError, StageError};
use crate::record::Batch;
use crate::stage::{BuildContext, Shard, StageImpl, StageKind};
use crossbeam_channel::{bounded, Receiver, Sender};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let base = opts
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&plan.run.workdir))
        .join(&plan.run.name);
    match opts.shard {
        Some((i, n)) => base.join(format!("shard-{i}-of-{n}")),
        None => base,
    }
}

fn keys(plan: &Plan, opts: &RunOptions) -> HashMap<String, String> {
    let mut keys: HashMap<String, String> = HashMap::new();
    for s in &plan.stages {
        let inputs: Vec<String> = s
            .inputs
            .iter()
            .map(|i| keys.get(i).cloned().unwrap_or_default())
            .collect();
        let k = cache::stage_key(
            s.config.type_name(),
            &s.config.to_json(),
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
fn checkpoints_records(s: &PlannedStage) -> bool {
    match s.config.kind() {
        StageKind::Sink => !s.consumers.is_empty() && s.checkpoint,
        _ => s.checkpoint,
    }
}

/// The plan with keys and cache status, for `mavuno plan`.
pub fn describe(plan: &Plan, opts: &RunOptions) -> Vec<StagePlan> {
    let dir = run_dir(plan, opts);
    let keys = keys(plan, opts);
    plan.stages
        .iter()
        .map(|s| {
            let key = keys[&s.id].clone();
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

enum Role {
    Run,
    Replay,
    Skip,
}

struct StageResult {
    counts: Counts,
    busy: Duration,
    blocked: Duration,
    outputs: Vec<PathBuf>,
}

/// Runs a plan. Config errors cannot happen here (the plan is validated); stage errors
/// stop the run and are returned with the stage id.
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let dir = run_dir(plan, opts);
    std::fs::create_dir_all(&dir).map_err(|e| RunError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let keys = keys(plan, opts);
    let paths: HashMap<&str, CachePaths> = plan
        .stages
        .iter()
        .map(|s| (s.id.as_str(), CachePaths::new(&dir, &s.id, &keys[&s.id])))
        .collect();
    let completed: HashMap<&str, StageReport> = plan
        .stages
        .iter()
        .filter(|s| s.checkpoint)
        .filter_map(|s| paths[s.id.as_str()].completed().map(|r| (s.id.as_str(), r)))
        .collect();
    let has_records = |s: &PlannedStage| {
        completed.contains_key(s.id.as_str())
            && checkpoints_records(s)
            && paths[s.id.as_str()].records.exists()
    };

    // Decide roles: terminal stages that are not complete must run; a stage that must run
    // needs each input either replayed from a checkpoint or run as well.
    let by_id: HashMap<&str, &PlannedStage> =
        plan.stages.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut run_set: BTreeSet<&str> = BTreeSet::new();
    let mut replay_set: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = plan
        .stages
        .iter()
        .filter(|s| s.consumers.is_empty() && !completed.contains_key(s.id.as_str()))
        .map(|s| s.id.as_str())
        .collect();
    while let Some(id) = stack.pop() {
        if !run_set.insert(id) {
            continue;
        }
        for i in &by_id[id].inputs {
            if has_records(by_id[i.as_str()]) {
                replay_set.insert(i.as_str());
            } else {
                stack.push(i.as_str());
            }
        }
    }
    let role = |id: &str| {
        if run_set.contains(id) {
            Role::Run
        } else if replay_set.contains(id) {
            Role::Replay
        } else {
            Role::Skip
        }
    };

    init_pool(plan.run.threads);
    let shard = opts.shard.map(|(index, count)| Shard {
        index,
        count,
        by_file: plan.run.shard_by == ShardBy::File,
    });

    // Build every stage that runs before starting any thread, so build errors (a missing
    // model file) stop the run before it reads anything.
    let mut built: HashMap<&str, StageImpl> = HashMap::new();
    for s in &plan.stages {
        if !matches!(role(&s.id), Role::Run) {
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
            run_dir: dir.clone(),
            scratch_dir: scratch,
            shard,
        };
        let st = s.config.build(&ctx).map_err(|e| RunError::Stage {
            stage: s.id.clone(),
            source: e,
        })?;
        built.insert(s.id.as_str(), st);
    }

    // Channels: one per edge whose consumer runs, plus one per checkpoint writer.
    let cap = plan.run.channel_capacity;
    let mut senders: HashMap<&str, Vec<Sender<Batch>>> = HashMap::new();
    let mut receivers: HashMap<&str, Vec<Receiver<Batch>>> = HashMap::new();
    for s in &plan.stages {
        if !matches!(role(&s.id), Role::Run) {
            continue;
        }
        for i in &s.inputs {
            let (tx, rx) = bounded(cap);
            senders.entry(i.as_str()).or_default().push(tx);
            receivers.entry(s.id.as_str()).or_default().push(rx);
        }
    }
    let mut ckpt_rx: HashMap<&str, Receiver<Batch>> = HashMap::new();
    for s in &plan.stages {
        if matches!(role(&s.id), Role::Run) && checkpoints_records(s) {
            let (tx, rx) = bounded(cap);
            senders.entry(s.id.as_str()).or_default().push(tx);
            ckpt_rx.insert(s.id.as_str(), rx);
        }
    }

    let cancel = Arc::new(AtomicBool::new(false));
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);
    let fail = |stage: &str, e: StageError| {
        cancel.store(true, Ordering::SeqCst);
        let mut g = first_error.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the first real error; a `Cancelled` only stands in until one arrives.
        let replace = match g.as_ref() {
            None => true,
            Some(RunError::Stage {
                source: StageError::Cancelled,
                ..
            }) => !matches!(e, StageError::Cancelled),
            Some(_) => false,
        };
        if replace {
            *g = Some(RunError::Stage {
                stage: stage.to_string(),
                source: e,
            });
        }
    };
    let multi = if opts.progress {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    };
    let style = ProgressStyle::with_template("{spinner:.green} {prefix:<18} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());

    let fail = &fail;
    let mut results: HashMap<String, StageResult> = HashMap::new();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for s in &plan.stages {
            let id = s.id.as_str();
            match role(id) {
                Role::Skip => continue,
                Role::Replay => {
                    let outs = senders.remove(id).unwrap_or_default();
                    let path = paths[id].records.clone();
                    let bs = plan.run.batch_size;
                    let cancel = cancel.clone();
                    scope.spawn(move || {
                        let r = cache::read_record_file(&path, bs, |batch| {
                            if cancel.load(Ordering::Relaxed) {
                                return false;
                            }
                            let n = outs.len();
                            let mut batch = Some(batch);
                            for (k, tx) in outs.iter().enumerate() {
                                let b = if k + 1 == n {
                                    batch.take().unwrap_or_default()
                                } else {
                                    batch.clone().unwrap_or_default()
                                };
                                if tx.send(b).is_err() {
                                    return false;
                                }
                            }
                            true
                        });
                        if let Err(e) = r {
                            fail(id, e);
                        }
                    });
                }
                Role::Run => {
                    let Some(stage) = built.remove(id) else {
                        continue;
                    };
                    let outs = senders.remove(id).unwrap_or_default();
                    let ins = receivers.remove(id).unwrap_or_default();
                    let rejects_tmp = partial(&paths[id].rejects);
                    if let Some(p) = rejects_tmp.parent() {
                        let _ = std::fs::create_dir_all(p);
                    }
                    let rejects: Option<Box<dyn Write + Send>> = match File::create(&rejects_tmp) {
                        Ok(f) => Some(Box::new(BufWriter::new(f))),
                        Err(e) => {
                            fail(id, StageError::io(&rejects_tmp, e));
                            None
                        }
                    };
                    let sink = if outs.is_empty() {
                        Sink::Discard
                    } else {
                        Sink::Channels(outs)
                    };
                    let mut em = Emitter::new(id, plan.run.batch_size, sink, rejects)
                        .with_cancel(cancel.clone());
                    let pb = multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style.clone())
                            .with_prefix(id.to_string()),
                    );
                    pb.enable_steady_tick(Duration::from_millis(200));
                    let cancel = cancel.clone();
                    let spill_dir = dir.join(".tmp").join(id);
                    let bs = plan.run.batch_size;
                    handles.push((
                        id,
                        scope.spawn(move || {
                            let t0 = Instant::now();
                            let mut busy = Duration::ZERO;
                            let r = match stage {
                                StageImpl::Source(mut src) => {
                                    em = em.for_source();
                                    let t = Instant::now();
                                    let r = src.run(&mut em);
                                    em.flush();
                                    // A reader's time blocked on a full channel is not busy time.
                                    busy += t.elapsed().saturating_sub(em.blocked());
                                    r.map(|_| Vec::new())
                                }
                                StageImpl::Stage(mut st) => run_stage(
                                    &mut *st, ins, &mut em, &cancel, &pb, &mut busy, &spill_dir, bs,
                                ),
                            };
                            let blocked = em.blocked();
                            let outputs = match r {
                                Ok(o) => o,
                                Err(e) => {
                                    pb.finish_with_message("failed");
                                    fail(id, e);
                                    return None;
                                }
                            };
                            if cancel.load(Ordering::SeqCst) {
                                pb.finish_with_message("cancelled");
                                return None;
                            }
                            if let Err(e) = em.finish_rejects() {
                                fail(id, StageError::io(&rejects_tmp, e));
                                return None;
                            }
                            let counts = em.into_counts();
                            pb.finish_with_message(progress_msg(&counts, t0.elapsed()));
                            tracing::info!(
                                stage = id,
                                records_in = counts.records_in,
                                records_out = counts.records_out,
                                dropped = counts.dropped_total(),
                                rejected = counts.rejected,
                                "Stage finished."
                            );
                            Some(StageResult {
                                counts,
                                busy,
                                blocked,
                                outputs,
                            })
                        }),
                    ));
                    if let Some(rx) = ckpt_rx.remove(id) {
                        let tmp = partial(&paths[id].records);
                        scope.spawn(move || {
                            if let Err(e) = write_checkpoint(&tmp, rx) {
                                fail(id, e);
                            }
                        });
                    }
                }
            }
        }
        drop(senders);
        for (id, h) in handles {
            match h.join() {
                Ok(Some(r)) => {
                    results.insert(id.to_string(), r);
                }
                Ok(None) => {}
                Err(_) => fail(
                    id,
                    StageError::msg("the stage thread panicked (a bug: please report it)"),
                ),
            }
        }
    });

    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let _ = write_manifest(plan, opts, &dir, &[], started, Some(&e.to_string()));
        return Err(e);
    }

    // Everything ran: check accounting, commit checkpoints and markers, in plan order.
    let mut reports = Vec::new();
    for s in &plan.stages {
        let id = s.id.as_str();
        let p = &paths[id];
        let rep = match role(id) {
            Role::Run => {
                let r = results.remove(id).ok_or_else(|| RunError::Stage {
                    stage: id.into(),
                    source: StageError::msg("stage produced no result"),
                })?;
                if !r.counts.balances() {
                    return Err(RunError::Accounting {
                        stage: id.into(),
                        records_in: r.counts.records_in,
                        kept: r.counts.kept,
                        dropped: r.counts.dropped_total(),
                        rejected: r.counts.rejected,
                    });
                }
                let mut outputs = Vec::new();
                for o in &r.outputs {
                    let md = std::fs::metadata(o).map_err(|e| RunError::Io {
                        path: o.clone(),
                        source: e,
                    })?;
                    let h = crate::io::hash_file(o).map_err(|e| RunError::Stage {
                        stage: id.into(),
                        source: e,
                    })?;
                    outputs.push(OutputFile {
                        path: o.display().to_string(),
                        bytes: md.len(),
                        xxh3: h,
                    });
                }
                rename(&partial(&p.rejects), &p.rejects)?;
                if checkpoints_records(s) {
                    rename(&partial(&p.records), &p.records)?;
                }
                let rep = StageReport {
                    id: id.into(),
                    type_name: s.config.type_name().into(),
                    key: keys[id].clone(),
                    status: "ran".into(),
                    counts: r.counts,
                    busy_seconds: r.busy.as_secs_f64(),
                    blocked_seconds: r.blocked.as_secs_f64(),
                    outputs,
                };
                // Every stage that ran gets its marker: for checkpointed stages it means
                // "complete, skip next time"; for the others it keeps their counts for the
                // manifest of a later run that skips them (roles only trust checkpointed ones).
                let bytes = serde_json::to_vec_pretty(&rep).unwrap_or_default();
                crate::io::write_atomic(&p.done, &bytes).map_err(|e| RunError::Stage {
                    stage: id.into(),
                    source: e,
                })?;
                rep
            }
            Role::Replay | Role::Skip => match completed.get(id).cloned().or_else(|| p.completed())
            {
                Some(mut r) => {
                    r.status = if matches!(role(id), Role::Replay) {
                        "replayed".into()
                    } else {
                        "cached".into()
                    };
                    tracing::info!(stage = id, "Stage complete from an earlier run; skipped.");
                    r
                }
                None => StageReport {
                    id: id.into(),
                    type_name: s.config.type_name().into(),
                    key: keys[id].clone(),
                    status: "not_needed".into(),
                    counts: Counts::default(),
                    busy_seconds: 0.0,
                    blocked_seconds: 0.0,
                    outputs: Vec::new(),
                },
            },
        };
        reports.push(rep);
    }

    // rejects.jsonl: every stage's rejects, in plan order.
    let mut all = Vec::new();
    for s in &plan.stages {
        if let Ok(b) = std::fs::read(&paths[s.id.as_str()].rejects) {
            all.extend_from_slice(&b);
        }
    }
    crate::io::write_atomic(&dir.join("rejects.jsonl"), &all).map_err(|e| RunError::Stage {
        stage: "(engine)".into(),
        source: e,
    })?;
    let _ = std::fs::remove_dir_all(dir.join(".tmp"));
    write_manifest(plan, opts, &dir, &reports, started, None)?;
    let rejected_total = reports.iter().map(|r| r.counts.rejected).sum();
    Ok(RunSummary {
        run_dir: dir,
        stages: reports,
        rejected_total,
    })
}

#[allow(clippy::too_many_arguments)]
fn run_stage(
    st: &mut dyn crate::stage::Stage,
    mut ins: Vec<Receiver<Batch>>,
    em: &mut Emitter,
    cancel: &AtomicBool,
    pb: &ProgressBar,
    busy: &mut Duration,
    spill_dir: &Path,
    batch_size: usize,
) -> Result<Vec<PathBuf>, StageError> {
    // Inputs after the first are drained to disk right away (see module docs).
    let first = if ins.is_empty() {
        None
    } else {
        Some(ins.remove(0))
    };
    let spills: Vec<_> = ins
        .into_iter()
        .enumerate()
        .map(|(k, rx)| {
            let path = spill_dir.join(format!("input-{}.jsonl.zst", k + 1));
            let p2 = path.clone();
            (path, std::thread::spawn(move || write_checkpoint(&p2, rx)))
        })
        .collect();
    let t0 = Instant::now();
    let mut process =
        |batch: Batch, em: &mut Emitter, busy: &mut Duration| -> Result<(), StageError> {
            em.add_records_in(batch.len() as u64);
            let (t, b0) = (Instant::now(), em.blocked());
            st.process(batch, em)?;
            // Sends inside `process` can block on a full channel: that is back-pressure, not work.
            *busy += t.elapsed().saturating_sub(em.blocked() - b0);
            em.flush();
            pb.set_message(progress_msg(em.counts(), t0.elapsed()));
            Ok(())
        };
    if let Some(rx) = first {
        for batch in rx.iter() {
            if cancel.load(Ordering::Relaxed) {
                return Err(StageError::Cancelled);
            }
            process(batch, em, busy)?;
        }
    }
    for (path, h) in spills {
        h.join()
            .map_err(|_| StageError::msg("spill thread panicked"))??;
        let mut err = None;
        cache::read_record_file(&path, batch_size, |batch| {
            if cancel.load(Ordering::Relaxed) {
                err = Some(StageError::Cancelled);
                return false;
            }
            match process(batch, em, busy) {
                Ok(()) => true,
                Err(e) => {
                    err = Some(e);
                    false
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        let _ = std::fs::remove_file(&path);
    }
    if cancel.load(Ordering::SeqCst) {
        return Err(StageError::Cancelled);
    }
    let (t, b0) = (Instant::now(), em.blocked());
    st.finish(em)?;
    *busy += t.elapsed().saturating_sub(em.blocked() - b0);
    em.flush();
    Ok(st.outputs())
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

fn progress_msg(c: &Counts, elapsed: Duration) -> String {
    let rate = c.records_in as f64 / elapsed.as_secs_f64().max(1e-9);
    format!(
        "in {} out {} dropped {} rejected {} ({:.0} rec/s)",
        c.records_in,
        c.records_out,
        c.dropped_total(),
        c.rejected,
        rate
    )
}

fn write_checkpoint(path: &Path, rx: Receiver<Batch>) -> Result<(), StageError> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| StageError::io(p, e))?;
    }
    let f = File::create(path).map_err(|e| StageError::io(path, e))?;
    let mut w = RecordFileWriter::new(BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| StageError::io(path, e))?;
    for batch in rx.iter() {
        for r in &batch {
            w.write(r).map_err(|e| StageError::io(path, e))?;
        }
    }
    let mut inner = w.finish().map_err(|e| StageError::io(path, e))?;
    inner.flush().map_err(|e| StageError::io(path, e))?;
    Ok(())
}

fn partial(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

fn rename(from: &Path, to: &Path) -> Result<(), RunError> {
    std::fs::rename(from, to).map_err(|e| RunError::Io {
        path: to.to_path_buf(),
        source: e,
    })
}

fn write_manifest(
    plan: &Plan,
    opts: &RunOptions,
    dir: &Path,
    reports: &[StageReport],
    started: Instant,
    error: Option<&str>,
) -> Result<(), RunError> {
    let configs: serde_json::Map<String, serde_json::Value> = plan
        .stages
        .iter()
        .map(|s| (s.id.clone(), json!({"type": s.config.type_name(), "inputs": s.inputs, "checkpoint": s.checkpoint, "config": s.config.to_json()})))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let m = json!({
        "mavuno_version": cache::TOOL_VERSION,
        "config_file": plan.path.display().to_string(),
        "run": plan.run,
        "shard": opts.shard.map(|(i, n)| json!({"index": i, "count": n})),
        "status": if error.is_some() { "failed" } else { "succeeded" },
        "error": error,
        "finished_unix": now,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "stages": reports,
        "rejected_total": reports.iter().map(|r| r.counts.rejected).sum::<u64>(),
        "config": configs,
    });
    let bytes = serde_json::to_vec_pretty(&m).unwrap_or_default();
    crate::io::write_atomic(&dir.join("manifest.json"), &bytes).map_err(|e| RunError::Stage {
        stage: "(engine)".into(),
        source: e,
    })
}
