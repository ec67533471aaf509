//! One JSON object parsed straight into a [`Record`], for JSONL readers and checkpoints.
//!
//! Going through a `serde_json::Map` first allocates every key and builds a B-tree node per
//! column only to take `id`, `text`, `lang` and `source` out again; on a corpus of short
//! records that was most of a reader's time. Here the record's own columns go straight
//! into place, keys are borrowed from the line, and only the remaining fields are
//! collected. The checks and messages are [`Record::from_parts`]'s, as for
//! [`Record::from_json`].

use crate::record::Record;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Why a line is not a record.
#[derive(Debug)]
pub enum JsonRecordError {
    /// Not valid JSON (serde_json's message, with its line and column).
    Malformed(serde_json::Error),
    /// Valid JSON but not an object: the JSON type found ("an array", "a number" …).
    NotObject(&'static str),
    /// An object whose own column has the wrong type (`field `text` must be a string …`).
    Field(String),
}

impl fmt::Display for JsonRecordError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            JsonRecordError::Malformed(e) => write!(f, "malformed JSON: {e}"),
            JsonRecordError::NotObject(t) => write!(f, "expected a JSON object, got {t}"),
            JsonRecordError::Field(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for JsonRecordError {}

/// Parses one JSON object into a record; `text_key` names the text column.
pub fn parse_record(line: &str, text_key: &str) -> Result<Record, JsonRecordError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = RecordSeed { text_key }
        .deserialize(&mut de)
        .map_err(JsonRecordError::Malformed)?;
    de.end().map_err(JsonRecordError::Malformed)?;
    match parsed {
        Parsed::NotObject(t) => Err(JsonRecordError::NotObject(t)),
        Parsed::Parts {
            text,
            id,
            lang,
            source,
            fields,
        } => Record::from_parts(text_key, text, id, lang, source, fields)
            .map_err(JsonRecordError::Field),
    }
}

enum Parsed {
    Parts {
        text: Option<Value>,
        id: Option<Value>,
        lang: Option<Value>,
        source: Option<Value>,
        fields: Map<String, Value>,
    },
    NotObject(&'static str),
}

struct RecordSeed<'a> {
    text_key: &'a str,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Parsed;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Parsed, A::Error> {
        let (mut text, mut id, mut lang, mut source) = (None, None, None, None);
        let mut fields = Map::new();
        // A repeated key keeps its last value, as serde_json's own maps do.
        while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
            if k == self.text_key {
                text = Some(m.next_value()?);
                continue;
            }
            match &*k {
                "id" => id = Some(m.next_value()?),
                "lang" => lang = Some(m.next_value()?),
                "source" => source = Some(m.next_value()?),
                _ => {
                    let v = m.next_value()?;
                    fields.insert(k.into_owned(), v);
                }
            }
        }
        Ok(Parsed::Parts {
            text,
            id,
            lang,
            source,
            fields,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Parsed, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Parsed::NotObject("an array"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("a string"))
    }
    fn visit_unit<E>(self) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("null"))
    }
}

/// An object key, borrowed from the input unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_record_as_from_json() {
        let lines = [
            r#"{"id":"x1","text":"Sannu","label":2,"tokens":["Sannu"],"lang":"hau","source":"a.txt:3"}"#,
            r#"{"sentence":"A","text":"other","n":1.5}"#,
            r#"{"id":7,"te\u0078t":"escaped key","z":{"a":null}}"#,
            r#"{"text":"dup","text":"last wins"}"#,
            r#"{}"#,
        ];
        for key in ["text", "sentence"] {
            for l in lines {
                let obj: Map<String, Value> = serde_json::from_str(l).unwrap();
                assert_eq!(
                    parse_record(l, key).unwrap(),
                    Record::from_json(obj, key).unwrap(),
                    "{l} with text key {key}"
                );
            }
        }
    }

    #[test]
    fn errors_are_told_apart() {
        let kind = |l: &str| match parse_record(l, "text") {
            Err(JsonRecordError::Malformed(e)) => format!("malformed: {e}"),
            Err(JsonRecordError::NotObject(t)) => format!("not object: {t}"),
            Err(JsonRecordError::Field(m)) => format!("field: {m}"),
            Ok(_) => "ok".into(),
        };
        assert_eq!(kind("[1, {\"a\": 2}]"), "not object: an array");
        assert_eq!(kind("3"), "not object: a number");
        assert_eq!(kind("null"), "not object: null");
        assert_eq!(
            kind(r#"{"text": 5}"#),
            "field: field `text` must be a string, got a number"
        );
        assert_eq!(
            kind(r#"{"lang": []}"#),
            "field: field `lang` must be a string, got an array"
        );
        assert!(kind(r#"{"text": "a"} x"#).starts_with("malformed: trailing characters"));
        assert!(kind(r#"{"text": "a""#).starts_with("malformed: EOF"));
    }
}
