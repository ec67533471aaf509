//! Masking plans: which token positions a masked-LM collator corrupts, and how.
//!
//! Everything here is a pure function over token ids, the word index of each token, a
//! class per word and a seeded [`ChaCha8Rng`]; nothing depends on the engine, so the
//! libtorch collator in `models/` calls [`plan_masks`] directly:
//!
//! ```
//! use mavuno_stages::mask::plan::*;
//! let ids = [0u32, 17, 18, 19, 2];
//! let words = [None, Some(0), Some(0), Some(1), None];
//! let classes = [WordClass::Ne, WordClass::Other];
//! let input = MaskInput { token_ids: &ids, word_ids: &words, word_classes: &classes, word_tags: &[] };
//! let spec = MaskSpec::default(); // LEM, 80/10/10
//! let vocab = VocabInfo { vocab_size: 100, mask_id: 4, special_ids: vec![0, 1, 2, 3, 4] };
//! let plan = plan_masks(&input, &spec, &vocab, &mut example_rng(42, 0));
//! let mut corrupted = ids.to_vec();
//! plan.apply(&mut corrupted, vocab.mask_id);
//! let labels = plan.labels(&ids); // -100 where not masked
//! assert_eq!(plan.positions.len(), 1);
//! assert!(matches!(plan.word_classes[0], WordClass::Ne));
//! # let _ = labels;
//! ```
//!
//! Strategies ([`Strategy`]):
//! * `token`: BERT, every selectable token independently with probability `rate`.
//! * `whole_word`: BERT whole-word masking (shuffle words, add whole words while the
//!   token count stays within `round(rate · len)`).
//! * `span`: ERNIE-Gram n-grams (n ≤ `max_n`, P(n) ∝ 1/n) or SpanBERT spans (geometric
//!   length in words, p = 0.2, clipped at 10), whole words, up to `round(rate · len)` tokens.
//! * `lem`: Linguistic Entity Masking (SEEDS §1.3): one subword per NE/verb/noun word,
//!   then a fill pass; see [`plan_lem`].
//! * `pos_objective`: CLIMB's word-class unit (SEEDS §2.4): tokens whose word has a tag
//!   in the unit's list are masked at 0.40, others at 0.15; [`MaskPlan::pos_labels`].
//!
//! Selected positions are then replaced ([`ReplaceProbs`]): `<mask>` with probability
//! `mask`, a uniformly random vocabulary id with probability `random` (over the whole
//! vocabulary, as HF's `DataCollatorForLanguageModeling` does), otherwise kept. Special
//! tokens (word id `None`, or an id in `special_ids`) are never selected.
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The linguistic class of a word, as LEM uses it. A word with several labels takes the
/// first of NE > VERB > NOUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum WordClass {
    /// A named-entity word (any non-O NER label).
    #[serde(rename = "NE")]
    Ne,
    /// A verb.
    #[serde(rename = "VERB")]
    Verb,
    /// A noun (common or proper).
    #[serde(rename = "NOUN")]
    Noun,
    /// Anything else.
    #[serde(rename = "OTHER")]
    #[default]
    Other,
}

impl WordClass {
    /// All classes, in report order.
    pub const ALL: [WordClass; 4] = [
        WordClass::Ne,
        WordClass::Verb,
        WordClass::Noun,
        WordClass::Other,
    ];

    /// Index into [`WordClass::ALL`].
    pub fn index(self) -> usize {
        match self {
            WordClass::Ne => 0,
            WordClass::Verb => 1,
            WordClass::Noun => 2,
            WordClass::Other => 3,
        }
    }

    /// The report name (`NE`, `VERB`, `NOUN`, `OTHER`).
    pub fn name(self) -> &'static str {
        ["NE", "VERB", "NOUN", "OTHER"][self.index()]
    }

    /// The LEM class of `word`: as [`WordClass::from_tags`], except that a word matching a
    /// number pattern ([`is_number_like`]) is never an NE, as the released scripts exclude
    /// NER hits that match their number regex (it then takes its POS class).
    pub fn of_word(word: &str, ner: Option<&str>, pos: Option<&str>) -> WordClass {
        match WordClass::from_tags(ner, pos) {
            WordClass::Ne if is_number_like(word) => WordClass::from_tags(None, pos),
            c => c,
        }
    }

    /// The LEM class of a word from its (optional) NER label and POS tag. UPOS `NOUN`
    /// and `PROPN` and the LEM dictionaries' noun tags (`NN*`, `NNC`, `NNP`) are nouns;
    /// `VERB`, PTB `VB*` and the Sinhala `VNN VFM VNF VP` are verbs; `AUX` is not.
    pub fn from_tags(ner: Option<&str>, pos: Option<&str>) -> WordClass {
        if let Some(n) = ner {
            let n = n.trim();
            if !n.is_empty() && n != "O" && n != "0" && n != "_" {
                return WordClass::Ne;
            }
        }
        match pos.map(str::trim) {
            Some(
                "VERB" | "VB" | "VBD" | "VBG" | "VBN" | "VBP" | "VBZ" | "VNN" | "VFM" | "VNF"
                | "VP",
            ) => WordClass::Verb,
            Some("NOUN" | "PROPN" | "NN" | "NNS" | "NNP" | "NNPS" | "NPPS" | "NNC") => {
                WordClass::Noun
            }
            _ => WordClass::Other,
        }
    }
}

