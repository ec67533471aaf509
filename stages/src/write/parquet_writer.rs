//! `parquet_writer`: zstd-compressed Parquet with Hugging Face `datasets`-compatible
//! columns: `id`, `text`, `lang`, `source` (strings), then one column per field, sorted by
//! name. Loads with `datasets.load_dataset("parquet", …)`, pandas and pyarrow.
//!
//! The schema is the union of every record's fields, and it must not depend on batch
//! boundaries. Records are buffered one row group (`row_group_size` rows) at a time; the
//! types seen in the first row group fix the schema and row groups stream straight into
//! the file (two at a time are built and compressed on the pool, see `parquet_groups`). Only if a later record brings a new field or widens a type (an int field
//! that later holds a float) does the writer fall back: the row groups written so far are
//! set aside, later records spill to a zstd JSONL file in the stage's scratch directory,
//! and `finish` rewrites both under the final schema. The decision depends only on the
//! record sequence, so the bytes are the same for any batch size or thread count.
//!
//! Field types: string, int64, float64 (integers widen to float when mixed), bool, lists
//! of those (nested lists too: `list<list<int64>>` for `token_offsets`), and string→string
//! objects such as `translation` become a struct with one child per key. Anything else
//! (mixed types, other objects) is a JSON-string column. Nulls and absent fields are nulls;
//! a field seen only as null is a string column.
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

use super::arrow_columns::{observe, record_batch, schema, Types};
use super::parquet_groups::GroupWriter;
use super::validate_path;
use crate::read::parquet_reader::to_json;
use mavuno_pipeline::cache::{read_record_file, RecordFileWriter};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn default_row_group_size() -> usize {
    65536
}
fn default_level() -> i32 {
    3
}

/// Rows per parquet-rs mini-batch (see [`ParquetWriter::props`]).
const WRITE_BATCH_ROWS: usize = 256;

/// Writes records as zstd Parquet with HF `datasets` columns.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ParquetWriterConfig {
    /// Output file; relative paths go under the run directory.
    pub path: String,
    /// Rows per Parquet row group. Memory holds up to three row groups while writing:
    /// one being gathered and two being built and encoded.
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
            scratch: ctx.scratch_dir.clone(),
            types: Types::new(),
            buf: Vec::new(),
            mode: Mode::Head,
            written: Vec::new(),
        })))
    }
}

/// Where the writer is in its strategy (see the module docs).
enum Mode {
    /// Buffering the first row group; the schema is not fixed yet.
    Head,
    /// Schema fixed by the first row group; row groups go straight to the output.
    Direct {
        writer: Box<GroupWriter>,
        fixed: Types,
    },
    /// A record widened the schema: the row groups written so far are in `head`, and every
    /// later record is in the spill.
    Spill {
        head: PathBuf,
        spill: RecordFileWriter<BufWriter<File>>,
        spill_path: PathBuf,
    },
}

/// The runtime writer.
pub struct ParquetWriter {
    cfg: ParquetWriterConfig,
    path: PathBuf,
    scratch: PathBuf,
    /// Field name → type, over every record seen so far.
    types: Types,
    /// Records not yet in a row group (Head and Direct modes).
    buf: Vec<Record>,
    mode: Mode,
    written: Vec<PathBuf>,
}

fn perr(path: &Path, e: &dyn std::fmt::Display) -> StageError {
    StageError::msg(format!("{}: writing Parquet: {e}", path.display()))
}

