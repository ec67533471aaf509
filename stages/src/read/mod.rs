//! Readers: stage types that turn files into records.
//!
//! Every reader streams its input (a line, a sentence, a CSV record or a Parquet batch
//! at a time; never a whole file), reads `.zst` and `.gz` transparently, names the file and
//! line of every bad input, and either stops (`on_error = "fail"`, the default) or writes
//! the bad input to `rejects.jsonl` and goes on (`on_error = "reject"`). Record ids are
//! `<file>:<line>` unless the input carries an `id`.
//!
//! This module holds what the readers share: [`OnError`], the line reader with byte
//! offsets, and the helpers that report bad input.

mod blocks;
pub mod conll_reader;
pub mod conllu_reader;
pub mod format;
pub mod jsonl_reader;
pub mod parallel_reader;
pub mod parquet_reader;
pub mod text_reader;
pub mod tsv_reader;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::open_read_metered;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{DataError, Emitter, Provenance, ReadMeter, StageError};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// What a reader does with bad input (invalid UTF-8, a malformed line, a truncated file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum OnError {
    /// Stop the run with an error naming file, line and field.
    #[default]
    Fail,
    /// Write the bad input to `rejects.jsonl` (counted as rejected) and go on.
    Reject,
}

impl OnError {
    /// Reports bad input: an error under `fail`, a reject under `reject`. `raw` is the
    /// offending input (an excerpt goes to `rejects.jsonl`).
    pub(crate) fn bad(
        self,
        out: &mut Emitter,
        err: DataError,
        raw: &str,
    ) -> Result<(), StageError> {
        match self {
            OnError::Fail => Err(StageError::Data(err)),
            OnError::Reject => {
                let at = Provenance {
                    file: Arc::from(err.file.as_str()),
                    line: err.line,
                };
                let msg = match &err.field {
                    Some(f) => format!("field `{f}`: {}", err.message),
                    None => err.message.clone(),
                };
                out.reject_raw(&at, msg, raw);
                Ok(())
            }
        }
    }
}

/// Checks the fields every reader has.
pub(crate) fn validate_common(v: &mut Validator, paths: &[String], lang: &Option<String>) {
    if paths.is_empty() {
        v.error("paths", "must list at least one file or glob");
    }
    if paths.iter().any(|p| p.trim().is_empty()) {
        v.error("paths", "must not contain an empty pattern");
    }
    validate_lang(v, "lang", lang);
}

/// Checks an optional ISO 639-3 code.
pub(crate) fn validate_lang(v: &mut Validator, field: &str, lang: &Option<String>) {
    if let Some(l) = lang {
        if !is_iso639_3(l) {
            v.error(
                field,
                format!("must be an ISO 639-3 code (three lowercase letters), got \"{l}\""),
            );
        }
    }
}

