//! `mavuno predict`: run a fine-tuned classifier or tagger over a file, one JSON object per
//! input record (`label` + `probs` for classifiers, `tags` for taggers).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use mavuno_models::finetune::{classifier, data, Classifier, Tagger};
use mavuno_stages::read::format::FileFormat;

/// Arguments of `mavuno predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// Fine-tuned model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Input: TSV/JSONL with a text column (classifier), CoNLL/JSONL/plain text (tagger).
    pub input: PathBuf,
    /// Output JSONL.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Text column/key.
    #[arg(long)]
    pub text_column: Option<String>,
    /// Read the input as this format instead of guessing from extension and content
    /// (text, jsonl, tsv, csv, conll, conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Runs `mavuno predict`.
pub fn run(a: PredictArgs) -> Result<()> {
    let device = mavuno_models::pick_device(&a.device)?;
    let raw = mavuno_models::hf::read_config(&a.model)?;
    let file =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut n = 0;
    if classifier::is_token_classifier(&raw) {
        let tagger = Tagger::load(&a.model, device)?;
        let sents = data::read_tagged_words(&a.input, a.input_format)?;
        for chunk in sents.chunks(a.batch_size.max(1) * 8) {
            let words: Vec<Vec<String>> = chunk.iter().map(|s| s.words.clone()).collect();
            for (ws, tags) in words.iter().zip(tagger.tag(&words)?) {
                writeln!(w, "{}", serde_json::json!({"tokens": ws, "tags": tags}))?;
                n += 1;
            }
        }
    } else {
        let clf = Classifier::load(&a.model, device)?.with_batch_size(a.batch_size);
        let rows = data::read_labelled(&a.input, a.input_format, a.text_column.as_deref(), None)?;
        for chunk in rows.chunks(a.batch_size.max(1) * 8) {
            let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
            for (t, p) in texts.iter().zip(clf.predict_proba(&texts)?) {
                let best = classifier::argmax(&p);
                let probs: serde_json::Map<String, serde_json::Value> = clf
                    .labels()
                    .iter()
                    .zip(&p)
                    .map(|(l, &x)| (l.clone(), serde_json::json!(x)))
                    .collect();
                writeln!(
                    w,
                    "{}",
                    serde_json::json!({"text": t, "label": clf.labels()[best], "probs": probs})
                )?;
                n += 1;
            }
        }
    }
    w.flush()?;
    eprintln!("Wrote {n} predictions to {}.", a.out.display());
    Ok(())
}
