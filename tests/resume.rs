//! Kill and resume through the binary. A run of a few seconds over 110k generated lines is
//! SIGKILLed at several seeded random points, each rerun resuming the last; the final
//! rerun must write exactly the bytes of an uninterrupted run (no lost or duplicated
//! records), and a killed run must never leave a complete-looking partial output. A rerun
//! of a complete run must report every stage as skipped in `manifest.json` and in its
//! summary. Both with the default checkpoints (barriers and writers) and with
//! `run.checkpoint = "all"`.
//!
//! Kill points are chosen from the measured length of the clean run; nothing asserts on time.

use crate::support::{lit, manifest, mavuno, run_config, synthetic_lines, write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const OUTPUTS: [&str; 3] = ["out.jsonl.zst", "out.parquet", "rejects.jsonl"];

fn setup(d: &Path) -> PathBuf {
    let mut text = synthetic_lines(100_000, 7);
    // Exact duplicates every 10th line and a few invalid lines, so dedup drops and the
    // reader rejects.
    text.push_str(&synthetic_lines(10_000, 7));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"one \xff invalid line\n");
    let input = d.join("input.txt");
    std::fs::write(&input, bytes).expect("write input");
    write(
        d,
        "resume.toml",
        &format!(
            r#"[run]
name = "resume"

[stages.raw]
type = "text_reader"
paths = [{}]
on_error = "reject"

[stages.norm]
type = "normalize"
inputs = ["raw"]

[stages.sents]
type = "split_sentences"
inputs = ["norm"]

[stages.exact]
type = "dedup_exact"
inputs = ["sents"]

[stages.copy]
type = "passthrough"
inputs = ["exact"]

[stages.jsonl]
type = "jsonl_writer"
inputs = ["copy"]
path = "out.jsonl.zst"

[stages.parquet]
type = "parquet_writer"
inputs = ["copy"]
path = "out.parquet"
"#,
            lit(&input)
        ),
    )
}

/// Starts `mavuno run` and SIGKILLs it after `ms`; false when it finished first.
fn run_and_kill(cfg: &Path, workdir: &Path, sets: &[&str], ms: u64) -> bool {
    let mut cmd = mavuno();
    cmd.arg("run")
        .arg(cfg)
        .arg("--workdir")
        .arg(workdir)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for s in sets {
        cmd.args(["--set", s]);
    }
    let mut child = cmd.spawn().expect("spawn mavuno");
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            assert!(st.success(), "a run that was not killed failed with {st}");
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().expect("SIGKILL mavuno");
            child.wait().expect("reap");
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn read_outputs(run_dir: &Path) -> Vec<Vec<u8>> {
    OUTPUTS
        .iter()
        .map(|f| std::fs::read(run_dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

fn kill_and_resume(sets: &[&str], seed: u64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d);

    let clean_dir = d.join("clean");
    let t0 = Instant::now();
    run_config(d, &cfg, &clean_dir, sets).expect_code(0, "uninterrupted run");
    let clean_ms = t0.elapsed().as_millis() as u64;
    let clean = read_outputs(&clean_dir.join("resume"));
    let clean_manifest = manifest(&clean_dir.join("resume"));

    let work = d.join("killed");
    let run_dir = work.join("resume");
    let mut x = seed;
    let mut kills = 0;
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // A point between 3% and 50% of the clean run's length: early enough that the
        // run is still going even when this machine is less loaded than for the clean run.
        let ms = clean_ms * (3 + x % 48) / 100;
        if run_and_kill(&cfg, &work, sets, ms) {
            kills += 1;
        }
        for (f, want) in OUTPUTS.iter().zip(&clean) {
            if let Ok(got) = std::fs::read(run_dir.join(f)) {
                if *f != "rejects.jsonl" {
                    assert!(got == *want, "after a kill at {ms} ms, {f} exists but differs from the clean output (not atomic)");
                }
            }
        }
    }
    assert!(
        kills > 0,
        "no run was killed: the clean run took {clean_ms} ms"
    );
    let r = run_config(d, &cfg, &work, sets);
    r.expect_code(0, "resumed run");
    let resumed = read_outputs(&run_dir);
    for ((f, got), want) in OUTPUTS.iter().zip(&resumed).zip(&clean) {
        assert!(got == want, "{f} after {kills} kill(s) and resume differs from the uninterrupted run ({} vs {} bytes)", got.len(), want.len());
    }
    let m = manifest(&run_dir);
    assert_eq!(m["status"], "succeeded");
    for s in clean_manifest["stages"].as_array().expect("stages") {
        let id = s["id"].as_str().unwrap_or("");
        let got = crate::support::stage(&m, id);
        if got["status"] == "ran" {
            assert_eq!(
                got["counts"], s["counts"],
                "stage {id}: counts after resume differ from the clean run"
            );
        }
    }

    // A rerun of a complete run runs nothing.
    let r = run_config(d, &cfg, &work, sets);
    r.expect_code(0, "rerun of a complete run");
    let m = manifest(&run_dir);
    let all = sets.iter().any(|s| s.contains("checkpoint=all"));
    for s in m["stages"].as_array().expect("stages") {
        let id = s["id"].as_str().unwrap_or("");
        let status = s["status"].as_str().unwrap_or("");
        if all {
            assert_eq!(
                status, "cached",
                "with checkpoint=all every stage of a complete run is cached; {id} is {status}"
            );
        } else {
            assert!(
                status == "cached" || status == "not_needed",
                "rerun of a complete run: {id} is {status}, expected cached/not_needed"
            );
        }
        let line = r
            .stderr
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("summary has no line for {id}:\n{}", r.stderr));
        assert!(
            line.contains(status),
            "summary line for {id} does not say {status}: {line}"
        );
    }
    for w in ["jsonl", "parquet"] {
        assert_eq!(
            crate::support::stage(&m, w)["status"],
            "cached",
            "writer {w} of a complete run is cached"
        );
    }
    assert!(
        read_outputs(&run_dir) == clean,
        "a rerun of a complete run changed its outputs"
    );
}

#[test]
fn killed_runs_resume_to_the_same_bytes() {
    kill_and_resume(&[], 0x5eed_0001);
}

#[test]
fn killed_runs_resume_to_the_same_bytes_with_all_checkpoints() {
    kill_and_resume(&["run.checkpoint=all"], 0x5eed_0002);
}
