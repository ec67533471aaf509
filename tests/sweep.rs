//! `mavuno sweep` through the binary: the grid runs as ordinary run directories, the
//! results name every run with its manifest counts, a sweep killed part-way resumes to
//! the same results as one that was never killed, `--shared` computes the pinned stage
//! once and every other point reuses it, and `--dry-run` runs nothing in the sweep
//! directory.

use crate::support::{lit, manifest, mavuno, run_in, stage, synthetic_lines, write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn setup(d: &Path, lines: usize) -> PathBuf {
    let input = d.join("input.txt");
    let mut text = synthetic_lines(lines, 11);
    text.push_str(&synthetic_lines(lines / 10, 11));
    std::fs::write(&input, text).expect("write input");
    write(
        d,
        "sweep.toml",
        &format!(
            r#"[run]
name = "sw"

[stages.raw]
type = "text_reader"
paths = [{}]

[stages.quality]
type = "filter"
inputs = ["raw"]
min_words = 1

[stages.exact]
type = "dedup_exact"
inputs = ["quality"]

[stages.out]
type = "jsonl_writer"
inputs = ["exact"]
path = "out.jsonl"
"#,
            lit(&input)
        ),
    )
}

fn sweep_args<'a>(cfg: &'a str, dir: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "sweep",
        cfg,
        "--workdir",
        dir,
        "--vary",
        "stages.quality.min_words=1,9,14",
        "--seeds",
        "1,2",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn sweep_runs_the_grid_and_tables_counts_per_arm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 3000);
    let sw = d.join("sw");
    let (c, s) = (cfg.display().to_string(), sw.display().to_string());
    let r = run_in(d, &sweep_args(&c, &s, &["--parallel", "2"]));
    r.expect_code(0, "mavuno sweep");
    let names: Vec<String> = ["min_words=1", "min_words=9", "min_words=14"]
        .iter()
        .flat_map(|a| [1, 2].map(|s| format!("{a}-s{s}")))
        .collect();
    for n in &names {
        let m = manifest(&sw.join(n));
        assert_eq!(m["status"], "succeeded", "{n}");
        assert!(sw.join(n).join("out.jsonl").is_file(), "{n}: writer output");
    }
    let results = std::fs::read_to_string(sw.join("results.jsonl")).expect("results.jsonl");
    let lines: Vec<serde_json::Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 6);
    for (l, n) in lines.iter().zip(&names) {
        assert_eq!(l["run"], n.as_str());
        let m = manifest(&sw.join(n));
        assert_eq!(
            l["metrics"]["exact.kept"].as_f64(),
            stage(&m, "exact")["counts"]["kept"].as_f64()
        );
    }
    // A stricter min_words keeps fewer lines, in every seed.
    let kept = |i: usize| lines[i]["metrics"]["quality.kept"].as_f64().unwrap();
    assert!(kept(0) > kept(2) && kept(2) > kept(4), "{results}");
    let md = std::fs::read_to_string(sw.join("results.md")).expect("results.md");
    assert!(
        md.contains("3 arm(s) × 2 seed(s) = 6 run(s); 6 succeeded."),
        "{md}"
    );
    assert!(md.contains("| quality.kept |"), "{md}");
    assert!(
        md.contains("`quality.min_words=9` − `quality.min_words=1` (paired by seed)"),
        "{md}"
    );
    // The seed changes nothing in these stages: a difference with sign count 0 / 2 / 0.
    assert!(md.contains("| 0 / 2 / 0 | 2 | seeds |"), "{md}");

    // Another grid in the same directory is refused before anything runs.
    let other = run_in(
        d,
        &[
            "sweep",
            &c,
            "--workdir",
            &s,
            "--vary",
            "stages.quality.min_words=2",
            "--seeds",
            "1",
        ],
    );
    other.expect_code(2, "a different grid in the same sweep directory");
    assert!(
        other.stderr.contains("holds a sweep with other settings"),
        "{}",
        other.stderr
    );
    // A bad key is a config error naming it; nothing runs.
    let bad = run_in(
        d,
        &[
            "sweep",
            &c,
            "--workdir",
            &d.join("b").display().to_string(),
            "--vary",
            "stages.quality.min_wrds=2",
        ],
    );
    bad.expect_code(2, "a bad --vary key");
    assert!(bad.stderr.contains("min_wrds"), "{}", bad.stderr);
    assert!(!d.join("b").exists());
}

