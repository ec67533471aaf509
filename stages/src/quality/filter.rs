//! `filter`: document- and line-level quality heuristics, each with a named drop reason:
//! the Gopher quality and repetition rules, C4's line-level cleaning and FineWeb's line
//! rules with datatrove's semantics (checked against datatrove 0.10.1 by
//! `scripts/filter_parity.py`, docs/CLEANING.md), plus mavuno's script, digit, URL and
//! MADLAD rules. Words and tokens come from the shared segmentation
//! ([`crate::quality::tokens`]), so Sinhala, Tamil, Ethiopic and NFD-Yoruba words are
//! whole words and terminal punctuation is that of every script ([`crate::quality::chars`]).
//!
//! | reason | rule |
//! |---|---|
//! | `contains_url` | `drop_urls` and a URL remains |
//! | `bible_reference` | `drop_bible`: a verse reference or a book name of `lang` ([`crate::quality::religious`]) |
//! | `en_junk` | `drop_en_junk`: the LEM English junk rule (months, AM/PM, "Posted", dates …) |
//! | `ellipsis_ending` | `drop_bad_endings`: text ends in `...` `///` `???` `..` `//` `…`; or share of lines (all of `splitlines`) ending in an ellipsis > `max_ellipsis_line_frac` |
//! | `too_few_words` / `too_many_words` | words (tokens that are not punctuation) outside [`min_words`, `max_words`] |
//! | `mean_word_length` | mean word length (code points) outside [`min_mean_word_length`, `max_mean_word_length`] |
//! | `symbol_ratio` | `#` per token or ellipses per token > `max_symbol_ratio` |
//! | `bullet_lines` | share of lines starting with `•` or `-` > `max_bullet_line_frac` |
//! | `alpha_words` | share of tokens with a letter < `min_alpha_word_frac` |
//! | `no_stopwords` | fewer than `min_stopwords` stopword occurrences, or fewer than `min_distinct_stopwords` different stopwords |
//! | `digit_ratio` | digits / non-space characters > `max_digit_ratio` |
//! | `url_ratio` | URL bytes / bytes > `max_url_ratio` |
//! | `script_mismatch` | letters in `script` / letters < `min_script_share` |
//! | `repeated_chars` | a character repeated more than `max_repeated_chars` times in a row |
//! | `boilerplate` | share of boilerplate lines (lorem ipsum, javascript, cookies, privacy policy …) > `max_boilerplate_frac` |
//! | `empty` | a FineWeb line rule is set and the text has no non-blank line |
//! | `no_terminal_punct` | share of lines ending in a sentence terminal (any script) < `min_line_punct_frac` |
//! | `short_lines` | share of lines of ≤ `short_line_chars` characters > `max_short_line_frac` |
//! | `dup_line_char_ratio` | characters of repeated lines / characters other than newlines > `max_dup_line_char_ratio` |
//! | `list_ratio` | newlines per token > `max_newline_word_ratio` |
//! | `dup_para_frac` / `dup_line_frac` | Gopher duplicate paragraph/line fractions (count and character share) |
//! | `top_ngram_frac` / `dup_ngram_frac` | Gopher n-gram repetition, `[[n, max], …]` |
//! | `lorem_ipsum` / `curly_bracket` / `too_few_sentences` | C4: on a line the line rules kept; fewer than `min_sentences` sentences in the kept lines |
//!
//! Rewrites (not drops): `strip_urls` removes URLs, `strip_quotes` removes `"` `“` `”` `~`,
//! `strip_numbering` removes a leading `(1) `, `1. ` or `1: ` (counter
//! `numbering_prefix_total`); C4's line rules (`line_require_terminal`, `line_min_words`,
//! `line_max_word_chars`, `line_drop_javascript`, `line_drop_policy`, `remove_citations`)
//! remove lines of kept texts, counted per rule as `lines_removed_<rule>_total` in the stage's
//! counters (manifest). Spans are remapped. Rewrites run first, C4 line removal last, so
//! the other rules see the text before C4 cleaned it (datatrove's FineWeb pipeline runs
//! its FineWeb filter after C4: use two `filter` stages for that order).
//!
//! `lang` loads defaults from `configs/filters/<lang>.toml` (embedded in the binary) and
//! stopwords from `configs/stopwords/<lang>.txt`; fields set here override them.
//! `preset` applies a named rule set instead of the language defaults
//! ([`crate::quality::presets`]): `gopher_quality`, `gopher_repetition`, `c4`, `fineweb`
//! (datatrove's defaults) or `madlad` (the LEM authors' MADLAD-400 sentence rules). Not
//! covered here: dropping each document's first two lines (a reader concern), LID, dedup.
//! Every measure a rule computes is recorded per language in a fixed-size histogram and
//! written to `<run>/metrics/<stage>.json` ([`crate::quality::measures`]); a drop carries
//! the measure's value and threshold into `<run>/dropped/<stage>.jsonl.zst`.
//! Validation warns about thresholds that can never fire (ratios outside [0, 1],
//! `max_mean_word_length` ≥ 50) or that drop everything (min > max).
//!
//! ```toml
//! [stages.quality]
//! type = "filter"
//! inputs = ["norm"]
//! lang = "hau"
//! min_words = 20
//! top_ngram_frac = [[2, 0.2], [3, 0.18], [4, 0.16]]
//! ```