/// Whether `word` is a number: digits (any script) with optional sign, separators
/// (`.`, `,`, `:`, `/`, `-`) and a trailing `%`, e.g. `2024`, `3.5`, `12/05/2024`, `-7`,
/// `50%`, `١٢`. The released LEM scripts drop NER hits matching such a pattern.
pub fn is_number_like(word: &str) -> bool {
    let w = word.trim();
    let w = w.strip_prefix(['+', '-']).unwrap_or(w);
    let w = w.strip_suffix('%').unwrap_or(w);
    w.chars().any(char::is_numeric)
        && w.chars().next().is_some_and(char::is_numeric)
        && w.chars().last().is_some_and(char::is_numeric)
        && w.chars()
            .all(|c| c.is_numeric() || matches!(c, '.' | ',' | ':' | '/' | '-'))
}

/// What happens to a selected position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// Replaced by the mask token.
    Mask,
    /// Replaced by this random vocabulary id.
    Random(u32),
    /// Left unchanged (still predicted).
    Keep,
}

impl Replacement {
    /// `mask`, `random` or `keep`.
    pub fn kind(self) -> &'static str {
        match self {
            Replacement::Mask => "mask",
            Replacement::Random(_) => "random",
            Replacement::Keep => "keep",
        }
    }
}

/// Replacement probabilities of selected positions; `keep = 1 − mask − random`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceProbs {
    /// Probability of `<mask>` (BERT/LEM 0.8; CLIMB's MLM unit 0.9).
    pub mask: f64,
    /// Probability of a random vocabulary id (0.1).
    pub random: f64,
}

impl ReplaceProbs {
    /// BERT and LEM: 80% mask, 10% random, 10% kept.
    pub const BERT: ReplaceProbs = ReplaceProbs {
        mask: 0.8,
        random: 0.1,
    };
    /// CLIMB's MLM unit (`unmask_probability = 0`): 90% mask, 10% random.
    pub const CLIMB: ReplaceProbs = ReplaceProbs {
        mask: 0.9,
        random: 0.1,
    };
}

impl Default for ReplaceProbs {
    fn default() -> Self {
        ReplaceProbs::BERT
    }
}

/// How span lengths are drawn for [`Strategy::Span`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SpanLength {
    /// ERNIE-Gram: n-grams of 1..=max_n words with P(n) ∝ 1/n.
    Ngram {
        /// Longest n-gram (ERNIE-Gram: 3).
        max_n: usize,
    },
    /// SpanBERT: geometric length in words with parameter p, clipped at `max_len`.
    Geometric {
        /// Geometric parameter (SpanBERT: 0.2).
        p: f64,
        /// Longest span in words (SpanBERT: 10).
        max_len: usize,
    },
}

fn d_rate() -> f64 {
    0.15
}
fn d_tagged_rate() -> f64 {
    0.4
}
fn d_span_length() -> SpanLength {
    SpanLength::Ngram { max_n: 3 }
}

/// A masking strategy and its parameters: the one masking spec that `plan_masks`,
/// `train_mlm`, `mavuno mask` and `mavuno pretrain` share (in configs through
/// [`crate::mask::spec::Masking`], which also accepts a preset name). Every field has the
/// default of its paper, so `{ strategy = "lem" }` is the LEM default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy", deny_unknown_fields)]
pub enum Strategy {
    /// Independent per-token selection (BERT).
    Token {
        /// Selection probability per selectable token (0.15).
        #[serde(default = "d_rate")]
        rate: f64,
    },
    /// Whole-word masking (BERT wwm).
    WholeWord {
        /// Target share of the sequence's tokens (0.15).
        #[serde(default = "d_rate")]
        rate: f64,
    },
    /// Contiguous word spans (ERNIE-Gram n-grams or SpanBERT).
    Span {
        /// Target share of the sequence's tokens (0.15).
        #[serde(default = "d_rate")]
        rate: f64,
        /// How span lengths are drawn (ERNIE-Gram n ≤ 3 by default).
        #[serde(default = "d_span_length")]
        length: SpanLength,
    },
    /// Linguistic Entity Masking (SEEDS §1.3).
    Lem(LemParams),
    /// CLIMB's POS objective unit (SEEDS §2.4); needs `word_tags`.
    PosObjective {
        /// Selection probability of tokens whose word has a tag in the unit's list (0.40).
        #[serde(default = "d_tagged_rate")]
        tagged_rate: f64,
        /// Selection probability of every other non-special token (0.15).
        #[serde(default = "d_rate")]
        other_rate: f64,
    },
}

/// LEM parameters. Defaults: the variant the authors report as best (NE only: p_NE = 1,
/// p_verb = p_noun = 0, as in their released Ta-En MLM script), 15 %, the pass-2 counter
/// quirk fixed so the realised rate is the nominal one (see docs/EXPERIMENTS.md §0). With
/// every class rate 0 the same collator masks random words, one subword each, at `rate`:
/// the authors' matched MLM baseline (preset `lem_random_word`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LemParams {
    /// Global rate p_global (0.15).
    pub rate: f64,
    /// Cap on the global budget (512).
    pub max_masks: usize,
    /// p_NE (1.0; 0 turns NE priority off).
    pub p_ne: f64,
    /// p_verb (0.0).
    pub p_verb: f64,
    /// p_noun (0.0).
    pub p_noun: f64,
    /// Reproduce the released code's pass-2 counter quirk (the counter advances on words
    /// already covered in pass 1, so the realised rate falls below p_global).
    #[serde(alias = "fill_quirk")]
    pub quirk: bool,
}

impl Default for LemParams {
    fn default() -> Self {
        LemParams {
            rate: 0.15,
            max_masks: 512,
            p_ne: 1.0,
            p_verb: 0.0,
            p_noun: 0.0,
            quirk: false,
        }
    }
}

impl LemParams {
    /// LEM with these class rates and every other parameter at its default.
    pub const fn with_classes(p_ne: f64, p_verb: f64, p_noun: f64) -> LemParams {
        LemParams {
            rate: 0.15,
            max_masks: 512,
            p_ne,
            p_verb,
            p_noun,
            quirk: false,
        }
    }
}

