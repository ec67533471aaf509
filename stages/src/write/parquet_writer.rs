//! `parquet_writer`: zstd-compressed Parquet with Hugging Face `datasets`-compatible
//! columns: `id`, `text`, `lang`, `source` (strings), then one column per field, sorted by
//! name. Loads with `datasets.load_dataset("parquet", …)`, pandas and pyarrow.
//!
//! The schema must not depend on batch boundaries, so records are first spilled to a
//! zstd JSONL file in the stage's scratch directory while the union of field names and
//! their types is tracked; `finish` then writes the Parquet file from the spill in row
//! groups of `row_group_size`. Field types: string, int64, float64 (integers widen to
//! float when mixed), bool, lists of those (nested lists too: `list<list<int64>>` for
//! `token_offsets`), and string→string objects such as `translation` become a struct with
//! one child per key. Anything else (mixed types, other objects) is a JSON-string column.
//! Nulls and absent fields are nulls; a field seen only as null is a string column.
//!
//! ```toml
//! [stages.raw]
//! type = "conll_reader"
//! paths = ["masakhaner2/yor/train.txt"]
//!
//! [stages.out]
//! type = "parquet_writer"
//! inputs = ["raw"]
//! path = "yor-ner.parquet"
//! row_group_size = 65536
//! ```

use super::validate_path;
use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray, StructArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use arrow::record_batch::RecordBatch;
use mavuno_pipeline::cache::{read_record_file, RecordFileWriter};
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::record::RESERVED_KEYS;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

fn default_row_group_size() -> usize {
    65536
}
fn default_level() -> i32 {
    3
}

/// Writes records as zstd Parquet with HF `datasets` columns.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ParquetWriterConfig {
    /// Output file; relative paths go under the run directory.
    pub path: String,
    /// Rows per Parquet row group (also the rows held in memory while writing).
    #[serde(default = "default_row_group_size")]
    pub row_group_size: usize,
    /// zstd compression level, 1–22.
    #[serde(default = "default_level")]
    pub zstd_level: i32,
}

