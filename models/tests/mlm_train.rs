//! Pre-training end to end on a tiny synthetic corpus: the loss falls, an exported HF directory
//! reloads with identical logits (here and, when the project venv exists, in Python
//! `transformers` within 1e-4), and a run killed at step 10 and resumed ends on exactly the
//! loss of an uninterrupted 20-step run.

mod common;

use std::error::Error;
use std::path::{Path, PathBuf};

use mavuno_models::mlm::{load_mlm, Family, MlmConfig, MlmModel, SizePreset};
use mavuno_models::train::{
    train_mlm, Dataset, RunOptions, TrainConfig, TrainRun, TrainSummary, VocabSpec,
};
use mavuno_stages::mask::plan::Strategy;
use mavuno_stages::tokenize::{corpus::TaggedSentence, train, ModelType, Tok};
use tch::{nn, Device, Kind, Tensor};

type Res<T> = Result<T, Box<dyn Error>>;

/// The shared successor corpus (`common::successor_corpus`) at this file's settings.
fn corpus(n: usize) -> Vec<String> {
    common::successor_corpus(n, 40, 12345, 6, 10)
}

fn tokenizer(dir: &Path, texts: &[String], model: ModelType) -> Res<(PathBuf, Tok)> {
    let tk = train(model, 120, 1, texts.iter())?;
    let path = dir.join("tokenizer.json");
    tk.save(&path, false).map_err(|e| format!("{e}"))?;
    let mut tok = Tok::from_file(&path)?;
    tok.max_len = Some(32);
    Ok((path, tok))
}

fn dataset(texts: &[String], tok: &Tok) -> Res<Dataset> {
    let sentences = texts.iter().map(|t| {
        let words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
        let k = words.len();
        (
            TaggedSentence {
                words,
                pos: vec![None; k],
                ner: vec![None; k],
            },
            None,
        )
    });
    Ok(Dataset::from_sentences(sentences, tok)?)
}

/// A model much smaller than `tiny`, so tests take seconds.
fn micro_config(family: Family, pre_ln: bool, tok: &Tok, pad: u32) -> Res<MlmConfig> {
    let mut c =
        SizePreset::Tiny.config(family, i64::from(tok.vocab.vocab_size), i64::from(pad), 32);
    c.encoder.hidden_size = 32;
    c.encoder.num_attention_heads = 2;
    c.encoder.intermediate_size = 64;
    c.encoder.pre_layer_norm = pre_ln;
    if pre_ln {
        c.encoder.model_type = "roberta-prelayernorm".into();
        c.tie_word_embeddings = false;
    }
    c.validate()?;
    Ok(c)
}

fn train_config(steps: u64) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 8,
        lr: 3e-3,
        warmup_steps: 2,
        log_every: 5,
        eval_every: 10,
        checkpoint_every: 10,
        ..TrainConfig::default()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    tok_path: PathBuf,
    tok: Tok,
    vocab: VocabSpec,
    train: Dataset,
    eval: Dataset,
}

fn setup(model: ModelType) -> Res<Setup> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().to_path_buf();
    let texts = corpus(300);
    let (tok_path, tok) = tokenizer(&root, &texts, model)?;
    let vocab = VocabSpec::from_tok(&tok)?;
    let (train, eval) = dataset(&texts, &tok)?.split_eval(0.1, 100, 7);
    Ok(Setup {
        _dir: dir,
        root,
        tok_path,
        tok,
        vocab,
        train,
        eval,
    })
}

fn run(
    s: &Setup,
    config: &MlmConfig,
    cfg: &TrainConfig,
    run_dir: &Path,
    stop_after: Option<u64>,
) -> Res<(nn::VarStore, MlmModel, TrainSummary)> {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MlmModel::new(&vs.root(), config)?;
    let summary = train_mlm(
        &TrainRun {
            model: &model,
            vs: &vs,
            train: &s.train,
            eval: &s.eval,
            vocab: &s.vocab,
            unk_id: s.tok.unk_id,
            config: cfg,
            run_dir,
            device: Device::Cpu,
        },
        &RunOptions {
            resume: true,
            stop_after,
            verbose: false,
        },
    )?;
    Ok((vs, model, summary))
}