impl Strategy {
    /// The strategy's name as used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Token { .. } => "token",
            Strategy::WholeWord { .. } => "whole_word",
            Strategy::Span { .. } => "span",
            Strategy::Lem(_) => "lem",
            Strategy::PosObjective { .. } => "pos_objective",
        }
    }

    /// Preset names accepted by [`Strategy::by_name`], for messages.
    pub const PRESETS: &'static str = "token, whole_word, span, spanbert, lem (= lem_ne), \
lem_ne, lem_ne_verb, lem_all, lem_random_word, lem_quirk, pos_objective";

    /// The strategy with its default parameters, from its name (`span` is ERNIE-Gram,
    /// `spanbert` the geometric variant). The LEM presets are the released scripts'
    /// class-rate combinations: `lem_ne` (the default `lem`, the authors' best), `lem_ne_verb`,
    /// `lem_all` (NE, verb and noun), and `lem_random_word`, every class rate 0: random words,
    /// one subword each, at 15 % — the authors' MLM baseline, which differs from LEM in
    /// entity priority only. `lem_quirk` is `lem_all` with the released pass-2 counter quirk.
    pub fn by_name(name: &str) -> Option<Strategy> {
        Some(match name {
            "token" => Strategy::Token { rate: d_rate() },
            "whole_word" => Strategy::WholeWord { rate: d_rate() },
            "span" | "ngram" | "ernie_gram" => Strategy::Span {
                rate: d_rate(),
                length: d_span_length(),
            },
            "spanbert" => Strategy::Span {
                rate: d_rate(),
                length: SpanLength::Geometric {
                    p: 0.2,
                    max_len: 10,
                },
            },
            "lem" | "lem_ne" => Strategy::Lem(LemParams::default()),
            "lem_ne_verb" => Strategy::Lem(LemParams::with_classes(1.0, 1.0, 0.0)),
            "lem_all" => Strategy::Lem(LemParams::with_classes(1.0, 1.0, 1.0)),
            "lem_random_word" => Strategy::Lem(LemParams::with_classes(0.0, 0.0, 0.0)),
            "lem_quirk" => Strategy::Lem(LemParams {
                quirk: true,
                ..LemParams::with_classes(1.0, 1.0, 1.0)
            }),
            "pos_objective" => Strategy::PosObjective {
                tagged_rate: d_tagged_rate(),
                other_rate: d_rate(),
            },
            _ => return None,
        })
    }

    /// Checks parameter ranges; returns a message for the first problem.
    pub fn check(&self) -> Result<(), String> {
        let unit = |name: &str, x: f64| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                Err(format!("{name} must be in [0, 1], got {x}"))
            }
        };
        match self {
            Strategy::Token { rate } | Strategy::WholeWord { rate } => unit("rate", *rate),
            Strategy::Span { rate, length } => {
                unit("rate", *rate)?;
                match length {
                    SpanLength::Ngram { max_n } if *max_n == 0 => {
                        Err("max_n must be at least 1".into())
                    }
                    SpanLength::Geometric { p, .. } if !(*p > 0.0 && *p <= 1.0) => {
                        Err(format!("p must be in (0, 1], got {p}"))
                    }
                    SpanLength::Geometric { max_len: 0, .. } => {
                        Err("max_len must be at least 1".into())
                    }
                    _ => Ok(()),
                }
            }
            Strategy::Lem(l) => {
                unit("rate", l.rate)?;
                unit("p_ne", l.p_ne)?;
                unit("p_verb", l.p_verb)?;
                unit("p_noun", l.p_noun)
            }
            Strategy::PosObjective {
                tagged_rate,
                other_rate,
            } => {
                unit("tagged_rate", *tagged_rate)?;
                unit("other_rate", *other_rate)
            }
        }
    }
}

/// A strategy plus replacement probabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskSpec {
    /// Which positions to select.
    pub strategy: Strategy,
    /// How to replace them.
    pub replace: ReplaceProbs,
}

impl Default for MaskSpec {
    fn default() -> Self {
        MaskSpec {
            strategy: Strategy::Lem(LemParams::default()),
            replace: ReplaceProbs::BERT,
        }
    }
}

/// What the tokenizer contributes: vocabulary size (for random replacements), the mask
/// id and the ids that are never selected (specials, pad).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VocabInfo {
    /// Number of ids; random replacements are uniform in `0..vocab_size`.
    pub vocab_size: u32,
    /// The `<mask>` / `[MASK]` id.
    pub mask_id: u32,
    /// Ids never selected (all special tokens, including pad).
    pub special_ids: Vec<u32>,
}

/// One sequence to plan.
#[derive(Clone, Copy, Debug)]
pub struct MaskInput<'a> {
    /// Token ids, specials included (padding may be included: pad ids are never selected,
    /// but count towards `len` for LEM, so pass unpadded sequences).
    pub token_ids: &'a [u32],
    /// Word index of each token; `None` for special tokens.
    pub word_ids: &'a [Option<u32>],
    /// Class of each word, indexed by word id (missing entries are `Other`).
    pub word_classes: &'a [WordClass],
    /// For `pos_objective`: the index of each word's tag in the unit's tag list, or
    /// `None` when its tag is not in the list. May be empty for other strategies.
    pub word_tags: &'a [Option<u16>],
}

