//! Label-preserving augmentation: synonym substitution with the attack's generator and filters
//! but no victim (TextAttack's `Augmenter` with `WordSwapMaskedLM`, whose 10 k-text runs take
//! hours because every candidate is checked one at a time, #811). Here the candidates of all
//! chosen words of one text come from ONE generator call, and all survivors are embedded in ONE
//! encoder call.

use std::collections::HashSet;

use mavuno_stages::tag::Tagger;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::attack::{render, CandidateConfig};
use super::filters::{is_word, normalize, string_filter, FilterCounts};
use super::traits::{cosine, CandidateGenerator, SentenceEncoder};
use crate::ModelError;

/// Augmentation settings.
#[derive(Debug, Clone)]
pub struct AugmentConfig {
    /// Variants per text (fewer when not enough distinct substitutions survive).
    pub variants: usize,
    /// Fraction of words swapped per variant (at least one word).
    pub swap_frac: f64,
    /// Candidate generation and filters, as the attack's (`min_sim` applies to each
    /// single-word substitution, with an encoder).
    pub candidates: CandidateConfig,
    /// RNG seed; the output is deterministic given the seed.
    pub seed: u64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            variants: 2,
            swap_frac: 0.1,
            candidates: CandidateConfig::default(),
            seed: 42,
        }
    }
}

/// The augmenter: generator plus the attack's filters.
pub struct Augmenter<'a> {
    /// Candidate source.
    pub generator: &'a dyn CandidateGenerator,
    /// POS-equality filter.
    pub tagger: Option<&'a dyn Tagger>,
    /// Similarity filter.
    pub encoder: Option<&'a dyn SentenceEncoder>,
    /// Lowercased stopwords (never replaced, never inserted).
    pub stopwords: HashSet<String>,
    /// Settings.
    pub config: AugmentConfig,
}

impl Augmenter<'_> {
    /// Up to `variants` distinct augmented texts per input, and the filter counts.
    pub fn augment(
        &self,
        texts: &[String],
    ) -> Result<(Vec<Vec<String>>, FilterCounts), ModelError> {
        let cfg = &self.config;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut counts = FilterCounts::default();
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let spans = mavuno_stages::text::segment::words(text);
            let words: Vec<String> = spans.iter().map(|&(s, e)| text[s..e].to_string()).collect();
            let eligible: Vec<usize> = (0..words.len())
                .filter(|&i| {
                    words[i].chars().count() >= cfg.candidates.min_word_chars
                        && is_word(&words[i])
                        && !self.stopwords.contains(&normalize(&words[i]))
                })
                .collect();
            if eligible.is_empty() || cfg.variants == 0 {
                out.push(Vec::new());
                continue;
            }
            let n_swap =
                ((cfg.swap_frac * words.len() as f64).round() as usize).clamp(1, eligible.len());
            // Choose positions for every variant first, so one generator call serves them all.
            let plans: Vec<Vec<usize>> = (0..cfg.variants)
                .map(|_| {
                    let mut e = eligible.clone();
                    e.shuffle(&mut rng);
                    e.truncate(n_swap);
                    e.sort_unstable();
                    e
                })
                .collect();
            let mut positions: Vec<usize> = plans.iter().flatten().copied().collect();
            positions.sort_unstable();
            positions.dedup();
            let requests: Vec<(Vec<String>, usize)> =
                positions.iter().map(|&i| (words.clone(), i)).collect();
            let cands = self.generator.candidates(&requests, cfg.candidates.top_k)?;
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let tags = self.tagger.map(|t| t.tag(&refs));
            // position → surviving replacements
            let mut kept: Vec<(usize, Vec<String>)> = Vec::with_capacity(positions.len());
            let mut sim_texts: Vec<(usize, String, String)> = Vec::new();
            for (&i, list) in positions.iter().zip(cands) {
                counts.generated += list.len();
                let mut seen = HashSet::new();
                for (c, _) in list {
                    let verdict = if c.chars().count() < 2 {
                        Some("not_word")
                    } else {
                        string_filter(&words[i], &c, &self.stopwords, cfg.candidates.max_edit)
                    };
                    if let Some(f) = verdict {
                        counts.reject(f);
                        continue;
                    }
                    if !seen.insert(normalize(&c)) {
                        counts.reject("same_stem");
                        continue;
                    }
                    if let (Some(t), Some(want)) = (self.tagger, &tags) {
                        let mut ws = refs.clone();
                        ws[i] = c.as_str();
                        if t.tag(&ws).get(i) != want.get(i) {
                            counts.pos += 1;
                            continue;
                        }
                    }
                    let ws: Vec<Option<&str>> = refs
                        .iter()
                        .enumerate()
                        .map(|(j, w)| Some(if j == i { c.as_str() } else { *w }))
                        .collect();
                    sim_texts.push((i, c.clone(), render(text, &spans, &ws)));
                }
            }
            let sims: Vec<bool> = match self.encoder {
                Some(enc) if !sim_texts.is_empty() => {
                    let mut batch: Vec<&str> = vec![text.as_str()];
                    batch.extend(sim_texts.iter().map(|(_, _, t)| t.as_str()));
                    let embs = enc.embed(&batch)?;
                    embs[1..]
                        .iter()
                        .map(|e| cosine(&embs[0], e) >= cfg.candidates.min_sim)
                        .collect()
                }
                _ => vec![true; sim_texts.len()],
            };
            for ((i, c, _), ok) in sim_texts.into_iter().zip(sims) {
                if !ok {
                    counts.similarity += 1;
                    continue;
                }
                counts.kept += 1;
                match kept.iter_mut().find(|(p, _)| *p == i) {
                    Some((_, v)) => v.push(c),
                    None => kept.push((i, vec![c])),
                }
            }
            let mut variants = Vec::new();
            let mut seen_v = HashSet::new();
            for plan in plans {
                let mut ws: Vec<Option<&str>> = refs.iter().map(|w| Some(*w)).collect();
                let mut changed = false;
                for i in plan {
                    if let Some((_, v)) = kept.iter().find(|(p, _)| *p == i) {
                        ws[i] = Some(v[rng.random_range(0..v.len())].as_str());
                        changed = true;
                    }
                }
                let t = render(text, &spans, &ws);
                if changed && t != *text && seen_v.insert(t.clone()) {
                    variants.push(t);
                }
            }
            out.push(variants);
        }
        Ok((out, counts))
    }
}
