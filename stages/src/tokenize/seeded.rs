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
//! Unigram: `UnigramTrainer::do_train` gets the words in sorted order here, but its last
//! step (`finalize`) walks the set of required characters in hash order, giving the ones
//! that are not pieces yet the scores `min_score + k·0.0001` in that order, and then sorts
//! with ties kept in insertion order. [`canonical_unigram`] undoes both: it gives those
//! characters the same scores in code-point order and breaks score ties by the piece. Two
//! trainings then give the same bytes (`training_twice_gives_the_same_bytes`).

use ahash::AHashMap;
use compact_str::CompactString;
use std::collections::BTreeMap;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
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
                let special = t.do_train(sentences, u)?;
                // `finalize` puts the special tokens first (and `unk` before them when it is
                // not one of them).
                let unk_added = t
                    .unk_token
                    .as_ref()
                    .is_some_and(|unk| !t.special_tokens.iter().any(|s| s.content == *unk));
                *u = canonical_unigram(u, t.special_tokens.len() + usize::from(unk_added))?;
                Ok(special)
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

/// The score step `UnigramTrainer::finalize` gives required characters that are not
/// pieces yet.
const REQUIRED_CHAR_STEP: f64 = 0.0001;

/// `model` with its hash-order choices replaced by fixed ones (see the module docs): the
/// single-character pieces on the `min_score + k·step` ladder get the ladder's scores in
/// code-point order, and pieces are sorted by score, then by the piece. The first
/// `n_special` entries (special tokens, score 0) stay where they are, so ids of specials
/// and `unk_id` do not move.
pub fn canonical_unigram(model: &Unigram, n_special: usize) -> Result<Unigram> {
    let unk_id = serde_json::to_value(model)?
        .get("unk_id")
        .and_then(|v| v.as_u64())
        .map(|x| x as usize);
    let mut vocab: Vec<(String, f64)> = model.iter().map(|(p, s)| (p.clone(), *s)).collect();
    let n_special = n_special.min(vocab.len());
    let rest = &mut vocab[n_special..];
    let min = rest.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
    let on_ladder = |piece: &str, score: f64| {
        let k = ((score - min) / REQUIRED_CHAR_STEP).round();
        piece.chars().count() == 1 && (score - min - k * REQUIRED_CHAR_STEP).abs() < 1e-9
    };
    let ladder: Vec<usize> = (0..rest.len())
        .filter(|&i| on_ladder(&rest[i].0, rest[i].1))
        .collect();
    let mut pieces: Vec<String> = ladder.iter().map(|&i| rest[i].0.clone()).collect();
    let mut scores: Vec<f64> = ladder.iter().map(|&i| rest[i].1).collect();
    pieces.sort();
    scores.sort_by(|a, b| b.total_cmp(a));
    for ((&i, p), s) in ladder.iter().zip(pieces).zip(scores) {
        rest[i] = (p, s);
    }
    rest.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Unigram::from(vocab, unk_id, model.byte_fallback())
}