/// The plan for one sequence. `positions` is sorted; the other vectors run parallel to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaskPlan {
    /// Selected token positions, ascending.
    pub positions: Vec<usize>,
    /// Replacement of each selected position.
    pub replacements: Vec<Replacement>,
    /// Class of the word each selected position belongs to.
    pub word_classes: Vec<WordClass>,
    /// For `pos_objective`: the label of each selected position (tag index + 1, 0 = other).
    pub pos_labels: Vec<u16>,
    /// Number of selectable (non-special) tokens in the sequence.
    pub selectable: usize,
    /// LEM: positions selected by the entity pass, per class (NE, verb, noun); every other
    /// selected position is a fill mask. All zero for other strategies.
    #[serde(default)]
    pub priority: [u32; 3],
}

impl MaskPlan {
    /// Applies the replacements to `ids` in place.
    pub fn apply(&self, ids: &mut [u32], mask_id: u32) {
        for (&p, r) in self.positions.iter().zip(&self.replacements) {
            if let Some(t) = ids.get_mut(p) {
                match r {
                    Replacement::Mask => *t = mask_id,
                    Replacement::Random(x) => *t = *x,
                    Replacement::Keep => {}
                }
            }
        }
    }

    /// MLM labels: the original id at selected positions, −100 elsewhere.
    pub fn labels(&self, original: &[u32]) -> Vec<i64> {
        let mut l = vec![-100i64; original.len()];
        for &p in &self.positions {
            if let (Some(x), Some(&o)) = (l.get_mut(p), original.get(p)) {
                *x = i64::from(o);
            }
        }
        l
    }

    /// POS-objective labels over `len` positions: tag index + 1 (0 = other) at selected
    /// positions, −100 elsewhere.
    pub fn pos_label_vec(&self, len: usize) -> Vec<i64> {
        let mut l = vec![-100i64; len];
        for (&p, &t) in self.positions.iter().zip(&self.pos_labels) {
            if let Some(x) = l.get_mut(p) {
                *x = i64::from(t);
            }
        }
        l
    }
}

/// The RNG for example `index` under `seed`: the same (seed, index) always gives the same
/// plan, whatever order or thread examples are planned in.
pub fn example_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(index);
    r
}

/// Groups selectable positions by word, in order of first appearance. Returns
/// `(word id, positions)` pairs.
fn word_groups(input: &MaskInput, vocab: &VocabInfo) -> Vec<(u32, Vec<usize>)> {
    let mut groups: Vec<(u32, Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (i, (&id, w)) in input.token_ids.iter().zip(input.word_ids).enumerate() {
        let Some(w) = *w else { continue };
        if vocab.special_ids.contains(&id) {
            continue;
        }
        // Fast path: consecutive tokens of the same word.
        if let Some(last) = groups.last_mut() {
            if last.0 == w {
                last.1.push(i);
                continue;
            }
        }
        match index.get(&w) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(w, groups.len());
                groups.push((w, vec![i]));
            }
        }
    }
    groups
}

fn is_selectable(input: &MaskInput, vocab: &VocabInfo, i: usize) -> bool {
    matches!(input.word_ids.get(i), Some(Some(_)))
        && input
            .token_ids
            .get(i)
            .is_some_and(|id| !vocab.special_ids.contains(id))
}

fn class_of(input: &MaskInput, word: u32) -> WordClass {
    input
        .word_classes
        .get(word as usize)
        .copied()
        .unwrap_or_default()
}

/// Python's `round` (banker's rounding) for budgets, as the released scripts use it.
fn py_round(x: f64) -> usize {
    let r = x.round_ties_even();
    if r < 0.0 {
        0
    } else {
        r as usize
    }
}

/// Plans one sequence. Deterministic given the RNG state.
pub fn plan_masks(
    input: &MaskInput,
    spec: &MaskSpec,
    vocab: &VocabInfo,
    rng: &mut ChaCha8Rng,
) -> MaskPlan {
    let n = input.token_ids.len().min(input.word_ids.len());
    let selectable = (0..n).filter(|&i| is_selectable(input, vocab, i)).count();
    let mut priority = [0u32; 3];
    let mut selected: Vec<usize> = match &spec.strategy {
        Strategy::Token { rate } => (0..n)
            .filter(|&i| is_selectable(input, vocab, i) && rng.random::<f64>() < *rate)
            .collect(),
        Strategy::WholeWord { rate } => plan_whole_word(input, vocab, *rate, rng),
        Strategy::Span { rate, length } => plan_spans(input, vocab, *rate, *length, rng),
        Strategy::Lem(p) => {
            let (sel, pri) = plan_lem(input, vocab, p, rng);
            priority = pri;
            sel
        }
        Strategy::PosObjective {
            tagged_rate,
            other_rate,
        } => (0..n)
            .filter(|&i| {
                if !is_selectable(input, vocab, i) {
                    return false;
                }
                let tagged = input.word_ids[i]
                    .and_then(|w| input.word_tags.get(w as usize).copied().flatten())
                    .is_some();
                rng.random::<f64>() < if tagged { *tagged_rate } else { *other_rate }
            })
            .collect(),
    };
    selected.sort_unstable();
    selected.dedup();
    let mut plan = MaskPlan {
        selectable,
        priority,
        ..MaskPlan::default()
    };
    for &p in &selected {
        let r: f64 = rng.random();
        let rep = if r < spec.replace.mask {
            Replacement::Mask
        } else if r < spec.replace.mask + spec.replace.random {
            Replacement::Random(rng.random_range(0..vocab.vocab_size.max(1)))
        } else {
            Replacement::Keep
        };
        let word = input.word_ids[p];
        plan.replacements.push(rep);
        plan.word_classes
            .push(word.map(|w| class_of(input, w)).unwrap_or_default());
        if matches!(spec.strategy, Strategy::PosObjective { .. }) {
            let t = word.and_then(|w| input.word_tags.get(w as usize).copied().flatten());
            plan.pos_labels.push(t.map(|t| t + 1).unwrap_or(0));
        }
    }
    plan.positions = selected;
    plan
}

