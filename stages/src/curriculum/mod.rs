//! CLIMB curricula (SEEDS §2.2–2.4): pacing functions, difficulty scorers, the
//! percentile sampler, vocabulary maps and objective schedules, plus the
//! `order_curriculum` stage. Everything except the stage is engine-free, so a training
//! loop calls it directly:
//!
//! ```
//! use mavuno_stages::curriculum::{pacing::*, PercentileSampler, VocabCurriculum, VocabMap};
//! let pacing = Pacing::climb(PacingFn::Log);
//! let sampler = PercentileSampler::new(vec![3.0, 1.0, 2.0, 5.0]);
//! let p = pacing.at(50_000);
//! let batch = sampler.sample(p, 2, &mut mavuno_stages::mask::plan::example_rng(42, 50_000));
//! let vc = VocabCurriculum { map: VocabMap::TokenIds, vocab_size: 8192, unk_id: 3, special_ids: vec![0, 1, 2, 3, 4] };
//! let mut ids = vec![0u32, 17, 8000, 2];
//! vc.apply(&mut ids, None, p);
//! # let _ = batch;
//! ```
pub mod difficulty;
pub mod order_curriculum;
mod order_global;
pub mod pacing;
pub mod spill;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// CLIMB's POS order for the vocabulary curriculum (SEEDS §2.2): NOUN 0 … "." 10, X 11.
pub const CLIMB_POS: [&str; 12] = [
    "NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", ".", "X",
];

/// The index of a tag in [`CLIMB_POS`], mapping UPOS onto the universal tag set
/// (PROPN→NOUN, AUX→VERB, CCONJ/SCONJ→CONJ, PART→PRT, PUNCT/SYM→".", INTJ→X).
pub fn climb_pos_index(tag: &str) -> usize {
    match tag {
        "NOUN" | "PROPN" => 0,
        "VERB" | "AUX" => 1,
        "ADJ" => 2,
        "ADV" => 3,
        "PRON" => 4,
        "DET" => 5,
        "ADP" => 6,
        "NUM" => 7,
        "CONJ" | "CCONJ" | "SCONJ" => 8,
        "PRT" | "PART" => 9,
        "." | "PUNCT" | "SYM" => 10,
        _ => 11,
    }
}

/// The percentile sampler (SEEDS §2.3): at pacing value p, examples with
/// `score ≤ percentile(scores, 100·p)` have weight 1, the rest 0, and a batch is drawn
/// uniformly without replacement inside the batch.
#[derive(Clone, Debug)]
pub struct PercentileSampler {
    scores: Vec<f64>,
    sorted: Vec<f64>,
}

impl PercentileSampler {
    /// A sampler over per-example difficulty scores (low = easy). NaN scores sort last.
    pub fn new(scores: Vec<f64>) -> PercentileSampler {
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        PercentileSampler { scores, sorted }
    }

    /// `numpy.percentile(scores, q)` with linear interpolation, q in [0, 100].
    pub fn percentile(&self, q: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let pos = (q.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        let f = pos - lo as f64;
        self.sorted[lo] + (self.sorted[hi] - self.sorted[lo]) * f
    }

    /// Indices of the examples eligible at pacing value p.
    pub fn eligible(&self, p: f64) -> Vec<usize> {
        let thr = self.percentile(100.0 * p);
        (0..self.scores.len())
            .filter(|&i| self.scores[i] <= thr)
            .collect()
    }

    /// Draws `batch` indices at pacing value p (fewer if fewer are eligible).
    pub fn sample(&self, p: f64, batch: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let mut pool = self.eligible(p);
        let k = batch.min(pool.len());
        // Partial Fisher–Yates: uniform without replacement.
        for i in 0..k {
            let j = rng.random_range(i..pool.len());
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    }
}

/// Which vocabulary map (SEEDS §2.2).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, mavuno_pipeline::schemars::JsonSchema,
)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum VocabMap {
    /// Replace if `id > p · vocab_size`.
    TokenIds,
    /// Replace if `pos_id > p · 11`.
    PosTags,
    /// Replace if `id + pos_id · V > p · 11 · V`.
    PosTagsAndTokenIds,
}

/// CLIMB's vocabulary curriculum: too-hard tokens become `<unk>` in inputs and labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VocabCurriculum {
    /// The map.
    pub map: VocabMap,
    /// Vocabulary size V.
    pub vocab_size: u32,
    /// The `<unk>` id.
    pub unk_id: u32,
    /// Ids never replaced.
    pub special_ids: Vec<u32>,
}

impl VocabCurriculum {
    /// Whether token `id` with POS index `pos` (into [`CLIMB_POS`]; `None` = X) is
    /// replaced at pacing value p. Under `pos_tags_and_token_ids`, X tokens (and so
    /// untagged ones) with id > 0 stay `<unk>` even at p = 1, as CLIMB's formula has it.
    pub fn is_hard(&self, id: u32, pos: Option<usize>, p: f64) -> bool {
        if self.special_ids.contains(&id) {
            return false;
        }
        let v = f64::from(self.vocab_size);
        let pos = pos.unwrap_or(11) as f64;
        match self.map {
            VocabMap::TokenIds => f64::from(id) > p * v,
            VocabMap::PosTags => pos > p * 11.0,
            VocabMap::PosTagsAndTokenIds => f64::from(id) + pos * v > p * 11.0 * v,
        }
    }

    /// Replaces hard tokens by `<unk>` in place; `pos` runs parallel to `ids` when given.
    /// Returns how many were replaced. Apply it to labels too (−100 stays −100).
    pub fn apply(&self, ids: &mut [u32], pos: Option<&[Option<usize>]>, p: f64) -> usize {
        let mut n = 0;
        for (i, id) in ids.iter_mut().enumerate() {
            let t = pos.and_then(|ps| ps.get(i).copied().flatten());
            if self.is_hard(*id, t, p) {
                *id = self.unk_id;
                n += 1;
            }
        }
        n
    }
}

