//! The libtorch stages end to end through the binary: `train_tokenizer` → `train_mlm` →
//! `eval` (mlm) and `finetune` (ner) → `eval` (ner) on generated text, with a tiny model and
//! a few steps on the CPU. Checks the model directories and metrics files, the summary
//! records, the accounting of every stage, that a rerun skips everything, and that a run
//! killed during training resumes from its checkpoint.

use crate::support::{manifest, mavuno, run_config, run_in, stage, synthetic_lines, write};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn conll(n: usize) -> String {
    let names = ["Adé", "Bọ́lá", "Kúnlé"];
    let places = ["Èkó", "Ìbàdàn"];
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "{} B-PER\nlọ O\nsí O\n{} B-LOC\nlánàá O\n. O\n\n",
            names[i % 3],
            places[i % 2]
        ));
    }
    s
}

/// POS-tagged sentences (CoNLL `word TAG`); `shift` changes which name meets which place, so
/// the probe's test sentences are not copies of its training ones.
fn pos_conll(n: usize, shift: usize) -> String {
    let names = ["Adé", "Bọ́lá", "Kúnlé"];
    let places = ["Èkó", "Ìbàdàn"];
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "{} PROPN\nlọ VERB\nsí ADP\n{} PROPN\nlánàá ADV\n. PUNCT\n\n",
            names[i % 3],
            places[(i + shift) % 2]
        ));
    }
    s
}

/// Writes the inputs and `tiny.toml`. With `fixed_tokenizer`, the tokenizer is trained once
/// up front (by `mavuno tokenizer train`) and the `tok` stage only passes records on:
/// `train_tokenizer` is not bit-for-bit reproducible between runs, and a resumed run must
/// see the ids its checkpoints were trained with (otherwise `train_mlm` rightly starts over).
fn setup(d: &Path, steps: u64, fixed_tokenizer: bool) -> PathBuf {
    let train = write(d, "train.txt", &synthetic_lines(400, 3));
    write(d, "heldout.txt", &synthetic_lines(20, 9));
    write(d, "ner.conll", &conll(24));
    write(d, "pos-train.conll", &pos_conll(30, 0));
    write(d, "pos-test.conll", &pos_conll(12, 1));
    let (tok_stage, tok_path) = if fixed_tokenizer {
        let out = d.join("fixed-tokenizer.json");
        crate::support::run_in(
            d,
            &[
                "tokenizer",
                "train",
                "--type",
                "wordpiece",
                "--vocab-size",
                "300",
                "-o",
                out.to_str().unwrap(),
                train.to_str().unwrap(),
            ],
        )
        .expect_code(0, "tokenizer train");
        (
            "type = \"passthrough\"\ninputs = [\"text\"]".to_string(),
            out.display().to_string(),
        )
    } else {
        (
            "type = \"train_tokenizer\"\ninputs = [\"text\"]\nmodel = \"wordpiece\"\nvocab_size = 300\npath = \"tokenizer.json\"".to_string(),
            "tokenizer.json".to_string(),
        )
    };
    write(
        d,
        "tiny.toml",
        &format!(
            r#"[run]
name = "tiny"
seed = 5

[stages.text]
type = "text_reader"
paths = ["train.txt"]

[stages.tok]
{tok_stage}

[stages.train]
type = "train_mlm"
inputs = ["tok"]
tokenizer = "{tok_path}"
size = "tiny"
steps = {steps}
batch_size = 8
max_len = 32
checkpoint_every = 2
eval_every = 0
device = "cpu"
threads = 1

[stages.heldout]
type = "text_reader"
paths = ["heldout.txt"]

[stages.score]
type = "eval"
inputs = ["train", "heldout"]
task = "mlm"
device = "cpu"

[stages.ner]
type = "conll_reader"
paths = ["ner.conll"]
tag_name = "ner_tags"

[stages.ft]
type = "finetune"
inputs = ["train", "ner"]
task = "ner"
epochs = 2
batch_size = 4
max_len = 32
lr = 1e-3
device = "cpu"

[stages.ner_score]
type = "eval"
inputs = ["ft", "ner"]
task = "ner"
device = "cpu"
metrics_path = "metrics/ner.json"

[stages.pos_train]
type = "conll_reader"
paths = ["pos-train.conll"]
tag_name = "pos_tags"

[stages.pos_test]
type = "conll_reader"
paths = ["pos-test.conll"]
tag_name = "pos_tags"

# max_len 6 < 6 words + 2 specials: sentences are cut into windows, no word is lost.
[stages.probe]
type = "eval"
inputs = ["train", "pos_train", "pos_test"]
task = "pos_probe"
probe_test = ["pos-test.conll"]
max_len = 6
device = "cpu"
metrics_path = "metrics/probe.json"
"#
        ),
    )
}

