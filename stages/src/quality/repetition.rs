//! Gopher repetition measures (Rae et al. 2021, table A1) with datatrove's
//! `GopherRepetitionFilter` semantics: every character share is over the characters (code
//! points) of the whole text; paragraphs are the pieces between runs of two or more
//! newlines of the stripped text; lines are the pieces between runs of newlines; n-grams
//! are over [`crate::quality::tokens`] (punctuation marks included, as datatrove's spaCy
//! tokens). A top n-gram's length counts the spaces between its tokens, a duplicated
//! n-gram's does not, as in datatrove.
//!
//! One deliberate difference: the top n-gram share is 0 when no n-gram occurs twice
//! (datatrove counts the first n-gram of a text whose n-grams are all distinct, which
//! drops most texts under ~60 characters as "repetitive").

use crate::dedup::minhash::IdHasher;
use crate::quality::tokens::{char_len, Token};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use xxhash_rust::xxh3::xxh3_64;

type IdBuild = BuildHasherDefault<IdHasher>;

/// Duplicate counts of a list of segments: (segments, segments that repeat an earlier one,
/// characters in the repeats).
fn find_duplicates<'a>(segments: impl Iterator<Item = &'a str>) -> (usize, usize, usize) {
    let mut seen: HashSet<&str> = HashSet::new();
    let (mut n, mut dup, mut dup_chars) = (0, 0, 0);
    for s in segments {
        n += 1;
        if !seen.insert(s) {
            dup += 1;
            dup_chars += char_len(s);
        }
    }
    (n, dup, dup_chars)
}

fn fracs(text: &str, (n, dup, chars): (usize, usize, usize)) -> (f64, f64) {
    let len = char_len(text);
    (
        if n == 0 { 0.0 } else { dup as f64 / n as f64 },
        if len == 0 {
            0.0
        } else {
            chars as f64 / len as f64
        },
    )
}

/// `text` split at every occurrence of `sep` plus the newlines right after it (Python's
/// `re.split(sep + "\n*", text)` for a separator of newlines).
fn split_at_newline_runs<'a>(text: &'a str, sep: &'static str) -> impl Iterator<Item = &'a str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(sep) {
            Some(at) => {
                let end = r[at..].find(|c| c != '\n').map_or(r.len(), |m| at + m);
                rest = Some(&r[end..]);
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Paragraphs: `text.strip()` split at runs of two or more newlines.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    split_at_newline_runs(text.trim(), "\n\n")
}

/// Lines: `text` split at runs of newlines (leading/trailing empty pieces kept, as
/// Python's `re.split("\n+", text)`).
pub fn newline_runs(text: &str) -> impl Iterator<Item = &str> {
    split_at_newline_runs(text, "\n")
}

/// (duplicate paragraph fraction, duplicate paragraph character share).
pub fn dup_paragraphs(text: &str) -> (f64, f64) {
    fracs(text, find_duplicates(paragraphs(text)))
}

/// (duplicate line fraction, duplicate line character share).
pub fn dup_lines(text: &str) -> (f64, f64) {
    fracs(text, find_duplicates(newline_runs(text)))
}

/// Characters in the segments that repeat an earlier segment (for callers with their
/// own line split, such as FineWeb's).
pub fn dup_chars<'a>(lines: impl Iterator<Item = &'a str>) -> usize {
    find_duplicates(lines).2
}

/// N-gram measures over a token sequence.
pub struct Ngrams<'a> {
    toks: &'a [Token],
    hashes: Vec<u64>,
    lens: Vec<usize>,
    text_chars: usize,
}

