//! The run report: `report.html` in the run directory, rendered from what the run left
//! there: `manifest.json` (accounting, timings), `metrics/` (measures of `filter`,
//! `langid`, `dedup_near`), `dropped/` (dropped samples), `clusters/` (near-duplicate
//! examples), `stats/report.json` and training curves. The page itself is
//! `mavuno_stages::stats::render_run_report`; `mavuno report RUN_DIR` re-renders it. For
//! the directory of a sharded run (it holds `shard-i-of-n/`) the report merges the shards
//! ([`crate::report_shards`]).

use crate::report_shards::{merge_manifests, shard_dirs};
use mavuno_stages::stats::run_sections;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Dropped records shown per stage and reason.
const SAMPLES_SHOWN: usize = 8;

fn read_manifest(dir: &Path) -> anyhow::Result<Value> {
    let mpath = dir.join("manifest.json");
    serde_json::from_slice(
        &std::fs::read(&mpath)
            .map_err(|e| anyhow::anyhow!("{}: {e} (not a run directory?)", mpath.display()))?,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", mpath.display()))
}

/// Renders `report.html` from a run directory (or a sharded run's directory); the path
/// written.
pub fn render(run_dir: &Path) -> anyhow::Result<PathBuf> {
    let (manifest, dirs) = if run_dir.join("manifest.json").is_file() {
        (read_manifest(run_dir)?, vec![run_dir.to_path_buf()])
    } else if let Some(dirs) = shard_dirs(run_dir)? {
        let ms = dirs
            .iter()
            .map(|d| read_manifest(d))
            .collect::<anyhow::Result<Vec<_>>>()?;
        (merge_manifests(&ms), dirs)
    } else {
        anyhow::bail!(
            "{}: no manifest.json and no shard-i-of-n/ directories (not a run directory?)",
            run_dir.display()
        );
    };
    // Shards write one `stats/report.json` each; a merged one would need the records.
    let stats = std::fs::read(dirs[0].join("stats").join("report.json"))
        .ok()
        .filter(|_| dirs.len() == 1)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let seed_of = |stage: &str| {
        manifest["config"][stage]["seed"]
            .as_u64()
            .or(manifest["run"]["seed"].as_u64())
            .unwrap_or(0)
    };
    let drops = |stage: &str| {
        manifest["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["id"] == stage)
            .flat_map(|s| s["counts"]["dropped"].as_object().into_iter().flatten())
            .map(|(_, v)| v.as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let mut extra = run_sections::languages_section(&dirs);
    extra.push_str(&run_sections::metrics_section(&dirs));
    extra.push_str(&run_sections::dropped_section(
        &dirs,
        SAMPLES_SHOWN,
        &seed_of,
        &drops,
    ));
    extra.push_str(&run_sections::clusters_section(&dirs));
    if dirs.len() == 1 {
        extra.push_str(&crate::report_train::section(run_dir));
    }
    let html = mavuno_stages::stats::render_run_report(&manifest, stats.as_ref(), &extra);
    let out = run_dir.join("report.html");
    mavuno_pipeline::io::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// Writes `report.html` after a run; a failure is logged, never fatal (the run itself
/// succeeded and its outputs are committed). After the last shard of a sharded run, the
/// merged report goes to the run's directory above the shards as well.
pub fn write_run_report(run_dir: &Path) {
    if let Err(e) = render(run_dir) {
        tracing::warn!(error = %e, "Could not write report.html.");
    }
    let Some(base) = run_dir.parent().filter(|_| {
        run_dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("shard-"))
    }) else {
        return;
    };
    // Not every shard done yet is the usual case, not a problem.
    if let Ok(Some(_)) = shard_dirs(base) {
        if let Err(e) = render(base) {
            tracing::warn!(error = %e, "Could not write the sharded run's report.html.");
        }
    }
}

/// `mavuno report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// A run directory (it holds manifest.json), or a sharded run's (it holds
    /// shard-i-of-n/ directories: the report merges them).
    pub run_dir: PathBuf,
}

/// Re-renders a run's report; prints its path.
pub fn run(a: ReportArgs) -> anyhow::Result<i32> {
    let out = render(&a.run_dir)?;
    println!("{}", out.display());
    Ok(0)
}
