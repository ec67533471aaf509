//! Normalised comparison keys, and the word view (over the shared segmentation) used by
//! the dedup stages.
//!
//! The default normalisation (`nfkc_casefold_ws`) is NFKC, then lowercase, then every
//! character that is neither alphanumeric, a combining mark, ZWJ/ZWNJ nor whitespace is
//! removed (punctuation and symbols, including Ethiopic `።` `፣`), then runs of whitespace
//! become one space and the ends are trimmed. Combining marks stay, so Yoruba tone marks
//! and Sinhala/Tamil vowel signs are part of the key.

use mavuno_pipeline::schemars;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// How text is normalised before hashing.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum Normalize {
    /// Compare the text byte for byte.
    None,
    /// NFKC, lowercase, strip punctuation and symbols, collapse whitespace.
    #[default]
    NfkcCasefoldWs,
}

/// The text as compared under `mode`. Borrowed when nothing changes.
pub fn normalize(text: &str, mode: Normalize) -> Cow<'_, str> {
    match mode {
        Normalize::None => Cow::Borrowed(text),
        Normalize::NfkcCasefoldWs => Cow::Owned(nfkc_casefold_ws(text)),
    }
}

fn nfkc_casefold_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if c.is_alphanumeric() || is_combining_mark(c) || c == '\u{200c}' || c == '\u{200d}'
        {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Words of a text, as string slices: the shared script-aware segmentation
/// ([`crate::text::segment::words`]), so dedup shingles, filters and statistics agree on
/// what a word is (virama/ZWJ clusters, tone marks, Hausa `'yan` stay whole).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    crate::text::segment::words(text)
        .into_iter()
        .map(move |(s, e)| &text[s..e])
}

/// xxh3-128 of the normalised text: the exact-dedup key.
pub fn key128(text: &str, mode: Normalize) -> u128 {
    xxhash_rust::xxh3::xxh3_128(normalize(text, mode).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_ignores_case_punctuation_and_spacing() {
        let n = |s| normalize(s, Normalize::NfkcCasefoldWs).into_owned();
        assert_eq!(n("  Ẹ kú   àárọ̀, ọ̀rẹ́!  "), "ẹ kú àárọ̀ ọ̀rẹ́");
        assert_eq!(n("ሰላም፡፡ ነው።"), "ሰላም ነው");
        assert_eq!(n("ＡＢＣ"), "abc");
        assert_eq!(
            key128("Habari, yako?", Normalize::NfkcCasefoldWs),
            key128("habari yako", Normalize::NfkcCasefoldWs)
        );
        assert_ne!(
            key128("Habari, yako?", Normalize::None),
            key128("habari yako", Normalize::None)
        );
    }

    #[test]
    fn sinhala_vowel_signs_survive() {
        // "ශ්‍රී ලංකා": virama, ZWJ and vowel signs are part of the key.
        let s = "ශ්\u{200d}රී ලංකා";
        assert_eq!(normalize(s, Normalize::NfkcCasefoldWs), s);
    }

    #[test]
    fn words_skip_spaces_and_punctuation() {
        let w: Vec<&str> = words("Galibin 'yan Najeriya, dai.").collect();
        // The shared segmenter keeps Hausa's leading apostrophe: "'yan" is one word.
        assert_eq!(w, ["Galibin", "'yan", "Najeriya", "dai"]);
    }
}
