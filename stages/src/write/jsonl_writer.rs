//! `jsonl_writer`: one JSON object per record ([`Record::to_json`]: `id`, `text`,
//! `lang`, `source`, then every field), `.jsonl` or zstd-compressed `.jsonl.zst` (by
//! extension; `.gz` works too). `jsonl_reader` reads the output back.
//!
//! ```toml
//! [stages.raw]
//! type = "text_reader"
//! paths = ["corpus/yor/*.txt"]
//!
//! [stages.out]
//! type = "jsonl_writer"
//! inputs = ["raw"]
//! path = "yor.jsonl.zst"
//! zstd_level = 3
//! ```

use super::{validate_path, Output};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

fn default_level() -> i32 {
    3
}

/// Writes records as JSON Lines (`.jsonl`, `.jsonl.zst` or `.jsonl.gz`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct JsonlWriterConfig {
    /// Output file; relative paths go under the run directory. `.zst`/`.gz` compress.
    pub path: String,
    /// zstd level for `.zst` outputs, 1–22.
    #[serde(default = "default_level")]
    pub zstd_level: i32,
}

impl StageConfig for JsonlWriterConfig {
    const TYPE: &'static str = "jsonl_writer";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_path(v, &self.path);
        v.range("zstd_level", self.zstd_level, 1, 22);
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(JsonlWriter {
            out: Output::new(ctx.output_path(&self.path), self.zstd_level),
        })))
    }
}

/// The runtime writer.
pub struct JsonlWriter {
    out: Output,
}

impl JsonlWriter {
    fn write(&mut self, r: &Record) -> Result<(), StageError> {
        let mut line = serde_json::to_vec(&r)
            .map_err(|e| StageError::context(format!("record {}", r.id), e))?;
        line.push(b'\n');
        self.out.write_all(&line)
    }
}

impl Stage for JsonlWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            self.write(&r)?;
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
    use crate::read::jsonl_reader::JsonlReaderConfig;
    use crate::read::test_util::{check_example, glob, run_reader};
    use crate::read::OnError;
    use crate::write::test_util::{run_writer, try_run_writer};

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("jsonl_writer.rs")),
            ["text_reader", "jsonl_writer"]
        );
    }

    fn records() -> Vec<Record> {
        (0..5)
            .map(|i| {
                let mut r = Record::new(format!("r{i}"), format!("Ẹ kú {i}\nline two"));
                r.lang = Some("yor".into());
                r.set("label", i);
                r.set("tokens", vec!["a", "b"]);
                r
            })
            .collect()
    }

    #[test]
    fn round_trips_plain_and_zstd() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["out.jsonl", "sub/out.jsonl.zst"] {
            let cfg = JsonlWriterConfig {
                path: name.into(),
                zstd_level: 3,
            };
            let (passed, rejected, outputs) = run_writer(&cfg, dir.path(), &records());
            assert_eq!((passed.len(), rejected), (5, 0));
            assert_eq!(outputs, [dir.path().join(name)]);
            assert!(!dir.path().join(format!("{name}.partial")).exists());
            let rc = JsonlReaderConfig {
                paths: vec![glob(&outputs[0])],
                lang: None,
                text_field: "text".into(),
                on_error: OnError::Fail,
            };
            let (back, _) = run_reader(&rc, dir.path()).unwrap();
            for (a, b) in records().iter().zip(&back) {
                assert_eq!(
                    (&a.id, &a.text, &a.lang, &a.fields),
                    (&b.id, &b.text, &b.lang, &b.fields)
                );
            }
        }
        let first = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
        assert_eq!(
            first.lines().next().unwrap(),
            r#"{"id":"r0","label":0,"lang":"yor","text":"Ẹ kú 0\nline two","tokens":["a","b"]}"#
        );
    }

    #[test]
    fn empty_input_writes_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = JsonlWriterConfig {
            path: "e.jsonl".into(),
            zstd_level: 3,
        };
        let (_, _, outputs) = run_writer(&cfg, dir.path(), &[]);
        assert_eq!(std::fs::read(&outputs[0]).unwrap(), b"");
    }

    #[test]
    fn unwritable_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blocker"), b"").unwrap();
        let cfg = JsonlWriterConfig {
            path: "blocker/out.jsonl".into(),
            zstd_level: 3,
        };
        let e = try_run_writer(&cfg, dir.path(), &records()).unwrap_err();
        assert!(
            e.starts_with(&dir.path().join("blocker").display().to_string()),
            "{e}"
        );
    }

    #[test]
    fn validation_messages() {
        let mut v = mavuno_pipeline::config::Validator::default();
        StageConfig::validate(
            &JsonlWriterConfig {
                path: " ".into(),
                zstd_level: 30,
            },
            &mut v,
        );
        let got: Vec<(String, String)> =
            v.errors.into_iter().map(|f| (f.field, f.message)).collect();
        assert_eq!(
            got,
            [
                ("path".into(), "must not be empty".into()),
                ("zstd_level".into(), "must be in [1, 22], got 30".into())
            ]
        );
    }
}
