//! Gopher quality measures (Rae et al. 2021, §A.1.1) with datatrove's
//! `GopherQualityFilter` semantics, over [`crate::quality::tokens`]:
//!
//! - words are the tokens that are not punctuation only; their count and mean length (in
//!   code points) are the word-count and mean-word-length rules;
//! - `#` per token and ellipses (`...`, `…`) per token, each on its own, are the symbol
//!   rule (the denominator counts punctuation tokens, as datatrove's does);
//! - the share of tokens with at least one letter is the alphabetic-word rule;
//! - the share of lines starting with a bullet (`•`, `-`) and of lines ending in an
//!   ellipsis, over all lines of Python's `str.splitlines` (blank ones included);
//! - the number of *different* stopwords, matched as written (datatrove intersects the
//!   stopword set with the set of tokens, so "The" is not "the").
//!
//! Letters are letters of every script (`char::is_alphabetic`), so Ethiopic, Sinhala and
//! Tamil words count as alphabetic words; a Sinhala or Tamil vowel sign or virama (a
//! combining mark) stays inside its word instead of becoming a token of its own.

use crate::quality::tokens::{char_len, Token};
use crate::text::segment::is_alphabetic;
use std::collections::HashSet;

/// Lines as Python's `str.splitlines()`: split at `\n`, `\r`, `\r\n`, `\v`, `\f`,
/// `\x1c`–`\x1e`, `\x85`, U+2028, U+2029; no empty piece after a final break.
pub fn splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let brk = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !brk {
            continue;
        }
        out.push(&text[start..i]);
        let mut next = i + c.len_utf8();
        if c == '\r' && it.peek().is_some_and(|&(_, d)| d == '\n') {
            it.next();
            next += 1;
        }
        start = next;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Words: tokens that are not punctuation only.
pub fn word_count(toks: &[Token]) -> usize {
    toks.iter().filter(|t| !t.symbol).count()
}

/// Mean length of the words in code points (0 without words).
pub fn mean_word_length(text: &str, toks: &[Token]) -> f64 {
    let (mut n, mut chars) = (0usize, 0usize);
    for t in toks.iter().filter(|t| !t.symbol) {
        n += 1;
        chars += char_len(t.text(text));
    }
    if n == 0 {
        0.0
    } else {
        chars as f64 / n as f64
    }
}

/// (`#` per token, ellipses per token); 0 without tokens.
pub fn symbol_ratios(text: &str, toks: &[Token]) -> (f64, f64) {
    if toks.is_empty() {
        return (0.0, 0.0);
    }
    let n = toks.len() as f64;
    let hashes = text.matches('#').count();
    let ellipses = text.matches("...").count() + text.matches('…').count();
    (hashes as f64 / n, ellipses as f64 / n)
}

/// Share of tokens with at least one letter (1.0 without tokens).
pub fn alpha_token_frac(text: &str, toks: &[Token]) -> f64 {
    if toks.is_empty() {
        return 1.0;
    }
    let alpha = toks
        .iter()
        .filter(|t| t.text(text).chars().any(is_alphabetic))
        .count();
    alpha as f64 / toks.len() as f64
}

/// (share of lines starting with a bullet, share of lines ending in an ellipsis) over
/// [`splitlines`]; 0 without lines.
pub fn bullet_and_ellipsis_line_fracs(text: &str) -> (f64, f64) {
    let lines = splitlines(text);
    if lines.is_empty() {
        return (0.0, 0.0);
    }
    let (mut bullet, mut ell) = (0usize, 0usize);
    for l in &lines {
        let s = l.trim_start();
        bullet += (s.starts_with('•') || s.starts_with('-')) as usize;
        let e = l.trim_end();
        ell += (e.ends_with("...") || e.ends_with('…')) as usize;
    }
    let n = lines.len() as f64;
    (bullet as f64 / n, ell as f64 / n)
}

/// Number of different stopwords among the tokens, matched as written.
pub fn distinct_stopwords(text: &str, toks: &[Token], stopwords: &HashSet<String>) -> usize {
    let mut hit: HashSet<&str> = HashSet::new();
    for t in toks.iter().filter(|t| !t.symbol) {
        let w = t.text(text);
        if stopwords.contains(w) {
            hit.insert(w);
        }
    }
    hit.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::tokens::tokens;

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\r\nb\rc\n"), ["a", "b", "c"]);
        assert_eq!(splitlines("a\n\nb"), ["a", "", "b"]);
        assert!(splitlines("").is_empty());
        assert_eq!(splitlines("x\u{2028}y"), ["x", "y"]);
    }

    #[test]
    fn measures() {
        let t = "The cat, the dog... and #tags!";
        let toks = tokens(t);
        // The cat , the dog ... and # tags !
        assert_eq!(toks.len(), 10);
        assert_eq!(word_count(&toks), 6);
        let (h, e) = symbol_ratios(t, &toks);
        assert!((h - 0.1).abs() < 1e-9 && (e - 0.1).abs() < 1e-9);
        assert!((alpha_token_frac(t, &toks) - 0.6).abs() < 1e-9);
        let sw: HashSet<String> = ["the", "and", "of"].map(String::from).into();
        assert_eq!(distinct_stopwords(t, &toks, &sw), 2);
        let (b, e) = bullet_and_ellipsis_line_fracs("- a\n• b\nc...\n\n");
        assert!((b - 0.5).abs() < 1e-9 && (e - 0.25).abs() < 1e-9);
    }

    #[test]
    fn scripts_have_alphabetic_words() {
        for t in ["ሰላም ነው። እንዴት ነህ፧", "ශ්‍රී ලංකාව ලස්සනයි.", "தமிழ்நாடு அரசு இன்று."]
        {
            let toks = tokens(t);
            assert!(alpha_token_frac(t, &toks) >= 0.6, "{t}");
            assert!(mean_word_length(t, &toks) > 2.0, "{t}");
        }
    }
}
