//! `mavuno k8s`: a sharded run as Kubernetes Indexed Jobs, one manifest per step of
//! [`crate::cmd::chain`]. Kubernetes has no job dependencies, so the manifests are
//! numbered and printed with the order to apply them: `kubectl apply -f` one, then
//! `kubectl wait --for=condition=complete` before the next. Each task reads its index
//! from `JOB_COMPLETION_INDEX` (set by Kubernetes in Indexed Jobs). The config and the
//! workdir must be on the volume `--pvc` mounts at `--mount` (or in the image). A failed
//! index is retried alone (`backoffLimitPerIndex`); a Job that still fails is deleted
//! and applied again, and its tasks resume from their completed stages.
//!
//! Manifests are JSON (which `kubectl` reads like YAML), written under
//! `<workdir>/<name>/k8s/`.

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;

/// `mavuno k8s`.
#[derive(Args, Debug)]
pub struct K8sArgs {
    #[command(flatten)]
    pub cfg: crate::cmd::run::ConfigArgs,
    /// Number of shards (completions of each shard Job).
    #[arg(long)]
    pub shards: u64,
    /// Split each reduce in K band-range tasks (see `mavuno slurm --band-ranges`).
    #[arg(long, default_value_t = 1)]
    pub band_ranges: u64,
    /// Container image holding the `mavuno` binary.
    #[arg(long)]
    pub image: String,
    /// Path of the binary in the image.
    #[arg(long, default_value = "mavuno")]
    pub binary: String,
    /// PersistentVolumeClaim holding the config, inputs and workdir, shared by every task.
    #[arg(long)]
    pub pvc: Option<String>,
    /// Where the claim is mounted in each container.
    #[arg(long, default_value = "/data")]
    pub mount: String,
    /// CPU request per task (also `run.threads`).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Memory request per task (e.g. 4Gi).
    #[arg(long)]
    pub mem: Option<String>,
    /// Retries of one failed index before its Job fails.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
}

/// A DNS-1123 label: lowercase letters, digits and '-', at most 63 characters.
fn dns_label(s: &str) -> String {
    let mut l: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    l.truncate(63);
    l.trim_matches('-').to_string()
}

/// The Job manifest of one step.
fn job(args: &K8sArgs, name: &str, tasks: u64, command: String) -> Value {
    let mut requests = json!({ "cpu": args.cpus_per_task.to_string() });
    if let Some(m) = &args.mem {
        requests["memory"] = json!(m);
    }
    let mut container = json!({
        "name": "mavuno",
        "image": args.image,
        "command": ["sh", "-c", command],
        "resources": { "requests": requests },
    });
    let mut pod = json!({ "restartPolicy": "Never", "containers": [] });
    if let Some(claim) = &args.pvc {
        container["volumeMounts"] = json!([{ "name": "work", "mountPath": args.mount }]);
        pod["volumes"] =
            json!([{ "name": "work", "persistentVolumeClaim": { "claimName": claim } }]);
    }
    pod["containers"] = json!([container]);
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/name": "mavuno" } },
        "spec": {
            "completionMode": "Indexed",
            "completions": tasks,
            "parallelism": tasks,
            "backoffLimitPerIndex": args.retries,
            "template": { "spec": pod },
        },
    })
}

/// Writes the manifests and prints the order to apply them.
pub fn run(args: K8sArgs) -> Result<i32> {
    crate::cmd::chain::check_counts(args.shards, args.band_ranges)?;
    let plan = match crate::cmd::run::load(&args.cfg) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let workdir = args
        .cfg
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&plan.run.workdir));
    let base = crate::cmd::chain::run_base(&plan, &workdir);
    // Paths as given: they name the same files inside the containers (on the volume).
    let common = crate::cmd::chain::common_args(
        &args.cfg.config,
        &workdir,
        args.cpus_per_task,
        &args.cfg.set,
    );
    let dir = base.join("k8s");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let steps = crate::cmd::chain::steps(&plan, args.shards, args.band_ranges, &common);
    for (k, step) in steps.iter().enumerate() {
        let name = dns_label(&format!("mavuno-{}-{}", plan.run.name, step.name));
        let m = job(
            &args,
            &name,
            step.tasks.unwrap_or(1),
            step.command(&args.binary, "JOB_COMPLETION_INDEX"),
        );
        let p = dir.join(format!("{k:02}-{}.json", step.name));
        std::fs::write(&p, serde_json::to_string_pretty(&m)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
        println!("kubectl apply -f {}", p.display());
        println!("kubectl wait --for=condition=complete --timeout=-1s job/{name}");
    }
    eprintln!(
        "Wrote {} Job manifests to {}; apply them in the order printed.",
        steps.len(),
        dir.display()
    );
    Ok(0)
}
