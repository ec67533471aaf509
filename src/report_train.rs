//! The training part of the run report: a loss curve per training run found in the run
//! directory (`<stage>/metrics.jsonl`, written by `train_mlm`), and the metrics of every
//! `eval` stage (`*.json` files whose object has `task` and `metrics`). Inline SVG, no
//! scripts, sorted paths: the same run gives the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const W: f64 = 560.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

/// HTML for the training curves and eval metrics under `run_dir`; empty when there are none.
pub fn section(run_dir: &Path) -> String {
    let mut out = String::new();
    let curves = files(run_dir, |p| {
        p.file_name().is_some_and(|n| n == "metrics.jsonl")
    });
    if !curves.is_empty() {
        out.push_str("<h2>Training curves</h2>\n");
        for p in curves {
            let rel = p.strip_prefix(run_dir).unwrap_or(&p).display().to_string();
            if let Some(svg) = curve(&p) {
                let _ = write!(out, "<h3>{}</h3>\n{svg}\n", esc(&rel));
            }
        }
    }
    let evals: Vec<(String, serde_json::Value)> = files(run_dir, |p| {
        p.extension().is_some_and(|e| e == "json")
            && p.file_name().is_some_and(|n| n != "manifest.json")
    })
    .into_iter()
    .filter_map(|p| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
        (v.get("task").is_some() && v.get("metrics").is_some()).then(|| {
            let rel = p.strip_prefix(run_dir).unwrap_or(&p).display().to_string();
            (rel, v)
        })
    })
    .collect();
    if !evals.is_empty() {
        out.push_str("<h2>Evaluation</h2>\n<table><tr><th>file</th><th>task</th><th>metric</th><th>value</th></tr>\n");
        for (rel, v) in evals {
            let mut flat = Vec::new();
            flatten("", &v["metrics"], &mut flat);
            for (k, x) in flat {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{x:.4}</td></tr>",
                    esc(&rel),
                    esc(v["task"].as_str().unwrap_or("")),
                    esc(&k)
                );
            }
        }
        out.push_str("</table>\n");
    }
    out
}

/// Files under `dir` (two levels deep: the run directory and its stage directories) that
/// `keep` accepts, sorted.
fn files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(d: &Path, depth: usize, out: &mut Vec<PathBuf>, keep: &dyn Fn(&Path) -> bool) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() {
                if depth < 2 && name != ".cache" && name != "ckpt" {
                    walk(&p, depth + 1, out, keep);
                }
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    walk(dir, 0, &mut out, &keep);
    out.sort();
    out
}

/// Numeric leaves of a metrics object, with dotted keys (`entity.loss`).
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, f64)>) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        _ => {}
    }
}

/// An SVG line chart of `loss` (line) and `eval_loss` (dots) against `step`.
fn curve(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        if let Some(l) = v["loss"].as_f64() {
            train.push((step, l));
        }
        if let Some(l) = v["eval_loss"].as_f64() {
            eval.push((step, l));
        }
    }
    let all: Vec<(f64, f64)> = train
        .iter()
        .chain(&eval)
        .copied()
        .filter(|p| p.1.is_finite())
        .collect();
    if all.is_empty() {
        return None;
    }
    let (x0, x1) = min_max(all.iter().map(|p| p.0));
    let (y0, y1) = min_max(all.iter().map(|p| p.1));
    let sx = |x: f64| PAD + (x - x0) / (x1 - x0).max(1e-9) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD + (y0 - y) / (y1 - y0).max(1e-9) * (H - 2.0 * PAD);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-size=\"11\">\
<rect x=\"{PAD}\" y=\"{PAD}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>",
        W - 2.0 * PAD,
        H - 2.0 * PAD
    );
    let pts: Vec<String> = train
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
        .collect();
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{}\"/>",
        pts.join(" ")
    );
    for &(x, y) in eval.iter().filter(|p| p.1.is_finite()) {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#d62728\"/>",
            sx(x),
            sy(y)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{PAD}\" y=\"{}\">step {x0:.0}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">step {x1:.0}</text>\
<text x=\"4\" y=\"{}\">{y1:.3}</text><text x=\"4\" y=\"{}\">{y0:.3}</text>\
<text x=\"{}\" y=\"14\" text-anchor=\"end\"><tspan fill=\"#1f77b4\">train loss</tspan> <tspan fill=\"#d62728\">● eval loss</tspan></text></svg>",
        H - PAD + 16.0,
        W - PAD,
        H - PAD + 16.0,
        PAD + 4.0,
        H - PAD,
        W - PAD
    );
    Some(svg)
}

fn min_max(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_and_eval_metrics_are_rendered() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("train/ckpt/step_2")).unwrap();
        std::fs::write(
            d.path().join("train/metrics.jsonl"),
            "{\"step\":1,\"loss\":9.0}\n{\"step\":2,\"loss\":8.0,\"eval_loss\":8.5}\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("train/ckpt/step_2/metrics.jsonl"),
            "{\"step\":1,\"loss\":1}\n",
        )
        .unwrap();
        std::fs::create_dir_all(d.path().join("metrics")).unwrap();
        std::fs::write(
            d.path().join("metrics/mlm.json"),
            r#"{"task":"mlm","metrics":{"loss":7.5,"entity":{"loss":9.25}}}"#,
        )
        .unwrap();
        std::fs::write(
            d.path().join("manifest.json"),
            r#"{"task":"x","metrics":{"a":1}}"#,
        )
        .unwrap();
        let html = section(d.path());
        assert_eq!(
            html.matches("<svg").count(),
            1,
            "checkpoint copies are skipped: {html}"
        );
        assert!(
            html.contains("<polyline") && html.contains("<circle"),
            "{html}"
        );
        assert!(
            html.contains("<td>entity.loss</td><td>9.2500</td>"),
            "{html}"
        );
        assert!(html.contains("<td>loss</td><td>7.5000</td>"), "{html}");
        assert!(!html.contains("manifest.json"), "{html}");
        assert_eq!(section(d.path()), html, "deterministic");
        assert_eq!(section(&d.path().join("nothing")), "");
    }
}
