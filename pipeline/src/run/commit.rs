//! Commit: after every stage ended cleanly, make the run's results permanent in plan
//! order: hash each writer's outputs, rename the temporary rejects and checkpoint files,
//! write each stage's completion marker, gather `rejects.jsonl`, and write
//! `manifest.json`. Markers are written last per stage, so a run killed during the commit
//! reruns exactly the stages without one. A failed run writes a `manifest.json` with
//! `status = "failed"` and the error ([`write_manifest`]).

use crate::cache::{self, CachePaths, OutputFile, StageReport};
use crate::config::Plan;
use crate::emitter::Counts;
use crate::error::{RunError, StageError};
use crate::run::roles::{checkpoints_records, Role, Roles};
use crate::run::runner::{partial, Ran};
use crate::run::{RunOptions, RunSummary};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// What the commit needs besides the stages' results.
pub(crate) struct Commit<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) opts: &'a RunOptions,
    pub(crate) dir: &'a Path,
    pub(crate) keys: &'a HashMap<String, String>,
    pub(crate) paths: &'a HashMap<String, CachePaths>,
    pub(crate) roles: &'a Roles,
    pub(crate) started: Instant,
}

fn engine_err(e: StageError) -> RunError {
    RunError::Stage {
        stage: "(engine)".into(),
        source: e,
    }
}

impl Commit<'_> {
    /// Commits every stage, then `rejects.jsonl` and the manifest.
    pub(crate) fn run(&self, mut ran: Ran) -> Result<RunSummary, RunError> {
        let mut reports = Vec::new();
        for s in &self.plan.stages {
            let id = s.id.as_str();
            let rep = match self.roles.of(id) {
                Role::Run => {
                    let r = ran.results.remove(id).ok_or_else(|| RunError::Stage {
                        stage: id.into(),
                        source: StageError::msg("stage produced no result"),
                    })?;
                    self.commit_stage(s, r)?
                }
                role => self.earlier(id, s.config.type_name(), role),
            };
            reports.push(rep);
        }
        // rejects.jsonl: every stage's rejects, in plan order.
        let mut all = Vec::new();
        for s in &self.plan.stages {
            if let Ok(b) = std::fs::read(&self.paths[&s.id].rejects) {
                all.extend_from_slice(&b);
            }
        }
        crate::io::write_atomic(&self.dir.join("rejects.jsonl"), &all).map_err(engine_err)?;
        let _ = std::fs::remove_dir_all(self.dir.join(".tmp"));
        write_manifest(self.plan, self.opts, self.dir, &reports, self.started, None)?;
        let rejected_total = reports.iter().map(|r| r.counts.rejected).sum();
        Ok(RunSummary {
            run_dir: self.dir.to_path_buf(),
            stages: reports,
            rejected_total,
            pending_reduce: None,
        })
    }

    /// A stage that ran: outputs hashed, files renamed, marker written.
    fn commit_stage(
        &self,
        s: &crate::config::PlannedStage,
        r: crate::run::runner::StageResult,
    ) -> Result<StageReport, RunError> {
        let id = s.id.as_str();
        let p = &self.paths[id];
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
        // The dropped sample of this run replaces an earlier one; a run that dropped
        // nothing (or keeps none) leaves none.
        let dropped = crate::dropped::dropped_path(self.dir, id);
        if partial(&dropped).exists() {
            rename(&partial(&dropped), &dropped)?;
        } else {
            let _ = std::fs::remove_file(&dropped);
        }
        if checkpoints_records(s) {
            rename(&partial(&p.records), &p.records)?;
        }
        let rep = StageReport {
            id: id.into(),
            type_name: s.config.type_name().into(),
            key: self.keys[id].clone(),
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
        Ok(rep)
    }

    /// The report of a stage replayed or skipped: its marker's, or `not_needed`.
    fn earlier(&self, id: &str, type_name: &str, role: Role) -> StageReport {
        let found = self
            .roles
            .completed(id)
            .cloned()
            .or_else(|| self.paths[id].completed());
        match found {
            Some(mut r) => {
                r.status = if role == Role::Replay {
                    "replayed".into()
                } else {
                    "cached".into()
                };
                tracing::info!(stage = id, "Stage complete from an earlier run; skipped.");
                r
            }
            None => StageReport {
                id: id.into(),
                type_name: type_name.into(),
                key: self.keys[id].clone(),
                status: "not_needed".into(),
                counts: Counts::default(),
                busy_seconds: 0.0,
                blocked_seconds: 0.0,
                outputs: Vec::new(),
            },
        }
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), RunError> {
    std::fs::rename(from, to).map_err(|e| RunError::Io {
        path: to.to_path_buf(),
        source: e,
    })
}

/// Writes `manifest.json`: the run's settings, status (`succeeded`, or `failed` with the
/// error), per-stage reports and every stage's config.
pub(crate) fn write_manifest(
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
        .map(|s| (s.id.clone(), json!({"type": s.config.type_name(), "inputs": s.inputs, "checkpoint": s.checkpoint, "seed": s.seed, "config": s.config.to_json()})))
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
    crate::io::write_atomic(&dir.join("manifest.json"), &bytes).map_err(engine_err)
}
