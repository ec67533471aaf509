//! `mavuno run` and `mavuno plan`: load a config, validate it, run or describe it.

use anyhow::{Context, Result};
use clap::Args;
use mavuno_pipeline::config::{self, ConfigError, Plan};
use mavuno_pipeline::run::{self, RunOptions};
use std::path::{Path, PathBuf};

/// Options shared by `run` and `plan`.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The pipeline config (TOML).
    pub config: PathBuf,
    /// Directory that holds run directories (overrides `run.workdir`).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Override any config key, e.g. `--set run.batch_size=1` or `--set stages.lid.min_confidence=0.7`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Process shard i of n (0-based), e.g. `--shard 3/16` for a Slurm array task.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
}

/// `mavuno run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub cfg: ConfigArgs,
}

/// Parses `I/N` (shards, band ranges).
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|_| format!("bad shard index \"{i}\""))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("bad shard count \"{n}\""))?;
    if n == 0 || i >= n {
        return Err(format!(
            "shard index must be in [0, {n}) and the count at least 1"
        ));
    }
    Ok((i, n))
}

/// Loads and validates; prints every config error and warning. `Err(code)` = exit code.
pub fn load(args: &ConfigArgs) -> std::result::Result<Plan, i32> {
    let registry = crate::registry::registry();
    // `mavuno` hands configs with libtorch stage types to `mavuno-torch` (no-op there).
    crate::delegate::for_config(&args.config, &args.set, &registry);
    checked(config::load(&args.config, &args.set, &registry))
}

/// Validates a config a command generated (`clean`, the plan verbs), as [`load`] does.
pub fn parse(text: &str, name: &Path, sets: &[String]) -> std::result::Result<Plan, i32> {
    checked(config::parse(
        text,
        name,
        sets,
        &crate::registry::registry(),
    ))
}

/// Prints the warnings of a plan, or every error and exit code 2.
fn checked(r: std::result::Result<Plan, Vec<ConfigError>>) -> std::result::Result<Plan, i32> {
    match r {
        Ok(plan) => {
            for w in &plan.warnings {
                eprintln!("warning: {w}");
            }
            Ok(plan)
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{} error{} in the config; nothing was run.",
                errs.len(),
                if errs.len() == 1 { "" } else { "s" }
            );
            Err(2)
        }
    }
}

fn options(args: &ConfigArgs, progress: bool) -> RunOptions {
    RunOptions {
        workdir: args.workdir.clone(),
        shard: args.shard,
        progress,
    }
}

/// Runs a validated plan with the ordinary engine and writes its report.html. When the
/// `output` the user asked for is missing, a finished run of the same job is cleared
/// first (a completed writer would otherwise be skipped). `Err(code)`: the run failed,
/// already reported.
pub fn execute(
    plan: &Plan,
    opts: &RunOptions,
    output: Option<&Path>,
) -> Result<std::result::Result<run::RunSummary, i32>> {
    let dir = run::run_dir(plan, opts);
    if output.is_some_and(|o| !o.exists()) && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    // Info lines (stage finished, cached stages) go to the run's log, not the terminal.
    crate::process::log_to(&dir.join("run.log"));
    match run::execute(plan, opts) {
        Ok(summary) => {
            crate::report::write_run_report(&summary.run_dir);
            Ok(Ok(summary))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(Err(e.exit_code()))
        }
    }
}

/// Runs a config. Returns the process exit code.
pub fn run(args: RunArgs) -> Result<i32> {
    let plan = match load(&args.cfg) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let progress = crate::process::progress();
    Ok(match execute(&plan, &options(&args.cfg, progress), None)? {
        Ok(summary) => {
            if !crate::process::quiet() {
                print_summary(&summary);
            }
            0
        }
        Err(code) => code,
    })
}

/// The per-stage table of a finished run.
pub fn print_summary(s: &run::RunSummary) {
    eprintln!(
        "{:<20} {:<10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>8}",
        "stage", "status", "in", "kept", "dropped", "rejected", "out", "busy s"
    );
    for r in &s.stages {
        let c = &r.counts;
        eprintln!(
            "{:<20} {:<10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>8.2}",
            r.id,
            r.status,
            c.records_in,
            c.kept,
            c.dropped_total(),
            c.rejected,
            c.records_out,
            r.busy_seconds
        );
    }
    eprintln!(
        "Run directory: {} (report.html, manifest.json, rejects.jsonl, dropped/, run.log)",
        s.run_dir.display()
    );
    if s.rejected_total > 0 {
        eprintln!(
            "{} record(s) rejected: see {}",
            s.rejected_total,
            s.run_dir.join("rejects.jsonl").display()
        );
    }
    if let Some(g) = &s.pending_reduce {
        eprintln!(
            "Map phase of global stage \"{g}\" written. When every shard got here, run `mavuno reduce CONFIG --stage {g}`, then rerun this shard to continue."
        );
    }
}

/// `mavuno plan`: the validated DAG and which stages are complete.
pub fn plan(args: ConfigArgs) -> Result<i32> {
    let plan = match load(&args) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let opts = options(&args, false);
    println!(
        "run {} (seed {}) in {}",
        plan.run.name,
        plan.run.seed,
        run::run_dir(&plan, &opts).display()
    );
    for s in run::describe(&plan, &opts) {
        let inputs = if s.inputs.is_empty() {
            String::new()
        } else {
            format!(" <- {}", s.inputs.join(", "))
        };
        let status = if s.cached { "cached" } else { "to run" };
        let ck = if s.checkpoint { ", checkpointed" } else { "" };
        println!(
            "  {:<20} {:<18} [{status}{ck}] key {}{inputs}",
            s.id,
            s.type_name,
            &s.key[..12]
        );
    }
    Ok(0)
}
