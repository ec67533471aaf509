//! `mavuno pretrain`: train a tokenizer if none is given, then pre-train (or continue
//! pre-training) a BERT/RoBERTa masked LM and export it as an HF directory.
//!
//! `mavuno pretrain corpus.txt -o model` works out of the box on a laptop CPU: a Unigram
//! tokenizer (8000 ids) is trained on the corpus, then a tiny RoBERTa (2 layers, hidden 128) is
//! trained for 300 steps. The output directory loads with
//! `AutoModelForMaskedLM.from_pretrained(model)`; it also holds `metrics.jsonl`,
//! `train_config.toml` and `ckpt/step_N/`, and rerunning the same command resumes from the last
//! checkpoint.

use std::path::{Path, PathBuf};

use crate::cmd::masking_args::MaskingArgs;
use anyhow::{bail, Context};
use mavuno_models::mlm::{Family, MlmModel, SizePreset};
use mavuno_models::stages::train_mlm::{NeSource, TrainMlmConfig};
use mavuno_models::tch::{self, nn};
use mavuno_models::train::data::{read_pairs, read_sentences};
use mavuno_models::train::{
    build_model, train_mlm, BuiltModel, ModelSource, RunOptions, TrainRun, VocabSpec,
};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::StageConfig;
use mavuno_stages::mask::plan::Strategy;
use mavuno_stages::tokenize::train_tokenizer::TrainTokenizerConfig;
use mavuno_stages::tokenize::{corpus, Tok};

/// `mavuno pretrain`. Training options are overrides on the `train_mlm` stage's config
/// ([`TrainMlmConfig`]): an option not given keeps that stage's default, so the verb and the
/// stage train the same way from the same defaults.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    /// Training text: plain text (a sentence a line), JSONL (`text` or `tokens`, optional
    /// `pos_tags`, `ner_tags`), CoNLL-U or CoNLL. With --tlm: JSONL translation pairs.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output model directory (HF layout, plus checkpoints and metrics).
    #[arg(short, long)]
    pub output: PathBuf,
    /// An existing tokenizer.json; without it one is trained on the inputs (or taken from --init).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Vocabulary size of the trained tokenizer (the `train_tokenizer` stage's default: 8000).
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Tokenizer type to train: unigram, bpe or wordpiece.
    #[arg(long, default_value = "unigram")]
    pub tokenizer_type: String,
    /// Model size: tiny (2×128), small (CLIMB: 8×256 pre-LN), base (12×768).
    #[arg(long)]
    pub size: Option<String>,
    /// Model family: roberta or bert (default: bert for WordPiece tokenizers, else roberta).
    #[arg(long)]
    pub arch: Option<String>,
    /// Continue pre-training from this HF directory (config.json + model.safetensors).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Masking spec and its overrides (shared with `mavuno mask`).
    #[command(flatten)]
    pub masking: MaskingArgs,
    /// POS tags whose words count as NEs where no NER tag is present (e.g. PROPN).
    #[arg(long, value_delimiter = ',')]
    pub entity_pos: Option<Vec<String>>,
    /// Replacement of selected tokens: bert (80/10/10) or climb (90/10/0).
    #[arg(long)]
    pub replace: Option<String>,
    /// Optimizer steps.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Sequences per micro-batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Micro-batches per step.
    #[arg(long)]
    pub grad_accum: Option<usize>,
    /// Longest sequence in tokens, specials included.
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Peak learning rate (stage default: 5e-4 from scratch, 5e-5 with --init).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Warmup steps (stage default: 10% of the steps).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// LR decay after warmup: linear, cosine or constant.
    #[arg(long)]
    pub decay: Option<String>,
    /// AdamW weight decay (not on biases and LayerNorms).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Optimisers: per_unit (CLIMB) or shared.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// per_unit: warm-up share of each objective unit's active steps.
    #[arg(long)]
    pub unit_warmup: Option<f64>,
    /// Seed (the pipeline's run seed plays this part in `train_mlm`).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Device: auto, cpu, cuda, cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Evaluate held-out MLM loss every N steps.
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Checkpoint every N steps.
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// What the output directory holds: last (the final weights) or best (the evaluation
    /// with the lowest held-out loss).
    #[arg(long)]
    pub export: Option<String>,
    /// Share of sentences held out for evaluation (at most 1000).
    #[arg(long)]
    pub eval_fraction: Option<f64>,
    /// CLIMB objective schedule (base_mlm, multitask_pos_all_mlm_0, pos_nv_mlm, ...).
    #[arg(long)]
    pub objectives: Option<String>,
    /// CLIMB vocabulary curriculum: token_ids, pos_tags or pos_tags_and_token_ids.
    #[arg(long)]
    pub vocab_curriculum: Option<String>,
    /// CLIMB join_sentences: concatenate the tokenized sentences (specials included) in input
    /// order, cut them into blocks of exactly --max-len tokens (the last partial block
    /// dropped) and score each block by its unigram perplexity.
    #[arg(long)]
    pub join_sentences: bool,
    /// CLIMB data curriculum (percentile sampler over block/sentence difficulty).
    #[arg(long)]
    pub data_curriculum: bool,
    /// CLIMB self_perplexity: re-score all training examples with the model's MLM
    /// pseudo-perplexity every N steps (needs --data-curriculum).
    #[arg(long)]
    pub rescore_every: Option<u64>,
    /// Pacing of the curricula: linear, quad, root, log, exp, step.
    #[arg(long)]
    pub pacing: Option<String>,
    /// TLM: the inputs are JSONL translation pairs, one sequence per pair.
    #[arg(long)]
    pub tlm: bool,
    /// TLM: the field holding the target side.
    #[arg(long)]
    pub target_field: Option<String>,
    /// Start over instead of resuming from the newest checkpoint in --output.
    #[arg(long)]
    pub no_resume: bool,
    /// Stop after this many steps as if killed (the next run resumes).
    #[arg(long, hide = true)]
    pub stop_after: Option<u64>,
}