/// BERT whole-word masking (HF `DataCollatorForWholeWordMask`): shuffle the words, then
/// add whole words while the total stays ≤ `max(1, round(rate · len))`.
fn plan_whole_word(
    input: &MaskInput,
    vocab: &VocabInfo,
    rate: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let mut words = word_groups(input, vocab);
    words.shuffle(rng);
    let budget = py_round(rate * input.token_ids.len() as f64).max(1);
    let mut out = Vec::new();
    for (_, pos) in words {
        if out.len() >= budget {
            break;
        }
        if out.len() + pos.len() > budget {
            continue;
        }
        out.extend(pos);
    }
    out
}

/// ERNIE-Gram / SpanBERT spans over whole words, up to `max(1, round(rate · len))` tokens.
/// Start words are visited in random order; a span that overlaps an earlier one or would
/// exceed the budget is skipped.
fn plan_spans(
    input: &MaskInput,
    vocab: &VocabInfo,
    rate: f64,
    length: SpanLength,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let words = word_groups(input, vocab);
    let budget = py_round(rate * input.token_ids.len() as f64).max(1);
    let mut starts: Vec<usize> = (0..words.len()).collect();
    starts.shuffle(rng);
    let mut covered = vec![false; words.len()];
    let mut out = Vec::new();
    for s in starts {
        if out.len() >= budget {
            break;
        }
        let len = match length {
            SpanLength::Ngram { max_n } => {
                // P(n) ∝ 1/n, n = 1..=max_n.
                let total: f64 = (1..=max_n).map(|k| 1.0 / k as f64).sum();
                let mut u = rng.random::<f64>() * total;
                let mut n = max_n;
                for k in 1..=max_n {
                    u -= 1.0 / k as f64;
                    if u < 0.0 {
                        n = k;
                        break;
                    }
                }
                n
            }
            SpanLength::Geometric { p, max_len } => {
                // Number of trials to the first success, clipped.
                let mut k = 1;
                while k < max_len && rng.random::<f64>() >= p {
                    k += 1;
                }
                k
            }
        };
        let end = (s + len).min(words.len());
        if covered[s..end].iter().any(|&c| c) {
            continue;
        }
        let ntok: usize = words[s..end].iter().map(|w| w.1.len()).sum();
        if out.len() + ntok > budget {
            continue;
        }
        for w in s..end {
            covered[w] = true;
            out.extend(&words[w].1);
        }
    }
    out
}

/// LEM, SEEDS §1.3 steps 3–6:
/// 1. shuffle the words;
/// 2. `N_global = min(max_masks, max(1, round(rate · len(tokens incl. specials))))`;
///    each class c with p_c > 0 present in the sentence gets
///    `N_c = max(1, round(p_c · #subwords of class-c words))`, spent one per word;
/// 3. pass 1: walk the shuffled words while `#masked < N_global`; an NE (else verb, else
///    noun) word with budget left gets one random subword masked and is marked covered;
/// 4. pass 2: `N_rand = N_global − #masked`; walk the same order and mask one random
///    subword of each uncovered word until `N_rand` are used. With `fill_quirk` the
///    counter also advances on covered words, as in the released scripts (`quirk`).
///
/// Returns the selected positions and how many of them the entity pass chose per class.
pub fn plan_lem(
    input: &MaskInput,
    vocab: &VocabInfo,
    p: &LemParams,
    rng: &mut ChaCha8Rng,
) -> (Vec<usize>, [u32; 3]) {
    let mut words = word_groups(input, vocab);
    words.shuffle(rng);
    let n_global = py_round(p.rate * input.token_ids.len() as f64)
        .max(1)
        .min(p.max_masks);
    let probs = [p.p_ne, p.p_verb, p.p_noun];
    let mut budget = [0usize; 3];
    for (c, b) in budget.iter_mut().enumerate() {
        let subwords: usize = words
            .iter()
            .filter(|(w, _)| class_of(input, *w).index() == c)
            .map(|(_, pos)| pos.len())
            .sum();
        if probs[c] > 0.0 && subwords > 0 {
            *b = py_round(probs[c] * subwords as f64).max(1);
        }
    }
    let mut covered = vec![false; words.len()];
    let mut out = Vec::new();
    let mut priority = [0u32; 3];
    for (k, (w, pos)) in words.iter().enumerate() {
        if out.len() >= n_global {
            break;
        }
        let c = class_of(input, *w).index();
        if c < 3 && budget[c] > 0 {
            out.push(pos[rng.random_range(0..pos.len())]);
            budget[c] -= 1;
            priority[c] += 1;
            covered[k] = true;
        }
    }
    let n_rand = n_global.saturating_sub(out.len());
    let mut counter = 0usize;
    for (k, (_, pos)) in words.iter().enumerate() {
        if counter >= n_rand {
            break;
        }
        if covered[k] {
            if p.quirk {
                counter += 1;
            }
            continue;
        }
        out.push(pos[rng.random_range(0..pos.len())]);
        covered[k] = true;
        counter += 1;
    }
    (out, priority)
}

