//! Self-contained HTML reports: the corpus statistics of a `stats` stage, and the run
//! report built from `manifest.json` (see `pipeline/src/run.rs`, `write_manifest`).
//! No scripts, no external files: one page with inline CSS and SVG.

use super::run_sections::{more, FUNNEL_ROWS, TABLE_ROWS};
use super::svg::{bar_chart, escape, fmt_num};
use serde_json::Value;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:72em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}\
th{background:#f0f0f0}td.n{text-align:right}h2{margin-top:1.5em}.err{color:#b00}\
.warn{color:#a60;font-weight:bold}tr.now{background:#fff3c4}td.text{max-width:50em;white-space:pre-wrap}\
div.metric{display:inline-block;vertical-align:top;margin:0 1em 1em 0}summary{cursor:pointer;margin:.5em 0}\
details details{margin-left:1.5em}p.more{color:#666;font-style:italic}table.cluster{width:100%}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head>\n<body><h1>{t}</h1>\n{body}</body></html>\n",
        t = escape(title)
    )
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Number(n) => format!(
            "<td class=\"n\">{}</td>",
            fmt_num(n.as_f64().unwrap_or(0.0))
        ),
        Value::String(s) => format!("<td>{}</td>", escape(s)),
        Value::Null => "<td></td>".into(),
        other => format!("<td>{}</td>", escape(&other.to_string())),
    }
}

fn table(head: &[&str], rows: &[Vec<Value>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        r.iter().for_each(|v| s.push_str(&cell(v)));
        s.push_str("</tr>");
    }
    s.push_str("</table>\n");
    s
}

