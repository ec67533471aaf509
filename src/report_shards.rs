//! The report of a sharded run (`mavuno run CONFIG --shard i/n` writes
//! `<run>/shard-i-of-n/`): the shards' directories and one manifest that adds up their
//! accounting. The measures and dropped samples of the shards are merged by the report's
//! sections themselves (`run_sections`: histograms bin by bin, samples by priority), so
//! the merged report shows what a single run's would.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The shard directories under `base` (`shard-<i>-of-<n>`), by index, when every one of
/// the `n` shards has a manifest; `None` when `base` holds no shards.
pub fn shard_dirs(base: &Path) -> anyhow::Result<Option<Vec<PathBuf>>> {
    let mut found: Vec<(u64, u64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((i, n)) = name
            .strip_prefix("shard-")
            .and_then(|r| r.split_once("-of-"))
            .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
        else {
            continue;
        };
        found.push((n, i, e.path()));
    }
    if found.is_empty() {
        return Ok(None);
    }
    found.sort();
    let n = found[0].0;
    if found.iter().any(|f| f.0 != n) {
        anyhow::bail!(
            "{}: shards of different counts (shard-*-of-{n} and others); remove the stale ones",
            base.display()
        );
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| {
            !found
                .iter()
                .any(|f| f.1 == *i && f.2.join("manifest.json").is_file())
        })
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "{}: shard(s) {} of {n} have no manifest.json yet (run them first)",
            base.display(),
            missing.join(", ")
        );
    }
    Ok(Some(found.into_iter().map(|f| f.2).collect()))
}

fn add_num(a: &mut Value, b: &Value) {
    let x = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    *a = match (a.as_u64(), b.as_u64()) {
        (Some(p), Some(q)) => json!(p + q),
        (Some(p), None) if b.is_null() => json!(p),
        _ => json!(x),
    };
}

fn add_map(a: &mut Value, b: &Value) {
    if !a.is_object() {
        *a = Value::Object(Map::new());
    }
    if let (Some(am), Some(bm)) = (a.as_object_mut(), b.as_object()) {
        for (k, v) in bm {
            add_num(am.entry(k.clone()).or_insert(json!(0)), v);
        }
    }
}

/// One manifest for the whole run: stage counts, timings and outputs added up (stages in
/// the first shard's order), `succeeded` only when every shard did, the longest wall
/// time, and `shards: n`.
pub fn merge_manifests(ms: &[Value]) -> Value {
    let Some(first) = ms.first() else {
        return json!({});
    };
    let mut out = first.clone();
    out["shard"] = Value::Null;
    out["shards"] = json!(ms.len());
    let ok = ms.iter().all(|m| m["status"] == "succeeded");
    out["status"] = json!(if ok { "succeeded" } else { "failed" });
    out["error"] = ms
        .iter()
        .find_map(|m| m["error"].as_str())
        .map_or(Value::Null, |e| json!(e));
    out["wall_seconds"] = json!(ms
        .iter()
        .map(|m| m["wall_seconds"].as_f64().unwrap_or(0.0))
        .fold(0.0, f64::max));
    out["rejected_total"] = json!(ms
        .iter()
        .map(|m| m["rejected_total"].as_u64().unwrap_or(0))
        .sum::<u64>());
    let mut stages = first["stages"].as_array().cloned().unwrap_or_default();
    for st in &mut stages {
        for k in ["busy_seconds", "blocked_seconds"] {
            st[k] = json!(0.0);
        }
        st["counts"] = json!({"records_in": 0, "kept": 0, "dropped": {}, "rejected": 0, "records_out": 0, "counters": {}});
        st["outputs"] = json!([]);
    }
    for m in ms {
        for other in m["stages"].as_array().into_iter().flatten() {
            let Some(st) = stages.iter_mut().find(|s| s["id"] == other["id"]) else {
                continue;
            };
            if st["status"] != other["status"] {
                st["status"] = json!("mixed");
            }
            for k in ["busy_seconds", "blocked_seconds"] {
                add_num(&mut st[k], &other[k]);
            }
            let (c, o) = (&mut st["counts"], &other["counts"]);
            for k in ["records_in", "kept", "rejected", "records_out"] {
                add_num(&mut c[k], &o[k]);
            }
            add_map(&mut c["dropped"], &o["dropped"]);
            add_map(&mut c["counters"], &o["counters"]);
            if let (Some(a), Some(b)) = (st["outputs"].as_array_mut(), other["outputs"].as_array())
            {
                a.extend(b.iter().cloned());
            }
        }
    }
    out["stages"] = Value::Array(stages);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_add_up_and_shards_are_found() {
        let m = |i: u64, kept: u64, status: &str| {
            json!({"status": status, "wall_seconds": i as f64, "rejected_total": 1,
                   "shard": {"index": i, "count": 2},
                   "stages": [{"id": "f", "status": "ran", "busy_seconds": 0.5, "blocked_seconds": 0.0,
                     "counts": {"records_in": 10, "kept": kept, "dropped": {"words": 10 - kept}, "rejected": 0,
                                "records_out": kept, "counters": {"x_total": 1}},
                     "outputs": [{"path": format!("o{i}")}]}]})
        };
        let all = merge_manifests(&[m(0, 7, "succeeded"), m(1, 4, "succeeded")]);
        let c = &all["stages"][0]["counts"];
        assert_eq!(
            (
                c["records_in"].as_u64(),
                c["kept"].as_u64(),
                c["dropped"]["words"].as_u64()
            ),
            (Some(20), Some(11), Some(9))
        );
        assert_eq!(c["counters"]["x_total"], 2);
        assert_eq!(
            all["stages"][0]["outputs"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            (all["shards"].as_u64(), all["rejected_total"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(all["wall_seconds"], 1.0);
        assert_eq!(all["status"], "succeeded");
        assert_eq!(
            merge_manifests(&[m(0, 7, "succeeded"), m(1, 4, "failed")])["status"],
            "failed"
        );

        let dir = tempfile::tempdir().unwrap();
        assert!(shard_dirs(dir.path()).unwrap().is_none());
        for i in 0..2 {
            std::fs::create_dir_all(dir.path().join(format!("shard-{i}-of-2"))).unwrap();
        }
        std::fs::write(dir.path().join("shard-0-of-2/manifest.json"), "{}").unwrap();
        let e = shard_dirs(dir.path()).unwrap_err().to_string();
        assert!(e.contains("shard(s) 1 of 2"), "{e}");
        std::fs::write(dir.path().join("shard-1-of-2/manifest.json"), "{}").unwrap();
        assert_eq!(shard_dirs(dir.path()).unwrap().map(|v| v.len()), Some(2));
    }
}
