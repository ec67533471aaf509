//! The `synonym_attack` and `gen_synonyms` stages run through the engine on a tiny config:
//! jsonl_reader → synonym_attack → jsonl_writer, and jsonl_reader → gen_synonyms → jsonl_writer.
//!
//! The models are made in the test: a word-CNN victim trained for a few epochs on a toy
//! two-class corpus (the label is carried by one word, `kyau` or `muni`), and a tiny randomly
//! initialised BERT MLM whose WordPiece vocabulary comes from the same corpus (so its top-50
//! candidates cover most of its words, the other class's word included; the RoBERTa/Unigram
//! path of the generator is covered in `attack_mlm.rs`). The checks are
//! about the stage contract, not attack quality: accounting balances, every record carries the
//! attack fields, the summary agrees with the records, `keep = "successes"` with
//! `replace_text` yields only flipped one-word substitutions, output does not depend on batch
//! size, and augmentation keeps each original followed by its labelled variants.

use std::error::Error;
use std::path::Path;

use mavuno_models::mlm::{Family, MlmModel, SizePreset};
use mavuno_models::victims::{Arch, TrainOptions, WordVictim};
use mavuno_pipeline::run::{execute, RunOptions};
use mavuno_stages::tokenize::{train, ModelType};
use serde_json::Value;
use tch::nn;
use tch::Device;

fn corpus() -> Vec<(String, String)> {
    let subjects = ["fim din", "abincin", "wakar", "littafin", "gidan"];
    let tails = ["sosai", "yau", "kwarai", "da gaske"];
    let mut rows = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        for (j, t) in tails.iter().enumerate() {
            let (w, l) = if (i + j) % 2 == 0 {
                ("kyau", "positive")
            } else {
                ("muni", "negative")
            };
            rows.push((format!("{s} yana da {w} {t}"), l.to_string()));
        }
    }
    rows
}

fn make_models(dir: &Path) -> Result<(), Box<dyn Error>> {
    let rows = corpus();
    let opts = TrainOptions {
        arch: Arch::Cnn,
        epochs: 60,
        emb_dim: 16,
        filters: 8,
        lr: 5e-3,
        dropout: 0.0,
        ..TrainOptions::default()
    };
    let (victim, _) = WordVictim::train(&rows, None, opts, Device::Cpu)?;
    victim.save(&dir.join("victim"))?;

    let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    let tk = train(ModelType::Wordpiece, 120, 1, texts.iter().cycle().take(400))?;
    let tok = dir.join("tok.json");
    tk.save(&tok, false).map_err(|e| e.to_string())?;
    let vocab = tk.get_vocab_size(true) as i64;
    let pad = i64::from(tk.token_to_id("[PAD]").ok_or("no [PAD]")?);
    let config = SizePreset::Tiny.config(Family::Bert, vocab, pad, 32);
    tch::manual_seed(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MlmModel::new(&vs.root(), &config)?;
    model.save_hf(&vs, Some(&tok), &dir.join("mlm"))?;

    let mut data = String::new();
    for (t, l) in &rows {
        data.push_str(&serde_json::json!({"text": t, "label": l}).to_string());
        data.push('\n');
    }
    // A record without a label (rejected) and one with an unknown label (rejected).
    data.push_str("{\"text\": \"fim din yana da kyau\"}\n");
    data.push_str("{\"text\": \"fim din yana da kyau\", \"label\": \"neutral\"}\n");
    std::fs::write(dir.join("data.jsonl"), data)?;
    Ok(())
}

fn run(dir: &Path, name: &str, batch: usize, attack: &str) -> Result<Vec<Value>, Box<dyn Error>> {
    let d = dir.display();
    let cfg = format!(
        r#"
[run]
name = "{name}"
workdir = "{d}/runs"
batch_size = {batch}

[stages.data]
type = "jsonl_reader"
paths = ["{d}/data.jsonl"]

[stages.attack]
type = "synonym_attack"
inputs = ["data"]
victim = "{d}/victim"
mlm = "{d}/mlm"
lang = "hau"
top_k = 50
try_words = 3
{attack}

[stages.out]
type = "jsonl_writer"
inputs = ["attack"]
path = "out.jsonl"
"#
    );
    let mut reg = mavuno_stages::registry();
    mavuno_models::register_all(&mut reg);
    let plan = mavuno_pipeline::config::parse(&cfg, Path::new("t.toml"), &[], &reg)
        .map_err(|e| format!("{e:?}"))?;
    let sum = execute(&plan, &RunOptions::default())?;
    let attack = &sum.stages[1].counts;
    assert!(attack.balances(), "{attack:?}");
    assert_eq!(attack.rejected, 2, "{attack:?}");
    let out = std::fs::read_to_string(sum.run_dir.join("out.jsonl"))?;
    let recs: Vec<Value> = out
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(
        sum.run_dir.join("attack_summary.json"),
    )?)?;
    assert_eq!(summary["examples"], 20);
    assert_eq!(
        summary["successes"].as_u64(),
        attack.counters.get("successes_total").copied()
    );
    Ok(recs)
}

/// Records with their probability lists rounded to 4 decimals.
fn rounded(recs: &[Value]) -> Vec<Value> {
    let mut out = recs.to_vec();
    for r in &mut out {
        for k in ["orig_probs", "adv_probs"] {
            if let Some(ps) = r.get_mut(k).and_then(Value::as_array_mut) {
                for p in ps {
                    *p = serde_json::json!((p.as_f64().unwrap_or(f64::NAN) * 1e4).round() as i64);
                }
            }
        }
    }
    out
}

