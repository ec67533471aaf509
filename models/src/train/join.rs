//! CLIMB's `join_sentences` (SEEDS.md §2.1): every sentence is tokenized with the model's
//! special tokens (`<s> … </s>` or `[CLS] … [SEP]`), the token streams are concatenated in
//! input order and cut into blocks of exactly `block_len` tokens, and the last partial block is
//! dropped. Blocks therefore start and end mid-sentence and hold the specials of every sentence
//! inside them, as CLIMB's `DatasetPreprocessor` builds them (`src/utils/data.py` in
//! `codebyzeb/CLIMB`). CLIMB joins within each `datasets.map` batch of lines; here the whole
//! corpus is one stream, which is what SEEDS describes and loses at most one partial block.
//!
//! Per-word annotations stay aligned: a block gets its own word list (LEM class and CLIMB POS
//! index per word, what masking and the word-class units read), renumbered from 0, and a word
//! cut by a block boundary appears in both blocks.
//!
//! Blocks are built in corpus order first and only then scored, as CLIMB does
//! (`ngram_perplexity`, n = 1): a unigram MLE model over the subword ids of the training
//! blocks (after the held-out split, so held-out blocks never inform the curriculum),
//! specials included, and each block's difficulty is its perplexity under that model
//! ([`score_train_blocks`]). The data curriculum therefore samples the very blocks the
//! baseline trains on; sentence-level difficulties (e.g. `order_curriculum` output, sorted
//! easiest first) must not reach a joined run, since joining sorted sentences would give the
//! curriculum arm different blocks with a sharper difficulty spread than the baseline's.
//! Model-based rescoring (`rescore_every`) scores the blocks themselves.
//!
//! The input sentences must not have been truncated (tokenize with `tok.max_len = None`),
//! otherwise the tail of every long sentence would be lost before joining.

use mavuno_stages::tokenize::Tok;

use crate::train::data::{Dataset, Example};
use crate::ModelError;

/// Tokenizes with `tokenize` while `tok.max_len` is lifted (so no sentence is truncated),
/// restores it, and joins the sentences into blocks of that length (128 when unset).
/// The blocks are unscored: split off the held-out blocks, then [`score_train_blocks`].
/// Errors when a sentence carries a difficulty: joined blocks are scored on their own tokens,
/// and sentence scores mean the input was reordered (see the module docs).
pub fn tokenize_joined(
    tok: &mut Tok,
    tokenize: impl FnOnce(&Tok) -> Result<Dataset, ModelError>,
) -> Result<Dataset, ModelError> {
    let block_len = tok.max_len.unwrap_or(128);
    tok.max_len = None;
    let sentences = tokenize(tok);
    tok.max_len = Some(block_len);
    let sentences = sentences?;
    if sentences.examples.iter().any(|e| e.difficulty.is_some()) {
        return Err(ModelError::Data(
            "join_sentences: the input sentences carry a `difficulty` (order_curriculum output, \
             sorted easiest first); blocks must be joined in corpus order and are scored on \
             their own tokens, so feed the unsorted sentences"
                .into(),
        ));
    }
    sentences.join_blocks(block_len)
}

/// Sets each training block's difficulty to its unigram perplexity under a model fit on
/// `train`'s blocks alone (CLIMB fits on its training split).
pub fn score_train_blocks(train: &mut Dataset) {
    let scores = unigram_block_scores(&train.examples);
    for (b, s) in train.examples.iter_mut().zip(scores) {
        b.difficulty = Some(s);
    }
}

/// CLIMB's `ngram_perplexity` with n = 1 over blocks: an MLE unigram model of the subword
/// ids of all `blocks` (specials included; no smoothing is needed since every id scored was
/// counted), and per block `exp(−mean log p(id))`. Summation runs in block order, so the
/// scores are the same on every run.
pub fn unigram_block_scores(blocks: &[Example]) -> Vec<f64> {
    let mut counts: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    let mut total = 0u64;
    for b in blocks {
        for &id in &b.ids {
            *counts.entry(id).or_default() += 1;
            total += 1;
        }
    }
    let log_total = (total.max(1) as f64).ln();
    blocks
        .iter()
        .map(|b| {
            if b.ids.is_empty() {
                return 1.0;
            }
            let nll: f64 = b
                .ids
                .iter()
                .map(|id| log_total - (counts.get(id).copied().unwrap_or(1) as f64).ln())
                .sum();
            (nll / b.ids.len() as f64).exp()
        })
        .collect()
}

/// A block being filled.
#[derive(Default)]
struct Block {
    ex: Example,
    /// `(sentence, word)` of the block's last word, so a word's subwords share one entry.
    last_word: Option<(usize, u32)>,
}

