//! Arrow columns from records: the field type inferred over all records ([`Ty`]) and
//! one Arrow array per field built from JSON values. Used by `parquet_writer`; kept apart
//! so the type rules are one place and the writer file holds only the writing strategy.

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray, StringBuilder,
    StructArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use arrow::record_batch::RecordBatch;
use mavuno_pipeline::record::RESERVED_KEYS;
use mavuno_pipeline::Record;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The inferred type of a field over all records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Only nulls (or empty lists' items) so far.
    Null,
    /// UTF-8 string.
    Str,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
    /// A list of the inner type.
    List(Box<Ty>),
    /// A string→string object (`translation`): one child per key.
    Struct(BTreeSet<String>),
    /// Anything else: serialised JSON text.
    Json,
}

impl Ty {
    /// The type of one value.
    pub(crate) fn of(v: &Value) -> Ty {
        match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Number(n) if n.is_i64() => Ty::Int,
            Value::Number(_) => Ty::Float,
            Value::String(_) => Ty::Str,
            Value::Array(xs) => {
                let inner = xs.iter().fold(Ty::Null, |t, x| t.unify(Ty::of(x)));
                match inner {
                    Ty::Json | Ty::Struct(_) => Ty::Json,
                    t => Ty::List(Box::new(t)),
                }
            }
            Value::Object(m) if m.values().all(|x| x.is_string() || x.is_null()) => {
                Ty::Struct(m.keys().cloned().collect())
            }
            Value::Object(_) => Ty::Json,
        }
    }

    /// The narrowest type that holds both.
    pub(crate) fn unify(self, other: Ty) -> Ty {
        match (self, other) {
            (Ty::Null, t) | (t, Ty::Null) => t,
            (a, b) if a == b => a,
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Ty::Float,
            (Ty::List(a), Ty::List(b)) => match a.unify(*b) {
                Ty::Json | Ty::Struct(_) => Ty::Json,
                t => Ty::List(Box::new(t)),
            },
            (Ty::Struct(mut a), Ty::Struct(b)) => {
                a.extend(b);
                Ty::Struct(a)
            }
            _ => Ty::Json,
        }
    }

    /// The Arrow type (a field seen only as null is a string).
    pub(crate) fn data_type(&self) -> DataType {
        match self {
            Ty::Null | Ty::Str | Ty::Json => DataType::Utf8,
            Ty::Int => DataType::Int64,
            Ty::Float => DataType::Float64,
            Ty::Bool => DataType::Boolean,
            Ty::List(inner) => {
                DataType::List(Arc::new(Field::new("item", inner.data_type(), true)))
            }
            Ty::Struct(keys) => DataType::Struct(struct_fields(keys)),
        }
    }
}

fn struct_fields(keys: &BTreeSet<String>) -> Fields {
    keys.iter()
        .map(|k| Field::new(k, DataType::Utf8, true))
        .collect()
}

/// A value unless it is absent or JSON null.
fn nn<'a>(v: &Option<&'a Value>) -> Option<&'a Value> {
    v.filter(|x| !x.is_null())
}

/// A string column sized up front (offsets and value bytes): `from_iter` grows the value
/// buffer by doubling, which copied each row group's text several times over (`memmove`
/// was ~10 % of a JSONL → Parquet run).
fn string_array<'a>(vals: impl Iterator<Item = Option<&'a str>> + Clone) -> StringArray {
    let (n, bytes) = vals
        .clone()
        .fold((0, 0), |(n, b), v| (n + 1, b + v.map_or(0, str::len)));
    let mut out = StringBuilder::with_capacity(n, bytes);
    for v in vals {
        out.append_option(v);
    }
    out.finish()
}

/// Builds one Arrow column of type `ty` from values (`None` = null). Values that do not
/// fit the type (impossible after unification) become nulls.
pub(crate) fn build_array(
    ty: &Ty,
    vals: &[Option<&Value>],
) -> Result<ArrayRef, arrow::error::ArrowError> {
    Ok(match ty {
        Ty::Null | Ty::Str => Arc::new(string_array(
            vals.iter().map(|v| nn(v).and_then(Value::as_str)),
        )),
        Ty::Json => {
            let texts: Vec<Option<std::borrow::Cow<'_, str>>> = vals
                .iter()
                .map(|v| {
                    nn(v).map(|x| match x {
                        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                        other => std::borrow::Cow::Owned(other.to_string()),
                    })
                })
                .collect();
            Arc::new(string_array(texts.iter().map(|t| t.as_deref())))
        }
        Ty::Int => Arc::new(Int64Array::from_iter(
            vals.iter().map(|v| nn(v).and_then(Value::as_i64)),
        )),
        Ty::Float => Arc::new(Float64Array::from_iter(
            vals.iter().map(|v| nn(v).and_then(Value::as_f64)),
        )),
        Ty::Bool => Arc::new(BooleanArray::from_iter(
            vals.iter().map(|v| nn(v).and_then(Value::as_bool)),
        )),
        Ty::List(inner) => {
            let mut lens = Vec::with_capacity(vals.len());
            let mut valid = Vec::with_capacity(vals.len());
            let mut items: Vec<Option<&Value>> = Vec::new();
            for v in vals {
                match nn(v).and_then(Value::as_array) {
                    Some(xs) => {
                        lens.push(xs.len());
                        valid.push(true);
                        items.extend(xs.iter().map(Some));
                    }
                    None => {
                        lens.push(0);
                        valid.push(false);
                    }
                }
            }
            let child = build_array(inner, &items)?;
            let field = Arc::new(Field::new("item", inner.data_type(), true));
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::from_lengths(lens),
                child,
                Some(NullBuffer::from(valid)),
            )?)
        }
        Ty::Struct(keys) => {
            let valid: Vec<bool> = vals
                .iter()
                .map(|v| nn(v).is_some_and(Value::is_object))
                .collect();
            let children: Vec<ArrayRef> = keys
                .iter()
                .map(|k| {
                    Arc::new(string_array(
                        vals.iter()
                            .map(|v| nn(v).and_then(|o| o.get(k)).and_then(Value::as_str)),
                    )) as ArrayRef
                })
                .collect();
            Arc::new(StructArray::try_new(
                struct_fields(keys),
                children,
                Some(NullBuffer::from(valid)),
            )?)
        }
    })
}

