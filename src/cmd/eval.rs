//! `mavuno eval`: score a model and print a JSON report (mlm, classify, ner, bitext,
//! pos_probe).
//!
//! The verb is the `eval` stage without the engine: its flags are overrides on the stage's
//! typed config ([`EvalConfig`], serde defaults), validated by the stage's rules, and the
//! scoring is the stage's [`evaluate`]. What differs is only where the rows come from: files
//! read by the shared format rule, where the stage parses records (a bitext pair of aligned
//! files has no one-reader-per-file plan, and the report goes to standard output).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use mavuno_models::finetune::data;
use mavuno_models::stages::eval::{evaluate, EvalConfig, EvalTask, Row};
use mavuno_pipeline::config::{apply_override, Validator};
use mavuno_pipeline::StageConfig;
use mavuno_stages::read::format::FileFormat;
use serde_json::{json, Map};

/// Arguments of `mavuno eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Task: mlm, classify, ner, bitext or pos_probe (also pos-probe).
    #[arg(long)]
    pub task: String,
    /// Data: one file (mlm text, classify TSV/JSONL, ner CoNLL, bitext two-column TSV) or two:
    /// bitext's aligned source and target files, pos_probe's training and test CoNLL files.
    #[arg(long, num_args = 1..=2)]
    pub data: Vec<PathBuf>,
    /// Bitext only: `SRC_FILE,TGT_FILE` (alternative to two `--data` files).
    #[arg(long)]
    pub pairs: Option<String>,
    /// Read `--data` as this format instead of guessing from extension and content
    /// (text, jsonl, parquet, tsv, csv, conll, conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// Use only the first N sentences / examples / pairs (pos_probe: test sentences).
    #[arg(long, alias = "max-sentences")]
    pub limit: Option<usize>,
    /// Bitext pooling: mean or cls (stage default: mean).
    #[arg(long)]
    pub pooling: Option<String>,
    /// Max tokens per input (stage default: 128).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Batch size, rows per forward pass (stage default: 64).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Text column/key (classify).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Label column/key (classify).
    #[arg(long)]
    pub label_column: Option<String>,
    /// auto, cpu, cuda or cuda:N (stage default: auto).
    #[arg(long)]
    pub device: Option<String>,
    /// mlm: number format while scoring, f32 or bf16 (much faster on CPUs with AMX or
    /// AVX-512 BF16; the loss moves by about 1e-4 nats).
    #[arg(long)]
    pub precision: Option<String>,
    /// Any other option of the `eval` stage, e.g. `--set 'entity_pos=["PROPN"]'` (TOML value).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl EvalArgs {
    /// The stage's config: the flags over its serde defaults, then `--set`, then its checks.
    pub fn config(&self) -> Result<EvalConfig> {
        let mut t = Map::new();
        t.insert("task".into(), json!(self.task));
        t.insert("model".into(), json!(self.model.display().to_string()));
        let flags = [
            ("limit", self.limit.map(|v| json!(v))),
            ("pooling", self.pooling.as_ref().map(|v| json!(v))),
            ("max_len", self.max_len.map(|v| json!(v))),
            ("batch_size", self.batch_size.map(|v| json!(v))),
            ("device", self.device.as_ref().map(|v| json!(v))),
            ("precision", self.precision.as_ref().map(|v| json!(v))),
        ];
        for (k, v) in flags {
            if let Some(v) = v {
                t.insert(k.into(), v);
            }
        }
        if let [_, test] = self.data.as_slice() {
            t.insert("probe_test".into(), json!([test.display().to_string()]));
        }
        // `--set` is the engine's override syntax, applied to the stage's table.
        let mut table: toml::Table = toml::Table::try_from(&t)?;
        for s in &self.set {
            apply_override(&mut table, s).map_err(|e| anyhow!("--set {s}: {e}"))?;
        }
        let cfg: EvalConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e| anyhow!("mavuno eval: {e}"))?;
        let mut v = Validator::default();
        cfg.validate(&mut v);
        if let Some(e) = v.errors.first() {
            bail!("mavuno eval: {}: {}", e.field, e.message);
        }
        Ok(cfg)
    }

    /// The rows of the task, read from `--data` / `--pairs`.
    fn rows(&self, task: EvalTask) -> Result<Vec<Row>> {
        let one = || -> Result<&Path> {
            match self.data.as_slice() {
                [p] => Ok(p),
                _ => bail!("--data FILE is required (one file)"),
            }
        };
        let fmt = |p: &Path| FileFormat::of_input(p, self.input_format);
        Ok(match task {
            EvalTask::Mlm => {
                let p = one()?;
                let mut rows = Vec::new();
                mavuno_stages::tokenize::corpus::read_texts_as(p, fmt(p), |t| {
                    rows.push(Row::Text(t, None))
                })?;
                rows
            }
            EvalTask::Classify => {
                let p = one()?;
                data::read_labelled(
                    p,
                    self.input_format,
                    self.text_column.as_deref(),
                    self.label_column.as_deref(),
                )?
                .into_iter()
                .map(Row::Labelled)
                .collect()
            }
            EvalTask::Ner => data::read_tagged_words(one()?, self.input_format)?
                .into_iter()
                .map(Row::Tagged)
                .collect(),
            EvalTask::PosProbe => {
                let [train, test] = self.data.as_slice() else {
                    bail!("pos_probe needs --data TRAIN.conll TEST.conll")
                };
                let mut rows: Vec<Row> = data::read_pos_words(train, self.input_format)?
                    .into_iter()
                    .map(|s| Row::Probe(s, false))
                    .collect();
                rows.extend(
                    data::read_pos_words(test, self.input_format)?
                        .into_iter()
                        .map(|s| Row::Probe(s, true)),
                );
                rows
            }
            EvalTask::Bitext => self.pairs()?,
        })
    }

    /// Bitext pairs: two aligned files, `SRC,TGT`, or one two-column TSV.
    fn pairs(&self) -> Result<Vec<Row>> {
        let lines = |p: &Path| -> Result<Vec<String>> {
            Ok(std::fs::read_to_string(p)
                .with_context(|| format!("reading {}", p.display()))?
                .lines()
                .map(str::to_string)
                .collect())
        };
        let (src, tgt) = match (&self.pairs, self.data.as_slice()) {
            (Some(spec), _) => {
                let Some((s, t)) = spec.split_once(',') else {
                    bail!("--pairs wants SRC_FILE,TGT_FILE")
                };
                (lines(Path::new(s))?, lines(Path::new(t))?)
            }
            (None, [s, t]) => (lines(s)?, lines(t)?),
            (None, [tsv]) => lines(tsv)?
                .into_iter()
                .filter_map(|l| {
                    l.split_once('\t')
                        .map(|(s, t)| (s.to_string(), t.to_string()))
                })
                .unzip(),
            _ => bail!("bitext needs --data SRC TGT, --data PAIRS.tsv or --pairs SRC,TGT"),
        };
        if src.len() != tgt.len() {
            bail!(
                "bitext: {} source lines but {} target lines (misaligned files)",
                src.len(),
                tgt.len()
            );
        }
        Ok(src
            .into_iter()
            .zip(tgt)
            .map(|(s, t)| Row::Pair(s, t))
            .collect())
    }
}

/// Runs `mavuno eval`.
pub fn run(a: EvalArgs) -> Result<()> {
    let cfg = a.config()?;
    let rows = a.rows(cfg.task)?;
    if rows.is_empty() {
        bail!("no examples usable for task {:?} in the data", cfg.task);
    }
    let t = std::time::Instant::now();
    let report = evaluate(&cfg, &a.model, &rows).map_err(|e| anyhow!(e))?;
    if cfg.task == EvalTask::Mlm {
        // Throughput goes to stderr: the JSON report stays the same bytes run to run.
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "scored {} sentences ({} tokens) in {secs:.1} s: {:.1} sentences/s, {:.0} tokens/s",
            report["sentences"],
            report["tokens"],
            report["sentences"].as_f64().unwrap_or(0.0) / secs,
            report["tokens"].as_f64().unwrap_or(0.0) / secs
        );
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
