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

use anyhow::{bail, Context};
use mavuno_models::mlm::{Family, MlmModel, SizePreset};
use mavuno_models::tch::{self, nn};
use mavuno_models::train::{
    build_model, train_mlm, AdamWConfig, BuiltModel, Dataset, Decay, ModelSource, RunOptions,
    TrainConfig, TrainRun, VocabSpec,
};
use mavuno_stages::curriculum::pacing::PacingFn;
use mavuno_stages::curriculum::VocabMap;
use mavuno_stages::mask::plan::{MaskSpec, ReplaceProbs, Strategy};
use mavuno_stages::tokenize::{corpus, ModelType, Tok};

/// `mavuno pretrain`.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    /// Training text: plain text (a sentence a line), JSONL (`text` or `tokens`, optional
    /// `pos_tags`, `ner_tags`, `difficulty`), CoNLL-U or CoNLL.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output model directory (HF layout, plus checkpoints and metrics).
    #[arg(short, long)]
    pub output: PathBuf,
    /// An existing tokenizer.json; without it one is trained on the inputs (or taken from --init).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Vocabulary size of the trained tokenizer.
    #[arg(long, default_value_t = 8000)]
    pub vocab_size: usize,
    /// Tokenizer type to train: unigram, bpe or wordpiece.
    #[arg(long, default_value = "unigram")]
    pub tokenizer_type: String,
    /// Model size: tiny (2×128), small (CLIMB: 8×256 pre-LN), base (12×768).
    #[arg(long, default_value = "tiny")]
    pub size: String,
    /// Model family: roberta or bert (default: bert for WordPiece tokenizers, else roberta).
    #[arg(long)]
    pub arch: Option<String>,
    /// Continue pre-training from this HF directory (config.json + model.safetensors).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Masking: token, whole_word, span, spanbert, lem.
    #[arg(long, default_value = "token")]
    pub masking: String,
    /// Replacement of selected tokens: bert (80/10/10) or climb (90/10/0).
    #[arg(long, default_value = "bert")]
    pub replace: String,
    /// Optimizer steps.
    #[arg(long, default_value_t = 300)]
    pub steps: u64,
    /// Sequences per micro-batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Micro-batches per step.
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Longest sequence in tokens, specials included.
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Peak learning rate (default 5e-4 from scratch, 5e-5 with --init).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Warmup steps (default 10% of --steps).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// LR decay after warmup: linear, cosine or constant.
    #[arg(long, default_value = "linear")]
    pub decay: String,
    /// AdamW weight decay (not on biases and LayerNorms).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Device: auto, cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Evaluate held-out MLM loss every N steps.
    #[arg(long, default_value_t = 100)]
    pub eval_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: u64,
    /// Share of sentences held out for evaluation (at most 1000).
    #[arg(long, default_value_t = 0.05)]
    pub eval_fraction: f64,
    /// CLIMB objective schedule (base_mlm, multitask_pos_all_mlm_0, pos_nv_mlm, ...).
    #[arg(long, default_value = "base_mlm")]
    pub objectives: String,
    /// CLIMB vocabulary curriculum: token_ids, pos_tags or pos_tags_and_token_ids.
    #[arg(long)]
    pub vocab_curriculum: Option<String>,
    /// CLIMB join_sentences: concatenate the tokenized sentences (specials included) and cut
    /// them into blocks of exactly --max-len tokens, dropping the last partial block.
    #[arg(long)]
    pub join_sentences: bool,
    /// CLIMB data curriculum (percentile sampler over `difficulty`, else sentence length).
    #[arg(long)]
    pub data_curriculum: bool,
    /// CLIMB self_perplexity: re-score all training examples with the model's MLM
    /// pseudo-perplexity every N steps (0 = never; needs --data-curriculum).
    #[arg(long, default_value_t = 0)]
    pub rescore_every: u64,
    /// Pacing of the curricula: linear, quad, root, log, exp, step.
    #[arg(long, default_value = "linear")]
    pub pacing: String,
    /// Start over instead of resuming from the newest checkpoint in --output.
    #[arg(long)]
    pub no_resume: bool,
    /// Stop after this many steps as if killed (the next run resumes).
    #[arg(long, hide = true)]
    pub stop_after: Option<u64>,
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
    let Some(model) = ModelType::parse(&a.tokenizer_type) else {
        bail!(
            "--tokenizer-type must be unigram, bpe or wordpiece, got {:?}",
            a.tokenizer_type
        )
    };
    let mut texts = Vec::new();
    for p in &a.inputs {
        corpus::read_texts(p, |t| texts.push(t))
            .with_context(|| format!("reading {}", p.display()))?;
    }
    tracing::info!(
        sentences = texts.len(),
        vocab_size = a.vocab_size,
        "Training the tokenizer."
    );
    let tk = mavuno_stages::tokenize::train(model, a.vocab_size, 2, texts.into_iter())?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    tk.save(&out, false)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    Ok(out)
}