impl StageConfig for ParquetWriterConfig {
    const TYPE: &'static str = "parquet_writer";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_path(v, &self.path);
        v.at_least("row_group_size", self.row_group_size, 1);
        v.range("zstd_level", self.zstd_level, 1, 22);
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(ParquetWriter {
            cfg: self.clone(),
            path: ctx.output_path(&self.path),
            spill_path: ctx.scratch_dir.join("parquet_writer.spill.jsonl.zst"),
            spill: None,
            types: BTreeMap::new(),
            written: Vec::new(),
        })))
    }
}

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
    fn data_type(&self) -> DataType {
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

/// Builds one Arrow column of type `ty` from values (`None` = null). Values that do not
/// fit the type (impossible after unification) become nulls.
fn build_array(ty: &Ty, vals: &[Option<&Value>]) -> Result<ArrayRef, arrow::error::ArrowError> {
    Ok(match ty {
        Ty::Null | Ty::Str => Arc::new(StringArray::from_iter(
            vals.iter().map(|v| nn(v).and_then(Value::as_str)),
        )),
        Ty::Json => Arc::new(StringArray::from_iter(vals.iter().map(|v| {
            nn(v).map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }))),
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
                    Arc::new(StringArray::from_iter(
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

/// The runtime writer.
pub struct ParquetWriter {
    cfg: ParquetWriterConfig,
    path: PathBuf,
    spill_path: PathBuf,
    spill: Option<RecordFileWriter<BufWriter<File>>>,
    /// Field name → type, over every record spilled so far.
    types: BTreeMap<String, Ty>,
    written: Vec<PathBuf>,
}

impl ParquetWriter {
    fn spill(&mut self) -> Result<&mut RecordFileWriter<BufWriter<File>>, StageError> {
        if self.spill.is_none() {
            if let Some(dir) = self.spill_path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StageError::io(dir, e))?;
            }
            let f =
                File::create(&self.spill_path).map_err(|e| StageError::io(&self.spill_path, e))?;
            let w = RecordFileWriter::new(BufWriter::new(f))
                .map_err(|e| StageError::io(&self.spill_path, e))?;
            self.spill = Some(w);
        }
        self.spill
            .as_mut()
            .ok_or_else(|| StageError::msg("spill not open"))
    }

    fn schema(&self) -> Schema {
        let mut fields = vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("lang", DataType::Utf8, true),
            Field::new("source", DataType::Utf8, true),
        ];
        fields.extend(
            self.types
                .iter()
                .map(|(k, t)| Field::new(k, t.data_type(), true)),
        );
        Schema::new(fields)
    }

    fn batch(
        &self,
        schema: &Arc<Schema>,
        recs: &[Record],
    ) -> Result<RecordBatch, arrow::error::ArrowError> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                recs.iter().map(|r| r.id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                recs.iter().map(|r| r.text.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                recs.iter().map(|r| r.lang.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                recs.iter()
                    .map(|r| r.source.as_ref().map(|s| s.to_string())),
            )),
        ];
        for (k, t) in &self.types {
            let vals: Vec<Option<&Value>> = recs.iter().map(|r| r.fields.get(k)).collect();
            cols.push(build_array(t, &vals)?);
        }
        RecordBatch::try_new(schema.clone(), cols)
    }

    fn write_parquet(&mut self) -> Result<PathBuf, StageError> {
        let path = self.path.clone();
        let perr = |e: &dyn std::fmt::Display| {
            StageError::msg(format!("{}: writing Parquet: {e}", path.display()))
        };
        let schema = Arc::new(self.schema());
        let level = ZstdLevel::try_new(self.cfg.zstd_level).map_err(|e| perr(&e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.cfg.row_group_size.max(1)))
            .build();
        let mut file = AtomicFile::create(&path)?;
        {
            let mut w = ArrowWriter::try_new(&mut file, schema.clone(), Some(props))
                .map_err(|e| perr(&e))?;
            if let Some(spill) = self.spill.take() {
                spill
                    .finish()
                    .map_err(|e| StageError::io(&self.spill_path, e))?;
                let mut failure: Option<StageError> = None;
                read_record_file(&self.spill_path, self.cfg.row_group_size.max(1), |recs| {
                    let res = self
                        .batch(&schema, &recs)
                        .map_err(|e| perr(&e))
                        .and_then(|b| w.write(&b).map_err(|e| perr(&e)));
                    match res {
                        Ok(()) => true,
                        Err(e) => {
                            failure = Some(e);
                            false
                        }
                    }
                })?;
                if let Some(e) = failure {
                    return Err(e);
                }
            }
            w.close().map_err(|e| perr(&e))?;
        }
        let out = file.commit()?;
        let _ = std::fs::remove_file(&self.spill_path);
        Ok(out)
    }
}

impl Stage for ParquetWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            for (k, v) in &r.fields {
                if RESERVED_KEYS.contains(&k.as_str()) {
                    continue;
                }
                let t = Ty::of(v);
                match self.types.get_mut(k) {
                    Some(old) => *old = std::mem::replace(old, Ty::Null).unify(t),
                    None => {
                        self.types.insert(k.clone(), t);
                    }
                }
            }
            let path = self.spill_path.clone();
            self.spill()?
                .write(&r)
                .map_err(|e| StageError::io(path, e))?;
            out.keep(r);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        let p = self.write_parquet()?;
        self.written.push(p);
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::parquet_reader::ParquetReaderConfig;
    use crate::read::test_util::{check_example, glob, run_reader};
    use crate::read::OnError;
    use crate::write::test_util::run_writer;
    use serde_json::json;

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("parquet_writer.rs")),
            ["conll_reader", "parquet_writer"]
        );
    }

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

    fn records() -> Vec<Record> {
        let mut v = Vec::new();
        for i in 0..7i64 {
            let mut r = Record::new(format!("r{i}"), format!("text {i}"));
            if i % 2 == 0 {
                r.lang = Some("yor".into());
            }
            r.set("label", if i == 3 { json!(1.5) } else { json!(i) });
            r.set("tokens", json!(["text", i.to_string()]));
            r.set("token_offsets", json!([[0, 4], [5, 6]]));
            r.set(
                "translation",
                json!({"eng": format!("e{i}"), "yor": format!("y{i}")}),
            );
            r.set("ok", i % 2 == 0);
            if i == 6 {
                // Appears only in the last record: the schema still has it.
                r.set("late", "only here");
                r.set("meta", json!({"n": 1}));
            }
            v.push(r);
        }
        v
    }

    #[test]
    fn schema_is_the_union_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ParquetWriterConfig {
            path: "o.parquet".into(),
            row_group_size: 3,
            zstd_level: 3,
        };
        let (passed, _, outputs) = run_writer(&cfg, dir.path(), &records());
        assert_eq!(passed, records());
        let rc = ParquetReaderConfig {
            paths: vec![glob(&outputs[0])],
            lang: None,
            text_field: "text".into(),
            on_error: OnError::Fail,
        };
        let (back, _) = run_reader(&rc, dir.path()).unwrap();
        assert_eq!(back.len(), 7);
        assert_eq!(back[3].field("label"), Some(&json!(1.5)));
        assert_eq!(
            back[2].field("label"),
            Some(&json!(2.0)),
            "ints widen to float"
        );
        assert_eq!(
            back[2].field("token_offsets"),
            Some(&json!([[0, 4], [5, 6]]))
        );
        assert_eq!(
            back[2].field("translation"),
            Some(&json!({"eng": "e2", "yor": "y2"}))
        );
        assert_eq!(back[6].str_field("late"), Some("only here"));
        assert_eq!(back[6].str_field("meta"), Some(r#"{"n":1}"#));
        assert_eq!(back[0].field("late"), None);
        assert_eq!((back[1].id.as_str(), back[1].lang.as_deref()), ("r1", None));
        let meta =
            parquet::file::reader::SerializedFileReader::new(File::open(&outputs[0]).unwrap())
                .unwrap();
        use parquet::file::reader::FileReader;
        assert_eq!(meta.metadata().num_row_groups(), 3);
        assert!(!dir
            .path()
            .join("scratch/parquet_writer.spill.jsonl.zst")
            .exists());
    }

    #[test]
    fn schema_does_not_depend_on_batching() {
        let dir = tempfile::tempdir().unwrap();
        let a = ParquetWriterConfig {
            path: "a.parquet".into(),
            row_group_size: 2,
            zstd_level: 3,
        };
        let b = ParquetWriterConfig {
            path: "b.parquet".into(),
            row_group_size: 65536,
            zstd_level: 3,
        };
        let (_, _, oa) = run_writer(&a, dir.path(), &records());
        let (_, _, ob) = run_writer(&b, dir.path(), &records());
        let schema = |p: &PathBuf| {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(p).unwrap(),
            )
            .unwrap()
            .schema()
            .clone()
        };
        assert_eq!(schema(&oa[0]), schema(&ob[0]));
    }

    #[test]
    fn empty_input_gives_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ParquetWriterConfig {
            path: "e.parquet".into(),
            row_group_size: 10,
            zstd_level: 3,
        };
        let (_, _, outputs) = run_writer(&cfg, dir.path(), &[]);
        let rc = ParquetReaderConfig {
            paths: vec![glob(&outputs[0])],
            lang: None,
            text_field: "text".into(),
            on_error: OnError::Fail,
        };
        assert_eq!(run_reader(&rc, dir.path()).unwrap().0.len(), 0);
    }

    #[test]
    fn loads_with_pandas_when_available() {
        let py =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../main/.venv/bin/python");
        let py = if py.exists() {
            py
        } else {
            PathBuf::from("/work/main/.venv/bin/python")
        };
        if !py.exists() {
            eprintln!("skipped: no python at {}", py.display());
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let cfg = ParquetWriterConfig {
            path: "o.parquet".into(),
            row_group_size: 3,
            zstd_level: 3,
        };
        let (_, _, outputs) = run_writer(&cfg, dir.path(), &records());
        let script = "import sys, pandas\ndf = pandas.read_parquet(sys.argv[1])\nprint(len(df), sorted(df.columns), df['translation'][2]['yor'], list(df['tokens'][1]), df['token_offsets'][0][1].tolist())";
        let out = std::process::Command::new(&py)
            .arg("-c")
            .arg(script)
            .arg(&outputs[0])
            .output()
            .unwrap();
        if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("No module named")
        {
            eprintln!(
                "skipped: pandas/pyarrow missing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "7 ['id', 'label', 'lang', 'late', 'meta', 'ok', 'source', 'text', 'token_offsets', 'tokens', 'translation'] y2 ['text', '1'] [5, 6]"
        );
    }

    #[test]
    fn masakhaner_round_trip_through_parquet() {
        use crate::read::conll_reader::ConllReaderConfig;
        let src = crate::read::test_util::shared_data("masakhaner2/yor/dev.txt");
        let dir = tempfile::tempdir().unwrap();
        let rc = ConllReaderConfig {
            paths: vec![glob(&src)],
            lang: Some("yor".into()),
            tag_column: None,
            tag_name: "ner_tags".into(),
            on_error: OnError::Fail,
        };
        let (recs, _) = run_reader(&rc, dir.path()).unwrap();
        let cfg = ParquetWriterConfig {
            path: "ner.parquet".into(),
            row_group_size: 100,
            zstd_level: 3,
        };
        let (_, _, outputs) = run_writer(&cfg, dir.path(), &recs);
        let pc = ParquetReaderConfig {
            paths: vec![glob(&outputs[0])],
            lang: None,
            text_field: "text".into(),
            on_error: OnError::Fail,
        };
        let (back, _) = run_reader(&pc, dir.path()).unwrap();
        assert_eq!(back.len(), recs.len());
        for (a, b) in recs.iter().zip(&back) {
            assert_eq!(
                (&a.id, &a.text, &a.lang, &a.fields),
                (&b.id, &b.text, &b.lang, &b.fields)
            );
        }
    }
}
