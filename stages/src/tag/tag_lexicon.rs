//! `tag_lexicon`: type-level, context-free tags from a word→tag dictionary, the way
//! the LEM authors tagged Sinhala, Tamil and English (SEEDS §1.2). The dictionary is a
//! TSV (`word<TAB>tag`, extra columns ignored), built with `mavuno tag lexicon build` or
//! supplied by the user; classes may be POS tags (NOUN/VERB/PROPN …) or LEM flags.
//! Writes `output` (default `pos_tags`, one tag per word; `unknown` for words not in the
//! dictionary) and `word_offsets`.
//!
//! ```toml
//! [stages.pos_dict]
//! type = "tag_lexicon"
//! inputs = ["clean"]
//! dictionary = "models/tag/lexicon-sin.tsv"
//! output = "pos_tags"
//! unknown = "X"
//! ```
//!
//! Counters: `tagged_words_total`, `unknown_words_total`.

use super::lexicon::Lexicon;
use super::words::{record_words, write_tags};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

fn default_field() -> String {
    "tokens".into()
}
fn default_output() -> String {
    "pos_tags".into()
}
fn default_unknown() -> String {
    "X".into()
}

/// Tags words by dictionary lookup.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TagLexiconConfig {
    /// Dictionary TSV: `word<TAB>tag` per line; `#` lines are comments.
    pub dictionary: String,
    /// Column holding the words; when a record lacks it, `text` is segmented. Default `tokens`.
    #[serde(default = "default_field")]
    pub field: String,
    /// Column to write the tags to. Default `pos_tags`.
    #[serde(default = "default_output")]
    pub output: String,
    /// Tag for words not in the dictionary (exact, then lowercase lookup). Default `X`.
    #[serde(default = "default_unknown")]
    pub unknown: String,
}

impl StageConfig for TagLexiconConfig {
    const TYPE: &'static str = "tag_lexicon";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        for (name, val) in [
            ("dictionary", &self.dictionary),
            ("field", &self.field),
            ("output", &self.output),
        ] {
            if val.is_empty() {
                v.error(name, "must not be empty");
            }
        }
    }

    fn input_files(&self) -> Vec<String> {
        vec![self.dictionary.clone()]
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let lex = Lexicon::load(Path::new(&self.dictionary)).map_err(StageError::msg)?;
        Ok(StageImpl::Stage(Box::new(TagLexicon {
            lex,
            cfg: self.clone(),
        })))
    }
}

/// The runtime stage.
pub struct TagLexicon {
    lex: Lexicon,
    cfg: TagLexiconConfig,
}

impl Stage for TagLexicon {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let (mut n, mut unk) = (0, 0);
        for mut r in batch {
            match record_words(&r, &self.cfg.field) {
                Ok((words, offs)) => {
                    let tags: Vec<String> = words
                        .iter()
                        .map(|w| match self.lex.lookup(w) {
                            Some(t) => t.to_string(),
                            None => {
                                unk += 1;
                                self.cfg.unknown.clone()
                            }
                        })
                        .collect();
                    n += tags.len() as u64;
                    write_tags(&mut r, offs.as_deref(), &self.cfg.output, tags);
                    out.keep(r);
                }
                Err(e) => out.reject(r, e),
            }
        }
        out.counter("tagged_words_total", n);
        out.counter("unknown_words_total", unk);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavuno_pipeline::Record;

    #[test]
    fn toml_example_parses_and_validates() {
        let c: TagLexiconConfig =
            crate::tag::tag_pos::tests::example(include_str!("tag_lexicon.rs"), "pos_dict");
        assert_eq!(c.unknown, "X");
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
    }

    #[test]
    fn tags_by_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.tsv");
        std::fs::write(&p, "# c\nකොළඹ\tNNP\tya\nයයි\tVFM\n").unwrap();
        let cfg = TagLexiconConfig {
            dictionary: p.display().to_string(),
            field: "tokens".into(),
            output: "lem".into(),
            unknown: "_".into(),
        };
        let StageImpl::Stage(mut st) = cfg.build(&BuildContext::for_tests(dir.path())).unwrap()
        else {
            panic!()
        };
        let mut out = Emitter::collecting(1);
        st.process(vec![Record::new("a", "කොළඹ යයි x")], &mut out)
            .unwrap();
        assert_eq!(
            out.take_collected()[0].fields["lem"],
            serde_json::json!(["NNP", "VFM", "_"])
        );
        assert_eq!(out.counts().counters["unknown_words_total"], 1);
    }
}
