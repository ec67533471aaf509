//! Character measures of the quality filter that need no tokens: the share of letters in
//! one script and the longest run of one character.

use crate::text::segment::{script_of, Script};

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
    fn char_measures() {
        assert_eq!(longest_char_run("heyyyy!!"), 4);
        assert_eq!(longest_char_run(""), 0);
        assert_eq!(script_share("abc ශ", Script::Latin), 0.75);
        assert_eq!(script_share("123", Script::Latin), 1.0);
    }
}
