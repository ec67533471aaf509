//! Training data for MLM: tokenized sentences with per-word LEM classes, POS tags and an
//! optional difficulty score, and the collator that masks and pads a batch.
//!
//! Masking is dynamic: every (step, slot, objective unit) draws a fresh plan from
//! `mavuno_stages::mask::plan::plan_masks` with the RNG `example_rng(seed, stream)`, so the same
//! seed and step give the same batch whether the run was resumed or not, and no masked copy of
//! the corpus is ever stored. Translation pairs (TLM) become one sequence per pair in the
//! tokenizer's pair layout ([`Dataset::from_pairs`]). Inputs are JSONL (`tokens`/`text`, optional `pos_tags`,
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
    /// Token type (segment) ids, for a BERT-layout translation pair (`[CLS] src [SEP] tgt
    /// [SEP]`: 0 up to the first `[SEP]`, 1 after); empty when all are 0.
    pub type_ids: Vec<u8>,
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
            let (mut classes, mut pos) = (Vec::new(), Vec::new());
            out.tagged |= annotate(&s, &mut classes, &mut pos);
            out.examples.push(Example {
                ids,
                word_ids,
                classes,
                pos,
                difficulty,
                type_ids: Vec::new(),
            });
        }
        Ok(out)
    }

    /// Tokenizes translation pairs for TLM (the LEM_para stage): one sequence per pair in the
    /// tokenizer's pair layout (`<s> src </s></s> tgt </s>` for RoBERTa/XLM-R, `[CLS] src
    /// [SEP] tgt [SEP]` with token types 0/1 for BERT), truncated longest-first to `max_len`.
    /// The target's words follow the source's in the word list, each keeping its own class
    /// and tag, so masking plans across both sides with each side's word classes.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (TaggedSentence, TaggedSentence)>,
        tok: &Tok,
    ) -> Result<Self, ModelError> {
        let mut out = Dataset::default();
        for (src, tgt) in pairs {
            if src.words.is_empty() && tgt.words.is_empty() {
                continue;
            }
            let enc = encode_pair(tok, &src.words, &tgt.words)?;
            let (mut classes, mut pos) = (Vec::new(), Vec::new());
            out.tagged |= annotate(&src, &mut classes, &mut pos);
            out.tagged |= annotate(&tgt, &mut classes, &mut pos);
            out.examples
                .push(enc.into_example(src.words.len(), classes, pos));
        }
        Ok(out)
    }

    /// Reads and tokenizes every file ([`read_sentences`]).
    pub fn read(paths: &[PathBuf], tok: &Tok) -> Result<Self, ModelError> {
        Self::from_sentences(read_sentences(paths)?, tok)
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

/// Appends the LEM class and CLIMB POS index of each word of `s`; true when any word had a
/// POS or NER tag. A number-like word is never an NE (`WordClass::of_word`).
fn annotate(s: &TaggedSentence, classes: &mut Vec<WordClass>, pos: &mut Vec<Option<u8>>) -> bool {
    let tag = |v: &Vec<Option<String>>, i: usize| v.get(i).and_then(|x| x.clone());
    let mut tagged = false;
    for (i, w) in s.words.iter().enumerate() {
        let (p, e) = (tag(&s.pos, i), tag(&s.ner, i));
        tagged |= p.is_some() || e.is_some();
        classes.push(WordClass::of_word(w, e.as_deref(), p.as_deref()));
        pos.push(p.as_deref().map(|t| climb_pos_index(t) as u8));
    }
    tagged
}

/// A pair encoding: ids, the side of each token (`None` for specials), the word index within
/// its side, and token types.
struct PairEncoding {
    ids: Vec<u32>,
    side: Vec<Option<usize>>,
    words: Vec<Option<u32>>,
    types: Vec<u32>,
}

impl PairEncoding {
    /// The example, target word ids shifted past the source's `n_src` words.
    fn into_example(self, n_src: usize, classes: Vec<WordClass>, pos: Vec<Option<u8>>) -> Example {
        let word_ids = self
            .words
            .iter()
            .zip(&self.side)
            .map(|(w, side)| match (w, side) {
                (Some(w), Some(1)) => Some(w + n_src as u32),
                (Some(w), Some(_)) => Some(*w),
                _ => None,
            })
            .collect();
        let type_ids = if self.types.iter().any(|&t| t != 0) {
            self.types.iter().map(|&t| t.min(255) as u8).collect()
        } else {
            Vec::new()
        };
        Example {
            ids: self.ids,
            word_ids,
            classes,
            pos,
            difficulty: None,
            type_ids,
        }
    }
}

/// Encodes a pair of pre-split sentences with the tokenizer's own pair post-processor, after
/// truncating the longer side first so the whole fits `tok.max_len` (as HF `longest_first`).
fn encode_pair(tok: &Tok, src: &[String], tgt: &[String]) -> Result<PairEncoding, ModelError> {
    use tokenizers::utils::truncation::{truncate_encodings, TruncationParams, TruncationStrategy};
    use tokenizers::{InputSequence, PostProcessor};
    let err = |e: &dyn std::fmt::Display| ModelError::Data(format!("tokenizing a pair: {e}"));
    let enc = |words: &[String]| {
        let ws: Vec<&str> = words.iter().map(String::as_str).collect();
        tok.inner
            .encode(InputSequence::from(ws.as_slice()), false)
            .map_err(|e| err(&e))
    };
    let (mut a, mut b) = (enc(src)?, enc(tgt)?);
    if let Some(max) = tok.max_len {
        let added = tok
            .inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(true));
        let params = TruncationParams {
            max_length: max.saturating_sub(added),
            strategy: TruncationStrategy::LongestFirst,
            ..TruncationParams::default()
        };
        if a.len() + b.len() > params.max_length {
            let (x, y) = truncate_encodings(a, Some(b), &params).map_err(|e| err(&e))?;
            a = x;
            b = y.unwrap_or_default();
        }
    }
    let e = tok
        .inner
        .post_process(a, Some(b), true)
        .map_err(|e| err(&e))?;
    Ok(PairEncoding {
        ids: e.get_ids().to_vec(),
        side: e.get_sequence_ids(),
        words: e.get_word_ids().to_vec(),
        types: e.get_type_ids().to_vec(),
    })
}

