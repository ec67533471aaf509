//! Config loading: TOML → overrides → checks → [`Plan`].
//!
//! Every phase pushes its problems into one list, so a user sees all of them in one run;
//! the CLI then exits with code 2. Each error carries the key path and, where the key
//! is written in the file, the line.

mod error;
mod run_settings;
mod validate;

pub use error::{locate, suggest, ConfigError};
pub use run_settings::{Checkpoint, RunSettings, ShardBy};
pub use validate::{Finding, Validator};

use crate::registry::{AnyStageConfig, Registry};
use crate::stage::StageKind;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A parsed stage before planning: id, inputs, per-stage checkpoint and seed overrides,
/// config.
type ParsedStage = (
    String,
    Vec<String>,
    Option<bool>,
    Option<u64>,
    Box<dyn AnyStageConfig>,
);

/// Keys every stage table may have besides its own fields; the engine owns them.
pub const ENGINE_KEYS: [&str; 4] = ["type", "inputs", "checkpoint", "seed"];

/// One stage of a validated plan. Cheap to clone (the config is shared), so the engine
/// can derive the plan of one phase of a sharded run from it.
#[derive(Clone, Debug)]
pub struct PlannedStage {
    /// Stage id (table key).
    pub id: String,
    /// Upstream stage ids, in the order given.
    pub inputs: Vec<String>,
    /// Downstream stage ids.
    pub consumers: Vec<String>,
    /// Whether the stage's output is checkpointed.
    pub checkpoint: bool,
    /// The seed of this stage's key and RNG: its own `seed` key, else `run.seed`. A pinned
    /// seed lets runs that differ only in `run.seed` share this stage's output (a sweep's
    /// shared base training).
    pub seed: u64,
    /// The parsed config.
    pub config: std::sync::Arc<dyn AnyStageConfig>,
}

/// A validated run: settings plus stages in topological order.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The config file.
    pub path: PathBuf,
    /// `[run]`.
    pub run: RunSettings,
    /// Stages in execution order (topological; ties keep file order).
    pub stages: Vec<PlannedStage>,
    /// Warnings from validation.
    pub warnings: Vec<ConfigError>,
}

impl Plan {
    /// A stage by id.
    pub fn stage(&self, id: &str) -> Option<&PlannedStage> {
        self.stages.iter().find(|s| s.id == id)
    }
}

/// Loads and validates a config file with `--set key=value` overrides.
pub fn load(
    path: &Path,
    overrides: &[String],
    registry: &Registry,
) -> Result<Plan, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: path.display().to_string(),
            line: None,
            key: String::new(),
            message: format!("cannot read config: {e}"),
        }]
    })?;
    parse(&text, path, overrides, registry)
}

