//! Fixed-size, mergeable histograms of the measures a filter computes, for the run report's
//! "what would another threshold keep" tables.
//!
//! The bin layout depends only on the [`Scale`]: linear bins from 0 (fine where
//! thresholds usually sit), then 8 logarithmic bins per doubling, then one overflow bin.
//! So two histograms of one measure always merge bin by bin (threads, shards, runs), the
//! size is fixed (≤ 393 bins) whatever the corpus, and values need no first pass.
//! Negative values (none of the filter's measures) count in the first bin.

use serde::{Deserialize, Serialize};

/// How a measure's values are spread, which fixes its bins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Shares and ratios: 100 bins of 0.01 on [0, 1), then logarithmic.
    Fraction,
    /// Counts: 128 bins of 1 on [0, 128), then logarithmic.
    Count,
    /// Lengths in characters: 200 bins of 0.1 on [0, 20), then logarithmic.
    Length,
}

const PER_OCTAVE: usize = 8;
const OCTAVES: usize = 24;

impl Scale {
    fn linear(self) -> (f64, usize) {
        match self {
            Scale::Fraction => (0.01, 100),
            Scale::Count => (1.0, 128),
            Scale::Length => (0.1, 200),
        }
    }

    /// Number of bins.
    pub fn bins(self) -> usize {
        self.linear().1 + PER_OCTAVE * OCTAVES + 1
    }

    /// The bin of a value.
    pub fn bin(self, v: f64) -> usize {
        let (step, n) = self.linear();
        let top = step * n as f64;
        if v.is_nan() || v < top {
            // Integers-valued counts land exactly in their own bin; the tiny nudge keeps
            // 0.29 (= 0.29 / 0.01 = 28.999…) in bin 29.
            return ((v.max(0.0) / step + 1e-9).floor() as usize).min(n - 1);
        }
        let k = ((v / top).log2() * PER_OCTAVE as f64 + 1e-9).floor() as usize;
        n + k.min(PER_OCTAVE * OCTAVES)
    }

    /// `[lo, hi)` of bin `i` (the overflow bin's `hi` is infinite).
    pub fn edges(self, i: usize) -> (f64, f64) {
        let (step, n) = self.linear();
        if i < n {
            return (i as f64 * step, (i + 1) as f64 * step);
        }
        let top = step * n as f64;
        let k = i - n;
        let at = |k: usize| top * 2f64.powf(k as f64 / PER_OCTAVE as f64);
        if k >= PER_OCTAVE * OCTAVES {
            (at(k), f64::INFINITY)
        } else {
            (at(k), at(k + 1))
        }
    }
}

/// A histogram of one measure; see the module docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The bin layout.
    pub scale: Scale,
    /// Values added.
    pub n: u64,
    /// Smallest value added.
    pub min: f64,
    /// Largest value added.
    pub max: f64,
    /// Non-empty bins as `[bin, count]`, by bin.
    #[serde(with = "sparse")]
    pub counts: Vec<u64>,
}

impl Histogram {
    /// An empty histogram.
    pub fn new(scale: Scale) -> Histogram {
        Histogram {
            scale,
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            counts: vec![0; scale.bins()],
        }
    }

    /// Adds one value.
    pub fn add(&mut self, v: f64) {
        let b = self.scale.bin(v);
        if let Some(c) = self.counts.get_mut(b) {
            *c += 1;
        }
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds another histogram of the same scale (a different scale is ignored: it cannot
    /// happen for one measure).
    pub fn merge(&mut self, o: &Histogram) {
        if o.scale != self.scale {
            return;
        }
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Values a rule `keep if min ≤ v ≤ max` would keep, at bin resolution: a bin `[lo,
    /// hi)` counts as kept when `lo` passes. Exact for integer counts below 128; for shares
    /// a bin of 0.01 that starts at `max` counts as kept (values equal to a threshold are
    /// kept, and thresholds usually sit on bin edges).
    pub fn kept(&self, min: Option<f64>, max: Option<f64>) -> u64 {
        self.kept_where(min, max, false)
    }

    /// Like [`Histogram::kept`] for a rule `keep if min ≤ v < max` (a value equal to `max`
    /// is dropped: near duplicates at similarity ≥ threshold). A bin `[lo, hi)` counts as
    /// kept when `lo < max`.
    pub fn kept_below(&self, min: Option<f64>, max: Option<f64>) -> u64 {
        self.kept_where(min, max, true)
    }

    fn kept_where(&self, min: Option<f64>, max: Option<f64>, strict: bool) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .filter(|&(i, _)| {
                let lo = self.scale.edges(i).0;
                min.is_none_or(|m| lo + 1e-9 >= m)
                    && max.is_none_or(|m| {
                        if strict {
                            lo + 1e-9 < m
                        } else {
                            lo <= m + 1e-9
                        }
                    })
            })
            .map(|(_, &c)| c)
            .sum()
    }
}

/// `counts` on disk: only the non-empty bins, as `[[bin, count], …]`.
mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(usize, u64)> = v
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (i, c))
            .collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let pairs: Vec<(usize, u64)> = Vec::deserialize(d)?;
        let n = pairs.iter().map(|p| p.0 + 1).max().unwrap_or(0);
        let mut v = vec![0; n];
        for (i, c) in pairs {
            v[i] = c;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_monotonic_and_values_fall_inside_their_bin() {
        for scale in [Scale::Fraction, Scale::Count, Scale::Length] {
            let mut last = 0;
            for v in [
                0.0, 0.005, 0.29, 0.5, 0.999, 1.0, 3.7, 19.99, 20.0, 127.0, 128.0, 1e4, 1e12,
            ] {
                let b = scale.bin(v);
                assert!(b >= last, "{scale:?} {v}");
                last = b;
                let (lo, hi) = scale.edges(b);
                assert!(
                    lo <= v + 1e-9 && (v < hi || !hi.is_finite()),
                    "{scale:?} {v}: [{lo}, {hi})"
                );
            }
            assert_eq!(scale.bin(f64::MAX), scale.bins() - 1);
        }
    }

    #[test]
    fn kept_counts_what_a_threshold_keeps_and_merge_adds() {
        let mut h = Histogram::new(Scale::Count);
        for w in [1.0, 2.0, 3.0, 5.0, 8.0, 200.0] {
            h.add(w);
        }
        assert_eq!(h.kept(Some(3.0), None), 4);
        assert_eq!(h.kept(Some(3.0), Some(100.0)), 3);
        assert_eq!(h.kept(None, None), 6);
        let mut f = Histogram::new(Scale::Fraction);
        for x in [0.1, 0.2, 0.6, 0.62, 0.9] {
            f.add(x);
        }
        assert_eq!(f.kept(None, Some(0.5)), 2);
        let mut g = f.clone();
        g.merge(&f);
        assert_eq!((g.n, g.kept(None, Some(0.61))), (10, 6));
        let back: Histogram = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back.kept(None, Some(0.61)), 6);
        assert_eq!(back.n, 10);
        // Similarity ≥ 0.8 drops: the bin starting at 0.8 is not kept.
        let mut sim = Histogram::new(Scale::Fraction);
        for x in [0.5, 0.79, 0.8, 0.85, 1.0] {
            sim.add(x);
        }
        assert_eq!(sim.kept_below(None, Some(0.8)), 2);
        assert_eq!(sim.kept(None, Some(0.8)), 3);
        assert_eq!(sim.kept_below(None, Some(0.9)), 4);
    }
}