impl Dataset {
    /// The sentences of `self`, concatenated in order and cut into blocks of exactly
    /// `block_len` tokens (the last partial block dropped). Errors when the corpus holds
    /// fewer than `block_len` tokens or `block_len` is 0.
    pub fn join_blocks(&self, block_len: usize) -> Result<Dataset, ModelError> {
        if block_len == 0 {
            return Err(ModelError::Data("join_sentences: block length 0".into()));
        }
        let mut blocks = Vec::new();
        let mut cur = Block::default();
        for (s, ex) in self.examples.iter().enumerate() {
            for (&id, &word) in ex.ids.iter().zip(&ex.word_ids) {
                let new_word = match word {
                    None => None,
                    Some(w) if cur.last_word == Some((s, w)) => {
                        // Continuation subword of the block's last word.
                        Some(cur.ex.classes.len() as u32 - 1)
                    }
                    Some(w) => {
                        let wi = w as usize;
                        let class = ex.classes.get(wi).copied().ok_or_else(|| {
                            ModelError::Data(format!("sentence {s}: word id {w} has no class"))
                        })?;
                        cur.ex.classes.push(class);
                        cur.ex.pos.push(ex.pos.get(wi).copied().flatten());
                        cur.last_word = Some((s, w));
                        Some(cur.ex.classes.len() as u32 - 1)
                    }
                };
                cur.ex.ids.push(id);
                cur.ex.word_ids.push(new_word);
                if cur.ex.ids.len() == block_len {
                    blocks.push(std::mem::take(&mut cur).ex);
                }
            }
        }
        if blocks.is_empty() {
            let tokens: usize = self.examples.iter().map(|e| e.ids.len()).sum();
            return Err(ModelError::Data(format!(
                "join_sentences: the corpus has {tokens} tokens, fewer than one block of {block_len}"
            )));
        }
        Ok(Dataset {
            examples: blocks,
            tagged: self.tagged,
        })
    }
}

#[cfg(test)]
mod tests {
    use mavuno_stages::mask::plan::WordClass;

    use super::*;

    /// `<s>`=0, `</s>`=2; word `w` of sentence `s` is split into `parts[w]` subwords.
    fn sentence(first_id: u32, parts: &[usize], pos: u8, difficulty: Option<f64>) -> Example {
        let (mut ids, mut word_ids) = (vec![0], vec![None]);
        let mut next = first_id;
        for (w, &k) in parts.iter().enumerate() {
            for _ in 0..k {
                ids.push(next);
                word_ids.push(Some(w as u32));
                next += 1;
            }
        }
        ids.push(2);
        word_ids.push(None);
        Example {
            ids,
            word_ids,
            classes: parts
                .iter()
                .enumerate()
                .map(|(w, _)| {
                    if w == 0 {
                        WordClass::Noun
                    } else {
                        WordClass::Other
                    }
                })
                .collect(),
            pos: (0..parts.len()).map(|w| Some(pos + w as u8)).collect(),
            difficulty,
            type_ids: Vec::new(),
        }
    }

    fn data() -> Dataset {
        Dataset {
            // 2 + 4 = 6 tokens, 2 + 5 = 7 tokens, 2 + 2 = 4 tokens: 17 in all.
            examples: vec![
                sentence(10, &[1, 3], 0, Some(1.0)),
                sentence(20, &[2, 2, 1], 4, Some(3.0)),
                sentence(30, &[2], 8, None),
            ],
            tagged: true,
        }
    }

    #[test]
    fn blocks_are_full_in_order_and_the_tail_is_dropped() -> Result<(), ModelError> {
        let joined = data().join_blocks(5)?;
        assert_eq!(joined.len(), 3, "17 tokens → 3 blocks of 5, 2 dropped");
        let ids: Vec<Vec<u32>> = joined.examples.iter().map(|e| e.ids.clone()).collect();
        assert_eq!(
            ids,
            [
                vec![0, 10, 11, 12, 13],
                vec![2, 0, 20, 21, 22],
                vec![23, 24, 2, 0, 30]
            ]
        );
        assert!(joined.examples.iter().all(|e| e.ids.len() == 5));
        assert!(joined.tagged);
        Ok(())
    }

    #[test]
    fn words_are_renumbered_per_block_and_keep_their_tags() -> Result<(), ModelError> {
        let joined = data().join_blocks(5)?;
        // Block 0: `<s>`, word 0 (1 subword), word 1 (3 subwords).
        let b0 = &joined.examples[0];
        assert_eq!(b0.word_ids, [None, Some(0), Some(1), Some(1), Some(1)]);
        assert_eq!(b0.classes, [WordClass::Noun, WordClass::Other]);
        assert_eq!(b0.pos, [Some(0), Some(1)]);
        // Block 1: sentence 0's `</s>`, then sentence 1 up to the first subword of its word 1.
        let b1 = &joined.examples[1];
        assert_eq!(b1.word_ids, [None, None, Some(0), Some(0), Some(1)]);
        assert_eq!(b1.pos, [Some(4), Some(5)]);
        // Block 2: the second subword of sentence 1's word 1 (cut by the boundary: a word of
        // its own here, with the same tag), its word 2, then sentence 2's word 0.
        let b2 = &joined.examples[2];
        assert_eq!(b2.word_ids, [Some(0), Some(1), None, None, Some(2)]);
        assert_eq!(b2.pos, [Some(5), Some(6), Some(8)]);
        assert_eq!(
            b2.classes,
            [WordClass::Other, WordClass::Other, WordClass::Noun]
        );
        // Every word id points into the block's own word list.
        for b in &joined.examples {
            assert!(b
                .word_ids
                .iter()
                .flatten()
                .all(|&w| (w as usize) < b.classes.len() && b.classes.len() == b.pos.len()));
        }
        Ok(())
    }