fn counts(m: &Value, id: &str) -> (u64, u64, u64, u64, u64) {
    let c = &stage(m, id)["counts"];
    let dropped: u64 = c["dropped"]
        .as_object()
        .map(|o| o.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    let g = |k: &str| c[k].as_u64().unwrap_or(0);
    (
        g("records_in"),
        g("kept"),
        dropped,
        g("rejected"),
        g("records_out"),
    )
}

fn read_json(p: &Path) -> Value {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

#[test]
fn tiny_training_config_runs_end_to_end_and_accounts_for_every_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 6, false);
    let work = d.join("work");
    let r = run_config(d, &cfg, &work, &[]);
    r.expect_code(0, "tiny training run");
    let run_dir = work.join("tiny");
    let m = manifest(&run_dir);
    assert_eq!(m["status"], "succeeded");

    // Models: HF layout, plus the training logs.
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.jsonl",
        "summary.json",
    ] {
        assert!(run_dir.join("train").join(f).is_file(), "train/{f} missing");
    }
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(run_dir.join("ft").join(f).is_file(), "ft/{f} missing");
    }
    let summary = read_json(&run_dir.join("train/summary.json"));
    assert_eq!(summary["steps"], 6);
    assert!(summary["last_loss"].as_f64().is_some_and(f64::is_finite));

    // Metrics.
    let mlm = read_json(&run_dir.join("score.metrics.json"));
    let loss = mlm["metrics"]["loss"].as_f64().expect("mlm loss");
    assert!(loss.is_finite() && loss > 0.0, "{mlm}");
    assert_eq!(mlm["metrics"]["sentences"], 20);
    let ner = read_json(&run_dir.join("metrics/ner.json"));
    for k in ["precision", "recall", "f1"] {
        assert!(
            ner["metrics"][k].as_f64().is_some(),
            "ner metrics lack {k}: {ner}"
        );
    }

    // The POS probe: fit on pos-train, scored on every word of pos-test. Word identity decides
    // the tag here, so even a barely trained encoder's vectors separate the tags.
    let p = &read_json(&run_dir.join("metrics/probe.json"))["metrics"];
    assert_eq!(
        (&p["train_sentences"], &p["test_sentences"]),
        (&Value::from(30), &Value::from(12)),
        "{p}"
    );
    assert_eq!(
        (&p["test_words"], &p["unencoded_words"]),
        (&Value::from(72), &Value::from(0)),
        "{p}"
    );
    assert_eq!(
        p["items"]["sentence_accuracy"].as_array().map(Vec::len),
        Some(12)
    );
    let acc = p["accuracy"].as_f64().expect("probe accuracy");
    let majority = p["majority_baseline"].as_f64().expect("majority");
    assert!(
        acc >= 0.9 && majority < 0.5,
        "probe {acc} vs majority {majority}"
    );
    let (i, k, _, _, out) = counts(&m, "probe");
    assert_eq!(
        (i, k, out),
        (43, 43, 1),
        "probe: 30 + 12 sentences + the train summary"
    );

    // `mavuno eval` is the stage's config and scoring over the same rows read from files
    // (#14): its report equals the stage's metrics.
    let model = run_dir.join("train");
    let model = model.to_str().unwrap_or_default();
    for (args, stage_metrics) in [
        (
            vec![
                "--task",
                "pos-probe",
                "--data",
                "pos-train.conll",
                "pos-test.conll",
            ],
            "metrics/probe.json",
        ),
        (
            vec!["--task", "mlm", "--data", "heldout.txt"],
            "score.metrics.json",
        ),
    ] {
        let mut argv = vec![
            "eval",
            "--model",
            model,
            "--device",
            "cpu",
            "--set",
            "max_len=6",
        ];
        if args[1] == "mlm" {
            argv.truncate(5);
        }
        argv.extend(args.iter().copied());
        let r = run_in(d, &argv);
        r.expect_code(0, "mavuno eval");
        let verb: Value = serde_json::from_str(&r.stdout).expect("eval prints JSON");
        let stage = &read_json(&run_dir.join(stage_metrics))["metrics"];
        assert_eq!(&verb, stage, "mavuno eval {args:?} differs from the stage");
    }

    // Accounting: every input is kept and one summary record goes out.
    let (i, k, dr, rj, out) = counts(&m, "train");
    assert_eq!((i, k, dr, rj, out), (400, 400, 0, 0, 1), "train counts");
    let (i, k, _, _, out) = counts(&m, "score");
    assert_eq!(
        (i, k, out),
        (21, 21, 1),
        "score: 20 sentences + the train summary"
    );
    let (i, k, _, _, out) = counts(&m, "ft");
    assert_eq!(
        (i, k, out),
        (25, 25, 1),
        "ft: 24 sentences + the train summary"
    );
    for s in m["stages"].as_array().expect("stages") {
        let id = s["id"].as_str().unwrap_or("");
        let (i, k, dr, rj, _) = counts(&m, id);
        assert_eq!(i, k + dr + rj, "stage {id} does not balance");
    }

    // A rerun of a complete run trains nothing.
    let r = run_config(d, &cfg, &work, &[]);
    r.expect_code(0, "rerun");
    let m = manifest(&run_dir);
    for s in m["stages"].as_array().expect("stages") {
        let status = s["status"].as_str().unwrap_or("");
        assert!(
            status == "cached" || status == "not_needed",
            "rerun: {} is {status}",
            s["id"]
        );
    }
}

#[test]
fn a_run_killed_during_training_resumes_from_the_checkpoint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cfg = setup(d, 400, true);
    let work = d.join("work");
    let ckpt = work.join("tiny/train/ckpt");
    let mut child = mavuno()
        .current_dir(d)
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--workdir",
            work.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    // Wait for the second checkpoint (the first complete one is then surely on disk).
    let has = |n: usize| {
        std::fs::read_dir(&ckpt)
            .map(|r| r.count() >= n)
            .unwrap_or(false)
    };
    while !has(2) {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no checkpoint after 300 s"
        );
        if child.try_wait().expect("wait").is_some() {
            panic!("the run ended before it could be killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    let r = run_config(d, &cfg, &work, &[]);
    r.expect_code(0, "resumed run");
    let summary = read_json(&work.join("tiny/train/summary.json"));
    let from = summary["resumed_from_step"]
        .as_u64()
        .expect("resumed_from_step");
    assert!(
        from > 0 && from < 400,
        "expected a resume from a checkpoint, got resumed_from_step = {from}"
    );
    assert_eq!(summary["steps"], 400);
}