use crate::quality::presets::preset;
use crate::quality::stopwords::stopword_list;
use crate::text::segment::Script;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{BuildContext, StageConfig, StageError, StageImpl, StageKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::quality::rules::Filter;

/// Quality filter thresholds. Every field is optional; unset means "rule off" unless
/// `lang` or `preset` supplies it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct FilterConfig {
    /// Language (ISO 639-3) whose defaults (`configs/filters/<lang>.toml`), stopwords and
    /// Bible book names apply; falls back to each record's `lang` for book names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// A rule set instead of the language's document defaults: `gopher_quality`,
    /// `gopher_repetition`, `c4`, `fineweb` (datatrove's defaults) or `madlad` (sentence
    /// rules of the LEM authors' MADLAD-400 cleaning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Expected script (`latin`, `ethiopic`, `sinhala`, `tamil`, `arabic`, `devanagari`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Minimum share of letters in `script`, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_script_share: Option<f64>,
    /// Minimum number of words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_words: Option<usize>,
    /// Maximum number of words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_words: Option<usize>,
    /// Minimum mean word length, in code points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_mean_word_length: Option<f64>,
    /// Maximum mean word length, in code points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mean_word_length: Option<f64>,
    /// Maximum (`#` + ellipses) per word, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_symbol_ratio: Option<f64>,
    /// Maximum share of digits among non-space characters, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_digit_ratio: Option<f64>,
    /// Maximum share of bytes inside URLs, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_url_ratio: Option<f64>,
    /// Maximum run of one repeated character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repeated_chars: Option<usize>,
    /// Maximum share of lines that repeat an earlier line, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dup_line_frac: Option<f64>,
    /// Maximum character share of repeated lines, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dup_line_char_frac: Option<f64>,
    /// Maximum share of paragraphs that repeat an earlier one, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dup_para_frac: Option<f64>,
    /// Maximum character share of repeated paragraphs, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dup_para_char_frac: Option<f64>,
    /// Gopher top n-gram character share limits: `[[n, max], …]`, max in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_ngram_frac: Option<Vec<(usize, f64)>>,
    /// Gopher duplicated n-gram character share limits: `[[n, max], …]`, max in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_ngram_frac: Option<Vec<(usize, f64)>>,
    /// Minimum share of lines ending in terminal punctuation (any script), in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_line_punct_frac: Option<f64>,
    /// FineWeb line punctuation as datatrove counts it: a line whose terminal is followed by
    /// spaces (or a CRLF `\r`) is unterminated. Default false: trailing whitespace is ignored
    /// (invisible, and common in extracted web text; see docs/CLEANING.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_punct_exact: Option<bool>,
    /// Maximum share of short lines, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_short_line_frac: Option<f64>,
    /// A line of at most this many characters is short (default 30, FineWeb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_line_chars: Option<usize>,
    /// Minimum number of stopword occurrences (Gopher: 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stopwords: Option<usize>,
    /// Stopwords (lower-case); default: `configs/stopwords/<lang>.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopwords: Option<Vec<String>>,
    /// Maximum share of boilerplate lines, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_boilerplate_frac: Option<f64>,
    /// Maximum share of lines ending in an ellipsis, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ellipsis_line_frac: Option<f64>,
    /// Drop texts ending in `...` `///` `???` `..` `//` `…` (MADLAD/LEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_bad_endings: Option<bool>,
    /// Drop texts with a Bible/Quran verse reference or a Bible book name (MADLAD/LEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_bible: Option<bool>,
    /// Drop texts containing a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_urls: Option<bool>,
    /// Remove URLs from the text (a rewrite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_urls: Option<bool>,
    /// Remove a leading numbering prefix `(1) `, `1. `, `1: ` (a rewrite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_numbering: Option<bool>,
    /// Remove double quotes (`"` `“` `”`) and `~` (a rewrite; MADLAD/LEM step 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_quotes: Option<bool>,
    /// Maximum share of lines starting with a bullet (`•`, `-`), in [0, 1] (Gopher: 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bullet_line_frac: Option<f64>,
    /// Minimum share of tokens with at least one letter (punctuation marks are tokens),
    /// in [0, 1] (Gopher: 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_alpha_word_frac: Option<f64>,
    /// Minimum number of *different* stopwords, matched as written (datatrove's Gopher
    /// rule; `min_stopwords` counts occurrences, case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_distinct_stopwords: Option<usize>,
    /// Maximum characters in repeated lines over characters other than newlines, in
    /// [0, 1] (FineWeb: 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dup_line_char_ratio: Option<f64>,
    /// Maximum newlines per token (FineWeb's list ratio: 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_newline_word_ratio: Option<f64>,
    /// C4: remove lines not ending in terminal punctuation (any script) or ending in `...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_require_terminal: Option<bool>,
    /// C4: remove lines with fewer whitespace-separated words (C4: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_min_words: Option<usize>,
    /// C4: remove lines with a word longer than this many characters (C4: 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_max_word_chars: Option<usize>,
    /// C4: remove lines mentioning "javascript".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_drop_javascript: Option<bool>,
    /// C4: remove cookie and terms-of-use lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_drop_policy: Option<bool>,
    /// C4: cut Wikipedia citation marks (`[1]`, `[edit]`, `[citation needed]`) from lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_citations: Option<bool>,
    /// C4: drop texts containing "lorem ipsum" (on a line the line rules kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_lorem_ipsum: Option<bool>,
    /// C4: drop texts containing `{` (on a line the line rules kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_curly_bracket: Option<bool>,
    /// C4: minimum number of sentences in the lines kept (C4: 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sentences: Option<usize>,
    /// English web-junk rule of the LEM En script: drop texts with month names or
    /// abbreviations, "AM"/"PM", "bedroom", "feet", "room", "Posted", "comments", the
    /// word "I", "RTI", ":D", `<p>`, `<BR>` or a date (reason `en_junk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_en_junk: Option<bool>,
}