/// Aggregate statistics over many plans: realised rate, masks per class, replacement
/// mix and a histogram of per-sequence rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaskStats {
    /// Sequences planned.
    pub sequences: u64,
    /// Tokens, specials included.
    pub tokens: u64,
    /// Selectable (non-special) tokens.
    pub selectable: u64,
    /// Selected positions.
    pub masked: u64,
    /// Selectable tokens per class (NE, VERB, NOUN, OTHER): the corpus share.
    pub tokens_per_class: [u64; 4],
    /// Selected positions per class (NE, VERB, NOUN, OTHER).
    pub masks_per_class: [u64; 4],
    /// LEM entity-pass selections per class (NE, VERB, NOUN); the rest are fill masks.
    #[serde(default)]
    pub priority: [u64; 3],
    /// Replacement counts: mask, random, keep.
    pub replacements: [u64; 3],
    /// Sequences with two or more selected positions in one word (LEM must have none).
    pub words_with_two_masks: u64,
    /// Per-sequence rate (selected / tokens) histogram, buckets of 0.025 from 0; the
    /// last bucket holds everything ≥ 0.5.
    pub rate_histogram: Vec<u64>,
}

impl MaskStats {
    /// Number of histogram buckets.
    pub const BUCKETS: usize = 21;

    /// Adds one plan.
    pub fn add(&mut self, input: &MaskInput, plan: &MaskPlan) {
        if self.rate_histogram.len() != Self::BUCKETS {
            self.rate_histogram = vec![0; Self::BUCKETS];
        }
        self.sequences += 1;
        self.tokens += input.token_ids.len() as u64;
        self.selectable += plan.selectable as u64;
        self.masked += plan.positions.len() as u64;
        for (i, w) in input.word_ids.iter().enumerate() {
            if let (Some(w), Some(id)) = (w, input.token_ids.get(i)) {
                let _ = id;
                self.tokens_per_class[class_of(input, *w).index()] += 1;
            }
        }
        for c in &plan.word_classes {
            self.masks_per_class[c.index()] += 1;
        }
        for (a, b) in self.priority.iter_mut().zip(plan.priority) {
            *a += u64::from(b);
        }
        for r in &plan.replacements {
            self.replacements[match r {
                Replacement::Mask => 0,
                Replacement::Random(_) => 1,
                Replacement::Keep => 2,
            }] += 1;
        }
        let mut seen = std::collections::HashSet::new();
        if plan
            .positions
            .iter()
            .filter_map(|&p| input.word_ids.get(p).copied().flatten())
            .any(|w| !seen.insert(w))
        {
            self.words_with_two_masks += 1;
        }
        let rate = if input.token_ids.is_empty() {
            0.0
        } else {
            plan.positions.len() as f64 / input.token_ids.len() as f64
        };
        let b = ((rate / 0.025) as usize).min(Self::BUCKETS - 1);
        self.rate_histogram[b] += 1;
    }

    /// Merges another accumulator (parallel planning).
    pub fn merge(&mut self, o: &MaskStats) {
        if self.rate_histogram.len() != Self::BUCKETS {
            self.rate_histogram = vec![0; Self::BUCKETS];
        }
        self.sequences += o.sequences;
        self.tokens += o.tokens;
        self.selectable += o.selectable;
        self.masked += o.masked;
        self.words_with_two_masks += o.words_with_two_masks;
        for i in 0..4 {
            self.tokens_per_class[i] += o.tokens_per_class[i];
            self.masks_per_class[i] += o.masks_per_class[i];
        }
        for i in 0..3 {
            self.replacements[i] += o.replacements[i];
            self.priority[i] += o.priority[i];
        }
        for (a, b) in self.rate_histogram.iter_mut().zip(&o.rate_histogram) {
            *a += b;
        }
    }

    /// Selected positions / all tokens (specials included, as LEM's budget counts them).
    pub fn realised_rate(&self) -> f64 {
        ratio(self.masked, self.tokens)
    }

