//! `mavuno` is linked without libtorch: loading libtorch's ~500 MB of shared libraries cost
//! every command ~0.5 s of start-up, more than many data commands take. Commands and
//! configs that need it are handed, with the same arguments, to `mavuno-torch` next to
//! this executable (the same CLI, linked with libtorch), by `exec`: same process id, same
//! exit code, same output.

use mavuno_pipeline::Registry;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Subcommands that need libtorch (or, for `stages`, the full list of stage types).
const TORCH_COMMANDS: &[&str] = &[
    "pretrain",
    "finetune",
    "predict",
    "eval",
    "attack",
    "augment",
    "train-victim",
    "doctor",
    "stages",
];

fn torch_binary() -> PathBuf {
    std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from("mavuno"))
        .with_file_name("mavuno-torch")
}

/// Replaces this process with `mavuno-torch` and the same arguments; returns only to
/// exit with an error when that binary cannot be started.
pub fn exec_torch() -> ! {
    use std::os::unix::process::CommandExt;
    let bin = torch_binary();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let err = std::process::Command::new(&bin).args(args).exec();
    eprintln!(
        "error: this command needs libtorch, which is in {} next to mavuno: {err} \
         (build both with `make build`)",
        bin.display()
    );
    std::process::exit(1)
}

/// Hands the whole command line on when its subcommand needs libtorch.
pub fn for_command() {
    let first = std::env::args_os().nth(1);
    if first.is_some_and(|a| TORCH_COMMANDS.iter().any(|c| a == *c)) {
        exec_torch();
    }
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
        exec_torch();
    }
}