#[test]
fn synonym_attack_stage_through_the_engine() -> Result<(), Box<dyn Error>> {
    let tmp = tempfile::tempdir()?;
    make_models(tmp.path())?;
    let all = run(tmp.path(), "all", 4, "")?;
    assert_eq!(all.len(), 20);
    let mut successes = 0;
    for r in &all {
        for f in [
            "adversarial",
            "orig_pred",
            "adv_pred",
            "orig_probs",
            "adv_probs",
            "substitutions",
            "queries",
            "success",
        ] {
            assert!(r.get(f).is_some(), "{f} missing in {r}");
        }
        let subs = r["substitutions"].as_array().ok_or("substitutions")?;
        if r["success"] == true {
            successes += 1;
            assert_eq!(subs.len(), 1, "{r}");
            assert_ne!(r["adv_pred"], r["label"], "{r}");
            assert_eq!(r["orig_pred"], r["label"], "{r}");
            assert_ne!(r["adversarial"], r["text"], "{r}");
        } else {
            assert!(subs.is_empty(), "{r}");
            assert_eq!(r["adversarial"], r["text"], "{r}");
        }
        assert!(r["queries"].as_u64().ok_or("queries")? >= 1);
    }
    // Same records, batch size 1: identical output (probabilities up to float rounding: BLAS
    // sums in a different order for a different batch shape).
    let one = run(tmp.path(), "one", 1, "")?;
    assert_eq!(rounded(&one), rounded(&all));

    let kept = run(
        tmp.path(),
        "succ",
        3,
        "keep = \"successes\"\nreplace_text = true",
    )?;
    assert_eq!(kept.len(), successes);
    for r in &kept {
        assert_eq!(r["success"], true);
        assert_eq!(r["text"], r["adversarial"]);
        assert_ne!(r["original_text"], r["text"]);
    }
    // Protected words are neither attacked nor inserted (and without protection `kyau` is).
    let touches = |r: &Value, w: &str| {
        r["substitutions"]
            .as_array()
            .is_some_and(|subs| subs.iter().any(|s| s["old"] == w || s["new"] == w))
    };
    assert!(all.iter().any(|r| touches(r, "kyau")));
    let protected = ["kyau", "yana", "fim"];
    let prot = run(
        tmp.path(),
        "prot",
        4,
        "protect = [\"KYAU\", \"yana\", \"fim\"]",
    )?;
    for r in &prot {
        for s in r["substitutions"].as_array().ok_or("substitutions")? {
            for k in ["old", "new"] {
                let w = s[k].as_str().ok_or("word")?.to_lowercase();
                assert!(!protected.contains(&w.as_str()), "{r}");
            }
        }
    }
    println!("{successes} of 20 attacks succeeded");
    assert!(
        successes > 0,
        "the keep = \"successes\" run checked nothing"
    );
    Ok(())
}

#[test]
fn gen_synonyms_stage_keeps_originals_and_adds_labelled_variants() -> Result<(), Box<dyn Error>> {
    let tmp = tempfile::tempdir()?;
    make_models(tmp.path())?;
    let d = tmp.path().display();
    let go = |batch: usize| -> Result<(Vec<Value>, u64), Box<dyn Error>> {
        let cfg = format!(
            r#"
[run]
name = "aug{batch}"
workdir = "{d}/runs"
batch_size = {batch}

[stages.data]
type = "jsonl_reader"
paths = ["{d}/data.jsonl"]

[stages.aug]
type = "gen_synonyms"
inputs = ["data"]
mlm = "{d}/mlm"
variants = 3
swap_frac = 0.2

[stages.out]
type = "jsonl_writer"
inputs = ["aug"]
path = "out.jsonl"
"#
        );
        let mut reg = mavuno_stages::registry();
        mavuno_models::register_all(&mut reg);
        let plan = mavuno_pipeline::config::parse(&cfg, Path::new("t.toml"), &[], &reg)
            .map_err(|e| format!("{e:?}"))?;
        let sum = execute(&plan, &RunOptions::default())?;
        let c = &sum.stages[1].counts;
        assert!(c.balances(), "{c:?}");
        assert_eq!(c.kept, 22);
        let out = std::fs::read_to_string(sum.run_dir.join("out.jsonl"))?;
        let recs = out
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<Vec<Value>, _>>()?;
        Ok((recs, c.counters.get("variants_total").copied().unwrap_or(0)))
    };
    let (recs, variants) = go(5)?;
    assert!(variants > 0, "no variant at all");
    assert_eq!(recs.len() as u64, 22 + variants);
    let mut last_original: Option<&Value> = None;
    for r in &recs {
        match r.get("augmented_from") {
            None => last_original = Some(r),
            Some(from) => {
                let o = last_original.ok_or("a variant before any original")?;
                assert_eq!(Some(from), o.get("id"), "{r}");
                assert_eq!(r.get("label"), o.get("label"), "{r}");
                assert_ne!(r["text"], o["text"], "{r}");
                let n = |v: &Value| v.as_str().map_or(0, |s| s.split_whitespace().count());
                assert_eq!(n(&r["text"]), n(&o["text"]), "one word for one word: {r}");
            }
        }
    }
    assert_eq!(go(1)?.0, recs);
    Ok(())
}
