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
