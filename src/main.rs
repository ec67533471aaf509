//! The `mavuno` command-line interface.
mod cmd;

use clap::Parser;

#[derive(Parser)]
#[command(name = "mavuno")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// POS/NER taggers: train, eval, apply, lexicon, split, bench.
    #[command(subcommand)]
    Tag(cmd::tag::TagCmd),
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Tag(c) => cmd::tag::run(c),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
