//! Statistics of a sweep: per-arm mean ± sd, and paired comparisons between arms that
//! share seeds (mean difference, 95 % paired-bootstrap interval, sign count).
//!
//! Pairing is by seed: arm B's run with seed s is compared with arm A's run with seed s,
//! which removes whatever the seed does to both (data order, initialisation). When both
//! runs of every pair also report per-item values of the metric (per-sentence PLL,
//! per-pair retrieval hits) of equal length, the bootstrap resamples seeds and, inside
//! each drawn seed, items, so the interval reflects both training noise and test-set
//! noise; otherwise it resamples seeds only. With fewer than 5 seeds a seed-only interval
//! is coarse (3 seeds give at most 10 distinct resamples), which the table says.
//!
//! The resampling RNG is seeded from the metric name, so the same inputs give the same
//! interval on every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 10_000;

/// Mean, sample standard deviation (n − 1; 0 for n = 1) and n.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Number of values.
    pub n: usize,
}

/// Summarises values; `None` for an empty slice.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Summary { mean, sd, n })
}

/// One seed's pair: the metric in arm A and arm B, and per-item values when both have
/// them with equal length.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// The shared seed.
    pub seed: u64,
    /// Arm A's (the reference's) value.
    pub a: f64,
    /// Arm B's value.
    pub b: f64,
    /// Per-item `(a_i, b_i)`, or empty.
    pub items: Vec<(f64, f64)>,
}

/// How the interval was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resampling {
    /// Seeds resampled with replacement.
    Seeds,
    /// Seeds, then items within each drawn seed.
    SeedsAndItems,
}

/// A paired comparison of arm B against arm A on one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Mean over seeds of `b − a`.
    pub diff: f64,
    /// 95 % percentile-bootstrap interval of the mean difference.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Seeds where B > A, B < A, B = A.
    pub signs: (usize, usize, usize),
    /// Number of paired seeds.
    pub n: usize,
    /// What was resampled.
    pub resampling: Resampling,
}

impl Comparison {
    /// Whether there is an interval at all: one seed without per-item values resamples to
    /// the single observed difference, which says nothing about its noise.
    pub fn has_interval(&self) -> bool {
        self.resampling == Resampling::SeedsAndItems || self.n >= 2
    }

    /// Whether the interval excludes 0 (the only case a table marks a difference).
    pub fn excludes_zero(&self) -> bool {
        self.has_interval() && (self.lo > 0.0 || self.hi < 0.0)
    }
}

/// Compares B against A over the given pairs; `None` when there is no pair.
pub fn compare(metric: &str, pairs: &[Pair]) -> Option<Comparison> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len();
    let diffs: Vec<f64> = pairs.iter().map(|p| p.b - p.a).collect();
    let diff = diffs.iter().sum::<f64>() / n as f64;
    let signs = diffs.iter().fold((0, 0, 0), |(p, m, z), d| {
        if *d > 0.0 {
            (p + 1, m, z)
        } else if *d < 0.0 {
            (p, m + 1, z)
        } else {
            (p, m, z + 1)
        }
    });
    let with_items = pairs.iter().all(|p| !p.items.is_empty());
    let mut rng = ChaCha8Rng::seed_from_u64(xxhash_rust::xxh3::xxh3_64(metric.as_bytes()));
    let mut stats = Vec::with_capacity(RESAMPLES);
    if with_items {
        let item_diffs: Vec<Vec<f64>> = pairs
            .iter()
            .map(|p| p.items.iter().map(|(a, b)| b - a).collect())
            .collect();
        for _ in 0..RESAMPLES {
            let mut total = 0.0;
            for _ in 0..n {
                let d = &item_diffs[rng.random_range(0..n)];
                let mut s = 0.0;
                for _ in 0..d.len() {
                    s += d[rng.random_range(0..d.len())];
                }
                total += s / d.len() as f64;
            }
            stats.push(total / n as f64);
        }
    } else {
        for _ in 0..RESAMPLES {
            let mut s = 0.0;
            for _ in 0..n {
                s += diffs[rng.random_range(0..n)];
            }
            stats.push(s / n as f64);
        }
    }
    stats.sort_by(f64::total_cmp);
    let (lo, hi) = (percentile(&stats, 0.025), percentile(&stats, 0.975));
    Some(Comparison {
        diff,
        lo,
        hi,
        signs,
        n,
        resampling: if with_items {
            Resampling::SeedsAndItems
        } else {
            Resampling::Seeds
        },
    })
}

