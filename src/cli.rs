//! The one definition of mavuno's command line, shared by both binaries.
//!
//! [`Cli`] is generic over its subcommand enum: `mavuno` (src/main.rs, no libtorch) parses
//! `Cli<DataCommand>`, the commands it runs itself; `mavuno-torch` (src/torch_main.rs)
//! parses `Cli<torch_main::Command>`, which flattens [`DataCommand`] and adds the libtorch
//! commands. Every command and its help is therefore written once. `mavuno` hands any
//! first word that is not one of [`DataCommand`]'s names (and `--help`) to `mavuno-torch`
//! ([`crate::delegate`]), so the libtorch command list is derived from this definition,
//! not kept as a third list.
//!
//! This file never names `mavuno_models`: `mavuno` must start without loading libtorch.

use clap::{Parser, Subcommand};

/// mavuno: curated corpora and trained masked LMs for low-resource languages.
#[derive(Parser, Debug)]
#[command(name = "mavuno", bin_name = "mavuno", version, about, long_about = None)]
pub struct Cli<T: Subcommand> {
    /// Also print info log lines on the terminal (`-vv`: debug). They always go to the
    /// run's log file (`<run>/run.log`).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print only errors: no warnings, progress bars or summaries.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: T,
}

/// The commands that need no libtorch; both binaries run them with [`run_data`].
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Run a pipeline config (resumes: complete stages are skipped).
    Run(crate::cmd::run::RunArgs),
    /// Clean text for one language with its default pipeline (configs/clean-<lang>.toml).
    Clean(crate::cmd::clean::CleanArgs),
    /// Show the validated DAG and which stages are cached.
    Plan(crate::cmd::run::ConfigArgs),
    /// Global decision of a global stage (dedup) over every shard's map (sharded runs).
    Reduce(crate::cmd::reduce::ReduceArgs),
    /// Submit a sharded run as Slurm array jobs with its reduce jobs (or print the scripts).
    Slurm(crate::cmd::slurm::SlurmArgs),
    /// Write a sharded run as Kubernetes Indexed Jobs (JSON manifests) and the order to apply them.
    K8s(crate::cmd::k8s::K8sArgs),
    /// Run a config per combination of --vary values and seed; paired statistics.
    Sweep(crate::cmd::sweep::SweepArgs),
    /// Re-render a run directory's report.html (funnel, filter measures, dropped samples).
    Report(crate::report::ReportArgs),
    /// Rows, schema and first records of a data file, or a run's dropped records (`--dropped`).
    Inspect(crate::cmd::inspect::InspectArgs),
    /// Language identification: predict, train, eval.
    Lid(crate::cmd::lid::LidArgs),
    /// POS/NER taggers: train, eval, apply, lexicon, split, bench.
    #[command(subcommand)]
    Tag(crate::cmd::tag::TagCmd),
    /// Train or load tokenizers (BPE, WordPiece, Unigram).
    #[command(subcommand)]
    Tokenizer(crate::cmd::tokenizer::TokenizerCmd),
    /// Write masking plans (token, whole_word, span, lem, pos_objective) for tagged text.
    Mask(crate::cmd::mask::MaskArgs),
    /// Curricula: pacing functions and difficulty ordering.
    #[command(subcommand)]
    Curriculum(crate::cmd::curriculum::CurriculumCmd),
}

/// Runs a data command; the exit code, or an error for `process::exit` to print.
pub fn run_data(cmd: DataCommand) -> anyhow::Result<i32> {
    use crate::process::ok;
    match cmd {
        DataCommand::Run(a) => crate::cmd::run::run(a),
        DataCommand::Clean(a) => crate::cmd::clean::run(a),
        DataCommand::Plan(a) => crate::cmd::run::plan(a),
        DataCommand::Reduce(a) => crate::cmd::reduce::run(a),
        DataCommand::Slurm(a) => crate::cmd::slurm::run(a),
        DataCommand::K8s(a) => crate::cmd::k8s::run(a),
        DataCommand::Sweep(a) => crate::cmd::sweep::run(a),
        DataCommand::Inspect(a) => crate::cmd::inspect::run(a),
        DataCommand::Report(a) => crate::report::run(a),
        DataCommand::Lid(a) => ok(crate::cmd::lid::run(a)),
        DataCommand::Tag(c) => crate::cmd::tag::run(c),
        DataCommand::Tokenizer(c) => crate::cmd::tokenizer::run(c),
        DataCommand::Mask(a) => ok(crate::cmd::mask::run(a)),
        DataCommand::Curriculum(c) => crate::cmd::curriculum::run(c),
    }
}

impl<T: Subcommand> Cli<T> {
    /// The terminal's verbosity from `-q` / `-v`.
    pub fn verbosity(&self) -> crate::process::Verbosity {
        crate::process::Verbosity::from_flags(self.quiet, self.verbose)
    }
}

/// Parses the command line as `Cli<T>`.
pub fn parse<T: Subcommand>() -> Cli<T> {
    Cli::<T>::parse()
}
