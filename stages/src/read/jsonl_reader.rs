//! `jsonl_reader`: JSON Lines, one object per line (`.zst`/`.gz` transparently).
//!
//! `text_field` names the text; `id` and `lang` keys fill the record's own columns and
//! every other key becomes a field (the format [`Record::to_json`] writes, so
//! `jsonl_writer` output reads back). A record without `id` gets `<file>:<line>`; one
//! without `lang` gets the stage's `lang`. The record's `source` is always where it was
//! read (`<file>:<line>`). Blank lines are skipped and not counted. A malformed line or a
//! line that is not an object is bad input naming file, line and serde's message.
//!
//! ```toml
//! [stages.raw]
//! type = "jsonl_reader"
//! paths = ["data/*.jsonl.zst"]
//! text_field = "text"
//! lang = "hau"
//! on_error = "fail"
//! ```

use super::{lossy_excerpt, record_error, utf8_error_at, validate_common, Lines, OnError};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::record_json::{parse_record, JsonRecordError};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

fn default_text_field() -> String {
    "text".into()
}

/// Reads JSON Lines: one object per line, `text_field` as the text, other keys as fields.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct JsonlReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language for records without a `lang` key.
    #[serde(default)]
    pub lang: Option<String>,
    /// The key holding the text (a string; missing or null gives an empty text).
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// Bad input (malformed JSON, not an object, invalid UTF-8, truncated file): `fail`
    /// stops the run, `reject` writes it to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for JsonlReaderConfig {
    const TYPE: &'static str = "jsonl_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_common(v, &self.paths, &self.lang);
        if self.text_field.is_empty() {
            v.error("text_field", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let files = expand_globs(&self.paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(StageImpl::Source(Box::new(JsonlReader {
            parser: Arc::new(Parser {
                text_field: self.text_field.clone(),
                lang: self.lang.clone(),
            }),
            on_error: self.on_error,
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct JsonlReader {
    parser: Arc<Parser>,
    on_error: OnError,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// Lines parsed together on the rayon pool: enough to amortise the fork/join, few enough
/// that a chunk's bytes (at most [`CHUNK_BYTES`]) stay small.
const CHUNK_LINES: usize = 2048;
/// Byte bound of one chunk, so a file of 50 MB lines is not buffered 2048 times over.
const CHUNK_BYTES: usize = 8 << 20;

/// Non-blank lines read but not yet parsed: their bytes back to back, with each line's
/// number, decompressed byte offset and end in `bytes`.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<(u64, u64, usize)>,
}

impl Chunk {
    fn push(&mut self, lines: &Lines) {
        self.bytes.extend_from_slice(&lines.buf);
        self.lines
            .push((lines.line, lines.offset, self.bytes.len()));
    }

    fn full(&self) -> bool {
        self.lines.len() >= CHUNK_LINES || self.bytes.len() >= CHUNK_BYTES
    }

    fn get(&self, i: usize) -> (u64, u64, &[u8]) {
        let start = if i == 0 { 0 } else { self.lines[i - 1].2 };
        let (line, offset, end) = self.lines[i];
        (line, offset, &self.bytes[start..end])
    }
}

/// What turns one line into a record (shared with the pool tasks that parse chunks).
struct Parser {
    text_field: String,
    lang: Option<String>,
}

type Parsed = Vec<Result<Record, DataError>>;

impl Parser {
    fn parse(
        &self,
        file: &Arc<str>,
        line: u64,
        offset: u64,
        raw: &[u8],
    ) -> Result<Record, DataError> {
        let at = |m: String| DataError::new(&**file, line, m);
        // SIMD validation on the hot path; std's error (with its position) only for a bad line.
        let text = match simdutf8::basic::from_utf8(raw) {
            Ok(t) => t,
            Err(_) => std::str::from_utf8(raw).map_err(|e| utf8_error_at(file, line, offset, e))?,
        };
        let mut rec = parse_record(text, &self.text_field).map_err(|e| match e {
            JsonRecordError::Malformed(e) => at(format!("malformed JSON: {e}")),
            JsonRecordError::NotObject(t) => at(format!("expected a JSON object, got {t}")),
            JsonRecordError::Field(m) => record_error(file, line, m),
        })?;
        if rec.id.is_empty() {
            rec.id = format!("{file}:{line}");
        }
        if rec.lang.is_none() {
            rec.lang = self.lang.clone();
        }
        rec.source = Some(Provenance {
            file: file.clone(),
            line,
        });
        Ok(rec)
    }

    /// Every line of a chunk, in line order (parsed in parallel).
    fn parse_chunk(&self, file: &Arc<str>, chunk: &Chunk) -> Parsed {
        (0..chunk.lines.len())
            .into_par_iter()
            .map(|i| {
                let (line, offset, raw) = chunk.get(i);
                self.parse(file, line, offset, raw)
            })
            .collect()
    }
}

/// A chunk handed to the pool; its records come back through `rx` with the chunk itself
/// (its lines are the excerpts of rejects). `None` means the parse panicked.
struct InFlight {
    file: Arc<str>,
    rx: Receiver<Option<(Chunk, Parsed)>>,
}

impl JsonlReader {
    /// Starts parsing `chunk` on the pool and returns at once, so the next chunk is read
    /// (and decompressed) while this one is parsed.
    fn launch(&self, file: &Arc<str>, chunk: Chunk) -> InFlight {
        let (tx, rx) = sync_channel(1);
        let (parser, f) = (self.parser.clone(), file.clone());
        rayon::spawn(move || {
            let parsed = catch_unwind(AssertUnwindSafe(|| parser.parse_chunk(&f, &chunk)));
            // The receiver is gone only when the run was cancelled.
            let _ = tx.send(parsed.ok().map(|p| (chunk, p)));
        });
        InFlight {
            file: file.clone(),
            rx,
        }
    }

    /// Waits for a launched chunk and emits its records in line order; returns the chunk,
    /// emptied, for reuse.
    fn emit(&self, job: InFlight, out: &mut Emitter) -> Result<Chunk, StageError> {
        let Ok(Some((mut chunk, parsed))) = job.rx.recv() else {
            return Err(StageError::msg(format!(
                "{}: the JSON parser stopped unexpectedly (a bug: please report it)",
                job.file
            )));
        };
        for (i, r) in parsed.into_iter().enumerate() {
            match r {
                Ok(rec) => out.keep(rec),
                Err(e) => self.on_error.bad(out, e, &lossy_excerpt(chunk.get(i).2))?,
            }
        }
        chunk.bytes.clear();
        chunk.lines.clear();
        Ok(chunk)
    }

    /// Launches the filled `chunk` and emits the one launched before it: at most two
    /// chunks are held, and records leave in line order.
    fn rotate(
        &self,
        file: &Arc<str>,
        chunk: &mut Chunk,
        pending: &mut Option<InFlight>,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        let full = std::mem::take(chunk);
        if let Some(prev) = pending.replace(self.launch(file, full)) {
            *chunk = self.emit(prev, out)?;
        }
        Ok(())
    }

    /// Emits everything read so far: the chunk in flight, then the one being filled.
    fn drain(
        &self,
        file: &Arc<str>,
        chunk: &mut Chunk,
        pending: &mut Option<InFlight>,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        if !chunk.lines.is_empty() {
            self.rotate(file, chunk, pending, out)?;
        }
        if let Some(last) = pending.take() {
            *chunk = self.emit(last, out)?;
        }
        Ok(())
    }
}

impl Source for JsonlReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        let mut chunk = Chunk::default();
        let mut pending = None;
        let meter = out.read_meter();
        meter.add_files(&self.files);
        for f in &self.files {
            let mut lines = Lines::open(f, &meter)?;
            loop {
                if out.cancelled() {
                    return Ok(());
                }
                match lines.advance() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        // Records before the bad spot go first, in order.
                        self.drain(&lines.file, &mut chunk, &mut pending, out)?;
                        if out.take_next() {
                            self.on_error.bad(out, e, "")?;
                        }
                        break;
                    }
                }
                if lines.is_blank() || !out.take_next() {
                    continue;
                }
                chunk.push(&lines);
                if chunk.full() {
                    self.rotate(&lines.file, &mut chunk, &mut pending, out)?;
                }
            }
            self.drain(&lines.file, &mut chunk, &mut pending, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    fn cfg(p: &std::path::Path, on_error: OnError) -> JsonlReaderConfig {
        JsonlReaderConfig {
            paths: vec![glob(p)],
            lang: Some("hau".into()),
            text_field: "text".into(),
            on_error,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("jsonl_reader.rs")),
            ["jsonl_reader"]
        );
    }

    #[test]
    fn objects_become_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.jsonl",
            br#"{"id":"x1","text":"Sannu","label":2,"tokens":["Sannu"]}

{"text":"Yaya","lang":"yor"}
{"body":"no text"}
"#,
        );
        let (recs, _) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].id, "x1");
        assert_eq!(recs[0].field("label"), Some(&serde_json::json!(2)));
        assert_eq!(recs[0].str_list("tokens"), Some(vec!["Sannu"]));
        assert_eq!(recs[0].lang.as_deref(), Some("hau"));
        assert_eq!(recs[1].id, format!("{}:3", glob(&p)));
        assert_eq!(recs[1].lang.as_deref(), Some("yor"));
        assert_eq!(recs[2].text, "");
        assert_eq!(recs[2].str_field("body"), Some("no text"));
    }

    #[test]
    fn custom_text_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.jsonl", br#"{"sentence":"A","text":"other"}"#);
        let mut c = cfg(&p, OnError::Fail);
        c.text_field = "sentence".into();
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(recs[0].text, "A");
        assert_eq!(recs[0].str_field("text"), Some("other"));
    }

    #[test]
    fn malformed_lines_fail_or_reject() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "bad.jsonl",
            b"{\"text\":\"ok\"}\n{\"text\": \"cut\n[1,2]\n{\"text\":5}\n{\"text\":\"\xff\"}\n",
        );
        let f = glob(&p);
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert!(
            e.starts_with(&format!(
                "{f}:2: malformed JSON: EOF while parsing a string"
            )),
            "{e}"
        );
        let (recs, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
        assert_eq!((recs.len(), c.rejected, c.records_in), (1, 4, 5));

        let p2 = write(dir.path(), "arr.jsonl", b"[1,2]\n");
        let e = err_text(run_reader(&cfg(&p2, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!("{}:1: expected a JSON object, got an array", glob(&p2))
        );
        let p3 = write(dir.path(), "num.jsonl", b"\n{\"text\":5}\n");
        let e = err_text(run_reader(&cfg(&p3, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:2: field `text`: must be a string, got a number",
                glob(&p3)
            )
        );
    }

    #[test]
    fn truncated_zst_and_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let body: String = (0..5000)
            .map(|i| format!("{{\"text\":\"row {i}\"}}\n"))
            .collect();
        let p = write_compressed(dir.path(), "a.jsonl.zst", body.as_bytes());
        assert_eq!(
            run_reader(&cfg(&p, OnError::Fail), dir.path())
                .unwrap()
                .0
                .len(),
            5000
        );
        truncate_half(&p);
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert!(e.contains("a.jsonl.zst:") && e.contains("truncated"), "{e}");
        let p = write(dir.path(), "empty.jsonl", b"");
        assert_eq!(
            run_reader(&cfg(&p, OnError::Fail), dir.path())
                .unwrap()
                .1
                .records_in,
            0
        );
    }

    #[test]
    fn a_50_mb_line_is_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let text = "ab ".repeat(50 * 1024 * 1024 / 3);
        let mut body = serde_json::to_vec(&serde_json::json!({"text": text})).unwrap();
        body.extend_from_slice(b"\n{\"text\":\"short\"}\n");
        let p = write(dir.path(), "big.jsonl", &body);
        let (recs, _) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text.len(), text.len());
        assert_eq!(recs[1].id, format!("{}:2", glob(&p)));
    }
}
