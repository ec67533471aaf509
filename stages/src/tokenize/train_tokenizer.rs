//! `train_tokenizer`: trains a BPE, WordPiece or Unigram tokenizer on the texts that
//! flow through and writes a Hugging Face `tokenizer.json` to `path`. A barrier: records
//! are spilled to the scratch directory and passed through unchanged after training, so
//! downstream stages (such as `plan_masks`) see the file before their first batch.
//!
//! ```toml
//! [stages.tok]
//! type = "train_tokenizer"
//! inputs = ["clean"]
//! model = "unigram"
//! vocab_size = 8000
//! path = "tokenizer.json"
//! ```
//!
//! Counters: `tokenizer_training_texts_total`.
use crate::curriculum::spill::Spill;
use crate::tokenize::{train, ModelType};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

fn default_vocab() -> usize {
    8000
}
fn default_min_frequency() -> u64 {
    2
}

/// Trains a subword tokenizer on the records' text.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TrainTokenizerConfig {
    /// Model: `bpe`, `wordpiece` or `unigram`.
    pub model: ModelType,
    /// Vocabulary size including the 5 special tokens (default 8000; at least 16).
    #[serde(default = "default_vocab")]
    pub vocab_size: usize,
    /// Minimum pair/word frequency for BPE and WordPiece merges (default 2).
    #[serde(default = "default_min_frequency")]
    pub min_frequency: u64,
    /// Output `tokenizer.json`; relative paths go under the run directory.
    pub path: String,
}

impl StageConfig for TrainTokenizerConfig {
    const TYPE: &'static str = "train_tokenizer";
    const KIND: StageKind = StageKind::Barrier;

    fn validate(&self, v: &mut Validator) {
        v.at_least("vocab_size", self.vocab_size, 16);
        if self.path.is_empty() {
            v.error("path", "must not be empty");
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(TrainTokenizer {
            cfg: self.clone(),
            out_path: ctx.output_path(&self.path),
            records: Spill::create(&ctx.scratch_dir, "records.jsonl.zst")?,
            texts_path: ctx.scratch_dir.join("texts.txt"),
            texts: None,
            batch_size: ctx.batch_size,
            scratch: ctx.scratch_dir.clone(),
        })))
    }
}

/// The runtime stage.
pub struct TrainTokenizer {
    cfg: TrainTokenizerConfig,
    out_path: PathBuf,
    records: Spill,
    texts_path: PathBuf,
    texts: Option<BufWriter<std::fs::File>>,
    batch_size: usize,
    scratch: PathBuf,
}

impl Stage for TrainTokenizer {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        if self.texts.is_none() {
            std::fs::create_dir_all(&self.scratch).map_err(|e| StageError::io(&self.scratch, e))?;
            let f = std::fs::File::create(&self.texts_path)
                .map_err(|e| StageError::io(&self.texts_path, e))?;
            self.texts = Some(BufWriter::new(f));
        }
        let mut n = 0;
        for r in &batch {
            self.records.push(r)?;
            if let Some(w) = self.texts.as_mut() {
                // One text per line: newlines inside a record become spaces.
                for (k, line) in r.text.lines().enumerate() {
                    let sep: &[u8] = if k == 0 { b"" } else { b" " };
                    w.write_all(sep)
                        .and_then(|_| w.write_all(line.as_bytes()))
                        .map_err(|e| StageError::io(&self.texts_path, e))?;
                }
                w.write_all(b"\n")
                    .map_err(|e| StageError::io(&self.texts_path, e))?;
            }
            n += 1;
        }
        out.counter("tokenizer_training_texts_total", n);
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        if let Some(mut w) = self.texts.take() {
            w.flush().map_err(|e| StageError::io(&self.texts_path, e))?;
        }
        let file = std::fs::File::open(&self.texts_path).ok();
        let lines: Box<dyn Iterator<Item = String> + Send> = match file {
            Some(f) => Box::new(std::io::BufReader::new(f).lines().map_while(Result::ok)),
            None => Box::new(std::iter::empty()),
        };
        let tk = train(
            self.cfg.model,
            self.cfg.vocab_size,
            self.cfg.min_frequency,
            lines,
        )
        .map_err(|e| StageError::context("training the tokenizer", e))?;
        let json = tk
            .to_string(true)
            .map_err(|e| StageError::context(self.out_path.display().to_string(), e))?;
        mavuno_pipeline::io::write_atomic(&self.out_path, json.as_bytes())?;
        self.records.replay(self.batch_size, |b| {
            for r in b {
                out.keep(r);
            }
            Ok(())
        })
    }

    fn outputs(&self) -> Vec<PathBuf> {
        vec![self.out_path.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavuno_pipeline::Record;

    fn example() -> TrainTokenizerConfig {
        crate::testutil::doc_example(include_str!("train_tokenizer.rs"))
    }

    #[test]
    fn example_parses_and_validates() {
        let c = example();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
        let mut bad = c.clone();
        bad.vocab_size = 3;
        let mut v = Validator::default();
        bad.validate(&mut v);
        assert_eq!(v.errors[0].message, "must be at least 16, got 3");
    }

    #[test]
    fn trains_writes_and_passes_records_through() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = BuildContext::for_tests(dir.path());
        let cfg = TrainTokenizerConfig {
            model: ModelType::Bpe,
            vocab_size: 60,
            min_frequency: 1,
            path: "tok.json".into(),
        };
        let StageImpl::Stage(mut s) = cfg.build(&ctx).unwrap() else {
            panic!()
        };
        let mut out = Emitter::collecting(2);
        let recs: Vec<Record> = ["ශ්‍රී ලංකාව", "தமிழ் மொழி", "àárọ̀ ọ̀rẹ́", "ලංකාව ලස්සන"]
            .iter()
            .enumerate()
            .map(|(i, t)| Record::new(i.to_string(), *t))
            .collect();
        s.process(recs[..3].to_vec(), &mut out).unwrap();
        s.process(recs[3..].to_vec(), &mut out).unwrap();
        assert!(out.take_collected().is_empty());
        s.finish(&mut out).unwrap();
        assert_eq!(out.take_collected(), recs);
        assert!(crate::tokenize::Tok::from_file(&dir.path().join("tok.json")).is_ok());
    }
}