/// Languages with a `configs/filters/<lang>.toml` (all the shipped ones).
pub use crate::langs::LANGS;

macro_rules! lang_files {
    ($($code:literal),*) => {
        /// The embedded per-language defaults file.
        pub fn lang_defaults_src(lang: &str) -> Option<&'static str> {
            match lang {
                $($code => Some(include_str!(concat!("../../../configs/filters/", $code, ".toml"))),)*
                _ => None,
            }
        }
    };
}
crate::with_langs!(lang_files);

fn overlay(base: &FilterConfig, top: &FilterConfig) -> Result<FilterConfig, String> {
    let mut b = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let t = serde_json::to_value(top).map_err(|e| e.to_string())?;
    if let (Value::Object(b), Value::Object(t)) = (&mut b, t) {
        b.extend(t);
    }
    serde_json::from_value(b).map_err(|e| e.to_string())
}

impl FilterConfig {
    /// The per-language defaults of `lang`.
    pub fn lang_defaults(lang: &str) -> Result<FilterConfig, String> {
        let src = lang_defaults_src(lang).ok_or_else(|| {
            format!(
                "no per-language defaults for `{lang}`; known: {}",
                LANGS.join(", ")
            )
        })?;
        toml::from_str(src).map_err(|e| format!("configs/filters/{lang}.toml: {e}"))
    }

    /// The effective config: preset or language defaults, overridden by the fields set here.
    pub fn resolved(&self) -> Result<FilterConfig, String> {
        let lang_cfg = match &self.lang {
            Some(l) => Some(FilterConfig::lang_defaults(l)?),
            None => None,
        };
        let base = match self.preset.as_deref() {
            None => lang_cfg.unwrap_or_default(),
            Some(p) => preset(p, lang_cfg, self.lang.as_deref())?,
        };
        overlay(&base, self)
    }

    fn ratios(&self) -> Vec<(String, f64, bool)> {
        let mut v: Vec<(String, f64, bool)> = Vec::new();
        let mut add = |name: &str, x: Option<f64>, is_max: bool| {
            if let Some(x) = x {
                v.push((name.to_string(), x, is_max));
            }
        };
        add("min_script_share", self.min_script_share, false);
        add("max_symbol_ratio", self.max_symbol_ratio, true);
        add("max_digit_ratio", self.max_digit_ratio, true);
        add("max_url_ratio", self.max_url_ratio, true);
        add("max_dup_line_frac", self.max_dup_line_frac, true);
        add("max_dup_line_char_frac", self.max_dup_line_char_frac, true);
        add("max_dup_para_frac", self.max_dup_para_frac, true);
        add("max_dup_para_char_frac", self.max_dup_para_char_frac, true);
        add("min_line_punct_frac", self.min_line_punct_frac, false);
        add("max_short_line_frac", self.max_short_line_frac, true);
        add("max_boilerplate_frac", self.max_boilerplate_frac, true);
        add("max_ellipsis_line_frac", self.max_ellipsis_line_frac, true);
        add("max_bullet_line_frac", self.max_bullet_line_frac, true);
        add("min_alpha_word_frac", self.min_alpha_word_frac, false);
        add(
            "max_dup_line_char_ratio",
            self.max_dup_line_char_ratio,
            true,
        );
        for (field, list) in [
            ("top_ngram_frac", &self.top_ngram_frac),
            ("dup_ngram_frac", &self.dup_ngram_frac),
        ] {
            for &(n, x) in list.iter().flatten() {
                v.push((format!("{field}[{n}]"), x, true));
            }
        }
        v
    }
}

