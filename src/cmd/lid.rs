//! `mavuno lid`: language identification from the command line.
//!
//! * `mavuno lid [--model M] FILE`: one `label<TAB>confidence` line out per line in
//!   (`-` reads standard input).
//! * `mavuno lid train --data yor=yor.txt --data hau=hau.txt … -o model.bin`
//! * `mavuno lid eval --model M --data yor=test.yor …`: JSON with per-language
//!   precision/recall/F1/support, macro-F1, confusable-pair counts and the confusion matrix.

use anyhow::{bail, Context};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::StageConfig;
use mavuno_stages::langid::eval::{confusion_summary, evaluate};
use mavuno_stages::langid::langid::{Langid, LangidConfig};
use mavuno_stages::langid::model::{train, FeatureConfig, Features, TrainConfig};
use mavuno_stages::langid::Backend;
use mavuno_stages::read::format::FileFormat;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `mavuno lid`: predict (default), train or evaluate.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LidArgs {
    /// Train or evaluate instead of predicting.
    #[command(subcommand)]
    pub cmd: Option<LidCmd>,
    #[command(flatten)]
    pub predict: PredictArgs,
}

/// Which model to use and how to label: each flag overrides one field of the `langid`
/// stage's config ([`LangidConfig`]); unset flags keep the stage's defaults.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model file (default: the shipped models/lid/mavuno-lid-v1.bin, found beside the binary).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// `mavuno` or `fasttext` (.bin/.ftz).
    #[arg(long, value_enum, default_value = "mavuno")]
    pub backend: BackendArg,
    /// `und` below this confidence (default: the model's).
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Label `und` lines again without their capitalised words (the stage's
    /// `retry_without_names`).
    #[arg(long)]
    pub retry_without_names: bool,
    /// After mavuno's model, ask lingua about text it cannot place: labels Zulu, Xhosa,
    /// Somali and Luganda, which mavuno's model has no data for (docs/LID.md).
    #[arg(long)]
    pub lingua: bool,
    /// lingua's confidence bar in [0, 1] (default 0.5).
    #[arg(long)]
    pub lingua_min_confidence: Option<f64>,
}

impl ModelArgs {
    /// The `langid` stage config these flags describe (mode `annotate`).
    pub fn config(&self) -> LangidConfig {
        LangidConfig {
            model: self.model.as_ref().map(|p| p.display().to_string()),
            backend: match self.backend {
                BackendArg::Mavuno => Backend::Mavuno,
                BackendArg::Fasttext => Backend::Fasttext,
            },
            min_confidence: self.min_confidence,
            retry_without_names: self.retry_without_names,
            lingua: self.lingua,
            lingua_min_confidence: self.lingua_min_confidence,
            ..LangidConfig::default()
        }
    }
}

/// Backend names on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BackendArg {
    /// mavuno's model.
    Mavuno,
    /// A fastText model.
    Fasttext,
}

/// Arguments of the default (predict) command.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Input file, one text per line (`-` for standard input).
    pub file: Option<PathBuf>,
    /// Append, per candidate label, `label:softmax/coverage/factor` (mavuno backend).
    #[arg(long)]
    pub explain: bool,
}

