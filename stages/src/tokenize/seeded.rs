//! BPE and WordPiece training with a reproducible result.
//!
//! The `tokenizers` trainers count words in an `AHashMap` whose hash keys are drawn at
//! random per process, and assign ids to new symbols (WordPiece's `##x`) in that map's
//! iteration order; merges tied on count are then broken by those ids. The same corpus gave
//! a different `tokenizer.json` on every run (three runs, three checksums), which broke
//! resume for any pipeline that trains a tokenizer and then a model on it. This trainer
//! counts words itself (through the tokenizer's own normaliser and pre-tokeniser, via
//! `feed`'s `process`), inserts them in sorted order into a map with fixed hash keys, and
//! runs the library's BPE merge loop (`BpeTrainer::do_train`) on it. WordPiece is trained
//! the way `WordPieceTrainer` does it: BPE with the `##` prefix, converted.
//!
//! Unigram is NOT reproducible yet: its EM (`UnigramTrainer::do_train`) gets the words in
//! sorted order here, but still differs between runs (also in a one-thread rayon pool, so
//! the cause is inside the trainer: hash-ordered maps during seeding or pruning, not
//! float reduction order). Use BPE or WordPiece where byte-identical reruns matter.

use ahash::AHashMap;
use compact_str::CompactString;
use std::collections::BTreeMap;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::models::ModelWrapper;
use tokenizers::{AddedToken, Result, Trainer};

/// Fixed hash keys: any constants do; they only have to be the same on every run.
const SEEDS: [u64; 4] = [
    0x6d61_7675_6e6f_2d31,
    0x7365_6564_6564_2d62,
    0x7065_2d74_7261_696e,
    0x6572_2d76_3120_2020,
];

/// The library trainer that does the work.
pub enum Inner {
    /// BPE, or WordPiece when configured with the `##` prefix.
    Bpe(BpeTrainer),
    /// Unigram.
    Unigram(UnigramTrainer),
}

/// A trainer whose output depends on the corpus only.
pub struct SeededTrainer {
    inner: Inner,
    words: BTreeMap<String, u64>,
}

impl SeededTrainer {
    /// Wraps a configured library trainer (for WordPiece: BPE with the `##` prefix).
    pub fn new(inner: Inner) -> SeededTrainer {
        SeededTrainer {
            inner,
            words: BTreeMap::new(),
        }
    }

    fn word_counts(&self) -> AHashMap<CompactString, u64> {
        let state = ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]);
        let mut m = std::collections::HashMap::with_capacity_and_hasher(self.words.len(), state);
        for (w, c) in &self.words {
            m.insert(CompactString::from(w.as_str()), *c);
        }
        m.into()
    }
}

impl Trainer for SeededTrainer {
    type Model = ModelWrapper;

    fn should_show_progress(&self) -> bool {
        false
    }

    fn train(&self, model: &mut ModelWrapper) -> Result<Vec<AddedToken>> {
        match (&self.inner, model) {
            (Inner::Bpe(t), ModelWrapper::BPE(bpe)) => t.do_train(&self.word_counts(), bpe),
            (Inner::Bpe(t), ModelWrapper::WordPiece(wp)) => {
                let mut bpe = BPE::default();
                let special = t.do_train(&self.word_counts(), &mut bpe)?;
                *wp = WordPiece::from_bpe(&bpe);
                Ok(special)
            }
            (Inner::Unigram(t), ModelWrapper::Unigram(u)) => {
                let sentences = self
                    .words
                    .iter()
                    .map(|(w, &c)| (w.clone(), u32::try_from(c).unwrap_or(u32::MAX)))
                    .collect();
                t.do_train(sentences, u)
            }
            _ => Err("seeded trainer: the trainer does not match the model type".into()),
        }
    }

    fn feed<I, S, F>(&mut self, iterator: I, process: F) -> Result<()>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
        F: Fn(&str) -> Result<Vec<String>> + Sync,
    {
        for seq in iterator {
            for w in process(seq.as_ref())? {
                *self.words.entry(w).or_insert(0) += 1;
            }
        }
        Ok(())
    }
}