fn parse_or<T>(v: Option<T>, what: &str, got: &str) -> anyhow::Result<T> {
    v.with_context(|| format!("unknown {what} {got:?}"))
}

/// Runs `mavuno pretrain`.
pub fn run(a: PretrainArgs) -> anyhow::Result<()> {
    if let Some(n) = a.threads {
        tch::set_num_threads(n);
    }
    let device = mavuno_models::pick_device(&a.device)?;
    let tok_path = tokenizer_path(&a)?;
    let mut tok = Tok::from_file(&tok_path)?;
    tok.max_len = Some(a.max_len);
    let source = match &a.init {
        Some(dir) => ModelSource::Init(dir),
        None => ModelSource::Fresh(
            parse_or(SizePreset::parse(&a.size), "--size", &a.size)?,
            match &a.arch {
                Some(s) => Some(parse_or(Family::parse(s), "--arch", s)?),
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

    let data = if a.join_sentences {
        mavuno_models::train::join::tokenize_joined(&mut tok, |t| Dataset::read(&a.inputs, t))?
    } else {
        Dataset::read(&a.inputs, &tok)?
    };
    let strategy = parse_or(Strategy::by_name(&a.masking), "--masking", &a.masking)?;
    if matches!(strategy, Strategy::Lem(_)) && !data.tagged {
        tracing::warn!("No pos_tags/ner_tags in the input: LEM masking falls back to random single-subword word masking.");
    }
    let (train, eval) = data.split_eval(a.eval_fraction, 1000, a.seed);
    tracing::info!(train = train.len(), eval = eval.len(), "Read the corpus.");
    let replace = match a.replace.as_str() {
        "bert" => ReplaceProbs::BERT,
        "climb" => ReplaceProbs::CLIMB,
        other => bail!("--replace must be bert or climb, got {other:?}"),
    };
    let decay = match a.decay.as_str() {
        "linear" => Decay::Linear,
        "cosine" => Decay::Cosine,
        "constant" => Decay::Constant,
        other => bail!("--decay must be linear, cosine or constant, got {other:?}"),
    };
    let vocab_curriculum = match a.vocab_curriculum.as_deref() {
        None => None,
        Some("token_ids") => Some(VocabMap::TokenIds),
        Some("pos_tags") => Some(VocabMap::PosTags),
        Some("pos_tags_and_token_ids") => Some(VocabMap::PosTagsAndTokenIds),
        Some(other) => bail!("--vocab-curriculum must be token_ids, pos_tags or pos_tags_and_token_ids, got {other:?}"),
    };
    let config = TrainConfig {
        seed: a.seed,
        steps: a.steps,
        batch_size: a.batch_size,
        grad_accum: a.grad_accum,
        lr: a.lr.unwrap_or(if a.init.is_some() { 5e-5 } else { 5e-4 }),
        warmup_steps: a.warmup.unwrap_or(a.steps / 10),
        decay,
        adamw: AdamWConfig {
            weight_decay: a.weight_decay,
            ..AdamWConfig::default()
        },
        max_grad_norm: 1.0,
        mask: MaskSpec { strategy, replace },
        log_every: 10,
        eval_every: a.eval_every,
        checkpoint_every: a.checkpoint_every,
        keep_checkpoints: 2,
        vocab_curriculum,
        data_curriculum: a.data_curriculum,
        rescore_every: a.rescore_every,
        pacing: parse_or(PacingFn::parse(&a.pacing), "--pacing", &a.pacing)?,
        objectives: a.objectives.clone(),
        amp: true,
    };
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
