//! `tsv_reader`: TSV/CSV files (the `csv` crate: quoted fields may hold delimiters,
//! doubled quotes and newlines), `.zst`/`.gz` transparently.
//!
//! Columns are named by the header row (`has_header = true`), by `columns`, or
//! `col0`, `col1`, … `text_field` is the text, `label_field` (if set) is stored as the
//! field `label`, an `id` column becomes the record id, a `lang` column the record's
//! language; every other column becomes a string field. The record's line is the line
//! where the row starts (rows with quoted newlines span several lines); ids default to
//! `<file>:<line>`. With `flexible = false` a row whose field count differs from the
//! header's (or the first row's) is bad input naming file, line, and expected vs got
//! counts; with `flexible = true` missing columns are absent and extra ones are named
//! `col<N>`. `quoting = false` reads quote characters literally (tweets with stray `"`).
//!
//! ```toml
//! [stages.news]
//! type = "tsv_reader"
//! paths = ["masakhanews/hau/*.tsv"]
//! lang = "hau"
//! text_field = "text"
//! label_field = "category"
//! ```

use super::{read_error_message, record_error, validate_common, OnError};
use mavuno_pipeline::io::{expand_globs, open_read_metered};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, ReadMeter, Record, Source, StageConfig,
    StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn default_text_field() -> String {
    "text".into()
}
fn default_delimiter() -> String {
    "\t".into()
}
fn yes() -> bool {
    true
}

