//! The `mavuno` command-line interface.
mod cmd;

use clap::Parser;

/// mavuno: curated corpora for low-resource languages.
#[derive(Parser, Debug)]
#[command(name = "mavuno", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Language identification: predict, train, eval.
    Lid(cmd::lid::LidArgs),
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Command::Lid(a) => cmd::lid::run(a),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
