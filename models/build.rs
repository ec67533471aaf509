//! Links this crate's own test binaries to the wheel's libtorch (rpath + libtorch_cuda).
//! The logic lives in build_support.rs so the root package's build.rs can share it.

#[path = "build_support.rs"]
mod build_support;

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build_support.rs");
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    // The workspace root is the parent of `models/`; `.venv` lives there.
    let repo_root = manifest_dir
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."));
    build_support::emit_libtorch_link_args(&repo_root, None);
}
