//! `text_reader`: plain text files, one record per line or per paragraph.
//!
//! In `line` mode every non-blank line is a record; blank (empty or whitespace-only)
//! lines are not records and are not counted. In `paragraph` mode records are separated by
//! blank lines, the lines of a paragraph are joined with `\n`, and the record's line is
//! the paragraph's first line. Ids are `<file>:<line>`. Lines have no length cap but are
//! streamed (a 50 MB line is read once, never a whole file). Invalid UTF-8 names the file,
//! line and byte offset.
//!
//! ```toml
//! [stages.raw]
//! type = "text_reader"
//! paths = ["corpus/yor/*.txt.zst"]
//! lang = "yor"
//! mode = "line"
//! on_error = "reject"
//! ```

use super::{validate_common, Lines, OnError};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a text file is split into records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum TextMode {
    /// One record per non-blank line.
    #[default]
    Line,
    /// One record per blank-line-separated paragraph.
    Paragraph,
}

/// Reads plain text files (`.zst`/`.gz` transparently), one record per line or paragraph.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TextReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language of the records, if known.
    #[serde(default)]
    pub lang: Option<String>,
    /// `line`: one record per non-blank line; `paragraph`: blank-line separated.
    #[serde(default)]
    pub mode: TextMode,
    /// Bad input (invalid UTF-8, truncated file): `fail` stops the run, `reject` writes it
    /// to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for TextReaderConfig {
    const TYPE: &'static str = "text_reader";
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
        Ok(StageImpl::Source(Box::new(TextReader {
            cfg: self.clone(),
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct TextReader {
    cfg: TextReaderConfig,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// A paragraph being collected.
struct Para {
    first_line: u64,
    text: String,
    /// The first problem in the paragraph, if any (reported when it ends).
    bad: Option<(DataError, String)>,
}

impl TextReader {
    fn record(&self, file: &std::sync::Arc<str>, line: u64, text: String) -> Record {
        Record {
            id: format!("{file}:{line}"),
            text,
            lang: self.cfg.lang.clone(),
            source: Some(Provenance {
                file: file.clone(),
                line,
            }),
            ..Record::default()
        }
    }

    fn read_lines(&self, lines: &mut Lines, out: &mut Emitter) -> Result<(), StageError> {
        loop {
            if out.cancelled() {
                return Ok(());
            }
            match lines.advance() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    if out.take_next() {
                        self.cfg.on_error.bad(out, e, "")?;
                    }
                    return Ok(());
                }
            }
            if lines.is_blank() || !out.take_next() {
                continue;
            }
            match lines.text() {
                Ok(t) => {
                    let rec = self.record(&lines.file, lines.line, t.to_string());
                    out.keep(rec);
                }
                Err(e) => self.cfg.on_error.bad(out, e, &lines.lossy())?,
            }
        }
    }

    fn end_paragraph(
        &self,
        p: Option<Para>,
        file: &std::sync::Arc<str>,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        let Some(p) = p else { return Ok(()) };
        if !out.take_next() {
            return Ok(());
        }
        match p.bad {
            Some((e, raw)) => self.cfg.on_error.bad(out, e, &raw),
            None => {
                let rec = self.record(file, p.first_line, p.text);
                out.keep(rec);
                Ok(())
            }
        }
    }

    fn read_paragraphs(&self, lines: &mut Lines, out: &mut Emitter) -> Result<(), StageError> {
        let mut para: Option<Para> = None;
        loop {
            if out.cancelled() {
                return Ok(());
            }
            match lines.advance() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // The paragraph in progress is cut short: report the truncation as its error.
                    let raw = para.as_ref().map(|p| p.text.clone()).unwrap_or_default();
                    if out.take_next() {
                        self.cfg.on_error.bad(out, e, &raw)?;
                    }
                    return Ok(());
                }
            }
            if lines.is_blank() {
                self.end_paragraph(para.take(), &lines.file, out)?;
                continue;
            }
            let p = para.get_or_insert_with(|| Para {
                first_line: lines.line,
                text: String::new(),
                bad: None,
            });
            if p.bad.is_some() {
                continue;
            }
            match lines.text() {
                Ok(t) => {
                    if !p.text.is_empty() {
                        p.text.push('\n');
                    }
                    p.text.push_str(t);
                }
                Err(e) => p.bad = Some((e, lines.lossy())),
            }
        }
        self.end_paragraph(para, &lines.file, out)
    }
}

impl Source for TextReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        let meter = out.read_meter();
        meter.add_files(&self.files);
        for f in &self.files {
            let mut lines = Lines::open(f, &meter)?;
            match self.cfg.mode {
                TextMode::Line => self.read_lines(&mut lines, out)?,
                TextMode::Paragraph => self.read_paragraphs(&mut lines, out)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    fn cfg(paths: Vec<String>, mode: TextMode, on_error: OnError) -> TextReaderConfig {
        TextReaderConfig {
            paths,
            lang: Some("yor".into()),
            mode,
            on_error,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("text_reader.rs")),
            ["text_reader"]
        );
    }

    #[test]
    fn lines_skip_blanks_and_keep_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.txt",
            "Ẹ kú àárọ̀\n\n  \nsecond\r\nthird".as_bytes(),
        );
        let (recs, c) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
            dir.path(),
        )
        .unwrap();
        let got: Vec<(&str, &str)> = recs
            .iter()
            .map(|r| (r.id.as_str(), r.text.as_str()))
            .collect();
        let f = glob(&p);
        assert_eq!(
            got,
            [
                (format!("{f}:1").as_str(), "Ẹ kú àárọ̀"),
                (format!("{f}:4").as_str(), "second"),
                (format!("{f}:5").as_str(), "third")
            ]
        );
        assert_eq!(recs[0].lang.as_deref(), Some("yor"));
        assert_eq!(recs[1].source.as_ref().unwrap().line, 4);
        assert_eq!(c.records_in, 3);
    }

    #[test]
    fn paragraphs_join_lines_and_use_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.txt", b"\n\na b\nc\n\n\nd\n");
        let (recs, _) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Paragraph, OnError::Fail),
            dir.path(),
        )
        .unwrap();
        let got: Vec<(u64, &str)> = recs
            .iter()
            .map(|r| (r.source.as_ref().unwrap().line, r.text.as_str()))
            .collect();
        assert_eq!(got, [(3, "a b\nc"), (7, "d")]);
    }

    #[test]
    fn invalid_utf8_fails_or_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "bad.txt", b"ok\nab\xc3(\nfine\n");
        let e = err_text(run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
            dir.path(),
        ));
        assert_eq!(
            e,
            format!(
                "{}:2: invalid UTF-8 at byte offset 5 (column byte 3)",
                glob(&p)
            )
        );
        let (recs, c) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Reject),
            dir.path(),
        )
        .unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!((c.rejected, c.records_in), (1, 3));
        let (recs, c) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Paragraph, OnError::Reject),
            dir.path(),
        )
        .unwrap();
        assert_eq!((recs.len(), c.rejected), (0, 1));
    }

    #[test]
    fn empty_file_gives_no_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "empty.txt", b"");
        let (recs, c) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
            dir.path(),
        )
        .unwrap();
        assert!(recs.is_empty());
        assert_eq!(c.records_in, 0);
    }

    #[test]
    fn compressed_files_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let body: String = (0..20000)
            .map(|i| format!("line number {i} with some words\n"))
            .collect();
        for name in ["a.txt.zst", "a.txt.gz"] {
            let p = write_compressed(dir.path(), name, body.as_bytes());
            let (recs, _) = run_reader(
                &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
                dir.path(),
            )
            .unwrap();
            assert_eq!(recs.len(), 20000, "{name}");
            assert_eq!(recs[19999].text, "line number 19999 with some words");
            truncate_half(&p);
            let e = err_text(run_reader(
                &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
                dir.path(),
            ));
            assert!(
                e.starts_with(&format!("{}:", glob(&p)))
                    && e.contains("read error:")
                    && e.contains("truncated"),
                "{name}: {e}"
            );
            eprintln!("{name}: {e}");
            let (recs, c) = run_reader(
                &cfg(vec![glob(&p)], TextMode::Line, OnError::Reject),
                dir.path(),
            )
            .unwrap();
            assert_eq!(c.rejected, 1, "{name}");
            assert!(!recs.is_empty() && recs.len() < 20000, "{name}");
        }
    }

    #[test]
    fn a_50_mb_line_is_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut big = "ab ".repeat(50 * 1024 * 1024 / 3).into_bytes();
        big.extend_from_slice(b"\nshort\n");
        let p = write(dir.path(), "big.txt", &big);
        let (recs, _) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
            dir.path(),
        )
        .unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text.len(), 50 * 1024 * 1024 / 3 * 3);
        assert_eq!(recs[1].text, "short");
    }

    #[test]
    fn record_sharding_splits_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.txt", b"1\n2\n3\n4\n5\n");
        let mut ctx = BuildContext::for_tests(dir.path());
        ctx.shard = Some(mavuno_pipeline::stage::Shard {
            index: 1,
            count: 2,
            by_file: false,
        });
        let StageImpl::Source(mut s) = cfg(vec![glob(&p)], TextMode::Line, OnError::Fail)
            .build(&ctx)
            .unwrap()
        else {
            panic!()
        };
        let mut out = Emitter::collecting(2);
        s.run(&mut out).unwrap();
        let got: Vec<String> = out.take_collected().into_iter().map(|r| r.text).collect();
        assert_eq!(got, ["2", "4"]);
    }

    #[test]
    fn udhr_paragraph_file_reads() {
        // The UDHR TSV is one paragraph per line: line mode gives one record per row.
        let p = shared_data("udhr/udhr_paragraphs.tsv");
        let dir = tempfile::tempdir().unwrap();
        let (recs, _) = run_reader(
            &cfg(vec![glob(&p)], TextMode::Line, OnError::Fail),
            dir.path(),
        )
        .unwrap();
        assert_eq!(recs.len(), 700);
    }

    #[test]
    fn missing_glob_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let pat = format!("{}/nope/*.txt", dir.path().display());
        let e = err_text(run_reader(
            &cfg(vec![pat.clone()], TextMode::Line, OnError::Fail),
            dir.path(),
        ));
        assert_eq!(e, format!("no file matches \"{pat}\""));
    }

    #[test]
    fn validation_messages() {
        let mut v = mavuno_pipeline::config::Validator::default();
        let c = TextReaderConfig {
            paths: vec![],
            lang: Some("yo".into()),
            mode: TextMode::Line,
            on_error: OnError::Fail,
        };
        StageConfig::validate(&c, &mut v);
        let got: Vec<(String, String)> =
            v.errors.into_iter().map(|f| (f.field, f.message)).collect();
        assert_eq!(
            got,
            [
                ("paths".into(), "must list at least one file or glob".into()),
                (
                    "lang".into(),
                    "must be an ISO 639-3 code (three lowercase letters), got \"yo\"".into()
                )
            ]
        );
    }
}
