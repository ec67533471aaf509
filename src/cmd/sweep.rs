//! `mavuno sweep`: one config run per combination of `--vary` values and seed, then
//! `results.jsonl` and `results.md` with mean ± sd per arm and paired comparisons.
//!
//! Each point is an ordinary `mavuno run` in a child process (its own run directory under
//! the sweep directory), so every run resumes like any run: a killed sweep, started again
//! with the same arguments, redoes only what did not finish. Children die with the sweep
//! (`PR_SET_PDEATHSIG`), so a killed sweep leaves no orphan writing into a run directory.
//!
//! `--shared STAGE` computes that stage (and what it reads) once: its seed, and its
//! ancestors', is pinned to the first seed (`stages.<id>.seed`), so every point has the
//! same content key for it; the first point runs alone, then each other point's run
//! directory receives a copy of those stages' completion records and skips them. This is
//! how several continuations share one base pre-training.

use anyhow::{bail, Context, Result};
use clap::Args;
use mavuno_pipeline::config::Plan;
use mavuno_pipeline::sweep::{arms, collect, grid, table};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// `mavuno sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The pipeline config every point runs.
    pub config: PathBuf,
    /// An axis: a config key and its values, e.g. `--vary stages.train.masking=lem_ne,mlm_matched`.
    /// Several `--vary` give their product.
    #[arg(long = "vary", value_name = "KEY=V1,V2")]
    pub vary: Vec<String>,
    /// Named arms, each setting several keys at once: a TOML file with one table per arm
    /// (an empty table is the config as it stands). Combined with any `--vary` axes.
    #[arg(long, value_name = "FILE")]
    pub arms: Option<PathBuf>,
    /// Seeds; every arm runs with each, and arms are paired by seed.
    #[arg(long, default_value = "1,2,3", value_name = "S1,S2")]
    pub seeds: String,
    /// The sweep directory (default: `<run.workdir>/<run.name>-sweep`).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Runs at once (each gets `run.threads` = cores / N unless `--set` gives it).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Overrides for every point, as in `mavuno run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The arm others are paired against (its label, e.g. `train.masking=mlm_matched`, or
    /// its 1-based position); default: the first.
    #[arg(long)]
    pub reference: Option<String>,
    /// Stage computed once for all points (with its ancestors), e.g. a base pre-training.
    #[arg(long, value_name = "STAGE")]
    pub shared: Vec<String>,
    /// Print the grid and an estimated time (from a short probe run) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Steps the `--dry-run` probe gives each training stage.
    #[arg(long, default_value_t = 10)]
    pub probe_steps: u64,
}

/// Runs the sweep; the exit code is 0 when every point succeeded.
pub fn run(args: SweepArgs) -> Result<i32> {
    // Usage and config errors exit with 2 before anything runs.
    let (g, plans, shared, reference) = match prepare(&args) {
        Ok(Ok(p)) => p,
        Ok(Err(code)) => return Ok(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(2);
        }
    };
    let dir = args.workdir.clone().unwrap_or_else(|| {
        PathBuf::from(&plans[0].run.workdir).join(format!("{}-sweep", plans[0].run.name))
    });
    if args.dry_run {
        return super::sweep_estimate::dry_run(&args, &g, &plans, &shared, &dir);
    }
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("creating {}", dir.display()))?;
    if let Err(e) = check_same_sweep(&dir, &args, &g) {
        eprintln!("error: {e:#}");
        return Ok(2);
    }

    let started = Instant::now();
    let todo: Vec<usize> = (0..g.points.len()).collect();
    let failed = Mutex::new(Vec::new());
    let (first, rest) = if args.shared.is_empty() {
        (&todo[..0], &todo[..])
    } else {
        todo.split_at(1)
    };
    run_points(&args, &g, &shared, &dir, first, &failed);
    if !args.shared.is_empty() && failed.lock().map(|f| f.is_empty()).unwrap_or(false) {
        let src = dir.join(&g.points[0].name);
        for p in &g.points[1..] {
            copy_shared(&src, &dir.join(&p.name), &plans[0], &args.shared)?;
        }
    }
    run_points(&args, &g, &shared, &dir, rest, &failed);

    let runs: Vec<collect::RunMetrics> = g
        .points
        .iter()
        .map(|p| collect::read_run(&dir.join(&p.name)))
        .collect();
    let command = command_line();
    write_text(&dir.join("results.jsonl"), &table::results_jsonl(&g, &runs))?;
    write_text(
        &dir.join("results.md"),
        &table::results_md(&g, &runs, reference, &command),
    )?;
    let failed = failed.into_inner().unwrap_or_default();
    eprintln!(
        "{} run(s) in {:.0} s; results: {} and {}",
        g.points.len(),
        started.elapsed().as_secs_f64(),
        dir.join("results.md").display(),
        dir.join("results.jsonl").display()
    );
    if failed.is_empty() {
        Ok(0)
    } else {
        for (name, code) in &failed {
            eprintln!(
                "error: run {name} failed (exit {code}); log: {}",
                dir.join("logs").join(format!("{name}.log")).display()
            );
        }
        Ok(1)
    }
}