/// Parses and validates config text. `path` is used in messages only.
pub fn parse(
    text: &str,
    path: &Path,
    overrides: &[String],
    registry: &Registry,
) -> Result<Plan, Vec<ConfigError>> {
    let file = path.display().to_string();
    let mut errs = Errors {
        file: file.clone(),
        text,
        list: Vec::new(),
        warnings: Vec::new(),
        sets: overrides
            .iter()
            .filter_map(|o| {
                o.split_once('=')
                    .map(|(k, _)| (k.trim().to_string(), o.clone()))
            })
            .collect(),
    };

    let mut table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            return Err(vec![ConfigError {
                file,
                line,
                key: String::new(),
                message: e.message().to_string(),
            }]);
        }
    };
    for o in overrides {
        if let Err(m) = apply_override(&mut table, o) {
            errs.list.push(ConfigError {
                file: "--set".into(),
                line: None,
                key: o.clone(),
                message: m,
            });
        }
    }

    for k in table.keys() {
        if k != "run" && k != "stages" {
            let s = suggest(k, ["run", "stages"]);
            errs.push(k, format!("unknown top-level table{s}"));
        }
    }

    let run = parse_run(table.get("run"), &mut errs);

    let stages_tbl = match table.get("stages") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => {
            errs.push("stages", "must be a table of stage tables");
            toml::Table::new()
        }
        None => {
            errs.push(
                "stages",
                "no stages defined: add at least one [stages.<id>] table",
            );
            toml::Table::new()
        }
    };

    let ids: Vec<String> = stages_tbl.keys().cloned().collect();
    let mut parsed: Vec<ParsedStage> = Vec::new();
    // Every stage with readable inputs takes part in the graph checks, even if its own
    // fields have errors, so a cycle is reported together with a typo.
    let mut graph: Vec<(String, Vec<String>)> = Vec::new();
    for (id, v) in &stages_tbl {
        let key = format!("stages.{id}");
        if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || id.is_empty()
        {
            errs.push(&key, "stage ids must be snake_case (a-z, 0-9, _)");
        }
        let Some(t) = v.as_table() else {
            errs.push(&key, "must be a table");
            continue;
        };
        let Some(ty) = t.get("type") else {
            errs.push(&key, "missing `type`");
            continue;
        };
        let Some(ty) = ty.as_str() else {
            errs.push(&format!("{key}.type"), "must be a string");
            continue;
        };
        let Some(entry) = registry.get(ty) else {
            let s = suggest(ty, registry.entries().iter().map(|e| e.type_name));
            errs.push(
                &format!("{key}.type"),
                format!("unknown stage type \"{ty}\"{s}"),
            );
            continue;
        };
        let inputs = match t.get("inputs") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => {
                let mut v = Vec::new();
                for x in a {
                    match x.as_str() {
                        Some(s) => v.push(s.to_string()),
                        None => {
                            errs.push(&format!("{key}.inputs"), "must be an array of stage ids")
                        }
                    }
                }
                v
            }
            Some(toml::Value::String(s)) => vec![s.clone()],
            Some(_) => {
                errs.push(&format!("{key}.inputs"), "must be an array of stage ids");
                Vec::new()
            }
        };
        graph.push((id.clone(), inputs.clone()));
        let checkpoint = match t.get("checkpoint") {
            None => None,
            Some(toml::Value::Boolean(b)) => Some(*b),
            Some(_) => {
                errs.push(&format!("{key}.checkpoint"), "must be true or false");
                None
            }
        };
        let seed = match t.get("seed") {
            None => None,
            Some(toml::Value::Integer(i)) if *i >= 0 => Some(*i as u64),
            Some(_) => {
                errs.push(&format!("{key}.seed"), "must be a non-negative integer");
                None
            }
        };
        let fields = entry.field_names();
        let mut rest = toml::Table::new();
        let mut unknown = false;
        for (k, val) in t {
            // `seed` is the engine's (key and RNG of the stage); a stage type that declares
            // its own `seed` field (train_mlm, finetune: "default: the run's seed") receives
            // the same value, so the two can never disagree.
            let own_seed = k == "seed" && fields.iter().any(|f| f == "seed");
            if ENGINE_KEYS.contains(&k.as_str()) && !own_seed {
                continue;
            }
            if !fields.iter().any(|f| f == k) {
                let s = suggest(k, fields.iter().map(String::as_str).chain(ENGINE_KEYS));
                errs.push(
                    &format!("{key}.{k}"),
                    format!("unknown field for stage type \"{ty}\"{s}"),
                );
                unknown = true;
                continue;
            }
            rest.insert(k.clone(), val.clone());
        }
        if unknown {
            continue;
        }
        match entry.parse(toml::Value::Table(rest)) {
            Ok(cfg) => {
                let mut v = Validator::default();
                cfg.validate(&mut v);
                for f in v.errors {
                    errs.push(&format!("{key}.{}", f.field), f.message);
                }
                for f in v.warnings {
                    errs.warn(&format!("{key}.{}", f.field), f.message);
                }
                match (entry.kind, inputs.is_empty()) {
                    (StageKind::Source, false) => errs.push(
                        &format!("{key}.inputs"),
                        format!("a {ty} reads files and takes no inputs"),
                    ),
                    (StageKind::Source, true) => {}
                    (_, true) => errs.push(&key, "missing `inputs`: name the upstream stage(s)"),
                    _ => {}
                }
                parsed.push((id.clone(), inputs, checkpoint, seed, cfg));
            }
            Err((field, m)) if field.is_empty() => errs.push(&key, m),
            Err((field, m)) => errs.push(&format!("{key}.{field}"), m),
        }
    }

    // Inputs must name stages.
    for (id, inputs) in &graph {
        for i in inputs {
            if !ids.contains(i) {
                let s = suggest(i, ids.iter().map(String::as_str));
                errs.push(
                    &format!("stages.{id}.inputs"),
                    format!("input \"{i}\" names no stage{s}"),
                );
            } else if i == id {
                errs.push(
                    &format!("stages.{id}.inputs"),
                    format!("cycle: {id} -> {id}"),
                );
            }
        }
    }
    let order = match topo_order(&graph) {
        Ok(o) => o,
        Err(cycle) => {
            errs.push("stages", format!("cycle: {}", cycle.join(" -> ")));
            Vec::new()
        }
    };

    if !errs.list.is_empty() {
        return Err(errs.list);
    }
    let run = run.unwrap_or_default();
    let mut consumers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in &order {
        let (_, inputs, _, _, _) = parsed
            .iter()
            .find(|p| &p.0 == id)
            .expect("ordered ids come from parsed");
        for i in inputs {
            consumers.entry(i.clone()).or_default().push(id.clone());
        }
    }
    let mut by_id: HashMap<String, ParsedStage> =
        parsed.into_iter().map(|p| (p.0.clone(), p)).collect();
    let stages = order
        .into_iter()
        .filter_map(|id| {
            let (_, inputs, ck, seed, config) = by_id.remove(&id)?;
            let default_ck = match run.checkpoint {
                Checkpoint::All => true,
                Checkpoint::None => config.kind() == StageKind::Sink,
                Checkpoint::Barriers => {
                    matches!(config.kind(), StageKind::Barrier | StageKind::Sink)
                }
            };
            Some(PlannedStage {
                consumers: consumers.remove(&id).unwrap_or_default(),
                id,
                inputs,
                checkpoint: ck.unwrap_or(default_ck),
                seed: seed.unwrap_or(run.seed),
                config: config.into(),
            })
        })
        .collect();
    Ok(Plan {
        path: path.to_path_buf(),
        run,
        stages,
        warnings: errs.warnings,
    })
}