/// `mavuno lid train|eval`.
#[derive(clap::Subcommand, Debug)]
pub enum LidCmd {
    /// Train a mavuno model.
    Train {
        /// `LANG=PATH` (ISO 639-3), repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<String>,
        /// Output model file.
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Read the data files as text, conll, conllu or tsv (default: guessed per file
        /// from extension and content).
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// Text column for TSV files.
        #[arg(long)]
        column: Option<String>,
        /// Shuffle seed.
        #[arg(long, default_value_t = 13)]
        seed: u64,
        /// Passes over the data.
        #[arg(long, default_value_t = 6)]
        epochs: usize,
        /// At most this many lines per language.
        #[arg(long, default_value_t = 40_000)]
        max_lines: usize,
        /// log2 of the number of hashed feature buckets.
        #[arg(long, default_value_t = 18)]
        buckets_log2: u32,
        /// Default `und` threshold stored in the model.
        #[arg(long, default_value_t = 0.5)]
        threshold: f32,
    },
    /// Evaluate a model on labelled lines; prints JSON.
    Eval {
        #[command(flatten)]
        model: ModelArgs,
        /// `LANG=PATH`, repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<String>,
        /// Read the data files as text, conll, conllu or tsv (default: guessed per file
        /// from extension and content).
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// Text column for TSV files.
        #[arg(long)]
        column: Option<String>,
        /// Also write `gold<TAB>pred<TAB>confidence<TAB>text` lines here.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
}

/// Runs `mavuno lid …`.
pub fn run(args: LidArgs) -> anyhow::Result<()> {
    match args.cmd {
        None => predict(&args.predict),
        Some(LidCmd::Train {
            data,
            output,
            format,
            column,
            seed,
            epochs,
            max_lines,
            buckets_log2,
            threshold,
        }) => {
            let mut sets = Vec::new();
            for spec in &data {
                let (lang, path) = parse_spec(spec)?;
                let lines = read_lines(&path, format, column.as_deref())?;
                eprintln!("{lang}: {} lines from {}", lines.len(), path.display());
                sets.push((lang, lines));
            }
            let cfg = TrainConfig {
                features: FeatureConfig {
                    buckets_log2,
                    ..FeatureConfig::default()
                },
                epochs,
                seed,
                max_lines_per_lang: max_lines,
                threshold,
                ..TrainConfig::default()
            };
            let t = Instant::now();
            let model = train(&sets, &cfg)?;
            model.save(&output)?;
            eprintln!(
                "Trained {} labels in {:.1}s: {}",
                model.labels().len(),
                t.elapsed().as_secs_f64(),
                output.display()
            );
            Ok(())
        }
        Some(LidCmd::Eval {
            model,
            data,
            format,
            column,
            predictions,
        }) => {
            let stage = load(&model)?;
            let mut gold = Vec::new();
            for spec in &data {
                let (lang, path) = parse_spec(spec)?;
                for line in read_lines(&path, format, column.as_deref())? {
                    if !line.trim().is_empty() {
                        gold.push((lang.clone(), line));
                    }
                }
            }
            let start = Instant::now();
            let mut f = Features::default();
            let preds: Vec<_> = gold
                .iter()
                .map(|(_, text)| stage.label(text, &mut f).0)
                .collect();
            let secs = start.elapsed().as_secs_f64();
            if let Some(p) = predictions {
                let mut w = BufWriter::new(
                    std::fs::File::create(&p).with_context(|| p.display().to_string())?,
                );
                for ((g, text), pr) in gold.iter().zip(&preds) {
                    writeln!(w, "{g}\t{}\t{:.4}\t{text}", pr.label, pr.confidence)?;
                }
            }
            let report = evaluate(
                gold.iter()
                    .zip(&preds)
                    .map(|((g, _), p)| (g.as_str(), p.label.as_str())),
            );
            eprint!("{}", confusion_summary(&report, 3));
            let mut v = serde_json::to_value(&report)?;
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "seconds_single_thread".into(),
                    serde_json::json!((secs * 1000.0).round() / 1000.0),
                );
                o.insert(
                    "lines_per_second".into(),
                    serde_json::json!((gold.len() as f64 / secs.max(1e-9)).round()),
                );
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

/// The `langid` stage's runtime for these flags, after the stage's own validation.
fn load(m: &ModelArgs) -> anyhow::Result<Langid> {
    let cfg = m.config();
    let mut v = Validator::default();
    StageConfig::validate(&cfg, &mut v);
    if let Some(e) = v.errors.first() {
        bail!("--{}: {}", e.field.replace('_', "-"), e.message);
    }
    Ok(cfg.runtime()?)
}

fn predict(a: &PredictArgs) -> anyhow::Result<()> {
    let stage = load(&a.model)?;
    let input: Box<dyn BufRead> = match a.file.as_deref() {
        None => bail!("usage: mavuno lid [--model M] FILE (or `-` for standard input)"),
        Some(p) if p == Path::new("-") => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| p.display().to_string())?,
        )),
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut f = Features::default();
    for line in input.lines() {
        let line = line?;
        let (p, _) = stage.label(&line, &mut f);
        write!(out, "{}\t{:.4}", p.label, p.confidence)?;
        if let (true, Some(m)) = (a.explain, stage.identifier().mavuno_model()) {
            for (l, sm, cov, fac) in m.explain(&line) {
                write!(out, "\t{l}:{sm:.3}/{cov:.3}/{fac:.3}")?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn parse_spec(spec: &str) -> anyhow::Result<(String, PathBuf)> {
    let Some((lang, path)) = spec.split_once('=') else {
        bail!("--data {spec}: expected LANG=PATH, e.g. yor=data/yor.txt");
    };
    if lang.is_empty() || !lang.chars().all(|c| c.is_ascii_lowercase()) {
        bail!("--data {spec}: `{lang}` is not an ISO 639-3 code (lower-case letters)");
    }
    Ok((lang.to_string(), PathBuf::from(path)))
}

/// Reads texts from a data file in the given format.
pub fn read_lines(
    path: &Path,
    format: Option<FileFormat>,
    column: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let format = FileFormat::of_input(path, format);
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    Ok(match format {
        FileFormat::Text => text.lines().map(str::to_string).collect(),
        FileFormat::Conllu => text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("# text = ")
                    .or_else(|| l.strip_prefix("# text ="))
            })
            .map(|s| s.trim().to_string())
            .collect(),
        FileFormat::Conll => {
            let mut out = Vec::new();
            let mut cur: Vec<&str> = Vec::new();
            for l in text.lines().chain(std::iter::once("")) {
                match l.split_whitespace().next() {
                    Some(tok) if !l.starts_with('#') => cur.push(tok),
                    Some(_) => {}
                    None => {
                        if !cur.is_empty() {
                            out.push(cur.join(" "));
                            cur.clear();
                        }
                    }
                }
            }
            out
        }
        FileFormat::Tsv => {
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let col = column.context("TSV data needs --column NAME")?;
            let Some(i) = header.split('\t').position(|h| h == col) else {
                bail!(
                    "{}: no column `{col}` in the header ({header})",
                    path.display()
                );
            };
            lines
                .filter_map(|l| l.split('\t').nth(i))
                .map(|s| s.trim_matches('"').to_string())
                .collect()
        }
        other => bail!(
            "{}: reads as {other}; LID data is text, conll, conllu or tsv (--input-format)",
            path.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_conll_and_tsv() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("a.conll");
        std::fs::write(&p, "Bàbá O\ntó O\n\nỌmọ O\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read_lines(&p, None, None).unwrap_or_default(),
            ["Bàbá tó", "Ọmọ"]
        );
        let p = dir.path().join("a.tsv");
        std::fs::write(&p, "tweet\tlabel\nsannu da zuwa\tpositive\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read_lines(&p, None, Some("tweet")).unwrap_or_default(),
            ["sannu da zuwa"]
        );
        assert!(parse_spec("yor").is_err());
        assert!(parse_spec("Yor=x").is_err());
    }
}
