//! `tag_ner`: named entities from a trained tagger model (`mavuno tag train --task
//! ner`). Writes `ner_tags` (IOB2, one per word), `entities` (`[{start, end, label,
//! text, word_start, word_end}]`, byte offsets into `text`, strict IOB2 decoding) and
//! `word_offsets`. Words come from `field` (`tokens`) when present, else from a Unicode
//! word-boundary segmentation of `text`.
//!
//! ```toml
//! [stages.ner]
//! type = "tag_ner"
//! inputs = ["pos"]
//! model = "models/tag/ner-yor.mvt"
//! ```
//!
//! Records whose `field` is not a list of strings are rejected. Counters:
//! `tagged_words_total`, `entities_total`.

use super::perceptron::Task;
use super::tag_pos::load_model;
use super::words::{record_words, write_entities, write_tags};
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

/// Tags named entities with a trained model.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TagNerConfig {
    /// Path of an NER model written by `mavuno tag train --task ner`.
    pub model: String,
    /// Column holding the words; when a record lacks it, `text` is segmented. Default `tokens`.
    #[serde(default = "default_field")]
    pub field: String,
}

impl StageConfig for TagNerConfig {
    const TYPE: &'static str = "tag_ner";
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
        let model = load_model(&self.model, Task::Ner)?;
        Ok(StageImpl::Stage(Box::new(TagNer {
            tagger: Arc::new(model),
            field: self.field.clone(),
        })))
    }
}

/// The runtime stage; also used by `tag_gazetteer` with a gazetteer tagger.
pub struct TagNer {
    /// The tagger (IOB2 labels).
    pub tagger: Arc<dyn Tagger>,
    /// The words column.
    pub field: String,
}

impl Stage for TagNer {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let (mut n, mut ents) = (0, 0);
        for mut r in batch {
            match record_words(&r, &self.field) {
                Ok((words, offs)) => {
                    let w: Vec<&str> = words.iter().map(String::as_str).collect();
                    let tags = self.tagger.tag(&w);
                    n += tags.len() as u64;
                    write_entities(&mut r, offs.as_deref(), &tags);
                    ents += r.fields["entities"].as_array().map_or(0, Vec::len) as u64;
                    write_tags(&mut r, offs.as_deref(), "ner_tags", tags);
                    out.keep(r);
                }
                Err(e) => out.reject(r, e),
            }
        }
        out.counter("tagged_words_total", n);
        out.counter("entities_total", ents);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::lexicon::GazetteerTagger;
    use mavuno_pipeline::Record;
    use serde_json::json;

    struct Gaz(GazetteerTagger, Vec<String>);
    impl Tagger for Gaz {
        fn tag(&self, words: &[&str]) -> Vec<String> {
            self.0.tag(words)
        }
        fn labels(&self) -> &[String] {
            &self.1
        }
    }

    #[test]
    fn toml_example_parses_and_validates() {
        let c: TagNerConfig =
            crate::tag::tag_pos::tests::example(include_str!("tag_ner.rs"), "ner");
        assert_eq!(
            (c.model.as_str(), c.field.as_str()),
            ("models/tag/ner-yor.mvt", "tokens")
        );
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
    }

    #[test]
    fn writes_entities_with_byte_offsets() {
        let mut g = GazetteerTagger::default();
        g.add("PER", "Nuhu Adam");
        let mut st = TagNer {
            tagger: Arc::new(Gaz(g, vec![])),
            field: "tokens".into(),
        };
        let mut out = Emitter::collecting(2);
        st.process(vec![Record::new("a", "Ọ̀gbẹ́ni Nuhu Adam kúrò.")], &mut out)
            .unwrap();
        let r = &out.take_collected()[0];
        assert_eq!(
            r.fields["ner_tags"],
            json!(["O", "B-PER", "I-PER", "O", "O"])
        );
        let e = &r.fields["entities"][0];
        assert_eq!(e["text"], "Nuhu Adam");
        assert_eq!(
            &r.text[e["start"].as_u64().unwrap() as usize..e["end"].as_u64().unwrap() as usize],
            "Nuhu Adam"
        );
    }
}
