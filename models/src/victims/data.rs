//! Reading labelled text: TSV with a header (`text`/`tweet`/`sentence` and `label` columns, no
//! quoting, as AfriSenti ships) or JSONL (`{"text": …, "label": …}`, numeric labels allowed).

use std::path::Path;

use crate::ModelError;

fn bad(path: &Path, msg: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidConfig(format!("{}: {msg}", path.display()))
}

/// `(text, label)` rows of `path`; `.jsonl`/`.json` are JSON lines, anything else TSV.
pub fn read_labeled(path: &Path) -> Result<Vec<(String, String)>, ModelError> {
    let raw = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "jsonl" || ext == "json" {
        let mut out = Vec::new();
        for (n, line) in raw
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| bad(path, format!("line {}: {e}", n + 1)))?;
            let text = ["text", "tweet", "sentence"]
                .iter()
                .find_map(|k| v.get(k).and_then(|t| t.as_str()))
                .ok_or_else(|| bad(path, format!("line {}: no \"text\" field", n + 1)))?;
            let label = match v.get("label") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(x)) => x.to_string(),
                _ => return Err(bad(path, format!("line {}: no \"label\" field", n + 1))),
            };
            out.push((text.to_string(), label));
        }
        return Ok(out);
    }
    let mut lines = raw.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let t = col(&["text", "tweet", "sentence"])
        .ok_or_else(|| bad(path, "TSV header has no text/tweet/sentence column"))?;
    let l = col(&["label"]).ok_or_else(|| bad(path, "TSV header has no label column"))?;
    let mut out = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        match (f.get(t), f.get(l)) {
            (Some(text), Some(label)) => out.push((text.to_string(), label.trim().to_string())),
            _ => {
                return Err(bad(
                    path,
                    format!("line {}: fewer than {} columns", n + 2, t.max(l) + 1),
                ))
            }
        }
    }
    Ok(out)
}

/// Shuffles `rows` with a seeded ChaCha8 RNG (deterministic samples and dev splits).
pub fn shuffle_seeded<T>(rows: &mut [T], seed: u64) {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    rows.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
}
