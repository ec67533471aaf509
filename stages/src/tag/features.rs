//! Feature extraction for the perceptron tagger: hashed string features chosen for
//! caseless scripts and rich morphology.
//!
//! Per word: the word, its lowercase, grapheme prefixes and suffixes of length 1–4
//! (graphemes, so that a Sinhala, Tamil or Ethiopic suffix never ends inside a
//! syllable), a collapsed shape (`Xx`, `d`, `a` for caseless letters), the script,
//! length, digit/hyphen/apostrophe/capitalisation flags, the neighbours at ±1 and ±2,
//! neighbour suffixes and shapes, word bigrams, and gazetteer hits (one optional word
//! list per entity type). Every feature is `xxh3(template id, strings)`, later folded
//! into a power-of-two weight table: no feature dictionary is stored.

use std::collections::HashMap;
use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::xxh3_64;

/// Word lists per entity type, matched on lowercase words. Multiword entries match
/// each of their words (as a feature; the gazetteer tagger does the span matching).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gazetteer {
    /// Type names, in a fixed order.
    pub types: Vec<String>,
    /// Lowercase word → bit set over `types`.
    pub words: HashMap<String, u32>,
}

impl Gazetteer {
    /// Adds the entries of one type.
    pub fn add(&mut self, ty: &str, entries: impl IntoIterator<Item = String>) {
        let k = match self.types.iter().position(|t| t == ty) {
            Some(k) => k,
            None => {
                self.types.push(ty.to_string());
                self.types.len() - 1
            }
        };
        for e in entries {
            for w in e.split_whitespace() {
                *self.words.entry(w.to_lowercase()).or_insert(0) |= 1 << (k % 32);
            }
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

struct WordInfo {
    lower: String,
    /// Byte offsets of grapheme starts in `lower`, plus its length.
    bounds: Vec<usize>,
    shape: String,
    script: &'static str,
}

impl WordInfo {
    fn new(w: &str) -> WordInfo {
        let lower = w.to_lowercase();
        let mut bounds: Vec<usize> = lower.grapheme_indices(true).map(|(i, _)| i).collect();
        bounds.push(lower.len());
        WordInfo {
            shape: shape(w),
            script: script(w),
            lower,
            bounds,
        }
    }
    fn n_graphemes(&self) -> usize {
        self.bounds.len() - 1
    }
    fn prefix(&self, n: usize) -> &str {
        &self.lower[..self.bounds[n]]
    }
    fn suffix(&self, n: usize) -> &str {
        &self.lower[self.bounds[self.n_graphemes() - n]..]
    }
}

/// The collapsed word shape: `X` upper, `x` lower, `a` caseless letter, `d` digit,
/// punctuation as itself; combining marks skipped; runs of one class collapsed.
pub fn shape(w: &str) -> String {
    let mut s = String::new();
    let mut last = '\0';
    for c in w.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        } else if c.is_alphabetic() {
            'a'
        } else if c.is_ascii_punctuation() {
            c
        } else {
            'o'
        };
        if k != last {
            s.push(k);
            last = k;
        }
    }
    s
}

/// The script of the first letter of a word (a coarse class, enough as a feature).
pub fn script(w: &str) -> &'static str {
    for c in w.chars() {
        if !c.is_alphabetic() {
            continue;
        }
        return match c as u32 {
            0..=0x24F | 0x1E00..=0x1EFF => "latn",
            0x370..=0x3FF => "grek",
            0x400..=0x4FF => "cyrl",
            0x600..=0x6FF => "arab",
            0x900..=0x97F => "deva",
            0xB80..=0xBFF => "taml",
            0xD80..=0xDFF => "sinh",
            0x1200..=0x139F | 0x2D80..=0x2DDF => "ethi",
            _ => "other",
        };
    }
    if w.chars().any(char::is_numeric) {
        "digit"
    } else {
        "punct"
    }
}

/// Hashes features into a reusable buffer.
#[derive(Default)]
struct Hasher {
    buf: Vec<u8>,
}

impl Hasher {
    fn h(&mut self, tpl: u8, parts: &[&str]) -> u64 {
        self.buf.clear();
        self.buf.push(tpl);
        for p in parts {
            self.buf.extend_from_slice(p.as_bytes());
            self.buf.push(0x1f);
        }
        xxh3_64(&self.buf)
    }
}