/// The source and target sides of a parallel record: the source is the record itself
/// (`tokens`/`text` with optional `pos_tags`/`ner_tags`); the target is the object (or plain
/// string) in `target_field` (an object may carry `tokens`/`text` and its own tags), else the
/// other language of a `parallel_reader` record's `translation` (`{src_lang: …,
/// tgt_lang: …}`, the side that is not the record's `lang`).
pub fn pair_from_json(
    v: &serde_json::Value,
    target_field: &str,
) -> Result<(TaggedSentence, TaggedSentence), String> {
    let src = tagged_from_json(v)?;
    let target = match v.get(target_field) {
        Some(serde_json::Value::String(t)) => serde_json::json!({ "text": t }),
        Some(o @ serde_json::Value::Object(_)) => o.clone(),
        Some(_) => {
            return Err(format!(
                "field `{target_field}` must be a string or an object"
            ))
        }
        None => {
            let tr = v
                .get("translation")
                .and_then(serde_json::Value::as_object)
                .ok_or_else(|| format!("needs `{target_field}` or a `translation` object"))?;
            let lang = v.get("lang").and_then(serde_json::Value::as_str);
            let others: Vec<&serde_json::Value> = tr
                .iter()
                .filter(|(k, _)| Some(k.as_str()) != lang)
                .map(|(_, t)| t)
                .collect();
            match others.as_slice() {
                [serde_json::Value::String(t)] => serde_json::json!({ "text": t }),
                _ => return Err(
                    "`translation` must hold the record's `lang` and exactly one other language"
                        .into(),
                ),
            }
        }
    };
    let tgt = tagged_from_json(&target).map_err(|e| format!("{target_field}: {e}"))?;
    Ok((src, tgt))
}

