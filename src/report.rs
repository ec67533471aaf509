//! The run report: `report.html` in the run directory, rendered from what the run left
//! there: `manifest.json` (accounting, timings), `metrics/` (filter measures),
//! `dropped/` (dropped samples), `stats/report.json` and training curves. The page itself
//! is `mavuno_stages::stats::render_run_report`; `mavuno report RUN_DIR` re-renders it.

use mavuno_stages::stats::run_sections;
use std::path::{Path, PathBuf};

/// Dropped records shown per stage and reason.
const SAMPLES_SHOWN: usize = 8;

/// Renders `report.html` from a run directory; the path written.
pub fn render(run_dir: &Path) -> anyhow::Result<PathBuf> {
    let mpath = run_dir.join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&mpath)
            .map_err(|e| anyhow::anyhow!("{}: {e} (not a run directory?)", mpath.display()))?,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", mpath.display()))?;
    let stats = std::fs::read(run_dir.join("stats").join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let mut extra = run_sections::languages_section(run_dir);
    extra.push_str(&run_sections::metrics_section(run_dir));
    extra.push_str(&run_sections::dropped_section(run_dir, SAMPLES_SHOWN));
    extra.push_str(&crate::report_train::section(run_dir));
    let html = mavuno_stages::stats::render_run_report(&manifest, stats.as_ref(), &extra);
    let out = run_dir.join("report.html");
    mavuno_pipeline::io::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// Writes `report.html` after a run; a failure is logged, never fatal (the run itself
/// succeeded and its outputs are committed).
pub fn write_run_report(run_dir: &Path) {
    if let Err(e) = render(run_dir) {
        tracing::warn!(error = %e, "Could not write report.html.");
    }
}

/// `mavuno report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// A run directory (it holds manifest.json).
    pub run_dir: PathBuf,
}

/// Re-renders a run's report; prints its path.
pub fn run(a: ReportArgs) -> anyhow::Result<i32> {
    let out = render(&a.run_dir)?;
    println!("{}", out.display());
    Ok(0)
}