/// Histogram bars with trailing empty buckets trimmed.
fn histogram(stats: &Value, counts: &Value) -> Vec<(String, f64)> {
    let labels = stats["length_buckets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let counts = counts.as_array().cloned().unwrap_or_default();
    let last = counts
        .iter()
        .rposition(|c| num(c) > 0.0)
        .map_or(0, |i| i + 1);
    labels
        .iter()
        .zip(&counts)
        .take(last)
        .map(|(l, c)| (l.as_str().unwrap_or("").to_string(), num(c)))
        .collect()
}

/// The sections of a corpus-statistics report (`report.json` of the `stats` stage).
pub fn stats_sections(stats: &Value) -> String {
    let mut s = format!(
        "<h2>Corpus</h2><p>{} records, {} characters, {} words; religious share {:.1}%.</p>\n",
        fmt_num(num(&stats["records"])),
        fmt_num(num(&stats["chars"])),
        fmt_num(num(&stats["words"])),
        100.0 * num(&stats["religious"]["share"])
    );
    let langs = stats["languages"].as_object().cloned().unwrap_or_default();
    let rows: Vec<Vec<Value>> = langs
        .iter()
        .map(|(k, l)| {
            vec![
                Value::String(k.clone()),
                l["records"].clone(),
                l["chars"].clone(),
                l["words"].clone(),
                l["mean_words"].clone(),
                l["religious_share"].clone(),
            ]
        })
        .collect();
    s.push_str("<h2>Languages</h2>\n");
    s.push_str(&table(
        &[
            "lang",
            "records",
            "chars",
            "words",
            "mean words",
            "religious share",
        ],
        &rows,
    ));
    let bars: Vec<(String, f64)> = langs
        .iter()
        .map(|(k, l)| (k.clone(), num(&l["records"])))
        .collect();
    s.push_str(&bar_chart("Records per language", &bars));
    s.push_str("<h2>Lengths</h2>\n");
    s.push_str(&bar_chart(
        "Characters per record (log2 buckets)",
        &histogram(stats, &stats["chars_histogram"]),
    ));
    s.push_str(&bar_chart(
        "Words per record (log2 buckets)",
        &histogram(stats, &stats["words_histogram"]),
    ));
    let d = &stats["dup_clusters"];
    if num(&d["clusters"]) > 0.0 {
        s.push_str(&format!(
            "<h2>Duplicate clusters</h2><p>{} clusters, {} with duplicates, largest {}.</p>\n",
            fmt_num(num(&d["clusters"])),
            fmt_num(num(&d["clusters_with_duplicates"])),
            fmt_num(num(&d["largest"]))
        ));
        s.push_str(&bar_chart(
            "Cluster size (log2 buckets)",
            &histogram(stats, &d["size_histogram"]),
        ));
    }
    if let Some(labels) = stats["labels"].as_object() {
        s.push_str("<h2>Labels</h2>\n");
        let bars: Vec<(String, f64)> = labels.iter().map(|(k, n)| (k.clone(), num(n))).collect();
        s.push_str(&bar_chart("Records per label", &bars));
    }
    s
}

/// The `stats` stage's `report.html`.
pub fn render_stats_report(stats: &Value) -> String {
    page("mavuno corpus statistics", &stats_sections(stats))
}

fn reasons(counts: &Value) -> String {
    counts["dropped"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}: {}", fmt_num(num(v))))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Rows `stage, lang, in, dropped, %` from the `lang_in_<lang>_total` and
/// `lang_dropped_<lang>_total` counters of the dedup stages.
fn removal_by_language(stages: &[Value]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for st in stages {
        let Some(counters) = st["counts"]["counters"].as_object() else {
            continue;
        };
        for (k, v) in counters {
            let Some(lang) = k
                .strip_prefix("lang_in_")
                .and_then(|r| r.strip_suffix("_total"))
            else {
                continue;
            };
            let seen = num(v);
            let dropped = counters
                .get(&format!("lang_dropped_{lang}_total"))
                .map_or(0.0, num);
            let pct = if seen > 0.0 {
                (1000.0 * dropped / seen).round() / 10.0
            } else {
                0.0
            };
            rows.push(vec![
                st["id"].clone(),
                Value::from(lang),
                Value::from(seen),
                Value::from(dropped),
                Value::from(pct),
            ]);
        }
    }
    rows
}

/// The run report: status, per-stage accounting (in, kept, dropped by reason, rejected,
/// out, counters, timings), outputs, and the corpus statistics when given. `manifest` is
/// the JSON that the engine writes to `manifest.json`; missing keys render as blanks.
/// `extra` is HTML placed after the accounting (the sections read from the run directory:
/// [`super::run_sections`], training curves).
pub fn render_run_report(manifest: &Value, stats: Option<&Value>, extra: &str) -> String {
    let name = manifest["run"]["name"].as_str().unwrap_or("run");
    let mut b = String::new();
    let status = manifest["status"].as_str().unwrap_or("unknown");
    b.push_str(&format!(
        "<p>Status: <b>{}</b> · config <code>{}</code> · mavuno {} · {} s wall · {} rejected</p>\n",
        escape(status),
        escape(manifest["config_file"].as_str().unwrap_or("")),
        escape(manifest["mavuno_version"].as_str().unwrap_or("")),
        fmt_num((num(&manifest["wall_seconds"]) * 100.0).round() / 100.0),
        fmt_num(num(&manifest["rejected_total"]))
    ));
    if let Some(e) = manifest["error"].as_str() {
        b.push_str(&format!("<p class=\"err\">Error: {}</p>\n", escape(e)));
    }
    if let Some(n) = manifest["shards"].as_u64() {
        b.push_str(&format!(
            "<p>Sharded run: {n} shards merged (counts, measures and dropped samples).</p>\n"
        ));
    }
    if let Some(sh) = manifest["shard"].as_object() {
        b.push_str(&format!(
            "<p>Shard {} of {}</p>\n",
            fmt_num(num(&sh["index"])),
            fmt_num(num(&sh["count"]))
        ));
    }
    let stages = manifest["stages"].as_array().cloned().unwrap_or_default();
    b.push_str("<h2>Funnel</h2>\n");
    b.push_str(&super::run_sections::funnel(&stages));
    let rows: Vec<Vec<Value>> = stages
        .iter()
        .map(|st| {
            let c = &st["counts"];
            let counters = c["counters"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", fmt_num(num(v))))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            vec![
                st["id"].clone(),
                st["type"].clone(),
                st["status"].clone(),
                c["records_in"].clone(),
                c["kept"].clone(),
                Value::String(reasons(c)),
                c["rejected"].clone(),
                c["records_out"].clone(),
                Value::String(counters),
                Value::from((num(&st["busy_seconds"]) * 1000.0).round() / 1000.0),
                Value::from((num(&st["blocked_seconds"]) * 1000.0).round() / 1000.0),
            ]
        })
        .collect();
    b.push_str("<h2>Stages</h2>\n");
    let stage_table = table(
        &[
            "stage",
            "type",
            "status",
            "in",
            "kept",
            "dropped",
            "rejected",
            "out",
            "counters",
            "busy s",
            "blocked s",
        ],
        &rows,
    );
    // Every stage's accounting stays on the page; a long table folds.
    if rows.len() > TABLE_ROWS {
        b.push_str(&format!(
            "<details><summary>All {} stages (busy: seconds of work, blocked: waiting on a full output)</summary>{stage_table}</details>\n",
            rows.len()
        ));
    } else {
        b.push_str(&stage_table);
    }
    if stages.len() <= FUNNEL_ROWS {
        let out_bars: Vec<(String, f64)> = stages
            .iter()
            .map(|st| {
                (
                    st["id"].as_str().unwrap_or("").to_string(),
                    num(&st["counts"]["records_out"]),
                )
            })
            .collect();
        b.push_str(&bar_chart("Records out per stage", &out_bars));
    }
    let mut drop_bars: Vec<(String, f64)> = stages
        .iter()
        .flat_map(|st| {
            let id = st["id"].as_str().unwrap_or("").to_string();
            st["counts"]["dropped"]
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |(k, v)| (format!("{id}/{k}"), num(&v)))
        })
        .collect();
    if !drop_bars.is_empty() {
        let n = drop_bars.len();
        let title = if n > FUNNEL_ROWS {
            // The largest, in stage order.
            let mut by: Vec<usize> = (0..n).collect();
            by.sort_by(|&a, &b| drop_bars[b].1.total_cmp(&drop_bars[a].1).then(a.cmp(&b)));
            let mut keep: Vec<usize> = by.into_iter().take(FUNNEL_ROWS).collect();
            keep.sort_unstable();
            drop_bars = keep.into_iter().map(|i| drop_bars[i].clone()).collect();
            format!("Dropped records by stage and reason (the {FUNNEL_ROWS} largest of {n})")
        } else {
            "Dropped records by stage and reason".to_string()
        };
        b.push_str(&bar_chart(&title, &drop_bars));
    }
    let mut by_lang = removal_by_language(&stages);
    if !by_lang.is_empty() {
        let n = by_lang.len();
        by_lang.truncate(TABLE_ROWS);
        b.push_str("<h2>Removal by language</h2>\n");
        b.push_str(&table(
            &["stage", "lang", "in", "dropped", "dropped %"],
            &by_lang,
        ));
        b.push_str(&more(n.saturating_sub(TABLE_ROWS), "rows"));
    }
    b.push_str(extra);
    let outputs: Vec<Vec<Value>> = stages
        .iter()
        .flat_map(|st| {
            st["outputs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |o| vec![st["id"].clone(), o["path"].clone(), o["bytes"].clone()])
        })
        .collect();
    if !outputs.is_empty() {
        b.push_str("<h2>Outputs</h2>\n");
        let n = outputs.len();
        b.push_str(&table(
            &["stage", "path", "bytes"],
            &outputs[..n.min(TABLE_ROWS)],
        ));
        b.push_str(&more(n.saturating_sub(TABLE_ROWS), "outputs"));
    }
    if let Some(s) = stats {
        b.push_str(&stats_sections(s));
    }
    page(&format!("mavuno run report: {name}"), &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::corpus::CorpusStats;
    use serde_json::json;

    #[test]
    fn run_report_shows_accounting_and_escapes() {
        let m = json!({
            "mavuno_version": "0.1.0", "config_file": "configs/yor.toml", "run": {"name": "yor<clean>"},
            "status": "succeeded", "error": null, "wall_seconds": 1.5, "rejected_total": 1, "shard": null,
            "stages": [
                {"id": "raw", "type": "text_reader", "key": "k", "status": "ran", "busy_seconds": 0.1, "blocked_seconds": 0.0,
                 "counts": {"records_in": 10, "kept": 9, "dropped": {}, "rejected": 1, "records_out": 9, "counters": {}},
                 "outputs": []},
                {"id": "near", "type": "dedup_near", "key": "k2", "status": "ran", "busy_seconds": 0.2, "blocked_seconds": 0.0,
                 "counts": {"records_in": 9, "kept": 7, "dropped": {"near_duplicate": 2}, "rejected": 0, "records_out": 7,
                            "counters": {"near_dup_pairs_total": 2, "lang_in_yor_total": 9, "lang_dropped_yor_total": 2}},
                 "outputs": [{"path": "dedup_near_clusters.jsonl", "bytes": 120, "xxh3": "x"}]}
            ]
        });
        let html = render_run_report(&m, Some(&CorpusStats::default().to_json()), "");
        for needle in [
            "yor&lt;clean&gt;",
            "near_duplicate: 2",
            "near_dup_pairs_total=2",
            "near/near_duplicate",
            "dedup_near_clusters.jsonl",
            "<td class=\"n\">22.20</td>",
            "0 records",
        ] {
            assert!(html.contains(needle), "{needle}");
        }
    }

    #[test]
    fn reports_survive_empty_input() {
        assert!(render_run_report(&json!({}), None, "").contains("no data"));
        assert!(render_stats_report(&CorpusStats::default().to_json()).contains("0 records"));
    }
}
