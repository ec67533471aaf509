//! Candidate filters of the synonym attack (SEEDS.md §3.1 step 5, plus the TextAttack-style
//! constraints of ANCHORS.md §1b that matter for morphologically rich languages), and the
//! per-filter counters that the summary reports.
//!
//! The cheap string filters run first so that the expensive ones (POS tagging the substituted
//! sentence, embedding it) only see survivors; the counters therefore count *rejections by the
//! first filter that fires*, in this order: not a word → stopword → same word/stem → edit
//! distance → POS → similarity.

use std::collections::HashSet;

use serde::Serialize;

/// How many candidates each filter rejected, and how many survived. Summed over words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FilterCounts {
    /// Candidates proposed by the generator.
    pub generated: usize,
    /// Rejected: not a single word under the shared segmentation (punctuation, digits, two words).
    pub not_word: usize,
    /// Rejected: the candidate is a stopword.
    pub stopword: usize,
    /// Rejected: same word or same stem as the original (see [`same_stem`]).
    pub same_stem: usize,
    /// Rejected: character edit distance above the limit.
    pub edit_distance: usize,
    /// Rejected: POS tag differs from the original word's.
    pub pos: usize,
    /// Rejected: sentence-embedding cosine below `min_sim`.
    pub similarity: usize,
    /// Survivors, sent to the victim.
    pub kept: usize,
}

impl FilterCounts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &FilterCounts) {
        self.generated += other.generated;
        self.not_word += other.not_word;
        self.stopword += other.stopword;
        self.same_stem += other.same_stem;
        self.edit_distance += other.edit_distance;
        self.pos += other.pos;
        self.similarity += other.similarity;
        self.kept += other.kept;
    }
}

/// Lowercase form used for every comparison (stopwords, stems, duplicates).
pub fn normalize(word: &str) -> String {
    word.to_lowercase()
}

/// True when `word` is exactly one word of the shared segmentation and has a letter: MLM
/// vocabularies are full of punctuation and digit pieces that must not replace a word.
pub fn is_word(word: &str) -> bool {
    let spans = mavuno_stages::text::segment::words(word);
    spans.len() == 1 && spans[0] == (0, word.len()) && word.chars().any(char::is_alphabetic)
}

/// Levenshtein distance over `char`s (not bytes, so Ge'ez and Sinhala letters count as one).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// "Same word or same stem" without a stemmer (none exists for most of our languages):
/// after lowercasing, two words are the same stem when they are equal, when their shared
/// prefix covers at least 80% of the shorter word (inflection is mostly suffixal in Swahili,
/// Hausa, Tamil, Sinhala: `kitabu`/`kitabuni`), or when they are one edit apart (a spelling
/// variant or a tone/diacritic slip, not a synonym). Deliberately conservative: a rejected
/// true synonym costs one candidate, an accepted inflection is a non-attack.
pub fn same_stem(a: &str, b: &str) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    if a == b {
        return true;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let shorter = la.min(lb);
    let prefix = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    // 0.8 · shorter, in integers: prefix/shorter ≥ 4/5.
    (shorter > 0 && prefix * 5 >= shorter * 4) || edit_distance(&a, &b) <= 1
}

/// The string filters, in order; returns the name of the first one that rejects, if any.
pub(crate) fn string_filter(
    original: &str,
    candidate: &str,
    stopwords: &HashSet<String>,
    max_edit: Option<usize>,
) -> Option<&'static str> {
    if !is_word(candidate) {
        return Some("not_word");
    }
    if stopwords.contains(&normalize(candidate)) {
        return Some("stopword");
    }
    if same_stem(original, candidate) {
        return Some("same_stem");
    }
    if let Some(m) = max_edit {
        if edit_distance(&normalize(original), &normalize(candidate)) > m {
            return Some("edit_distance");
        }
    }
    None
}

impl FilterCounts {
    /// Counts one rejection by the named string filter.
    pub(crate) fn reject(&mut self, filter: &str) {
        match filter {
            "not_word" => self.not_word += 1,
            "stopword" => self.stopword += 1,
            "same_stem" => self.same_stem += 1,
            "edit_distance" => self.edit_distance += 1,
            "pos" => self.pos += 1,
            _ => self.similarity += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_distances() {
        assert!(same_stem("Kitabu", "kitabuni"));
        assert!(same_stem("gida", "gidda"));
        assert!(!same_stem("gida", "daki"));
        assert!(!same_stem("mzuri", "mbaya"));
        assert_eq!(edit_distance("සිංහල", "සිංහල"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert!(is_word("ọmọ"));
        assert!(!is_word("..."));
        assert!(!is_word("two words"));
        assert!(!is_word("123"));
    }
}
