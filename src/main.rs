//! The `mavuno` command-line interface.
//!
//! This binary is not linked with libtorch, so data commands start at once; the commands
//! and configs that need libtorch (training, evaluation, attacks, `doctor`, the full
//! `stages` list) are handed to `mavuno-torch` next to it with the same arguments
//! (src/delegate.rs). Exit codes: 0 success, 1 the run failed, 2 usage or config error.

#[path = "cmd_data.rs"]
mod cmd;
mod delegate;
mod process;
#[path = "registry_data.rs"]
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
    #[command(disable_help_flag = true)]
    Stages {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Rows, schema and first records of a data file.
    Inspect(cmd::inspect::InspectArgs),
    /// Versions, libtorch location, CUDA available or not.
    #[command(disable_help_flag = true)]
    Doctor {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
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
    #[command(disable_help_flag = true)]
    Pretrain {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Curricula: pacing functions and difficulty ordering.
    #[command(subcommand)]
    Curriculum(cmd::curriculum::CurriculumCmd),
    /// Fine-tune an encoder: classify, ner, or Mirror-BERT (mirror).
    #[command(disable_help_flag = true)]
    Finetune {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Predict with a fine-tuned classifier or tagger (JSONL out).
    #[command(disable_help_flag = true)]
    Predict {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Evaluate a model: mlm, classify, ner, bitext (JSON report).
    #[command(disable_help_flag = true)]
    Eval {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// MLM synonym attack on a classifier; `attack transfer` replays adversarial examples.
    #[command(disable_help_flag = true)]
    Attack {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Label-preserving synonym augmentation (fill-mask candidates + attack filters).
    #[command(disable_help_flag = true)]
    Augment {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Train a word-CNN or BiLSTM victim for the attack.
    #[command(disable_help_flag = true)]
    TrainVictim {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn main() {
    process::restore_sigpipe();
    delegate::for_command();
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Run(a) if a.quiet)
        || matches!(&cli.command, Command::Clean(a) if a.quiet);
    process::init_logging(quiet);
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Clean(a) => cmd::clean::run(a),
        Command::Plan(a) => cmd::run::plan(a),
        Command::Sweep(a) => cmd::sweep::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Lid(a) => process::ok(cmd::lid::run(a)),
        Command::Tag(c) => process::ok(cmd::tag::run(c)),
        Command::Tokenizer(c) => process::ok(cmd::tokenizer::run(c)),
        Command::Mask(a) => process::ok(cmd::mask::run(a)),
        Command::Curriculum(c) => process::ok(cmd::curriculum::run(c)),
        // Caught by `delegate::for_command` before parsing; listed for `--help`.
        Command::Stages { .. }
        | Command::Doctor { .. }
        | Command::Pretrain { .. }
        | Command::Finetune { .. }
        | Command::Predict { .. }
        | Command::Eval { .. }
        | Command::Attack { .. }
        | Command::Augment { .. }
        | Command::TrainVictim { .. } => delegate::exec_torch(),
    };
    process::exit(result)
}
