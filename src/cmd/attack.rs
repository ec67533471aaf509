//! `mavuno attack` (MLM synonym attack, SEEDS.md §3), `mavuno attack transfer` (replay
//! adversarial examples on other victims), `mavuno augment` (label-preserving synonym
//! substitution) and `mavuno train-victim` (word-CNN / BiLSTM victims).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mavuno_models::attack::augment::{AugmentConfig, Augmenter};
use mavuno_models::attack::transfer::{transfer, Pair};
use mavuno_models::attack::{AttackConfig, Attacker, Importance};
use mavuno_models::pick_device;
use mavuno_models::stages::synonym_source::{
    has_repeated_token, in_char_range, validate_attack, SynonymSourceConfig,
};
use mavuno_models::victims::data::shuffle_seeded;
use mavuno_models::victims::{load_victim, read_labeled, Arch, TrainOptions, WordVictim};
use mavuno_pipeline::config::Validator;
use mavuno_stages::tag::Tagger;

/// Options shared by the attack and augmentation (generator and filters): overrides on the
/// stages' [`SynonymSourceConfig`], whose serde defaults apply to anything not given.
#[derive(clap::Args, Debug, Clone)]
pub struct FilterArgs {
    /// Fill-mask MLM directory (config.json, model.safetensors with its MLM head, tokenizer.json):
    /// BERT, RoBERTa or pre-LN RoBERTa, e.g. the output of `mavuno pretrain`.
    #[arg(long)]
    pub mlm: Option<PathBuf>,
    /// Candidates per word.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Minimum sentence-embedding cosine (needs --encoder).
    #[arg(long)]
    pub min_sim: Option<f32>,
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
    /// Words shorter than this (characters) are neither attacked nor inserted.
    #[arg(long)]
    pub min_word_chars: Option<usize>,
    /// Device: auto, cpu, cuda, cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// Shuffle seed (used with --limit).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Use only N input examples (a seeded random sample; the paper draws 1000).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The paper's sampling: keep only texts whose length (sum of word characters) is within
    /// MIN,MAX (the paper: 30,300), before --limit.
    #[arg(long, value_delimiter = ',', num_args = 2)]
    pub char_range: Option<Vec<usize>>,
    /// The paper's sampling: keep only texts in which no whitespace-separated token occurs
    /// twice, before --limit.
    #[arg(long)]
    pub distinct_tokens: bool,
}

impl FilterArgs {
    /// The shared source config: the stages' defaults, then each flag given.
    pub fn source(&self) -> Result<SynonymSourceConfig> {
        let mlm = self
            .mlm
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut c = SynonymSourceConfig::with_mlm(&mlm)?;
        let k = &mut c.candidates;
        k.top_k = self.top_k.unwrap_or(k.top_k);
        k.min_sim = self.min_sim.unwrap_or(k.min_sim);
        k.max_edit = self.max_edit.or(k.max_edit);
        k.min_word_chars = self.min_word_chars.unwrap_or(k.min_word_chars);
        c.encoder = self.encoder.as_ref().map(|p| p.display().to_string());
        c.pos_model = self.pos_model.as_ref().map(|p| p.display().to_string());
        c.lang = self.lang.clone();
        c.protect = self.protect.clone();
        if let Some(d) = &self.device {
            c.device = d.clone();
        }
        let mut v = Validator::default();
        c.validate(&mut v);
        if let Some(f) = v.errors.first() {
            bail!("--{}: {}", f.field.replace('_', "-"), f.message);
        }
        Ok(c)
    }

    /// The char range, if given.
    fn char_range(&self) -> Option<[usize; 2]> {
        match self.char_range.as_deref() {
            Some(&[lo, hi]) => Some([lo, hi]),
            _ => None,
        }
    }
}

/// `mavuno attack`. Search options override the `synonym_attack` stage's [`AttackConfig`].
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
    #[arg(long)]
    pub max_words: Option<usize>,
    /// Maximum ranked words tried (paper: 1). Default: max_words.
    #[arg(long)]
    pub try_words: Option<usize>,
    /// Maximum victim queries per example.
    #[arg(long)]
    pub query_budget: Option<usize>,
    /// Importance by `delete` (paper) or by replacing with a token, e.g. `--importance '<unk>'`.
    #[arg(long)]
    pub importance: Option<String>,
    /// Candidate search: first_flip (paper) or min_prob (BAE/TextAttack).
    #[arg(long)]
    pub search: Option<String>,
    /// first_flip: candidates per victim call (default: all survivors of a word).
    #[arg(long)]
    pub flip_batch: Option<usize>,
    /// Attack misclassified examples too, against the victim's prediction (the paper).
    #[arg(long)]
    pub attack_all: bool,
    /// Mask every occurrence of the attacked word in the MLM's input (the paper).
    #[arg(long)]
    pub mask_all_occurrences: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

