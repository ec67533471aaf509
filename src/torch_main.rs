//! `mavuno-torch`: the full `mavuno` command-line interface, linked with libtorch.
//!
//! `mavuno` (src/main.rs) is the same CLI without libtorch, so that data commands start in
//! milliseconds instead of the ~0.5 s libtorch's loading costs; it hands the commands and
//! configs that need libtorch to this binary (src/delegate.rs). Users call `mavuno`.
//!
//! Exit codes: 0 success, 1 the run failed, 2 usage or config error.

mod cmd;
#[path = "delegate_none.rs"]
mod delegate;
mod registry;
mod report;

use clap::{Parser, Subcommand};

/// mavuno: curated corpora and trained masked LMs for low-resource languages.
#[derive(Parser, Debug)]
#[command(name = "mavuno", bin_name = "mavuno", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline config (resumes: complete stages are skipped).
    Run(cmd::run::RunArgs),
    /// Clean text for one language with its default pipeline (configs/clean-<lang>.toml).
    Clean(cmd::clean::CleanArgs),
    /// Show the validated DAG and which stages are cached.
    Plan(cmd::run::ConfigArgs),
    /// List stage types and their options.
    Stages(cmd::stages::StagesArgs),
    /// Rows, schema and first records of a data file.
    Inspect(cmd::inspect::InspectArgs),
    /// Versions, libtorch location, CUDA available or not.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Language identification: predict, train, eval.
    Lid(cmd::lid::LidArgs),
    /// POS/NER taggers: train, eval, apply, lexicon, split, bench.
    #[command(subcommand)]
    Tag(cmd::tag::TagCmd),
    /// Train or load tokenizers (BPE, WordPiece, Unigram).
    #[command(subcommand)]
    Tokenizer(cmd::tokenizer::TokenizerCmd),
    /// Write masking plans (token, whole_word, span, lem, pos_objective) for tagged text.
    Mask(cmd::mask::MaskArgs),
    /// Pre-train (or continue pre-training) a BERT/RoBERTa masked LM; writes an HF directory.
    Pretrain(cmd::pretrain::PretrainArgs),
    /// Curricula: pacing functions and difficulty ordering.
    #[command(subcommand)]
    Curriculum(cmd::curriculum::CurriculumCmd),
    /// Fine-tune an encoder: classify, ner, or Mirror-BERT (mirror).
    Finetune(cmd::finetune::FinetuneArgs),
    /// Predict with a fine-tuned classifier or tagger (JSONL out).
    Predict(cmd::predict::PredictArgs),
    /// Evaluate a model: mlm, classify, ner, bitext (JSON report).
    Eval(cmd::eval::EvalArgs),
    /// MLM synonym attack on a classifier; `attack transfer` replays adversarial examples.
    Attack(cmd::attack::AttackArgs),
    /// Label-preserving synonym augmentation (fill-mask candidates + attack filters).
    Augment(cmd::attack::AugmentArgs),
    /// Train a word-CNN or BiLSTM victim for the attack.
    TrainVictim(cmd::attack::TrainVictimArgs),
}

fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAVUNO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Commands that return nothing special exit 0 on success.
fn ok(r: anyhow::Result<()>) -> anyhow::Result<i32> {
    r.map(|()| 0)
}

/// Piping into `head` must end the command quietly, as for any Unix tool: Rust ignores
/// SIGPIPE by default, which turns every later `println!` into a panic.
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    restore_sigpipe();
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Run(a) if a.quiet)
        || matches!(&cli.command, Command::Clean(a) if a.quiet);
    init_logging(quiet);
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Clean(a) => cmd::clean::run(a),
        Command::Plan(a) => cmd::run::plan(a),
        Command::Stages(a) => cmd::stages::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Doctor { json } => cmd::doctor::run(json),
        Command::Lid(a) => ok(cmd::lid::run(a)),
        Command::Tag(c) => ok(cmd::tag::run(c)),
        Command::Tokenizer(c) => ok(cmd::tokenizer::run(c)),
        Command::Mask(a) => ok(cmd::mask::run(a)),
        Command::Curriculum(c) => ok(cmd::curriculum::run(c)),
        Command::Finetune(a) => ok(cmd::finetune::run(a)),
        Command::Predict(a) => ok(cmd::predict::run(a)),
        Command::Eval(a) => ok(cmd::eval::run(a)),
        Command::Pretrain(a) => ok(cmd::pretrain::run(a)),
        Command::Attack(a) => ok(cmd::attack::run(a)),
        Command::Augment(a) => ok(cmd::attack::run_augment(a)),
        Command::TrainVictim(a) => ok(cmd::attack::run_train_victim(a)),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
