//! C4's line-level cleaning (Raffel et al. 2020, §2.2) with datatrove's `C4QualityFilter`
//! semantics. Lines are Python's `splitlines()`, each stripped; in this order a line is
//! removed when a whitespace-separated word is longer than `max_word_chars`, (after
//! Wikipedia citation marks `[1]`, `[edit]`, `[citation needed]` are cut out) when it does
//! not end in terminal punctuation or ends in `...`, when it has fewer than `min_words`
//! words, when it mentions "javascript", or when it holds a cookie/terms-of-use phrase.
//! On a line that survived the line rules before them, "lorem ipsum" or a `{` drop the
//! whole text. The text keeps its surviving lines joined by `\n`, and is dropped when
//! they hold fewer than `min_sentences` sentences.
//!
//! Script-aware where C4 is English-only: a line ends in terminal punctuation when its last
//! character is a sentence terminal of any script (Ethiopic `።` `፧`, Devanagari `।`,
//! Sinhala `෴`, …; [`crate::quality::chars`]) or `"` / `'` (as C4); datatrove accepts only
//! `. ? ! " '`, so it removes every line of Amharic text. Sentences are counted as spaCy's
//! sentencizer does (a new sentence starts at the first non-punctuation token after a
//! terminal mark), over [`crate::quality::tokens`], so "Mr." and "U.S." end nothing.

use crate::quality::chars::is_sentence_terminal;
use crate::quality::gopher::splitlines;
use crate::quality::tokens::{char_len, tokens};
use crate::text::align::Aligned;
use regex::Regex;
use std::sync::LazyLock;

static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[\d*\]|\[edit\]|\[citation needed\]")
        .unwrap_or_else(|e| panic!("citation pattern: {e}"))
});

/// Lines with these phrases are removed (C4's cookie and terms-of-use lines).
const POLICY: [&str; 6] = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
];

/// Why a line was removed, in the order the rules run (`lines_removed_<name>_total`).
pub const LINE_REASONS: [&str; 5] = [
    "too_long_word",
    "no_terminal_punct",
    "too_few_words",
    "javascript",
    "policy",
];

/// Which C4 rules run (all off by default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct C4Rules {
    /// Remove lines longer words than this (code points).
    pub max_word_chars: Option<usize>,
    /// Cut out `[1]`, `[edit]`, `[citation needed]`.
    pub remove_citations: bool,
    /// Remove lines without terminal punctuation.
    pub require_terminal: bool,
    /// Remove lines with fewer words.
    pub min_words: Option<usize>,
    /// Remove lines mentioning "javascript".
    pub javascript: bool,
    /// Remove cookie / terms-of-use lines.
    pub policy: bool,
    /// Drop texts with "lorem ipsum".
    pub lorem_ipsum: bool,
    /// Drop texts with `{`.
    pub curly_bracket: bool,
    /// Drop texts whose kept lines hold fewer sentences.
    pub min_sentences: Option<usize>,
}