/// Whether `s` looks like an ISO 639-3 code.
pub(crate) fn is_iso639_3(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// A path as records and errors name it.
pub(crate) fn file_name(p: &Path) -> Arc<str> {
    Arc::from(p.display().to_string().as_str())
}

/// The message for an I/O error in the middle of a file (a truncated `.gz`/`.zst`, a
/// disk error).
pub(crate) fn read_error_message(e: &std::io::Error) -> String {
    format!("read error: {e} (is the file truncated or corrupt?)")
}

/// A [`mavuno_pipeline::Record::from_json`] message ("field `x` must be …") as a
/// [`DataError`] that names the field.
pub(crate) fn record_error(file: &str, line: u64, m: String) -> DataError {
    match m.strip_prefix("field `").and_then(|r| r.split_once("` ")) {
        Some((field, rest)) => DataError::new(file, line, rest).with_field(field),
        None => DataError::new(file, line, m),
    }
}

/// Invalid UTF-8 in the line `line` that starts at decompressed byte `offset`.
pub(crate) fn utf8_error_at(
    file: &str,
    line: u64,
    offset: u64,
    e: std::str::Utf8Error,
) -> DataError {
    let at = e.valid_up_to();
    DataError::new(
        file,
        line,
        format!(
            "invalid UTF-8 at byte offset {} (column byte {})",
            offset + at as u64,
            at + 1
        ),
    )
}

/// Reads a (possibly compressed) file line by line with no line-length cap, tracking the
/// 1-based line number and the byte offset of each line in the decompressed stream.
pub(crate) struct Lines {
    r: Box<dyn BufRead + Send>,
    /// The file, as records name it.
    pub file: Arc<str>,
    /// 1-based number of the line in `buf` (0 before the first read).
    pub line: u64,
    /// Byte offset of the start of the line in `buf` (decompressed).
    pub offset: u64,
    next_offset: u64,
    /// The current line without its `\n` or `\r\n`.
    pub buf: Vec<u8>,
}

impl Lines {
    /// Opens a file, counting the bytes read into `meter` (the progress bar's ETA).
    pub fn open(path: &Path, meter: &ReadMeter) -> Result<Lines, StageError> {
        Ok(Lines {
            r: open_read_metered(path, meter)?,
            file: file_name(path),
            line: 0,
            offset: 0,
            next_offset: 0,
            buf: Vec::new(),
        })
    }

    /// Reads the next line into `buf`; `Ok(false)` at the end of the file. An I/O error
    /// (a truncated compressed file) is a [`DataError`] at the line being read.
    pub fn advance(&mut self) -> Result<bool, DataError> {
        if self.buf.capacity() > 1 << 24 {
            // Do not keep a huge line's buffer for the rest of the file.
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.offset = self.next_offset;
        let n = match self.r.read_until(b'\n', &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                return Err(DataError::new(
                    &*self.file,
                    self.line + 1,
                    read_error_message(&e),
                ))
            }
        };
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.next_offset += n as u64;
        if self.offset == 0 && self.buf.starts_with(b"\xef\xbb\xbf") {
            // A UTF-8 byte-order mark is not text.
            self.buf.drain(..3);
            self.offset = 3;
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        Ok(true)
    }

    /// The current line as UTF-8, or an error naming file, line and byte offset.
    pub fn text(&self) -> Result<&str, DataError> {
        std::str::from_utf8(&self.buf).map_err(|e| self.utf8_error(e))
    }

    fn utf8_error(&self, e: std::str::Utf8Error) -> DataError {
        utf8_error_at(&self.file, self.line, self.offset, e)
    }

    /// Whether the current line is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.buf.iter().all(u8::is_ascii_whitespace)
    }

    /// The current line for a reject excerpt (invalid bytes replaced).
    pub fn lossy(&self) -> String {
        lossy_excerpt(&self.buf)
    }
}

/// The start of some bytes as text, for reject excerpts (a 50 MB line is not copied).
pub(crate) fn lossy_excerpt(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(1024)]).into_owned()
}

#[cfg(test)]
pub(crate) mod test_util {
    use mavuno_pipeline::{
        BuildContext, Counts, Emitter, Record, StageConfig, StageError, StageImpl,
    };
    use std::io::Write;
    use std::path::{Path, PathBuf};

    /// The TOML inside the first ```toml fence of a module doc.
    pub fn toml_block(src: &str) -> String {
        let doc: Vec<&str> = src
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
            .collect();
        let start = doc
            .iter()
            .position(|l| l.starts_with("```toml"))
            .expect("toml fence")
            + 1;
        let end = start
            + doc[start..]
                .iter()
                .position(|l| l.starts_with("```"))
                .expect("closing fence");
        doc[start..end].join("\n")
    }