impl StageConfig for FilterConfig {
    const TYPE: &'static str = "filter";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        let r = match self.resolved() {
            Ok(r) => r,
            Err(e) => {
                let field = if e.starts_with("unknown preset") {
                    "preset"
                } else {
                    "lang"
                };
                v.error(field, e);
                return;
            }
        };
        let from = |field: &str| -> String {
            let explicit = serde_json::to_value(self)
                .ok()
                .and_then(|j| j.get(field.split('[').next().unwrap_or(field)).cloned());
            match (&self.lang, explicit) {
                (Some(l), None) if self.preset.is_none() => {
                    format!(" (from configs/filters/{l}.toml)")
                }
                _ => String::new(),
            }
        };
        if let Some(s) = &r.script {
            if Script::parse(s).is_none() {
                v.error("script", format!("unknown script `{s}`; known: latin, ethiopic, sinhala, tamil, arabic, devanagari"));
            }
        }
        for (field, x, is_max) in r.ratios() {
            let src = from(&field);
            if x > 1.0 {
                let what = if is_max {
                    "this filter can never fire"
                } else {
                    "every record is dropped"
                };
                v.warn(&field, format!("{x} is above 1, so {what}{src}"));
            } else if x < 0.0 {
                let what = if is_max {
                    "every record is dropped"
                } else {
                    "this filter can never fire"
                };
                v.warn(&field, format!("{x} is below 0, so {what}{src}"));
            }
        }
        for (field, list) in [
            ("top_ngram_frac", &r.top_ngram_frac),
            ("dup_ngram_frac", &r.dup_ngram_frac),
        ] {
            for &(n, _) in list.iter().flatten() {
                if n == 0 || n > 20 {
                    v.error(field, format!("n must be in [1, 20], got {n}"));
                }
            }
        }
        if let Some(x) = r.max_mean_word_length {
            if x >= 50.0 {
                v.warn(
                    "max_mean_word_length",
                    format!(
                        "{x} is at least 50, so this filter can never fire{}",
                        from("max_mean_word_length")
                    ),
                );
            }
        }
        if let (Some(a), Some(b)) = (r.min_words, r.max_words) {
            if a > b {
                v.warn(
                    "min_words",
                    format!("{a} is greater than max_words ({b}), so every record is dropped"),
                );
            }
        }
        if let (Some(a), Some(b)) = (r.min_mean_word_length, r.max_mean_word_length) {
            if a > b {
                v.warn("min_mean_word_length", format!("{a} is greater than max_mean_word_length ({b}), so every record is dropped"));
            }
        }
        if (r.min_stopwords.is_some_and(|n| n > 0)
            || r.min_distinct_stopwords.is_some_and(|n| n > 0))
            && r.stopwords.is_none()
            && r.lang.as_deref().and_then(stopword_list).is_none()
        {
            let field = if r.min_stopwords.is_some_and(|n| n > 0) {
                "min_stopwords"
            } else {
                "min_distinct_stopwords"
            };
            v.error(field, "needs `stopwords` or a `lang` with a stopword list");
        }
        if r.drop_urls == Some(true) && r.strip_urls == Some(true) {
            v.warn(
                "drop_urls",
                "never fires because strip_urls removes URLs first",
            );
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let r = self
            .resolved()
            .map_err(|e| StageError::msg(format!("filter: {e}")))?;
        let out = crate::quality::measures::metrics_path(&ctx.run_dir, &ctx.stage_id);
        Ok(StageImpl::Stage(Box::new(
            Filter::new(r).with_metrics_file(out),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::presets::PRESETS;
    use mavuno_pipeline::{Emitter, Record, Stage};

    fn cfg(src: &str) -> FilterConfig {
        toml::from_str(src).unwrap_or_else(|e| panic!("{e}"))
    }

    fn warnings(c: &FilterConfig) -> Vec<(String, String)> {
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        v.warnings
            .into_iter()
            .map(|f| (f.field, f.message))
            .collect()
    }

    fn run(c: &FilterConfig, texts: &[&str]) -> (Vec<String>, Vec<(String, u64)>) {
        let mut f = Filter::new(c.resolved().unwrap());
        let mut out = Emitter::collecting(2);
        f.process(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| Record::new(format!("r{i}"), *t))
                .collect(),
            &mut out,
        )
        .unwrap();
        let kept = out.take_collected().into_iter().map(|r| r.text).collect();
        (
            kept,
            out.counts()
                .dropped
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        )
    }

    #[test]
    fn toml_example_parses_and_validates() {
        crate::text::check_doc_example(include_str!("filter.rs"));
        let c = cfg(
            "lang = \"hau\"\nmin_words = 20\ntop_ngram_frac = [[2, 0.2], [3, 0.18], [4, 0.16]]",
        );
        assert_eq!(warnings(&c), []);
        let r = c.resolved().unwrap();
        assert_eq!(r.min_words, Some(20));
        assert_eq!(r.script.as_deref(), Some("latin"));
    }

    #[test]
    fn every_language_file_parses_and_validates_clean() {
        for &l in LANGS {
            let c = FilterConfig {
                lang: Some(l.into()),
                ..Default::default()
            };
            assert_eq!(warnings(&c), [], "{l}");
            assert!(c.resolved().unwrap().min_words.is_some(), "{l}");
        }
    }

    #[test]
    fn validation_messages_verbatim() {
        // FineWeb-2's degenerate Hausa/Wolof values, given explicitly.
        let c = cfg("lang = \"hau\"\ntop_ngram_frac = [[2, 2.82]]\nmax_mean_word_length = 80.0\nmin_words = 60\nmax_words = 50\nmin_line_punct_frac = -0.1\nmax_digit_ratio = -1.0");
        assert_eq!(
            warnings(&c),
            [
                (
                    "max_digit_ratio".to_string(),
                    "-1 is below 0, so every record is dropped".to_string()
                ),
                (
                    "min_line_punct_frac".into(),
                    "-0.1 is below 0, so this filter can never fire".into()
                ),
                (
                    "top_ngram_frac[2]".into(),
                    "2.82 is above 1, so this filter can never fire".into()
                ),
                (
                    "max_mean_word_length".into(),
                    "80 is at least 50, so this filter can never fire".into()
                ),
                (
                    "min_words".into(),
                    "60 is greater than max_words (50), so every record is dropped".into()
                ),
            ]
        );
        let mut v = Validator::default();
        cfg("lang = \"xyz\"").validate(&mut v);
        assert_eq!(
            v.errors[0].message,
            format!(
                "no per-language defaults for `xyz`; known: {}",
                LANGS.join(", ")
            )
        );
        let mut v = Validator::default();
        cfg("preset = \"gopher2\"").validate(&mut v);
        assert_eq!(
            (v.errors[0].field.as_str(), v.errors[0].message.as_str()),
            (
                "preset",
                format!("unknown preset `gopher2`; known: {}", PRESETS.join(", ")).as_str()
            )
        );
        let mut v = Validator::default();
        cfg("min_stopwords = 2").validate(&mut v);
        assert_eq!(
            v.errors[0].message,
            "needs `stopwords` or a `lang` with a stopword list"
        );
        let mut v = Validator::default();
        cfg("script = \"klingon\"").validate(&mut v);
        assert_eq!(
            v.errors[0].message,
            "unknown script `klingon`; known: latin, ethiopic, sinhala, tamil, arabic, devanagari"
        );
        assert!(toml::from_str::<FilterConfig>("min_wrds = 3")
            .unwrap_err()
            .to_string()
            .contains("unknown field `min_wrds`"));
    }

    #[test]
    fn madlad_preset_rules() {
        let c = cfg("preset = \"madlad\"\nlang = \"eng\"");
        let (kept, dropped) = run(
            &c,
            &[
                "(1) The river rose quickly over the \"old\" town bridge~",
                "Posted by admin on the 3rd of the month with comments",
                "1. See https://x.org/a.html for the full and very long report today",
                "Short one here.",
                "They waited for the results of the count...",
                "He quoted Genesis to the crowd at the old market.",
                "as written in Jn 3:16 the crowd listened all night long",
                "ශ්‍රී ලංකාව",
            ],
        );
        assert_eq!(
            kept,
            [
                "The river rose quickly over the old town bridge",
                "See for the full and very long report today"
            ]
        );
        assert_eq!(
            dropped,
            [
                ("bible_reference".to_string(), 2),
                ("ellipsis_ending".into(), 1),
                ("en_junk".into(), 1),
                ("too_few_words".into(), 2)
            ]
        );
    }

    /// Four lines of news prose without repeated phrases.
    const NEWS: &str = "The river rose quickly over the old town after three days of heavy rain, and the people moved with their goats to higher ground.\n\
        Local officials opened two schools as shelters while volunteers carried food, blankets and clean water across the flooded bridge.\n\
        Farmers fear that most of this season's maize harvest is lost, although engineers expect the water level to fall before Friday.\n\
        A regional health team will visit every camp next week to check children for cholera and malaria.";

    /// `n` words of plain English prose (a repeating word cycle), as `lines` lines.
    fn prose(n: usize, lines: usize) -> String {
        let words: Vec<&str> = "the river rose over the old town and the people moved with their goats to higher ground"
            .split(' ')
            .cycle()
            .take(n)
            .collect();
        words
            .chunks(n.div_ceil(lines))
            .map(|c| format!("{}.", c.join(" ")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn gopher_quality_preset_rules() {
        let c = cfg("preset = \"gopher_quality\"");
        let ok = prose(60, 3);
        let bullets = prose(60, 6)
            .lines()
            .map(|l| format!("- {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        let numbers = format!("{ok} {}", "12 , 34 ; 56 : 78 ".repeat(6));
        let capitals = ok
            .replace("the", "The")
            .replace("and", "And")
            .replace("with", "With");
        let (kept, dropped) = run(&c, &[&ok, &prose(30, 1), &bullets, &numbers, &capitals]);
        assert_eq!(kept, std::slice::from_ref(&ok));
        assert_eq!(
            dropped,
            [
                ("alpha_words".to_string(), 1),
                ("bullet_lines".into(), 1),
                ("no_stopwords".into(), 1),
                ("too_few_words".into(), 1)
            ]
        );
        // Explicit options override the preset.
        let c = cfg("preset = \"gopher_quality\"\nmin_words = 10");
        assert_eq!(c.resolved().unwrap().min_words, Some(10));
        assert_eq!(run(&c, &[&prose(30, 1)]).0.len(), 1);
    }

    #[test]
    fn gopher_repetition_preset_rules() {
        let c = cfg("preset = \"gopher_repetition\"");
        let ok = NEWS.to_string();
        let lines = format!("{ok}\n{}", "Click here to subscribe.\n".repeat(4));
        let (kept, dropped) = run(&c, &[&ok, &lines, &"buy cheap shoes now ".repeat(20)]);
        assert_eq!(kept, [ok]);
        assert_eq!(
            dropped,
            [
                ("dup_line_frac".to_string(), 1),
                ("top_ngram_frac".into(), 1)
            ]
        );
    }

    #[test]
    fn c4_preset_removes_lines_and_counts_them() {
        let c = cfg("preset = \"c4\"");
        let body = "The river rose over the old town. People moved to higher ground.\n\
                    Menu\nPlease enable JavaScript to see the map.\n\
                    The council met on Monday.[1] It voted to rebuild the bridge. Work starts soon.";
        let mut f = Filter::new(c.resolved().unwrap());
        let mut out = Emitter::collecting(4);
        f.process(
            vec![
                Record::new("a", body),
                Record::new("b", "One sentence only."),
                Record::new(
                    "c",
                    "Lorem ipsum dolor sit amet, consectetur.\nMore text here.",
                ),
                Record::new(
                    "d",
                    "ሰላም ነው። እንዴት ነህ፧ ደህና ነኝ።\nአመሰግናለሁ ብዙ ጊዜ። ደህና ሁን። እሺ ነው።",
                ),
            ],
            &mut out,
        )
        .unwrap();
        let kept: Vec<String> = out.take_collected().into_iter().map(|r| r.text).collect();
        assert_eq!(
            kept,
            [
                "The river rose over the old town. People moved to higher ground.\n\
                 The council met on Monday. It voted to rebuild the bridge. Work starts soon.",
                "ሰላም ነው። እንዴት ነህ፧ ደህና ነኝ።\nአመሰግናለሁ ብዙ ጊዜ። ደህና ሁን። እሺ ነው።"
            ]
        );
        let counts = out.counts();
        assert_eq!(
            counts
                .dropped
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<Vec<_>>(),
            [("lorem_ipsum", 1), ("too_few_sentences", 1)]
        );
        assert_eq!(counts.counters["lines_removed_no_terminal_punct_total"], 1);
        assert_eq!(counts.counters["lines_removed_javascript_total"], 1);
        assert_eq!(counts.counters["lines_removed_too_few_words_total"], 0);
    }

    #[test]
    fn fineweb_preset_rules() {
        let c = cfg("preset = \"fineweb\"");
        let ok = NEWS.to_string();
        let no_punct = ok.replace('.', "");
        let short = "Home\nNews\nSport\nWeather\nA long enough line that ends with a full stop.";
        let list = (0..20)
            .map(|i| format!("Item{i} extraordinarilysupercalifragilistic."))
            .collect::<Vec<_>>()
            .join("\n");
        let dup = format!("{ok}\n{}", ok.lines().next().unwrap_or_default());
        let (kept, dropped) = run(&c, &[&ok, &no_punct, short, &list, &dup, " \n "]);
        assert_eq!(kept, [ok]);
        assert_eq!(
            dropped,
            [
                ("dup_line_char_ratio".to_string(), 1),
                ("empty".into(), 1),
                ("list_ratio".into(), 1),
                ("no_terminal_punct".into(), 1),
                ("short_lines".into(), 1)
            ]
        );
    }

    #[test]
    fn numbering_strip_remaps_spans() {
        let c = cfg("strip_numbering = true");
        let mut f = Filter::new(c.resolved().unwrap());
        let mut r = Record::new("a", "12. Adé lọ");
        r.set(
            "spans",
            serde_json::json!([{"start": 4, "end": 8, "label": "PER"}]),
        );
        let (why, n) = f.check(&mut r);
        assert_eq!((why, n.numbered), (None, true));
        assert_eq!(r.text, "Adé lọ");
        assert_eq!(r.fields["spans"][0]["end"], 4);
        let mut out = Emitter::collecting(1);
        f.process(vec![Record::new("b", "3.5 million")], &mut out)
            .unwrap();
        assert_eq!(out.take_collected()[0].text, "3.5 million");
    }

    #[test]
    fn sinhala_and_tamil_repetition_counts_words() {
        let c = cfg("top_ngram_frac = [[2, 0.3]]\ndup_ngram_frac = [[5, 0.15]]");
        let rep = "ශ්‍රී ලංකාව ".repeat(10);
        let ok = "தமிழ்நாடு அரசு இன்று புதிய திட்டம் ஒன்றை அறிவித்தது";
        let (kept, dropped) = run(&c, &[&rep, ok]);
        assert_eq!(kept, [ok]);
        assert_eq!(dropped, [("top_ngram_frac".to_string(), 1)]);
    }

    #[test]
    fn document_rules_fire_with_their_reasons() {
        let c = cfg("min_script_share = 0.5\nscript = \"ethiopic\"\nmax_repeated_chars = 5\nmax_digit_ratio = 0.5\nmax_url_ratio = 0.5\nmin_line_punct_frac = 0.5\nmax_dup_line_frac = 0.3\nmax_boilerplate_frac = 0.5\ndrop_urls = false\nmax_symbol_ratio = 0.5\nmax_mean_word_length = 40.0");
        let (kept, dropped) = run(
            &c,
            &[
                "ሰላም ነው። እንዴት ነህ፧",
                "Hello there friend.",
                "ሰላምምምምምምም።",
                "123456 789 ሰ።",
                "https://example.com/very/long/path ሰ።",
                "ሰላም ነው\nእንዴት ነህ",
                "ሰላም ነው።\nሰላም ነው።\nሰላም ነው።",
                "ሰላም ሰላም ሰላም ሰላም ሰላም ሰላም ሰላም ሰላም javascript።",
                "# # # ሰላም።",
            ],
        );
        assert_eq!(kept, ["ሰላም ነው። እንዴት ነህ፧"]);
        let d: Vec<&str> = dropped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            d,
            [
                "boilerplate",
                "digit_ratio",
                "dup_line_frac",
                "no_terminal_punct",
                "repeated_chars",
                "script_mismatch",
                "symbol_ratio",
                "url_ratio"
            ]
        );
    }

    #[test]
    fn script_share_ignores_handles_hashtags_and_urls() {
        let c = cfg("min_script_share = 0.5\nscript = \"ethiopic\"");
        let tweet =
            "@zittokabwe: @hmgeleka ይህ አካውንት እውነተኛ አይመስለኝም @pmmeleszenawi https://t.co/abcdefgh";
        let english = "Shared on the Facebook page ለ";
        let (kept, dropped) = run(&c, &[tweet, english]);
        assert_eq!(kept, [tweet]);
        assert_eq!(dropped, [("script_mismatch".to_string(), 1)]);
    }

    #[test]
    fn stopwords_from_language_list() {
        let c = cfg("min_stopwords = 2\nlang = \"eng\"\npreset = \"madlad\"\nmin_words = 1");
        let (kept, dropped) = run(
            &c,
            &["the cat and the dog", "Purple elephants dance quietly"],
        );
        assert_eq!(kept, ["the cat and the dog"]);
        assert_eq!(dropped, [("no_stopwords".to_string(), 1)]);
    }

    #[test]
    fn no_panic_on_odd_text() {
        let c = FilterConfig {
            lang: Some("tam".into()),
            ..Default::default()
        }
        .resolved()
        .unwrap();
        let f = Filter::new(c);
        for t in ["", "\u{200D}", "\n\n\n", "…", "((((", "1:", "\u{0301}"] {
            let mut r = Record::new("x", t);
            let _ = f.check(&mut r);
        }
    }

    /// Single-thread throughput of segmentation, normalisation and the full filter over
    /// the shared raw text (release build):
    /// `cargo test -p mavuno-stages --release bench_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark; needs ../shared/data"]
    fn bench_throughput() {
        use crate::text::normalize::{normalize_aligned, NormalizeConfig};
        use crate::text::segment::{sentences, word_count};
        let base = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/masakhane_raw_text/"
        );
        for l in ["yor", "hau", "swa", "amh", "pcm"] {
            let Ok(text) = std::fs::read_to_string(format!("{base}{l}.txt")) else {
                continue;
            };
            // Documents of ~20 lines, so line-level rules have something to do.
            let lines: Vec<&str> = text.lines().collect();
            let docs: Vec<String> = lines.chunks(20).map(|c| c.join("\n")).collect();
            let mb = text.len() as f64 / 1e6;
            let t = std::time::Instant::now();
            let k = text
                .chars()
                .filter(|&c| crate::text::segment::is_word_char(c))
                .count();
            let t1 = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let k2 = text.chars().filter(|&c| c.is_alphanumeric()).count();
            let t2 = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let k3 = text
                .chars()
                .filter(|&c| unicode_normalization::char::is_combining_mark(c))
                .count();
            eprintln!("{l}: is_word_char {:.0} MB/s, is_alnum {:.0} MB/s, is_mark {:.0} MB/s {k} {k2} {k3}", mb / t1, mb / t2, mb / t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let n: usize = docs.iter().map(|d| word_count(d)).sum();
            let seg = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let nc = NormalizeConfig {
                keep_newlines: true,
                ..Default::default()
            };
            let normed: Vec<String> = docs
                .iter()
                .map(|d| normalize_aligned(d, &nc).0.text)
                .collect();
            let norm = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let ns: usize = normed
                .iter()
                .map(|d| sentences(d, Some(l), true).len())
                .sum();
            let sent = t.elapsed().as_secs_f64();
            let f = Filter::new(
                FilterConfig {
                    lang: Some(l.into()),
                    ..Default::default()
                }
                .resolved()
                .unwrap(),
            );
            let t = std::time::Instant::now();
            let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
            for d in &normed {
                let mut r = Record::new("x", d.clone());
                *reasons
                    .entry(f.check(&mut r).0.unwrap_or("kept"))
                    .or_default() += 1;
            }
            let filt = t.elapsed().as_secs_f64();
            eprintln!(
                "{l}: {mb:.1} MB, {n} words, {ns} sentences | words {:.0} MB/s | normalize {:.0} MB/s | sentences {:.0} MB/s | filter {:.0} MB/s | {reasons:?}",
                mb / seg, mb / norm, mb / sent, mb / filt
            );
        }
    }

    #[test]
    fn measures_are_recorded_per_language_with_the_firing_threshold() {
        let c = cfg("min_words = 3\nmax_digit_ratio = 0.5");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let mut f = Filter::new(c.resolved().unwrap()).with_metrics_file(path.clone());
        let recs = |langs: &[(&str, &str)]| -> Vec<Record> {
            langs
                .iter()
                .enumerate()
                .map(|(i, (l, t))| {
                    let mut r = Record::new(format!("r{i}"), *t);
                    r.lang = Some(l.to_string());
                    r
                })
                .collect()
        };
        let batch = recs(&[
            ("hau", "one two"),
            ("hau", "a b c d"),
            ("hau", "12 345 678 x"),
            ("yor", "ẹ kú àárọ̀ o"),
        ]);
        let mut out = Emitter::collecting(2);
        f.process(batch, &mut out).unwrap();
        f.finish(&mut out).unwrap();
        assert_eq!(out.take_collected().len(), 2);
        let m: crate::quality::measures::FilterMetrics =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let hau = &m.langs["hau"];
        // Every hau record reached the word rule; one fired.
        assert_eq!((hau["words"].hist.n, hau["words"].fired), (3, 1));
        // Only the two that passed it reached the digit rule; one fired.
        assert_eq!(
            (hau["digit_ratio"].hist.n, hau["digit_ratio"].fired),
            (2, 1)
        );
        assert_eq!(hau["words"].hist.kept(Some(4.0), None), 2);
        assert_eq!(m.langs["yor"]["words"].fired, 0);
        // The drop carries the measure into the dropped sample.
        let f2 = Filter::new(c.resolved().unwrap());
        let mut r = Record::new("x", "12 345 678 x");
        let (fired, _) = f2.check_measured(&mut r, &mut Vec::new());
        let (why, d) = fired.unwrap();
        assert_eq!(why, "digit_ratio");
        let d = d.unwrap();
        assert_eq!(d.threshold, 0.5);
        assert!((d.value - 8.0 / 9.0).abs() < 1e-9, "{}", d.value);
        let _ = f2.metrics();
    }
}
