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
mod process;
mod registry;
mod report;
mod report_train;

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
    /// Run a config per combination of --vary values and seed; paired statistics.
    Sweep(cmd::sweep::SweepArgs),
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

fn main() {
    process::restore_sigpipe();
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Run(a) if a.quiet)
        || matches!(&cli.command, Command::Clean(a) if a.quiet);
    process::init_logging(quiet);
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Clean(a) => cmd::clean::run(a),
        Command::Plan(a) => cmd::run::plan(a),
        Command::Sweep(a) => cmd::sweep::run(a),
        Command::Stages(a) => cmd::stages::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Doctor { json } => cmd::doctor::run(json),
        Command::Lid(a) => process::ok(cmd::lid::run(a)),
        Command::Tag(c) => process::ok(cmd::tag::run(c)),
        Command::Tokenizer(c) => process::ok(cmd::tokenizer::run(c)),
        Command::Mask(a) => process::ok(cmd::mask::run(a)),
        Command::Curriculum(c) => process::ok(cmd::curriculum::run(c)),
        Command::Finetune(a) => process::ok(cmd::finetune::run(a)),
        Command::Predict(a) => process::ok(cmd::predict::run(a)),
        Command::Eval(a) => process::ok(cmd::eval::run(a)),
        Command::Pretrain(a) => process::ok(cmd::pretrain::run(a)),
        Command::Attack(a) => process::ok(cmd::attack::run(a)),
        Command::Augment(a) => process::ok(cmd::attack::run_augment(a)),
        Command::TrainVictim(a) => process::ok(cmd::attack::run_train_victim(a)),
    };
    process::exit(result)
}
