//! `mavuno inspect PATH`: rows, schema and first records of any file a reader takes.
//!
//! The reader is chosen by extension and run exactly as in a pipeline (same parsing, same
//! errors), so what `inspect` shows is what a config would read.

use anyhow::{bail, Context, Result};
use clap::Args;
use mavuno_pipeline::{BuildContext, Emitter, Record, StageImpl};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `mavuno inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A data file: .txt, .jsonl, .parquet, .tsv/.csv, .conll, .conllu (optionally .zst/.gz).
    pub path: PathBuf,
    /// Records to print.
    #[arg(short = 'n', long, default_value_t = 3)]
    pub head: usize,
    /// Reader stage type to use instead of guessing from the extension.
    #[arg(long)]
    pub reader: Option<String>,
}

/// Guesses the reader stage type from a file name.
pub fn reader_for(path: &str) -> &'static str {
    let p = path.trim_end_matches(".zst").trim_end_matches(".gz");
    if p.ends_with(".jsonl") || p.ends_with(".json") || p.ends_with(".ndjson") {
        "jsonl_reader"
    } else if p.ends_with(".parquet") {
        "parquet_reader"
    } else if p.ends_with(".tsv") || p.ends_with(".csv") {
        "tsv_reader"
    } else if p.ends_with(".conllu") {
        "conllu_reader"
    } else if p.ends_with(".conll") {
        "conll_reader"
    } else {
        "text_reader"
    }
}

#[derive(Default)]
struct Seen {
    rows: u64,
    head: Vec<Record>,
    types: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

/// Runs the inspection.
pub fn run(args: InspectArgs) -> Result<i32> {
    let path = args.path.to_string_lossy().to_string();
    if !args.path.is_file() {
        bail!("{path}: no such file");
    }
    let ty = args
        .reader
        .clone()
        .unwrap_or_else(|| reader_for(&path).to_string());
    let reg = crate::registry::registry();
    let entry = reg
        .get(&ty)
        .with_context(|| format!("unknown reader \"{ty}\""))?;
    let mut t = toml::Table::new();
    t.insert(
        "paths".into(),
        toml::Value::Array(vec![toml::Value::String(glob_escape(&path))]),
    );
    if ty == "tsv_reader"
        && path
            .trim_end_matches(".zst")
            .trim_end_matches(".gz")
            .ends_with(".csv")
    {
        t.insert("delimiter".into(), toml::Value::String(",".into()));
    }
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
    let n = args.head;
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

fn glob_escape(p: &str) -> String {
    glob::Pattern::escape(p)
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
