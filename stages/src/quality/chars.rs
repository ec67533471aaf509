//! Character classes of the quality rules, for every script: sentence terminals (the
//! Unicode `Sentence_Terminal` property: `.` `?` `!`, Devanagari `।` `॥`, Ethiopic `።`
//! `፧` `፨`, Arabic `؟` `۔`, Myanmar `။`, Khmer `។`, CJK `。`, … plus the Sinhala
//! kunddaliya `෴`, which marks the end of a text) and punctuation (general category `P`
//! or ASCII punctuation).
//!
//! The tables come from the Unicode data compiled into `regex-syntax`, so they follow
//! the Unicode version of that crate rather than a hand-kept list.

use regex_syntax::hir::{Class, HirKind};
use std::sync::LazyLock;

/// Sorted, disjoint code point ranges of a Unicode class expression.
fn ranges(class: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(class)
        .unwrap_or_else(|e| panic!("unicode class {class}: {e}"));
    match hir.kind() {
        HirKind::Class(Class::Unicode(u)) => u
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        k => panic!("unicode class {class} compiled to {k:?}"),
    }
}

fn contains(table: &[(u32, u32)], c: char) -> bool {
    let u = c as u32;
    let i = table.partition_point(|&(_, hi)| hi < u);
    table.get(i).is_some_and(|&(lo, _)| lo <= u)
}

static TERMINALS: LazyLock<Vec<(u32, u32)>> =
    LazyLock::new(|| ranges(r"[\p{Sentence_Terminal}\x{0DF4}]"));
static PUNCT: LazyLock<Vec<(u32, u32)>> = LazyLock::new(|| ranges(r"\p{P}"));

/// Whether `c` ends a sentence in some script (Unicode `Sentence_Terminal`, plus `෴`).
/// The ellipsis `…` is not one.
#[inline]
pub fn is_sentence_terminal(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, '.' | '?' | '!');
    }
    contains(&TERMINALS, c)
}

/// Whether `c` is punctuation: ASCII punctuation (symbols such as `$` `+` `|` included,
/// as datatrove's punctuation set has them) or Unicode general category `P`, or a
/// sentence terminal. Currency signs other than `$`, `°`, emoji are not.
#[inline]
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    contains(&PUNCT, c) || contains(&TERMINALS, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminals_of_many_scripts() {
        for c in [
            '.', '?', '!', '።', '፧', '፨', '।', '॥', '؟', '۔', '။', '។', '。', '෴',
        ] {
            assert!(is_sentence_terminal(c), "{c:?}");
        }
        for c in [',', '…', '"', 'a', '፣', ':', '්'] {
            assert!(!is_sentence_terminal(c), "{c:?}");
        }
    }

    #[test]
    fn punctuation_classes() {
        for c in ['.', ',', '$', '|', '—', '’', '«', '፣', '።', '¿'] {
            assert!(is_punctuation(c), "{c:?}");
        }
        for c in ['a', '£', '°', '😀', '්', '5'] {
            assert!(!is_punctuation(c), "{c:?}");
        }
    }
}