/// Reads delimiter-separated files (TSV by default, CSV with `delimiter = ","`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TsvReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language for records without a `lang` column.
    #[serde(default)]
    pub lang: Option<String>,
    /// The column holding the text.
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// A column stored as the field `label` (HF convention), if any.
    #[serde(default)]
    pub label_field: Option<String>,
    /// Field delimiter: one ASCII character (`"\t"` by default, `","` for CSV).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Whether the first row names the columns.
    #[serde(default = "yes")]
    pub has_header: bool,
    /// Column names when there is no header (default `col0`, `col1`, …).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Whether rows may have a different number of fields than the header.
    #[serde(default)]
    pub flexible: bool,
    /// Whether `"` quotes fields (set false for text with stray quote characters).
    #[serde(default = "yes")]
    pub quoting: bool,
    /// Bad input (ragged row, invalid UTF-8, truncated file): `fail` stops the run,
    /// `reject` writes it to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for TsvReaderConfig {
    const TYPE: &'static str = "tsv_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_common(v, &self.paths, &self.lang);
        if self.delimiter.len() != 1 {
            v.error(
                "delimiter",
                format!("must be one ASCII character, got {:?}", self.delimiter),
            );
        }
        if self.has_header && self.columns.is_some() {
            v.error(
                "columns",
                "names columns of files without a header: set `has_header = false` or remove it",
            );
        }
        if let Some(cols) = &self.columns {
            if !cols.contains(&self.text_field) {
                v.error(
                    "text_field",
                    format!("\"{}\" is not one of `columns`", self.text_field),
                );
            }
            if let Some(l) = self.label_field.as_ref().filter(|l| !cols.contains(l)) {
                v.error("label_field", format!("\"{l}\" is not one of `columns`"));
            }
        }
        if self.label_field.as_ref() == Some(&self.text_field) {
            v.error("label_field", "must differ from `text_field`");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let files = expand_globs(&self.paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(StageImpl::Source(Box::new(TsvReader {
            cfg: self.clone(),
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct TsvReader {
    cfg: TsvReaderConfig,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// Opens a delimited file as a csv reader (shared with `parallel_reader`).
pub(crate) fn csv_reader(
    path: &Path,
    delimiter: u8,
    quoting: bool,
    meter: &ReadMeter,
) -> Result<csv::Reader<Box<dyn std::io::BufRead + Send>>, StageError> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(quoting)
        .from_reader(open_read_metered(path, meter)?))
}

/// A csv error as a [`DataError`] at the reader's position.
pub(crate) fn csv_error(file: &str, line: u64, e: csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::Io(io) => DataError::new(file, line, read_error_message(io)),
        _ => DataError::new(file, line, e.to_string()),
    }
}

impl TsvReader {
    fn read_file(&self, path: &Path, out: &mut Emitter) -> Result<(), StageError> {
        let file: Arc<str> = super::file_name(path);
        let delim = self
            .cfg
            .delimiter
            .as_bytes()
            .first()
            .copied()
            .unwrap_or(b'\t');
        let mut rdr = csv_reader(path, delim, self.cfg.quoting, &out.read_meter())?;
        let mut row = csv::ByteRecord::new();
        let mut names: Option<Vec<String>> = if self.cfg.has_header {
            None
        } else {
            self.cfg.columns.clone()
        };
        let mut header_pending = self.cfg.has_header;
        let mut checked = false;
        loop {
            if out.cancelled() {
                return Ok(());
            }
            let next_line = rdr.position().line();
            match rdr.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(next_line);
                    if out.take_next() {
                        self.cfg.on_error.bad(out, csv_error(&file, line, e), "")?;
                    }
                    return Ok(());
                }
            }
            let line = row.position().map(|p| p.line()).unwrap_or(next_line);
            if header_pending {
                header_pending = false;
                let mut h = Vec::with_capacity(row.len());
                for (i, b) in row.iter().enumerate() {
                    match std::str::from_utf8(b) {
                        Ok(s) => h.push(s.trim_start_matches('\u{feff}').to_string()),
                        Err(_) => {
                            return Err(DataError::new(
                                &*file,
                                line,
                                format!("invalid UTF-8 in header column {}", i + 1),
                            )
                            .into())
                        }
                    }
                }
                if let Some((i, n)) = h.iter().enumerate().find(|(i, n)| h[..*i].contains(n)) {
                    let first = h.iter().position(|x| x == n).unwrap_or(0);
                    return Err(DataError::new(
                        &*file,
                        line,
                        format!(
                            "duplicate column name \"{n}\" (columns {} and {})",
                            first + 1,
                            i + 1
                        ),
                    )
                    .into());
                }
                self.check_columns(&file, &h)?;
                checked = true;
                names = Some(h);
                continue;
            }
            let names = names.get_or_insert_with(|| {
                let n: Vec<String> = (0..row.len()).map(|i| format!("col{i}")).collect();
                n
            });
            if !out.take_next() {
                continue;
            }
            if !checked {
                // No header: the names come from `columns` or the first row's width.
                self.check_columns(&file, names)?;
                checked = true;
            }
            match self.parse(&file, line, names, &row) {
                Ok(rec) => out.keep(rec),
                Err(e) => {
                    let raw = row
                        .iter()
                        .map(super::lossy_excerpt)
                        .collect::<Vec<_>>()
                        .join(" | ");
                    self.cfg.on_error.bad(out, e, &raw)?
                }
            }
        }
    }

    fn check_columns(&self, file: &str, names: &[String]) -> Result<(), StageError> {
        let mut wanted = vec![&self.cfg.text_field];
        wanted.extend(self.cfg.label_field.as_ref());
        for w in wanted {
            if !names.contains(w) {
                return Err(DataError::new(
                    file,
                    1,
                    format!("no column \"{w}\"; the columns are: {}", names.join(", ")),
                )
                .with_field(w.clone())
                .into());
            }
        }
        Ok(())
    }

    fn parse(
        &self,
        file: &Arc<str>,
        line: u64,
        names: &[String],
        row: &csv::ByteRecord,
    ) -> Result<Record, DataError> {
        if !self.cfg.flexible && row.len() != names.len() {
            return Err(DataError::new(
                &**file,
                line,
                format!(
                    "expected {} fields, got {} (set `flexible = true` to allow ragged rows)",
                    names.len(),
                    row.len()
                ),
            ));
        }
        let mut obj = Map::new();
        for (i, b) in row.iter().enumerate() {
            let name = names.get(i).cloned().unwrap_or_else(|| format!("col{i}"));
            let s = std::str::from_utf8(b).map_err(|e| {
                DataError::new(
                    &**file,
                    line,
                    format!("invalid UTF-8 at byte {} of the field", e.valid_up_to()),
                )
                .with_field(name.clone())
            })?;
            let key = if Some(&name) == self.cfg.label_field.as_ref() {
                "label".to_string()
            } else {
                name
            };
            obj.insert(key, Value::String(s.to_string()));
        }
        let mut rec = Record::from_json(obj, &self.cfg.text_field)
            .map_err(|m| record_error(file, line, m))?;
        if rec.id.is_empty() {
            rec.id = format!("{file}:{line}");
        }
        if rec.lang.is_none() {
            rec.lang = self.cfg.lang.clone();
        }
        rec.source = Some(Provenance {
            file: file.clone(),
            line,
        });
        Ok(rec)
    }
}

impl Source for TsvReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        out.read_meter().add_files(&self.files);
        for f in &self.files {
            self.read_file(f, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    fn cfg(p: &Path) -> TsvReaderConfig {
        TsvReaderConfig {
            paths: vec![glob(p)],
            lang: None,
            text_field: "text".into(),
            label_field: None,
            delimiter: "\t".into(),
            has_header: true,
            columns: None,
            flexible: false,
            quoting: true,
            on_error: OnError::Fail,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(check_example(include_str!("tsv_reader.rs")), ["tsv_reader"]);
    }

    #[test]
    fn quoted_multiline_fields_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.tsv",
            b"label\ttext\textra\npos\t\"two\nlines \"\"q\"\"\"\tx\nneg\tplain\ty\n",
        );
        let mut c = cfg(&p);
        c.label_field = Some("label".into());
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text, "two\nlines \"q\"");
        assert_eq!(recs[0].str_field("label"), Some("pos"));
        assert_eq!(recs[0].str_field("extra"), Some("x"));
        assert_eq!(recs[0].source.as_ref().unwrap().line, 2);
        assert_eq!(recs[1].source.as_ref().unwrap().line, 4);
        assert_eq!(recs[1].id, format!("{}:4", glob(&p)));
    }

    #[test]
    fn csv_without_header_uses_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.csv", b"1,hello\n2,\"a, b\"\n");
        let mut c = cfg(&p);
        c.delimiter = ",".into();
        c.has_header = false;
        c.text_field = "col1".into();
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(
            recs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["hello", "a, b"]
        );
        assert_eq!(recs[0].str_field("col0"), Some("1"));
        c.columns = Some(vec!["id".into(), "sentence".into()]);
        c.text_field = "sentence".into();
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(recs[1].id, "2");
    }

    #[test]
    fn ragged_rows_fail_reject_or_pass_when_flexible() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "r.tsv",
            b"text\tlabel\na\t1\nb\n\nc\t3\textra\n",
        );
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:3: expected 2 fields, got 1 (set `flexible = true` to allow ragged rows)",
                glob(&p)
            )
        );
        let mut c = cfg(&p);
        c.on_error = OnError::Reject;
        let (recs, counts) = run_reader(&c, dir.path()).unwrap();
        assert_eq!((recs.len(), counts.rejected), (1, 2));
        c.flexible = true;
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].str_field("col2"), Some("extra"));
    }

    #[test]
    fn bad_utf8_missing_column_empty_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "u.tsv", b"text\tlabel\nok\t1\nb\xffd\t2\n");
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:3: field `text`: invalid UTF-8 at byte 1 of the field",
                glob(&p)
            )
        );
        let p = write(dir.path(), "m.tsv", b"sentence\tlabel\nok\t1\n");
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:1: field `text`: no column \"text\"; the columns are: sentence, label",
                glob(&p)
            )
        );
        let p = write(dir.path(), "d.tsv", b"text\tx\tx\n");
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:1: duplicate column name \"x\" (columns 2 and 3)",
                glob(&p)
            )
        );
        let p = write(dir.path(), "e.tsv", b"");
        assert_eq!(run_reader(&cfg(&p), dir.path()).unwrap().1.records_in, 0);
        let body: String = std::iter::once("text\n".to_string())
            .chain((0..20000).map(|i| format!("row {i}\n")))
            .collect();
        let p = write_compressed(dir.path(), "t.tsv.gz", body.as_bytes());
        assert_eq!(run_reader(&cfg(&p), dir.path()).unwrap().0.len(), 20000);
        truncate_half(&p);
        let e = err_text(run_reader(&cfg(&p), dir.path()));
        assert!(e.contains("t.tsv.gz:") && e.contains("truncated"), "{e}");
        let mut c = cfg(&p);
        c.on_error = OnError::Reject;
        assert_eq!(run_reader(&c, dir.path()).unwrap().1.rejected, 1);
    }

    #[test]
    fn masakhanews_multiline_articles() {
        let p = shared_data("masakhanews/eng/dev.tsv");
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(&p);
        c.label_field = Some("category".into());
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        // 472 articles (checked with Python's csv module); most span several lines.
        assert_eq!(recs.len(), 472);
        assert!(recs.iter().filter(|r| r.text.contains('\n')).count() > 400);
        assert!(recs
            .iter()
            .all(|r| r.str_field("label").is_some() && r.str_field("headline").is_some()));
        let lines: Vec<u64> = recs
            .iter()
            .map(|r| r.source.as_ref().unwrap().line)
            .collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn afrisenti_tweets_with_stray_quotes() {
        let dir = tempfile::tempdir().unwrap();
        for lang in ["hau", "yor"] {
            let p = shared_data(&format!("afrisenti/{lang}/dev.tsv"));
            let n_lines = std::fs::read_to_string(&p).unwrap().lines().count();
            let mut c = cfg(&p);
            c.text_field = "tweet".into();
            c.label_field = Some("label".into());
            for quoting in [false, true] {
                c.quoting = quoting;
                let (recs, _) = run_reader(&c, dir.path()).unwrap();
                assert_eq!(recs.len(), n_lines - 1, "{lang} quoting={quoting}");
            }
            c.quoting = false;
            let (recs, _) = run_reader(&c, dir.path()).unwrap();
            assert!(recs.iter().all(|r| matches!(
                r.str_field("label"),
                Some("positive" | "negative" | "neutral")
            )));
        }
    }

    #[test]
    fn udhr_paragraphs_with_a_lang_column() {
        let p = shared_data("udhr/udhr_paragraphs.tsv");
        let dir = tempfile::tempdir().unwrap();
        let (recs, _) = run_reader(&cfg(&p), dir.path()).unwrap();
        assert_eq!(recs.len(), 699);
        let langs: std::collections::BTreeSet<&str> =
            recs.iter().filter_map(|r| r.lang.as_deref()).collect();
        assert_eq!(langs.len(), 12, "{langs:?}");
        assert!(recs
            .iter()
            .all(|r| r.str_field("section").is_some() && !r.text.is_empty()));
    }
}
