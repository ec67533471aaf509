//! `mavuno inspect PATH`: rows, schema and first records of any file a reader takes.
//!
//! The reader is chosen by the shared format rule (`mavuno_stages::read::format`: extension,
//! then a look at the content; `--input-format` overrides) and run exactly as in a pipeline (same parsing, same
//! errors), so what `inspect` shows is what a config would read.

use anyhow::{bail, Context, Result};
use clap::Args;
use mavuno_pipeline::{BuildContext, Emitter, Record, StageImpl};
use mavuno_stages::read::format::FileFormat;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `mavuno inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A data file: .txt, .jsonl, .parquet, .tsv/.csv, .conll, .conllu (optionally .zst/.gz).
    pub path: PathBuf,
    /// Records to print (default 3; with `--dropped`, 20).
    #[arg(short = 'n', long)]
    pub head: Option<usize>,
    /// PATH is a run directory: show its dropped records (`dropped/<stage>.jsonl.zst`),
    /// of every stage or of STAGE.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "STAGE")]
    pub dropped: Option<String>,
    /// With `--dropped`: only records dropped for this reason.
    #[arg(long, requires = "dropped")]
    pub reason: Option<String>,
    /// Read as this format instead of guessing (text, jsonl, parquet, tsv, csv, conll,
    /// conllu).
    #[arg(long)]
    pub input_format: Option<FileFormat>,
    /// Reader stage type to use instead of the format's (e.g. `parallel_reader`).
    #[arg(long)]
    pub reader: Option<String>,
}

#[derive(Default)]
struct Seen {
    rows: u64,
    head: Vec<Record>,
    types: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

/// Runs the inspection.
pub fn run(args: InspectArgs) -> Result<i32> {
    if let Some(stage) = &args.dropped {
        return dropped(&args, stage);
    }
    let path = args.path.to_string_lossy().to_string();
    if !args.path.is_file() {
        bail!("{path}: no such file");
    }
    let fmt = FileFormat::of_input(&args.path, args.input_format);
    let mut t = fmt.reader_table(&[args.path.as_path()], None);
    if let Some(r) = &args.reader {
        t = toml::Table::new();
        t.insert(
            "paths".into(),
            toml::Value::Array(vec![toml::Value::String(glob::Pattern::escape(&path))]),
        );
        t.insert("type".into(), toml::Value::String(r.clone()));
    }
    let ty = t
        .remove("type")
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let reg = crate::registry::registry();
    let entry = reg
        .get(&ty)
        .with_context(|| format!("unknown reader \"{ty}\""))?;
    let cfg = entry
        .parse(toml::Value::Table(t))
        .map_err(|(f, e)| anyhow::anyhow!("{ty}: {f}: {e}"))?;
    let dir = tempfile::tempdir()?;
    let ctx = BuildContext::for_tests(dir.path());
    let StageImpl::Source(mut src) = cfg.build(&ctx)? else {
        bail!("{ty} is not a reader")
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let n = args.head.unwrap_or(3);
    let mut em = Emitter::with_callback(
        1024,
        Box::new(move |r: Record| {
            let mut s = s2.lock().unwrap_or_else(|p| p.into_inner());
            s.rows += 1;
            for (k, v) in &r.fields {
                *s.types
                    .entry(k.clone())
                    .or_default()
                    .entry(type_name(v))
                    .or_insert(0) += 1;
            }
            if r.lang.is_some() {
                *s.types
                    .entry("lang".into())
                    .or_default()
                    .entry("string")
                    .or_insert(0) += 1;
            }
            if s.head.len() < n {
                s.head.push(r);
            }
        }),
    );
    src.run(&mut em).map_err(|e| anyhow::anyhow!("{e}"))?;
    let counts = em.counts().clone();
    let s = seen.lock().unwrap_or_else(|p| p.into_inner());
    println!("{path}  (read with {ty})");
    println!(
        "rows: {}{}",
        s.rows,
        if counts.rejected > 0 {
            format!(" ({} rejected)", counts.rejected)
        } else {
            String::new()
        }
    );
    println!("schema:");
    println!("  id: string\n  text: string");
    for (k, tys) in &s.types {
        let desc: Vec<String> = tys
            .iter()
            .map(|(t, c)| {
                if *c == s.rows {
                    t.to_string()
                } else {
                    format!("{t} ({c} rows)")
                }
            })
            .collect();
        println!("  {k}: {}", desc.join(" | "));
    }
    for r in &s.head {
        println!("{}", serde_json::to_string(&r.to_json())?);
    }
    Ok(0)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(a) => match a.first() {
            Some(Value::String(_)) => "list<string>",
            Some(Value::Number(_)) => "list<number>",
            Some(Value::Array(_)) => "list<list>",
            Some(Value::Object(_)) => "list<object>",
            _ => "list",
        },
        Value::Object(_) => "object",
    }
}

/// `inspect RUN --dropped [STAGE] [--reason R]`: counts per stage and reason (from the
/// manifest: every drop, not only those kept), then the kept records, one JSON line each.
fn dropped(args: &InspectArgs, stage: &str) -> Result<i32> {
    use std::io::BufRead;
    let dir = args.path.join("dropped");
    if !args.path.join("manifest.json").is_file() {
        bail!(
            "{}: not a run directory (no manifest.json)",
            args.path.display()
        );
    }
    let manifest: Value = serde_json::from_slice(&std::fs::read(args.path.join("manifest.json"))?)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_suffix(".jsonl.zst")
                    .is_some_and(|id| stage.is_empty() || id == stage)
            })
        })
        .collect();
    files.sort();
    for st in manifest["stages"].as_array().into_iter().flatten() {
        let id = st["id"].as_str().unwrap_or("");
        if !stage.is_empty() && id != stage {
            continue;
        }
        for (reason, n) in st["counts"]["dropped"].as_object().into_iter().flatten() {
            if args.reason.as_ref().is_none_or(|r| r == reason) {
                println!("{id}\t{reason}\t{n} dropped");
            }
        }
    }
    if files.is_empty() {
        bail!(
            "no dropped records kept in {}{} (run.keep_dropped = \"none\", or nothing was dropped)",
            dir.display(),
            if stage.is_empty() {
                String::new()
            } else {
                format!(" for stage `{stage}`")
            }
        );
    }
    let limit = args.head.unwrap_or(20);
    let mut shown = 0;
    for f in files {
        let r = mavuno_pipeline::io::open_read(&f).map_err(|e| anyhow::anyhow!("{e}"))?;
        for line in r.lines() {
            let line = line.with_context(|| format!("reading {}", f.display()))?;
            if let Some(want) = &args.reason {
                let v: Value = serde_json::from_str(&line)
                    .with_context(|| format!("{}: bad line", f.display()))?;
                if v["reason"].as_str() != Some(want.as_str()) {
                    continue;
                }
            }
            if shown == limit {
                return Ok(0);
            }
            println!("{line}");
            shown += 1;
        }
    }
    Ok(0)
}