/// A string value as the serde value of a config field (enums spelled as in configs).
fn enum_value<T: serde::de::DeserializeOwned>(flag: &str, v: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::json!(v)).with_context(|| format!("{flag} {v:?}"))
}

/// The `train_mlm` config these arguments describe: the stage's serde defaults, then every
/// option given. Errors name the flag (validation messages name the config field).
pub fn config(a: &PretrainArgs) -> anyhow::Result<TrainMlmConfig> {
    let mut c = TrainMlmConfig::defaults()?;
    c.init = a.init.as_ref().map(|p| p.display().to_string());
    c.tokenizer = a.tokenizer.as_ref().map(|p| p.display().to_string());
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = &a.$field { c.$field = v.clone(); } )* };
    }
    set!(
        size,
        replace,
        steps,
        batch_size,
        grad_accum,
        max_len,
        decay,
        weight_decay
    );
    set!(
        eval_every,
        checkpoint_every,
        export,
        eval_fraction,
        objectives,
        rescore_every,
        device
    );
    set!(target_field);
    c.arch = a.arch.clone().or(c.arch);
    c.lr = a.lr.or(c.lr);
    c.warmup = a.warmup.or(c.warmup);
    c.threads = a.threads.or(c.threads);
    c.unit_warmup = a.unit_warmup.or(c.unit_warmup);
    if let Some(e) = &a.entity_pos {
        c.entity_pos = e.clone();
    }
    a.masking.apply(&mut c.masking)?;
    if let Some(v) = &a.vocab_curriculum {
        c.vocab_curriculum = Some(enum_value("--vocab-curriculum", v)?);
    }
    if let Some(p) = &a.pacing {
        c.pacing = enum_value("--pacing", p)?;
    }
    if let Some(o) = &a.optimizer {
        c.optimizer = enum_value("--optimizer", o)?;
    }
    c.join_sentences |= a.join_sentences;
    c.data_curriculum |= a.data_curriculum;
    c.tlm |= a.tlm;
    c.seed = Some(a.seed);
    // The tokenizer is found or trained later; validate the rest.
    let mut probe = c.clone();
    probe
        .tokenizer
        .get_or_insert_with(|| "tokenizer.json".into());
    let mut v = Validator::default();
    probe.validate(&mut v);
    if let Some(f) = v.errors.first() {
        bail!("{}: {}", f.field, f.message);
    }
    Ok(c)
}

/// Finds or trains the tokenizer; returns its path.
fn tokenizer_path(a: &PretrainArgs) -> anyhow::Result<PathBuf> {
    if let Some(t) = &a.tokenizer {
        return Ok(t.clone());
    }
    if let Some(init) = &a.init {
        let t = init.join("tokenizer.json");
        if t.is_file() {
            return Ok(t);
        }
        bail!("{} has no tokenizer.json; pass --tokenizer", init.display());
    }
    let out = a.output.join("tokenizer.json");
    if out.is_file() {
        // A resumed run must keep the ids its checkpoints were trained with.
        return Ok(out);
    }
    // The `train_tokenizer` stage's config: its defaults (vocabulary, merge frequency) are
    // the verb's.
    let mut tc = serde_json::json!({"model": a.tokenizer_type, "path": out.display().to_string()});
    if let Some(v) = a.vocab_size {
        tc["vocab_size"] = v.into();
    }
    let tc: TrainTokenizerConfig = serde_json::from_value(tc)
        .with_context(|| format!("--tokenizer-type {:?}", a.tokenizer_type))?;
    let mut texts = Vec::new();
    for p in &a.inputs {
        corpus::read_texts(p, |t| texts.push(t))
            .with_context(|| format!("reading {}", p.display()))?;
    }
    tracing::info!(
        sentences = texts.len(),
        vocab_size = tc.vocab_size,
        "Training the tokenizer."
    );
    let tk = mavuno_stages::tokenize::train(
        tc.model,
        tc.vocab_size,
        tc.min_frequency,
        texts.into_iter(),
    )?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    tk.save(&out, false)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    Ok(out)
}