    /// A JSON summary for reports.
    pub fn summary(&self) -> serde_json::Value {
        let share = |xs: &[u64; 4]| -> serde_json::Map<String, serde_json::Value> {
            let total: u64 = xs.iter().sum();
            WordClass::ALL
                .iter()
                .map(|c| {
                    (
                        c.name().to_string(),
                        serde_json::json!(ratio(xs[c.index()], total)),
                    )
                })
                .collect()
        };
        let counts: serde_json::Map<String, serde_json::Value> = WordClass::ALL
            .iter()
            .map(|c| {
                (
                    c.name().to_string(),
                    serde_json::json!(self.masks_per_class[c.index()]),
                )
            })
            .collect();
        let hist: Vec<serde_json::Value> = self
            .rate_histogram
            .iter()
            .enumerate()
            .map(|(i, n)| serde_json::json!({"rate_from": i as f64 * 0.025, "sequences": n}))
            .collect();
        let r = self.replacements.iter().sum::<u64>();
        serde_json::json!({
            "sequences": self.sequences,
            "tokens": self.tokens,
            "selectable_tokens": self.selectable,
            "masked": self.masked,
            "realised_rate": self.realised_rate(),
            "realised_rate_of_selectable": ratio(self.masked, self.selectable),
            "masks_per_class": counts,
            "entity_pass_masks": {"NE": self.priority[0], "VERB": self.priority[1], "NOUN": self.priority[2]},
            "fill_masks": self.masked - self.priority.iter().sum::<u64>(),
            "mask_share_per_class": share(&self.masks_per_class),
            "corpus_share_per_class": share(&self.tokens_per_class),
            "replacement_share": {"mask": ratio(self.replacements[0], r), "random": ratio(self.replacements[1], r), "keep": ratio(self.replacements[2], r)},
            "sequences_with_two_masks_in_a_word": self.words_with_two_masks,
            "rate_histogram": hist,
        })
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> VocabInfo {
        VocabInfo {
            vocab_size: 1000,
            mask_id: 4,
            special_ids: vec![0, 1, 2, 3, 4],
        }
    }

    /// `<s>` + words of `sizes[i]` subwords + `</s>`.
    fn seq(sizes: &[usize]) -> (Vec<u32>, Vec<Option<u32>>) {
        let mut ids = vec![0];
        let mut wid = vec![None];
        for (w, &s) in sizes.iter().enumerate() {
            for k in 0..s {
                ids.push(10 + (w * 7 + k) as u32);
                wid.push(Some(w as u32));
            }
        }
        ids.push(2);
        wid.push(None);
        (ids, wid)
    }

    #[test]
    fn lem_masks_entities_first_and_one_subword_per_word() {
        let (ids, wid) = seq(&[2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1]);
        let mut classes = vec![WordClass::Other; 14];
        classes[2] = WordClass::Ne;
        classes[5] = WordClass::Verb;
        let input = MaskInput {
            token_ids: &ids,
            word_ids: &wid,
            word_classes: &classes,
            word_tags: &[],
        };
        let spec = MaskSpec {
            strategy: Strategy::by_name("lem_ne_verb").unwrap(),
            replace: ReplaceProbs::BERT,
        };
        for s in 0..50 {
            let plan = plan_masks(&input, &spec, &vocab(), &mut example_rng(s, 0));
            // 21 tokens → round(3.15) = 3 masks.
            assert_eq!(plan.positions.len(), 3);
            assert!(
                plan.word_classes.contains(&WordClass::Ne)
                    && plan.word_classes.contains(&WordClass::Verb)
            );
            let mut words: Vec<_> = plan.positions.iter().map(|&p| wid[p]).collect();
            words.dedup();
            assert_eq!(words.len(), 3);
            assert!(plan.positions.iter().all(|&p| wid[p].is_some()));
        }
    }

    /// Random sentences of 8–30 words, 1–3 subwords each, with 0–2 NE words and some
    /// verbs and nouns.
    /// Token ids, word ids and word classes of one test sentence.
    type Sentence = (Vec<u32>, Vec<Option<u32>>, Vec<WordClass>);

    fn random_sentences(n: usize) -> Vec<Sentence> {
        let mut rng = example_rng(99, 0);
        (0..n)
            .map(|_| {
                let words = rng.random_range(8..=30);
                let sizes: Vec<usize> = (0..words).map(|_| rng.random_range(1..=3)).collect();
                let (ids, wid) = seq(&sizes);
                let classes = (0..words)
                    .map(|_| match rng.random_range(0..10) {
                        0 => WordClass::Ne,
                        1 | 2 => WordClass::Verb,
                        3..=5 => WordClass::Noun,
                        _ => WordClass::Other,
                    })
                    .collect();
                (ids, wid, classes)
            })
            .collect()
    }

    #[test]
    fn ne_only_lem_masks_an_ne_whenever_one_has_budget() {
        let spec = |name: &str| MaskSpec {
            strategy: Strategy::by_name(name).unwrap(),
            replace: ReplaceProbs::BERT,
        };
        let (ne_only, baseline) = (spec("lem_ne"), spec("lem_random_word"));
        assert_eq!(spec("lem"), ne_only, "the default LEM is NE only");
        let (mut with_ne, mut baseline_missed) = (0, 0);
        for (k, (ids, wid, classes)) in random_sentences(300).iter().enumerate() {
            let input = MaskInput {
                token_ids: ids,
                word_ids: wid,
                word_classes: classes,
                word_tags: &[],
            };
            if !classes.contains(&WordClass::Ne) {
                continue;
            }
            with_ne += 1;
            let plan = plan_masks(&input, &ne_only, &vocab(), &mut example_rng(5, k as u64));
            assert!(plan.word_classes.contains(&WordClass::Ne), "sentence {k}");
            // NE only: verbs and nouns get no priority, so every other mask is a fill mask
            // and the count is the global budget.
            assert_eq!(
                plan.positions.len(),
                py_round(0.15 * ids.len() as f64).max(1)
            );
            let b = plan_masks(&input, &baseline, &vocab(), &mut example_rng(5, k as u64));
            baseline_missed += usize::from(!b.word_classes.contains(&WordClass::Ne));
        }
        assert!(with_ne > 50, "{with_ne}");
        // Without priority, entities are hit only at random: the test above can fail.
        assert!(
            baseline_missed > with_ne / 4,
            "{baseline_missed} of {with_ne}"
        );
    }

    #[test]
    fn all_class_rates_zero_masks_one_subword_per_word_at_the_global_rate() {
        let spec = MaskSpec {
            strategy: Strategy::Lem(LemParams::with_classes(0.0, 0.0, 0.0)),
            replace: ReplaceProbs::BERT,
        };
        assert_eq!(spec.strategy, Strategy::by_name("lem_random_word").unwrap());
        let (mut masked, mut tokens) = (0usize, 0usize);
        let mut per_class = [0usize; 4];
        let mut words_per_class = [0usize; 4];
        for (k, (ids, wid, classes)) in random_sentences(400).iter().enumerate() {
            let input = MaskInput {
                token_ids: ids,
                word_ids: wid,
                word_classes: classes,
                word_tags: &[],
            };
            let plan = plan_masks(&input, &spec, &vocab(), &mut example_rng(8, k as u64));
            let want = py_round(0.15 * ids.len() as f64).max(1);
            assert_eq!(plan.positions.len(), want, "sentence {k}");
            let mut words: Vec<_> = plan.positions.iter().map(|&p| wid[p]).collect();
            words.sort_unstable();
            words.dedup();
            assert_eq!(words.len(), want, "one subword per masked word");
            masked += want;
            tokens += ids.len();
            for c in &plan.word_classes {
                per_class[c.index()] += 1;
            }
            for c in classes {
                words_per_class[c.index()] += 1;
            }
        }
        let rate = masked as f64 / tokens as f64;
        assert!((rate - 0.15).abs() < 0.01, "{rate}");
        // Masks fall on classes in proportion to their words (no priority): NE is 10 % of the
        // words, so its share of the masks stays near 10 % rather than LEM's ~100 %.
        let share = |c: usize, xs: &[usize; 4]| xs[c] as f64 / xs.iter().sum::<usize>() as f64;
        for c in 0..4 {
            let (m, w) = (share(c, &per_class), share(c, &words_per_class));
            assert!((m - w).abs() < 0.05, "class {c}: {m} vs {w}");
        }
    }

    #[test]
    fn number_like_words_are_not_entities() {
        for w in ["2024", "3.5", "12/05/2024", "-7", "50%", "1,000", "١٢"] {
            assert!(is_number_like(w), "{w}");
            assert_eq!(
                WordClass::of_word(w, Some("B-MISC"), None),
                WordClass::Other
            );
        }
        assert_eq!(
            WordClass::of_word("2024", Some("B-DATE"), Some("NOUN")),
            WordClass::Noun
        );
        for w in ["Accra", "COVID-19", "A4", "-", "%", "1st"] {
            assert!(!is_number_like(w), "{w}");
        }
        assert_eq!(
            WordClass::of_word("Accra", Some("B-LOC"), None),
            WordClass::Ne
        );
    }

    #[test]
    fn lem_quirk_never_masks_more() {
        let (ids, wid) = seq(&[1; 30]);
        // Two nouns: pass 1 masks 2, pass 2 must fill 3 and the quirk counts covered words.
        let classes: Vec<_> = (0..30)
            .map(|i| {
                if i < 2 {
                    WordClass::Noun
                } else {
                    WordClass::Other
                }
            })
            .collect();
        let input = MaskInput {
            token_ids: &ids,
            word_ids: &wid,
            word_classes: &classes,
            word_tags: &[],
        };
        let q = MaskSpec {
            strategy: Strategy::by_name("lem_quirk").unwrap(),
            replace: ReplaceProbs::BERT,
        };
        let (mut a, mut b) = (0, 0);
        for s in 0..200 {
            a += plan_masks(
                &input,
                &MaskSpec::default(),
                &vocab(),
                &mut example_rng(s, 1),
            )
            .positions
            .len();
            b += plan_masks(&input, &q, &vocab(), &mut example_rng(s, 1))
                .positions
                .len();
        }
        assert_eq!(a, 200 * 5); // round(0.15·32) = 5
        assert!(b < a, "{b} !< {a}");
    }

    #[test]
    fn plans_are_deterministic_per_seed_and_index() {
        let (ids, wid) = seq(&[1, 2, 1, 3, 1, 1, 1, 2]);
        let classes = vec![WordClass::Other; 8];
        let input = MaskInput {
            token_ids: &ids,
            word_ids: &wid,
            word_classes: &classes,
            word_tags: &[],
        };
        for name in [
            "token",
            "whole_word",
            "span",
            "spanbert",
            "lem",
            "lem_quirk",
        ] {
            let spec = MaskSpec {
                strategy: Strategy::by_name(name).unwrap(),
                replace: ReplaceProbs::BERT,
            };
            let a = plan_masks(&input, &spec, &vocab(), &mut example_rng(7, 3));
            let b = plan_masks(&input, &spec, &vocab(), &mut example_rng(7, 3));
            assert_eq!(a, b, "{name}");
        }
    }

    #[test]
    fn whole_word_and_spans_mask_whole_words() {
        let (ids, wid) = seq(&[2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1]);
        let classes = vec![WordClass::Other; 20];
        let input = MaskInput {
            token_ids: &ids,
            word_ids: &wid,
            word_classes: &classes,
            word_tags: &[],
        };
        for name in ["whole_word", "span", "spanbert"] {
            let spec = MaskSpec {
                strategy: Strategy::by_name(name).unwrap(),
                replace: ReplaceProbs::BERT,
            };
            for s in 0..30 {
                let plan = plan_masks(&input, &spec, &vocab(), &mut example_rng(s, 0));
                assert!(
                    !plan.positions.is_empty() && plan.positions.len() <= 5,
                    "{name}"
                );
                for &p in &plan.positions {
                    let w = wid[p];
                    let all: Vec<usize> = (0..ids.len()).filter(|&i| wid[i] == w).collect();
                    assert!(
                        all.iter().all(|i| plan.positions.contains(i)),
                        "{name}: partial word"
                    );
                }
            }
        }
    }

    #[test]
    fn pos_objective_labels() {
        let (ids, wid) = seq(&[1; 10]);
        let tags: Vec<Option<u16>> = (0..10)
            .map(|i| if i < 5 { Some((i % 2) as u16) } else { None })
            .collect();
        let classes = vec![WordClass::Other; 10];
        let input = MaskInput {
            token_ids: &ids,
            word_ids: &wid,
            word_classes: &classes,
            word_tags: &tags,
        };
        let spec = MaskSpec {
            strategy: Strategy::PosObjective {
                tagged_rate: 1.0,
                other_rate: 0.0,
            },
            replace: ReplaceProbs::BERT,
        };
        let plan = plan_masks(&input, &spec, &vocab(), &mut example_rng(1, 1));
        assert_eq!(plan.positions, vec![1, 2, 3, 4, 5]);
        assert_eq!(
            plan.pos_label_vec(ids.len()),
            vec![-100, 1, 2, 1, 2, 1, -100, -100, -100, -100, -100, -100]
        );
    }

    #[test]
    fn strategy_check_messages() {
        assert_eq!(
            Strategy::Token { rate: 1.5 }.check().unwrap_err(),
            "rate must be in [0, 1], got 1.5"
        );
        assert!(Strategy::by_name("nope").is_none());
    }
}
