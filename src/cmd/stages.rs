//! `mavuno stages`: every stage type with its documented options.

use anyhow::Result;
use clap::Args;

/// `mavuno stages`.
#[derive(Args, Debug)]
pub struct StagesArgs {
    /// Only this stage type.
    pub stage_type: Option<String>,
    /// One line per type.
    #[arg(long)]
    pub list: bool,
    /// JSON (the full schemas).
    #[arg(long)]
    pub json: bool,
}

/// Prints the registry.
pub fn run(args: StagesArgs) -> Result<i32> {
    let reg = crate::registry::registry();
    let entries: Vec<_> = reg
        .entries()
        .iter()
        .filter(|e| args.stage_type.as_deref().is_none_or(|t| t == e.type_name))
        .collect();
    if entries.is_empty() {
        let all: Vec<&str> = reg.entries().iter().map(|e| e.type_name).collect();
        let t = args.stage_type.unwrap_or_default();
        eprintln!(
            "error: unknown stage type \"{t}\"{}",
            mavuno_pipeline::config::suggest(&t, all.iter().copied())
        );
        return Ok(2);
    }
    if args.json {
        let v: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|e| (e.type_name.to_string(), e.schema.clone()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    for e in entries {
        let kind = serde_json::to_value(e.kind)?
            .as_str()
            .unwrap_or("")
            .to_string();
        let summary = e.description().lines().next().unwrap_or("");
        if args.list {
            println!("{:<20} {:<10} {}", e.type_name, kind, summary);
            continue;
        }
        println!("{} ({kind})", e.type_name);
        for line in e.description().lines() {
            println!("    {line}");
        }
        println!("  fields (plus `type`, `inputs`, `checkpoint`, `seed`):");
        for f in e.fields() {
            let default = match (f.default, f.required) {
                (Some(d), _) => format!(" = {d}"),
                (None, true) => " (required)".into(),
                (None, false) => " (optional)".into(),
            };
            println!("    {} : {}{}", f.name, f.ty, default);
            for line in f.description.lines() {
                println!("        {line}");
            }
        }
        println!();
    }
    Ok(0)
}
