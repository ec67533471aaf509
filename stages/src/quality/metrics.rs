//! Document statistics for the quality filters, computed once per document over the
//! shared word segmentation ([`crate::text::segment`]), so Sinhala/Tamil/NFD-Yoruba words
//! are words. Repetition measures follow Gopher (Rae et al. 2021, table A1) as
//! implemented by datatrove's `GopherRepetitionFilter`; character shares use bytes of
//! the words involved over bytes of all words.

use crate::text::segment::{for_each_word, is_terminator, script_of, Script};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_64;

/// A hasher for keys that already are good 64-bit hashes.
#[derive(Default)]
struct IdHasher(u64);

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

type IdBuild = BuildHasherDefault<IdHasher>;

/// The words of a text, as byte spans, plus derived counts. Built once per record.
#[derive(Debug)]
pub struct Doc<'a> {
    /// The text.
    pub text: &'a str,
    /// Word spans.
    pub words: Vec<(usize, usize)>,
    /// xxh3 of each word, computed on first use by the n-gram measures.
    hashes: OnceLock<Vec<u64>>,
}

impl<'a> Doc<'a> {
    /// Segments `text`.
    pub fn new(text: &'a str) -> Doc<'a> {
        let mut words = Vec::with_capacity(text.len() / 6 + 1);
        for_each_word(text, |s, e| words.push((s, e)));
        Doc {
            text,
            words,
            hashes: OnceLock::new(),
        }
    }

    /// Word `i` as a string.
    #[inline]
    pub fn word(&self, i: usize) -> &'a str {
        let (s, e) = self.words[i];
        &self.text[s..e]
    }

    /// Mean word length in characters (code points); 0 for no words.
    pub fn mean_word_length(&self) -> f64 {
        if self.words.is_empty() {
            return 0.0;
        }
        let chars: usize = self
            .words
            .iter()
            .map(|&(s, e)| self.text[s..e].chars().count())
            .sum();
        chars as f64 / self.words.len() as f64
    }

    fn word_bytes(&self) -> usize {
        self.words.iter().map(|&(s, e)| e - s).sum()
    }

    /// Gopher "top n-gram character share": bytes covered by the most frequent word
    /// n-gram (counted once per occurrence) over bytes of all words.
    pub fn top_ngram_frac(&self, n: usize) -> f64 {
        if n == 0 || self.words.len() < n {
            return 0.0;
        }
        let mut counts: HashMap<u64, (u32, usize), IdBuild> =
            HashMap::with_capacity_and_hasher(self.words.len(), IdBuild::default());
        for i in 0..=self.words.len() - n {
            let h = self.ngram_hash(i, n);
            let len = self.words[i..i + n].iter().map(|&(s, e)| e - s).sum();
            counts.entry(h).or_insert((0, len)).0 += 1;
        }
        let Some(&(c, len)) = counts.values().max_by_key(|(c, len)| (*c, *len)) else {
            return 0.0;
        };
        if c < 2 {
            return 0.0;
        }
        (c as usize * len) as f64 / self.word_bytes().max(1) as f64
    }

    /// Gopher "duplicated n-gram character share": bytes of words inside n-grams that
    /// occurred earlier (non-overlapping, as datatrove's `find_all_duplicate`) over bytes
    /// of all words.
    pub fn dup_ngram_frac(&self, n: usize) -> f64 {
        if n == 0 || self.words.len() < n {
            return 0.0;
        }
        let mut seen: HashSet<u64, IdBuild> =
            HashSet::with_capacity_and_hasher(self.words.len(), IdBuild::default());
        let mut dup = 0usize;
        let mut i = 0;
        while i + n <= self.words.len() {
            let h = self.ngram_hash(i, n);
            if !seen.insert(h) {
                dup += self.words[i..i + n]
                    .iter()
                    .map(|&(s, e)| e - s)
                    .sum::<usize>();
                i += n;
            } else {
                i += 1;
            }
        }
        dup as f64 / self.word_bytes().max(1) as f64
    }

    fn ngram_hash(&self, i: usize, n: usize) -> u64 {
        let hs = self.hashes.get_or_init(|| {
            self.words
                .iter()
                .map(|&(s, e)| xxh3_64(&self.text.as_bytes()[s..e]))
                .collect()
        });
        let mut h = n as u64;
        for &x in &hs[i..i + n] {
            // Order-sensitive mix (splitmix64 finaliser step).
            h = (h.rotate_left(23) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        h ^ (h >> 29)
    }
}

/// Duplicate fractions of a list of segments (lines or paragraphs): (share of segments
/// that repeat an earlier one, share of bytes in them). Empty segments are ignored.
pub fn dup_fracs<'a>(segments: impl Iterator<Item = &'a str>) -> (f64, f64) {
    let mut seen: HashSet<&str> = HashSet::new();
    let (mut n, mut dup, mut bytes, mut dup_bytes) = (0usize, 0usize, 0usize, 0usize);
    for s in segments {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        n += 1;
        bytes += s.len();
        if !seen.insert(s) {
            dup += 1;
            dup_bytes += s.len();
        }
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    (
        dup as f64 / n as f64,
        dup_bytes as f64 / bytes.max(1) as f64,
    )
}

/// Non-empty lines of a text.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Paragraphs (separated by blank lines).
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").map(str::trim).filter(|l| !l.is_empty())
}

/// Whether a line ends in terminal punctuation (any script's terminator, optionally
/// followed by closing quotes/brackets).
pub fn ends_in_terminal(line: &str) -> bool {
    let t = line
        .trim_end()
        .trim_end_matches(['"', '\'', ')', ']', '”', '’', '»']);
    t.chars().next_back().is_some_and(is_terminator)
}

/// Share of letters in `script` among all letters (1.0 when there are no letters).
pub fn script_share(text: &str, script: Script) -> f64 {
    let (mut hit, mut all) = (0usize, 0usize);
    for c in text.chars() {
        let s = script_of(c);
        if s != Script::Common {
            all += 1;
            hit += (s == script) as usize;
        }
    }
    if all == 0 {
        1.0
    } else {
        hit as f64 / all as f64
    }
}

/// Longest run of one repeated character.
pub fn longest_char_run(text: &str) -> usize {
    let (mut best, mut run, mut prev) = (0usize, 0usize, None);
    for c in text.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_measures() {
        let d = Doc::new("a b a b a b c");
        assert!((d.top_ngram_frac(2) - 6.0 / 7.0).abs() < 1e-9);
        let d = Doc::new("ශ්‍රී ලංකාව ශ්‍රී ලංකාව");
        assert_eq!(d.words.len(), 4);
        assert!(d.dup_ngram_frac(2) > 0.49);
        assert_eq!(dup_fracs(["x", "y", "x", ""].into_iter()).0, 1.0 / 3.0);
        assert!(ends_in_terminal("ሰላም ነው።"));
        assert!(ends_in_terminal("He said \"no.\""));
        assert!(!ends_in_terminal("no end"));
        assert_eq!(longest_char_run("heyyyy!!"), 4);
        assert_eq!(Doc::new("").top_ngram_frac(2), 0.0);
        assert_eq!(script_share("abc ශ", Script::Latin), 0.75);
    }
}
