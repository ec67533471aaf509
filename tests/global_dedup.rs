//! Global dedup across shards: a config with `dedup_exact` and `dedup_near` run as
//! n = 1, 3 and 7 shards (map, `mavuno reduce`, apply) keeps exactly what the single run
//! keeps, finds the same near-duplicate pairs and drops as many records per reason, on
//! real text (Masakhane raw Hausa and Yoruba) with duplicates injected across files, by
//! file and by record, and with `verify = true` (shingles in the map files); also with
//! each reduce split in K band-range tasks (and `dedup_near`'s cluster step).

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Eight input files of real lines, with exact copies (changed in case and punctuation)
/// and one-word edits of lines of other files injected.
pub(crate) fn corpus(d: &Path) -> Vec<PathBuf> {
    let mut lines = Vec::new();
    for lang in ["hau", "yor"] {
        let p = data_file("global_dedup", &format!("masakhane_raw_text/{lang}.txt"));
        let t = std::fs::read_to_string(&p).expect("read corpus");
        lines.extend(
            t.lines()
                .filter(|l| l.chars().count() >= 60)
                .take(1200)
                .map(str::to_string),
        );
    }
    let files = 8;
    let per = lines.len() / files;
    let mut parts: Vec<Vec<String>> = lines
        .chunks(per)
        .take(files)
        .map(<[String]>::to_vec)
        .collect();
    // Duplicates of file f's lines land in file (f + 3) mod 8 and (f + 5) mod 8, so they
    // cross shards for every shard count tested.
    for f in 0..files {
        for j in (0..per).step_by(17) {
            let src = parts[f][j].clone();
            let exact = format!("  {}!! ", src.to_uppercase());
            let mut words: Vec<&str> = src.split(' ').collect();
            let k = words.len() / 2;
            words[k] = "kalmaa";
            let near = words.join(" ");
            parts[(f + 3) % files].insert(j / 2, exact);
            parts[(f + 5) % files].push(near.clone());
            if j % 34 == 0 {
                // A near duplicate of a near duplicate, in a third file.
                parts[(f + 6) % files].push(format!("{near} ni"));
            }
        }
    }
    parts
        .iter()
        .enumerate()
        .map(|(f, p)| write(d, &format!("in/part-{f}.txt"), &(p.join("\n") + "\n")))
        .collect()
}

fn config(d: &Path, files: &[PathBuf], shard_by: &str, verify: bool) -> PathBuf {
    let paths: Vec<String> = files.iter().map(|p| lit(p)).collect();
    write(
        d,
        &format!("g-{shard_by}-{verify}.toml"),
        &format!(
            "[run]\nname = \"g\"\nshard_by = \"{shard_by}\"\n\n\
             [stages.raw]\ntype = \"text_reader\"\npaths = [{}]\n\n\
             [stages.exact]\ntype = \"dedup_exact\"\ninputs = [\"raw\"]\n\n\
             [stages.near]\ntype = \"dedup_near\"\ninputs = [\"exact\"]\nthreshold = 0.7\nverify = {verify}\n\n\
             [stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"near\"]\npath = \"out.jsonl\"\n",
            paths.join(", ")
        ),
    )
}

/// What a run (or the union of a sharded run's shards) produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// (id, text) → count of records written.
    records: BTreeMap<(String, String), usize>,
    /// Near-duplicate pairs (id, dup_of).
    pairs: BTreeMap<(String, String), usize>,
    /// (stage, reason) → records dropped.
    dropped: BTreeMap<(String, String), u64>,
}

fn add(o: &mut Outcome, dir: &Path) {
    for r in read_jsonl(&dir.join("out.jsonl")) {
        let k = (
            r["id"].as_str().unwrap_or("").to_string(),
            r["text"].as_str().unwrap_or("").to_string(),
        );
        *o.records.entry(k).or_insert(0) += 1;
    }
    for r in read_jsonl(&dir.join("dedup_near_clusters.jsonl")) {
        let k = (
            r["id"].as_str().unwrap_or("").to_string(),
            r["dup_of"].as_str().unwrap_or("").to_string(),
        );
        *o.pairs.entry(k).or_insert(0) += 1;
    }
    let m = manifest(dir);
    for id in ["exact", "near"] {
        let s = stage(&m, id);
        // Both ran in the last phase: `exact` applies its decisions again rather than
        // being replayed from a checkpoint (`run/phases.rs`, `recomputed`).
        let status = s["status"].as_str().unwrap_or("");
        assert_eq!(status, "ran", "{}: stage {id}", dir.display());
        if let Some(d) = s["counts"]["dropped"].as_object() {
            for (reason, n) in d {
                *o.dropped.entry((id.into(), reason.clone())).or_insert(0) +=
                    n.as_u64().unwrap_or(0);
            }
        }
    }
}