    #[test]
    fn blocks_carry_no_sentence_difficulty_and_are_scored_on_their_own_tokens(
    ) -> Result<(), ModelError> {
        let joined = data().join_blocks(5)?;
        assert!(joined.examples.iter().all(|b| b.difficulty.is_none()));
        let scores = unigram_block_scores(&joined.examples);
        // 15 tokens in 3 blocks; `<s>` (0) occurs 3 times, `</s>` (2) twice, others once.
        let p = |c: f64| c / 15.0;
        let ppl = |ps: &[f64]| (-ps.iter().map(|x| x.ln()).sum::<f64>() / ps.len() as f64).exp();
        let want = [
            ppl(&[p(3.0), p(1.0), p(1.0), p(1.0), p(1.0)]),
            ppl(&[p(2.0), p(3.0), p(1.0), p(1.0), p(1.0)]),
            ppl(&[p(1.0), p(1.0), p(2.0), p(3.0), p(1.0)]),
        ];
        for (s, w) in scores.iter().zip(want) {
            assert!((s - w).abs() < 1e-9, "{s} vs {w}");
        }
        Ok(())
    }

    #[test]
    fn tokenize_joined_does_not_truncate_and_restores_max_len(
    ) -> Result<(), Box<dyn std::error::Error>> {
        use mavuno_stages::tokenize::corpus::TaggedSentence;
        use mavuno_stages::tokenize::{train, ModelType};
        let texts: Vec<String> = (0..20)
            .map(|i| {
                (0..12)
                    .map(|j| format!("w{}", (i * 7 + j) % 9))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("tokenizer.json");
        train(ModelType::Bpe, 60, 1, texts.iter())?
            .save(&path, false)
            .map_err(|e| format!("{e}"))?;
        let mut tok = Tok::from_file(&path)?;
        tok.max_len = Some(8);
        let sentences = || {
            texts.iter().map(|t| {
                let words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
                let k = words.len();
                let s = TaggedSentence {
                    words,
                    pos: vec![Some("NOUN".into()); k],
                    ner: vec![None; k],
                };
                (s, None)
            })
        };
        let full = {
            let mut t = Tok::from_file(&path)?;
            t.max_len = None;
            Dataset::from_sentences(sentences(), &t)?
        };
        let total: usize = full.examples.iter().map(|e| e.ids.len()).sum();
        assert!(
            full.examples.iter().all(|e| e.ids.len() > 8),
            "sentences longer than a block"
        );
        let joined = tokenize_joined(&mut tok, |t| Dataset::from_sentences(sentences(), t))?;
        assert_eq!(tok.max_len, Some(8));
        assert_eq!(
            joined.len(),
            total / 8,
            "no sentence was truncated before joining"
        );
        let flat: Vec<u32> = joined.examples.iter().flat_map(|e| e.ids.clone()).collect();
        let full_flat: Vec<u32> = full.examples.iter().flat_map(|e| e.ids.clone()).collect();
        assert_eq!(flat[..], full_flat[..flat.len()]);
        Ok(())
    }

    #[test]
    fn held_out_blocks_do_not_inform_the_training_blocks_scores() -> Result<(), ModelError> {
        let joined = data().join_blocks(5)?;
        let (mut train, eval) = joined.clone().split_eval(0.5, 10, 3);
        assert!(
            !train.is_empty() && !eval.is_empty(),
            "the split must hold out a block"
        );
        score_train_blocks(&mut train);
        let want = unigram_block_scores(&train.examples);
        let all = unigram_block_scores(&joined.examples);
        let got: Vec<f64> = train.examples.iter().filter_map(|b| b.difficulty).collect();
        assert_eq!(got, want);
        // Fit on every block, the training blocks would score differently.
        let fit_on_all: Vec<f64> = train
            .examples
            .iter()
            .filter_map(|b| joined.examples.iter().position(|j| j.ids == b.ids))
            .map(|i| all[i])
            .collect();
        assert_eq!(fit_on_all.len(), got.len());
        assert_ne!(got, fit_on_all);
        Ok(())
    }

    #[test]
    fn too_short_corpus_and_zero_length_are_errors() {
        assert!(matches!(data().join_blocks(18), Err(ModelError::Data(_))));
        assert!(matches!(data().join_blocks(0), Err(ModelError::Data(_))));
        // Exactly one block fits.
        assert!(data().join_blocks(17).is_ok_and(|d| d.len() == 1));
    }
}