struct Errors<'a> {
    file: String,
    text: &'a str,
    list: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
    /// `--set` overrides: (dotted key, the whole argument).
    sets: Vec<(String, String)>,
}

impl Errors<'_> {
    /// An error at `key`: it points at the `--set` argument that wrote the key (or a
    /// table above it), else at the key's line in the file.
    fn make(&self, key: &str, message: String) -> ConfigError {
        let set = self.sets.iter().rev().find(|(k, _)| {
            key == k
                || key
                    .strip_prefix(k.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        });
        match set {
            Some((_, arg)) => ConfigError {
                file: format!("--set {arg}"),
                line: None,
                key: key.to_string(),
                message,
            },
            None => ConfigError {
                file: self.file.clone(),
                line: locate(self.text, key),
                key: key.to_string(),
                message,
            },
        }
    }
    fn push(&mut self, key: &str, message: impl Into<String>) {
        let e = self.make(key, message.into());
        self.list.push(e);
    }
    fn warn(&mut self, key: &str, message: impl Into<String>) {
        let e = self.make(key, message.into());
        self.warnings.push(e);
    }
}

fn parse_run(v: Option<&toml::Value>, errs: &mut Errors) -> Option<RunSettings> {
    let Some(v) = v else {
        return Some(RunSettings::default());
    };
    let Some(t) = v.as_table() else {
        errs.push("run", "must be a table");
        return None;
    };
    let schema = serde_json::to_value(schemars::schema_for!(RunSettings)).unwrap_or_default();
    let fields: Vec<String> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut ok = true;
    for k in t.keys() {
        if !fields.contains(k) {
            let s = suggest(k, fields.iter().map(String::as_str));
            errs.push(&format!("run.{k}"), format!("unknown field{s}"));
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    // Deserialize each key on its own first, so every bad value is reported with its key
    // (serde stops at the first error). `[run]` has no required keys, so one key alone parses.
    let mut bad_types = false;
    for (k, val) in t {
        let mut one = toml::Table::new();
        one.insert(k.clone(), val.clone());
        if let Err(e) = toml::Value::Table(one).try_into::<RunSettings>() {
            errs.push(&format!("run.{k}"), e.message().to_string());
            bad_types = true;
        }
    }
    if bad_types {
        return None;
    }
    match v.clone().try_into::<RunSettings>() {
        Ok(r) => {
            let mut bad = false;
            if !(1..=1_000_000).contains(&r.batch_size) {
                errs.push(
                    "run.batch_size",
                    format!("must be in [1, 1000000], got {}", r.batch_size),
                );
                bad = true;
            }
            if !(1..=1024).contains(&r.channel_capacity) {
                errs.push(
                    "run.channel_capacity",
                    format!("must be in [1, 1024], got {}", r.channel_capacity),
                );
                bad = true;
            }
            if r.dropped_per_reason > 100_000 {
                errs.push(
                    "run.dropped_per_reason",
                    format!("must be in [0, 100000], got {}", r.dropped_per_reason),
                );
                bad = true;
            }
            if r.threads > 4096 {
                errs.push(
                    "run.threads",
                    format!("must be in [0, 4096], got {}", r.threads),
                );
                bad = true;
            }
            if r.name.is_empty() || r.name.contains(['/', '\\']) {
                errs.push(
                    "run.name",
                    "must be a non-empty name without path separators",
                );
                bad = true;
            }
            (!bad).then_some(r)
        }
        Err(e) => {
            errs.push("run", e.message().to_string());
            None
        }
    }
}

/// Applies `a.b.c=value`: the value is parsed as a TOML value (`1`, `true`, `"x"`,
/// `[1, 2]`), or taken as a plain string when it does not parse.
pub fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), String> {
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| "expected key=value".to_string())?;
    let key = key.trim();
    if key.is_empty() {
        return Err("empty key".into());
    }
    let value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = next
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a table"))?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Kahn's algorithm with ties broken by file order; on a cycle, returns it as a path
/// that starts and ends at the same stage.
fn topo_order(nodes: &[(String, Vec<String>)]) -> Result<Vec<String>, Vec<String>> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let mut indeg = vec![0usize; nodes.len()];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, (_, ins)) in nodes.iter().enumerate() {
        for inp in ins {
            if let Some(&j) = index.get(inp.as_str()) {
                if j != i {
                    indeg[i] += 1;
                    out[j].push(i);
                }
            }
        }
    }
    let mut order = Vec::new();
    let mut done = vec![false; nodes.len()];
    while let Some(next) = (0..nodes.len()).find(|&i| !done[i] && indeg[i] == 0) {
        done[next] = true;
        order.push(nodes[next].0.clone());
        for &k in &out[next] {
            indeg[k] -= 1;
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    // Walk backwards along inputs among the remaining nodes until a node repeats.
    let start = (0..nodes.len()).find(|&i| !done[i]).unwrap_or(0);
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = nodes[cur]
            .1
            .iter()
            .filter_map(|i| index.get(i.as_str()).copied())
            .find(|&j| !done[j]);
        let Some(n) = next else { break };
        if let Some(pos) = path.iter().position(|&p| p == n) {
            let mut cyc: Vec<String> = path[pos..]
                .iter()
                .rev()
                .map(|&i| nodes[i].0.clone())
                .collect();
            cyc.push(cyc[0].clone());
            return Err(cyc);
        }
        path.push(n);
        cur = n;
    }
    Err(vec![nodes[start].0.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_orders_and_finds_cycles() {
        let n = |id: &str, ins: &[&str]| {
            (
                id.to_string(),
                ins.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            topo_order(&[n("b", &["a"]), n("a", &[])]).unwrap(),
            vec!["a", "b"]
        );
        let err = topo_order(&[n("a", &["c"]), n("b", &["a"]), n("c", &["b"])]).unwrap_err();
        assert_eq!(err.first(), err.last());
        assert_eq!(err.len(), 4);
    }

    #[test]
    fn overrides_parse_toml_values() {
        let mut t: toml::Table = "[run]\nbatch_size = 5".parse().unwrap();
        apply_override(&mut t, "run.batch_size=1").unwrap();
        apply_override(&mut t, "stages.x.name=hello world").unwrap();
        assert_eq!(t["run"]["batch_size"].as_integer(), Some(1));
        assert_eq!(t["stages"]["x"]["name"].as_str(), Some("hello world"));
    }
}
