//! The binary starts, lists its stage types and reports its libtorch.

use std::process::Command;

#[test]
fn stages_and_doctor_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_mavuno"))
        .args(["stages", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for t in [
        "text_reader",
        "parquet_writer",
        "langid",
        "dedup_near",
        "plan_masks",
    ] {
        assert!(text.contains(t), "missing {t} in:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mavuno"))
        .args(["doctor"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("CUDA"));
}
