//! `mavuno` is linked without libtorch: loading libtorch's ~500 MB of shared libraries cost
//! every command ~0.5 s of start-up, more than many data commands take. Commands and
//! configs that need it are handed, with the same arguments, to `mavuno-torch` next to
//! this executable (the same CLI, linked with libtorch), by `exec`: same process id, same
//! exit code, same output.

use crate::cli::{Cli, DataCommand};
use clap::CommandFactory;
use mavuno_pipeline::Registry;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn torch_binary() -> PathBuf {
    std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from("mavuno"))
        .with_file_name("mavuno-torch")
}

/// Replaces this process with `mavuno-torch` and the same arguments; returns only when
/// that binary cannot be started.
fn exec_torch() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    std::process::Command::new(torch_binary()).args(args).exec()
}

/// Hands the whole command line on unless its first word is one of the data commands of
/// the shared definition ([`data_command_names`]) or `--version`: the libtorch commands,
/// `--help` (which lists every command), and typos (which `mavuno-torch` answers with
/// suggestions from the whole list).
pub fn for_command() {
    let first = std::env::args_os().nth(1);
    let Some(first) = first.as_ref().and_then(|a| a.to_str()) else {
        return hand_on_or_help(first.is_none());
    };
    if matches!(first, "-V" | "--version") || data_command_names().iter().any(|n| n == first) {
        return;
    }
    hand_on_or_help(matches!(first, "-h" | "--help" | "help"));
}

/// The names (and aliases) of the shared definition's data commands: what `mavuno` runs.
fn data_command_names() -> Vec<String> {
    use clap::Subcommand;
    let cmd = DataCommand::augment_subcommands(clap::Command::new("mavuno"));
    cmd.get_subcommands()
        .flat_map(|c| {
            std::iter::once(c.get_name().to_string()).chain(c.get_all_aliases().map(str::to_string))
        })
        .collect()
}

/// Execs `mavuno-torch`; when it cannot start, a help request still gets the data
/// commands' help, and anything else an error saying what is missing.
fn hand_on_or_help(help: bool) {
    let err = exec_torch();
    if help {
        let _ = Cli::<DataCommand>::command().print_help();
        eprintln!(
            "\n(the libtorch commands are listed by {}, which could not be started: {err})",
            torch_binary().display()
        );
        std::process::exit(0);
    }
    eprintln!(
        "error: this command needs libtorch, which is in {} next to mavuno: {err} \
         (build both with `make build`)",
        torch_binary().display()
    );
    std::process::exit(1)
}

/// Hands `run`/`plan` on when the config names a stage type this binary does not have
/// (the libtorch stages). A config that does not parse stays here, where validation
/// reports it with file, line and key.
pub fn for_config(config: &Path, sets: &[String], registry: &Registry) {
    let Ok(text) = std::fs::read_to_string(config) else {
        return;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    let in_file = table
        .get("stages")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(|s| {
            s.get("type")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        });
    // `--set stages.x.type=…` can name a type too.
    let in_sets = sets.iter().filter_map(|s| {
        let (k, v) = s.split_once('=')?;
        k.trim()
            .ends_with(".type")
            .then(|| v.trim().trim_matches('"').to_string())
    });
    let unknown = in_file.chain(in_sets).any(|ty| registry.get(&ty).is_none());
    if unknown && torch_binary().exists() {
        let err = exec_torch();
        eprintln!("error: cannot start {}: {err}", torch_binary().display());
        std::process::exit(1);
    }
}