fn empty() -> Outcome {
    Outcome {
        records: BTreeMap::new(),
        pairs: BTreeMap::new(),
        dropped: BTreeMap::new(),
    }
}

/// Runs every shard, reduces whatever stage they stopped at, and again, until every
/// shard ran to the end; returns the stages reduced, in order. With `ranges` > 1 each
/// reduce is split in that many `--band-range k/K` tasks, and `dedup_near`'s ranges are
/// joined by its `--cluster` step.
pub(crate) fn run_sharded(d: &Path, cfg: &Path, runs: &Path, n: u64, ranges: u64) -> Vec<String> {
    let (cfgs, runss) = (cfg.display().to_string(), runs.display().to_string());
    let mut reduced = Vec::new();
    for _phase in 0..4 {
        let mut pending = None;
        for i in 0..n {
            let r = run_in(
                d,
                &[
                    "run",
                    &cfgs,
                    "--workdir",
                    &runss,
                    "--shard",
                    &format!("{i}/{n}"),
                ],
            );
            r.expect_code(0, &format!("shard {i}/{n}"));
            let p = r
                .stderr
                .split("Map phase of global stage \"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .map(str::to_string);
            assert!(
                i == 0 || p == pending,
                "shards disagree on the phase: {p:?} vs {pending:?}"
            );
            pending = p;
        }
        let Some(stage) = pending else {
            return reduced;
        };
        let reduce = |extra: &[&str]| {
            let mut a = vec!["reduce", &cfgs, "--workdir", &runss, "--stage", &stage];
            a.extend_from_slice(extra);
            run_in(d, &a).expect_code(0, &format!("reduce {stage} {extra:?}"));
        };
        if ranges == 1 {
            reduce(&[]);
        } else {
            for k in 0..ranges {
                reduce(&["--band-range", &format!("{k}/{ranges}")]);
            }
            if stage == "near" {
                reduce(&["--cluster"]);
            }
        }
        reduced.push(stage);
    }
    panic!("shards did not finish after 4 phases");
}

#[test]
fn sharded_global_dedup_equals_the_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let files = corpus(d);
    // The record split is also run with `verify = true` (exact Jaccard of shingles, which
    // then travel in the map files).
    for (shard_by, verify) in [("file", false), ("record", false), ("record", true)] {
        let cfg = config(d, &files, shard_by, verify);
        let single_runs = d.join(format!("single-{shard_by}-{verify}"));
        run_config(d, &cfg, &single_runs, &[]).expect_code(0, "single run");
        let mut single = empty();
        add(&mut single, &single_runs.join("g"));
        let exact = single
            .dropped
            .get(&("exact".into(), "exact_duplicate".into()))
            .copied();
        let near = single
            .dropped
            .get(&("near".into(), "near_duplicate".into()))
            .copied();
        assert!(
            exact.unwrap_or(0) >= 100 && near.unwrap_or(0) >= 100,
            "injected duplicates found: {:?}",
            single.dropped
        );
        // (shards, reduce ranges): K > 1 splits each reduce by key / band range.
        let counts: &[(u64, u64)] = match (shard_by, verify) {
            ("file", _) => &[(1, 1), (3, 1), (7, 1), (3, 4)],
            (_, false) => &[(3, 1)],
            (_, true) => &[(3, 3)],
        };
        for &(n, ranges) in counts {
            let runs = d.join(format!("runs-{shard_by}-{verify}-{n}-{ranges}"));
            let reduced = run_sharded(d, &cfg, &runs, n, ranges);
            assert_eq!(
                reduced,
                ["exact", "near"],
                "n = {n}: both global stages reduced"
            );
            let mut union = empty();
            let mut shard_of: BTreeMap<String, u64> = BTreeMap::new();
            for i in 0..n {
                let dir = runs.join(format!("g/shard-{i}-of-{n}"));
                add(&mut union, &dir);
                // The reader and `exact` (in its apply phase) are computed again in each
                // phase, not checkpointed; `near`'s signatures went to its side files.
                for id in ["raw", "exact"] {
                    let checkpoints = std::fs::read_dir(dir.join(".cache").join(id))
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .ends_with(".records.jsonl.zst")
                        })
                        .count();
                    assert_eq!(checkpoints, 0, "{}: {id} checkpointed", dir.display());
                }
                let side = runs.join(format!("g/global/near/side/shard-{i}-of-{n}.bin"));
                assert!(side.is_file(), "{} missing", side.display());
                for r in read_jsonl(&dir.join("out.jsonl")) {
                    shard_of.insert(r["id"].as_str().unwrap_or("").into(), i);
                }
                for r in read_jsonl(&dir.join("dedup_near_clusters.jsonl")) {
                    shard_of
                        .entry(r["id"].as_str().unwrap_or("").into())
                        .or_insert(i);
                }
            }
            assert_eq!(
                union.records, single.records,
                "n = {n}, K = {ranges} ({shard_by}): records kept"
            );
            assert_eq!(
                union.pairs, single.pairs,
                "n = {n}, K = {ranges} ({shard_by}): near-duplicate pairs"
            );
            assert_eq!(
                union.dropped, single.dropped,
                "n = {n}, K = {ranges} ({shard_by}): drops per reason"
            );
            if n > 1 {
                let cross = union
                    .pairs
                    .keys()
                    .filter(|(id, of)| shard_of.get(id) != shard_of.get(of))
                    .count();
                assert!(
                    cross > 10,
                    "n = {n}: near duplicates across shards were found ({cross})"
                );
            }
        }
    }
}

