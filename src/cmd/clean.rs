//! `mavuno clean`: the default cleaning pipeline for one language, as one command.
//!
//! `mavuno clean --lang yor a.txt b.jsonl -o clean.jsonl.zst` loads the language's
//! pipeline (`configs/clean-<lang>.toml`, embedded in the binary so the command works from
//! any directory; `--config FILE` uses a file instead), replaces its reader (`raw`) by one
//! that fits the inputs' extension and its writer (`out`) by one that fits OUTPUT's
//! extension, runs it with the ordinary engine ([`mavuno_pipeline::run::execute`]: resume,
//! manifest, rejects, report) and prints what was kept and why the rest was dropped.
//!
//! The run directory is `<workdir>/clean-<lang>-<hash>`, the hash covering the language,
//! the inputs and the output, so two different clean jobs never share cached stages while a
//! rerun of the same job resumes.

use crate::verb::absolute;
use anyhow::{anyhow, bail, Context, Result};
use mavuno_pipeline::run::{RunOptions, RunSummary};
use mavuno_stages::read::format::FileFormat;
use mavuno_stages::web::clean_front::put_web_front;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

macro_rules! clean_configs {
    ($($code:literal),*) => {
        /// The embedded per-language configs, `(lang, text)`, one per shipped language
        /// (`mavuno_stages::langs`).
        const CONFIGS: &[(&str, &str)] = &[
            $(($code, include_str!(concat!("../../configs/clean-", $code, ".toml"))),)*
        ];
    };
}
mavuno_stages::with_langs!(clean_configs);

/// The stage ids `mavuno clean` replaces in a config.
const READER_ID: &str = "raw";
const WRITER_ID: &str = "out";

/// `mavuno clean`.
#[derive(clap::Args, Debug)]
pub struct CleanArgs {
    /// Language (ISO 639-3); a language without a shipped config lists the ones there are
    /// (or pass --config FILE).
    #[arg(long)]
    pub lang: String,
    /// Input files: .txt/.txt.zst/.txt.gz (one record per line), .jsonl(.zst/.gz),
    /// .parquet, .tsv/.csv (with a header naming `--text-field`), .warc(.gz) (HTML pages:
    /// main text extracted) or .wet(.gz) (Common Crawl text).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file: .txt, .jsonl, .jsonl.zst (also .txt.zst, .jsonl.gz) or .parquet; one
    /// record per kept sentence.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Directory to copy the run report into (report.html, manifest.json, rejects.jsonl,
    /// stats/, dedup_near_clusters.jsonl).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Directory that holds run directories (default `runs` in the current directory).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Worker threads inside stages (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Use this pipeline config instead of the embedded `configs/clean-<lang>.toml`. It
    /// must have a reader stage `raw` and a writer stage `out`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Read the inputs as this format instead of guessing from extension and content
    /// (text, jsonl, parquet, tsv, csv, conll, conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// Text column/key for .jsonl, .parquet and .tsv/.csv inputs.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Override any config key, e.g. `--set stages.filter.min_words=3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Runs `mavuno clean`. Returns the process exit code (2 for usage/config errors).
pub fn run(a: CleanArgs) -> Result<i32> {
    let (config_text, config_name) = match &a.config {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            p.clone(),
        ),
        None => match embedded(&a.lang) {
            Some(t) => (
                t.to_string(),
                PathBuf::from(format!("configs/clean-{}.toml (embedded)", a.lang)),
            ),
            None => {
                let known: Vec<&str> = CONFIGS.iter().map(|(l, _)| *l).collect();
                eprintln!(
                    "error: no clean config for language `{}`; known: {} (or pass --config FILE)",
                    a.lang,
                    known.join(" ")
                );
                return Ok(2);
            }
        },
    };
    let inputs: Vec<PathBuf> = a
        .inputs
        .iter()
        .map(|p| absolute(p))
        .collect::<Result<_>>()?;
    for p in &inputs {
        if !p.is_file() {
            eprintln!(
                "error: input {} does not exist or is not a file",
                p.display()
            );
            return Ok(2);
        }
    }
    let output = absolute(&a.output)?;
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }

    let mut table: Table = match config_text.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", config_name.display());
            return Ok(2);
        }
    };
    let run_name = run_name(&a.lang, &inputs, &output, &config_text);
    if let Err(e) = rewrite(&mut table, &a, &inputs, &output, &run_name) {
        eprintln!("error: {}: {e:#}", config_name.display());
        return Ok(2);
    }
    let text = toml::to_string(&table).context("serialising the clean config")?;
    let plan = match super::run::parse(&text, &config_name, &a.set) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let opts = RunOptions {
        workdir: a.workdir.clone(),
        shard: None,
        progress: crate::process::progress(),
    };
    let summary = match super::run::execute(&plan, &opts, Some(&output))? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if let Some(r) = &a.report {
        copy_report(&summary.run_dir, &absolute(r)?)?;
    }
    if !crate::process::quiet() {
        print_summary(&summary, &output, a.report.as_deref());
    }
    Ok(0)
}

