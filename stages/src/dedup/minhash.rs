//! MinHash signatures over grapheme or word shingles, and an incremental LSH index.
//!
//! Shingles: `char` n-grams are windows of `n` extended grapheme clusters (so a Sinhala,
//! Tamil or Ethiopic syllable is one unit, never split into bytes or code points); `word`
//! n-grams are windows of `n` words. A text shorter than `n` units is one shingle.
//!
//! Hash family: each shingle is hashed once with xxh3-64 (seeded from the run seed); the
//! `i`-th permutation is `fmix64(h ^ s_i)`, with `s_i` a splitmix64 stream seeded from the
//! run seed. `fmix64` (MurmurHash3's finaliser) is a bijection, so the family costs a few
//! multiplications per shingle and permutation, and is deterministic across platforms.
//!
//! [`LshIndex`] holds, per band, `band hash → first indexed document`, plus the indexed
//! documents' signatures truncated to 32 bits (enough to estimate Jaccard: two different
//! minima agree in their low 32 bits with probability 2⁻³²).

use super::key::words;
use crate::util::splitmix::SplitMix64;
use mavuno_pipeline::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// What a shingle is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum ShingleKind {
    /// `n` consecutive grapheme clusters (spaces included).
    #[default]
    Char,
    /// `n` consecutive words.
    Word,
}

/// MurmurHash3's 64-bit finaliser: a fast bijective mixer.
#[inline(always)]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A seeded MinHash function: shingling plus `num_perm` hash permutations.
#[derive(Clone, Debug)]
pub struct MinHasher {
    kind: ShingleKind,
    n: usize,
    shingle_seed: u64,
    perm_seeds: Vec<u64>,
}

impl MinHasher {
    /// A hasher whose permutations derive from `run_seed` (same seed, same signatures).
    pub fn new(kind: ShingleKind, n: usize, num_perm: usize, run_seed: u64) -> MinHasher {
        let mut state = SplitMix64(xxh3_64_with_seed(b"mavuno/dedup_near", run_seed));
        let shingle_seed = state.next_u64();
        let perm_seeds = (0..num_perm).map(|_| state.next_u64()).collect();
        MinHasher {
            kind,
            n: n.max(1),
            shingle_seed,
            perm_seeds,
        }
    }

    /// Number of permutations (signature length).
    pub fn num_perm(&self) -> usize {
        self.perm_seeds.len()
    }

    /// The sorted, de-duplicated shingle hashes of an (already normalised) text.
    pub fn shingles(&self, text: &str) -> Vec<u64> {
        let mut out = match self.kind {
            ShingleKind::Char => self.char_shingles(text),
            ShingleKind::Word => self.word_shingles(text),
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    fn char_shingles(&self, text: &str) -> Vec<u64> {
        let mut bounds: Vec<usize> = text.grapheme_indices(true).map(|(i, _)| i).collect();
        if bounds.is_empty() {
            return Vec::new();
        }
        bounds.push(text.len());
        let units = bounds.len() - 1;
        let h = |a: usize, b: usize| {
            xxh3_64_with_seed(&text.as_bytes()[bounds[a]..bounds[b]], self.shingle_seed)
        };
        if units <= self.n {
            return vec![h(0, units)];
        }
        (0..=units - self.n).map(|i| h(i, i + self.n)).collect()
    }

    fn word_shingles(&self, text: &str) -> Vec<u64> {
        let ws: Vec<u64> = words(text).map(|w| xxh3_64(w.as_bytes())).collect();
        if ws.is_empty() {
            return Vec::new();
        }
        let combine = |win: &[u64]| {
            win.iter()
                .fold(self.shingle_seed, |h, &w| fmix64(h.rotate_left(23) ^ w))
        };
        if ws.len() <= self.n {
            return vec![combine(&ws)];
        }
        ws.windows(self.n).map(combine).collect()
    }

    /// The MinHash signature of a shingle set; all `u64::MAX` for an empty set.
    pub fn signature(&self, shingles: &[u64]) -> Vec<u64> {
        let mut sig = vec![u64::MAX; self.perm_seeds.len()];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the CPU has the features the function is compiled for.
                unsafe { min_hashes_avx512(shingles, &self.perm_seeds, &mut sig) };
                return sig;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                unsafe { min_hashes_avx2(shingles, &self.perm_seeds, &mut sig) };
                return sig;
            }
        }
        min_hashes(shingles, &self.perm_seeds, &mut sig);
        sig
    }
}

