//! Engine tests with small test-only stages: accounting, determinism across batch sizes
//! and thread counts, back-pressure, resume after a failure, multi-input diamonds, and
//! config error messages.

use mavuno_pipeline::config::{self, Validator};
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::run::{execute, RunOptions};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Provenance, Record, Registry, Source, Stage, StageConfig,
    StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Generates `n` records; every 10th is "bad" and rejected.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
struct GenConfig {
    /// How many records.
    n: u64,
    /// Delay per record in microseconds.
    #[serde(default)]
    delay_us: u64,
    /// Count produced records in PRODUCED (only the back-pressure test sets it, so
    /// tests running in parallel do not disturb the count).
    #[serde(default)]
    probe: bool,
}

static PRODUCED: AtomicU64 = AtomicU64::new(0);

impl StageConfig for GenConfig {
    const TYPE: &'static str = "gen";
    const KIND: StageKind = StageKind::Source;
    fn validate(&self, v: &mut Validator) {
        v.range("n", self.n, 1, 10_000_000);
    }
    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Source(Box::new(Gen {
            n: self.n,
            delay: self.delay_us,
            probe: self.probe,
            shard: ctx.record_shard(1),
        })))
    }
}

struct Gen {
    n: u64,
    delay: u64,
    probe: bool,
    shard: Option<(u64, u64)>,
}

impl Source for Gen {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        let file: Arc<str> = Arc::from("gen");
        for i in 0..self.n {
            if out.cancelled() {
                return Ok(());
            }
            if !out.take_next() {
                continue;
            }
            if self.delay > 0 {
                std::thread::sleep(std::time::Duration::from_micros(self.delay));
            }
            if self.probe {
                PRODUCED.fetch_add(1, Ordering::SeqCst);
            }
            let prov = Provenance {
                file: file.clone(),
                line: i + 1,
            };
            if i % 10 == 9 {
                out.reject_raw(&prov, "bad record", "??");
                continue;
            }
            let mut r = Record::new(
                format!("gen:{}", i + 1),
                format!("record number {i} {}", "x".repeat((i % 7) as usize)),
            );
            r.source = Some(prov);
            out.keep(r);
        }
        Ok(())
    }
}

/// Drops records whose number is divisible by `modulo`; splits others in two; uses rayon.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
struct ChurnConfig {
    /// Drop every record whose number is divisible by this.
    modulo: u64,
    /// Fail when this record number is seen (simulated crash).
    #[serde(default)]
    fail_at: Option<u64>,
    /// Sleep per batch, microseconds (slow consumer).
    #[serde(default)]
    sleep_us: u64,
}

impl StageConfig for ChurnConfig {
    const TYPE: &'static str = "churn";
    const KIND: StageKind = StageKind::Streaming;
    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Churn {
            modulo: self.modulo,
            fail_at: self.fail_at,
            sleep: self.sleep_us,
            consumed: 0,
        })))
    }
}

struct Churn {
    modulo: u64,
    fail_at: Option<u64>,
    sleep: u64,
    consumed: u64,
}

impl Stage for Churn {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        use rayon::prelude::*;
        if self.sleep > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.sleep));
        }
        self.consumed += batch.len() as u64;
        let nums: Vec<u64> = batch
            .par_iter()
            .map(|r| r.id.trim_start_matches("gen:").parse::<u64>().unwrap_or(0))
            .collect();
        for (r, n) in batch.into_iter().zip(nums) {
            if Some(n) == self.fail_at {
                return Err(StageError::msg(format!("simulated crash at {n}")));
            }
            if n % self.modulo == 0 {
                out.drop(r, "divisible");
            } else {
                let a = Record::new(format!("{}#a", r.id), r.text.clone());
                let b = Record::new(format!("{}#b", r.id), r.text.to_uppercase());
                out.keep_many([a, b]);
            }
        }
        Ok(())
    }
}

/// Writes ids and texts to a file atomically.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
struct DumpConfig {
    /// Output path.
    path: String,
}

