//! FineWeb line measures with datatrove's `FineWebQualityFilter` semantics. Lines are
//! `text.split('\n')` without the blank ones, used as they are (indentation counts toward
//! a line's length, as in datatrove):
//!
//! - share of lines ending in a sentence terminal of any script
//!   ([`crate::quality::chars::is_sentence_terminal`]; datatrove's list is the same
//!   Unicode property). Trailing spaces and a `\r` are ignored, where datatrove counts
//!   such a line as unterminated; `exact` (the filter's `line_punct_exact`) counts as
//!   datatrove does;
//! - share of lines of at most `short_chars` code points;
//! - characters in lines that repeat an earlier line, over the characters of the text
//!   other than `\n`;
//! - newlines per token (the "list" ratio; tokens as [`crate::quality::tokens`]).

use crate::quality::chars::is_sentence_terminal;
use crate::quality::repetition::dup_chars;
use crate::quality::tokens::char_len;

/// The FineWeb line statistics of one text.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineStats {
    /// Non-blank lines.
    pub lines: usize,
    /// Share of lines ending in a sentence terminal.
    pub punct_frac: f64,
    /// Share of lines of at most `short_chars` characters.
    pub short_frac: f64,
    /// Characters of repeated lines over characters other than `\n`.
    pub dup_char_ratio: f64,
}

/// Whether a line ends in a sentence terminal (trailing whitespace ignored).
#[inline]
pub fn ends_in_terminal(line: &str) -> bool {
    line.trim_end()
        .chars()
        .next_back()
        .is_some_and(is_sentence_terminal)
}

/// The statistics of `text`; `dup` computes the duplicate share (it hashes every line);
/// `exact` takes a line's last character as it is (datatrove), not after trailing spaces.
pub fn line_stats(text: &str, short_chars: usize, dup: bool, exact: bool) -> LineStats {
    let lines: Vec<&str> = text.split('\n').filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return LineStats::default();
    }
    let n = lines.len() as f64;
    let ends = |l: &&&str| {
        if exact {
            l.chars().next_back().is_some_and(is_sentence_terminal)
        } else {
            ends_in_terminal(l)
        }
    };
    let punct = lines.iter().filter(ends).count();
    let short = lines
        .iter()
        .filter(|l| l.chars().take(short_chars + 1).count() <= short_chars)
        .count();
    let dup_char_ratio = if dup {
        let chars = char_len(text) - text.matches('\n').count();
        dup_chars(lines.iter().copied()) as f64 / chars.max(1) as f64
    } else {
        0.0
    };
    LineStats {
        lines: lines.len(),
        punct_frac: punct as f64 / n,
        short_frac: short as f64 / n,
        dup_char_ratio,
    }
}

/// Newlines per token (0 without tokens).
pub fn newline_ratio(text: &str, tokens: usize) -> f64 {
    if tokens == 0 {
        return 0.0;
    }
    text.matches('\n').count() as f64 / tokens as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let t =
            "Habari ya leo.\n\nshort\nHabari ya leo.\nA line that is long enough to not be short፧";
        let s = line_stats(t, 30, true, false);
        assert_eq!(s.lines, 4);
        assert!((s.punct_frac - 0.75).abs() < 1e-9);
        assert!((s.short_frac - 0.75).abs() < 1e-9);
        let chars = t.chars().count() - 4;
        assert!((s.dup_char_ratio - 14.0 / chars as f64).abs() < 1e-9);
        assert_eq!(line_stats(" \n\n", 30, true, false), LineStats::default());
        // datatrove's count: "Habari ya leo. " ends in a space, so it is unterminated.
        let t = "Habari ya leo. \nNdiyo.\r\nSawa.";
        assert!((line_stats(t, 30, false, false).punct_frac - 1.0).abs() < 1e-9);
        assert!((line_stats(t, 30, false, true).punct_frac - 1.0 / 3.0).abs() < 1e-9);
        assert!((newline_ratio("a\nb", 4) - 0.25).abs() < 1e-9);
        assert!(ends_in_terminal("ශ්‍රී ලංකාව. "));
        assert!(ends_in_terminal("नमस्ते।"));
        assert!(!ends_in_terminal("He said \"no\""));
    }
}
