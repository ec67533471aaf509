//! NER fine-tuning regression: a tiny randomly initialised BERT with its own WordPiece
//! tokenizer must overfit a small synthetic CoNLL set (entity F1 > 0.9 on the training
//! sentences). Guards against a model that learns "everything is `O`" (the MasakhaNER symptom
//! of issue #6): label/first-subword alignment, the label map and the loss all have to be right
//! for entities to come out. Self-contained (no shared data), CPU, well under a minute.

use std::path::Path;

use mavuno_models::finetune::{self, data::TaggedWords, Tagger, TrainOptions};
use mavuno_models::mlm::{Family, MlmModel, SizePreset};
use mavuno_models::tch::{nn, Device};
use mavuno_stages::tag::metrics::ner_f1;
use mavuno_stages::tokenize::{train, ModelType, Tok};

const PEOPLE: [[&str; 2]; 4] = [
    ["kofi", "mensah"],
    ["amara", "okafor"],
    ["tunde", "balogun"],
    ["wanjiru", "kamau"],
];
const PLACES: [&str; 4] = ["accra", "lagos", "nairobi", "kampala"];
const VERBS: [&str; 4] = ["visited", "left", "praised", "reached"];
const FILLER: [&str; 4] = ["yesterday", "today", "again", "quickly"];

/// Sentences `PER PER verb [to] LOC filler .` in varied orders; tags are a function of the
/// word, so a model that reads its input can tag them perfectly.
fn synthetic() -> Vec<TaggedWords> {
    let mut out = Vec::new();
    for i in 0..48usize {
        let p = PEOPLE[i % 4];
        let loc = PLACES[(i / 4) % 4];
        let verb = VERBS[(i / 3) % 4];
        let fill = FILLER[(i / 2) % 4];
        let mut words: Vec<(&str, &str)> = Vec::new();
        if i % 2 == 0 {
            words.extend([
                (p[0], "B-PER"),
                (p[1], "I-PER"),
                (verb, "O"),
                (loc, "B-LOC"),
            ]);
        } else {
            words.extend([(fill, "O"), (loc, "B-LOC"), (verb, "O"), (p[0], "B-PER")]);
            if i % 3 == 0 {
                words.push((p[1], "I-PER"));
            }
        }
        words.extend([(fill, "O"), (".", "O")]);
        out.push(TaggedWords {
            words: words.iter().map(|w| w.0.to_string()).collect(),
            tags: Some(words.iter().map(|w| w.1.to_string()).collect()),
        });
    }
    out
}

/// A tiny BERT MLM with a WordPiece vocabulary small enough that names split into subwords.
fn tiny_base(dir: &Path, sentences: &[TaggedWords]) {
    let texts: Vec<String> = sentences.iter().map(|s| s.words.join(" ")).collect();
    let tk = train(ModelType::Wordpiece, 60, 1, texts.iter()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let tok_path = dir.join("tokenizer.json");
    tk.save(&tok_path, false).unwrap();
    let tok = Tok::from_file(&tok_path).unwrap();
    // Some word must span several subwords, or first-subword alignment goes untested.
    let (ids, _) = tok.encode_words(&["wanjiru"]).unwrap();
    assert!(ids.len() > 3, "vocabulary too large to split words");
    tch::manual_seed(3);
    let config = SizePreset::Tiny.config(
        Family::Bert,
        i64::from(tok.vocab.vocab_size),
        i64::from(tok.pad_id.unwrap_or(0)),
        32,
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MlmModel::new(&vs.root(), &config).unwrap();
    model.save_hf(&vs, Some(&tok_path), dir).unwrap();
}

#[test]
fn tiny_bert_overfits_synthetic_ner() {
    let sentences = synthetic();
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    tiny_base(&base, &sentences);
    let out = tmp.path().join("ner");
    let opts = TrainOptions {
        epochs: 40,
        lr: 2e-3,
        batch_size: 8,
        max_len: 32,
        warmup_ratio: 0.05,
        ..TrainOptions::default()
    };
    let summary =
        finetune::finetune_ner(&base, &sentences, None, &opts, &out, Device::Cpu).unwrap();
    let tagger = Tagger::load(&out, Device::Cpu).unwrap();
    let words: Vec<Vec<String>> = sentences.iter().map(|s| s.words.clone()).collect();
    let gold: Vec<Vec<String>> = sentences.iter().map(|s| s.tags.clone().unwrap()).collect();
    let pred = tagger.tag(&words).unwrap();
    let f1 = ner_f1(&gold, &pred);
    eprintln!(
        "steps {} last loss {:.4} train entity F1 {f1:.3}; first sentence {:?}",
        summary.step_losses.len(),
        summary.step_losses.last().unwrap(),
        pred[0]
    );
    assert!(f1 > 0.9, "entity F1 on the training sentences is {f1}");
}