/// Calls `f` on every non-blank JSON line of `path`; errors name file and line.
fn for_each_json_line(
    path: &Path,
    mut f: impl FnMut(&serde_json::Value) -> Result<(), String>,
) -> Result<(), ModelError> {
    let data_err = |e: &dyn std::fmt::Display| ModelError::Data(format!("{}: {e}", path.display()));
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
        f(&v).map_err(|e| data_err(&format!("line {}: {e}", n + 1)))?;
    }
    Ok(())
}

/// Reads tagged sentences from every file: JSONL (`tokens`/`text`, optional `pos_tags`,
/// `ner_tags` and a numeric `difficulty`) or anything `read_tagged` reads.
pub fn read_sentences(paths: &[PathBuf]) -> Result<Vec<(TaggedSentence, Option<f64>)>, ModelError> {
    let mut out = Vec::new();
    for path in paths {
        if Format::guess(path) == Format::Jsonl {
            for_each_json_line(path, |v| {
                out.push((
                    tagged_from_json(v)?,
                    v.get("difficulty").and_then(serde_json::Value::as_f64),
                ));
                Ok(())
            })?;
        } else {
            read_tagged(path, |s| out.push((s, None)))
                .map_err(|e| ModelError::Data(format!("{}: {e}", path.display())))?;
        }
    }
    Ok(out)
}

/// Reads translation pairs for TLM from JSONL files ([`pair_from_json`]); a line that is not
/// a pair is an error naming file and line.
pub fn read_pairs(
    paths: &[PathBuf],
    target_field: &str,
) -> Result<Vec<(TaggedSentence, TaggedSentence)>, ModelError> {
    let mut out = Vec::new();
    for path in paths {
        if Format::guess(path) != Format::Jsonl {
            return Err(ModelError::Data(format!(
                "{}: translation pairs are read from JSONL only",
                path.display()
            )));
        }
        for_each_json_line(path, |v| {
            out.push(pair_from_json(v, target_field)?);
            Ok(())
        })?;
    }
    Ok(out)
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
    /// `[batch, seq]` int64 token types, when some example has them (BERT pairs).
    pub token_type_ids: Option<Tensor>,
    /// Non-pad tokens in the batch.
    pub tokens: i64,
    /// Selected positions in the batch.
    pub targets: i64,
    /// What the plans selected, by class and pass.
    pub counts: MaskCounts,
}

/// Realised masking over some batches: tokens (specials included, as LEM's budget counts
/// them), selected positions, LEM entity-pass selections per class and fill selections (every
/// selection of a non-LEM strategy is a fill), and selections that fell on NE words by any
/// pass (how often a strategy without entity priority hits an entity). Logged at every
/// evaluation in `metrics.jsonl`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaskCounts {
    /// Tokens.
    pub tokens: u64,
    /// Selected positions.
    pub masked: u64,
    /// Entity-pass selections: NE, verb, noun.
    pub priority: [u64; 3],
    /// Selections on NE words, by any pass.
    pub on_ne_words: u64,
}

impl MaskCounts {
    /// Adds `o`.
    pub fn add(&mut self, o: &MaskCounts) {
        self.tokens += o.tokens;
        self.masked += o.masked;
        for (a, b) in self.priority.iter_mut().zip(o.priority) {
            *a += b;
        }
        self.on_ne_words += o.on_ne_words;
    }

    /// Fill selections.
    pub fn fill(&self) -> u64 {
        self.masked - self.priority.iter().sum::<u64>().min(self.masked)
    }