/// Runs `mavuno pretrain`.
pub fn run(a: PretrainArgs) -> anyhow::Result<()> {
    let cfg = config(&a)?;
    if let Some(n) = cfg.threads {
        tch::set_num_threads(n);
    }
    let device = mavuno_models::pick_device(&cfg.device)?;
    let tok_path = tokenizer_path(&a)?;
    let mut tok = Tok::from_file(&tok_path)?;
    tok.max_len = Some(cfg.max_len);
    let source = match &a.init {
        Some(dir) => ModelSource::Init(dir),
        None => ModelSource::Fresh(
            SizePreset::parse(&cfg.size).with_context(|| format!("--size {:?}", cfg.size))?,
            match &cfg.arch {
                Some(s) => Some(Family::parse(s).with_context(|| format!("--arch {s:?}"))?),
                None => None,
            },
        ),
    };
    let BuiltModel { vs, model, fresh } = build_model(source, &mut tok, a.seed, device)
        .with_context(|| match &a.init {
            Some(dir) => format!("loading {}", dir.display()),
            None => "building the model".into(),
        })?;
    if !fresh.is_empty() {
        tracing::info!(
            fresh = fresh.len(),
            "Initialised the MLM head fresh (not in the checkpoint)."
        );
    }
    let vocab = VocabSpec::from_tok(&tok)?;

    let mut ne = NeSource::default();
    let data = if cfg.tlm {
        let mut pairs = read_pairs(&a.inputs, &cfg.target_field)?;
        for (s, t) in &mut pairs {
            ne.mark(s, &cfg.entity_pos);
            ne.mark(t, &cfg.entity_pos);
        }
        cfg.dataset(Vec::new(), pairs, &mut tok)?
    } else {
        let mut sentences = read_sentences(&a.inputs)?;
        for (s, _) in &mut sentences {
            ne.mark(s, &cfg.entity_pos);
        }
        cfg.dataset(sentences, Vec::new(), &mut tok)?
    };
    let config = cfg
        .train_config(a.seed)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if matches!(config.mask.strategy, Strategy::Lem(_)) {
        tracing::info!(
            ne_source = ne.label(),
            ne_words_ner = ne.ner,
            ne_words_pos_proxy = ne.pos_proxy,
            "LEM entities."
        );
        if !data.tagged {
            tracing::warn!("No pos_tags/ner_tags in the input: LEM masking falls back to random single-subword word masking.");
        }
    }
    let (mut train, eval) = data.split_eval(cfg.eval_fraction, 1000, a.seed);
    if cfg.join_sentences {
        mavuno_models::train::join::score_train_blocks(&mut train);
    }
    tracing::info!(train = train.len(), eval = eval.len(), "Read the corpus.");
    let run = TrainRun {
        model: &model,
        vs: &vs,
        train: &train,
        eval: &eval,
        vocab: &vocab,
        unk_id: tok.unk_id,
        config: &config,
        run_dir: &a.output,
        device,
    };
    let options = RunOptions {
        resume: !a.no_resume,
        stop_after: a.stop_after,
        verbose: true,
    };
    let summary = train_mlm(&run, &options)?;
    if summary.steps >= config.steps {
        export(&model, &vs, &tok_path, &a.output)?;
    }
    println!("{}", serde_json::to_string(&summary)?);
    if summary.start_step >= summary.steps {
        eprintln!(
            "Already trained to step {} (resumed a complete run; --no-resume starts over).",
            summary.steps
        );
        return Ok(());
    }
    eprintln!(
        "Trained steps {}..{} in {:.1} s: {:.0} tokens/s, loss {:.4}, eval loss {}.",
        summary.start_step,
        summary.steps,
        summary.seconds,
        summary.tokens_per_s,
        summary.last_loss.unwrap_or(f64::NAN),
        summary
            .eval_loss
            .map_or("n/a".into(), |e| format!("{e:.4}"))
    );
    Ok(())
}

fn export(model: &MlmModel, vs: &nn::VarStore, tok: &Path, out: &Path) -> anyhow::Result<()> {
    model.save_hf(vs, Some(tok), out)?;
    tracing::info!(dir = %out.display(), "Exported the model.");
    Ok(())
}
