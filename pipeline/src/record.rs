//! The unit of data that flows between stages.
//!
//! A [`Record`] is one document, paragraph, sentence or example. Its `fields` hold typed
//! annotations as JSON values under Hugging Face `datasets` column names (`tokens`,
//! `pos_tags`, `ner_tags`, `label`, `translation`, `spans`, …) so that every writer can
//! emit them as columns without a schema registry. Byte offsets in annotations always
//! refer to `text` as it is *now*; stages that rewrite `text` remap them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// Where a record came from: the file and 1-based line (or record ordinal for formats
/// without lines, such as Parquet rows). Cheap to clone: the path is shared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Provenance {
    /// Input file as given in the config (after glob expansion).
    pub file: Arc<str>,
    /// 1-based line of the record's first line, or 1-based row for row formats.
    pub line: u64,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Provenance {
    /// Parses the `file:line` form written by [`fmt::Display`].
    pub fn parse(s: &str) -> Option<Provenance> {
        let (file, line) = s.rsplit_once(':')?;
        Some(Provenance {
            file: Arc::from(file),
            line: line.parse().ok()?,
        })
    }
}

/// One record. `id` is stable across runs: readers derive it from the source and position
/// (or take it from the input), and stages that split a record derive child ids from it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Stable identifier.
    pub id: String,
    /// The text (a document, paragraph, sentence or example).
    pub text: String,
    /// ISO 639-3 language code, if known.
    pub lang: Option<String>,
    /// Where the record came from.
    pub source: Option<Provenance>,
    /// Annotations and extra columns, keyed by HF-style column name. Sorted, so
    /// serialisation is deterministic.
    pub fields: Map<String, Value>,
}

/// Column names the record owns; other keys live in `fields`.
pub const RESERVED_KEYS: [&str; 4] = ["id", "text", "lang", "source"];

impl Record {
    /// A record with text and id only.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Record {
        Record {
            id: id.into(),
            text: text.into(),
            ..Record::default()
        }
    }

    /// A field value, if present.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A string field, if present and a string.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A list-of-strings field (`tokens`, `pos_tags`, `ner_tags` …), if present and well-typed.
    pub fn str_list(&self, key: &str) -> Option<Vec<&str>> {
        let arr = self.fields.get(key)?.as_array()?;
        arr.iter().map(Value::as_str).collect()
    }

    /// Sets a field.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.fields.insert(key.into(), value.into());
    }

    /// The record as one flat JSON object: `id`, `text`, `lang`, `source`, then the fields.
    /// This is the JSONL line format and the checkpoint format.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert("text".into(), Value::String(self.text.clone()));
        if let Some(l) = &self.lang {
            m.insert("lang".into(), Value::String(l.clone()));
        }
        if let Some(s) = &self.source {
            m.insert("source".into(), Value::String(s.to_string()));
        }
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// Builds a record from a flat JSON object as written by [`Record::to_json`].
    /// `text_key` names the text column (`text` by default in readers).
    pub fn from_json(mut obj: Map<String, Value>, text_key: &str) -> Result<Record, String> {
        let text = obj.remove(text_key);
        let (id, lang, source) = (obj.remove("id"), obj.remove("lang"), obj.remove("source"));
        Record::from_parts(text_key, text, id, lang, source, obj)
    }

    /// Builds a record from the values of its own columns (checked: `text`, `id` and
    /// `lang` must be strings or null; `id` may be a number) and the remaining fields.
    pub fn from_parts(
        text_key: &str,
        text: Option<Value>,
        id: Option<Value>,
        lang: Option<Value>,
        source: Option<Value>,
        fields: Map<String, Value>,
    ) -> Result<Record, String> {
        let text = match text {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => {
                return Err(format!(
                    "field `{text_key}` must be a string, got {}",
                    json_type(&other)
                ))
            }
        };
        let id = match id {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Null) | None => String::new(),
            Some(other) => {
                return Err(format!(
                    "field `id` must be a string, got {}",
                    json_type(&other)
                ))
            }
        };
        let lang = match lang {
            Some(Value::String(s)) => Some(s),
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(format!(
                    "field `lang` must be a string, got {}",
                    json_type(&other)
                ))
            }
        };
        let source = match source {
            Some(Value::String(s)) => Provenance::parse(&s),
            _ => None,
        };
        Ok(Record {
            id,
            text,
            lang,
            source,
            fields,
        })
    }
}

/// Serialises as the flat object of [`Record::to_json`] (same keys, same sorted order, a
/// field named like a record column wins) without cloning the record: spills and
/// checkpoints write every record once.
impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let source = self.source.as_ref().map(|p| p.to_string());
        let own: [(&str, Option<&str>); 4] = [
            ("id", Some(self.id.as_str())),
            ("lang", self.lang.as_deref()),
            ("source", source.as_deref()),
            ("text", Some(self.text.as_str())),
        ];
        let mut m = s.serialize_map(None)?;
        let mut fields = self.fields.iter().peekable();
        for (key, val) in own {
            while let Some((k, v)) = fields.next_if(|(k, _)| k.as_str() < key) {
                m.serialize_entry(k, v)?;
            }
            if fields.peek().is_some_and(|(k, _)| k.as_str() == key) {
                continue; // the field of that name is written next and wins
            }
            if let Some(v) = val {
                m.serialize_entry(key, v)?;
            }
        }
        for (k, v) in fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The JSON type name of a value, for error messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A batch of records, in input order. Stages must produce the same records in the same
/// order whatever the batch boundaries are.
pub type Batch = Vec<Record>;

/// A labelled byte span into a record's text (entity, word, masked unit …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start byte offset (inclusive).
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// Label, e.g. `PER` or `NOUN`.
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_fields_sorted() {
        let mut r = Record::new("a:1", "Ẹ kú àárọ̀");
        r.lang = Some("yor".into());
        r.source = Some(Provenance {
            file: Arc::from("x/y.txt"),
            line: 3,
        });
        r.set("zeta", 1);
        r.set("label", "pos");
        let v = r.to_json();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            v.to_string(),
            "Serialize = to_json"
        );
        r.set("text", "a field named text wins");
        assert_eq!(serde_json::to_string(&r).unwrap(), r.to_json().to_string());
        r.fields.remove("text");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"id":"a:1","label":"pos","lang":"yor","source":"x/y.txt:3","text":"Ẹ kú àárọ̀","zeta":1}"#
        );
        let back = Record::from_json(v.as_object().unwrap().clone(), "text").unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn provenance_parses_paths_with_colons() {
        let p = Provenance::parse("C:/data/x.txt:12").unwrap();
        assert_eq!(&*p.file, "C:/data/x.txt");
        assert_eq!(p.line, 12);
    }

    #[test]
    fn from_json_rejects_non_string_text() {
        let obj = serde_json::json!({"text": 5}).as_object().unwrap().clone();
        assert_eq!(
            Record::from_json(obj, "text").unwrap_err(),
            "field `text` must be a string, got a number"
        );
    }
}
