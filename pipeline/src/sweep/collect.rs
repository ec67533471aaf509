//! Metrics of one finished run, read from its run directory.
//!
//! Two sources, both written by every run:
//! - `manifest.json`: per stage, `<stage>.kept`, `<stage>.dropped`, `<stage>.out` and each
//!   drop reason as `<stage>.dropped.<reason>` (what a curation sweep compares);
//! - the JSON files stages list as outputs (`eval`'s metrics, `train_mlm`'s summary, the
//!   attack summaries, `stats`), except model-directory files (`config.json`,
//!   `tokenizer.json`, …): every numeric leaf becomes `<stage>.<path.to.leaf>`. Arrays are not metrics, except under an `items` object:
//!   `{"items": {"pll": [..]}}` next to `"pll": 3.2` gives the per-item values of that
//!   metric (a dotted name reaches into objects: `"p_at_1.src2tgt"`), used for the
//!   item-level bootstrap when their mean equals the metric (to 1e-4: reports round).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run directory holds for a sweep.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    /// `succeeded` or `failed` (from the manifest), or `missing` when there is none.
    pub status: String,
    /// Scalar metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// Per-item values by metric name (only where they average to the metric).
    pub items: BTreeMap<String, Vec<f64>>,
}

/// Reads a run directory. A missing manifest gives status `missing` and no metrics.
pub fn read_run(run_dir: &Path) -> RunMetrics {
    let Some(manifest) = read_json(&run_dir.join("manifest.json")) else {
        return RunMetrics {
            status: "missing".into(),
            ..RunMetrics::default()
        };
    };
    let mut out = RunMetrics {
        status: manifest["status"].as_str().unwrap_or("missing").to_string(),
        ..RunMetrics::default()
    };
    for stage in manifest["stages"].as_array().into_iter().flatten() {
        let id = stage["id"].as_str().unwrap_or("?");
        let c = &stage["counts"];
        for (name, key) in [
            ("kept", "kept"),
            ("out", "records_out"),
            ("in", "records_in"),
        ] {
            if let Some(v) = c[key].as_f64() {
                out.metrics.insert(format!("{id}.{name}"), v);
            }
        }
        if let Some(d) = c["dropped"].as_object() {
            let total = d.values().filter_map(Value::as_f64).fold(0.0, |a, b| a + b);
            out.metrics.insert(format!("{id}.dropped"), total);
            for (reason, v) in d {
                if let Some(v) = v.as_f64() {
                    out.metrics.insert(format!("{id}.dropped.{reason}"), v);
                }
            }
        }
        for o in stage["outputs"].as_array().into_iter().flatten() {
            let Some(p) = o["path"].as_str() else {
                continue;
            };
            if !is_metrics_file(p) {
                continue;
            }
            if let Some(v) = read_json(&resolve(run_dir, p)) {
                flatten(id, &v, &mut out);
            }
        }
    }
    out
}

/// HF model-directory files: JSON, but settings, not results.
const MODEL_FILES: &[&str] = &[
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "trainer_state.json",
    "vocab.json",
];

/// A `.json` output that is not a model-directory file.
fn is_metrics_file(p: &str) -> bool {
    let name = Path::new(p)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    name.ends_with(".json") && !MODEL_FILES.contains(&name)
}

fn resolve(run_dir: &Path, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() || path.exists() {
        path
    } else {
        run_dir.join(path)
    }
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

/// Numeric leaves under `prefix`; `items` objects give per-item arrays.
fn flatten(prefix: &str, v: &Value, out: &mut RunMetrics) {
    let Value::Object(m) = v else {
        if let Some(x) = v.as_f64() {
            out.metrics.insert(prefix.to_string(), x);
        }
        return;
    };
    for (k, child) in m {
        if k == "items" {
            continue;
        }
        flatten(&format!("{prefix}.{k}"), child, out);
    }
    if let Some(Value::Object(items)) = m.get("items") {
        for (k, arr) in items {
            let Some(vals) = arr
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
            else {
                continue;
            };
            let name = format!("{prefix}.{k}");
            // Items count only when they decompose the metric: their mean is the metric.
            let agrees = out.metrics.get(&name).is_some_and(|&m| {
                !vals.is_empty()
                    && vals.len() == arr.as_array().map_or(0, Vec::len)
                    // Reports round metrics to 4 decimals; items are exact.
                    && (vals.iter().sum::<f64>() / vals.len() as f64 - m).abs()
                        <= 1e-4 * m.abs().max(1.0)
            });
            if agrees {
                out.items.insert(name, vals);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifest_counts_and_metric_files_become_metrics() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("metrics")).unwrap();
        let metrics = dir.path().join("metrics/mlm.json");
        std::fs::write(
            &metrics,
            json!({"task": "mlm", "pll": 2.0, "entity": {"pll": 4.5},
                   "items": {"pll": [1.0, 3.0], "bad": [1.0]}, "confusion": [[1, 2]]})
            .to_string(),
        )
        .unwrap();
        let manifest = json!({
            "status": "succeeded",
            "stages": [
                {"id": "lid", "counts": {"records_in": 10, "kept": 7, "records_out": 7,
                  "dropped": {"und": 2, "wrong_lang": 1}, "rejected": 0}, "outputs": []},
                {"id": "score", "counts": {"records_in": 1, "kept": 1, "records_out": 1,
                  "dropped": {}, "rejected": 0},
                 "outputs": [{"path": "metrics/mlm.json", "bytes": 1, "xxh3": "x"},
                             {"path": "model/config.json", "bytes": 1, "xxh3": "x"}]}
            ]
        });
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        let r = read_run(dir.path());
        assert_eq!(r.status, "succeeded");
        assert_eq!(r.metrics["lid.kept"], 7.0);
        assert_eq!(r.metrics["lid.dropped"], 3.0);
        assert_eq!(r.metrics["lid.dropped.und"], 2.0);
        assert_eq!(r.metrics["score.pll"], 2.0);
        assert_eq!(r.metrics["score.entity.pll"], 4.5);
        assert!(!r.metrics.contains_key("score.task"));
        assert!(!r.metrics.keys().any(|k| k.contains("confusion")));
        // A model's config.json is listed but is not a result.
        std::fs::create_dir_all(dir.path().join("model")).unwrap();
        std::fs::write(
            dir.path().join("model/config.json"),
            r#"{"hidden_size": 128}"#,
        )
        .unwrap();
        assert!(!read_run(dir.path())
            .metrics
            .keys()
            .any(|k| k.contains("hidden_size")));
        assert_eq!(r.items["score.pll"], vec![1.0, 3.0]);
        // `bad` has no scalar twin: not an item series.
        assert!(!r.items.contains_key("score.bad"));
        assert_eq!(read_run(&dir.path().join("nope")).status, "missing");
    }
}
