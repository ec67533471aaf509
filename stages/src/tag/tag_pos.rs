//! `tag_pos`: part-of-speech tags from a trained tagger model (`mavuno tag train --task
//! pos`). Writes `pos_tags` (one per word) and `word_offsets` (byte spans into `text`,
//! when known). Words come from the `field` column (`tokens`) when a record has it,
//! else from a Unicode word-boundary segmentation of `text`.
//!
//! ```toml
//! [stages.pos]
//! type = "tag_pos"
//! inputs = ["clean"]
//! model = "models/tag/pos-yor.mvt"
//! field = "tokens"
//! ```
//!
//! Records whose `field` is not a list of strings are rejected. Counter:
//! `tagged_words_total`.

use super::perceptron::{Perceptron, Task};
use super::words::{record_words, write_tags};
use super::Tagger;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

fn default_field() -> String {
    "tokens".into()
}

/// Tags part of speech with a trained model.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TagPosConfig {
    /// Path of a POS model written by `mavuno tag train --task pos`.
    pub model: String,
    /// Column holding the words; when a record lacks it, `text` is segmented. Default `tokens`.
    #[serde(default = "default_field")]
    pub field: String,
}

/// Loads a model (found from any working directory, [`crate::shipped::resolve`]) and
/// checks its task.
pub(crate) fn load_model(path: &str, task: Task) -> Result<Perceptron, StageError> {
    let m = Perceptron::load(&crate::shipped::resolve(path)).map_err(StageError::msg)?;
    if m.task != task {
        return Err(StageError::msg(format!(
            "{path}: model is a {:?} model, expected {task:?}",
            m.task
        )));
    }
    Ok(m)
}

impl StageConfig for TagPosConfig {
    const TYPE: &'static str = "tag_pos";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.model.is_empty() {
            v.error("model", "must not be empty");
        }
        if self.field.is_empty() {
            v.error("field", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        vec![crate::shipped::resolve(&self.model).display().to_string()]
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let model = load_model(&self.model, Task::Pos)?;
        Ok(StageImpl::Stage(Box::new(TagPos {
            tagger: Arc::new(model),
            field: self.field.clone(),
        })))
    }
}

/// The runtime stage.
pub struct TagPos {
    /// The tagger.
    pub tagger: Arc<dyn Tagger>,
    /// The words column.
    pub field: String,
}

impl Stage for TagPos {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let mut n = 0;
        for mut r in batch {
            match record_words(&r, &self.field) {
                Ok((words, offs)) => {
                    let w: Vec<&str> = words.iter().map(String::as_str).collect();
                    let tags = self.tagger.tag(&w);
                    n += tags.len() as u64;
                    write_tags(&mut r, offs.as_deref(), "pos_tags", tags);
                    out.keep(r);
                }
                Err(e) => out.reject(r, e),
            }
        }
        out.counter("tagged_words_total", n);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tag::data::Sentence;
    use crate::tag::features::Gazetteer;
    use crate::tag::perceptron::TrainOptions;
    use mavuno_pipeline::Record;

    /// The `//!` TOML example, as a config.
    pub(crate) fn example<T: serde::de::DeserializeOwned>(doc: &str, id: &str) -> T {
        let toml_text: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let mut t: toml::Table = toml::from_str(&toml_text).unwrap();
        let mut st = t.remove("stages").unwrap().as_table().unwrap()[id]
            .as_table()
            .unwrap()
            .clone();
        st.remove("type");
        st.remove("inputs");
        st.try_into().unwrap()
    }

    #[test]
    fn toml_example_parses_and_validates() {
        let c: TagPosConfig = example(include_str!("tag_pos.rs"), "pos");
        assert_eq!(c.model, "models/tag/pos-yor.mvt");
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
        let mut v = Validator::default();
        TagPosConfig {
            model: String::new(),
            field: "tokens".into(),
        }
        .validate(&mut v);
        assert_eq!(v.errors[0].message, "must not be empty");
    }

    #[test]
    fn tags_tokens_or_text_and_rejects_bad_fields() {
        let s = |w: &[&str], t: &[&str]| Sentence {
            words: w.iter().map(|x| x.to_string()).collect(),
            tags: t.iter().map(|x| x.to_string()).collect(),
            lines: vec![1; w.len()],
        };
        let train = vec![
            s(&["ọmọ", "lọ", "."], &["NOUN", "VERB", "PUNCT"]),
            s(&["ilé", "wá", "."], &["NOUN", "VERB", "PUNCT"]),
        ];
        let m = Perceptron::train(
            &train,
            None,
            Gazetteer::default(),
            &TrainOptions {
                epochs: 5,
                ..Default::default()
            },
            &mut |_| {},
        )
        .unwrap();
        let mut st = TagPos {
            tagger: Arc::new(m),
            field: "tokens".into(),
        };
        let mut a = Record::new("a", "ọmọ lọ.");
        let mut b = Record::new("b", "ilé wá .");
        b.set("tokens", serde_json::json!(["ilé", "wá", "."]));
        a.lang = Some("yor".into());
        let mut c = Record::new("c", "x");
        c.set("tokens", "not a list");
        let mut out = Emitter::collecting(3);
        st.process(vec![a, b, c], &mut out).unwrap();
        assert_eq!(out.counts().rejected, 1);
        let got = out.take_collected();
        assert_eq!(
            got[0].fields["pos_tags"],
            serde_json::json!(["NOUN", "VERB", "PUNCT"])
        );
        assert_eq!(
            got[0].fields["word_offsets"],
            serde_json::json!([[0, 7], [8, 12], [12, 13]])
        );
        assert_eq!(
            got[1].fields["pos_tags"],
            serde_json::json!(["NOUN", "VERB", "PUNCT"])
        );
        // empty text: no words, no panic
        let mut out = Emitter::collecting(1);
        st.process(vec![Record::new("e", "")], &mut out).unwrap();
        assert_eq!(
            out.take_collected()[0].fields["pos_tags"],
            serde_json::json!([])
        );
    }

    #[test]
    fn missing_model_is_a_clear_error() {
        let e = TagPosConfig {
            model: "/nonexistent/m.mvt".into(),
            field: "tokens".into(),
        }
        .build(&BuildContext::for_tests(std::path::Path::new("/tmp")));
        assert!(e
            .err()
            .unwrap()
            .to_string()
            .starts_with("/nonexistent/m.mvt: "));
    }
}