impl<'a> Ngrams<'a> {
    /// Hashes and lengths of `toks` (tokens of `text`).
    pub fn new(text: &'a str, toks: &'a [Token]) -> Ngrams<'a> {
        Ngrams {
            toks,
            hashes: toks
                .iter()
                .map(|t| xxh3_64(t.text(text).as_bytes()))
                .collect(),
            lens: toks.iter().map(|t| char_len(t.text(text))).collect(),
            text_chars: char_len(text),
        }
    }

    fn hash(&self, i: usize, n: usize) -> u64 {
        let mut h = n as u64;
        for &x in &self.hashes[i..i + n] {
            // Order-sensitive mix (splitmix64 finaliser step).
            h = (h.rotate_left(23) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        h ^ (h >> 29)
    }

    fn chars(&self, i: usize, n: usize) -> usize {
        self.lens[i..i + n].iter().sum()
    }

    /// Characters of the most frequent n-gram (joined by spaces) times its count, over
    /// the characters of the text; among equally frequent n-grams the first one.
    pub fn top_frac(&self, n: usize) -> f64 {
        if n == 0 || self.toks.len() < n || self.text_chars == 0 {
            return 0.0;
        }
        // hash → (count, first position)
        let mut counts: HashMap<u64, (u32, u32), IdBuild> =
            HashMap::with_capacity_and_hasher(self.toks.len(), IdBuild::default());
        for i in 0..=self.toks.len() - n {
            counts.entry(self.hash(i, n)).or_insert((0, i as u32)).0 += 1;
        }
        let Some(&(c, first)) = counts
            .values()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        else {
            return 0.0;
        };
        if c < 2 {
            return 0.0;
        }
        let len = self.chars(first as usize, n) + n - 1;
        (c as usize * len) as f64 / self.text_chars as f64
    }

    /// Characters of n-grams that occurred before (scanning left to right and skipping
    /// past each repeat, as datatrove's `find_all_duplicate`), over the text's characters.
    pub fn dup_frac(&self, n: usize) -> f64 {
        if n == 0 || self.toks.len() < n || self.text_chars == 0 {
            return 0.0;
        }
        let mut seen: HashSet<u64, IdBuild> =
            HashSet::with_capacity_and_hasher(self.toks.len(), IdBuild::default());
        let mut dup = 0usize;
        let mut i = 0;
        while i + n <= self.toks.len() {
            if !seen.insert(self.hash(i, n)) {
                dup += self.chars(i, n);
                i += n;
            } else {
                i += 1;
            }
        }
        dup as f64 / self.text_chars as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::tokens::tokens;

    #[test]
    fn splits_like_python() {
        let p: Vec<&str> = paragraphs("\n a\n\n\nb\nc\n\n").collect();
        assert_eq!(p, ["a", "b\nc"]);
        let l: Vec<&str> = newline_runs("a\n\nb\n").collect();
        assert_eq!(l, ["a", "b", ""]);
        assert_eq!(paragraphs("").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn duplicate_fractions() {
        let (f, c) = dup_lines("ab\ncd\nab");
        assert!((f - 1.0 / 3.0).abs() < 1e-9);
        assert!((c - 2.0 / 8.0).abs() < 1e-9);
        let (f, _) = dup_paragraphs("x\n\ny\n\nx");
        assert!((f - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn ngram_shares() {
        let t = "a b a b a b c";
        let toks = tokens(t);
        let g = Ngrams::new(t, &toks);
        // "a b" three times: 3 × 3 chars over 13.
        assert!((g.top_frac(2) - 9.0 / 13.0).abs() < 1e-9);
        // Duplicated 2-grams, skipping past each: positions 2 ("a b") and 4 ("a b").
        assert!((g.dup_frac(2) - 4.0 / 13.0).abs() < 1e-9);
        let si = "ශ්‍රී ලංකාව ශ්‍රී ලංකාව";
        let toks = tokens(si);
        assert_eq!(toks.len(), 4);
        // 10 of 23 code points repeat.
        assert!((Ngrams::new(si, &toks).dup_frac(2) - 10.0 / 23.0).abs() < 1e-9);
        let toks = tokens("x y z");
        assert_eq!(Ngrams::new("x y z", &toks).top_frac(2), 0.0);
    }
}
