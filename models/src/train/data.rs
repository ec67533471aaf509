//! Training data for MLM: tokenized sentences with per-word LEM classes, POS tags and an
//! optional difficulty score, and the collator that masks and pads a batch.
//!
//! Masking is dynamic: every (step, slot, objective unit) draws a fresh plan from
//! `mavuno_stages::mask::plan::plan_masks` with the RNG `example_rng(seed, stream)`, so the same
//! seed and step give the same batch whether the run was resumed or not, and no masked copy of
//! the corpus is ever stored. Inputs are JSONL (`tokens`/`text`, optional `pos_tags`,
//! `ner_tags`, `difficulty`) or anything `mavuno_stages::tokenize::corpus::read_tagged` reads.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use mavuno_stages::curriculum::{climb_pos_index, VocabCurriculum, CLIMB_POS};
use mavuno_stages::mask::plan::{
    example_rng, plan_masks, MaskInput, MaskSpec, VocabInfo, WordClass,
};
use mavuno_stages::tokenize::corpus::{read_tagged, tagged_from_json, Format, TaggedSentence};
use mavuno_stages::tokenize::Tok;
use rand::Rng;
use tch::{Device, Tensor};

use crate::ModelError;

/// One tokenized sentence (or, with `join_sentences`, one block of joined sentences).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Example {
    /// Token ids, specials included, truncated to the tokenizer's `max_len`.
    pub ids: Vec<u32>,
    /// Word index per token (`None` for specials).
    pub word_ids: Vec<Option<u32>>,
    /// LEM class per word.
    pub classes: Vec<WordClass>,
    /// CLIMB POS index per word (`CLIMB_POS`), `None` when untagged.
    pub pos: Vec<Option<u8>>,
    /// Difficulty for the data curriculum (low = easy), if the input had one.
    pub difficulty: Option<f64>,
}

/// A list of examples plus what was learned while reading them.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The examples, in input order.
    pub examples: Vec<Example>,
    /// Whether any word carried a POS or NER tag (LEM needs them).
    pub tagged: bool,
}

impl Dataset {
    /// Tokenizes sentences (each with an optional difficulty). Empty sentences are skipped.
    pub fn from_sentences(
        sentences: impl IntoIterator<Item = (TaggedSentence, Option<f64>)>,
        tok: &Tok,
    ) -> Result<Self, ModelError> {
        let mut out = Dataset::default();
        for (s, difficulty) in sentences {
            if s.words.is_empty() {
                continue;
            }
            let (ids, word_ids) = tok
                .encode_words(&s.words)
                .map_err(|e| ModelError::Data(format!("tokenizing: {e}")))?;
            let n = s.words.len();
            let tag = |v: &Vec<Option<String>>, i: usize| v.get(i).and_then(|x| x.clone());
            let mut classes = Vec::with_capacity(n);
            let mut pos = Vec::with_capacity(n);
            for i in 0..n {
                let (p, e) = (tag(&s.pos, i), tag(&s.ner, i));
                out.tagged |= p.is_some() || e.is_some();
                classes.push(WordClass::from_tags(e.as_deref(), p.as_deref()));
                pos.push(p.as_deref().map(|t| climb_pos_index(t) as u8));
            }
            out.examples.push(Example {
                ids,
                word_ids,
                classes,
                pos,
                difficulty,
            });
        }
        Ok(out)
    }

    /// Reads and tokenizes every file. JSONL lines may carry a numeric `difficulty`.
    pub fn read(paths: &[PathBuf], tok: &Tok) -> Result<Self, ModelError> {
        let mut sentences = Vec::new();
        for path in paths {
            read_file(path, &mut sentences)?;
        }
        Self::from_sentences(sentences, tok)
    }

    /// Splits off a held-out set: each example goes to eval with probability `fraction`
    /// (seeded, so the split is the same on every run and resume), at most `max_eval`.
    pub fn split_eval(self, fraction: f64, max_eval: usize, seed: u64) -> (Dataset, Dataset) {
        let mut rng = example_rng(seed ^ SPLIT_SALT, 0);
        let (mut train, mut eval) = (Vec::new(), Vec::new());
        for ex in self.examples {
            if rng.random::<f64>() < fraction && eval.len() < max_eval {
                eval.push(ex);
            } else {
                train.push(ex);
            }
        }
        (
            Dataset {
                examples: train,
                tagged: self.tagged,
            },
            Dataset {
                examples: eval,
                tagged: self.tagged,
            },
        )
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }
}

const SPLIT_SALT: u64 = 0x5EED_5917;

fn read_file(path: &Path, out: &mut Vec<(TaggedSentence, Option<f64>)>) -> Result<(), ModelError> {
    let data_err = |e: &dyn std::fmt::Display| ModelError::Data(format!("{}: {e}", path.display()));
    if Format::guess(path) == Format::Jsonl {
        let reader = mavuno_pipeline::io::open_read(path).map_err(|e| data_err(&e))?;
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| ModelError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| data_err(&format!("line {}: invalid JSON: {e}", n + 1)))?;
            let s = tagged_from_json(&v).map_err(|e| data_err(&format!("line {}: {e}", n + 1)))?;
            out.push((s, v.get("difficulty").and_then(serde_json::Value::as_f64)));
        }
        Ok(())
    } else {
        read_tagged(path, |s| out.push((s, None))).map_err(|e| data_err(&e))
    }
}

