//! Masking: pure masking plans ([`plan`]) and the glue that turns a tagged sentence and
//! a tokenizer into a plan ([`plan_sentence`]), used by the `plan_masks` stage and the
//! `mavuno mask` command; [`spec::Masking`] is the masking spec every config and verb shares.
pub mod plan;
pub mod plan_masks;
pub mod spec;

use crate::curriculum::climb_pos_index;
use crate::tokenize::corpus::TaggedSentence;
use crate::tokenize::{Tok, TokenizeError};
use plan::{
    example_rng, plan_masks, MaskInput, MaskPlan, MaskSpec, MaskStats, Replacement, WordClass,
};
use serde_json::{json, Map, Value};

/// A planned sentence: the encoding, the per-word annotations and the plan.
#[derive(Clone, Debug)]
pub struct PlannedSentence {
    /// Token ids, specials included.
    pub ids: Vec<u32>,
    /// Word index per token.
    pub word_ids: Vec<Option<u32>>,
    /// LEM class per word.
    pub classes: Vec<WordClass>,
    /// POS-unit tag index per word.
    pub tags: Vec<Option<u16>>,
    /// The plan.
    pub plan: MaskPlan,
}

impl PlannedSentence {
    /// The input view of this sentence.
    pub fn input(&self) -> MaskInput<'_> {
        MaskInput {
            token_ids: &self.ids,
            word_ids: &self.word_ids,
            word_classes: &self.classes,
            word_tags: &self.tags,
        }
    }

    /// Adds the plan to `stats`.
    pub fn add_to(&self, stats: &mut MaskStats) {
        stats.add(&self.input(), &self.plan);
    }

    /// The JSON fields written per sentence: `input_ids`, `word_ids`, `mask` (token
    /// indices), `replacement` (`mask`/`random`/`keep`), `replacement_ids` (the id that
    /// goes in: mask id, random id or the original), `word_class`, and `pos_labels` for
    /// the POS objective.
    pub fn to_fields(&self, mask_id: u32) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("input_ids".into(), json!(self.ids));
        m.insert("word_ids".into(), json!(self.word_ids));
        m.insert("mask".into(), json!(self.plan.positions));
        m.insert(
            "replacement".into(),
            json!(self
                .plan
                .replacements
                .iter()
                .map(|r| r.kind())
                .collect::<Vec<_>>()),
        );
        let rep_ids: Vec<u32> = self
            .plan
            .positions
            .iter()
            .zip(&self.plan.replacements)
            .map(|(&p, r)| match r {
                Replacement::Mask => mask_id,
                Replacement::Random(x) => *x,
                Replacement::Keep => self.ids.get(p).copied().unwrap_or(0),
            })
            .collect();
        m.insert("replacement_ids".into(), json!(rep_ids));
        m.insert("word_class".into(), json!(self.plan.word_classes));
        if !self.plan.pos_labels.is_empty() || !self.tags.is_empty() {
            m.insert("pos_labels".into(), json!(self.plan.pos_labels));
        }
        m
    }
}

/// Per-word LEM classes and POS-unit tag indices of a tagged sentence. `unit_tags` is the
/// POS unit's tag list (CLIMB universal tags; UPOS is mapped onto it).
pub fn annotate(s: &TaggedSentence, unit_tags: &[String]) -> (Vec<WordClass>, Vec<Option<u16>>) {
    let classes = (0..s.words.len())
        .map(|i| {
            WordClass::of_word(
                &s.words[i],
                s.ner.get(i).and_then(|x| x.as_deref()),
                s.pos.get(i).and_then(|x| x.as_deref()),
            )
        })
        .collect();
    let tags = if unit_tags.is_empty() {
        Vec::new()
    } else {
        (0..s.words.len())
            .map(|i| {
                let t = s.pos.get(i).and_then(|x| x.as_deref())?;
                let universal = crate::curriculum::CLIMB_POS[climb_pos_index(t)];
                unit_tags
                    .iter()
                    .position(|u| u == universal || u == t)
                    .map(|k| k as u16)
            })
            .collect()
    };
    (classes, tags)
}

/// Encodes, annotates and plans one sentence with the RNG of (seed, index).
pub fn plan_sentence(
    tok: &Tok,
    s: &TaggedSentence,
    spec: &MaskSpec,
    unit_tags: &[String],
    seed: u64,
    index: u64,
) -> Result<PlannedSentence, TokenizeError> {
    let (ids, word_ids) = tok.encode_words(&s.words)?;
    let (classes, tags) = annotate(s, unit_tags);
    let mut out = PlannedSentence {
        ids,
        word_ids,
        classes,
        tags,
        plan: MaskPlan::default(),
    };
    out.plan = plan_masks(
        &out.input(),
        spec,
        &tok.vocab,
        &mut example_rng(seed, index),
    );
    Ok(out)
}

#[cfg(test)]
mod real_data_tests;