#[test]
fn reduce_names_missing_shards_and_wrong_stages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let files: Vec<PathBuf> = (0..3)
        .map(|k| write(d, &format!("in/{k}.txt"), &synthetic_lines(200, k + 1)))
        .collect();
    let cfg = config(d, &files, "file", false);
    let (cfgs, runs) = (
        cfg.display().to_string(),
        d.join("runs").display().to_string(),
    );
    run_in(d, &["run", &cfgs, "--workdir", &runs, "--shard", "0/3"]).expect_code(0, "shard 0/3");
    let r = run_in(
        d,
        &["reduce", &cfgs, "--workdir", &runs, "--stage", "exact"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("1/3, 2/3"),
        "names the missing shards:\n{}",
        r.stderr
    );
    let r = run_in(d, &["reduce", &cfgs, "--workdir", &runs, "--stage", "out"]);
    assert!(
        r.code != 0 && r.stderr.contains("not a global stage"),
        "{}",
        r.stderr
    );
    // The shard stopped at the map of `exact`: its output is not written yet.
    assert!(!d.join("runs/g/shard-0-of-3/out.jsonl").exists());
}

/// Runs `argv` once per task index, with the index in environment variable `var` (as a
/// scheduler would), one after another; every task must succeed.
pub(crate) fn run_tasks(argv: &[&str], tasks: u64, var: &str) {
    for t in 0..tasks {
        let out = std::process::Command::new(argv[0])
            .args(&argv[1..])
            .env(var, t.to_string())
            .output()
            .expect("spawn task");
        assert!(
            out.status.success(),
            "{argv:?} task {t}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The corpus, its config (sharded by `shard_by`) and the single run's outcome.
fn single_run(d: &Path, shard_by: &str) -> (PathBuf, Outcome) {
    let files = corpus(d);
    let cfg = config(d, &files, shard_by, false);
    let single_runs = d.join("single");
    run_config(d, &cfg, &single_runs, &[]).expect_code(0, "single run");
    let mut single = empty();
    add(&mut single, &single_runs.join("g"));
    (cfg, single)
}

/// The union of the shards' outcomes of a run with `n` shards in `runs`.
fn union_of(runs: &Path, n: u64) -> Outcome {
    let mut union = empty();
    for i in 0..n {
        add(&mut union, &runs.join(format!("g/shard-{i}-of-{n}")));
    }
    union
}

/// `mavuno slurm CONFIG --shards N --band-ranges K --dry-run` into `runs`: its output and
/// the sbatch scripts it wrote, in submission order, and their file names.
pub(crate) fn slurm_dry_run(
    d: &Path,
    cfg: &Path,
    runs: &Path,
    shards: u64,
    ranges: u64,
) -> (Run, Vec<PathBuf>, Vec<String>) {
    let (cfgs, runss) = (cfg.display().to_string(), runs.display().to_string());
    let (n, k) = (shards.to_string(), ranges.to_string());
    let r = run_in(
        d,
        &[
            "slurm",
            &cfgs,
            "--workdir",
            &runss,
            "--shards",
            &n,
            "--band-ranges",
            &k,
            "--dry-run",
        ],
    );
    r.expect_code(0, "slurm --dry-run");
    let dir = std::fs::read_dir(runs.join("g/slurm")).expect("slurm dir");
    let mut scripts: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .collect();
    scripts.sort();
    let names = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    (r, scripts, names)
}

/// Runs each script in order, every task of an array (`#SBATCH --array=0-M`) with its
/// `SLURM_ARRAY_TASK_ID`, as sbatch would.
pub(crate) fn run_scripts(scripts: &[PathBuf]) {
    for s in scripts {
        let body = std::fs::read_to_string(s).expect("script");
        let tasks = body
            .lines()
            .find_map(|l| l.strip_prefix("#SBATCH --array=0-"))
            .map(|n| n.parse::<u64>().expect("array size") + 1);
        run_tasks(
            &["bash", &s.display().to_string()],
            tasks.unwrap_or(1),
            "SLURM_ARRAY_TASK_ID",
        );
    }
}

/// `mavuno slurm --band-ranges K --dry-run` writes the chain a cluster would run: shard
/// arrays, each reduce as an array of K band-range tasks, dedup_near's cluster job after
/// its array. Running the scripts in that order (each array task with its
/// `SLURM_ARRAY_TASK_ID`, as sbatch would) gives the single run's output.
#[test]
fn slurm_scripts_split_the_reduce_by_band_range_and_equal_the_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let (cfg, single) = single_run(d, "file");

    let runs = d.join("runs");
    let (r, scripts, names) = slurm_dry_run(d, &cfg, &runs, 3, 2);
    assert_eq!(
        names,
        [
            "00-shards-0.sbatch",
            "01-reduce-exact.sbatch",
            "02-shards-1.sbatch",
            "03-reduce-near.sbatch",
            "04-cluster-near.sbatch",
            "05-shards-2.sbatch",
        ]
    );
    let text = |i: usize| std::fs::read_to_string(&scripts[i]).expect("script");
    for i in [1, 3] {
        assert!(text(i).contains("#SBATCH --array=0-1\n"), "{}", text(i));
        assert!(
            text(i).contains("--band-range \"$SLURM_ARRAY_TASK_ID/2\""),
            "{}",
            text(i)
        );
    }
    assert!(text(4).contains("--cluster") && !text(4).contains("--array"));
    assert!(text(0).contains("#SBATCH --array=0-2\n"));
    // Every job after the first is submitted with afterok on the one before.
    assert_eq!(
        r.stdout.matches("--dependency=afterok:<id>").count(),
        scripts.len()
    );
    run_scripts(&scripts);
    assert_eq!(
        union_of(&runs, 3),
        single,
        "the Slurm chain's output equals the single run"
    );
}

/// `mavuno k8s` writes one Indexed Job per step, in the order to apply them; each is a
/// batch/v1 Job whose pods read their index from `JOB_COMPLETION_INDEX`. Running each
/// Job's container command for every index, in that order, gives the single run's output.
#[test]
fn k8s_indexed_jobs_follow_the_chain_and_equal_the_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let (cfg, single) = single_run(d, "record");

    let runs = d.join("runs");
    let (cfgs, runss) = (cfg.display().to_string(), runs.display().to_string());
    let r = run_in(
        d,
        &[
            "k8s",
            &cfgs,
            "--workdir",
            &runss,
            "--shards",
            "2",
            "--band-ranges",
            "3",
            "--image",
            "registry.example/mavuno:1",
            "--binary",
            BIN,
            "--pvc",
            "corpus",
            "--mem",
            "2Gi",
        ],
    );
    r.expect_code(0, "k8s");
    let applied: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kubectl apply -f "))
        .collect();
    let waited: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kubectl wait --for=condition=complete --timeout=-1s job/"))
        .collect();
    let names: Vec<String> = applied
        .iter()
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "00-shards-0.json",
            "01-reduce-exact.json",
            "02-shards-1.json",
            "03-reduce-near.json",
            "04-cluster-near.json",
            "05-shards-2.json",
        ]
    );
    assert_eq!(waited.len(), applied.len());
    let expect_tasks = [2, 3, 2, 3, 1, 2];
    for ((p, name), tasks) in applied.iter().zip(&waited).zip(expect_tasks) {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).expect("manifest")).expect("json");
        assert_eq!(m["apiVersion"], "batch/v1");
        assert_eq!(m["kind"], "Job");
        assert_eq!(m["metadata"]["name"], *name);
        assert!(
            name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
        let spec = &m["spec"];
        assert_eq!(spec["completionMode"], "Indexed");
        assert_eq!(spec["completions"], tasks);
        assert_eq!(spec["parallelism"], tasks);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(
            pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "corpus"
        );
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "registry.example/mavuno:1");
        assert_eq!(c["volumeMounts"][0]["name"], pod["volumes"][0]["name"]);
        assert_eq!(c["resources"]["requests"]["memory"], "2Gi");
        let argv: Vec<&str> = c["command"]
            .as_array()
            .expect("command")
            .iter()
            .map(|a| a.as_str().expect("string"))
            .collect();
        assert_eq!(argv[..2], ["sh", "-c"]);
        if tasks > 1 {
            assert!(argv[2].contains("$JOB_COMPLETION_INDEX/"), "{}", argv[2]);
        }
        run_tasks(&argv, tasks, "JOB_COMPLETION_INDEX");
    }
    assert_eq!(
        union_of(&runs, 2),
        single,
        "the Indexed Jobs' output equals the single run"
    );
}
