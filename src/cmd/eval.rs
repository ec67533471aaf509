//! `mavuno eval`: score a model and print a JSON report (mlm, classify, ner, bitext,
//! pos-probe).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mavuno_models::eval::{self, bitext, mlm, probe, Encoder, Pooling};
use mavuno_models::finetune::data;

/// What to evaluate.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalTask {
    /// Pseudo-perplexity of an MLM checkpoint on plain text.
    Mlm,
    /// Accuracy / macro-F1 of a classifier on labelled TSV/JSONL.
    Classify,
    /// Seqeval-strict entity F1 of a tagger on CoNLL.
    Ner,
    /// Bitext retrieval P@1 and xSIM margin error of an encoder.
    Bitext,
    /// Frozen-feature linear POS probe: `--data TRAIN TEST` (CoNLL, tag in the last column).
    PosProbe,
}

/// Arguments of `mavuno eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Task.
    #[arg(long, value_enum)]
    pub task: EvalTask,
    /// Data: one file (mlm text, classify TSV/JSONL, ner CoNLL, bitext two-column TSV) or two:
    /// bitext's aligned source and target files, pos-probe's training and test CoNLL files.
    #[arg(long, num_args = 1..=2)]
    pub data: Vec<PathBuf>,
    /// Bitext only: `SRC_FILE,TGT_FILE` (alternative to two `--data` files).
    #[arg(long)]
    pub pairs: Option<String>,
    /// Use only the first N sentences / examples / pairs (pos-probe: test sentences).
    #[arg(long, alias = "max-sentences")]
    pub limit: Option<usize>,
    /// Bitext pooling: mean or cls.
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// Max tokens per input.
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Batch size (rows per forward pass).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Text column/key (classify).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Label column/key (classify).
    #[arg(long)]
    pub label_column: Option<String>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// mlm: number format while scoring, f32 or bf16 (much faster on CPUs with AMX or
    /// AVX-512 BF16; the loss moves by about 1e-4 nats).
    #[arg(long)]
    pub precision: Option<String>,
}

fn read_lines(p: &PathBuf) -> Result<Vec<String>> {
    Ok(std::fs::read_to_string(p)
        .with_context(|| format!("reading {}", p.display()))?
        .lines()
        .map(str::to_string)
        .collect())
}

/// Runs `mavuno eval`.
pub fn run(mut a: EvalArgs) -> Result<()> {
    let device = mavuno_models::pick_device(&a.device)?;
    // A model trained with short sequences has a short position table (as the `eval` stage).
    if let Some(m) = mavuno_models::eval::model_max_len(&a.model) {
        a.max_len = a.max_len.min(m);
    }
    let limit = a.limit.unwrap_or(usize::MAX);
    let report = match a.task {
        EvalTask::Mlm => {
            let Some(p) = a.data.first() else {
                bail!("--data TEXT_FILE is required")
            };
            let mut texts = Vec::new();
            mavuno_stages::tokenize::corpus::read_texts(p, |t| texts.push(t))?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let t = std::time::Instant::now();
            // The names are the stage config's (serde), so the verb cannot drift from it.
            let precision: mlm::Precision = match &a.precision {
                Some(p) => serde_json::from_value(serde_json::Value::String(p.clone()))
                    .with_context(|| format!("--precision {p:?}: expected f32 or bf16"))?,
                None => mlm::Precision::default(),
            };
            let rep = mlm::pseudo_perplexity(
                &a.model,
                &refs,
                a.limit,
                a.max_len,
                a.batch_size,
                device,
                precision,
            )?;
            // Throughput goes to stderr: the JSON report stays the same bytes run to run.
            let secs = t.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "scored {} sentences ({} tokens) in {secs:.1} s: {:.1} sentences/s, {:.0} tokens/s",
                rep["sentences"],
                rep["tokens"],
                rep["sentences"].as_f64().unwrap_or(0.0) / secs,
                rep["tokens"].as_f64().unwrap_or(0.0) / secs
            );
            rep
        }
        EvalTask::Classify => {
            let Some(p) = a.data.first() else {
                bail!("--data FILE is required")
            };
            let mut rows =
                data::read_labelled(p, a.text_column.as_deref(), a.label_column.as_deref())?;
            rows.truncate(limit);
            eval::classify_report(&a.model, &rows, device)?
        }
        EvalTask::Ner => {
            let Some(p) = a.data.first() else {
                bail!("--data FILE is required")
            };
            let mut rows = data::read_tagged_words(p)?;
            rows.truncate(limit);
            eval::ner_report(&a.model, &rows, device)?
        }
        EvalTask::PosProbe => {
            let [train, test] = a.data.as_slice() else {
                bail!("pos-probe needs --data TRAIN.conll TEST.conll")
            };
            let train = data::read_pos_words(train)?;
            let mut test = data::read_pos_words(test)?;
            test.truncate(limit);
            let (train, test): (Vec<_>, Vec<_>) = (train.iter().collect(), test.iter().collect());
            probe::pos_probe_report(&a.model, &train, &test, a.max_len, a.batch_size, device)?
        }
        EvalTask::Bitext => {
            let (mut src, mut tgt) = match (&a.pairs, a.data.as_slice()) {
                (Some(spec), _) => {
                    let Some((s, t)) = spec.split_once(',') else {
                        bail!("--pairs wants SRC_FILE,TGT_FILE")
                    };
                    (
                        read_lines(&PathBuf::from(s))?,
                        read_lines(&PathBuf::from(t))?,
                    )
                }
                (None, [s, t]) => (read_lines(s)?, read_lines(t)?),
                (None, [tsv]) => read_lines(tsv)?
                    .into_iter()
                    .filter_map(|l| {
                        l.split_once('\t')
                            .map(|(s, t)| (s.to_string(), t.to_string()))
                    })
                    .unzip(),
                _ => bail!("bitext needs --data SRC TGT, --data PAIRS.tsv or --pairs SRC,TGT"),
            };
            src.truncate(limit);
            tgt.truncate(limit);
            let pooling: Pooling = a.pooling.parse()?;
            let enc = Encoder::load(&a.model, device, pooling)?
                .with_max_len(a.max_len)
                .with_batch_size(a.batch_size);
            let s: Vec<&str> = src.iter().map(String::as_str).collect();
            let t: Vec<&str> = tgt.iter().map(String::as_str).collect();
            bitext::bitext_report(&enc, &s, &t)?
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
