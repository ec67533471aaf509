//! `conll_reader`: CoNLL-2003-style token-per-line files (MasakhaNER, MasakhaPOS):
//! a token and tag columns separated by whitespace or tabs, sentences separated by blank
//! lines, `-DOCSTART-` lines skipped.
//!
//! One record per sentence: `text` is the tokens joined by one space; fields `tokens`,
//! `<tag_name>` (`ner_tags` or `pos_tags`, the tag column as strings) and
//! `token_offsets` (`[[start, end], …]`, byte offsets of each token in `text`). The
//! record's line is the sentence's first line; ids are `<file>:<line>`. Every line of a
//! sentence must have as many columns as its first line; a line that does not is bad input
//! (under `reject` the whole sentence is rejected).
//!
//! ```toml
//! [stages.ner]
//! type = "conll_reader"
//! paths = ["masakhaner2/yor/train.txt"]
//! lang = "yor"
//! tag_name = "ner_tags"
//! ```

use super::blocks::{read_blocks, BlockFormat};
use super::{validate_common, Lines, OnError};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

fn default_tag_name() -> String {
    "ner_tags".into()
}

/// Reads CoNLL token/tag columns into one record per sentence.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ConllReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language of the records, if known.
    #[serde(default)]
    pub lang: Option<String>,
    /// 0-based column holding the tag (default: the last column). The token is column 0.
    #[serde(default)]
    pub tag_column: Option<usize>,
    /// The field the tags go to: `ner_tags` or `pos_tags`.
    #[serde(default = "default_tag_name")]
    pub tag_name: String,
    /// Bad input (wrong column count, invalid UTF-8, truncated file): `fail` stops the
    /// run, `reject` writes the sentence to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for ConllReaderConfig {
    const TYPE: &'static str = "conll_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_common(v, &self.paths, &self.lang);
        if self.tag_name != "ner_tags" && self.tag_name != "pos_tags" {
            v.error(
                "tag_name",
                format!(
                    "must be \"ner_tags\" or \"pos_tags\", got \"{}\"",
                    self.tag_name
                ),
            );
        }
        if self.tag_column == Some(0) {
            v.error("tag_column", "must be at least 1 (column 0 is the token)");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let files = expand_globs(&self.paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(StageImpl::Source(Box::new(ConllReader {
            cfg: self.clone(),
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct ConllReader {
    cfg: ConllReaderConfig,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// A sentence being collected.
#[derive(Default)]
pub(crate) struct Sentence {
    first_line: u64,
    ncols: usize,
    tokens: Vec<String>,
    tags: Vec<String>,
    /// The first problem in the sentence, reported when it ends.
    bad: Option<(DataError, String)>,
}

/// Joins tokens with single spaces; returns the text and each token's byte span.
pub(crate) fn join_tokens(tokens: &[String]) -> (String, Vec<Value>) {
    let mut text = String::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
    let mut offsets = Vec::with_capacity(tokens.len());
    for t in tokens {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(t);
        offsets.push(json!([start, text.len()]));
    }
    (text, offsets)
}

impl BlockFormat for ConllReader {
    type Block = Sentence;

    fn start(&self, line: u64) -> Sentence {
        Sentence {
            first_line: line,
            ..Sentence::default()
        }
    }

    fn skip(&self, line: &[u8]) -> bool {
        line.starts_with(b"-DOCSTART-")
    }

    fn on_error(&self) -> OnError {
        self.cfg.on_error
    }

    fn add_line(&self, s: &mut Sentence, lines: &Lines) {
        if s.bad.is_some() {
            return;
        }
        let line = match lines.text() {
            Ok(t) => t,
            Err(e) => {
                s.bad = Some((e, lines.lossy()));
                return;
            }
        };
        let cols: Vec<&str> = line.split_whitespace().collect();
        if s.tokens.is_empty() {
            s.ncols = cols.len();
        }
        let tag_col = self.cfg.tag_column.unwrap_or(s.ncols.saturating_sub(1));
        let err = if cols.len() != s.ncols {
            Some(format!(
                "expected {} columns like the sentence's first line {}, got {}",
                s.ncols,
                s.first_line,
                cols.len()
            ))
        } else if cols.len() < 2 || tag_col >= cols.len() {
            Some(format!(
                "expected a token and a tag in column {tag_col}, got {} column(s)",
                cols.len()
            ))
        } else {
            None
        };
        if let Some(m) = err {
            s.bad = Some((
                DataError::new(&*lines.file, lines.line, m),
                line.to_string(),
            ));
            return;
        }
        s.tokens.push(cols[0].to_string());
        s.tags.push(cols[tag_col].to_string());
    }

    fn end(
        &self,
        s: Option<Sentence>,
        file: &Arc<str>,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        let Some(s) = s else { return Ok(()) };
        if !out.take_next() {
            return Ok(());
        }
        if let Some((e, raw)) = s.bad {
            return self.cfg.on_error.bad(out, e, &raw);
        }
        let (text, offsets) = join_tokens(&s.tokens);
        let mut rec = Record {
            id: format!("{file}:{}", s.first_line),
            text,
            lang: self.cfg.lang.clone(),
            source: Some(Provenance {
                file: file.clone(),
                line: s.first_line,
            }),
            ..Record::default()
        };
        rec.set("tokens", s.tokens);
        rec.set(self.cfg.tag_name.clone(), s.tags);
        rec.set("token_offsets", offsets);
        out.keep(rec);
        Ok(())
    }
}

impl Source for ConllReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        read_blocks(&*self, &self.files, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    pub(crate) fn cfg(p: &std::path::Path, on_error: OnError) -> ConllReaderConfig {
        ConllReaderConfig {
            paths: vec![glob(p)],
            lang: Some("yor".into()),
            tag_column: None,
            tag_name: "ner_tags".into(),
            on_error,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("conll_reader.rs")),
            ["conll_reader"]
        );
    }

    #[test]
    fn sentences_tokens_tags_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.txt",
            "-DOCSTART- O\n\nỌlọ́run B-PER\nni\tO\n\n\nA O\n".as_bytes(),
        );
        let (recs, _) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text, "Ọlọ́run ni");
        assert_eq!(recs[0].str_list("ner_tags"), Some(vec!["B-PER", "O"]));
        assert_eq!(
            recs[0].field("token_offsets"),
            Some(&json!([[0, 12], [13, 15]]))
        );
        assert_eq!(recs[0].id, format!("{}:3", glob(&p)));
        assert_eq!(recs[1].source.as_ref().unwrap().line, 7);
    }

    #[test]
    fn tag_column_picks_a_middle_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.txt",
            b"EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n",
        );
        let mut c = cfg(&p, OnError::Fail);
        c.tag_column = Some(1);
        c.tag_name = "pos_tags".into();
        let (recs, _) = run_reader(&c, dir.path()).unwrap();
        assert_eq!(recs[0].str_list("pos_tags"), Some(vec!["NNP", "VBZ"]));
    }

    #[test]
    fn wrong_column_count_fails_or_rejects_the_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "bad.txt", b"a O\nb\nc O\n\nd O\n\ne \xff\n");
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:2: expected 2 columns like the sentence's first line 1, got 1",
                glob(&p)
            )
        );
        let (recs, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
        assert_eq!((recs.len(), c.rejected), (1, 2));
        assert_eq!(recs[0].text, "d");
        let p = write(dir.path(), "one.txt", b"a\nb\n");
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:1: expected a token and a tag in column 0, got 1 column(s)",
                glob(&p)
            )
        );
    }

    #[test]
    fn empty_and_truncated_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "e.txt", b"");
        assert_eq!(
            run_reader(&cfg(&p, OnError::Fail), dir.path())
                .unwrap()
                .1
                .records_in,
            0
        );
        let body: String = (0..20000).map(|i| format!("w{i} O\nx B-PER\n\n")).collect();
        let p = write_compressed(dir.path(), "t.txt.gz", body.as_bytes());
        truncate_half(&p);
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert!(e.contains("t.txt.gz:") && e.contains("truncated"), "{e}");
        let (_, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
        assert_eq!(c.rejected, 1);
    }

    #[test]
    fn masakhaner_round_trip_through_conll_writer() {
        let src = shared_data("masakhaner2/yor/dev.txt");
        let dir = tempfile::tempdir().unwrap();
        let (recs, _) = run_reader(&cfg(&src, OnError::Fail), dir.path()).unwrap();
        assert!(recs.len() > 100);
        let written = crate::write::conll_writer::tests::write_records(
            dir.path(),
            "ner.conll",
            &recs,
            "ner_tags",
        );
        let (back, _) = run_reader(&cfg(&written, OnError::Fail), dir.path()).unwrap();
        assert_eq!(back.len(), recs.len());
        for (a, b) in recs.iter().zip(&back) {
            assert_eq!(a.field("tokens"), b.field("tokens"));
            assert_eq!(a.field("ner_tags"), b.field("ner_tags"));
            assert_eq!(a.text, b.text);
        }
    }
}
