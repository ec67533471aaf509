//! `text_writer`: one record text per line, for humans and tools such as tokenizer
//! trainers. Line breaks inside a text (`\n`, `\r`, U+2028, U+2029, NEL, VT, FF) are
//! replaced by a space so that line `k` is always record `k`. `.zst`/`.gz` compress.
//!
//! ```toml
//! [stages.raw]
//! type = "jsonl_reader"
//! paths = ["data/*.jsonl"]
//!
//! [stages.txt]
//! type = "text_writer"
//! inputs = ["raw"]
//! path = "corpus.txt"
//! ```

use super::{one_line, validate_path, Output};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Writes one record text per line.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TextWriterConfig {
    /// Output file; relative paths go under the run directory. `.zst`/`.gz` compress.
    pub path: String,
}

impl StageConfig for TextWriterConfig {
    const TYPE: &'static str = "text_writer";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_path(v, &self.path);
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(TextWriter {
            out: Output::new(ctx.output_path(&self.path), 3),
        })))
    }
}

/// The runtime writer.
pub struct TextWriter {
    out: Output,
}

impl Stage for TextWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            self.out.write_all(one_line(&r.text).as_bytes())?;
            self.out.write_all(b"\n")?;
            out.keep(r);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        self.out.commit()
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.out.written()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::check_example;
    use crate::write::test_util::run_writer;
    use mavuno_pipeline::Record;

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("text_writer.rs")),
            ["jsonl_reader", "text_writer"]
        );
    }

    #[test]
    fn one_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![
            Record::new("a", "two\nlines\r\nhere"),
            Record::new("b", ""),
            Record::new("c", "Ẹ kú\u{2028}àárọ̀"),
        ];
        let (passed, _, outputs) = run_writer(
            &TextWriterConfig {
                path: "t.txt.zst".into(),
            },
            dir.path(),
            &recs,
        );
        assert_eq!(passed, recs);
        let text =
            String::from_utf8(zstd::decode_all(std::fs::File::open(&outputs[0]).unwrap()).unwrap())
                .unwrap();
        assert_eq!(text, "two lines  here\n\nẸ kú àárọ̀\n");
    }
}
