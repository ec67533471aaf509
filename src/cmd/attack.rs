//! `mavuno attack` (MLM synonym attack, SEEDS.md §3), `mavuno attack transfer` (replay
//! adversarial examples on other victims), `mavuno augment` (label-preserving synonym
//! substitution) and `mavuno train-victim` (word-CNN / BiLSTM victims).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mavuno_models::attack::augment::{AugmentConfig, Augmenter};
use mavuno_models::attack::transfer::{transfer, Pair};
use mavuno_models::attack::{AttackConfig, Attacker, Importance, MeanPooledEncoder, MlmCandidates};
use mavuno_models::pick_device;
use mavuno_models::victims::data::shuffle_seeded;
use mavuno_models::victims::{load_victim, read_labeled, Arch, TrainOptions, WordVictim};
use mavuno_stages::tag::perceptron::Perceptron;
use mavuno_stages::tag::Tagger;

/// Options shared by the attack and augmentation (generator and filters).
#[derive(clap::Args, Debug, Clone)]
pub struct FilterArgs {
    /// Fill-mask MLM directory (config.json, model.safetensors with its MLM head, tokenizer.json):
    /// BERT, RoBERTa or pre-LN RoBERTa, e.g. the output of `mavuno pretrain`.
    #[arg(long)]
    pub mlm: Option<PathBuf>,
    /// Candidates per word.
    #[arg(long, default_value_t = 50)]
    pub top_k: usize,
    /// Minimum sentence-embedding cosine (needs --encoder).
    #[arg(long, default_value_t = 0.8)]
    pub min_sim: f32,
    /// Sentence encoder directory (mean pooling; e.g. all-MiniLM-L6-v2). No similarity filter without it.
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// Language (ISO 639-3) for the committed stopword list.
    #[arg(long)]
    pub lang: Option<String>,
    /// A word never attacked nor inserted (repeatable), e.g. AfriSenti's `@user` placeholder
    /// `--protect user`; the stages' `protect` option.
    #[arg(long, value_name = "WORD")]
    pub protect: Vec<String>,
    /// POS tagger model (.mvt) for the POS-equality filter.
    #[arg(long)]
    pub pos_model: Option<PathBuf>,
    /// Maximum character edit distance between a word and its replacement.
    #[arg(long)]
    pub max_edit: Option<usize>,
    /// Device: auto, cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Shuffle seed (used with --limit).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Use only N input examples (a seeded random sample).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// `mavuno attack`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AttackArgs {
    #[command(subcommand)]
    pub cmd: Option<AttackCmd>,
    /// Victim directory (word-CNN/BiLSTM from `mavuno train-victim`).
    #[arg(long)]
    pub victim: Option<PathBuf>,
    /// Labelled input: TSV (text/tweet + label) or JSONL (text, label).
    pub input: Option<PathBuf>,
    /// Output JSONL, one object per example; the summary goes to OUT.summary.json and stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Maximum words substituted per example (paper: 1).
    #[arg(long, default_value_t = 1)]
    pub max_words: usize,
    /// Maximum ranked words tried (paper: 1). Default: max_words.
    #[arg(long)]
    pub try_words: Option<usize>,
    /// Maximum victim queries per example.
    #[arg(long)]
    pub query_budget: Option<usize>,
    /// Importance by `delete` (paper) or by replacing with a token, e.g. `--importance '<unk>'`.
    #[arg(long, default_value = "delete")]
    pub importance: String,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `mavuno attack` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AttackCmd {
    /// Replay successful adversarial examples on other victims.
    Transfer {
        /// JSONL written by `mavuno attack`.
        #[arg(long)]
        adversarial: PathBuf,
        /// Victim directories.
        #[arg(long, num_args = 1.., required = true)]
        victim: Vec<PathBuf>,
        /// Device.
        #[arg(long, default_value = "cpu")]
        device: String,
    },
}

/// `mavuno augment`.
#[derive(clap::Args, Debug)]
pub struct AugmentArgs {
    /// Labelled input (TSV or JSONL).
    pub input: PathBuf,
    /// Output JSONL: originals, then variants (`augmented_from` = source line).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Variants per text.
    #[arg(long, default_value_t = 2)]
    pub variants: usize,
    /// Fraction of words swapped per variant.
    #[arg(long, default_value_t = 0.1)]
    pub swap_frac: f64,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `mavuno train-victim`.
#[derive(clap::Args, Debug)]
pub struct TrainVictimArgs {
    /// cnn or bilstm.
    #[arg(long, default_value = "cnn")]
    pub arch: Arch,
    /// Training data (TSV or JSONL).
    #[arg(long)]
    pub train: PathBuf,
    /// Dev data; without it the last epoch is kept.
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Carve the dev set out of --train instead (fraction, seeded), when --dev is absent.
    #[arg(long)]
    pub dev_frac: Option<f64>,
    /// Output directory.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Device.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

struct Loaded {
    generator: Option<MlmCandidates>,
    encoder: Option<MeanPooledEncoder>,
    tagger: Option<Perceptron>,
    stopwords: HashSet<String>,
}

fn load_filters(f: &FilterArgs) -> Result<Loaded> {
    let device = pick_device(&f.device)?;
    let generator = match &f.mlm {
        Some(d) => Some(
            MlmCandidates::load(d, device)
                .with_context(|| format!("loading MLM {}", d.display()))?,
        ),
        None => None,
    };
    let encoder = match &f.encoder {
        Some(d) => Some(
            MeanPooledEncoder::load(d, device)
                .with_context(|| format!("loading encoder {}", d.display()))?,
        ),
        None => {
            tracing::warn!("no --encoder: the sentence-similarity filter is off");
            None
        }
    };
    let tagger = match &f.pos_model {
        Some(p) => Some(Perceptron::load(p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let stopwords = match &f.lang {
        Some(l) => match mavuno_stages::quality::stopwords::stopword_list(l) {
            Some(src) => mavuno_stages::quality::stopwords::parse_list(src)
                .into_iter()
                .map(|w| w.to_lowercase())
                .collect(),
            None => bail!("no committed stopword list for {l:?}"),
        },
        None => HashSet::new(),
    };
    // Protected words go through the stopword filter, which skips them as targets and
    // rejects them as candidates (as the stages do).
    let mut stopwords = stopwords;
    stopwords.extend(f.protect.iter().map(|w| w.to_lowercase()));
    Ok(Loaded {
        generator,
        encoder,
        tagger,
        stopwords,
    })
}

fn sample(
    mut rows: Vec<(String, String)>,
    limit: Option<usize>,
    seed: u64,
) -> Vec<(String, String)> {
    if let Some(n) = limit {
        if n < rows.len() {
            shuffle_seeded(&mut rows, seed);
            rows.truncate(n);
        }
    }
    rows
}

fn write_jsonl<T: serde::Serialize>(path: &Path, rows: impl IntoIterator<Item = T>) -> Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for r in rows {
        serde_json::to_writer(&mut w, &r)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Runs `mavuno attack [transfer]`.
pub fn run(a: AttackArgs) -> Result<()> {
    if let Some(AttackCmd::Transfer {
        adversarial,
        victim,
        device,
    }) = a.cmd
    {
        return run_transfer(&adversarial, &victim, &device);
    }
    let (Some(victim_dir), Some(input), Some(output)) = (&a.victim, &a.input, &a.output) else {
        bail!("mavuno attack needs --victim DIR, INPUT and -o OUT.jsonl");
    };
    if a.filters.mlm.is_none() {
        bail!("mavuno attack needs --mlm DIR (a fill-mask checkpoint)");
    }
    let device = pick_device(&a.filters.device)?;
    let victim = load_victim(victim_dir, device)?;
    let l = load_filters(&a.filters)?;
    let Some(generator) = &l.generator else {
        bail!("no MLM loaded")
    };
    let examples = sample(read_labeled(input)?, a.filters.limit, a.filters.seed);
    let attacker = Attacker {
        victim: victim.as_ref(),
        generator,
        tagger: l.tagger.as_ref().map(|t| t as &dyn Tagger),
        encoder: l.encoder.as_ref().map(|e| e as _),
        stopwords: l.stopwords,
        config: AttackConfig {
            top_k: a.filters.top_k,
            max_words: a.max_words,
            try_words: a.try_words.unwrap_or(a.max_words),
            min_sim: a.filters.min_sim,
            query_budget: a.query_budget,
            max_edit: a.filters.max_edit,
            importance: if a.importance == "delete" {
                Importance::Delete
            } else {
                Importance::Replace(a.importance.clone())
            },
            min_word_chars: 2,
        },
    };
    let (results, summary) = attacker.attack_all(&examples)?;
    write_jsonl(output, &results)?;
    let json = serde_json::to_string_pretty(&summary)?;
    let sp = output.with_extension("summary.json");
    std::fs::write(&sp, &json).with_context(|| format!("writing {}", sp.display()))?;
    println!("{json}");
    Ok(())
}

fn run_transfer(adversarial: &Path, victims: &[PathBuf], device: &str) -> Result<()> {
    let device = pick_device(device)?;
    let raw = std::fs::read_to_string(adversarial)
        .with_context(|| format!("reading {}", adversarial.display()))?;
    let mut pairs = Vec::new();
    for line in raw.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v.get("success").and_then(|s| s.as_bool()) != Some(true) {
            continue;
        }
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        pairs.push(Pair {
            text: s("text"),
            adversarial: s("adversarial"),
            label: s("label"),
        });
    }
    let mut reports = Vec::new();
    for d in victims {
        let v = load_victim(d, device)?;
        reports.push(transfer(&d.display().to_string(), v.as_ref(), &pairs)?);
    }
    println!("{}", serde_json::to_string_pretty(&reports)?);
    Ok(())
}

/// Runs `mavuno augment`.
pub fn run_augment(a: AugmentArgs) -> Result<()> {
    let l = load_filters(&a.filters)?;
    let Some(generator) = &l.generator else {
        bail!("mavuno augment needs --mlm DIR")
    };
    let rows = sample(read_labeled(&a.input)?, a.filters.limit, a.filters.seed);
    let aug = Augmenter {
        generator,
        tagger: l.tagger.as_ref().map(|t| t as &dyn Tagger),
        encoder: l.encoder.as_ref().map(|e| e as _),
        stopwords: l.stopwords,
        config: AugmentConfig {
            variants: a.variants,
            swap_frac: a.swap_frac,
            top_k: a.filters.top_k,
            min_sim: a.filters.min_sim,
            max_edit: a.filters.max_edit,
            seed: a.filters.seed,
        },
    };
    let start = std::time::Instant::now();
    let texts: Vec<String> = rows.iter().map(|(t, _)| t.clone()).collect();
    let (variants, counts) = aug.augment(&texts)?;
    let mut out = Vec::new();
    for (t, l) in rows.iter() {
        out.push(serde_json::json!({"text": t, "label": l}));
    }
    let mut n = 0;
    for (i, vs) in variants.iter().enumerate() {
        for v in vs {
            n += 1;
            out.push(serde_json::json!({"text": v, "label": rows[i].1, "augmented_from": i}));
        }
    }
    write_jsonl(&a.output, out)?;
    let summary = serde_json::json!({
        "inputs": rows.len(), "variants": n, "filters": counts,
        "seconds": start.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Runs `mavuno train-victim`.
pub fn run_train_victim(a: TrainVictimArgs) -> Result<()> {
    let device = pick_device(&a.device)?;
    let mut train = read_labeled(&a.train)?;
    let dev = match (&a.dev, a.dev_frac) {
        (Some(p), _) => Some(read_labeled(p)?),
        (None, Some(f)) => {
            shuffle_seeded(&mut train, a.seed);
            let n = ((train.len() as f64) * f).round() as usize;
            Some(train.split_off(train.len() - n))
        }
        (None, None) => None,
    };
    let opts = TrainOptions {
        arch: a.arch,
        epochs: a.epochs,
        seed: a.seed,
        ..TrainOptions::default()
    };
    let (victim, report) = WordVictim::train(&train, dev.as_deref(), opts, device)?;
    victim.save(&a.output)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
