//! Fine-tuning from RoBERTa bases: a micro RoBERTa and a micro pre-LN RoBERTa are pre-trained
//! for a few steps with `train_mlm` and exported as `train_mlm` exports them; both are then
//! fine-tuned for sequence classification and NER. The written directories must carry HF's
//! class and parameter names (`RobertaFor…` / `RobertaPreLayerNormFor…`, `roberta.*` /
//! `roberta_prelayernorm.*`, `classifier.dense` + `classifier.out_proj`), reload here
//! (`Classifier`, `Tagger`, the attack's `load_victim`) and, when the project venv exists, give
//! the same logits in Python `transformers` within 1e-4 (skipped with a message otherwise, as in
//! mlm_train.rs).

mod common;

use std::error::Error;
use std::path::{Path, PathBuf};

use mavuno_models::finetune::data::{encode_text, encode_words, pad_batch, pad_id};
use mavuno_models::finetune::data::{LabelledText, TaggedWords};
use mavuno_models::finetune::TrainOptions;
use mavuno_models::finetune::{finetune_classifier, finetune_ner, Classifier, Tagger};
use mavuno_models::mlm::{Family, MlmModel, SizePreset};
use mavuno_models::train::{train_mlm, Dataset, RunOptions, TrainConfig, TrainRun, VocabSpec};
use mavuno_stages::tokenize::{corpus::TaggedSentence, train, ModelType, Tok};
use tch::{nn, Device, Kind, Tensor};

type Res<T> = Result<T, Box<dyn Error>>;

/// The shared successor corpus (`common::successor_corpus`) at this file's settings.
fn corpus(n: usize) -> Vec<String> {
    common::successor_corpus(n, 30, 777, 4, 8)
}

/// Pre-trains a micro RoBERTa (post-LN or pre-LN) for 6 steps and exports it to `dir`.
fn pretrained_base(root: &Path, texts: &[String], pre_ln: bool, dir: &Path) -> Res<Tok> {
    let tk = train(ModelType::Bpe, 120, 1, texts.iter())?;
    let tok_path = root.join("tokenizer.json");
    tk.save(&tok_path, false).map_err(|e| format!("{e}"))?;
    let mut tok = Tok::from_file(&tok_path)?;
    tok.max_len = Some(32);
    let vocab = VocabSpec::from_tok(&tok)?;
    let sentences = texts.iter().map(|t| {
        let words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
        let k = words.len();
        let s = TaggedSentence {
            words,
            pos: vec![None; k],
            ner: vec![None; k],
        };
        (s, None)
    });
    let (train_set, eval_set) = Dataset::from_sentences(sentences, &tok)?.split_eval(0.1, 20, 7);
    let mut config = SizePreset::Tiny.config(
        Family::Roberta,
        i64::from(tok.vocab.vocab_size),
        i64::from(vocab.pad_id),
        32,
    );
    config.encoder.hidden_size = 32;
    config.encoder.num_attention_heads = 2;
    config.encoder.intermediate_size = 64;
    if pre_ln {
        config.encoder.pre_layer_norm = true;
        config.encoder.model_type = "roberta-prelayernorm".into();
        config.tie_word_embeddings = false;
    }
    config.validate()?;
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MlmModel::new(&vs.root(), &config)?;
    let cfg = TrainConfig {
        steps: 6,
        batch_size: 8,
        lr: 3e-3,
        warmup_steps: 1,
        log_every: 3,
        eval_every: 6,
        checkpoint_every: 6,
        ..TrainConfig::default()
    };
    train_mlm(
        &TrainRun {
            model: &model,
            vs: &vs,
            train: &train_set,
            eval: &eval_set,
            vocab: &vocab,
            unk_id: tok.unk_id,
            config: &cfg,
            run_dir: &root.join("pretrain"),
            device: Device::Cpu,
        },
        &RunOptions {
            resume: false,
            stop_after: None,
            verbose: false,
        },
    )?;
    model.save_hf(&vs, Some(&tok_path), dir)?;
    Ok(tok)
}

