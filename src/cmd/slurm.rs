//! `mavuno slurm`: runs a config as Slurm jobs, with no scheduler of our own.
//!
//! For a config with global stages g1 … gm (dedup, curriculum order) and N shards it writes m + 1 array
//! jobs of N tasks (`mavuno run --shard $SLURM_ARRAY_TASK_ID/N`) and m reduce jobs
//! (`mavuno reduce --stage gk`), chained with `--dependency=afterok`: shards run to g1's
//! map, the reduce of g1 decides, shards continue to g2's map, … and the last array runs
//! every shard to the end. With `--band-ranges K` each reduce is an array job of K
//! band-range tasks, and a stage whose reduce clusters (dedup_near) gets a cluster job
//! after it (afterok on the whole array). A global `order_curriculum` has a one-task
//! reduce whatever K, and a merge job (`mavuno reduce --stage ID --merge`) after the last
//! array, which writes the shards' outputs in the global order. A failed task is resubmitted alone (`sbatch --array=i
//! SCRIPT`) and resumes: stages it completed are cached.

use crate::cmd::chain::sh_quote;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `mavuno slurm`.
#[derive(Args, Debug)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub cfg: crate::cmd::run::ConfigArgs,
    /// Number of shards (array tasks per phase).
    #[arg(long)]
    pub shards: u64,
    /// Slurm partition (`--partition`); the cluster's default when absent.
    #[arg(long)]
    pub partition: Option<String>,
    /// CPUs per task (`--cpus-per-task`; also `run.threads` of each task).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Memory per task (`--mem`, e.g. 4G); the cluster's default when absent.
    #[arg(long)]
    pub mem: Option<String>,
    /// Split each reduce in K band-range tasks (an array job of K tasks,
    /// `mavuno reduce --band-range $SLURM_ARRAY_TASK_ID/K`), followed for dedup_near by
    /// its cluster job (`mavuno reduce --cluster`). Default 1: one reduce task, the least
    /// CPU (every range reads every map file). Take the smallest K whose task fits
    /// `--mem`: a dedup_near range holds 16 × bands / K bytes per document (256 / K at
    /// 16 bands) plus 16 per candidate pair; docs/SCALING.md, "Choosing K".
    #[arg(long, default_value_t = 1)]
    pub band_ranges: u64,
    /// Print the scripts and the sbatch commands instead of submitting.
    #[arg(long)]
    pub dry_run: bool,
}

/// One job of the chain.
struct Job {
    name: String,
    script: String,
}

fn abs(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// Writes the scripts, then submits them (or prints them with `--dry-run`).
pub fn run(args: SlurmArgs) -> Result<i32> {
    crate::cmd::chain::check_counts(args.shards, args.band_ranges)?;
    let plan = match crate::cmd::run::load(&args.cfg) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let config = abs(&args.cfg.config)?
        .canonicalize()
        .with_context(|| format!("config {}", args.cfg.config.display()))?;
    let workdir = abs(&args
        .cfg
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&plan.run.workdir)))?;
    let base = crate::cmd::chain::run_base(&plan, &workdir);
    let exe = std::env::current_exe().context("locating the mavuno binary")?;
    let cwd = std::env::current_dir()?;
    let slurm_dir = base.join("slurm");
    let logs = slurm_dir.join("logs");
    let n = args.shards;
    let common =
        crate::cmd::chain::common_args(&config, &workdir, args.cpus_per_task, &args.cfg.set);
    // `array`: the task count of an array job.
    let header = |name: &str, array: Option<u64>| {
        let mut h = String::from("#!/bin/bash\n");
        h.push_str(&format!(
            "#SBATCH --job-name=mavuno-{}-{name}\n",
            plan.run.name
        ));
        if let Some(tasks) = array {
            h.push_str(&format!("#SBATCH --array=0-{}\n", tasks - 1));
            h.push_str(&format!("#SBATCH --output={}/%x-%a.out\n", logs.display()));
        } else {
            h.push_str(&format!("#SBATCH --output={}/%x.out\n", logs.display()));
        }
        h.push_str("#SBATCH --ntasks=1\n");
        h.push_str(&format!("#SBATCH --cpus-per-task={}\n", args.cpus_per_task));
        if let Some(p) = &args.partition {
            h.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        if let Some(m) = &args.mem {
            h.push_str(&format!("#SBATCH --mem={m}\n"));
        }
        h.push_str("set -euo pipefail\n");
        h.push_str(&format!("cd {}\n", sh_quote(&cwd.display().to_string())));
        h
    };
    let exe = exe.display().to_string();
    let jobs: Vec<Job> = crate::cmd::chain::steps(&plan, n, args.band_ranges, &common)
        .into_iter()
        .map(|step| Job {
            script: format!(
                "{}{}\n",
                header(&step.name, step.tasks),
                step.command(&exe, "SLURM_ARRAY_TASK_ID")
            ),
            name: step.name,
        })
        .collect();
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut paths = Vec::new();
    for (k, j) in jobs.iter().enumerate() {
        let p = slurm_dir.join(format!("{k:02}-{}.sbatch", j.name));
        std::fs::write(&p, &j.script).with_context(|| format!("writing {}", p.display()))?;
        paths.push(p);
    }
    if args.dry_run {
        for (j, p) in jobs.iter().zip(&paths) {
            println!("# {}\n{}", p.display(), j.script);
        }
        println!("# submitted in this order, each with --dependency=afterok:<previous job id>:");
        for p in &paths {
            println!(
                "sbatch --parsable [--dependency=afterok:<id>] {}",
                p.display()
            );
        }
        return Ok(0);
    }
    let mut prev: Option<String> = None;
    let mut ids = Vec::new();
    for (j, p) in jobs.iter().zip(&paths) {
        let mut c = Command::new("sbatch");
        c.arg("--parsable");
        if let Some(id) = &prev {
            c.arg(format!("--dependency=afterok:{id}"));
        }
        c.arg(p);
        let o = c
            .output()
            .context("running sbatch (is Slurm installed and on PATH?)")?;
        if !o.status.success() {
            bail!(
                "sbatch {} failed: {}",
                p.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        let out = String::from_utf8_lossy(&o.stdout);
        let id = out.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() {
            bail!("sbatch {} printed no job id", p.display());
        }
        println!("{id}\t{}\t{}", j.name, p.display());
        prev = Some(id.clone());
        ids.push(id);
    }
    eprintln!(
        "Submitted {} jobs ({} shards). Follow them with `squeue -j {}` or `sacct -j {}`; logs in {}.",
        ids.len(),
        n,
        ids.join(","),
        ids.join(","),
        logs.display()
    );
    eprintln!(
        "A failed array task resumes when resubmitted alone: `sbatch --array=I SCRIPT`, then point the next job at it: `scontrol update JobId=NEXT Dependency=afterok:NEWID`."
    );
    Ok(0)
}
