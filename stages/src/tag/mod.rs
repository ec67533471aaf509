//! Tagging for Linguistic Entity Masking: POS and NER taggers, type-level dictionaries
//! and gazetteers, and the stages that run them (`tag_pos`, `tag_ner`, `tag_lexicon`,
//! `tag_gazetteer`).
//!
//! The algorithms ([`perceptron`], [`lexicon`], [`metrics`], [`data`]) are usable
//! without the engine. Every tagger implements [`Tagger`], so a neural head can replace
//! the perceptron later without touching the stages.

pub mod data;
pub mod features;
pub mod lexicon;
pub mod metrics;
pub mod perceptron;
pub mod tag_gazetteer;
pub mod tag_lexicon;
pub mod tag_ner;
pub mod tag_pos;
pub mod words;

/// A sequence tagger: one label per word.
pub trait Tagger: Send + Sync {
    /// Tags a sentence; the result has one label per word.
    fn tag(&self, words: &[&str]) -> Vec<String>;
    /// Every label the tagger can emit.
    fn labels(&self) -> &[String];
}

#[cfg(test)]
mod tests {
    #[test]
    fn stages_are_registered_and_every_field_is_documented() {
        let r = crate::registry();
        for ty in ["tag_pos", "tag_ner", "tag_lexicon", "tag_gazetteer"] {
            let e = r.get(ty).unwrap_or_else(|| panic!("{ty} not registered"));
            assert!(!e.description().is_empty(), "{ty}");
            for f in e.fields() {
                assert!(!f.description.is_empty(), "{ty}.{}", f.name);
            }
        }
        let e = r.get("tag_ner").unwrap();
        let bad: toml::Value = toml::from_str("model = \"m.mvt\"\nmodle = 1").unwrap();
        assert!(e.parse(bad).is_err());
    }
}