#[test]
fn a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 60_000);
    let c = cfg.display().to_string();
    let whole = d.join("whole").display().to_string();
    run_in(d, &sweep_args(&c, &whole, &[])).expect_code(0, "uninterrupted sweep");

    let killed = d.join("killed");
    let k = killed.display().to_string();
    let mut child = mavuno()
        .current_dir(d)
        .args(sweep_args(&c, &k, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sweep");
    // Kill the sweep once the first run has finished and the second has started.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut was_killed = false;
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        let first_done = killed.join("min_words=1-s1/manifest.json").is_file();
        if first_done && killed.join("min_words=1-s2").is_dir() {
            was_killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL (a no-op when it already exited) and reap on every path.
    let _ = child.kill();
    child.wait().expect("reap");
    assert!(was_killed, "the sweep finished before it could be killed");
    assert!(!killed.join("results.jsonl").exists());
    run_in(d, &sweep_args(&c, &k, &[])).expect_code(0, "resumed sweep");
    let a = std::fs::read_to_string(Path::new(&whole).join("results.jsonl")).unwrap();
    let b = std::fs::read_to_string(killed.join("results.jsonl")).unwrap();
    assert_eq!(a, b, "resumed results equal uninterrupted results");
    // The first run was complete before the kill: on resume every stage was cached.
    let m = manifest(&killed.join("min_words=1-s1"));
    for s in m["stages"].as_array().unwrap() {
        if s["id"] == "out" {
            assert_eq!(s["status"], "cached", "{s}");
        }
    }
}

#[test]
fn shared_stage_is_computed_once_and_dry_run_runs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 3000);
    let c = cfg.display().to_string();
    let sw = d.join("sw");
    let s = sw.display().to_string();
    // The varied key is downstream of `exact`, so `exact` (and what it reads) can be
    // shared: the sweep pins its seed and checkpoints it.
    let r = run_in(
        d,
        &[
            "sweep",
            &c,
            "--workdir",
            &s,
            "--vary",
            "stages.out.path=\"a.jsonl\",\"b.jsonl\"",
            "--seeds",
            "1,2",
            "--shared",
            "exact",
        ],
    );
    r.expect_code(0, "sweep --shared exact");
    let first = manifest(&sw.join("path=a.jsonl-s1"));
    assert_eq!(stage(&first, "exact")["status"], "ran");
    for n in ["path=a.jsonl-s2", "path=b.jsonl-s1", "path=b.jsonl-s2"] {
        let m = manifest(&sw.join(n));
        assert_ne!(
            stage(&m, "exact")["status"],
            "ran",
            "{n}: the shared stage ran again"
        );
        assert_eq!(
            stage(&m, "exact")["key"],
            stage(&first, "exact")["key"],
            "{n}: same content key"
        );
        assert_eq!(stage(&m, "out")["status"], "ran", "{n}");
    }
    let out_a = std::fs::read(sw.join("path=a.jsonl-s1/a.jsonl")).unwrap();
    let out_b = std::fs::read(sw.join("path=b.jsonl-s2/b.jsonl")).unwrap();
    assert_eq!(out_a, out_b, "the shared stage's records reach every point");

    let dry = d.join("dry");
    let r = run_in(
        d,
        &[
            "sweep",
            &c,
            "--workdir",
            &dry.display().to_string(),
            "--vary",
            "stages.quality.min_words=1,6",
            "--dry-run",
        ],
    );
    r.expect_code(0, "sweep --dry-run");
    assert!(
        r.stdout.contains("2 arm(s) × 3 seed(s) = 6 run(s)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("estimate:"), "{}", r.stdout);
    assert!(
        !dry.exists(),
        "a dry run writes nothing in the sweep directory"
    );
}

#[test]
fn a_shared_stage_file_named_relative_to_the_run_directory_reaches_every_point() {
    // The LEM study's shape: a shared tokenizer written as `tokenizer.json` in the first
    // point's run directory, read by a later stage of every point by that relative name.
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let input = d.join("input.txt");
    std::fs::write(&input, synthetic_lines(400, 5)).expect("write input");
    let cfg = write(
        d,
        "tok.toml",
        &format!(
            r#"[run]
name = "tk"

[stages.raw]
type = "text_reader"
paths = [{}]

[stages.tok]
type = "train_tokenizer"
inputs = ["raw"]
model = "wordpiece"
vocab_size = 300
path = "tokenizer.json"

[stages.masks]
type = "plan_masks"
inputs = ["tok"]
tokenizer = "tokenizer.json"
masking = "token"

[stages.out]
type = "jsonl_writer"
inputs = ["masks"]
path = "out.jsonl"
"#,
            lit(&input)
        ),
    );
    let sw = d.join("sw");
    run_in(
        d,
        &[
            "sweep",
            &cfg.display().to_string(),
            "--workdir",
            &sw.display().to_string(),
            "--vary",
            "stages.masks.mask_prob=0.8,0.9",
            "--seeds",
            "1,2",
            "--shared",
            "tok",
        ],
    )
    .expect_code(0, "sweep --shared tok");
    let first = std::fs::read(sw.join("mask_prob=0.8-s1/tokenizer.json")).unwrap();
    for n in ["mask_prob=0.8-s2", "mask_prob=0.9-s1", "mask_prob=0.9-s2"] {
        let m = manifest(&sw.join(n));
        assert_ne!(
            stage(&m, "tok")["status"],
            "ran",
            "{n}: tokenizer retrained"
        );
        assert_eq!(stage(&m, "masks")["status"], "ran", "{n}");
        let tok = std::fs::read(sw.join(n).join("tokenizer.json")).unwrap();
        assert_eq!(tok, first, "{n}: the shared tokenizer file");
    }
}

#[test]
fn named_arms_set_several_keys_and_shipped_arms_files_validate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 600);
    let arms = write(
        d,
        "sweep.arms.toml",
        "[loose]\n\n[strict.stages.quality]\nmin_words = 14\n\n[strict.stages.out]\npath = \"strict.jsonl\"\n",
    );
    let sw = d.join("sw");
    run_in(
        d,
        &[
            "sweep",
            &cfg.display().to_string(),
            "--workdir",
            &sw.display().to_string(),
            "--arms",
            &arms.display().to_string(),
            "--seeds",
            "1,2",
        ],
    )
    .expect_code(0, "sweep --arms");
    assert!(sw.join("loose-s2/out.jsonl").is_file());
    assert!(sw.join("strict-s1/strict.jsonl").is_file(), "both keys set");
    let loose = manifest(&sw.join("loose-s1"));
    let strict = manifest(&sw.join("strict-s1"));
    assert!(
        stage(&strict, "quality")["counts"]["kept"].as_u64()
            < stage(&loose, "quality")["counts"]["kept"].as_u64(),
        "min_words = 14 keeps fewer records"
    );
    let md = std::fs::read_to_string(sw.join("results.md")).unwrap();
    assert!(md.contains("strict") && md.contains("loose"), "{md}");

    // Every shipped `<study>.arms.toml` applies to `<study>.toml`, or to the config its
    // `# config: PATH` line names: each arm's settings validate through `mavuno plan --set`.
    let studies = crate::support::repo_root().join("configs/studies");
    let mut checked = 0;
    for e in std::fs::read_dir(&studies).unwrap().flatten() {
        let p = e.path();
        let Some(stem) = p.to_str().and_then(|s| s.strip_suffix(".arms.toml")) else {
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        let config = text
            .lines()
            .find_map(|l| l.strip_prefix("# config: "))
            .map(|c| crate::support::repo_root().join(c.trim()))
            .unwrap_or_else(|| PathBuf::from(format!("{stem}.toml")));
        assert!(
            config.is_file(),
            "{}: no config {}",
            p.display(),
            config.display()
        );
        let config = config.display().to_string();
        let named = mavuno_pipeline::sweep::arms::parse_arms(&text, &p.display().to_string())
            .expect("arms file parses");
        for (name, settings) in named {
            let mut args = vec![
                "plan".to_string(),
                config.clone(),
                "--workdir".into(),
                d.join("plan").display().to_string(),
            ];
            for (k, v) in settings {
                args.push("--set".into());
                args.push(format!("{k}={v}"));
            }
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            run_in(&crate::support::repo_root(), &a)
                .expect_code(0, &format!("{name} in {}", p.display()));
            checked += 1;
        }
    }
    assert!(checked >= 4, "the CLIMB arms were checked ({checked})");
}
