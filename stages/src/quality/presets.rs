//! Named rule sets for `filter`'s `preset`: datatrove's defaults for the Gopher, C4 and
//! FineWeb filters (datatrove 0.10.1, the thresholds FineWeb and FineWeb-2 were built
//! with), and the MADLAD-400 sentence rules. Fields set in the stage override a preset.
//!
//! | preset | rules |
//! |---|---|
//! | `gopher_quality` | 50–100 000 words, mean word length 3–10, `#` and ellipses per token ≤ 0.1, bullet lines ≤ 0.9, ellipsis lines ≤ 0.3, alphabetic tokens ≥ 0.8, ≥ 2 different stopwords (the, be, to, of, and, that, have, with; `lang`'s list for other languages) |
//! | `gopher_repetition` | duplicate lines/paragraphs ≤ 0.3 (count) and ≤ 0.2 (characters), top 2/3/4-gram ≤ 0.20/0.18/0.16, duplicated 5…10-grams ≤ 0.15…0.10 |
//! | `c4` | C4 line removal (terminal punctuation, ≥ 3 words, words ≤ 1000 characters, javascript, cookie/terms lines, citations cut), lorem ipsum and `{` drop the text, ≥ 5 sentences |
//! | `fineweb` | lines ending in terminal punctuation ≥ 0.12 (counted as datatrove does, `line_punct_exact`), lines ≤ 30 characters ≤ 0.67, repeated-line characters ≤ 0.01, newlines per token ≤ 0.3 |
//! | `madlad` | > 6 words, bad endings, Bible references, numbering prefixes/URLs/quotes stripped, English junk for `eng` (keeps `lang`'s script rule) |

use crate::quality::filter::FilterConfig;

/// The preset names.
pub const PRESETS: [&str; 5] = [
    "gopher_quality",
    "gopher_repetition",
    "c4",
    "fineweb",
    "madlad",
];

/// Gopher's English stopwords (Rae et al. 2021; datatrove's default list).
pub const GOPHER_STOPWORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// The MADLAD-400 sentence rules (SEEDS §1.5): more than 6 words, no bad endings, no Bible
/// book names, numbering prefixes and URLs stripped.
fn madlad(lang_cfg: Option<FilterConfig>, lang: Option<&str>) -> FilterConfig {
    let mut m = FilterConfig {
        min_words: Some(7),
        drop_bad_endings: Some(true),
        drop_bible: Some(true),
        strip_numbering: Some(true),
        strip_urls: Some(true),
        strip_quotes: Some(true),
        ..FilterConfig::default()
    };
    if let Some(l) = lang_cfg {
        m.script = l.script;
        m.min_script_share = l.min_script_share;
    }
    if lang == Some("eng") {
        m.drop_en_junk = Some(true);
    }
    m
}

fn gopher_quality(lang: Option<&str>) -> FilterConfig {
    FilterConfig {
        min_words: Some(50),
        max_words: Some(100_000),
        min_mean_word_length: Some(3.0),
        max_mean_word_length: Some(10.0),
        max_symbol_ratio: Some(0.1),
        max_bullet_line_frac: Some(0.9),
        max_ellipsis_line_frac: Some(0.3),
        min_alpha_word_frac: Some(0.8),
        min_distinct_stopwords: Some(2),
        // Other languages use their own list (configs/stopwords/<lang>.txt).
        stopwords: matches!(lang, None | Some("eng"))
            .then(|| GOPHER_STOPWORDS.map(String::from).to_vec()),
        ..FilterConfig::default()
    }
}

fn gopher_repetition() -> FilterConfig {
    FilterConfig {
        max_dup_line_frac: Some(0.3),
        max_dup_para_frac: Some(0.3),
        max_dup_line_char_frac: Some(0.2),
        max_dup_para_char_frac: Some(0.2),
        top_ngram_frac: Some(vec![(2, 0.2), (3, 0.18), (4, 0.16)]),
        dup_ngram_frac: Some(vec![
            (5, 0.15),
            (6, 0.14),
            (7, 0.13),
            (8, 0.12),
            (9, 0.11),
            (10, 0.10),
        ]),
        ..FilterConfig::default()
    }
}

fn c4() -> FilterConfig {
    FilterConfig {
        line_require_terminal: Some(true),
        line_min_words: Some(3),
        line_max_word_chars: Some(1000),
        line_drop_javascript: Some(true),
        line_drop_policy: Some(true),
        remove_citations: Some(true),
        drop_lorem_ipsum: Some(true),
        drop_curly_bracket: Some(true),
        min_sentences: Some(5),
        ..FilterConfig::default()
    }
}

fn fineweb() -> FilterConfig {
    FilterConfig {
        min_line_punct_frac: Some(0.12),
        // datatrove's count (a terminal then spaces is unterminated): the preset is
        // datatrove's rule; `line_punct_exact = false` gives mavuno's trimmed count.
        line_punct_exact: Some(true),
        max_short_line_frac: Some(0.67),
        short_line_chars: Some(30),
        max_dup_line_char_ratio: Some(0.01),
        max_newline_word_ratio: Some(0.3),
        ..FilterConfig::default()
    }
}

/// The base config of preset `name`; `lang_cfg` is `lang`'s defaults file, if any.
pub fn preset(
    name: &str,
    lang_cfg: Option<FilterConfig>,
    lang: Option<&str>,
) -> Result<FilterConfig, String> {
    Ok(match name {
        "gopher_quality" => gopher_quality(lang),
        "gopher_repetition" => gopher_repetition(),
        "c4" => c4(),
        "fineweb" => fineweb(),
        "madlad" => madlad(lang_cfg, lang),
        p => {
            return Err(format!(
                "unknown preset `{p}`; known: {}",
                PRESETS.join(", ")
            ))
        }
    })
}
