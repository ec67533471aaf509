//! The steps of a sharded run with global stages, in the order they must run; shared by
//! `mavuno slurm` (sbatch scripts chained with afterok) and `mavuno k8s` (Indexed Jobs
//! applied in order). For global stages g1 … gm and N shards: a shard step of N tasks
//! (`run --shard i/N`), then per global stage its reduce (one task, or K band-range
//! tasks), its cluster step when the reduce has one and K > 1, and the next shard step;
//! a stage that orders the corpus (`order_curriculum`) has a one-task reduce whatever K,
//! and a merge step (`reduce --merge`) after the last shard step.

use mavuno_pipeline::config::Plan;
use std::path::Path;

/// Where a step's argument takes the task index (the scheduler's variable).
const TASK: &str = "{task}";

/// One step: `tasks` parallel tasks (an array / Indexed Job), or one task.
pub struct Step {
    /// Short name (`shards-0`, `reduce-near`, `cluster-near`, …).
    pub name: String,
    /// Task count when the step is an array.
    pub tasks: Option<u64>,
    /// Arguments after the binary; [`TASK`] marks the task index.
    args: Vec<String>,
}

/// `s` as one shell word.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl Step {
    /// The shell command line of the step: `exe args…`, the task index read from the
    /// environment variable `task_var` (e.g. `SLURM_ARRAY_TASK_ID`).
    pub fn command(&self, exe: &str, task_var: &str) -> String {
        let mut c = format!("exec {}", sh_quote(exe));
        for a in &self.args {
            c.push(' ');
            if a.contains(TASK) {
                c.push_str(&format!("\"{}\"", a.replace(TASK, &format!("${task_var}"))));
            } else {
                c.push_str(&sh_quote(a));
            }
        }
        c
    }
}

/// The run's unsharded directory (`<workdir>/<name>`), where the drivers write.
pub fn run_base(plan: &Plan, workdir: &Path) -> std::path::PathBuf {
    mavuno_pipeline::run::run_dir(
        plan,
        &mavuno_pipeline::run::RunOptions {
            workdir: Some(workdir.to_path_buf()),
            shard: None,
            progress: false,
        },
    )
}

/// Both drivers need at least one shard and one band range.
pub fn check_counts(shards: u64, ranges: u64) -> anyhow::Result<()> {
    if shards == 0 || ranges == 0 {
        anyhow::bail!("--shards and --band-ranges must be at least 1");
    }
    Ok(())
}

/// The arguments every step takes: the config, the workdir, the task's thread count and
/// the user's `--set` overrides.
pub fn common_args(config: &Path, workdir: &Path, threads: u32, sets: &[String]) -> Vec<String> {
    let mut common = vec![
        config.display().to_string(),
        "--workdir".to_string(),
        workdir.display().to_string(),
        "--set".to_string(),
        format!("run.threads={threads}"),
    ];
    for s in sets {
        common.extend(["--set".to_string(), s.clone()]);
    }
    common
}

/// The steps of `plan` over `shards` shards with reduces split in `ranges` band ranges;
/// `common` holds the arguments every command takes (config, --workdir, --set …).
pub fn steps(plan: &Plan, shards: u64, ranges: u64, common: &[String]) -> Vec<Step> {
    let with = |verb: &str, extra: &[String]| -> Vec<String> {
        let mut a = vec![verb.to_string()];
        a.extend_from_slice(common);
        a.extend_from_slice(extra);
        a
    };
    let shard_step = |k: usize| Step {
        name: format!("shards-{k}"),
        tasks: Some(shards),
        args: with(
            "run",
            &[
                "--quiet".into(),
                "--shard".into(),
                format!("{TASK}/{shards}"),
            ],
        ),
    };
    let mut out = vec![shard_step(0)];
    let globals = plan.stages.iter().filter(|s| s.config.global());
    for (k, g) in globals.enumerate() {
        let stage = ["--stage".to_string(), g.id.clone()];
        // A global order is decided by one task whatever K is.
        let ranges = if g.config.rank_field().is_some() {
            1
        } else {
            ranges
        };
        out.push(if ranges == 1 {
            Step {
                name: format!("reduce-{}", g.id),
                tasks: None,
                args: with("reduce", &stage),
            }
        } else {
            let mut extra = stage.to_vec();
            extra.extend(["--band-range".into(), format!("{TASK}/{ranges}")]);
            Step {
                name: format!("reduce-{}", g.id),
                tasks: Some(ranges),
                args: with("reduce", &extra),
            }
        });
        if ranges > 1 && g.config.reduce_clusters() {
            let mut extra = stage.to_vec();
            extra.push("--cluster".into());
            out.push(Step {
                name: format!("cluster-{}", g.id),
                tasks: None,
                args: with("reduce", &extra),
            });
        }
        out.push(shard_step(k + 1));
    }
    // Stages that order the corpus: the shards' outputs merged by rank, after the last
    // shard step.
    for g in plan
        .stages
        .iter()
        .filter(|s| s.config.global() && s.config.rank_field().is_some())
    {
        out.push(Step {
            name: format!("merge-{}", g.id),
            tasks: None,
            args: with(
                "reduce",
                &["--stage".into(), g.id.clone(), "--merge".into()],
            ),
        });
    }
    out
}
