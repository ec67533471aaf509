//! Bounded memory through the binary: the peak resident set of `mavuno run`
//! (text_reader → 3 × passthrough → jsonl_writer) must stay flat when the input grows
//! 4×: peak(4×) < 1.5 × peak(1×) + 20 MB. Bounded channels between stages are what make
//! this hold; a stage that buffered its input would grow with the input.
//!
//! The peak is the kernel's high-water mark (`VmHWM` in `/proc/<pid>/status`), polled
//! every 5 ms while the process runs; the last value read is within 5 ms of the end.

use crate::support::{lit, mavuno, synthetic_lines, write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Runs a config and returns (exit code, peak RSS in kB as last seen).
fn peak_rss_kb(cfg: &Path, workdir: &Path) -> (i32, u64) {
    let mut child = mavuno()
        .arg("run")
        .arg(cfg)
        .arg("--workdir")
        .arg(workdir)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mavuno");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(st) = child.try_wait().expect("wait") {
            return (st.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn peak_memory_is_flat_when_the_input_grows_four_times() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("SKIP peak_memory_is_flat_when_the_input_grows_four_times: no /proc");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    // 1× ≈ 15 MB of text; 4× ≈ 60 MB.
    let base = synthetic_lines(250_000, 11);
    let one = write(d, "one.txt", &base);
    let four = write(d, "four.txt", &base.repeat(4));
    let cfg = |name: &str, input: &Path| {
        write(
            d,
            &format!("{name}.toml"),
            &format!(
                "[run]\nname = \"{name}\"\nbatch_size = 256\nchannel_capacity = 4\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n[stages.p1]\ntype = \"passthrough\"\ninputs = [\"raw\"]\n\n[stages.p2]\ntype = \"passthrough\"\ninputs = [\"p1\"]\n\n[stages.p3]\ntype = \"passthrough\"\ninputs = [\"p2\"]\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"p3\"]\npath = \"out.jsonl\"\n",
                lit(input)
            ),
        )
    };
    let (c1, p1) = peak_rss_kb(&cfg("one", &one), &d.join("runs"));
    assert_eq!(c1, 0, "1× run failed");
    let (c4, p4) = peak_rss_kb(&cfg("four", &four), &d.join("runs"));
    assert_eq!(c4, 0, "4× run failed");
    assert!(
        p1 > 0 && p4 > 0,
        "could not read VmHWM (1×: {p1} kB, 4×: {p4} kB)"
    );
    let lines4 = std::fs::read_to_string(d.join("runs/four/out.jsonl"))
        .expect("out")
        .lines()
        .count();
    assert_eq!(lines4, 1_000_000, "the 4× run must write every record");
    eprintln!("peak RSS: 1× {} MB, 4× {} MB", p1 / 1024, p4 / 1024);
    let limit = p1 * 3 / 2 + 20 * 1024;
    assert!(
        p4 < limit,
        "peak RSS grew with the input: 1× {p1} kB, 4× {p4} kB (limit {limit} kB)"
    );
}
