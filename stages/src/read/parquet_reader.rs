//! `parquet_reader`: Parquet files (HF `datasets` exports, `parquet_writer` output), read
//! batch by batch (never a whole file in memory).
//!
//! `text_field` is the text column; `id` and `lang` columns fill the record's own
//! columns; every other column becomes a field, converted to JSON: strings, integers,
//! floats, booleans, lists and structs map directly; null values are skipped; other
//! types (dates, decimals, binary, dictionaries) become their display string. The
//! record's line is the 1-based row number in the file; ids default to `<file>:<row>`,
//! and the record's `source` is always `<file>:<row>` (a `source` column is replaced).
//! An empty (0-byte) file holds no rows; a truncated or corrupt file is always an error.
//! Codecs: zstd, snappy (the pyarrow and HF default), gzip, lz4 and uncompressed.
//!
//! ```toml
//! [stages.corpus]
//! type = "parquet_reader"
//! paths = ["runs/yor/clean/*.parquet"]
//! text_field = "text"
//! ```

use super::{file_name, record_error, validate_common, OnError};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{self as dt, DataType};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

fn default_text_field() -> String {
    "text".into()
}

/// Rows per Arrow batch read from a Parquet file: bounds memory for any file size.
const READ_BATCH: usize = 1024;

/// Reads Parquet files, one record per row.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ParquetReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language for rows without a `lang` value.
    #[serde(default)]
    pub lang: Option<String>,
    /// The string column holding the text.
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// Bad rows (a non-string text or id): `fail` stops the run, `reject` writes them to
    /// rejects.jsonl and goes on. A corrupt file is always an error.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for ParquetReaderConfig {
    const TYPE: &'static str = "parquet_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_common(v, &self.paths, &self.lang);
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let files = expand_globs(&self.paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(StageImpl::Source(Box::new(ParquetReader {
            cfg: self.clone(),
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct ParquetReader {
    cfg: ParquetReaderConfig,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// One Arrow value as JSON; `None` for null.
pub(crate) fn to_json(a: &dyn Array, i: usize) -> Option<Value> {
    if a.is_null(i) {
        return None;
    }
    let v = match a.data_type() {
        DataType::Null => return None,
        DataType::Utf8 => Value::from(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(a.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(a.as_string_view().value(i)),
        DataType::Boolean => Value::from(a.as_boolean().value(i)),
        DataType::Int8 => Value::from(a.as_primitive::<dt::Int8Type>().value(i)),
        DataType::Int16 => Value::from(a.as_primitive::<dt::Int16Type>().value(i)),
        DataType::Int32 => Value::from(a.as_primitive::<dt::Int32Type>().value(i)),
        DataType::Int64 => Value::from(a.as_primitive::<dt::Int64Type>().value(i)),
        DataType::UInt8 => Value::from(a.as_primitive::<dt::UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(a.as_primitive::<dt::UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(a.as_primitive::<dt::UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(a.as_primitive::<dt::UInt64Type>().value(i)),
        DataType::Float32 => Value::from(f64::from(a.as_primitive::<dt::Float32Type>().value(i))),
        DataType::Float64 => Value::from(a.as_primitive::<dt::Float64Type>().value(i)),
        DataType::List(_) => list_json(a.as_list::<i32>().value(i).as_ref()),
        DataType::LargeList(_) => list_json(a.as_list::<i64>().value(i).as_ref()),
        DataType::FixedSizeList(..) => list_json(a.as_fixed_size_list().value(i).as_ref()),
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut m = Map::new();
            for (f, col) in fields.iter().zip(s.columns()) {
                if let Some(v) = to_json(col.as_ref(), i) {
                    m.insert(f.name().clone(), v);
                }
            }
            Value::Object(m)
        }
        _ => match ArrayFormatter::try_new(a, &FormatOptions::default()) {
            Ok(f) => Value::from(f.value(i).to_string()),
            Err(_) => return None,
        },
    };
    Some(v)
}

fn list_json(items: &dyn Array) -> Value {
    Value::Array(
        (0..items.len())
            .map(|j| to_json(items, j).unwrap_or(Value::Null))
            .collect(),
    )
}

impl ParquetReader {
    fn read_file(&self, path: &Path, out: &mut Emitter) -> Result<(), StageError> {
        let file = file_name(path);
        let corrupt = |e: &dyn std::fmt::Display| {
            StageError::Data(DataError::new(
                &*file,
                0,
                format!("cannot read Parquet: {e}"),
            ))
        };
        let f = std::fs::File::open(path).map_err(|e| StageError::io(path, e))?;
        if f.metadata().map_err(|e| StageError::io(path, e))?.len() == 0 {
            // An empty file holds no rows (as for every other reader), not a corrupt footer.
            return Ok(());
        }
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| corrupt(&e))?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if !names.contains(&self.cfg.text_field) {
            return Err(DataError::new(
                &*file,
                0,
                format!(
                    "no column \"{}\"; the columns are: {}",
                    self.cfg.text_field,
                    names.join(", ")
                ),
            )
            .with_field(self.cfg.text_field.clone())
            .into());
        }
        let reader = builder
            .with_batch_size(READ_BATCH)
            .build()
            .map_err(|e| corrupt(&e))?;
        let mut row: u64 = 0;
        for batch in reader {
            if out.cancelled() {
                return Ok(());
            }
            let batch = batch.map_err(|e| {
                StageError::Data(DataError::new(
                    &*file,
                    row + 1,
                    format!("cannot read Parquet: {e}"),
                ))
            })?;
            for i in 0..batch.num_rows() {
                row += 1;
                if !out.take_next() {
                    continue;
                }
                let mut obj = Map::new();
                for (name, col) in names.iter().zip(batch.columns()) {
                    if let Some(v) = to_json(col.as_ref(), i) {
                        obj.insert(name.clone(), v);
                    }
                }
                match Record::from_json(obj, &self.cfg.text_field) {
                    Ok(mut rec) => {
                        if rec.id.is_empty() {
                            rec.id = format!("{file}:{row}");
                        }
                        if rec.lang.is_none() {
                            rec.lang = self.cfg.lang.clone();
                        }
                        rec.source = Some(Provenance {
                            file: file.clone(),
                            line: row,
                        });
                        out.keep(rec);
                    }
                    Err(m) => self
                        .cfg
                        .on_error
                        .bad(out, record_error(&file, row, m), "")?,
                }
            }
        }
        Ok(())
    }
}

impl Source for ParquetReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        // Parquet is read by row group through the file handle: progress moves a file at a time.
        let meter = out.read_meter();
        meter.add_files(&self.files);
        for f in &self.files {
            self.read_file(f, out)?;
            meter.add_read(std::fs::metadata(f).map(|m| m.len()).unwrap_or(0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;
    use arrow::array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, ListBuilder, StringArray, StringBuilder,
    };
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn cfg(p: &Path) -> ParquetReaderConfig {
        ParquetReaderConfig {
            paths: vec![glob(p)],
            lang: Some("swh".into()),
            text_field: "text".into(),
            on_error: OnError::Fail,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("parquet_reader.rs")),
            ["parquet_reader"]
        );
    }

    fn write_test_file(p: &Path, rows: usize) {
        let mut lb = ListBuilder::new(StringBuilder::new());
        for i in 0..rows {
            lb.values().append_value(format!("t{i}"));
            lb.values().append_null();
            lb.append(true);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter(
                (0..rows).map(|i| Some(format!("row {i}"))),
            )),
            Arc::new(Int64Array::from_iter((0..rows).map(|i| {
                if i % 2 == 0 {
                    Some(i as i64)
                } else {
                    None
                }
            }))),
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| i as f64 / 2.0),
            )),
            Arc::new(BooleanArray::from_iter((0..rows).map(|i| Some(i % 3 == 0)))),
            Arc::new(lb.finish()),
        ];
        let schema = Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("label", DataType::Int64, true),
            Field::new("score", DataType::Float64, false),
            Field::new("ok", DataType::Boolean, true),
            Field::new(
                "tokens",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), cols).unwrap();
        let f = std::fs::File::create(p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn rows_become_records_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        write_test_file(&p, 2500);
        let (recs, _) = run_reader(&cfg(&p), dir.path()).unwrap();
        assert_eq!(recs.len(), 2500);
        let r = &recs[2];
        assert_eq!(r.text, "row 2");
        assert_eq!(r.id, format!("{}:3", glob(&p)));
        assert_eq!(r.field("label"), Some(&serde_json::json!(2)));
        assert_eq!(r.field("score"), Some(&serde_json::json!(1.0)));
        assert_eq!(r.field("tokens"), Some(&serde_json::json!(["t2", null])));
        assert_eq!(recs[1].field("label"), None, "nulls are skipped");
        assert_eq!(recs[2499].source.as_ref().unwrap().line, 2500);
        assert_eq!(r.lang.as_deref(), Some("swh"));
    }

    #[test]
    fn snappy_and_gzip_files_read() {
        use parquet::basic::{Compression, GzipLevel};
        let dir = tempfile::tempdir().unwrap();
        for (name, codec) in [
            ("s.parquet", Compression::SNAPPY),
            ("g.parquet", Compression::GZIP(GzipLevel::default())),
        ] {
            let p = dir.path().join(name);
            let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
            let col: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
            let batch = RecordBatch::try_new(schema.clone(), vec![col]).unwrap();
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(codec)
                .build();
            let f = std::fs::File::create(&p).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let (recs, _) = run_reader(&cfg(&p), dir.path()).unwrap();
            assert_eq!(
                recs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
                ["a", "b"],
                "{name}"
            );
        }
    }

    #[test]
    fn missing_text_column_and_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        write_test_file(&p, 10);
        let mut c = cfg(&p);
        c.text_field = "body".into();
        let e = err_text(run_reader(&c, dir.path()));
        assert_eq!(e, format!("{}: field `body`: no column \"body\"; the columns are: text, label, score, ok, tokens", glob(&p)));
        truncate_half(&p);
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert!(
            e.starts_with(&format!("{}: cannot read Parquet:", glob(&p))),
            "{e}"
        );
        let p = write(dir.path(), "empty.parquet", b"");
        assert_eq!(run_reader(&cfg(&p), dir.path()).unwrap().1.records_in, 0);
    }

    #[test]
    fn non_string_text_fails_or_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef],
        )
        .unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), schema, None)
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:1: field `text`: must be a string, got a number",
                glob(&p)
            )
        );
        let mut c = cfg(&p);
        c.on_error = OnError::Reject;
        let (recs, counts) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(
            (recs.len(), counts.rejected),
            (1, 1),
            "a null text is an empty text"
        );
    }
}