/// What the collator needs to know about the vocabulary.
#[derive(Debug, Clone)]
pub struct VocabSpec {
    /// Size, mask id and special ids (never masked).
    pub info: VocabInfo,
    /// Padding id.
    pub pad_id: u32,
}

impl VocabSpec {
    /// From a loaded tokenizer; errors when it has no pad token.
    pub fn from_tok(tok: &Tok) -> Result<Self, ModelError> {
        let pad_id = tok
            .pad_id
            .ok_or_else(|| ModelError::Data("tokenizer has no <pad>/[PAD] token".into()))?;
        Ok(Self {
            info: tok.vocab.clone(),
            pad_id,
        })
    }
}

/// One objective unit as the collator sees it.
#[derive(Debug, Clone)]
pub struct UnitMasking {
    /// How to select and replace positions.
    pub spec: MaskSpec,
    /// For CLIMB word-class units: the unit's tag list; labels become tag index + 1.
    pub tags: Option<Vec<&'static str>>,
}

/// A padded, masked batch.
#[derive(Debug)]
pub struct Batch {
    /// `[batch, seq]` int64, corrupted inputs.
    pub input_ids: Tensor,
    /// `[batch, seq]` int64, 1 for real tokens.
    pub attention_mask: Tensor,
    /// `[batch, seq]` int64, target id (or word-class label) at selected positions, −100 elsewhere.
    pub labels: Tensor,
    /// Non-pad tokens in the batch.
    pub tokens: i64,
    /// Selected positions in the batch.
    pub targets: i64,
}

/// Masks and pads `examples`. `stream(i)` is the RNG stream of the i-th example (the caller
/// mixes step, slot and unit into it); `curriculum` is the vocabulary curriculum and its
/// pacing value, applied to inputs and labels.
pub fn collate(
    examples: &[&Example],
    unit: &UnitMasking,
    vocab: &VocabSpec,
    curriculum: Option<(&VocabCurriculum, f64)>,
    seed: u64,
    stream: impl Fn(usize) -> u64,
    device: Device,
) -> Result<Batch, ModelError> {
    let seq = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let b = examples.len();
    let mut inputs = vec![i64::from(vocab.pad_id); b * seq];
    let mut mask = vec![0i64; b * seq];
    let mut labels = vec![-100i64; b * seq];
    let (mut tokens, mut targets) = (0i64, 0i64);
    for (i, ex) in examples.iter().enumerate() {
        let word_tags: Vec<Option<u16>> = match &unit.tags {
            Some(tags) => ex
                .pos
                .iter()
                .map(|p| {
                    let name = CLIMB_POS[usize::from((*p)?)];
                    tags.iter().position(|t| *t == name).map(|k| k as u16)
                })
                .collect(),
            None => Vec::new(),
        };
        let input = MaskInput {
            token_ids: &ex.ids,
            word_ids: &ex.word_ids,
            word_classes: &ex.classes,
            word_tags: &word_tags,
        };
        let plan = plan_masks(
            &input,
            &unit.spec,
            &vocab.info,
            &mut example_rng(seed, stream(i)),
        );
        // Per-token CLIMB POS index, for the POS-aware vocabulary maps.
        let token_pos: Vec<Option<usize>> = ex
            .word_ids
            .iter()
            .map(|w| {
                w.and_then(|w| ex.pos.get(w as usize).copied().flatten())
                    .map(usize::from)
            })
            .collect();
        let mut original = ex.ids.clone();
        let mut corrupted = ex.ids.clone();
        plan.apply(&mut corrupted, vocab.info.mask_id);
        if let Some((vc, p)) = curriculum {
            vc.apply(&mut original, Some(&token_pos), p);
            vc.apply(&mut corrupted, Some(&token_pos), p);
        }
        let row_labels = match unit.tags {
            Some(_) => plan.pos_label_vec(ex.ids.len()),
            None => plan.labels(&original),
        };
        let base = i * seq;
        for (j, (&id, &label)) in corrupted.iter().zip(&row_labels).enumerate() {
            inputs[base + j] = i64::from(id);
            mask[base + j] = 1;
            labels[base + j] = label;
        }
        tokens += ex.ids.len() as i64;
        targets += row_labels.iter().filter(|&&l| l != -100).count() as i64;
    }
    let shape = [b as i64, seq as i64];
    let to = |v: &[i64]| -> Result<Tensor, ModelError> {
        Ok(Tensor::f_from_slice(v)?
            .f_view(shape)?
            .f_to_device(device)?)
    };
    Ok(Batch {
        input_ids: to(&inputs)?,
        attention_mask: to(&mask)?,
        labels: to(&labels)?,
        tokens,
        targets,
    })
}