impl ParquetWriter {
    fn props(&self) -> Result<WriterProperties, StageError> {
        let level = ZstdLevel::try_new(self.cfg.zstd_level).map_err(|e| perr(&self.path, &e))?;
        let mut b = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.cfg.row_group_size.max(1)))
            // Pages close at the 1 MiB limit only between mini-batches: with the default
            // 1,024 rows a batch of 460-byte texts overshot to 1.4 MiB pages, and zstd
            // compresses a bigger page more slowly (its window outgrows the caches).
            // 256 rows keeps text pages near 1 MiB, the size polars writes.
            .set_write_batch_size(WRITE_BATCH_ROWS);
        // Ids, texts and provenance are (nearly) unique: a dictionary only costs hashing
        // every value before the encoder gives up on it.
        for col in ["id", "text", "source"] {
            b = b.set_column_dictionary_enabled(ColumnPath::from(col), false);
        }
        Ok(b.build())
    }

    fn open(&self, types: &Types) -> Result<GroupWriter, StageError> {
        GroupWriter::create(&self.path, Arc::new(schema(types)), self.props()?)
    }

    /// Writes the buffered records as row groups (Head fixes the schema first).
    fn flush(&mut self) -> Result<(), StageError> {
        if matches!(self.mode, Mode::Head) {
            let writer = Box::new(self.open(&self.types)?);
            self.mode = Mode::Direct {
                writer,
                fixed: self.types.clone(),
            };
        }
        let recs = std::mem::take(&mut self.buf);
        if let Mode::Direct { writer, fixed } = &mut self.mode {
            // The Arrow arrays are built on the pool with the encoding (the records are
            // dropped there too): the writer thread only gathers records.
            let (types, schema) = (fixed.clone(), writer.schema().clone());
            writer.write_with(move || record_batch(&types, &schema, &recs))?;
        }
        Ok(())
    }

    /// Direct → Spill: closes the file written so far and sets it aside in scratch, then
    /// spills the buffered records.
    fn fall_back(&mut self) -> Result<(), StageError> {
        let Mode::Direct { writer, .. } = std::mem::replace(&mut self.mode, Mode::Head) else {
            return Ok(());
        };
        std::fs::create_dir_all(&self.scratch).map_err(|e| StageError::io(&self.scratch, e))?;
        let head = self.scratch.join("parquet_writer.head.parquet");
        writer.finish()?.move_to(&head)?;
        let spill_path = self.scratch.join("parquet_writer.spill.jsonl.zst");
        let f = File::create(&spill_path).map_err(|e| StageError::io(&spill_path, e))?;
        let mut spill = RecordFileWriter::new(BufWriter::with_capacity(1 << 20, f))
            .map_err(|e| StageError::io(&spill_path, e))?;
        for r in std::mem::take(&mut self.buf) {
            spill
                .write(&r)
                .map_err(|e| StageError::io(&spill_path, e))?;
        }
        self.mode = Mode::Spill {
            head,
            spill,
            spill_path,
        };
        Ok(())
    }

    /// Spill mode's `finish`: the set-aside row groups, then the spill, under the final
    /// schema, in row groups of `row_group_size`.
    fn rewrite(&mut self, head: &Path, spill_path: &Path) -> Result<PathBuf, StageError> {
        let mut w = self.open(&self.types)?;
        let rows = self.cfg.row_group_size.max(1);
        let mut write = |recs: &[Record]| -> Result<(), StageError> {
            let b =
                record_batch(&self.types, w.schema(), recs).map_err(|e| perr(&self.path, &e))?;
            w.write(b)
        };
        let f = File::open(head).map_err(|e| StageError::io(head, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .and_then(|b| b.with_batch_size(rows).build())
            .map_err(|e| perr(head, &e))?;
        for batch in reader {
            let batch = batch.map_err(|e| perr(head, &e))?;
            let names = batch.schema();
            let mut recs = Vec::with_capacity(batch.num_rows());
            for i in 0..batch.num_rows() {
                let mut obj = Map::new();
                for (f, col) in names.fields().iter().zip(batch.columns()) {
                    if let Some(v) = to_json(col.as_ref(), i) {
                        obj.insert(f.name().clone(), v);
                    }
                }
                recs.push(Record::from_json(obj, "text").map_err(|e| perr(head, &e))?);
            }
            write(&recs)?;
        }
        let mut failure = None;
        read_record_file(spill_path, rows, |recs| match write(&recs) {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        let out = w.finish()?.commit()?;
        let _ = std::fs::remove_file(head);
        let _ = std::fs::remove_file(spill_path);
        Ok(out)
    }
}

impl Stage for ParquetWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let rows = self.cfg.row_group_size.max(1);
        for r in batch {
            let widened = observe(&mut self.types, &r);
            if let Mode::Spill {
                spill, spill_path, ..
            } = &mut self.mode
            {
                spill
                    .write(&r)
                    .map_err(|e| StageError::io(&*spill_path, e))?;
                out.keep(r);
                continue;
            }
            // The buffer owns the record; it is copied only if a stage reads ours.
            self.buf.push(out.keep_owned(r));
            if widened && matches!(self.mode, Mode::Direct { .. }) {
                self.fall_back()?;
            } else if self.buf.len() >= rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        let out = match std::mem::replace(&mut self.mode, Mode::Head) {
            Mode::Spill {
                head,
                spill,
                spill_path,
            } => {
                spill.finish().map_err(|e| StageError::io(&spill_path, e))?;
                self.rewrite(&head, &spill_path)?
            }
            mode => {
                self.mode = mode;
                if !self.buf.is_empty() || matches!(self.mode, Mode::Head) {
                    self.flush()?;
                }
                let Mode::Direct { writer, .. } = std::mem::replace(&mut self.mode, Mode::Head)
                else {
                    return Err(StageError::msg("parquet_writer: no file open at finish"));
                };
                writer.finish()?.commit()?
            }
        };
        self.written.push(out);
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

    fn read_back(dir: &Path, p: &Path) -> Vec<Record> {
        let rc = ParquetReaderConfig {
            paths: vec![glob(p)],
            lang: None,
            text_field: "text".into(),
            on_error: OnError::Fail,
        };
        run_reader(&rc, dir).unwrap().0
    }

    fn row_groups(p: &Path) -> usize {
        use parquet::file::reader::FileReader;
        parquet::file::reader::SerializedFileReader::new(File::open(p).unwrap())
            .unwrap()
            .metadata()
            .num_row_groups()
    }

    #[test]
    fn stable_schema_streams_row_groups_without_a_spill() {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Record> = (0..9i64)
            .map(|i| {
                let mut r = Record::new(format!("r{i}"), format!("text {i}"));
                r.set("label", i);
                r
            })
            .collect();
        let cfg = ParquetWriterConfig {
            path: "s.parquet".into(),
            row_group_size: 2,
            zstd_level: 3,
        };
        let (_, _, outputs) = run_writer(&cfg, dir.path(), &recs);
        assert_eq!(row_groups(&outputs[0]), 5);
        let back = read_back(dir.path(), &outputs[0]);
        let labels: Vec<i64> = back
            .iter()
            .map(|r| r.field("label").unwrap().as_i64().unwrap())
            .collect();
        assert_eq!(labels, (0..9).collect::<Vec<_>>());
        let scratch: Vec<_> = std::fs::read_dir(dir.path().join("scratch"))
            .unwrap()
            .collect();
        assert!(scratch.is_empty(), "nothing spilled: {scratch:?}");
    }

    #[test]
    fn a_late_widening_rewrites_to_the_same_table_as_one_row_group() {
        // row_group_size 3 fixes the schema on records 0–2, record 3 widens `label` to
        // float and record 6 adds fields: the fallback must give the same rows and schema
        // as a writer that saw everything before writing.
        let dir = tempfile::tempdir().unwrap();
        let small = ParquetWriterConfig {
            path: "small.parquet".into(),
            row_group_size: 3,
            zstd_level: 3,
        };
        let big = ParquetWriterConfig {
            path: "big.parquet".into(),
            row_group_size: 1000,
            zstd_level: 3,
        };
        let (_, _, a) = run_writer(&small, dir.path(), &records());
        let (_, _, b) = run_writer(&big, dir.path(), &records());
        assert_eq!(row_groups(&a[0]), 3);
        assert_eq!(row_groups(&b[0]), 1);
        let (ra, rb) = (read_back(dir.path(), &a[0]), read_back(dir.path(), &b[0]));
        let strip = |v: Vec<Record>| -> Vec<_> {
            v.into_iter()
                .map(|r| (r.id, r.text, r.lang, r.fields))
                .collect()
        };
        assert_eq!(strip(ra), strip(rb));
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
        let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
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