impl StageConfig for DumpConfig {
    const TYPE: &'static str = "dump";
    const KIND: StageKind = StageKind::Sink;
    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Dump {
            file: Some(AtomicFile::create(&ctx.output_path(&self.path))?),
            done: Vec::new(),
        })))
    }
}

struct Dump {
    file: Option<AtomicFile>,
    done: Vec<PathBuf>,
}

impl Stage for Dump {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| StageError::msg("closed"))?;
        for r in batch {
            writeln!(f, "{}\t{}", r.id, r.text).map_err(|e| StageError::io("dump", e))?;
            out.keep(r);
        }
        Ok(())
    }
    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        if let Some(f) = self.file.take() {
            self.done.push(f.commit()?);
        }
        Ok(())
    }
    fn outputs(&self) -> Vec<PathBuf> {
        self.done.clone()
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add::<GenConfig>();
    r.add::<ChurnConfig>();
    r.add::<DumpConfig>();
    r
}

const CHAIN: &str = r#"
[run]
name = "t"
seed = 7

[stages.src]
type = "gen"
n = 2000

[stages.churn]
type = "churn"
inputs = ["src"]
modulo = 3

[stages.churn2]
type = "churn"
inputs = ["churn"]
modulo = 1000000

[stages.out]
type = "dump"
inputs = ["churn2"]
path = "out.tsv"
"#;

fn run_cfg(
    text: &str,
    workdir: &Path,
    sets: &[&str],
) -> Result<mavuno_pipeline::run::RunSummary, mavuno_pipeline::RunError> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let plan = config::parse(text, Path::new("test.toml"), &sets, &registry())
        .map_err(mavuno_pipeline::RunError::Config)?;
    execute(
        &plan,
        &RunOptions {
            workdir: Some(workdir.to_path_buf()),
            shard: None,
            progress: false,
        },
    )
}

