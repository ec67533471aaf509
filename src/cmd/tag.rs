//! `mavuno tag …`: train, evaluate and apply POS/NER taggers; build dictionaries; split
//! test-only treebanks; measure tagging speed. See docs/TAGGING.md.

use anyhow::{bail, Context, Result};
use mavuno_stages::read::format::FileFormat;
use mavuno_stages::shipped;
use mavuno_stages::tag::data::{self, Format, Sentence, TagColumn};
use mavuno_stages::tag::features::Gazetteer;
use mavuno_stages::tag::lexicon::{build_entries, entries_to_tsv};
use mavuno_stages::tag::metrics;
use mavuno_stages::tag::perceptron::{Perceptron, Task, TrainOptions};
use mavuno_stages::tag::Tagger;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use toml::{Table, Value};

use crate::verb::{Verb, VerbArgs};

/// `mavuno tag` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TagCmd {
    /// Train an averaged-perceptron tagger.
    Train {
        /// `pos` or `ner` (NER data must be IOB2).
        #[arg(long)]
        task: Task,
        /// `conll` (`token TAG` columns) or `conllu`; default: guessed per file.
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// Training files.
        #[arg(long, num_args = 1.., required = true)]
        train: Vec<PathBuf>,
        /// Dev file for early stopping (same format).
        #[arg(long)]
        dev: Option<PathBuf>,
        /// Output model (`.mvt`).
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Maximum epochs.
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// Shuffle seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Epochs without dev improvement before stopping.
        #[arg(long, default_value_t = 3)]
        patience: usize,
        /// Drop feature rows whose largest |weight| is below this when saving (smaller model).
        #[arg(long, default_value_t = 0.0)]
        prune: f32,
        /// CoNLL-U tag column: `upos` or `xpos`.
        #[arg(long, default_value = "upos")]
        column: String,
        /// Gazetteer feature lists, `TYPE=FILE` (one entry per line); repeatable.
        #[arg(long)]
        gazetteer: Vec<String>,
    },
    /// Evaluate a model on a tagged file; prints JSON.
    Eval {
        /// The model.
        #[arg(long)]
        model: PathBuf,
        /// Test file.
        #[arg(long)]
        test: PathBuf,
        /// `conll` or `conllu`; default: guessed from extension and content.
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// CoNLL-U tag column: `upos` or `xpos`.
        #[arg(long, default_value = "upos")]
        column: String,
    },
    /// Tag a file: raw text (one sentence per line), CoNLL, CoNLL-U or JSONL (`tokens` or
    /// `text`). A one-stage plan of `tag_pos` or `tag_ner` (the model's task), so it writes
    /// what those stages write (`tokens`, the tags, `word_offsets`; NER also `entities`).
    Apply {
        /// The model.
        #[arg(long)]
        model: PathBuf,
        /// Input file; format from extension and content (`--input-format` overrides).
        input: PathBuf,
        /// Output, by extension: `.conll` (token and tag), `.conllu` (POS as UPOS, NER as
        /// `NER=` in MISC), `.jsonl[.zst]` or `.parquet` (whole records).
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Input format, `--set`, `--workdir`.
        #[command(flatten)]
        verb: VerbArgs,
    },
    /// Type-level dictionaries.
    #[command(subcommand)]
    Lexicon(LexiconCmd),
    /// Seeded train/dev/test split of a tagged file that ships without a train split.
    Split {
        /// The file (CoNLL or CoNLL-U; blank-line separated sentences).
        #[arg(long)]
        input: PathBuf,
        /// Output directory: `train.<ext>`, `dev.<ext>`, `test.<ext>`.
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Fraction of sentences for dev.
        #[arg(long, default_value_t = 0.1)]
        dev_frac: f64,
        /// Fraction of sentences for test.
        #[arg(long, default_value_t = 0.2)]
        test_frac: f64,
    },
    /// Tagging throughput on one core (tokens/s), with the model already loaded.
    Bench {
        /// The model.
        #[arg(long)]
        model: PathBuf,
        /// A tagged file whose words are tagged.
        #[arg(long)]
        test: PathBuf,
        /// `conll` or `conllu`; default: guessed from extension and content.
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// Passes over the file.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

/// `mavuno tag lexicon …`.
#[derive(clap::Subcommand, Debug)]
pub enum LexiconCmd {
    /// Majority tag per word type, as TSV `word tag count total`.
    Build {
        /// `conll` or `conllu`; default: guessed from the first file.
        #[arg(long = "input-format", alias = "format")]
        format: Option<FileFormat>,
        /// Tagged files.
        #[arg(long, num_args = 1.., required = true)]
        train: Vec<PathBuf>,
        /// CoNLL-U tag column: `upos` or `xpos`.
        #[arg(long, default_value = "upos")]
        column: String,
        /// Output TSV.
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

fn column(s: &str) -> Result<TagColumn> {
    match s {
        "upos" => Ok(TagColumn::Upos),
        "xpos" => Ok(TagColumn::Xpos),
        _ => bail!("unknown --column `{s}` (expected upos or xpos)"),
    }
}

/// The tagged-data format of `p` by the shared rule ([`FileFormat::of_input`]).
fn format_of(p: &Path, forced: Option<FileFormat>) -> Result<Format> {
    match FileFormat::of_input(p, forced) {
        FileFormat::Conll => Ok(Format::Conll),
        FileFormat::Conllu => Ok(Format::Conllu),
        f => bail!(
            "{}: reads as {f}, not tagged text; pass --input-format conll or conllu if it is",
            p.display()
        ),
    }
}

fn read(p: &Path, f: Option<FileFormat>, c: TagColumn, task: Task) -> Result<Vec<Sentence>> {
    let s = data::read_file(p, format_of(p, f)?, c)?;
    if task == Task::Ner {
        data::check_iob2(&s, &p.display().to_string())?;
    }
    Ok(s)
}

fn words(s: &Sentence) -> Vec<&str> {
    s.words.iter().map(String::as_str).collect()
}

/// Runs a `mavuno tag` subcommand.
pub fn run(cmd: TagCmd) -> Result<i32> {
    match cmd {
        TagCmd::Train {
            task,
            format,
            train,
            dev,
            output,
            epochs,
            seed,
            patience,
            prune,
            column: col,
            gazetteer,
        } => {
            let col = column(&col)?;
            let mut tr = Vec::new();
            for p in &train {
                tr.extend(read(p, format, col, task)?);
            }
            let dv = dev
                .as_deref()
                .map(|p| read(p, format, col, task))
                .transpose()?;
            let mut gaz = Gazetteer::default();
            for g in &gazetteer {
                let (ty, file) = g
                    .split_once('=')
                    .with_context(|| format!("--gazetteer `{g}`: expected TYPE=FILE"))?;
                let text = std::fs::read_to_string(file).with_context(|| file.to_string())?;
                gaz.add(
                    ty,
                    text.lines()
                        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                        .map(String::from),
                );
            }
            let opts = TrainOptions {
                task,
                epochs,
                seed,
                patience,
                prune,
            };
            let t0 = Instant::now();
            let m = Perceptron::train(&tr, dv.as_deref(), gaz, &opts, &mut |msg| {
                eprintln!("{msg}")
            })
            .map_err(anyhow::Error::msg)?;
            let secs = t0.elapsed().as_secs_f64();
            m.save(&output).map_err(anyhow::Error::msg)?;
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
            println!(
                "{}",
                json!({"model": output, "bytes": size, "labels": m.labels().len(), "train": m.info, "train_seconds": secs})
            );
        }
        TagCmd::Eval {
            model,
            test,
            format,
            column: col,
        } => {
            let m = Perceptron::load(&shipped::resolve(&model.to_string_lossy()))
                .map_err(anyhow::Error::msg)?;
            let sents = read(&test, format, column(&col)?, m.task)?;
            let gold: Vec<Vec<String>> = sents.iter().map(|s| s.tags.clone()).collect();
            let t0 = Instant::now();
            let pred: Vec<Vec<String>> = sents.iter().map(|s| m.tag(&words(s))).collect();
            let secs = t0.elapsed().as_secs_f64();
            let mut r = match m.task {
                Task::Pos => metrics::pos_report(&gold, &pred, m.labels()),
                Task::Ner => metrics::ner_report(&gold, &pred, m.labels()),
            };
            r["task"] = json!(m.task);
            r["sentences"] = json!(sents.len());
            r["tag_seconds"] = json!(secs);
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        TagCmd::Apply {
            model,
            input,
            output,
            verb,
        } => return apply(&model, &input, &output, &verb),
        TagCmd::Lexicon(LexiconCmd::Build {
            format,
            train,
            column: col,
            output,
        }) => {
            let first = train.first().context("--train needs a file")?;
            let sents = data::read_files(&train, format_of(first, format)?, column(&col)?)?;
            let e = build_entries(&sents);
            std::fs::write(&output, entries_to_tsv(&e))
                .with_context(|| output.display().to_string())?;
            eprintln!("{}: {} word types", output.display(), e.len());
        }
        TagCmd::Split {
            input,
            output,
            seed,
            dev_frac,
            test_frac,
        } => {
            if !(0.0..1.0).contains(&(dev_frac + test_frac)) {
                bail!("--dev-frac + --test-frac must be in [0, 1)");
            }
            let text =
                std::fs::read_to_string(&input).with_context(|| input.display().to_string())?;
            let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("txt");
            std::fs::create_dir_all(&output).with_context(|| output.display().to_string())?;
            for (name, blocks) in ["train", "dev", "test"]
                .iter()
                .zip(data::split_blocks(&text, seed, dev_frac, test_frac))
            {
                let p = output.join(format!("{name}.{ext}"));
                std::fs::write(&p, blocks.join("\n")).with_context(|| p.display().to_string())?;
                eprintln!("{}: {} sentences", p.display(), blocks.len());
            }
        }
        TagCmd::Bench {
            model,
            test,
            format,
            repeat,
        } => {
            let t0 = Instant::now();
            let m = Perceptron::load(&shipped::resolve(&model.to_string_lossy()))
                .map_err(anyhow::Error::msg)?;
            let load_s = t0.elapsed().as_secs_f64();
            let sents = data::read_file(&test, format_of(&test, format)?, TagColumn::Upos)?;
            let ws: Vec<Vec<&str>> = sents.iter().map(words).collect();
            let n: usize = ws.iter().map(Vec::len).sum::<usize>() * repeat.max(1);
            let t0 = Instant::now();
            let mut sink = 0usize;
            for _ in 0..repeat.max(1) {
                for w in &ws {
                    sink += m.tag(w).len();
                }
            }
            let s = t0.elapsed().as_secs_f64();
            println!(
                "{}",
                json!({"model": model, "load_seconds": load_s, "tokens": n, "seconds": s,
                                  "tokens_per_second_one_core": (sink as f64 / s).round()})
            );
        }
    }
    Ok(0)
}

/// `tag apply`: the one-stage plan of the model's tagging stage.
fn apply(model: &Path, input: &Path, output: &Path, args: &VerbArgs) -> Result<i32> {
    let model_s = model.to_string_lossy();
    // Found from any working directory (beside the binary for shipped models).
    let model = crate::verb::absolute(&shipped::resolve(&model_s))?;
    let task = Perceptron::task_of(&model).map_err(anyhow::Error::msg)?;
    let (ty, tags) = match task {
        Task::Pos => ("tag_pos", "pos_tags"),
        Task::Ner => ("tag_ner", "ner_tags"),
    };
    let mut stage = Table::new();
    stage.insert("type".into(), Value::String(ty.into()));
    stage.insert("model".into(), Value::String(model.display().to_string()));
    let mut writer = Table::new();
    if FileFormat::from_extension(output) == Some(FileFormat::Conll) {
        writer.insert("tag_field".into(), Value::String(tags.into()));
    }
    let inputs = [input.to_path_buf()];
    Verb {
        verb: "tag-apply",
        stage,
        inputs: &inputs,
        text_field: None,
        output: Some(output),
        writer,
        args,
    }
    .run()
}