#[test]
fn loss_falls_and_export_reloads_identically() -> Res<()> {
    let s = setup(ModelType::Unigram)?;
    let config = micro_config(Family::Roberta, false, &s.tok, s.vocab.pad_id)?;
    let cfg = train_config(60);
    let (vs, model, summary) = run(&s, &config, &cfg, &s.root.join("run"), None)?;
    let (first, last) = (
        summary.first_loss.ok_or("no loss")?,
        summary.last_loss.ok_or("no loss")?,
    );
    let eval = summary.eval_loss.ok_or("no eval loss")?;
    println!("loss {first:.3} -> {last:.3}, eval {eval:.3}");
    assert!(last < 0.8 * first, "loss did not fall: {first} -> {last}");
    assert!(
        eval < first,
        "eval loss {eval} not below the first train loss {first}"
    );
    let metrics = std::fs::read_to_string(s.root.join("run/metrics.jsonl"))?;
    assert_eq!(metrics.lines().count(), 12, "{metrics}");

    let out = s.root.join("export");
    model.save_hf(&vs, Some(&s.tok_path), &out)?;
    let back = load_mlm(&out, Device::Cpu)?;
    assert!(back.fresh.is_empty(), "{:?}", back.fresh);
    let ids = Tensor::f_from_slice(&[0i64, 10, 11, 12, 2, 0, 20, 21, 2, 1])?.f_view([2, 5])?;
    let mask = ids.f_ne(1)?.f_to_kind(Kind::Int64)?;
    let a = model.logits(&ids, Some(&mask), false)?;
    let b = back.model.logits(&ids, Some(&mask), false)?;
    assert!(a.equal(&b), "reloaded logits differ");
    Ok(())
}

/// Trains `cfg` straight through into `straight/`, then into `resumed/` stopped at step 10
/// and resumed in a fresh VarStore with a different init (a new process, in effect), and
/// checks that both end on the same training loss. Returns (straight run, its summary,
/// resumed run's directory, resumed summary).
fn straight_then_resumed(
    s: &Setup,
    config: &MlmConfig,
    cfg: &TrainConfig,
) -> Res<(
    (nn::VarStore, MlmModel, TrainSummary),
    PathBuf,
    TrainSummary,
)> {
    let straight = run(s, config, cfg, &s.root.join("straight"), None)?;
    let resumed_dir = s.root.join("resumed");
    let (_, _, part1) = run(s, config, cfg, &resumed_dir, Some(10))?;
    assert_eq!(part1.steps, 10);
    // Everything must come back from ckpt/step_10, not from the (different) init.
    tch::manual_seed(999);
    let (_, _, part2) = run(s, config, cfg, &resumed_dir, None)?;
    assert_eq!(part2.start_step, 10);
    let (a, b) = (
        straight.2.last_loss.ok_or("no loss")?,
        part2.last_loss.ok_or("no loss")?,
    );
    println!("straight {a:.8} resumed {b:.8}");
    assert!((a - b).abs() < 1e-5, "straight {a} vs resumed {b}");
    Ok((straight, resumed_dir, part2))
}

/// `(step, eval_loss)` of every evaluation in `run_dir/metrics.jsonl`.
fn evaluations(run_dir: &Path) -> Res<Vec<(u64, f64)>> {
    let text = std::fs::read_to_string(run_dir.join("metrics.jsonl"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(s), Some(l)) = (v["step"].as_u64(), v["eval_loss"].as_f64()) {
            out.push((s, l));
        }
    }
    Ok(out)
}

#[test]
fn keep_best_leaves_the_lowest_eval_loss_weights_and_survives_a_resume() -> Res<()> {
    let s = setup(ModelType::Unigram)?;
    let config = micro_config(Family::Roberta, false, &s.tok, s.vocab.pad_id)?;
    // A high constant learning rate makes later evaluations worse than earlier ones.
    let cfg = TrainConfig {
        keep_best: true,
        keep_checkpoints: 100,
        lr: 3e-2,
        decay: mavuno_models::train::Decay::Constant,
        ..train_config(40)
    };
    let dir = s.root.join("best");
    let (vs, _, summary) = run(&s, &config, &cfg, &dir, None)?;
    let evals = evaluations(&dir)?;
    assert_eq!(evals.len(), 4, "{evals:?}");
    let min = evals
        .iter()
        .copied()
        .fold(None, |m: Option<(u64, f64)>, e| match m {
            Some(b) if b.1 <= e.1 => Some(b),
            _ => Some(e),
        })
        .ok_or("no evaluation")?;
    assert_eq!(summary.best, Some(min), "{evals:?}");
    println!("evaluations {evals:?}, best {min:?}");
    // The model holds exactly the weights checkpointed at the best step.
    let held = s.root.join("held.safetensors");
    mavuno_models::hf::write_safetensors_atomic(&mavuno_models::hf::named_variables(&vs), &held)?;
    let at_best = dir.join(format!("ckpt/step_{}/model.safetensors", min.0));
    assert_eq!(std::fs::read(&held)?, std::fs::read(&at_best)?);

    // Killed after the second evaluation and resumed: the same best.
    let resumed = s.root.join("best-resumed");
    run(&s, &config, &cfg, &resumed, Some(20))?;
    tch::manual_seed(999);
    let (_, _, part2) = run(&s, &config, &cfg, &resumed, None)?;
    assert_eq!(part2.best, summary.best);
    Ok(())
}

