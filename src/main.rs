//! The `mavuno` command-line interface.
mod cmd;

use clap::Parser;

#[derive(clap::Parser)]
#[command(name = "mavuno")]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Train or use subword tokenizers.
    #[command(subcommand)]
    Tokenizer(cmd::tokenizer::TokenizerCmd),
    /// Plan masked-LM corruption (LEM, BERT, whole-word, spans, POS objective).
    Mask(cmd::mask::MaskArgs),
    /// CLIMB curricula: pacing values, corpus ordering.
    #[command(subcommand)]
    Curriculum(cmd::curriculum::CurriculumCmd),
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Command::Tokenizer(c) => cmd::tokenizer::run(c),
        Command::Mask(a) => cmd::mask::run(a),
        Command::Curriculum(c) => cmd::curriculum::run(c),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
