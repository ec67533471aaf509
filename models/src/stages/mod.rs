//! Pipeline stage types that need libtorch, one file per type: `train_mlm` (continual or
//! from-scratch MLM pre-training), `finetune` (classification / NER), `eval` (mlm, classify,
//! ner, bitext, pos_probe), `synonym_attack` and `gen_synonyms` (the synonym attack and
//! augmentation, sharing [`synonym_source`]).
//!
//! The first three are barriers that turn their input into one *summary record* (id = the stage id,
//! empty `text`) whose fields say what was written: `model_dir` (an HF-layout directory) and/or
//! `metrics_path`, plus the headline numbers. Accounting: every input record is counted as
//! kept (as a splitter that emits nothing would be), the last one "becomes" the summary, and
//! records that cannot be used are rejected (malformed tags) or dropped with a reason
//! (`empty`, `unlabelled`). Downstream, an `eval` stage takes the model from a summary record
//! in its inputs (field `model_dir`), so `inputs = ["train", "dev_reader"]` evaluates what
//! `train` just wrote on the records of `dev_reader`.

pub mod eval;
pub mod finetune;
pub mod gen_synonyms;
pub mod synonym_attack;
pub mod synonym_source;
pub mod train_mlm;

use std::path::{Path, PathBuf};

use mavuno_pipeline::{Emitter, Record, Registry, StageError};
use mavuno_stages::tokenize::corpus::TaggedSentence;
use serde_json::{Map, Value};

use crate::ModelError;

/// Field of a summary record that names a model directory.
pub const MODEL_DIR_FIELD: &str = "model_dir";
/// Field that marks a summary record (its value is the stage type).
pub const SUMMARY_FIELD: &str = "mavuno_summary";

/// Registers the stage types of this module.
pub fn register(r: &mut Registry) {
    r.add::<train_mlm::TrainMlmConfig>();
    r.add::<finetune::FinetuneConfig>();
    r.add::<eval::EvalConfig>();
    r.add::<synonym_attack::SynonymAttackConfig>();
    r.add::<gen_synonyms::GenSynonymsConfig>();
}

pub(crate) fn model_err(e: ModelError) -> StageError {
    StageError::context("model", e)
}

/// Whether `r` is a summary record written by one of these stages.
pub fn is_summary(r: &Record) -> bool {
    r.field(SUMMARY_FIELD).is_some()
}

/// Counts every input as kept while holding back the last one, which is released by
/// [`Consumed::finish`] carrying the summary record.
#[derive(Default)]
pub(crate) struct Consumed {
    held: Option<Record>,
    pub(crate) n: u64,
}

impl Consumed {
    /// Accounts for one input record that was used.
    pub(crate) fn take(&mut self, r: Record, out: &mut Emitter) {
        if let Some(prev) = self.held.replace(r) {
            out.keep_many(std::iter::empty());
            drop(prev);
        }
        self.n += 1;
    }

    /// Emits `summary` in place of the last used record (kept, one record out). With no
    /// used record at all, nothing can be emitted without breaking the accounting: error.
    pub(crate) fn finish(&mut self, summary: Record, out: &mut Emitter) -> Result<(), StageError> {
        match self.held.take() {
            Some(_) => {
                out.keep_many(std::iter::once(summary));
                Ok(())
            }
            None => Err(StageError::msg("no usable input records")),
        }
    }
}

/// A summary record for stage `id` of type `ty` with `fields`.
pub(crate) fn summary_record(id: &str, ty: &str, fields: Map<String, Value>) -> Record {
    let mut r = Record::new(id, "");
    r.fields = fields;
    r.set(SUMMARY_FIELD, ty);
    r
}

/// Resolves a configured path: relative paths go under the run directory. The result is
/// absolute (a relative `--workdir` is resolved against the current directory, lexically,
/// without following links): these paths end up in summary records (`model_dir`,
/// `metrics_path`), and a downstream stage or a later run started from another directory
/// must still find them.
pub(crate) fn under_run(run_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        run_dir.join(p)
    };
    // Fails only on an empty path or an unreadable current directory; keep the path then.
    std::path::absolute(&joined).unwrap_or(joined)
}

/// Marks words whose POS tag is in `entity_pos` as entities (`B-<TAG>`) where they carry no
/// NER tag of their own: a stand-in NER for languages without a tagger (e.g. `PROPN`).
pub(crate) fn mark_entities(s: &mut TaggedSentence, entity_pos: &[String]) {
    if entity_pos.is_empty() {
        return;
    }
    for (ner, pos) in s.ner.iter_mut().zip(&s.pos) {
        let untagged = ner.as_deref().is_none_or(|t| t == "O");
        if let Some(p) = pos.as_deref().filter(|p| entity_pos.iter().any(|e| e == p)) {
            if untagged {
                *ner = Some(format!("B-{p}"));
            }
        }
    }
}

/// Picks the libtorch device from `auto`/`cpu`/`cuda[:N]`.
pub(crate) fn device(name: &str) -> Result<tch::Device, StageError> {
    crate::pick_device(name).map_err(model_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_a_relative_run_dir_are_absolute() -> Result<(), std::io::Error> {
        let cwd = std::env::current_dir()?;
        let p = under_run(Path::new("runs/x"), "train");
        assert!(p.is_absolute(), "{}", p.display());
        assert_eq!(p, cwd.join("runs/x/train"));
        // `..` is kept as written (lexical), and absolute paths stay as they are.
        assert_eq!(under_run(Path::new("runs"), "../m"), cwd.join("runs/../m"));
        assert_eq!(
            under_run(Path::new("runs"), "/abs/m"),
            PathBuf::from("/abs/m")
        );
        Ok(())
    }

    #[test]
    fn entity_pos_marks_only_untagged_words() {
        let mut s = TaggedSentence {
            words: vec!["Kofi".into(), "saw".into(), "Accra".into()],
            pos: vec![
                Some("PROPN".into()),
                Some("VERB".into()),
                Some("PROPN".into()),
            ],
            ner: vec![None, None, Some("B-LOC".into())],
        };
        mark_entities(&mut s, &["PROPN".to_string()]);
        assert_eq!(
            s.ner,
            [Some("B-PROPN".into()), None, Some("B-LOC".to_string())]
        );
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! The stage's `//!` TOML example parsed as its config.
    pub(crate) use mavuno_stages::testutil::doc_example;
}