#[test]
fn resumed_run_matches_uninterrupted_run() -> Res<()> {
    let s = setup(ModelType::Unigram)?;
    let config = micro_config(Family::Roberta, false, &s.tok, s.vocab.pad_id)?;
    let cfg = train_config(20);
    let ((_, _, straight), _, part2) = straight_then_resumed(&s, &config, &cfg)?;
    let (ea, eb) = (
        straight.eval_loss.ok_or("no eval")?,
        part2.eval_loss.ok_or("no eval")?,
    );
    assert!((ea - eb).abs() < 1e-5, "eval straight {ea} vs resumed {eb}");
    Ok(())
}

#[test]
fn climb_multitask_with_curricula_trains() -> Res<()> {
    let s = setup(ModelType::Bpe)?;
    let config = micro_config(Family::Roberta, true, &s.tok, s.vocab.pad_id)?;
    let mut cfg = train_config(12);
    cfg.objectives = "multitask_pos_all_mlm_0".into();
    cfg.vocab_curriculum = Some(mavuno_stages::curriculum::VocabMap::TokenIds);
    cfg.data_curriculum = true;
    cfg.mask.strategy = Strategy::by_name("lem").ok_or("lem")?;
    let (_, _, summary) = run(&s, &config, &cfg, &s.root.join("climb"), None)?;
    assert!(summary.last_loss.is_some_and(f64::is_finite));
    // The word-class head is checkpointed but never exported.
    let ckpt = s.root.join("climb/ckpt/step_12");
    assert!(ckpt.join("aux_heads.safetensors").is_file());
    let names: Vec<String> = Tensor::read_safetensors(ckpt.join("model.safetensors"))?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with("pos_heads")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("roberta_prelayernorm.")));
    Ok(())
}

/// The venv interpreter that has `transformers`, if this checkout has one.
fn venv_python() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let p = here.join(".venv/bin/python");
    p.is_file().then_some(p)
}