/// Extracts the hashed features of every word of a sentence into `out` (flat) with
/// `starts[i]..starts[i+1]` the features of word `i`.
pub fn extract(words: &[&str], gaz: &Gazetteer, out: &mut Vec<u64>, starts: &mut Vec<usize>) {
    out.clear();
    starts.clear();
    let info: Vec<WordInfo> = words.iter().map(|w| WordInfo::new(w)).collect();
    let mut h = Hasher::default();
    let lower = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else if i as usize >= info.len() {
            "</s>"
        } else {
            &info[i as usize].lower
        }
    };
    for (i, w) in words.iter().enumerate() {
        starts.push(out.len());
        let wi = &info[i];
        let ii = i as isize;
        out.push(h.h(0, &[]));
        out.push(h.h(1, &[w]));
        out.push(h.h(2, &[&wi.lower]));
        let n = wi.n_graphemes();
        for k in 1..=4.min(n) {
            out.push(h.h(2 + k as u8, &[wi.prefix(k)]));
            out.push(h.h(6 + k as u8, &[wi.suffix(k)]));
        }
        out.push(h.h(11, &[&wi.shape]));
        out.push(h.h(12, &[wi.script]));
        let len = match n {
            0..=4 => ["0", "1", "2", "3", "4"][n],
            5..=7 => "5-7",
            _ => "8+",
        };
        out.push(h.h(24, &[len]));
        if w.chars().any(char::is_numeric) {
            out.push(h.h(13, &["digit"]));
        }
        if w.contains('-') {
            out.push(h.h(13, &["hyphen"]));
        }
        if w.contains(['\'', '’', 'ʼ']) {
            out.push(h.h(13, &["apos"]));
        }
        if w.chars().next().is_some_and(char::is_uppercase) {
            out.push(h.h(13, &[if i == 0 { "initcap-first" } else { "initcap" }]));
        }
        out.push(h.h(14, &[lower(ii - 1)]));
        out.push(h.h(15, &[lower(ii - 2)]));
        out.push(h.h(16, &[lower(ii + 1)]));
        out.push(h.h(17, &[lower(ii + 2)]));
        out.push(h.h(22, &[lower(ii - 1), &wi.lower]));
        out.push(h.h(23, &[&wi.lower, lower(ii + 1)]));
        if i > 0 {
            let p = &info[i - 1];
            out.push(h.h(18, &[p.suffix(3.min(p.n_graphemes()))]));
            out.push(h.h(20, &[&p.shape]));
        }
        if let Some(nx) = info.get(i + 1) {
            out.push(h.h(19, &[nx.suffix(3.min(nx.n_graphemes()))]));
            out.push(h.h(21, &[&nx.shape]));
        }
        if !gaz.is_empty() {
            for (off, tpl) in [(0isize, 26u8), (-1, 27), (1, 28)] {
                let j = ii + off;
                if j < 0 || j as usize >= info.len() {
                    continue;
                }
                if let Some(&bits) = gaz.words.get(&info[j as usize].lower) {
                    for (k, t) in gaz.types.iter().enumerate() {
                        if bits & (1 << (k % 32)) != 0 {
                            out.push(h.h(tpl, &[t]));
                        }
                    }
                }
            }
        }
    }
    starts.push(out.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_scripts() {
        assert_eq!(shape("Ọ̀gbẹ́ni"), "Xx");
        assert_eq!(shape("2023-24"), "d-d");
        assert_eq!(shape("කොළඹ"), "a");
        assert_eq!(script("කොළඹ"), "sinh");
        assert_eq!(script("சென்னை"), "taml");
        assert_eq!(script("አዲስ"), "ethi");
        assert_eq!(script("12"), "digit");
    }

    #[test]
    fn suffixes_are_whole_graphemes() {
        let w = WordInfo::new("සිංහල");
        for k in 1..=w.n_graphemes() {
            let s = w.suffix(k);
            assert!(s.graphemes(true).count() == k, "{s}");
        }
    }

    #[test]
    fn features_are_deterministic_and_context_sensitive() {
        let g = Gazetteer::default();
        let (mut a, mut sa, mut b, mut sb) = (vec![], vec![], vec![], vec![]);
        extract(&["Ade", "lọ"], &g, &mut a, &mut sa);
        extract(&["Ade", "wá"], &g, &mut b, &mut sb);
        assert_eq!(sa.len(), 3);
        assert_ne!(a[sa[0]..sa[1]], b[sb[0]..sb[1]]);
        let (mut c, mut sc) = (vec![], vec![]);
        extract(&["Ade", "lọ"], &g, &mut c, &mut sc);
        assert_eq!(a, c);
    }
}