/// The grid, every point's validated plan, the `--shared` overrides and the reference
/// arm; `Ok(Err(code))` when a config error was printed.
type Prepared = (grid::Grid, Vec<Plan>, Vec<String>, usize);

fn prepare(args: &SweepArgs) -> Result<std::result::Result<Prepared, i32>> {
    let axes = args
        .vary
        .iter()
        .map(|v| grid::Axis::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let named = match &args.arms {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--arms: reading {}", path.display()))?;
            arms::parse_arms(&text, &path.display().to_string())?
        }
        None => Vec::new(),
    };
    let g = grid::Grid::with_named(named, axes, grid::parse_seeds(&args.seeds)?)?;
    if args.parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let load = |sets: Vec<String>| {
        super::run::load(&super::run::ConfigArgs {
            config: args.config.clone(),
            workdir: args.workdir.clone(),
            set: sets,
            shard: None,
        })
    };
    let base = match load(args.set.clone()) {
        Ok(p) => p,
        Err(code) => return Ok(Err(code)),
    };
    let shared = shared_overrides(&base, &args.shared, g.seeds[0])?;
    // Every point must validate before anything runs.
    let mut plans = Vec::new();
    for p in &g.points {
        match load(point_sets(args, &g, p, &shared)) {
            Ok(plan) => plans.push(plan),
            Err(code) => return Ok(Err(code)),
        }
    }
    let reference = reference_arm(&g, args.reference.as_deref())?;
    Ok(Ok((g, plans, shared, reference)))
}

/// `stages.<id>.seed=<seed>` for each shared stage and its ancestors.
fn shared_overrides(plan: &Plan, shared: &[String], seed: u64) -> Result<Vec<String>> {
    for id in shared {
        if plan.stage(id).is_none() {
            bail!("--shared {id}: the config has no stage \"{id}\"");
        }
    }
    // The shared stages themselves must leave a checkpoint for the other points to reuse.
    Ok(with_ancestors(plan, shared)
        .into_iter()
        .map(|id| format!("stages.{id}.seed={seed}"))
        .chain(
            shared
                .iter()
                .map(|id| format!("stages.{id}.checkpoint=true")),
        )
        .collect())
}

/// The given stages and every stage they read from, transitively.
pub(super) fn with_ancestors(plan: &Plan, ids: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&str> = ids.iter().map(String::as_str).collect();
    while let Some(id) = stack.pop() {
        if out.insert(id.to_string()) {
            if let Some(s) = plan.stage(id) {
                stack.extend(s.inputs.iter().map(String::as_str));
            }
        }
    }
    out
}

pub(super) fn point_sets(
    args: &SweepArgs,
    g: &grid::Grid,
    p: &grid::Point,
    shared: &[String],
) -> Vec<String> {
    let mut sets = args.set.clone();
    if !args.set.iter().any(|s| s.starts_with("run.threads=")) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        sets.push(format!("run.threads={}", (cores / args.parallel).max(1)));
    }
    sets.extend(g.overrides(p));
    sets.extend(shared.iter().cloned());
    sets
}

fn reference_arm(g: &grid::Grid, r: Option<&str>) -> Result<usize> {
    let Some(r) = r else { return Ok(0) };
    if let Ok(i) = r.parse::<usize>() {
        if (1..=g.arms.len()).contains(&i) {
            return Ok(i - 1);
        }
    }
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    g.arms
        .iter()
        .position(|a| norm(&a.label()) == norm(r) || a.dir_name() == r)
        .with_context(|| {
            let labels: Vec<String> = g.arms.iter().map(|a| a.label()).collect();
            format!("--reference {r}: no such arm; arms: {}", labels.join(" | "))
        })
}

/// A sweep directory belongs to one grid: refuse to mix runs of another.
fn check_same_sweep(dir: &Path, args: &SweepArgs, g: &grid::Grid) -> Result<()> {
    let desc = serde_json::json!({
        "config": args.config.display().to_string(),
        "set": args.set,
        "shared": args.shared,
        "axes": g.axes.iter().map(|a| serde_json::json!({"key": a.key, "values": a.values})).collect::<Vec<_>>(),
        "arms": g.arms.iter().map(|a| serde_json::json!({"label": a.label(), "set": a.overrides()})).collect::<Vec<_>>(),
        "seeds": g.seeds,
        "runs": g.points.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
    });
    let path = dir.join("sweep.json");
    if let Ok(old) = std::fs::read(&path) {
        let old: serde_json::Value = serde_json::from_slice(&old).unwrap_or_default();
        let same = |k: &str| old[k] == desc[k];
        // `arms` is absent from sweep.json files written before `--arms` existed.
        let same_arms = old.get("arms").is_none() || same("arms");
        if !(same("axes") && same("set") && same("config") && same("shared") && same_arms) {
            bail!(
                "{} holds a sweep with other settings ({}); use another --workdir",
                dir.display(),
                path.display()
            );
        }
    }
    write_text(&path, &serde_json::to_string_pretty(&desc)?)
}