#[test]
fn exports_load_in_transformers_with_matching_logits() -> Res<()> {
    let Some(python) = venv_python() else {
        eprintln!("skipped: no .venv/bin/python");
        return Ok(());
    };
    let s = setup(ModelType::Wordpiece)?;
    for (family, pre_ln) in [
        (Family::Bert, false),
        (Family::Roberta, false),
        (Family::Roberta, true),
    ] {
        let config = micro_config(family, pre_ln, &s.tok, s.vocab.pad_id)?;
        let arch = config.architecture();
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = MlmModel::new(&vs.root(), &config)?;
        // Random non-zero biases and LayerNorms, so a wrongly named parameter cannot hide
        // behind its zero/one init.
        {
            let _g = tch::no_grad_guard();
            for (_, mut v) in vs.variables() {
                let noise = v.f_randn_like()?.f_mul_scalar(0.02)?;
                let _ = v.f_add_(&noise)?;
            }
        }
        let out = s.root.join(format!("hf-{arch}"));
        model.save_hf(&vs, Some(&s.tok_path), &out)?;
        let pad = i64::from(s.vocab.pad_id);
        let ids: Vec<i64> = vec![2, 10, 11, 12, 13, 3, 2, 20, 21, 3, pad, pad];
        let input = Tensor::f_from_slice(&ids)?.f_view([2, 6])?;
        let mask = input.f_ne(pad)?.f_to_kind(Kind::Int64)?;
        let ours = model.logits(&input, Some(&mask), false)?;
        let script = format!(
            "import sys, json, torch\n\
             from transformers import AutoModelForMaskedLM\n\
             m = AutoModelForMaskedLM.from_pretrained(sys.argv[1]).eval()\n\
             assert type(m).__name__ == '{arch}', type(m).__name__\n\
             ids = torch.tensor({ids:?}).view(2, 6)\n\
             with torch.no_grad():\n    out = m(input_ids=ids, attention_mask=(ids != {pad}).long()).logits\n\
             print(json.dumps(out.flatten().tolist()))\n"
        );
        let output = std::process::Command::new(&python)
            .arg("-c")
            .arg(&script)
            .arg(&out)
            .env("TRANSFORMERS_OFFLINE", "1")
            .env("HF_HUB_OFFLINE", "1")
            .output()?;
        assert!(
            output.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let theirs: Vec<f32> = serde_json::from_slice(
            output
                .stdout
                .split(|&b| b == b'\n')
                .rfind(|l| !l.is_empty())
                .ok_or("no output")?,
        )?;
        let theirs = Tensor::f_from_slice(&theirs)?.f_view(ours.size().as_slice())?;
        // Padded positions are compared too: positions and masking must agree there as well.
        let diff = f64::try_from(ours.f_sub(&theirs)?.f_abs()?.f_max()?)?;
        println!("{arch}: max |Δlogit| = {diff:.2e}");
        assert!(diff < 1e-4, "{arch}: max |Δlogit| = {diff}");
    }
    Ok(())
}

#[test]
fn self_paced_rescoring_resumes_exactly() -> Res<()> {
    let s = setup(ModelType::Unigram)?;
    let config = micro_config(Family::Roberta, false, &s.tok, s.vocab.pad_id)?;
    let mut cfg = train_config(20);
    cfg.data_curriculum = true;
    // Rescorings at steps 6, 12 and 18; the checkpoint at 10 falls between two of them, so
    // the resumed run must take the step-6 scores from the checkpoint.
    cfg.rescore_every = 6;
    let ((vs, model, _), resumed_dir, _) = straight_then_resumed(&s, &config, &cfg)?;
    let scores = |dir: &Path| -> Res<Vec<f64>> {
        let text = std::fs::read_to_string(dir.join("ckpt/step_20/difficulty_scores.json"))?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        let bits: Vec<u64> = serde_json::from_value(v["bits"].clone())?;
        Ok(bits.into_iter().map(f64::from_bits).collect())
    };
    let (sa, sb) = (scores(&s.root.join("straight"))?, scores(&resumed_dir)?);
    assert_eq!(sa.len(), s.train.len());
    assert_eq!(sa, sb, "the step-18 scores differ after a resume");
    // The scores are pseudo-perplexities now, not the initial lengths.
    let lengths: Vec<f64> = s
        .train
        .examples
        .iter()
        .map(|e| e.ids.len() as f64)
        .collect();
    assert_ne!(sa, lengths);
    assert!(sa.iter().all(|x| x.is_finite() && *x >= 1.0), "{sa:?}");
    let metrics = std::fs::read_to_string(s.root.join("straight/metrics.jsonl"))?;
    let rescored: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("rescored_geomean_ppl").is_some())
        .filter_map(|v| v["step"].as_u64())
        .collect();
    assert_eq!(rescored, [7, 13, 19], "{metrics}");

    // The per-sequence scores agree with the eval crate's pseudo-perplexity: its loss is the
    // token-weighted mean of the per-sequence log scores, on the same ids.
    let out = s.root.join("export");
    model.save_hf(&vs, Some(&s.tok_path), &out)?;
    let texts: Vec<String> = corpus(300).into_iter().take(12).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let reference = mavuno_models::eval::mlm::pseudo_perplexity(
        &out,
        &refs,
        None,
        32,
        5,
        Device::Cpu,
        Default::default(),
    )?;
    // bfloat16 scoring is an approximation of the same estimator: close, not equal.
    let bf16 = mavuno_models::eval::mlm::pseudo_perplexity(
        &out,
        &refs,
        None,
        32,
        5,
        Device::Cpu,
        mavuno_models::eval::mlm::Precision::Bf16,
    )?;
    let (lf, lb) = (
        reference["loss"].as_f64().ok_or("loss")?,
        bf16["loss"].as_f64().ok_or("loss")?,
    );
    assert!((lf - lb).abs() < 0.02 * lf, "f32 {lf} vs bf16 {lb}");
    assert_eq!(reference["tokens"], bf16["tokens"]);
    let ids: Vec<Vec<u32>> = refs
        .iter()
        .map(|t| {
            mavuno_models::finetune::data::encode_text(&s.tok, t)
                .map(|v| v.into_iter().map(|x| x as u32).collect())
        })
        .collect::<Result<_, _>>()?;
    let seqs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let pll = mavuno_models::eval::mlm::PllVocab {
        special_ids: &s.vocab.info.special_ids,
        mask_id: s.vocab.info.mask_id,
        pad_id: s.vocab.pad_id,
    };
    let per_seq =
        mavuno_models::eval::mlm::sequence_pseudo_perplexities(&model, &seqs, pll, 7, Device::Cpu)?;
    let one_by_one =
        mavuno_models::eval::mlm::sequence_pseudo_perplexities(&model, &seqs, pll, 1, Device::Cpu)?;
    for (x, y) in per_seq.iter().zip(&one_by_one) {
        assert!(
            (x - y).abs() < 1e-6 * x,
            "batching changed a score: {x} vs {y}"
        );
    }
    let counts: Vec<usize> = ids
        .iter()
        .map(|v| {
            v.iter()
                .filter(|id| !s.vocab.info.special_ids.contains(id))
                .count()
        })
        .collect();
    let total: usize = counts.iter().sum();
    let loss = per_seq
        .iter()
        .zip(&counts)
        .map(|(p, &n)| p.ln() * n as f64)
        .sum::<f64>()
        / total as f64;
    let expected = reference["loss"].as_f64().ok_or("no loss")?;
    assert_eq!(reference["tokens"].as_u64(), Some(total as u64));
    assert!(
        (loss - expected).abs() < 1e-5,
        "per-sequence {loss} vs eval {expected}"
    );
    Ok(())
}