    /// The `metrics.jsonl` fields: `mask_rate` (selected / tokens), `masked`, `masked_ne`,
    /// `masked_verb`, `masked_noun` (entity pass), `masked_fill`, `masked_on_ne_words`.
    pub fn to_json(&self) -> serde_json::Value {
        let rate = if self.tokens == 0 {
            0.0
        } else {
            self.masked as f64 / self.tokens as f64
        };
        serde_json::json!({
            "mask_rate": rate,
            "masked": self.masked,
            "masked_ne": self.priority[0],
            "masked_verb": self.priority[1],
            "masked_noun": self.priority[2],
            "masked_fill": self.fill(),
            "masked_on_ne_words": self.on_ne_words,
        })
    }
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
    let typed = examples.iter().any(|e| !e.type_ids.is_empty());
    let mut types = vec![0i64; if typed { b * seq } else { 0 }];
    let (mut tokens, mut targets) = (0i64, 0i64);
    let mut counts = MaskCounts::default();
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
        if typed {
            for (j, &t) in ex.type_ids.iter().enumerate().take(seq) {
                types[base + j] = i64::from(t);
            }
        }
        counts.tokens += ex.ids.len() as u64;
        counts.masked += plan.positions.len() as u64;
        for (a, b) in counts.priority.iter_mut().zip(plan.priority) {
            *a += u64::from(b);
        }
        counts.on_ne_words += plan
            .word_classes
            .iter()
            .filter(|c| **c == WordClass::Ne)
            .count() as u64;
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
        token_type_ids: if typed { Some(to(&types)?) } else { None },
        tokens,
        targets,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use mavuno_stages::mask::plan::{LemParams, ReplaceProbs, Strategy};
    use mavuno_stages::tokenize::{train, ModelType};

    use super::*;

    type Res = Result<(), Box<dyn std::error::Error>>;

    fn tok(model: ModelType, dir: &Path) -> Result<Tok, Box<dyn std::error::Error>> {
        let lines = [
            "Kofi Annan visited Accra yesterday",
            "the children ate rice and beans",
            "Ada wrote a long letter to Musa",
            "Kofi alikwenda Accra jana",
            "watoto walikula wali na maharagwe",
        ];
        let path = dir.join(format!("{model:?}.json"));
        train(model, 120, 1, lines.iter().cycle().take(50))?
            .save(&path, false)
            .map_err(|e| e.to_string())?;
        Ok(Tok::from_file(&path)?)
    }

    fn sentence(text: &str, ne: &[usize]) -> TaggedSentence {
        let words: Vec<String> = text.split(' ').map(str::to_string).collect();
        let k = words.len();
        TaggedSentence {
            ner: (0..k)
                .map(|i| Some(if ne.contains(&i) { "B-PER" } else { "O" }.to_string()))
                .collect(),
            pos: vec![None; k],
            words,
        }
    }

    fn id(t: &Tok, s: &str) -> u32 {
        t.inner.token_to_id(s).unwrap_or(u32::MAX)
    }