/// Runs the given points, `--parallel` at a time; failures are collected, not fatal.
fn run_points(
    args: &SweepArgs,
    g: &grid::Grid,
    shared: &[String],
    dir: &Path,
    idx: &[usize],
    failed: &Mutex<Vec<(String, i32)>>,
) {
    let next = AtomicUsize::new(0);
    let total = g.points.len();
    std::thread::scope(|s| {
        for _ in 0..args.parallel.min(idx.len()) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = idx.get(k) else { break };
                let p = &g.points[i];
                let t = Instant::now();
                let code = run_one(&args.config, &point_sets(args, g, p, shared), dir, &p.name);
                eprintln!(
                    "[{}/{total}] {} seed {}: {} ({:.0} s)",
                    i + 1,
                    g.arms[p.arm].label(),
                    p.seed,
                    if code == 0 {
                        "done".to_string()
                    } else {
                        format!("failed (exit {code})")
                    },
                    t.elapsed().as_secs_f64()
                );
                if code != 0 {
                    if let Ok(mut f) = failed.lock() {
                        f.push((p.name.clone(), code));
                    }
                }
            });
        }
    });
}

/// One `mavuno run` child; returns its exit code (-1 if it could not start or was killed).
pub(super) fn run_one(config: &Path, sets: &[String], dir: &Path, name: &str) -> i32 {
    use std::os::unix::process::CommandExt;
    let log = dir.join("logs").join(format!("{name}.log"));
    let Ok(out) = std::fs::File::create(&log) else {
        return -1;
    };
    let Ok(err) = out.try_clone() else { return -1 };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mavuno"));
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("run")
        .arg(config)
        .arg("--workdir")
        .arg(dir)
        .arg("--quiet");
    for s in sets {
        cmd.arg("--set").arg(s);
    }
    cmd.stdout(out).stderr(err);
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill this child
    // when the thread that spawned it (the sweep) exits.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    match cmd.status() {
        Ok(s) => s.code().unwrap_or(-1),
        Err(_) => -1,
    }
}

/// Copies the completion records (`.cache/<id>/`) of the shared stages and their
/// ancestors from the first point's run directory into another's. The records name their
/// outputs where the first point wrote them, and later stages read them from there; but a
/// stage option that names a file in the run directory (e.g. `tokenizer = "tokenizer.json"`)
/// resolves in each point's own directory, so every output under the first point's run
/// directory is also linked (or copied) to the same place under the other's.
fn copy_shared(src: &Path, dst: &Path, plan: &Plan, shared: &[String]) -> Result<()> {
    let ids = with_ancestors(plan, shared);
    for id in ids {
        let from = src.join(".cache").join(&id);
        let Ok(entries) = std::fs::read_dir(&from) else {
            continue;
        };
        let to = dst.join(".cache").join(&id);
        std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
        for e in entries.flatten() {
            let target = to.join(e.file_name());
            if !target.exists() {
                std::fs::copy(e.path(), &target).with_context(|| {
                    format!("copying {} to {}", e.path().display(), target.display())
                })?;
            }
            if e.file_name().to_string_lossy().ends_with(".done.json") {
                link_outputs(&e.path(), src, dst)?;
            }
        }
    }
    Ok(())
}

/// Links each output a completion record names under `src` to the same path under `dst`.
fn link_outputs(done: &Path, src: &Path, dst: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(done).with_context(|| format!("reading {}", done.display()))?;
    let rec: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", done.display()))?;
    // Records name outputs relative to the working directory or absolute: try both forms.
    let roots = [src.to_path_buf(), std::path::absolute(src)?];
    for out in rec["outputs"].as_array().into_iter().flatten() {
        let Some(path) = out["path"].as_str().map(Path::new) else {
            continue;
        };
        let Some(rel) = roots.iter().find_map(|r| path.strip_prefix(r).ok()) else {
            continue;
        };
        let target = dst.join(rel);
        if target.exists() || !path.is_file() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        if std::fs::hard_link(path, &target).is_err() {
            std::fs::copy(path, &target)
                .with_context(|| format!("copying {} to {}", path.display(), target.display()))?;
        }
    }
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    mavuno_pipeline::io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn command_line() -> String {
    let mut parts = vec!["mavuno".to_string()];
    for a in std::env::args().skip(1) {
        if a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
        {
            parts.push(a);
        } else {
            parts.push(format!("'{}'", a.replace('\'', "'\\''")));
        }
    }
    parts.join(" ")
}