/// The venv interpreter that has `transformers`, if this checkout has one.
fn venv_python() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let p = here.join(".venv/bin/python");
    p.is_file().then_some(p)
}

/// Logits of `auto_class` loaded from `dir` on `ids` (`[rows, cols]`, padded with `pad`),
/// after checking that `transformers` built the class `arch`.
fn transformers_logits(
    python: &Path,
    dir: &Path,
    auto_class: &str,
    arch: &str,
    ids: &[i64],
    rows: usize,
    pad: i64,
) -> Res<Vec<f32>> {
    let script = format!(
        "import sys, json, torch\n\
         import transformers\n\
         m = getattr(transformers, '{auto_class}').from_pretrained(sys.argv[1]).eval()\n\
         assert type(m).__name__ == '{arch}', type(m).__name__\n\
         ids = torch.tensor({ids:?}).view({rows}, -1)\n\
         with torch.no_grad():\n    out = m(input_ids=ids, attention_mask=(ids != {pad}).long()).logits\n\
         print(json.dumps(out.flatten().tolist()))\n"
    );
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(&script)
        .arg(dir)
        .env("TRANSFORMERS_OFFLINE", "1")
        .env("HF_HUB_OFFLINE", "1")
        .output()?;
    if !output.status.success() {
        return Err(format!("{arch}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let last = output
        .stdout
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .ok_or("no output")?;
    Ok(serde_json::from_slice(last)?)
}

fn max_abs_diff(ours: &Tensor, theirs: &[f32]) -> Res<f64> {
    let theirs = Tensor::f_from_slice(theirs)?.f_view(ours.size().as_slice())?;
    Ok(f64::try_from(
        ours.f_sub(&theirs)?
            .f_abs()?
            .f_max()?
            .f_to_kind(Kind::Double)?,
    )?)
}

fn weight_names(dir: &Path) -> Res<Vec<String>> {
    Ok(Tensor::read_safetensors(dir.join("model.safetensors"))?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

fn architecture(dir: &Path) -> Res<String> {
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json"))?)?;
    Ok(raw["architectures"][0]
        .as_str()
        .ok_or("no architectures")?
        .to_string())
}

#[test]
fn roberta_bases_finetune_and_match_transformers() -> Res<()> {
    let python = venv_python();
    assert!(
        python.is_some(),
        "no .venv/bin/python: the README's test command installs it (the transformers parity part needs it)"
    );
    let texts = corpus(160);
    // Two classes by whether the sentence holds `w3x8`; NER tags `B-X` on `w5x9`.
    let labelled: Vec<LabelledText> = texts
        .iter()
        .map(|t| LabelledText {
            text: t.clone(),
            label: Some(if t.contains("w3x8") { "yes" } else { "no" }.into()),
        })
        .collect();
    let tagged: Vec<TaggedWords> = texts
        .iter()
        .map(|t| {
            let words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
            let tags = words
                .iter()
                .map(|w| if w == "w5x9" { "B-X" } else { "O" }.to_string())
                .collect();
            TaggedWords {
                words,
                tags: Some(tags),
            }
        })
        .collect();
    let opts = TrainOptions {
        epochs: 1,
        lr: 1e-3,
        batch_size: 8,
        // Longer than the base's 32-token position table: fine-tuning must clamp it.
        max_len: 128,
        max_steps: Some(5),
        ..TrainOptions::default()
    };
    for (pre_ln, prefix, stem) in [
        (false, "roberta", "Roberta"),
        (true, "roberta_prelayernorm", "RobertaPreLayerNorm"),
    ] {
        let tmp = tempfile::tempdir()?;
        let base = tmp.path().join("base");
        let tok = pretrained_base(tmp.path(), &texts, pre_ln, &base)?;
        let pad = pad_id(&tok);

        // Sequence classification.
        let clf_dir = tmp.path().join("clf");
        let summary = finetune_classifier(
            &base,
            &labelled[..120],
            Some(&labelled[120..]),
            &opts,
            &clf_dir,
            Device::Cpu,
        )?;
        assert_eq!(summary.step_losses.len(), 5);
        assert!(summary.step_losses.iter().all(|l| l.is_finite()));
        assert_eq!(
            architecture(&clf_dir)?,
            format!("{stem}ForSequenceClassification")
        );
        let names = weight_names(&clf_dir)?;
        for want in [
            "classifier.dense.weight",
            "classifier.out_proj.weight",
            "classifier.out_proj.bias",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
        }
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(&format!("{prefix}.")) || n.starts_with("classifier.")),
            "{names:?}"
        );
        assert!(names.iter().all(|n| !n.contains("pooler")), "{names:?}");

        let clf = Classifier::load(&clf_dir, Device::Cpu)?;
        let seqs: Vec<Vec<i64>> = texts[120..124]
            .iter()
            .map(|t| encode_text(&tok, t))
            .collect::<Result<_, _>>()?;
        let (ids, mask) = pad_batch(&seqs, pad, Device::Cpu)?;
        let ours = clf.logits(&ids, &mask)?;
        assert_eq!(ours.size(), vec![4, 2]);
        // The attack's victim loader takes the same directory.
        let victim = mavuno_models::victims::load_victim(&clf_dir, Device::Cpu)?;
        let text_refs: Vec<&str> = texts[120..124].iter().map(String::as_str).collect();
        let probs = victim.predict_proba(&text_refs)?;
        let ours_probs = Vec::<Vec<f32>>::try_from(&ours.f_softmax(-1, Kind::Float)?)?;
        for (a, b) in probs.iter().flatten().zip(ours_probs.iter().flatten()) {
            assert!((a - b).abs() < 1e-6, "victim {a} vs logits {b}");
        }
        if let Some(python) = &python {
            let flat: Vec<i64> = Vec::<i64>::try_from(&ids.f_flatten(0, -1)?)?;
            let theirs = transformers_logits(
                python,
                &clf_dir,
                "AutoModelForSequenceClassification",
                &format!("{stem}ForSequenceClassification"),
                &flat,
                4,
                pad,
            )?;
            let diff = max_abs_diff(&ours, &theirs)?;
            println!("{stem} sequence classification: max |Δlogit| = {diff:.2e}");
            assert!(diff < 1e-4, "{stem}: max |Δlogit| = {diff}");
        }

        // Token classification.
        let ner_dir = tmp.path().join("ner");
        let summary = finetune_ner(
            &base,
            &tagged[..120],
            Some(&tagged[120..]),
            &opts,
            &ner_dir,
            Device::Cpu,
        )?;
        assert!(summary.step_losses.iter().all(|l| l.is_finite()));
        assert_eq!(
            architecture(&ner_dir)?,
            format!("{stem}ForTokenClassification")
        );
        let names = weight_names(&ner_dir)?;
        assert!(names.iter().any(|n| n == "classifier.weight"), "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(&format!("{prefix}.")) || n.starts_with("classifier.")),
            "{names:?}"
        );
        let tagger = Tagger::load(&ner_dir, Device::Cpu)?;
        let tags = tagger.tag(&[tagged[130].words.clone()])?;
        assert_eq!(tags[0].len(), tagged[130].words.len());
        let seqs: Vec<Vec<i64>> = tagged[120..123]
            .iter()
            .map(|s| encode_words(&tok, &s.words).map(|(ids, _)| ids))
            .collect::<Result<_, _>>()?;
        let (ids, mask) = pad_batch(&seqs, pad, Device::Cpu)?;
        let ours = tagger.logits(&ids, &mask)?;
        if let Some(python) = &python {
            let flat: Vec<i64> = Vec::<i64>::try_from(&ids.f_flatten(0, -1)?)?;
            let theirs = transformers_logits(
                python,
                &ner_dir,
                "AutoModelForTokenClassification",
                &format!("{stem}ForTokenClassification"),
                &flat,
                3,
                pad,
            )?;
            // Padded positions are compared too.
            let diff = max_abs_diff(&ours, &theirs)?;
            println!("{stem} token classification: max |Δlogit| = {diff:.2e}");
            assert!(diff < 1e-4, "{stem}: max |Δlogit| = {diff}");
        }
    }
    Ok(())
}