/// What the C4 rules did to one text.
#[derive(Debug)]
pub enum C4Outcome {
    /// Dropped, with the reason.
    Drop(&'static str),
    /// Kept: the rewritten text (when lines or citations were removed) and the count of
    /// removed lines per [`LINE_REASONS`] entry.
    Keep(Option<Aligned>, [u64; 5]),
}

/// Whether a line ends in terminal punctuation (any script, or a straight quote) and not
/// in `...`.
pub fn ends_c4(line: &str) -> bool {
    !line.ends_with("...")
        && line
            .chars()
            .next_back()
            .is_some_and(|c| c == '"' || c == '\'' || is_sentence_terminal(c))
}

/// Sentences in a line, as spaCy's sentencizer splits them.
pub fn count_sentences(line: &str) -> usize {
    let toks = tokens(line);
    if toks.is_empty() {
        return 0;
    }
    let (mut n, mut seen_terminal) = (1, false);
    for t in &toks {
        let s = t.text(line);
        let mut cs = s.chars();
        let terminal = matches!((cs.next(), cs.next()), (Some(c), None) if is_sentence_terminal(c));
        if seen_terminal && !t.symbol && !terminal {
            n += 1;
            seen_terminal = false;
        } else if terminal {
            seen_terminal = true;
        }
    }
    n
}

/// Applies the rules to `text`.
pub fn apply(r: &C4Rules, text: &str) -> C4Outcome {
    let mut removed = [0u64; 5];
    // Kept lines: pieces (byte ranges of `text`) after citation removal.
    let mut kept: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut sentences = 0usize;
    let base = text.as_ptr() as usize;
    for raw in splitlines(text) {
        let line = raw.trim();
        let off = line.as_ptr() as usize - base;
        if let Some(m) = r.max_word_chars {
            if line.split_whitespace().any(|w| char_len(w) > m) {
                removed[0] += 1;
                continue;
            }
        }
        let mut pieces = vec![(off, off + line.len())];
        let cleaned: std::borrow::Cow<str> = if r.remove_citations && line.contains('[') {
            pieces.clear();
            let mut last = 0;
            for m in CITATION.find_iter(line) {
                pieces.push((off + last, off + m.start()));
                last = m.end();
            }
            pieces.push((off + last, off + line.len()));
            pieces.retain(|(s, e)| e > s);
            CITATION.replace_all(line, "")
        } else {
            line.into()
        };
        if r.require_terminal && !ends_c4(&cleaned) {
            removed[1] += 1;
            continue;
        }
        if r.min_words
            .is_some_and(|m| line.split_whitespace().count() < m)
        {
            removed[2] += 1;
            continue;
        }
        let lower = cleaned.to_lowercase();
        if r.lorem_ipsum && lower.contains("lorem ipsum") {
            return C4Outcome::Drop("lorem_ipsum");
        }
        if r.javascript && lower.contains("javascript") {
            removed[3] += 1;
            continue;
        }
        if r.curly_bracket && cleaned.contains('{') {
            return C4Outcome::Drop("curly_bracket");
        }
        if r.policy && POLICY.iter().any(|p| lower.contains(p)) {
            removed[4] += 1;
            continue;
        }
        if r.min_sentences.is_some() {
            sentences += count_sentences(&cleaned);
        }
        kept.push(pieces);
    }
    if r.min_sentences.is_some_and(|m| sentences < m) {
        return C4Outcome::Drop("too_few_sentences");
    }
    let mut a = Aligned::new(text.to_string());
    a.pass(|t, w| {
        for (i, pieces) in kept.iter().enumerate() {
            if i > 0 {
                w.replace("\n", pieces.first().map_or(t.len(), |p| p.0));
            }
            for &(s, e) in pieces {
                w.copy(&t[s..e], s);
            }
        }
    });
    a.pass(|t, w| {
        let tt = t.trim();
        w.copy(tt, t.len() - t.trim_start().len());
    });
    let changed = a.text != text;
    C4Outcome::Keep(changed.then_some(a), removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> C4Rules {
        C4Rules {
            max_word_chars: Some(1000),
            remove_citations: true,
            require_terminal: true,
            min_words: Some(3),
            javascript: true,
            policy: true,
            lorem_ipsum: true,
            curly_bracket: true,
            min_sentences: Some(2),
        }
    }

    #[test]
    fn line_removal_and_counts() {
        let t = "Menu\nThe river rose quickly today.[1]\nPlease enable JavaScript to view it.\n\
                 This site uses cookies to work well.\nIt rained. Then it stopped!\nToo short.\nTrailing dots here...";
        match apply(&all(), t) {
            C4Outcome::Keep(Some(a), removed) => {
                assert_eq!(
                    a.text,
                    "The river rose quickly today.\nIt rained. Then it stopped!"
                );
                assert_eq!(removed, [0, 2, 1, 1, 1]);
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn document_drops() {
        let r = all();
        assert!(matches!(
            apply(&r, "Lorem ipsum dolor sit amet.\nMore text here."),
            C4Outcome::Drop("lorem_ipsum")
        ));
        assert!(matches!(
            apply(&r, "A line with a { in the middle.\nOk then."),
            C4Outcome::Drop("curly_bracket")
        ));
        // A `{` on a line already removed does not drop the text.
        assert!(matches!(
            apply(&r, "if (x) {\nOne sentence here. And a second one."),
            C4Outcome::Keep(Some(_), _)
        ));
        assert!(matches!(
            apply(&r, "Only one sentence here."),
            C4Outcome::Drop("too_few_sentences")
        ));
    }

    #[test]
    fn sentences_and_scripts() {
        assert_eq!(
            count_sentences("Mr. Smith went to the U.S. today. He left."),
            2
        );
        assert_eq!(count_sentences("Wait... what? \"Yes.\" Fine"), 3);
        assert_eq!(count_sentences("ሰላም ነው። እንዴት ነህ፧ ደህና ነኝ።"), 3);
        assert_eq!(count_sentences(""), 0);
        assert!(ends_c4("ሰላም ነው።"));
        assert!(ends_c4("He said \"no\""));
        assert!(!ends_c4("Wait..."));
        let amh = "ሰላም ነው። እንዴት ነህ፧\nደህና ነኝ። አመሰግናለሁ።";
        assert!(matches!(
            apply(&all(), amh),
            C4Outcome::Keep(None, [0, 0, 0, 0, 0])
        ));
    }
}