    /// Parses and validates a stage file's doc example with the full registry; returns the
    /// stage types in the plan.
    pub fn check_example(src: &str) -> Vec<&'static str> {
        let text = toml_block(src);
        let reg = crate::registry();
        match mavuno_pipeline::config::parse(&text, Path::new("example.toml"), &[], &reg) {
            Ok(plan) => plan.stages.iter().map(|s| s.config.type_name()).collect(),
            Err(errs) => panic!("example does not validate: {errs:?}\n{text}"),
        }
    }

    /// Writes a file under `dir`.
    pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write test file");
        p
    }

    /// Writes a zstd- or gzip-compressed file (by extension).
    pub fn write_compressed(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        let data = if name.ends_with(".zst") {
            zstd::encode_all(bytes, 3).expect("zstd")
        } else {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(bytes).expect("gz");
            e.finish().expect("gz")
        };
        std::fs::write(&p, data).expect("write");
        p
    }

    /// Cuts a file to half its size.
    pub fn truncate_half(p: &Path) {
        let b = std::fs::read(p).expect("read");
        std::fs::write(p, &b[..b.len() / 2]).expect("write");
    }

    /// A path as a glob string.
    pub fn glob(p: &Path) -> String {
        p.display().to_string()
    }

    /// Builds and runs a reader; returns its records and counts.
    pub fn run_reader<C: StageConfig>(
        cfg: &C,
        dir: &Path,
    ) -> Result<(Vec<Record>, Counts), StageError> {
        let ctx = BuildContext::for_tests(dir);
        let StageImpl::Source(mut s) = cfg.build(&ctx)? else {
            panic!("not a source")
        };
        let mut out = Emitter::collecting(4);
        s.run(&mut out)?;
        let counts = out.counts().clone();
        assert!(counts.balances(), "{counts:?}");
        Ok((out.take_collected(), counts))
    }

    /// The shared data directory (`../shared/data` of the repository), or a panic that
    /// says where it was looked for.
    pub fn shared_data(rel: &str) -> PathBuf {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data")
            .join(rel);
        assert!(
            p.exists(),
            "shared data missing: {} (these tests need ../shared/data next to the repository)",
            p.display()
        );
        p
    }

    /// The error text of a failed run.
    pub fn err_text<T: std::fmt::Debug>(r: Result<T, StageError>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_track_numbers_offsets_and_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let p = test_util::write(dir.path(), "a.txt", b"ab\r\n\ncd\xffe\n");
        let mut l = Lines::open(&p, &ReadMeter::default()).unwrap();
        assert!(l.advance().unwrap());
        assert_eq!((l.line, l.offset, l.text().unwrap()), (1, 0, "ab"));
        assert!(l.advance().unwrap());
        assert!(l.is_blank());
        assert!(l.advance().unwrap());
        let e = l.text().unwrap_err().to_string();
        assert!(
            e.ends_with("a.txt:3: invalid UTF-8 at byte offset 7 (column byte 3)"),
            "{e}"
        );
        assert!(!l.advance().unwrap());
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = test_util::write(dir.path(), "bom.txt", b"\xef\xbb\xbf{}\n");
        let mut l = Lines::open(&p, &ReadMeter::default()).unwrap();
        assert!(l.advance().unwrap());
        assert_eq!((l.text().unwrap(), l.offset), ("{}", 3));
    }

    #[test]
    fn every_io_stage_is_registered_with_documented_fields() {
        let reg = crate::registry();
        let io = [
            "text_reader",
            "jsonl_reader",
            "parquet_reader",
            "tsv_reader",
            "conll_reader",
            "conllu_reader",
            "parallel_reader",
            "jsonl_writer",
            "parquet_writer",
            "text_writer",
            "conll_writer",
            "conllu_writer",
        ];
        for t in io {
            let e = reg.get(t).unwrap_or_else(|| panic!("{t} not registered"));
            assert!(!e.description().is_empty(), "{t}");
            for f in e.fields() {
                assert!(!f.description.is_empty(), "{t}.{} has no doc", f.name);
            }
        }
        let on_error = reg
            .get("text_reader")
            .unwrap()
            .fields()
            .into_iter()
            .find(|f| f.name == "on_error")
            .unwrap();
        assert_eq!(on_error.ty, "\"fail\" | \"reject\"");
    }

    #[test]
    fn file_sharding_gives_each_shard_whole_files() {
        use mavuno_pipeline::stage::Shard;
        use mavuno_pipeline::{BuildContext, StageConfig, StageImpl};
        let dir = tempfile::tempdir().unwrap();
        let a = test_util::write(dir.path(), "a.txt", b"a1\na2\n");
        test_util::write(dir.path(), "b.txt", b"b1\n");
        let c = text_reader::TextReaderConfig {
            paths: vec![format!("{}/*.txt", dir.path().display())],
            lang: None,
            mode: text_reader::TextMode::Line,
            on_error: OnError::Fail,
        };
        let mut got = Vec::new();
        for index in 0..2 {
            let mut ctx = BuildContext::for_tests(dir.path());
            ctx.shard = Some(Shard {
                index,
                count: 2,
                by_file: true,
            });
            let StageImpl::Source(mut s) = c.build(&ctx).unwrap() else {
                panic!()
            };
            let mut out = Emitter::collecting(2);
            s.run(&mut out).unwrap();
            got.push(
                out.take_collected()
                    .into_iter()
                    .map(|r| r.text)
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(got, [vec!["a1", "a2"], vec!["b1"]]);
        assert!(a.exists());
    }

    #[test]
    fn iso_codes() {
        assert!(is_iso639_3("yor"));
        assert!(!is_iso639_3("yo"));
        assert!(!is_iso639_3("Yor"));
    }

    /// Runs a reader and writer through the engine: rejects reach rejects.jsonl with their
    /// provenance, accounting balances, and record shards partition the input.
    #[test]
    fn engine_run_with_rejects_and_shards() {
        let dir = tempfile::tempdir().unwrap();
        let input = test_util::write(dir.path(), "in.txt", b"one\ntw\xffo\n\nthree\nfour\nfive\n");
        let cfg = format!(
            "[run]\nname = \"t\"\nworkdir = \"{}\"\nbatch_size = 2\n\n[stages.raw]\ntype = \"text_reader\"\npaths = [\"{}\"]\non_error = \"reject\"\n\n[stages.out]\ntype = \"jsonl_writer\"\ninputs = [\"raw\"]\npath = \"out.jsonl\"\n",
            dir.path().join("runs").display(),
            input.display()
        );
        let reg = crate::registry();
        let plan = mavuno_pipeline::config::parse(&cfg, Path::new("t.toml"), &[], &reg).unwrap();
        let mut texts = Vec::new();
        for shard in [None, Some((0, 2)), Some((1, 2))] {
            let opts = mavuno_pipeline::run::RunOptions {
                shard,
                ..Default::default()
            };
            let sum = mavuno_pipeline::run::execute(&plan, &opts).unwrap();
            let raw = &sum.stages[0].counts;
            assert!(raw.balances(), "{raw:?}");
            let out = std::fs::read_to_string(sum.run_dir.join("out.jsonl")).unwrap();
            let got: Vec<String> = out
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            let rejects = std::fs::read_to_string(sum.run_dir.join("rejects.jsonl")).unwrap();
            texts.push((got, sum.rejected_total, rejects));
        }
        assert_eq!(texts[0].0, ["one", "three", "four", "five"]);
        assert_eq!(texts[0].1, 1);
        assert!(
            texts[0].2.contains(&format!("{}:2", input.display())),
            "{}",
            texts[0].2
        );
        assert!(
            texts[0].2.contains("invalid UTF-8 at byte offset 6"),
            "{}",
            texts[0].2
        );
        // Ordinals: one=0, tw?o=1 (rejected), three=2, four=3, five=4.
        assert_eq!(texts[1].0, ["one", "three", "five"]);
        assert_eq!(
            (texts[2].0.clone(), texts[2].1),
            (vec!["four".to_string()], 1)
        );
    }
}
