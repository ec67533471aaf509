//! The registry of stage types: one explicit list (no linker magic), filled by
//! `mavuno_stages::register_all`, in the order `mavuno stages` prints it.
//!
//! Each entry keeps the type's JSON schema (from `schemars`, so field docs come from the
//! `///` comments on the config struct) for documentation and for unknown-field checks
//! with suggestions, and a type-erased parser.

use crate::config::Validator;
use crate::error::StageError;
use crate::global::ReduceContext;
use crate::stage::{BuildContext, StageConfig, StageImpl, StageKind};
use serde_json::Value;
use std::fmt::Debug;

/// A parsed stage config with its type erased.
pub trait AnyStageConfig: Debug + Send + Sync {
    /// Stage type name.
    fn type_name(&self) -> &'static str;
    /// Stage kind.
    fn kind(&self) -> StageKind;
    /// Pure checks.
    fn validate(&self, v: &mut Validator);
    /// Extra input files for the cache key.
    fn input_files(&self) -> Vec<String>;
    /// Builds the runtime stage.
    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError>;
    /// The config as JSON with defaults filled in: part of the cache key and manifest.
    fn to_json(&self) -> Value;
    /// Whether the stage runs in three phases in a sharded run ([`StageConfig::global`]).
    fn global(&self) -> bool;
    /// Whether its reduce ends with a cluster step ([`StageConfig::reduce_clusters`]).
    fn reduce_clusters(&self) -> bool;
    /// The rank field of a global ordering stage ([`StageConfig::rank_field`]).
    fn rank_field(&self) -> Option<&'static str>;
    /// The reduce of a global stage ([`StageConfig::reduce`]).
    fn reduce(&self, ctx: &ReduceContext) -> Result<Value, StageError>;
}

impl<T: StageConfig> AnyStageConfig for T {
    fn type_name(&self) -> &'static str {
        T::TYPE
    }
    fn kind(&self) -> StageKind {
        T::KIND
    }
    fn validate(&self, v: &mut Validator) {
        StageConfig::validate(self, v)
    }
    fn input_files(&self) -> Vec<String> {
        StageConfig::input_files(self)
    }
    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        StageConfig::build(self, ctx)
    }
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    fn global(&self) -> bool {
        StageConfig::global(self)
    }
    fn reduce_clusters(&self) -> bool {
        StageConfig::reduce_clusters(self)
    }
    fn rank_field(&self) -> Option<&'static str> {
        StageConfig::rank_field(self)
    }
    fn reduce(&self, ctx: &ReduceContext) -> Result<Value, StageError> {
        StageConfig::reduce(self, ctx)
    }
}

type ParseFn = fn(toml::Value) -> Result<Box<dyn AnyStageConfig>, String>;

/// One registered stage type.
pub struct Entry {
    /// `type = "…"` name.
    pub type_name: &'static str,
    /// Kind.
    pub kind: StageKind,
    /// JSON schema of the config struct.
    pub schema: Value,
    parse: ParseFn,
}

impl Entry {
    /// The type's summary (the config struct's doc comment).
    pub fn description(&self) -> &str {
        self.schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The documented fields: name, type, default, description.
    pub fn fields(&self) -> Vec<FieldDoc> {
        let Some(props) = self.schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        let required: Vec<&str> = self
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        props
            .iter()
            .map(|(name, s)| FieldDoc {
                required: required.contains(&name.as_str()),
                name: name.clone(),
                ty: type_of(s, &self.schema),
                default: s.get("default").map(|d| d.to_string()),
                description: s
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
            .collect()
    }

    /// Field names the config accepts.
    pub fn field_names(&self) -> Vec<String> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Parses a stage table (without `type`, `inputs`, `checkpoint`).
    /// Parses a stage table (without `type`, `inputs`, `checkpoint`). On error, returns
    /// the field path at fault (empty when the whole table is) and the message.
    pub fn parse(&self, v: toml::Value) -> Result<Box<dyn AnyStageConfig>, (String, String)> {
        (self.parse)(v).map_err(|e| match e.split_once('\u{0}') {
            Some((path, msg)) => (path.to_string(), msg.to_string()),
            None => (String::new(), e),
        })
    }
}

/// Documentation of one config field.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FieldDoc {
    /// Field name.
    pub name: String,
    /// Type, as JSON-schema words (`string`, `array of string`, `number` …).
    pub ty: String,
    /// Default value as JSON, if the field has one.
    pub default: Option<String>,
    /// Whether the config must set it.
    pub required: bool,
    /// The field's doc comment.
    pub description: String,
}

fn type_of(s: &Value, root: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if let Some(def) = root.get("$defs").and_then(|d| d.get(name)) {
            if let Some(vals) = def.get("enum").and_then(Value::as_array) {
                return vals
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ");
            }
            if let Some(one) = def.get("oneOf").and_then(Value::as_array) {
                let vals: Vec<String> = one
                    .iter()
                    .filter_map(|o| {
                        o.get("const")
                            .or_else(|| o.get("enum").and_then(|e| e.get(0)))
                    })
                    .map(|v| v.to_string())
                    .collect();
                if !vals.is_empty() {
                    return vals.join(" | ");
                }
            }
        }
        return name.to_string();
    }
    match s.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!(
                "array of {}",
                s.get("items").map(|i| type_of(i, root)).unwrap_or_default()
            )
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => s
            .get("anyOf")
            .and_then(Value::as_array)
            .map(|xs| {
                xs.iter()
                    .filter(|x| x.get("type") != Some(&Value::String("null".into())))
                    .map(|x| type_of(x, root))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .unwrap_or_else(|| "any".into()),
    }
}

/// All stage types known to a build.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers a stage type. Panics on a duplicate name (a programming error caught by
    /// the first test that builds the registry).
    pub fn add<T: StageConfig>(&mut self) {
        assert!(
            self.get(T::TYPE).is_none(),
            "stage type {} registered twice",
            T::TYPE
        );
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
        self.entries.push(Entry {
            type_name: T::TYPE,
            kind: T::KIND,
            schema,
            parse: |v| {
                // serde_path_to_error names the field at fault (`mode`, `pacing.fn`), so the
                // engine can point at `stages.<id>.<field>` and its line.
                let cfg: T = serde_path_to_error::deserialize(v).map_err(|e| {
                    let path = e.path().to_string();
                    let msg = e.into_inner().message().to_string();
                    if path == "." || path.is_empty() {
                        msg
                    } else {
                        format!("{path}\u{0}{msg}")
                    }
                })?;
                Ok(Box::new(cfg))
            },
        });
    }

    /// Looks a type up by name.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.type_name == name)
    }

    /// All entries, in registration order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