impl AttackArgs {
    /// The search config: the stage's defaults, then each flag given.
    pub fn attack_config(&self) -> Result<AttackConfig> {
        let mut c = AttackConfig::default();
        c.max_words = self.max_words.unwrap_or(c.max_words);
        c.try_words = self.try_words.or(c.try_words);
        c.query_budget = self.query_budget.or(c.query_budget);
        if let Some(i) = &self.importance {
            c.importance = Importance::from(i.clone());
        }
        if let Some(sv) = &self.search {
            c.search = serde_json::from_value(serde_json::json!(sv))
                .with_context(|| format!("--search {sv:?} (first_flip or min_prob)"))?;
        }
        c.flip_batch = self.flip_batch.or(c.flip_batch);
        c.attack_all |= self.attack_all;
        c.mask_all_occurrences |= self.mask_all_occurrences;
        let mut v = Validator::default();
        validate_attack(&c, &mut v);
        if let Some(f) = v.errors.first() {
            bail!("--{}: {}", f.field.replace('_', "-"), f.message);
        }
        Ok(c)
    }
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
    /// Variants per text (default: the `gen_synonyms` stage's).
    #[arg(long)]
    pub variants: Option<usize>,
    /// Fraction of words swapped per variant.
    #[arg(long)]
    pub swap_frac: Option<f64>,
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

fn sample(mut rows: Vec<(String, String)>, f: &FilterArgs) -> Vec<(String, String)> {
    if let Some(r) = f.char_range() {
        rows.retain(|(t, _)| in_char_range(t, r));
    }
    if f.distinct_tokens {
        rows.retain(|(t, _)| !has_repeated_token(t));
    }
    if let Some(n) = f.limit {
        if n < rows.len() {
            shuffle_seeded(&mut rows, f.seed);
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
    let source = a.filters.source()?;
    let config = a.attack_config()?;
    let device = pick_device(&source.device)?;
    let victim = load_victim(victim_dir, device)?;
    if source.encoder.is_none() {
        tracing::warn!("no --encoder: the sentence-similarity filter is off");
    }
    let l = source.load().map_err(|e| anyhow::anyhow!("{e}"))?;
    let examples = sample(read_labeled(input)?, &a.filters);
    let attacker = Attacker {
        victim: victim.as_ref(),
        generator: &l.generator,
        tagger: l.tagger.as_ref().map(|t| t as &dyn Tagger),
        encoder: l.encoder.as_ref().map(|e| e as _),
        stopwords: l.stopwords,
        candidates: source.candidates.clone(),
        config: config.clone(),
    };
    let (results, summary) = attacker.attack_all(&examples)?;
    write_jsonl(output, &results)?;
    let mut v = serde_json::to_value(&summary)?;
    v["attack"] = serde_json::to_value(&config)?;
    v["source"] = serde_json::to_value(&source)?;
    let json = serde_json::to_string_pretty(&v)?;
    let sp = output.with_extension("summary.json");
    std::fs::write(&sp, &json).with_context(|| format!("writing {}", sp.display()))?;
    // The terminal gets the corpus metrics; the per-example `items` (one value per input,
    // for `mavuno sweep`'s pairing) stay in the file.
    if let Some(o) = v.as_object_mut() {
        o.remove("items");
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
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
    if a.filters.mlm.is_none() {
        bail!("mavuno augment needs --mlm DIR");
    }
    let source = a.filters.source()?;
    let l = source.load().map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows = sample(read_labeled(&a.input)?, &a.filters);
    let defaults = AugmentConfig::default();
    let aug = Augmenter {
        generator: &l.generator,
        tagger: l.tagger.as_ref().map(|t| t as &dyn Tagger),
        encoder: l.encoder.as_ref().map(|e| e as _),
        stopwords: l.stopwords,
        config: AugmentConfig {
            variants: a.variants.unwrap_or(defaults.variants),
            swap_frac: a.swap_frac.unwrap_or(defaults.swap_frac),
            candidates: source.candidates.clone(),
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
