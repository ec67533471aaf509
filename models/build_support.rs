//! Build-script helpers that make a tch binary run without environment variables.
//!
//! libtorch comes from the PyTorch wheel in the project's `.venv` (DESIGN.md, "Models"). torch-sys
//! links it, but (a) the binary gets no rpath, so it fails at start-up unless `LD_LIBRARY_PATH` is set,
//! and (b) nothing references `libtorch_cuda.so` directly, so `--as-needed` drops it and CUDA is
//! invisible at run time. `cargo:rustc-link-arg` only reaches the binaries/tests of the package whose
//! build script emits it (it does not propagate to dependents), so every package that links a final
//! tch binary needs its own build.rs. This file is plain Rust with no dependencies so that such a
//! build.rs can share it with `#[path = "models/build_support.rs"] mod build_support;` (a module,
//! not `include!`, because `include!` rejects this inner doc comment).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds the directory of the `torch` Python package (the one holding `lib/libtorch.so`).
///
/// Order: `$LIBTORCH` (the torch-sys convention), then `<repo_root>/.venv/bin/python`, then
/// `python3` on `PATH`. Returns `None` when no interpreter can import torch.
pub fn find_torch_dir(repo_root: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        return Some(PathBuf::from(dir));
    }
    let venv_python = repo_root.join(".venv").join("bin").join("python");
    let candidates = [venv_python, PathBuf::from("python3")];
    for python in candidates {
        let output = Command::new(&python)
            .args([
                "-c",
                "import torch,os;print(os.path.dirname(torch.__file__))",
            ])
            .output();
        if let Ok(out) = output {
            if out.status.success() {
                let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !dir.is_empty() {
                    return Some(PathBuf::from(dir));
                }
            }
        }
    }
    None
}

/// Emits the cargo directives that give this package's binaries and tests an rpath to libtorch,
/// a hard dependency on `libtorch_cuda.so` (when the wheel ships one) and the build-time env var
/// `MAVUNO_LIBTORCH_DIR` (read by `mavuno_models::device_report`, only in the emitting crate).
///
/// `repo_root` is the workspace root (where `.venv` lives).
/// `bin`: the one binary of the package to link, plus the package's integration tests
/// (`None`: every target of the package).
pub fn emit_libtorch_link_args(repo_root: &Path, bin: Option<&str>) {
    let link_args: Vec<String> = match bin {
        Some(b) => vec![
            format!("cargo:rustc-link-arg-bin={b}="),
            "cargo:rustc-link-arg-tests=".to_string(),
        ],
        None => vec!["cargo:rustc-link-arg=".to_string()],
    };
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!(
        "cargo:rerun-if-changed={}",
        repo_root.join(".venv").join("bin").join("python").display()
    );
    let Some(torch_dir) = find_torch_dir(repo_root) else {
        println!("cargo:warning=libtorch not found (no $LIBTORCH, .venv or python3 with torch); binaries will need LD_LIBRARY_PATH.");
        return;
    };
    // Canonical path: a symlinked checkout or venv must not leave a dangling rpath behind.
    let lib_dir = torch_dir.join("lib");
    let lib_dir = std::fs::canonicalize(&lib_dir).unwrap_or(lib_dir);
    if let Some(version) = read_torch_version(&torch_dir) {
        println!("cargo:rustc-env=MAVUNO_TORCH_VERSION={version}");
    }
    println!("cargo:rustc-env=MAVUNO_LIBTORCH_DIR={}", lib_dir.display());
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    for a in &link_args {
        println!("{a}-Wl,-rpath,{}", lib_dir.display());
    }
    // One comma-joined argument keeps the three linker flags in order: without --no-as-needed
    // the linker drops libtorch_cuda (no symbol is referenced) and CUDA is never registered.
    if lib_dir.join("libtorch_cuda.so").exists() {
        for a in &link_args {
            println!("{a}-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}

/// Reads `__version__` from the wheel's `torch/version.py` (e.g. `2.11.0+cpu`): libtorch itself
/// exposes no version string through tch, and the wheel is exactly what gets linked.
pub fn read_torch_version(torch_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(torch_dir.join("version.py")).ok()?;
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("__version__")?;
        let value = rest.split('=').nth(1)?.trim();
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        Some(value.to_string())
    })
}
