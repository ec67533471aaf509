//! `mavuno finetune`: sequence classification, NER and Mirror-BERT tuning of a BERT-family
//! encoder (BERT, RoBERTa, pre-LN RoBERTa such as `mavuno pretrain`'s output), writing an HF-layout model directory (see `mavuno_models::finetune`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mavuno_models::finetune::{self, data, mirror, TrainOptions};
use mavuno_stages::read::format::FileFormat;

/// What to fine-tune for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Sequence classification (TSV/JSONL with text and label).
    Classify,
    /// Token classification (CoNLL `word tag`, BIO).
    Ner,
    /// Mirror-BERT contrastive tuning on raw sentences (one a line).
    Mirror,
}

/// Arguments of `mavuno finetune`.
#[derive(clap::Args, Debug)]
pub struct FinetuneArgs {
    /// Task.
    #[arg(long, value_enum)]
    pub task: Task,
    /// Base model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub base: PathBuf,
    /// Training file.
    #[arg(long)]
    pub train: PathBuf,
    /// Dev file, scored after each epoch; the best epoch is kept.
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Output model directory.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Epochs (default 3; Mirror-BERT 1).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Peak learning rate (default 5e-5; Mirror-BERT 2e-5).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Batch size (default 16; Mirror-BERT 200, scaled down for small inputs).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Max tokens per input (default 128; Mirror-BERT 50).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Weight each label's loss by its square-root inverse training frequency (NER: keeps
    /// the rare entity tags from being drowned by `O`).
    #[arg(long)]
    pub class_weighted: bool,
    /// Use only the first N training examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Text column/key (default: text, tweet, sentence, headline).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Label column/key (default: label, category, labels).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Read the training and dev files as this format instead of guessing from extension
    /// and content (text, jsonl, tsv, csv, conll, conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Runs `mavuno finetune`.
pub fn run(a: FinetuneArgs) -> Result<()> {
    let device = mavuno_models::pick_device(&a.device)?;
    let mut opts = if a.task == Task::Mirror {
        mirror::default_options()
    } else {
        TrainOptions::default()
    };
    if let Some(v) = a.epochs {
        opts.epochs = v;
    }
    if let Some(v) = a.lr {
        opts.lr = v;
    }
    if let Some(v) = a.batch_size {
        opts.batch_size = v;
    }
    if let Some(v) = a.max_len {
        opts.max_len = v;
    }
    opts.seed = a.seed;
    opts.max_steps = a.max_steps;
    opts.class_weighted = a.class_weighted;
    let limit = a.limit.unwrap_or(usize::MAX);
    let summary = match a.task {
        Task::Classify => {
            let mut train = data::read_labelled(
                &a.train,
                a.input_format,
                a.text_column.as_deref(),
                a.label_column.as_deref(),
            )?;
            train.truncate(limit);
            if train.iter().any(|e| e.label.is_none()) {
                bail!("{}: training data needs a label column", a.train.display());
            }
            let dev = a
                .dev
                .as_ref()
                .map(|d| {
                    data::read_labelled(
                        d,
                        a.input_format,
                        a.text_column.as_deref(),
                        a.label_column.as_deref(),
                    )
                })
                .transpose()?;
            finetune::finetune_classifier(&a.base, &train, dev.as_deref(), &opts, &a.out, device)?
        }
        Task::Ner => {
            let mut train = data::read_tagged_words(&a.train, a.input_format)?;
            train.truncate(limit);
            let dev = a
                .dev
                .as_ref()
                .map(|d| data::read_tagged_words(d, a.input_format))
                .transpose()?;
            finetune::finetune_ner(&a.base, &train, dev.as_deref(), &opts, &a.out, device)?
        }
        Task::Mirror => {
            let mut texts = Vec::new();
            let fmt = FileFormat::of_input(&a.train, a.input_format);
            mavuno_stages::tokenize::corpus::read_texts_as(&a.train, fmt, |t| texts.push(t))
                .with_context(|| format!("reading {}", a.train.display()))?;
            texts.truncate(limit);
            mirror::mirror_bert(&a.base, &texts, &opts, &a.out, device)?
        }
    };
    let first = summary.step_losses.first().copied();
    let last = summary.step_losses.last().copied();
    let report = serde_json::json!({
        "out": summary.out_dir, "steps": summary.step_losses.len(),
        "first_loss": first, "last_loss": last,
        "best_dev": summary.best_dev, "best_epoch": summary.best_epoch,
        "epochs": summary.epochs,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