#[test]
fn accounting_balances_and_is_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_cfg(CHAIN, dir.path(), &[]).unwrap();
    let src = &s.stages[0].counts;
    assert_eq!((src.records_in, src.kept, src.rejected), (2000, 1800, 200));
    let churn = &s.stages[1].counts;
    assert_eq!(churn.records_in, 1800);
    assert_eq!(churn.dropped["divisible"], 600);
    assert_eq!(churn.records_out, 2400);
    for st in &s.stages {
        assert!(st.counts.balances(), "{}: {:?}", st.id, st.counts);
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("t/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["status"], "succeeded");
    assert_eq!(m["rejected_total"], 200);
    let rejects = std::fs::read_to_string(dir.path().join("t/rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 200);
    assert!(
        rejects
            .lines()
            .next()
            .unwrap()
            .contains(r#""source":"gen:10""#),
        "{}",
        rejects.lines().next().unwrap()
    );
    assert_eq!(
        m["stages"][3]["outputs"][0]["bytes"].as_u64().unwrap(),
        std::fs::metadata(dir.path().join("t/out.tsv"))
            .unwrap()
            .len()
    );
}

#[test]
fn output_is_identical_for_any_batch_size_and_thread_count() {
    let mut outputs = Vec::new();
    for (bs, th, cap) in [(1, 1, 1), (7, 2, 8), (1000, 2, 4), (3, 1, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let sets = [
            format!("run.batch_size={bs}"),
            format!("run.threads={th}"),
            format!("run.channel_capacity={cap}"),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        run_cfg(CHAIN, dir.path(), &sets).unwrap();
        outputs.push((
            std::fs::read(dir.path().join("t/out.tsv")).unwrap(),
            std::fs::read(dir.path().join("t/rejects.jsonl")).unwrap(),
        ));
    }
    for o in &outputs[1..] {
        assert!(
            o == &outputs[0],
            "outputs differ across batch sizes / threads"
        );
    }
}

#[test]
fn a_failed_run_commits_nothing_and_the_rerun_matches_a_clean_run() {
    let clean = tempfile::tempdir().unwrap();
    run_cfg(CHAIN, clean.path(), &[]).unwrap();
    let expected = std::fs::read(clean.path().join("t/out.tsv")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let err = run_cfg(CHAIN, dir.path(), &["stages.churn.fail_at=1501"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stage `churn` failed: simulated crash at 1501"
    );
    assert!(
        !dir.path().join("t/out.tsv").exists(),
        "a failed run must not commit outputs"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("t/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["status"], "failed");
    // The same config without the crash: writes exactly the clean output.
    run_cfg(CHAIN, dir.path(), &[]).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("t/out.tsv")).unwrap(),
        expected
    );
}

#[test]
fn rerun_skips_complete_stages_and_replays_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = run_cfg(CHAIN, dir.path(), &["run.checkpoint=\"all\""]).unwrap();
    assert!(s1.stages.iter().all(|s| s.status == "ran"));
    let s2 = run_cfg(CHAIN, dir.path(), &["run.checkpoint=\"all\""]).unwrap();
    assert!(
        s2.stages.iter().all(|s| s.status == "cached"),
        "{:?}",
        s2.stages.iter().map(|s| &s.status).collect::<Vec<_>>()
    );
    // Change only the last stage: upstream is replayed from its checkpoint, not rerun.
    let changed = CHAIN.replace("path = \"out.tsv\"", "path = \"out2.tsv\"");
    let s3 = run_cfg(&changed, dir.path(), &["run.checkpoint=\"all\""]).unwrap();
    let status: Vec<&str> = s3.stages.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(status, ["cached", "cached", "replayed", "ran"]);
    assert_eq!(
        std::fs::read(dir.path().join("t/out.tsv")).unwrap(),
        std::fs::read(dir.path().join("t/out2.tsv")).unwrap()
    );
    // Batch size and threads are not part of the key.
    let s4 = run_cfg(
        &changed,
        dir.path(),
        &[
            "run.checkpoint=\"all\"",
            "run.batch_size=5",
            "run.threads=1",
        ],
    )
    .unwrap();
    assert!(s4.stages.iter().all(|s| s.status == "cached"));
}

#[test]
fn a_stage_seed_pins_its_key_across_run_seeds() {
    let plan = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        config::parse(CHAIN, Path::new("test.toml"), &sets, &registry()).unwrap()
    };
    let opts = RunOptions {
        workdir: None,
        shard: None,
        progress: false,
    };
    let keys = |sets: &[&str]| -> Vec<String> {
        mavuno_pipeline::run::describe(&plan(sets), &opts)
            .into_iter()
            .map(|s| s.key)
            .collect()
    };
    let a = keys(&["run.seed=1"]);
    let b = keys(&["run.seed=2"]);
    assert!(
        a.iter().zip(&b).all(|(x, y)| x != y),
        "the run seed is in every key"
    );
    let pin = ["stages.src.seed=5", "stages.churn.seed=5"];
    let a = keys(&[&["run.seed=1"][..], &pin].concat());
    let b = keys(&[&["run.seed=2"][..], &pin].concat());
    assert_eq!(a[..2], b[..2], "pinned stages share their keys");
    assert_ne!(
        a[2], b[2],
        "an unpinned stage downstream still follows the run seed"
    );
    assert_eq!(plan(&pin).stage("src").unwrap().seed, 5);
    assert_eq!(plan(&pin).stage("churn2").unwrap().seed, 7);
    let errs = config::parse(
        CHAIN,
        Path::new("test.toml"),
        &["stages.src.seed=-1".to_string()],
        &registry(),
    )
    .unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("stages.src.seed")),
        "{errs:?}"
    );
}

#[test]
fn diamond_with_two_inputs_does_not_deadlock_and_reads_inputs_in_order() {
    let cfg = r#"
[run]
name = "d"
batch_size = 2
channel_capacity = 1

[stages.src]
type = "gen"
n = 500

[stages.left]
type = "churn"
inputs = ["src"]
modulo = 2

[stages.right]
type = "churn"
inputs = ["src"]
modulo = 5

[stages.out]
type = "dump"
inputs = ["left", "right"]
path = "out.tsv"
"#;
    let dir = tempfile::tempdir().unwrap();
    let s = run_cfg(cfg, dir.path(), &[]).unwrap();
    let out = s.stages.iter().find(|s| s.id == "out").unwrap();
    let left = s.stages.iter().find(|s| s.id == "left").unwrap();
    let right = s.stages.iter().find(|s| s.id == "right").unwrap();
    assert_eq!(
        out.counts.records_in,
        left.counts.records_out + right.counts.records_out
    );
    let text = std::fs::read_to_string(dir.path().join("d/out.tsv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let split = left.counts.records_out as usize;
    // Both branches start with record 1; the second input's copy comes after all of the first's.
    assert!(
        lines[..split].iter().all(|l| !l.starts_with("gen:2#")),
        "record 2 (even) comes only from the right branch"
    );
    assert_eq!(
        lines[0], lines[split],
        "the second input starts right after the first ends"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("gen:1#a\t")).count(),
        2
    );
}

#[test]
fn back_pressure_bounds_how_far_the_reader_runs_ahead() {
    // A slow consumer with capacity 1 and batch 4: the reader may be ahead by at most the
    // channel (1 batch) + the reader's emitter buffer (1 batch) + the batch in process.
    let cfg = r#"
[run]
name = "bp"
batch_size = 4
channel_capacity = 1

[stages.src]
type = "gen"
n = 400
probe = true

[stages.slow]
type = "probe"
inputs = ["src"]
"#;
    let mut reg = registry();
    reg.add::<ProbeConfig>();
    PRODUCED.store(0, Ordering::SeqCst);
    let plan = config::parse(cfg, Path::new("bp.toml"), &[], &reg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    execute(
        &plan,
        &RunOptions {
            workdir: Some(dir.path().to_path_buf()),
            shard: None,
            progress: false,
        },
    )
    .unwrap();
    let max_ahead = MAX_AHEAD.load(Ordering::SeqCst);
    // Rejected records (every 10th) count as produced too; 3 batches of 4 kept records
    // span at most 14 produced records.
    assert!(
        max_ahead <= 14,
        "reader ran {max_ahead} records ahead of the consumer"
    );
    assert!(
        max_ahead >= 4,
        "probe saw no lag at all ({max_ahead}): the test is not measuring"
    );
}

static MAX_AHEAD: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
struct ProbeConfig {}

impl StageConfig for ProbeConfig {
    const TYPE: &'static str = "probe";
    const KIND: StageKind = StageKind::Streaming;
    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Probe {
            consumed_produced: 0,
        })))
    }
}

struct Probe {
    consumed_produced: u64,
}

impl Stage for Probe {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        std::thread::sleep(std::time::Duration::from_millis(2));
        // Position of the last record consumed, in produced-record units (ids are 1-based lines).
        if let Some(last) = batch.last() {
            self.consumed_produced = last.id.trim_start_matches("gen:").parse().unwrap_or(0);
        }
        let ahead = PRODUCED
            .load(Ordering::SeqCst)
            .saturating_sub(self.consumed_produced);
        MAX_AHEAD.fetch_max(ahead, Ordering::SeqCst);
        for r in batch {
            out.keep(r);
        }
        Ok(())
    }
}

#[test]
fn config_errors_are_all_reported_with_key_and_line() {
    let cfg = r#"[run]
name = "x"
batch_size = 0
colour = "red"

[stages.src]
type = "gen"
n = 0

[stages.mid]
type = "chrun"
inputs = ["src"]

[stages.a]
type = "churn"
inputs = ["b", "srcc"]
modulo = 2
modulus = 3

[stages.b]
type = "churn"
inputs = ["a"]
modulo = 2
"#;
    let errs = config::parse(cfg, Path::new("configs/bad.toml"), &[], &registry()).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text,
        [
            "configs/bad.toml:4: run.colour: unknown field",
            "configs/bad.toml:18: stages.a.modulus: unknown field for stage type \"churn\", did you mean \"modulo\"?",
            "configs/bad.toml:11: stages.mid.type: unknown stage type \"chrun\", did you mean \"churn\"?",
            "configs/bad.toml:8: stages.src.n: must be in [1, 10000000], got 0",
            "configs/bad.toml:16: stages.a.inputs: input \"srcc\" names no stage, did you mean \"src\"?",
            "configs/bad.toml: stages: cycle: b -> a -> b",
        ][..]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
}