    #[test]
    fn tlm_pairs_use_each_family_layout_and_keep_word_classes() -> Res {
        let dir = tempfile::tempdir()?;
        let src = sentence("the children ate rice", &[]);
        let tgt = sentence("Kofi alikwenda Accra jana", &[0, 2]);
        for model in [ModelType::Bpe, ModelType::Wordpiece] {
            let t = tok(model, dir.path())?;
            let d = Dataset::from_pairs([(src.clone(), tgt.clone())], &t)?;
            let ex = &d.examples[0];
            let (a, _) = t.encode_words(&src.words)?;
            let (b, _) = t.encode_words(&tgt.words)?;
            // Each side without its own specials.
            let (a, b) = (&a[1..a.len() - 1], &b[1..b.len() - 1]);
            let want: Vec<u32> = match model {
                ModelType::Wordpiece => {
                    let (cls, sep) = (id(&t, "[CLS]"), id(&t, "[SEP]"));
                    [&[cls][..], a, &[sep], b, &[sep]].concat()
                }
                _ => {
                    let (s, e) = (id(&t, "<s>"), id(&t, "</s>"));
                    [&[s][..], a, &[e, e], b, &[e]].concat()
                }
            };
            assert_eq!(ex.ids, want, "{model:?}");
            // Token types: BERT 0 through the first [SEP], 1 after; RoBERTa none.
            match model {
                ModelType::Wordpiece => {
                    let first_sep = a.len() + 1;
                    let types: Vec<u8> = (0..want.len()).map(|i| u8::from(i > first_sep)).collect();
                    assert_eq!(ex.type_ids, types);
                }
                _ => assert!(ex.type_ids.is_empty()),
            }
            // Words: the source's 4, then the target's 4 (shifted), each with its class.
            assert_eq!(ex.classes.len(), 8);
            assert_eq!(ex.classes[4], WordClass::Ne);
            assert_eq!(ex.classes[6], WordClass::Ne);
            assert!(ex.classes[..4].iter().all(|c| *c == WordClass::Other));
            let tgt_words: Vec<u32> = ex
                .word_ids
                .iter()
                .flatten()
                .copied()
                .filter(|&w| w >= 4)
                .collect();
            assert_eq!(tgt_words.first(), Some(&4));
            assert_eq!(tgt_words.last(), Some(&7));
            // Labels line up with the original ids at the masked positions, and NE-only LEM
            // masks the target's entities (the source has none).
            let vocab = VocabSpec::from_tok(&t)?;
            let unit = UnitMasking {
                spec: MaskSpec {
                    strategy: Strategy::Lem(LemParams::default()),
                    replace: ReplaceProbs {
                        mask: 1.0,
                        random: 0.0,
                    },
                },
                tags: None,
            };
            let batch = collate(&[ex], &unit, &vocab, None, 3, |_| 0, Device::Cpu)?;
            let labels = Vec::<i64>::try_from(batch.labels.flatten(0, -1))?;
            let inputs = Vec::<i64>::try_from(batch.input_ids.flatten(0, -1))?;
            let masked: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != -100).collect();
            assert!(!masked.is_empty());
            for &p in &masked {
                assert_eq!(labels[p], i64::from(ex.ids[p]));
                assert_eq!(inputs[p], i64::from(t.vocab.mask_id));
            }
            assert!(masked
                .iter()
                .any(|&p| ex.word_ids[p].is_some_and(|w| ex.classes[w as usize] == WordClass::Ne)));
            assert_eq!(batch.counts.priority[0] as usize, masked.len().clamp(1, 2));
            match model {
                ModelType::Wordpiece => assert!(batch.token_type_ids.is_some()),
                _ => assert!(batch.token_type_ids.is_none()),
            }
        }
        Ok(())
    }

    #[test]
    fn pairs_are_truncated_longest_first_to_max_len() -> Res {
        let dir = tempfile::tempdir()?;
        let mut t = tok(ModelType::Bpe, dir.path())?;
        t.max_len = Some(12);
        let long = sentence("the children ate rice and beans and rice and beans", &[]);
        let short = sentence("Kofi jana", &[0]);
        let d = Dataset::from_pairs([(long, short)], &t)?;
        let ex = &d.examples[0];
        assert_eq!(ex.ids.len(), 12);
        // The short side survives whole.
        assert!(ex.word_ids.iter().flatten().any(|&w| w == 10));
        assert!(ex.word_ids.iter().flatten().any(|&w| w == 11));
        Ok(())
    }

    #[test]
    fn pair_records_read_from_target_fields_or_translation() -> Res {
        let v = serde_json::json!({
            "text": "Kofi ate", "ner_tags": ["B-PER", "O"],
            "target": {"tokens": ["Kofi", "alikula"], "ner_tags": ["B-PER", "O"]}
        });
        let (s, t) = pair_from_json(&v, "target")?;
        assert_eq!((s.words.len(), t.words.len()), (2, 2));
        assert_eq!(t.ner[0].as_deref(), Some("B-PER"));
        let v = serde_json::json!({
            "text": "Kofi ate", "lang": "eng",
            "translation": {"eng": "Kofi ate", "swh": "Kofi alikula wali"}
        });
        let (_, t) = pair_from_json(&v, "target")?;
        assert_eq!(t.words, ["Kofi", "alikula", "wali"]);
        let bad = serde_json::json!({"text": "x"});
        assert!(pair_from_json(&bad, "target").is_err());
        Ok(())
    }
}
