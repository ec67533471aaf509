//! The registry contract, checked once for every registered stage type (data stages and
//! libtorch stages): each declares its TOML example in one place, the `//!` doc of its
//! file, and that example parses and validates; and the README's stage table lists
//! exactly the registered types.

use crate::support::repo_root;
use mavuno_pipeline::config::Validator;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn registry() -> mavuno_pipeline::Registry {
    let mut r = mavuno_stages::registry();
    mavuno_models::register_all(&mut r);
    r
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every `[stages.<id>]` table of every `//! ```toml` example in the stage crates, by
/// stage type: (file, table).
fn doc_examples() -> BTreeMap<String, Vec<(PathBuf, toml::Table)>> {
    let mut files = Vec::new();
    rust_files(&repo_root().join("stages/src"), &mut files);
    rust_files(&repo_root().join("models/src"), &mut files);
    let mut out: BTreeMap<String, Vec<(PathBuf, toml::Table)>> = BTreeMap::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        let mut lines = src.lines();
        while let Some(l) = lines.next() {
            if l.trim() != "//! ```toml" {
                continue;
            }
            let block: String = lines
                .by_ref()
                .take_while(|l| l.trim() != "//! ```")
                .map(|l| {
                    format!(
                        "{}\n",
                        l.trim_start().trim_start_matches("//!").trim_start()
                    )
                })
                .collect();
            let t: toml::Table = block
                .parse()
                .unwrap_or_else(|e| panic!("{}: TOML example does not parse: {e}", f.display()));
            let Some(stages) = t.get("stages").and_then(toml::Value::as_table) else {
                continue;
            };
            for st in stages.values().filter_map(toml::Value::as_table) {
                if let Some(ty) = st.get("type").and_then(toml::Value::as_str) {
                    out.entry(ty.to_string())
                        .or_default()
                        .push((f.clone(), st.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_registered_stage_has_a_toml_example_that_validates() {
    let reg = registry();
    let examples = doc_examples();
    let mut problems = Vec::new();
    for e in reg.entries() {
        let Some(list) = examples.get(e.type_name) else {
            problems.push(format!(
                "{}: no `//! ```toml` example names this type",
                e.type_name
            ));
            continue;
        };
        for (file, table) in list {
            let mut t = table.clone();
            for k in ["type", "inputs", "checkpoint"] {
                t.remove(k);
            }
            match e.parse(toml::Value::Table(t)) {
                Ok(cfg) => {
                    let mut v = Validator::default();
                    cfg.validate(&mut v);
                    for f in &v.errors {
                        problems.push(format!(
                            "{} ({}): {}: {}",
                            e.type_name,
                            file.display(),
                            f.field,
                            f.message
                        ));
                    }
                }
                Err((field, msg)) => problems.push(format!(
                    "{} ({}): {field}: {msg}",
                    e.type_name,
                    file.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The backticked snake_case words of the README's stage table (the rows between the
/// `| job | stages / commands |` header and the first line after it that is not a row).
fn readme_stage_types() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("README.md")).unwrap_or_default();
    let rows = text
        .lines()
        .skip_while(|l| !l.starts_with("| job | stages / commands |"))
        .take_while(|l| l.starts_with('|'));
    let mut out = BTreeSet::new();
    for row in rows {
        for (k, piece) in row.split('`').enumerate() {
            let word = k % 2 == 1
                && !piece.is_empty()
                && piece
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if word {
                out.insert(piece.to_string());
            }
        }
    }
    out
}

#[test]
fn readme_stage_table_lists_exactly_the_registered_types() {
    let registered: BTreeSet<String> = registry()
        .entries()
        .iter()
        .map(|e| e.type_name.to_string())
        .collect();
    let listed = readme_stage_types();
    let missing: Vec<_> = registered.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README stage table: missing {missing:?}, not registered {extra:?}"
    );
}
