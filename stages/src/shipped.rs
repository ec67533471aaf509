//! The models that ship with mavuno (`models/lid/…`, `models/tag/…`) and how a relative
//! model path is found from any working directory.
//!
//! Configs and flags name models by repository-relative paths such as
//! `models/tag/pos-yor.mvt`. Such a path is looked up, in order:
//! 1. in the current directory, as written (a user's own file wins);
//! 2. beside the running binary: each of its first four ancestor directories (the
//!    repository layout `<repo>/target/<profile>/mavuno`, and test binaries one level
//!    deeper in `deps/`), and `<prefix>/share/mavuno` for an installed layout
//!    `<prefix>/bin/mavuno` + `<prefix>/share/mavuno/models/…`.
//!
//! A path found nowhere is returned as written, so the error that follows names it.
//! [`resolve`] is what every stage that loads a model calls (`langid`, `tag_pos`,
//! `tag_ner`), and `mavuno doctor` reports [`locate`] for each shipped model.

use std::path::{Path, PathBuf};

/// The default language-identification model (the `mavuno` backend).
pub const LID_MODEL: &str = "models/lid/mavuno-lid-v1.bin";

/// The directory of the shipped POS and NER taggers (`pos-<lang>.mvt`, `ner-<lang>.mvt`).
pub const TAG_MODELS: &str = "models/tag";

/// Where a relative path was found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// In the current directory.
    WorkingDirectory(PathBuf),
    /// Beside the running binary.
    BesideBinary(PathBuf),
    /// Absolute path given, or nowhere to be found.
    AsWritten(PathBuf),
}

impl Found {
    /// The path to open.
    pub fn path(&self) -> &Path {
        match self {
            Found::WorkingDirectory(p) | Found::BesideBinary(p) | Found::AsWritten(p) => p,
        }
    }
}

/// The directories beside the running binary that can hold `models/`.
pub fn binary_roots() -> Vec<PathBuf> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    // Symlinked installs (`~/.local/bin/mavuno -> …/target/release/mavuno`) point at the
    // real layout.
    let exe = exe.canonicalize().unwrap_or(exe);
    let mut roots = Vec::new();
    for dir in exe.ancestors().skip(1).take(4) {
        roots.push(dir.to_path_buf());
        roots.push(dir.join("share").join("mavuno"));
    }
    roots
}

/// Finds `path` (see the module docs for the order).
pub fn locate(path: &str) -> Found {
    let p = Path::new(path);
    if p.is_absolute() {
        return Found::AsWritten(p.to_path_buf());
    }
    if p.exists() {
        return Found::WorkingDirectory(p.to_path_buf());
    }
    binary_roots()
        .into_iter()
        .map(|r| r.join(p))
        .find(|c| c.exists())
        .map_or_else(|| Found::AsWritten(p.to_path_buf()), Found::BesideBinary)
}

/// The path to open for `path`.
pub fn resolve(path: &str) -> PathBuf {
    locate(path).path().to_path_buf()
}

/// Every shipped model: the LID model, then each tagger in `models/tag`, with where it
/// was found (the tagger list comes from the first `models/tag` directory found).
pub fn shipped_models() -> Vec<(String, Found)> {
    let mut out = vec![(LID_MODEL.to_string(), locate(LID_MODEL))];
    let dir = locate(TAG_MODELS);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mvt"))
        .collect();
    names.sort();
    for n in names {
        let rel = format!("{TAG_MODELS}/{n}");
        out.push((rel.clone(), locate(&rel)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_missing_paths_stay_as_written() {
        assert_eq!(
            locate("/nonexistent/m.bin"),
            Found::AsWritten(PathBuf::from("/nonexistent/m.bin"))
        );
        assert_eq!(
            locate("models/none/such.bin"),
            Found::AsWritten(PathBuf::from("models/none/such.bin"))
        );
    }

    #[test]
    fn shipped_models_are_found_beside_the_test_binary() {
        // The test binary lives in <repo>/target/<profile>/deps; the crate's working
        // directory (stages/) has no models/, so each is found from the binary.
        let found = shipped_models();
        assert!(found.len() > 1, "{found:?}");
        for (name, f) in &found {
            assert!(
                matches!(f, Found::BesideBinary(_)) && f.path().is_file(),
                "{name}: {f:?}"
            );
        }
        assert!(found.iter().any(|(n, _)| n == "models/tag/pos-yor.mvt"));
    }
}
