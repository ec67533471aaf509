//! Verbs as one-stage plans.
//!
//! A verb that does what a stage does (`tokenizer train`, `curriculum order`, …) builds
//! the config a user would write for it and runs it with the ordinary engine, so it has
//! one implementation with the stage and gets accounting, rejects, resume and the run
//! manifest for free:
//! - one reader per input format, chosen by the shared format rule
//!   (`mavuno_stages::read::format`; `--input-format` overrides);
//! - the stage, whose table holds only what the verb's flags set (everything else takes
//!   the stage's serde defaults), then `--set KEY=VALUE` on top;
//! - a writer chosen by the output's extension, when the verb writes records.
//!
//! The plan itself is built by `mavuno_stages::one_stage` (run name `<verb>-<hash>`, so a
//! rerun of the same job resumes); tests/verbs.rs runs each verb and the equivalent config
//! and compares the bytes.

use crate::cmd::run as cmd_run;
use anyhow::{anyhow, Context, Result};
use mavuno_pipeline::run::RunOptions;
use mavuno_stages::one_stage::OneStage;
use mavuno_stages::read::format::FileFormat;
use std::path::{Path, PathBuf};
use toml::Table;

/// Flags every plan verb takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VerbArgs {
    /// Read the inputs as this format instead of guessing from extension and content
    /// (text, jsonl, parquet, tsv, csv, conll, conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// Set any option of the stage, e.g. `--set smoothing_k=0.5` (TOML value).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Directory that holds run directories (default `runs` in the current directory).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
}

/// A verb's plan (readers, one stage, maybe a writer) and its common flags.
pub struct Verb<'a> {
    /// The verb, e.g. `tokenizer-train` (names the run directory).
    pub verb: &'a str,
    /// The stage's table: `type` and the options the verb's flags set.
    pub stage: Table,
    /// Input files.
    pub inputs: &'a [PathBuf],
    /// The text column of JSONL, Parquet and TSV inputs (the readers' default if `None`).
    pub text_field: Option<&'a str>,
    /// The records' output file (writer by extension); `None` when the stage writes its
    /// own file (a path option in `stage`).
    pub output: Option<&'a Path>,
    /// Options of the writer beyond `type`, `inputs` and `path`.
    pub writer: Table,
    /// The common flags.
    pub args: &'a VerbArgs,
}

impl Verb<'_> {
    /// The plan, with absolute paths.
    pub fn plan(&self) -> Result<OneStage> {
        let inputs = self
            .inputs
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<_>>()?;
        Ok(OneStage {
            stage: self.stage.clone(),
            inputs,
            input_format: self.args.input_format,
            text_field: self.text_field.map(str::to_string),
            output: self.output.map(absolute).transpose()?,
            writer: self.writer.clone(),
        })
    }

    /// The equivalent config file (tests run it with `mavuno run` and compare).
    pub fn config_text(&self) -> Result<String> {
        let sets = OneStage::overrides(&self.args.set);
        self.plan()?
            .config_text(self.verb, &sets)
            .map_err(|e| anyhow!(e))
    }

    /// Runs the plan; prints config errors (exit 2) or the run's summary.
    pub fn run(&self) -> Result<i32> {
        let text = match self.config_text() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(2);
            }
        };
        let name = PathBuf::from(format!("mavuno {}", self.verb.replace('-', " ")));
        for p in self.inputs {
            if !p.is_file() {
                eprintln!(
                    "error: input {} does not exist or is not a file",
                    p.display()
                );
                return Ok(2);
            }
        }
        let sets = OneStage::overrides(&self.args.set);
        let plan = match cmd_run::parse(&text, &name, &sets) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let opts = RunOptions {
            workdir: self.args.workdir.clone(),
            shard: None,
            progress: crate::process::progress(),
        };
        Ok(match cmd_run::execute(&plan, &opts, self.output)? {
            Ok(s) => {
                if !crate::process::quiet() {
                    cmd_run::print_summary(&s);
                }
                0
            }
            Err(code) => code,
        })
    }
}

/// `p` against the current directory.
pub fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("{}: no absolute path", p.display()))
}