#[test]
fn realised_masking_is_logged_at_every_evaluation_for_every_strategy() -> Res<()> {
    let mut s = setup(ModelType::Unigram)?;
    // Tag the first word of every sentence as an entity, so LEM has NEs to prioritise.
    let texts = corpus(300);
    let sentences = texts.iter().map(|t| {
        let words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
        let k = words.len();
        let ner = (0..k)
            .map(|i| Some(if i == 0 { "B-PER" } else { "O" }.to_string()))
            .collect();
        (
            TaggedSentence {
                words,
                pos: vec![None; k],
                ner,
            },
            None,
        )
    });
    let (train, eval) = Dataset::from_sentences(sentences, &s.tok)?.split_eval(0.1, 100, 7);
    (s.train, s.eval) = (train, eval);
    let config = micro_config(Family::Roberta, false, &s.tok, s.vocab.pad_id)?;
    for name in ["token", "lem", "lem_random_word", "lem_all"] {
        let mut cfg = train_config(20);
        cfg.mask.strategy = Strategy::by_name(name).ok_or(name)?;
        let dir = s.root.join(name);
        run(&s, &config, &cfg, &dir, None)?;
        let metrics = std::fs::read_to_string(dir.join("metrics.jsonl"))?;
        let evals: Vec<serde_json::Value> = metrics
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<Vec<serde_json::Value>, _>>()?
            .into_iter()
            .filter(|l| l.get("eval_loss").is_some())
            .collect();
        assert_eq!(evals.len(), 2, "{name}: {metrics}");
        for l in &evals {
            let n = |k: &str| {
                l.get(k)
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(u64::MAX)
            };
            let rate = l
                .get("mask_rate")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0);
            assert!((0.08..0.2).contains(&rate), "{name}: rate {rate}");
            let parts = n("masked_ne") + n("masked_verb") + n("masked_noun") + n("masked_fill");
            assert_eq!(parts, n("masked"), "{name}: {l}");
            match name {
                // NE first: about one NE mask per sequence of 8 sequences × 10 steps.
                "lem" | "lem_all" => assert!(n("masked_ne") >= 70, "{name}: {l}"),
                _ => {
                    assert_eq!(n("masked_ne"), 0, "{name}: {l}");
                    assert_eq!(n("masked_fill"), n("masked"), "{name}: {l}");
                }
            }
        }
    }
    // A resumed run logs the same realised masking as the uninterrupted one, including the
    // steps before the checkpoint at 10 that fall in the window of the evaluation at 20.
    let mut cfg = train_config(20);
    cfg.mask.strategy = Strategy::by_name("lem").ok_or("lem")?;
    cfg.eval_every = 20;
    let ((_, _, _), resumed_dir, _) = straight_then_resumed(&s, &config, &cfg)?;
    let fields = |dir: &Path| -> Res<Vec<String>> {
        let text = std::fs::read_to_string(dir.join("metrics.jsonl"))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l.get("mask_rate").is_some())
            .map(|l| format!("{} {} {}", l["step"], l["masked"], l["masked_ne"]))
            .collect())
    };
    assert_eq!(fields(&s.root.join("straight"))?, fields(&resumed_dir)?);
    Ok(())
}