/// The signature loop: per shingle, every permutation's hash folded into the minimum.
/// Most of `dedup_near`'s time is here; it is written so the compiler vectorises it, and
/// compiled again below for wider vector units chosen at run time (64-bit multiplies are
/// only vectorised with AVX-512DQ). Integer arithmetic: every variant gives the same bits.
#[inline(always)]
fn min_hashes(shingles: &[u64], seeds: &[u64], sig: &mut [u64]) {
    for &h in shingles {
        for (m, &s) in sig.iter_mut().zip(seeds) {
            *m = (*m).min(fmix64(h ^ s));
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn min_hashes_avx512(shingles: &[u64], seeds: &[u64], sig: &mut [u64]) {
    min_hashes(shingles, seeds, sig)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn min_hashes_avx2(shingles: &[u64], seeds: &[u64], sig: &mut [u64]) {
    min_hashes(shingles, seeds, sig)
}

/// The MinHash signature of `text` (already normalised), for benchmarks and tools.
pub fn minhash_signature(
    text: &str,
    kind: ShingleKind,
    n: usize,
    num_perm: usize,
    run_seed: u64,
) -> Vec<u64> {
    let h = MinHasher::new(kind, n, num_perm, run_seed);
    h.signature(&h.shingles(text))
}

/// Share of equal positions of two signatures: the MinHash estimate of Jaccard.
pub fn estimated_jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Exact Jaccard similarity of two sorted, de-duplicated hash sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Probability that LSH with `bands` × `rows` makes a pair of Jaccard `s` a candidate.
pub fn candidate_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// A hasher for keys that are already uniform hashes: passes them through.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// An incremental LSH index: documents are numbered 0, 1, … in insertion order.
#[derive(Debug, Default)]
pub struct LshIndex {
    bands: usize,
    rows: usize,
    /// Band key → first document with that key.
    first: IdMap<u32>,
    /// Band key → later documents with the same key (rare: a band collision between
    /// documents that were both kept).
    more: IdMap<Vec<u32>>,
    /// Signatures of indexed documents, truncated to 32 bits, `bands * rows` per document.
    sigs: Vec<u32>,
}

impl LshIndex {
    /// An empty index for signatures of length `bands * rows`.
    pub fn new(bands: usize, rows: usize) -> LshIndex {
        LshIndex {
            bands,
            rows,
            ..LshIndex::default()
        }
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.sigs.len() / (self.bands * self.rows).max(1)
    }

    /// Whether no document is indexed.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// One key per band: xxh3 of the band's rows, seeded with the band number.
    pub fn band_keys(&self, sig: &[u64]) -> Vec<u64> {
        let mut buf = Vec::with_capacity(self.rows * 8);
        sig.chunks(self.rows)
            .take(self.bands)
            .enumerate()
            .map(|(b, rows)| {
                buf.clear();
                rows.iter()
                    .for_each(|r| buf.extend_from_slice(&r.to_le_bytes()));
                xxh3_64_with_seed(&buf, b as u64)
            })
            .collect()
    }

    /// Indexed documents sharing at least one band key, ascending.
    pub fn candidates(&self, keys: &[u64]) -> Vec<u32> {
        let mut out = Vec::new();
        for k in keys {
            if let Some(&d) = self.first.get(k) {
                out.push(d);
                if let Some(ds) = self.more.get(k) {
                    out.extend_from_slice(ds);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Estimated Jaccard between indexed document `doc` and a signature.
    pub fn estimated_jaccard_with(&self, doc: u32, sig: &[u64]) -> f64 {
        let len = self.bands * self.rows;
        let start = doc as usize * len;
        let Some(stored) = self.sigs.get(start..start + len) else {
            return 0.0;
        };
        stored
            .iter()
            .zip(sig)
            .filter(|(a, b)| **a == **b as u32)
            .count() as f64
            / len as f64
    }

    /// Adds a document; returns its number.
    pub fn insert(&mut self, keys: &[u64], sig: &[u64]) -> u32 {
        let doc = self.len() as u32;
        for &k in keys {
            match self.first.entry(k) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(doc);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    self.more.entry(k).or_default().push(doc)
                }
            }
        }
        self.sigs
            .extend(sig.iter().take(self.bands * self.rows).map(|&v| v as u32));
        doc
    }

    /// Approximate heap bytes held by the index.
    pub fn index_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<(u64, u32)>() + 1;
        let more: usize = self.more.values().map(|v| v.capacity() * 4 + 40).sum();
        self.first.capacity() * 8 / 7 * bucket + more + self.sigs.capacity() * 4
    }

    /// Expected bytes per indexed document for `bands` × `rows` at a typical hash-table
    /// load of 2/3: `bands` band entries of 16 bytes + control byte, plus `4 * bands * rows`
    /// bytes of signature. 16 × 7 → about 700 bytes.
    pub fn bytes_per_doc(bands: usize, rows: usize) -> usize {
        bands * 17 * 3 / 2 + 4 * bands * rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grapheme_shingles_keep_clusters_whole() {
        // Tamil "தமிழ்" is 3 grapheme clusters (த, மி, ழ்) but 5 code points.
        let h = MinHasher::new(ShingleKind::Char, 2, 8, 1);
        assert_eq!(h.shingles("தமிழ்").len(), 2);
        assert_eq!(h.shingles("ab").len(), 1);
        assert!(h.shingles("").is_empty());
    }

    #[test]
    fn estimate_tracks_exact_jaccard() {
        let a: String = (0..300).map(|i| format!("w{i} ")).collect();
        let b: String = (0..300)
            .map(|i| {
                if i % 10 == 0 {
                    format!("x{i} ")
                } else {
                    format!("w{i} ")
                }
            })
            .collect();
        let h = MinHasher::new(ShingleKind::Word, 3, 256, 7);
        let (sa, sb) = (h.shingles(&a), h.shingles(&b));
        let (exact, est) = (
            jaccard(&sa, &sb),
            estimated_jaccard(&h.signature(&sa), &h.signature(&sb)),
        );
        assert!((exact - est).abs() < 0.08, "exact {exact} est {est}");
    }

    #[test]
    fn vector_variants_give_the_scalar_bits() {
        let h = MinHasher::new(ShingleKind::Char, 5, 112, 7);
        let sh = h.shingles("Ẹ kú àárọ̀, ṣé dáadáa ni? Habari za asubuhi, rafiki yangu.");
        let mut scalar = vec![u64::MAX; 112];
        min_hashes(&sh, &h.perm_seeds, &mut scalar);
        assert_eq!(h.signature(&sh), scalar);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut v = vec![u64::MAX; 112];
            // SAFETY: AVX2 was detected.
            unsafe { min_hashes_avx2(&sh, &h.perm_seeds, &mut v) };
            assert_eq!(v, scalar);
        }
    }

    #[test]
    fn signatures_depend_on_the_seed_only() {
        let s = |seed| minhash_signature("habari za asubuhi", ShingleKind::Char, 5, 16, seed);
        assert_eq!(s(1), s(1));
        assert_ne!(s(1), s(2));
    }

    #[test]
    fn index_finds_identical_signature_and_counts_bytes() {
        let mut idx = LshIndex::new(4, 2);
        let sig: Vec<u64> = (0..8).collect();
        let keys = idx.band_keys(&sig);
        assert!(idx.candidates(&keys).is_empty());
        assert_eq!(idx.insert(&keys, &sig), 0);
        assert_eq!(idx.insert(&keys, &sig), 1);
        assert_eq!(idx.candidates(&keys), [0, 1]);
        assert_eq!(idx.estimated_jaccard_with(0, &sig), 1.0);
        assert!(idx.index_bytes() > 0);
        assert!((0.97..0.98).contains(&candidate_probability(0.8, 16, 7)));
    }
}
