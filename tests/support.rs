//! Helpers shared by the integration tests: run the real `mavuno` binary, find the shared
//! data and the project's Python, read run manifests.
//!
//! Tests that need `../shared/data` beside the repository (or `$MAVUNO_TEST_DATA`) or the
//! project's Python packages fail, naming what is missing, when those are absent (the README's
//! test command installs the packages); everything else generates its input in a temporary
//! directory.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mavuno");

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished `mavuno` process left behind.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32, what: &str) -> &Run {
        assert_eq!(
            self.code, code,
            "{what}: expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A `mavuno` command with logs at the default level and no colours.
pub fn mavuno() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("MAVUNO_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// Runs `mavuno ARGS` in `cwd` and waits.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let o = mavuno()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("spawn mavuno");
    Run::from(o)
}

/// `mavuno run CONFIG --workdir WORKDIR --quiet? SETS…` in `cwd`; the run directory is
/// `WORKDIR/<run.name>`.
pub fn run_config(cwd: &Path, config: &Path, workdir: &Path, sets: &[&str]) -> Run {
    let mut args: Vec<String> = vec![
        "run".into(),
        config.display().to_string(),
        "--workdir".into(),
        workdir.display().to_string(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push((*s).to_string());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run_in(cwd, &a)
}

/// The shared real-data directory (`../shared/data` beside the repository, or
/// `MAVUNO_TEST_DATA`). Tests never skip: a missing directory fails the test, naming it.
pub fn data_dir(test: &str) -> PathBuf {
    let d = std::env::var_os("MAVUNO_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"));
    assert!(
        d.is_dir(),
        "{test}: shared data not found at {} (put ../shared beside the repository or set MAVUNO_TEST_DATA)",
        d.display()
    );
    d.canonicalize().unwrap_or(d)
}

/// A path under the shared data; a missing file fails the test, naming it.
pub fn data_file(test: &str, rel: &str) -> PathBuf {
    let p = data_dir(test).join(rel);
    assert!(p.exists(), "{test}: {} not found", p.display());
    p
}

/// The project's Python (`.venv/bin/python` of this checkout, which the test command
/// installs), checked to import every module in `modules`; anything missing fails the test.
pub fn python_with(test: &str, modules: &[&str]) -> PathBuf {
    let py = repo_root().join(".venv/bin/python");
    assert!(
        py.exists(),
        "{test}: no {} (run the README's test command, which installs it)",
        py.display()
    );
    let code = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ok = Command::new(&py)
        .args(["-c", &code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{test}: {} cannot import {modules:?}", py.display());
    py
}

/// Runs a Python snippet with `args` in `sys.argv[1:]`; returns trimmed stdout or panics with stderr.
pub fn python(py: &Path, code: &str, args: &[&str]) -> String {
    let o = Command::new(py)
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("spawn python");
    assert!(
        o.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Parses `RUN_DIR/manifest.json`.
pub fn manifest(run_dir: &Path) -> Value {
    let p = run_dir.join("manifest.json");
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

/// The manifest entry of stage `id`.
pub fn stage<'a>(m: &'a Value, id: &str) -> &'a Value {
    m["stages"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("stage {id} not in manifest: {m:#}"))
}

/// Reads a JSON Lines file into values.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let t =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    t.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", path.display()))
        })
        .collect()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write file");
    p
}

/// A TOML string literal for a path.
pub fn lit(p: &Path) -> String {
    toml_str(&p.display().to_string())
}

/// A TOML basic string literal.
pub fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Deterministic synthetic text lines: `n` lines built from a small multilingual
/// vocabulary with a counter, so every line is distinct; seeded xorshift.
pub fn synthetic_lines(n: usize, seed: u64) -> String {
    const WORDS: [&str; 24] = [
        "àwọn",
        "ọmọ",
        "ilé",
        "ẹ̀kọ́",
        "gidan",
        "yara",
        "makaranta",
        "ruwa",
        "watu",
        "habari",
        "shule",
        "kitabu",
        "ụmụ",
        "akwụkwọ",
        "the",
        "river",
        "market",
        "sɛ",
        "ሰላም",
        "ዓለም",
        "இது",
        "ශ්‍රී",
        "na",
        "dey",
    ];
    let mut x = seed | 1;
    let mut out = String::with_capacity(n * 60);
    for i in 0..n {
        let words = 5 + (i % 9);
        for w in 0..words {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if w > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        }
        out.push_str(&format!(" {i}.\n"));
    }
    out
}