/// One objective unit active over an inclusive range of training fractions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveUnit {
    /// Unit name: `mlm`, `pos_noun_verb`, `pos_noun_verb_adj`, `pos_all`.
    pub unit: String,
    /// First active fraction of training (inclusive).
    pub start: f64,
    /// Last active fraction (inclusive).
    pub end: f64,
}

/// The tag list of a POS unit (SEEDS §2.4), or `None` for `mlm`/unknown units.
pub fn unit_tags(unit: &str) -> Option<Vec<&'static str>> {
    match unit {
        "pos_noun_verb" | "pos_nv" => Some(vec!["NOUN", "VERB"]),
        "pos_noun_verb_adj" => Some(vec!["NOUN", "VERB", "ADJ"]),
        "pos_all" => Some(CLIMB_POS[..11].to_vec()),
        _ => None,
    }
}

/// An objective curriculum: a list of units, all active ones summed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSchedule {
    /// Config name.
    pub name: String,
    /// The units.
    pub units: Vec<ObjectiveUnit>,
}

impl ObjectiveSchedule {
    /// The configs of SEEDS §2.4 by name.
    pub fn climb(name: &str) -> Option<ObjectiveSchedule> {
        let u = |unit: &str, start: f64, end: f64| ObjectiveUnit {
            unit: unit.into(),
            start,
            end,
        };
        let units = match name {
            "base_mlm" => vec![u("mlm", 0.0, 1.0)],
            "pos_nv_mlm" => vec![u("pos_noun_verb", 0.0, 0.125), u("mlm", 0.125, 1.0)],
            "pos_all_mlm" => vec![u("pos_all", 0.0, 0.125), u("mlm", 0.125, 1.0)],
            "multitask_pos_all_mlm" => vec![u("pos_all", 0.0, 1.0), u("mlm", 0.125, 1.0)],
            "multitask_pos_all_mlm_0" => vec![u("pos_all", 0.0, 1.0), u("mlm", 0.0, 1.0)],
            "multitask_pos_nv_mlm_0" => vec![u("pos_noun_verb", 0.0, 1.0), u("mlm", 0.0, 1.0)],
            "multitask_pos_nv_all_mlm" => vec![
                u("pos_noun_verb", 0.0, 0.0625),
                u("pos_all", 0.0625, 1.0),
                u("mlm", 0.125, 1.0),
            ],
            "multitask_pos_nv_all_mlm_0" => vec![
                u("pos_noun_verb", 0.0, 0.0625),
                u("pos_all", 0.0625, 1.0),
                u("mlm", 0.0, 1.0),
            ],
            _ => return None,
        };
        Some(ObjectiveSchedule {
            name: name.into(),
            units,
        })
    }

    /// Units active at `step` of `total_steps` (inclusive ranges).
    pub fn active(&self, step: u64, total_steps: u64) -> Vec<&ObjectiveUnit> {
        let f = step as f64 / total_steps.max(1) as f64;
        self.units
            .iter()
            .filter(|u| f >= u.start && f <= u.end)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::plan::example_rng;

    #[test]
    fn percentile_matches_numpy() {
        let s = PercentileSampler::new((1..=10).map(f64::from).collect());
        assert_eq!(s.percentile(50.0), 5.5);
        assert_eq!(s.percentile(10.0), 1.9);
        assert_eq!(s.percentile(100.0), 10.0);
    }

    #[test]
    fn sampler_at_p_0_1_draws_only_the_easiest_tenth() {
        let scores: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let s = PercentileSampler::new(scores.clone());
        let mut rng = example_rng(1, 0);
        for _ in 0..50 {
            let b = s.sample(0.1, 32, &mut rng);
            assert_eq!(b.len(), 32);
            let mut u = b.clone();
            u.sort_unstable();
            u.dedup();
            assert_eq!(u.len(), 32);
            assert!(b.iter().all(|&i| scores[i] <= 99.9), "{b:?}");
        }
    }

    #[test]
    fn objective_boundaries_are_inclusive() {
        let s = ObjectiveSchedule::climb("multitask_pos_nv_all_mlm").unwrap();
        let names = |step| {
            s.active(step, 400_000)
                .iter()
                .map(|u| u.unit.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(0), ["pos_noun_verb"]);
        assert_eq!(names(25_000), ["pos_noun_verb", "pos_all"]);
        assert_eq!(names(25_001), ["pos_all"]);
        assert_eq!(names(50_000), ["pos_all", "mlm"]);
        let nv = ObjectiveSchedule::climb("pos_nv_mlm").unwrap();
        assert_eq!(nv.active(50_000, 400_000).len(), 2);
        assert_eq!(nv.active(50_001, 400_000)[0].unit, "mlm");
        assert_eq!(unit_tags("pos_all").unwrap().len(), 11);
    }

    #[test]
    fn vocab_curriculum_never_touches_specials_and_nouns_unlock_first() {
        let vc = VocabCurriculum {
            map: VocabMap::PosTags,
            vocab_size: 100,
            unk_id: 3,
            special_ids: vec![0, 2, 3],
        };
        assert!(!vc.is_hard(0, Some(11), 0.1));
        assert!(!vc.is_hard(50, Some(0), 0.0));
        assert!(vc.is_hard(50, Some(1), 0.0));
        let t = VocabCurriculum {
            map: VocabMap::TokenIds,
            ..vc.clone()
        };
        let mut ids = vec![0, 5, 50, 99, 2];
        assert_eq!(t.apply(&mut ids, None, 0.5), 1);
        assert_eq!(ids, [0, 5, 50, 3, 2]);
    }
}
