//! Difficulty scorers for the data curriculum (low score = easy).
//!
//! * `length`: number of whitespace words.
//! * `unigram_ppl`: perplexity under an add-k unigram model of the corpus (CLIMB's
//!   `ngram_perplexity` with `n_gram = 1` is the MLE version; add-k keeps unseen words
//!   finite when scoring text outside the training corpus).
//! * `ngram_ppl`: perplexity under an interpolated Kneser–Ney n-gram model (default n = 3)
//!   trained on the corpus, with `<s>`/`</s>` padding.
//! * `rarity`: mean negative log relative frequency of the words.
//! * `source`: the rank of the record's source in a given order (CLIMB `data_split`).
//!
//! A model-based scorer (CLIMB's self-paced MLM pseudo-perplexity) lives in `models/`:
//! implement [`DifficultyScorer`] there (`fit` may be a no-op, `score` runs the model)
//! and pass it wherever a scorer is taken; re-scoring every K steps is the caller's loop.
use std::collections::HashMap;

/// A difficulty scorer: fit on the corpus, then score each example (low = easy).
pub trait DifficultyScorer {
    /// Sees every example's words once before scoring (count statistics).
    fn fit(&mut self, corpus: &mut dyn Iterator<Item = Vec<String>>);
    /// The difficulty of one example; `source` is its source name, if any.
    fn score(&self, words: &[String], source: Option<&str>) -> f64;
}

/// Whitespace words, the unit the count-based scorers use.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Number of words.
#[derive(Default)]
pub struct LengthScorer;

impl DifficultyScorer for LengthScorer {
    fn fit(&mut self, _: &mut dyn Iterator<Item = Vec<String>>) {}
    fn score(&self, w: &[String], _: Option<&str>) -> f64 {
        w.len() as f64
    }
}

/// Word counts shared by the unigram and rarity scorers.
#[derive(Default)]
pub struct Unigram {
    counts: HashMap<String, u64>,
    total: u64,
    /// Add-k smoothing constant (default 1).
    pub k: f64,
    /// Score mean −log p (rarity) instead of perplexity.
    pub rarity: bool,
}

impl Unigram {
    /// An add-k unigram perplexity scorer.
    pub fn perplexity(k: f64) -> Unigram {
        Unigram {
            k,
            ..Unigram::default()
        }
    }

    /// A rarity scorer (mean negative log frequency, add-k smoothed).
    pub fn rarity(k: f64) -> Unigram {
        Unigram {
            k,
            rarity: true,
            ..Unigram::default()
        }
    }

    fn logp(&self, w: &str) -> f64 {
        let v = self.counts.len() as f64 + 1.0; // + unknown
        let c = self.counts.get(w).copied().unwrap_or(0) as f64;
        ((c + self.k) / (self.total as f64 + self.k * v)).ln()
    }
}

impl DifficultyScorer for Unigram {
    fn fit(&mut self, corpus: &mut dyn Iterator<Item = Vec<String>>) {
        for ws in corpus {
            for w in ws {
                self.total += 1;
                *self.counts.entry(w).or_insert(0) += 1;
            }
        }
    }
    fn score(&self, w: &[String], _: Option<&str>) -> f64 {
        if w.is_empty() {
            return 0.0;
        }
        let mean_nll = -w.iter().map(|x| self.logp(x)).sum::<f64>() / w.len() as f64;
        if self.rarity {
            mean_nll
        } else {
            mean_nll.exp()
        }
    }
}

/// Interpolated Kneser–Ney n-gram model (Chen & Goodman), absolute discount d = 0.75.
pub struct KneserNey {
    n: usize,
    d: f64,
    /// Highest order: counts c(h, w); lower orders: continuation counts N1+(• h w).
    counts: Vec<HashMap<Vec<String>, HashMap<String, f64>>>,
    /// Per order and history: (total, distinct followers).
    hist: Vec<HashMap<Vec<String>, (f64, f64)>>,
    vocab: usize,
}

impl KneserNey {
    /// A model of order n ≥ 1.
    pub fn new(n: usize) -> KneserNey {
        let n = n.max(1);
        KneserNey {
            n,
            d: 0.75,
            counts: vec![HashMap::new(); n],
            hist: vec![HashMap::new(); n],
            vocab: 1,
        }
    }

    fn padded(&self, w: &[String]) -> Vec<String> {
        let mut v = vec!["<s>".to_string(); self.n - 1];
        v.extend(w.iter().cloned());
        v.push("</s>".into());
        v
    }

    /// P(w | h) with h of length < n, interpolated down to a uniform distribution.
    fn prob(&self, h: &[String], w: &str) -> f64 {
        let mut p = 1.0 / self.vocab as f64;
        // From order 1 (empty history) up to |h|+1.
        for o in 0..=h.len() {
            let hist = h[h.len() - o..].to_vec();
            let Some(&(total, distinct)) = self.hist[o].get(&hist) else {
                continue;
            };
            if total <= 0.0 {
                continue;
            }
            let c = self.counts[o]
                .get(&hist)
                .and_then(|m| m.get(w))
                .copied()
                .unwrap_or(0.0);
            p = (c - self.d).max(0.0) / total + self.d * distinct / total * p;
        }
        p
    }
}

