//! `conll_writer`: CoNLL token-per-line files: `token<TAB>tag`, a blank line after each
//! sentence. Tokens come from the `tokens` field and tags from `tag_field` (`ner_tags` by
//! default); `conll_reader` reads the output back. Whitespace inside a token is replaced
//! by `_` (it would split the column) and an empty token or tag is written as `_`. A
//! record without `tokens`/tags, or with a different number of tags than tokens, is rejected (not
//! written, not passed on) with an error naming the record and field.
//!
//! ```toml
//! [stages.ner]
//! type = "conll_reader"
//! paths = ["masakhaner2/yor/train.txt"]
//!
//! [stages.out]
//! type = "conll_writer"
//! inputs = ["ner"]
//! path = "yor-ner.conll"
//! tag_field = "ner_tags"
//! ```

use super::{validate_path, Output};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

fn default_tag_field() -> String {
    "ner_tags".into()
}

/// Writes tokens and one tag column in CoNLL format.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ConllWriterConfig {
    /// Output file; relative paths go under the run directory. `.zst`/`.gz` compress.
    pub path: String,
    /// The field holding one tag per token (`ner_tags`, `pos_tags` …).
    #[serde(default = "default_tag_field")]
    pub tag_field: String,
}

impl StageConfig for ConllWriterConfig {
    const TYPE: &'static str = "conll_writer";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_path(v, &self.path);
        if self.tag_field.is_empty() {
            v.error("tag_field", "must not be empty");
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(ConllWriter {
            out: Output::new(ctx.output_path(&self.path), 3),
            tag_field: self.tag_field.clone(),
        })))
    }
}

/// The runtime writer.
pub struct ConllWriter {
    out: Output,
    tag_field: String,
}

/// A column value: whitespace replaced by `_`, empty as `_`.
pub(crate) fn cell(s: &str) -> String {
    if s.is_empty() {
        "_".into()
    } else if s.contains(char::is_whitespace) {
        s.replace(char::is_whitespace, "_")
    } else {
        s.to_string()
    }
}

/// A list field as strings (numbers are written as numbers), or an error message.
pub(crate) fn str_column(r: &Record, key: &str) -> Result<Vec<String>, String> {
    let Some(v) = r.field(key) else {
        return Err(format!("field `{key}`: missing"));
    };
    let Some(arr) = v.as_array() else {
        return Err(format!("field `{key}`: must be a list"));
    };
    arr.iter()
        .map(|x| match x {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Null => Ok(String::new()),
            _ => Err(format!("field `{key}`: items must be strings or numbers")),
        })
        .collect()
}

impl ConllWriter {
    fn sentence(&self, r: &Record) -> Result<Vec<u8>, String> {
        let tokens = str_column(r, "tokens")?;
        let tags = str_column(r, &self.tag_field)?;
        if tokens.len() != tags.len() {
            return Err(format!(
                "field `{}`: {} tags for {} tokens",
                self.tag_field,
                tags.len(),
                tokens.len()
            ));
        }
        let mut buf = Vec::new();
        for (t, g) in tokens.iter().zip(&tags) {
            buf.extend_from_slice(cell(t).as_bytes());
            buf.push(b'\t');
            buf.extend_from_slice(cell(g).as_bytes());
            buf.push(b'\n');
        }
        buf.push(b'\n');
        Ok(buf)
    }
}

impl Stage for ConllWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            match self.sentence(&r) {
                Ok(b) if b.len() > 1 => {
                    self.out.write_all(&b)?;
                    out.keep(r);
                }
                // An empty sentence would read back as nothing: pass it on, write nothing.
                Ok(_) => out.keep(r),
                Err(m) => out.reject(r, m),
            }
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
pub(crate) mod tests {
    use super::*;
    use crate::read::test_util::check_example;
    use crate::write::test_util::run_writer;
    use std::path::Path;

    /// Writes records with `conll_writer` (used by the reader's round-trip test).
    pub(crate) fn write_records(
        dir: &Path,
        name: &str,
        recs: &[Record],
        tag_field: &str,
    ) -> PathBuf {
        let cfg = ConllWriterConfig {
            path: name.into(),
            tag_field: tag_field.into(),
        };
        let (_, rejected, outputs) = run_writer(&cfg, dir, recs);
        assert_eq!(rejected, 0);
        outputs[0].clone()
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("conll_writer.rs")),
            ["conll_reader", "conll_writer"]
        );
    }

    #[test]
    fn writes_sentences_and_rejects_bad_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Record::new("a", "New York is");
        a.set("tokens", vec!["New York", "is"]);
        a.set("ner_tags", vec!["B-LOC", "O"]);
        let mut b = Record::new("b", "x");
        b.set("tokens", vec!["x"]);
        b.set("ner_tags", vec!["O", "O"]);
        let c = Record::new("c", "no tokens");
        let cfg = ConllWriterConfig {
            path: "o.conll".into(),
            tag_field: "ner_tags".into(),
        };
        let (passed, rejected, outputs) = run_writer(&cfg, dir.path(), &[a, b, c]);
        assert_eq!((passed.len(), rejected), (1, 2));
        assert_eq!(
            std::fs::read_to_string(&outputs[0]).unwrap(),
            "New_York\tB-LOC\nis\tO\n\n"
        );
    }
}