/// Linear-interpolated percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < sorted.len() {
        sorted[i] * (1.0 - frac) + sorted[i + 1] * frac
    } else {
        sorted[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(a: &[f64], b: &[f64]) -> Vec<Pair> {
        a.iter()
            .zip(b)
            .enumerate()
            .map(|(i, (&a, &b))| Pair {
                seed: i as u64,
                a,
                b,
                items: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn summary_is_mean_and_sample_sd() {
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.mean, 2.5);
        assert!((s.sd - 1.2909944487358056).abs() < 1e-12);
        assert_eq!(summarize(&[5.0]).unwrap().sd, 0.0);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn a_constant_shift_gives_a_point_interval_that_excludes_zero() {
        // B = A + 0.5 on every seed, whatever A's seed-to-seed noise: the paired
        // interval is exactly [0.5, 0.5] (an unpaired one would be wide).
        let a = [10.0, 3.0, 7.5, 1.0, 12.0];
        let b: Vec<f64> = a.iter().map(|x| x + 0.5).collect();
        let c = compare("m", &pairs(&a, &b)).unwrap();
        assert!((c.diff - 0.5).abs() < 1e-12);
        assert!((c.lo - 0.5).abs() < 1e-12 && (c.hi - 0.5).abs() < 1e-12);
        assert_eq!(c.signs, (5, 0, 0));
        assert!(c.excludes_zero());
        assert_eq!(c.resampling, Resampling::Seeds);
    }

    #[test]
    fn symmetric_differences_give_an_interval_around_zero() {
        let a = vec![0.0; 8];
        let b = [1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0];
        let c = compare("m", &pairs(&a, &b)).unwrap();
        assert_eq!(c.diff, 0.0);
        assert!(c.lo < 0.0 && c.hi > 0.0, "{c:?}");
        assert!(!c.excludes_zero());
        assert_eq!(c.signs, (4, 4, 0));
    }

    #[test]
    fn interval_matches_the_known_bootstrap_spread() {
        // Differences 0..=9: the mean's bootstrap sd is sd_pop / sqrt(n) = 2.872/3.162
        // ≈ 0.908, so the 95 % interval is about 4.5 ± 1.78.
        let a = vec![0.0; 10];
        let b: Vec<f64> = (0..10).map(f64::from).collect();
        let c = compare("m", &pairs(&a, &b)).unwrap();
        assert!((c.lo - (4.5 - 1.78)).abs() < 0.15, "{c:?}");
        assert!((c.hi - (4.5 + 1.78)).abs() < 0.15, "{c:?}");
        // Deterministic: the same inputs give the same interval.
        assert_eq!(compare("m", &pairs(&a, &b)).unwrap(), c);
    }

    #[test]
    fn items_resampling_is_used_when_every_pair_has_items() {
        // Two seeds with identical scalar differences: a seed-only interval would be a
        // point; item noise widens it.
        let mk = |seed| Pair {
            seed,
            a: 0.0,
            b: 1.0,
            items: (0..50)
                .map(|i| (0.0, if i % 2 == 0 { 0.0 } else { 2.0 }))
                .collect(),
        };
        let c = compare("m", &[mk(1), mk(2)]).unwrap();
        assert_eq!(c.resampling, Resampling::SeedsAndItems);
        assert!(
            c.lo < 1.0 && c.hi > 1.0 && c.lo > 0.5 && c.hi < 1.5,
            "{c:?}"
        );
        let mut no_items = mk(3);
        no_items.items.clear();
        let c2 = compare("m", &[mk(1), no_items]).unwrap();
        assert_eq!(c2.resampling, Resampling::Seeds);
        assert!(compare("m", &[]).is_none());
    }
}
