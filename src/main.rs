//! The `mavuno` command-line interface.
//!
//! This binary is not linked with libtorch, so data commands start at once. It parses the
//! shared definition's data commands (src/cli.rs); every other command (training,
//! evaluation, attacks, `doctor`, the full `stages` list), `--help`, and configs that
//! name a libtorch stage are handed to `mavuno-torch` next to it with the same arguments
//! (src/delegate.rs). Exit codes: 0 success, 1 the run failed, 2 usage or config error.

mod alloc;
mod cli;
#[path = "cmd_data.rs"]
mod cmd;
mod delegate;
mod process;
#[path = "registry_data.rs"]
mod registry;
mod report;
mod report_shards;
mod report_train;
mod verb;

fn main() {
    process::restore_sigpipe();
    delegate::for_command();
    let cli = cli::parse::<cli::DataCommand>();
    process::init_logging(cli.verbosity());
    process::exit(cli::run_data(cli.command))
}