/// The embedded config for `lang`.
fn embedded(lang: &str) -> Option<&'static str> {
    CONFIGS.iter().find(|(l, _)| *l == lang).map(|(_, t)| *t)
}

/// `clean-<lang>-<16 hex>`: stable for the same job, different for different jobs.
fn run_name(lang: &str, inputs: &[PathBuf], output: &Path, config: &str) -> String {
    // SipHash with fixed keys: deterministic across runs of the same binary, which is all
    // resume needs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    lang.hash(&mut h);
    inputs.hash(&mut h);
    output.hash(&mut h);
    config.hash(&mut h);
    format!("clean-{lang}-{:016x}", h.finish())
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Replaces the reader and writer, sets threads. (Stages find the shipped models from
/// any directory themselves: `mavuno_stages::shipped`.)
fn rewrite(
    table: &mut Table,
    a: &CleanArgs,
    inputs: &[PathBuf],
    output: &Path,
    run_name: &str,
) -> Result<()> {
    // All inputs go to one reader, so they must share a format.
    let mut fmt = None;
    for p in inputs {
        let f = FileFormat::of_input(p, a.input_format);
        match fmt {
            None => fmt = Some(f),
            Some(g) if g != f => bail!(
                "inputs mix formats ({g} and {f} for {}); clean one format per call",
                p.display()
            ),
            _ => {}
        }
    }
    let fmt = fmt.ok_or_else(|| anyhow!("no inputs"))?;
    let wty = FileFormat::writer_type(output).map_err(|e| anyhow!(e))?;

    let run = table
        .entry("run")
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| anyhow!("`run` is not a table"))?;
    run.insert("name".into(), s(run_name));
    if let Some(t) = a.threads {
        run.insert("threads".into(), Value::Integer(t as i64));
    }

    let stages = table
        .get_mut("stages")
        .and_then(Value::as_table_mut)
        .ok_or_else(|| anyhow!("no [stages] table"))?;
    for id in [READER_ID, WRITER_ID] {
        if !stages.contains_key(id) {
            bail!("the config needs a stage `{id}` (reader `raw`, writer `out`) for mavuno clean to replace");
        }
    }

    // Reader: by the shared format rule, over every input.
    let old_reader = stages
        .get(READER_ID)
        .and_then(Value::as_table)
        .cloned()
        .unwrap_or_default();
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let mut reader = fmt.reader_table(&paths, Some(&a.text_field));
    reader.insert("lang".into(), s(&a.lang));
    // Keep the config's error policy when it set one (the defaults say `reject`).
    if let Some(v) = old_reader.get("on_error") {
        reader.insert("on_error".into(), v.clone());
    }
    stages.insert(READER_ID.into(), Value::Table(reader));

    // Writer: same inputs as the config's writer, type by OUTPUT's extension.
    let old_writer = stages
        .get(WRITER_ID)
        .and_then(Value::as_table)
        .cloned()
        .unwrap_or_default();
    let mut writer = Table::new();
    writer.insert("type".into(), s(wty));
    if let Some(i) = old_writer.get("inputs") {
        writer.insert("inputs".into(), i.clone());
    }
    writer.insert("path".into(), s(&output.to_string_lossy()));
    stages.insert(WRITER_ID.into(), Value::Table(writer));
    if fmt.is_web() {
        // Web input: extraction and URL stages in front, the site report before the writer.
        put_web_front(stages, READER_ID, WRITER_ID).map_err(|e| anyhow!(e))?;
    }

    Ok(())
}

/// Copies the run's report files into `dest` (files that a run did not write are skipped).
fn copy_report(run_dir: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    for name in [
        "report.html",
        "manifest.json",
        "rejects.jsonl",
        "dedup_near_clusters.jsonl",
    ] {
        let src = run_dir.join(name);
        if src.is_file() {
            std::fs::copy(&src, dest.join(name))
                .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
        }
    }
    let stats = run_dir.join("stats");
    if stats.is_dir() {
        let to = dest.join("stats");
        std::fs::create_dir_all(&to)?;
        for e in std::fs::read_dir(&stats)? {
            let e = e?;
            if e.file_type()?.is_file() {
                std::fs::copy(e.path(), to.join(e.file_name()))?;
            }
        }
    }
    Ok(())
}

/// Lines read, sentences, what was kept, and every drop reason with the stage that gave it.
fn print_summary(s: &RunSummary, output: &Path, report: Option<&Path>) {
    let by_id = |id: &str| s.stages.iter().find(|r| r.id == id);
    let read = by_id(READER_ID).map_or(0, |r| r.counts.records_out);
    let written = by_id(WRITER_ID).map_or(0, |r| r.counts.records_in);
    // A rerun of a finished job runs nothing: the counts of stages that did not run are not
    // this run's, so say so instead of printing shares of zero.
    if by_id(WRITER_ID).is_some_and(|r| r.status != "ran") {
        eprintln!(
            "{} is up to date (finished earlier in {}; counts in its manifest.json)",
            output.display(),
            s.run_dir.display()
        );
        return;
    }
    let sentences = s
        .stages
        .iter()
        .find(|r| r.type_name == "split_sentences")
        .map(|r| r.counts.records_out);
    let mut reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in &s.stages {
        for (why, n) in &r.counts.dropped {
            *reasons.entry((r.id.clone(), why.clone())).or_default() += n;
        }
    }
    eprintln!("read {read} records");
    if let Some(n) = sentences {
        eprintln!("split into {n} sentences");
    }
    let pct = |n: u64| {
        let base = sentences.unwrap_or(read).max(1);
        100.0 * n as f64 / base as f64
    };
    for ((stage, why), n) in &reasons {
        eprintln!("  dropped {n:>10} ({:5.1}%)  {why} [{stage}]", pct(*n));
    }
    if s.rejected_total > 0 {
        eprintln!(
            "  rejected {:>9}            see {}",
            s.rejected_total,
            s.run_dir.join("rejects.jsonl").display()
        );
    }
    eprintln!(
        "kept {written} ({:.1}%) → {}",
        pct(written),
        output.display()
    );
    eprintln!(
        "run directory: {}{}",
        s.run_dir.display(),
        report.map_or(String::new(), |r| format!(
            "; report copied to {}",
            r.display()
        ))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_config_parses_and_has_reader_and_writer() {
        for (lang, text) in CONFIGS {
            let t: Table = text.parse().unwrap_or_else(|e| panic!("{lang}: {e}"));
            let st = t["stages"].as_table().unwrap_or_else(|| panic!("{lang}"));
            assert!(
                st.contains_key(READER_ID) && st.contains_key(WRITER_ID),
                "{lang}"
            );
        }
    }
}
