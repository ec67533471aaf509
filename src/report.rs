//! The run report: `report.html` in the run directory, rendered from `manifest.json`.

use std::path::Path;

/// Writes `report.html` next to the manifest; a failure is logged, never fatal (the run
/// itself succeeded and its outputs are committed).
pub fn write_run_report(run_dir: &Path) {
    let manifest = match std::fs::read(run_dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    {
        Some(m) => m,
        None => return,
    };
    let stats = std::fs::read(run_dir.join("stats").join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let mut html = render(&manifest, stats.as_ref());
    html.push_str(&crate::report_train::section(run_dir));
    if let Err(e) = mavuno_pipeline::io::write_atomic(&run_dir.join("report.html"), html.as_bytes())
    {
        tracing::warn!(error = %e, "Could not write report.html.");
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn render(m: &serde_json::Value, _stats: Option<&serde_json::Value>) -> String {
    let mut rows = String::new();
    for s in m["stages"].as_array().into_iter().flatten() {
        let c = &s["counts"];
        let dropped: Vec<String> = c["dropped"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}={}", esc(k), v))
            .collect();
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>\n",
            esc(s["id"].as_str().unwrap_or("")),
            esc(s["type"].as_str().unwrap_or("")),
            esc(s["status"].as_str().unwrap_or("")),
            c["records_in"],
            c["kept"],
            dropped.join(", "),
            c["rejected"],
            c["records_out"],
            s["busy_seconds"].as_f64().unwrap_or(0.0)
        ));
    }
    format!(
        "<!doctype html><meta charset=utf-8><title>mavuno run {name}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,td:nth-child(2),td:nth-child(3){{text-align:left}}</style>\
<h1>Run {name}</h1><p>status: {status}; wall time {wall:.1} s; rejected {rej}</p>\
<table><tr><th>stage</th><th>type</th><th>status</th><th>in</th><th>kept</th><th>dropped (by reason)</th><th>rejected</th><th>out</th><th>busy s</th></tr>\n{rows}</table>",
        name = esc(m["run"]["name"].as_str().unwrap_or("")),
        status = esc(m["status"].as_str().unwrap_or("")),
        wall = m["wall_seconds"].as_f64().unwrap_or(0.0),
        rej = m["rejected_total"],
    )
}