/// Field name → type over the records seen so far.
pub(crate) type Types = BTreeMap<String, Ty>;

/// Folds one record's fields into `types`; true if any type widened or a field is new.
pub(crate) fn observe(types: &mut Types, r: &Record) -> bool {
    let mut changed = false;
    for (k, v) in &r.fields {
        if RESERVED_KEYS.contains(&k.as_str()) {
            continue;
        }
        let t = Ty::of(v);
        match types.get_mut(k) {
            Some(old) => {
                if *old != t {
                    let prev = std::mem::replace(old, Ty::Null);
                    let u = prev.clone().unify(t);
                    changed |= prev != u;
                    *old = u;
                }
            }
            None => {
                types.insert(k.clone(), t);
                changed = true;
            }
        }
    }
    changed
}

/// The Arrow schema: the record's own columns, then one nullable column per field.
pub(crate) fn schema(types: &Types) -> Schema {
    let mut fields = vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, true),
        Field::new("source", DataType::Utf8, true),
    ];
    fields.extend(
        types
            .iter()
            .map(|(k, t)| Field::new(k, t.data_type(), true)),
    );
    Schema::new(fields)
}

/// One record batch of `recs` under `schema` (built from `types`).
pub(crate) fn record_batch(
    types: &Types,
    schema: &Arc<Schema>,
    recs: &[Record],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    // Provenance is formatted straight into the column (`file:line`), not via a String each.
    let mut source = StringBuilder::with_capacity(recs.len(), recs.len() * 48);
    for r in recs {
        match &r.source {
            Some(s) => {
                use std::fmt::Write as _;
                let _ = write!(source, "{s}");
                source.append_value("");
            }
            None => source.append_null(),
        }
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(string_array(recs.iter().map(|r| Some(r.id.as_str())))),
        Arc::new(string_array(recs.iter().map(|r| Some(r.text.as_str())))),
        Arc::new(string_array(recs.iter().map(|r| r.lang.as_deref()))),
        Arc::new(source.finish()),
    ];
    for (k, t) in types {
        let vals: Vec<Option<&Value>> = recs.iter().map(|r| r.fields.get(k)).collect();
        cols.push(build_array(t, &vals)?);
    }
    RecordBatch::try_new(schema.clone(), cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_inference() {
        assert_eq!(Ty::of(&json!(1)).unify(Ty::of(&json!(2.5))), Ty::Float);
        assert_eq!(
            Ty::of(&json!([[0, 2], [3, 5]])),
            Ty::List(Box::new(Ty::List(Box::new(Ty::Int))))
        );
        assert_eq!(
            Ty::of(&json!([])).unify(Ty::of(&json!(["a"]))),
            Ty::List(Box::new(Ty::Str))
        );
        assert_eq!(Ty::of(&json!("a")).unify(Ty::of(&json!(1))), Ty::Json);
        assert_eq!(Ty::of(&json!({"a": 1})), Ty::Json);
        assert_eq!(
            Ty::of(&json!({"eng": "x"})).unify(Ty::of(&json!({"yor": "y"}))),
            Ty::Struct(["eng".to_string(), "yor".to_string()].into())
        );
    }

    #[test]
    fn observe_reports_only_real_widening() {
        let mut types = Types::new();
        let mut r = Record::new("a", "x");
        r.set("n", 1);
        assert!(observe(&mut types, &r), "a new field");
        assert!(!observe(&mut types, &r), "same types again");
        r.set("n", serde_json::Value::Null);
        assert!(!observe(&mut types, &r), "null fits any type");
        r.set("n", 2.5);
        assert!(observe(&mut types, &r), "int widens to float");
        assert_eq!(types["n"], Ty::Float);
    }
}
