//! The `mavuno` command-line interface.
//!
//! Exit codes: 0 success, 1 the run failed, 2 usage or config error.

mod cmd;
mod report;

use clap::{Parser, Subcommand};

/// mavuno: curated corpora and trained masked LMs for low-resource languages.
#[derive(Parser, Debug)]
#[command(name = "mavuno", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline config (resumes: complete stages are skipped).
    Run(cmd::run::RunArgs),
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

fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAVUNO_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();

use clap::Parser;

/// mavuno: curated corpora for low-resource languages.
#[command(name = "mavuno", version)]
    cmd: Command,

#[derive(clap::Subcommand, Debug)]
    /// Language identification: predict, train, eval.
    Lid(cmd::lid::LidArgs),


#[derive(Parser)]
#[command(name = "mavuno")]
    cmd: Cmd,

#[derive(clap::Subcommand)]
enum Cmd {
    /// POS/NER taggers: train, eval, apply, lexicon, split, bench.
    Tag(cmd::tag::TagCmd),
}

fn main() {
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Run(a) if a.quiet) || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    init_logging(quiet && matches!(&cli.command, Command::Run(a) if a.quiet));
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Plan(a) => cmd::run::plan(a),
        Command::Stages(a) => cmd::stages::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Doctor { json } => cmd::doctor::run(json),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    let r = match cli.cmd {
        Command::Lid(a) => cmd::lid::run(a),
        Cmd::Tag(c) => cmd::tag::run(c),
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
