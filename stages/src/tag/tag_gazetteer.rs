//! `tag_gazetteer`: named entities from user word lists, for languages without NER
//! training data (Sinhala, Tamil). Entries are matched on lowercase words, longest match
//! first, left to right; an entry may span several words (`Sri Lanka`). Writes the same
//! fields as `tag_ner`: `ner_tags` (IOB2), `entities` and `word_offsets`.
//!
//! ```toml
//! [stages.ner_gaz]
//! type = "tag_gazetteer"
//! inputs = ["clean"]
//! gazetteer = { PER = "lists/names.txt", LOC = "lists/places.txt" }
//! ```
//!
//! List files hold one entry per line; `#` lines are comments. When an entry is in two
//! lists, the type that sorts first wins. Counters: `tagged_words_total`, `entities_total`.

use super::lexicon::GazetteerTagger;
use super::tag_ner::TagNer;
use super::Tagger;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{BuildContext, StageConfig, StageError, StageImpl, StageKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

fn default_field() -> String {
    "tokens".into()
}

/// Tags entities by gazetteer lookup.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TagGazetteerConfig {
    /// Entity type → list file (one entry per line), e.g. `{ PER = "names.txt" }`.
    pub gazetteer: BTreeMap<String, String>,
    /// Column holding the words; when a record lacks it, `text` is segmented. Default `tokens`.
    #[serde(default = "default_field")]
    pub field: String,
}

/// A gazetteer as a [`Tagger`].
pub struct GazetteerModel {
    tagger: GazetteerTagger,
    labels: Vec<String>,
}

impl GazetteerModel {
    /// Loads every list.
    pub fn load(lists: &BTreeMap<String, String>) -> Result<GazetteerModel, String> {
        let mut tagger = GazetteerTagger::default();
        let mut labels = vec!["O".to_string()];
        for (ty, path) in lists {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            tagger.add(ty, &text);
            labels.push(format!("B-{ty}"));
            labels.push(format!("I-{ty}"));
        }
        Ok(GazetteerModel { tagger, labels })
    }
}

impl Tagger for GazetteerModel {
    fn tag(&self, words: &[&str]) -> Vec<String> {
        self.tagger.tag(words)
    }
    fn labels(&self) -> &[String] {
        &self.labels
    }
}

impl StageConfig for TagGazetteerConfig {
    const TYPE: &'static str = "tag_gazetteer";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.gazetteer.is_empty() {
            v.error("gazetteer", "must not be empty");
        }
        for ty in self.gazetteer.keys() {
            if ty.is_empty()
                || ty.contains(char::is_whitespace)
                || ty.starts_with("B-")
                || ty.starts_with("I-")
            {
                v.error(
                    "gazetteer",
                    format!("bad entity type `{ty}` (use a bare name such as PER)"),
                );
            }
        }
        if self.field.is_empty() {
            v.error("field", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.gazetteer.values().cloned().collect()
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let m = GazetteerModel::load(&self.gazetteer).map_err(StageError::msg)?;
        Ok(StageImpl::Stage(Box::new(TagNer {
            tagger: Arc::new(m),
            field: self.field.clone(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavuno_pipeline::{Emitter, Record};

    #[test]
    fn toml_example_parses_and_validates() {
        let c: TagGazetteerConfig =
            crate::tag::tag_pos::tests::example(include_str!("tag_gazetteer.rs"), "ner_gaz");
        assert_eq!(c.gazetteer["LOC"], "lists/places.txt");
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
        let mut v = Validator::default();
        TagGazetteerConfig {
            gazetteer: BTreeMap::from([("B-PER".into(), "x".into())]),
            field: "tokens".into(),
        }
        .validate(&mut v);
        assert_eq!(
            v.errors[0].message,
            "bad entity type `B-PER` (use a bare name such as PER)"
        );
    }

    #[test]
    fn tags_from_lists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loc.txt");
        std::fs::write(&p, "ශ්‍රී ලංකා\nකොළඹ\n").unwrap();
        let cfg = TagGazetteerConfig {
            gazetteer: BTreeMap::from([("LOC".into(), p.display().to_string())]),
            field: "tokens".into(),
        };
        let StageImpl::Stage(mut st) = cfg.build(&BuildContext::for_tests(dir.path())).unwrap()
        else {
            panic!()
        };
        let mut out = Emitter::collecting(1);
        st.process(vec![Record::new("a", "කොළඹ ශ්‍රී ලංකා")], &mut out)
            .unwrap();
        let r = &out.take_collected()[0];
        assert_eq!(
            r.fields["ner_tags"],
            serde_json::json!(["B-LOC", "B-LOC", "I-LOC"])
        );
        assert_eq!(r.fields["entities"][1]["text"], "ශ්‍රී ලංකා");
    }
}
