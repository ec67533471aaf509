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
mod report_shards;
mod report_train;
mod verb;

mod alloc;
mod cli;

use clap::Subcommand;

/// The data commands of the shared definition, plus those that need libtorch.
#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Data(cli::DataCommand),
    /// List stage types and their options.
    Stages(cmd::stages::StagesArgs),
    /// Versions, libtorch location, CUDA available or not, where default models were found.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pre-train (or continue pre-training) a BERT/RoBERTa masked LM; writes an HF directory.
    // Boxed: the pre-training flags dwarf every other variant.
    Pretrain(Box<cmd::pretrain::PretrainArgs>),
    /// Fine-tune an encoder: classify, ner, or Mirror-BERT (mirror).
    Finetune(cmd::finetune::FinetuneArgs),
    /// Predict with a fine-tuned classifier or tagger (JSONL out).
    Predict(cmd::predict::PredictArgs),
    /// Evaluate a model: mlm, classify, ner, bitext, pos-probe (JSON report).
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
    let cli = cli::parse::<Command>();
    process::init_logging(cli.verbosity());
    let result = match cli.command {
        Command::Data(d) => cli::run_data(d),
        Command::Stages(a) => cmd::stages::run(a),
        Command::Doctor { json } => cmd::doctor::run(json),
        Command::Finetune(a) => process::ok(cmd::finetune::run(a)),
        Command::Predict(a) => process::ok(cmd::predict::run(a)),
        Command::Eval(a) => process::ok(cmd::eval::run(a)),
        Command::Pretrain(a) => process::ok(cmd::pretrain::run(*a)),
        Command::Attack(a) => process::ok(cmd::attack::run(a)),
        Command::Augment(a) => process::ok(cmd::attack::run_augment(a)),
        Command::TrainVictim(a) => process::ok(cmd::attack::run_train_victim(a)),
    };
    process::exit(result)
}