impl DifficultyScorer for KneserNey {
    fn fit(&mut self, corpus: &mut dyn Iterator<Item = Vec<String>>) {
        let mut vocab = std::collections::HashSet::new();
        let n = self.n;
        for ws in corpus {
            let s = self.padded(&ws);
            for w in &s[n - 1..] {
                vocab.insert(w.clone());
            }
            for i in n - 1..s.len() {
                // Highest order: raw counts.
                let h = s[i + 1 - n..i].to_vec();
                let e = self.counts[n - 1]
                    .entry(h)
                    .or_default()
                    .entry(s[i].clone())
                    .or_insert(0.0);
                *e += 1.0;
                // Lower orders: continuation counts, incremented when the (o+1)-gram is new.
                if *e == 1.0 {
                    for o in (0..n - 1).rev() {
                        let h = s[i - o..i].to_vec();
                        let e = self.counts[o]
                            .entry(h)
                            .or_default()
                            .entry(s[i].clone())
                            .or_insert(0.0);
                        *e += 1.0;
                        if *e > 1.0 {
                            break;
                        }
                    }
                }
            }
        }
        self.vocab = vocab.len().max(1);
        for o in 0..n {
            for (h, m) in &self.counts[o] {
                self.hist[o].insert(h.clone(), (m.values().sum(), m.len() as f64));
            }
        }
    }

    fn score(&self, w: &[String], _: Option<&str>) -> f64 {
        let s = self.padded(w);
        let n = self.n;
        let mut nll = 0.0;
        let m = s.len() - (n - 1);
        for i in n - 1..s.len() {
            nll -= self.prob(&s[i + 1 - n..i], &s[i]).ln();
        }
        (nll / m as f64).exp()
    }
}

/// Rank of the source in a fixed order (CLIMB `data_split`); unknown sources rank last.
pub struct SourceScorer {
    /// Source name → rank (ties allowed).
    pub ranks: HashMap<String, f64>,
}

impl SourceScorer {
    /// CLIMB's spoken-first order of the BabyLM sources.
    pub fn climb_spoken_first() -> SourceScorer {
        let r = [
            ("aochildes", 1.0),
            ("bnc_spoken", 2.0),
            ("switchboard", 2.0),
            ("open_subtitles", 3.0),
            ("qed", 3.0),
            ("cbt", 4.0),
            ("children_stories", 4.0),
            ("simple_wikipedia", 5.0),
            ("wikipedia", 6.0),
            ("gutenberg", 6.0),
        ];
        SourceScorer {
            ranks: r.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    /// Ranks from an ordered list (first = easiest).
    pub fn from_order(order: &[String]) -> SourceScorer {
        SourceScorer {
            ranks: order
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone(), (i + 1) as f64))
                .collect(),
        }
    }
}

impl DifficultyScorer for SourceScorer {
    fn fit(&mut self, _: &mut dyn Iterator<Item = Vec<String>>) {}
    fn score(&self, _: &[String], source: Option<&str>) -> f64 {
        source
            .and_then(|s| self.ranks.get(s).copied())
            .unwrap_or(self.ranks.len() as f64 + 1.0)
    }
}

/// Sort order for a list of scores: easiest first, ties by input position.
pub fn easiest_first(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Vec<String>> {
        [
            "the cat sat",
            "the cat sat on the mat",
            "the dog sat",
            "a quixotic zebra pondered epistemology",
        ]
        .iter()
        .map(|s| words(s))
        .collect()
    }

    #[test]
    fn count_scorers_rank_common_text_easier() {
        let mut sc: Vec<Box<dyn DifficultyScorer>> = vec![
            Box::new(Unigram::perplexity(1.0)),
            Box::new(Unigram::rarity(1.0)),
            Box::new(KneserNey::new(3)),
        ];
        for s in sc.iter_mut() {
            s.fit(&mut corpus().into_iter());
            let easy = s.score(&words("the cat sat"), None);
            let hard = s.score(&words("zebra pondered quixotic"), None);
            assert!(
                easy < hard && easy.is_finite() && hard.is_finite(),
                "{easy} {hard}"
            );
        }
    }

    #[test]
    fn kneser_ney_is_a_distribution() {
        let mut kn = KneserNey::new(2);
        kn.fit(&mut corpus().into_iter());
        let vocab: std::collections::HashSet<String> = corpus()
            .into_iter()
            .flatten()
            .chain(["</s>".to_string()])
            .collect();
        for h in [
            vec!["the".to_string()],
            vec!["<s>".to_string()],
            vec!["never".to_string()],
        ] {
            let total: f64 = vocab.iter().map(|w| kn.prob(&h, w)).sum();
            assert!((total - 1.0).abs() < 1e-9, "{h:?}: {total}");
        }
    }

    #[test]
    fn ordering_is_stable() {
        assert_eq!(easiest_first(&[2.0, 1.0, 2.0, 0.5]), [3, 1, 0, 2]);
        let s = SourceScorer::climb_spoken_first();
        assert!(s.score(&[], Some("aochildes")) < s.score(&[], Some("wikipedia")));
    }
}
