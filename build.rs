//! Gives the `mavuno-torch` binary an rpath to the wheel's libtorch and links libtorch_cuda
//! (`cargo:rustc-link-arg` from models/build.rs does not reach dependents' binaries).
//! `mavuno` itself links no libtorch (src/delegate.rs).
#[path = "models/build_support.rs"]
mod build_support;

fn main() {
    println!("cargo:rerun-if-changed=models/build_support.rs");
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    build_support::emit_libtorch_link_args(&root, Some("mavuno-torch"));
}
