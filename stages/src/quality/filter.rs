//! `filter`: document- and line-level quality heuristics, each with a named drop reason,
//! computed over the shared word segmentation ([`crate::text::segment`]).
//!
//! | reason | rule |
//! |---|---|
//! | `contains_url` | `drop_urls` and a URL remains |
//! | `bible_reference` | `drop_bible`: a verse reference or a book name of `lang` ([`crate::quality::religious`]) |
//! | `ellipsis_ending` | `drop_bad_endings`: text ends in `...` `///` `???` `..` `//` `…`; or share of lines ending in an ellipsis > `max_ellipsis_line_frac` |
//! | `too_few_words` / `too_many_words` | word count outside [`min_words`, `max_words`] |
//! | `mean_word_length` | mean word length (code points) outside [`min_mean_word_length`, `max_mean_word_length`] |
//! | `symbol_ratio` | (`#` + ellipses) per word > `max_symbol_ratio` |
//! | `digit_ratio` | digits / non-space characters > `max_digit_ratio` |
//! | `url_ratio` | URL bytes / bytes > `max_url_ratio` |
//! | `script_mismatch` | letters in `script` / letters < `min_script_share` |
//! | `repeated_chars` | a character repeated more than `max_repeated_chars` times in a row |
//! | `no_stopwords` | fewer than `min_stopwords` stopword occurrences |
//! | `boilerplate` | share of boilerplate lines (lorem ipsum, javascript, cookies, privacy policy …) > `max_boilerplate_frac` |
//! | `no_terminal_punct` | share of lines ending in terminal punctuation (any script) < `min_line_punct_frac` |
//! | `short_lines` | share of lines of ≤ `short_line_chars` characters > `max_short_line_frac` |
//! | `dup_line_frac` / `dup_para_frac` | Gopher duplicate line/paragraph fractions (count and character share) |
//! | `top_ngram_frac` / `dup_ngram_frac` | Gopher n-gram repetition, `[[n, max], …]` |
//!
//! | `en_junk` | `drop_en_junk`: the LEM English junk rule (months, AM/PM, "Posted", dates …) |
//!
//! Rewrites (not drops): `strip_urls` removes URLs, `strip_quotes` removes `"` `“` `”` `~`,
//! `strip_numbering` removes a leading `(1) `, `1. ` or `1: ` (counter
//! `numbering_prefix_total`); spans are remapped.
//!
//! `lang` loads defaults from `configs/filters/<lang>.toml` (embedded in the binary) and
//! stopwords from `configs/stopwords/<lang>.txt`; fields set here override them.
//! `preset = "madlad"` applies the MADLAD-400 sentence rules of the LEM authors instead
//! of the document defaults (> 6 words, bad endings, Bible book names, numbering prefixes,
//! URLs, quotes and `~`, and for `eng` the junk rule; keeping `lang`'s script rule). Not
//! covered here: dropping each document's first two lines (a reader concern), LID, dedup. Validation warns about thresholds that can never
//! fire (ratios outside [0, 1], `max_mean_word_length` ≥ 50) or that drop everything (min > max).
//!
//! ```toml
//! [stages.quality]
//! type = "filter"
//! inputs = ["norm"]
//! lang = "hau"
//! min_words = 20
//! top_ngram_frac = [[2, 0.2], [3, 0.18], [4, 0.16]]
//! ```

use crate::langid::model::strip_noise;
use crate::quality::metrics::{
    dup_fracs, ends_in_terminal, lines, longest_char_run, paragraphs, script_share, Doc,
};
use crate::quality::religious::{has_verse_reference, matcher, ReligiousMatcher};
use crate::quality::stopwords::{parse_list, stopword_list};
use crate::text::align::{apply_to_record, Aligned};
use crate::text::segment::Script;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Record, Stage, StageConfig, StageError, StageImpl,
    StageKind,
};
use rayon::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::LazyLock;

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
    /// A rule set instead of the language's document defaults: `madlad` (sentence rules
    /// of the LEM authors' MADLAD-400 cleaning).
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
    /// English web-junk rule of the LEM En script: drop texts with month names or
    /// abbreviations, "AM"/"PM", "bedroom", "feet", "room", "Posted", "comments", the
    /// word "I", "RTI", ":D", `<p>`, `<BR>` or a date (reason `en_junk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_en_junk: Option<bool>,
}

/// Languages with a `configs/filters/<lang>.toml`.
pub const LANGS: [&str; 15] = [
    "yor", "hau", "ibo", "swa", "amh", "zul", "xho", "som", "wol", "kin", "lug", "pcm", "sin",
    "tam", "eng",
];

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
lang_files!(
    "yor", "hau", "ibo", "swa", "amh", "zul", "xho", "som", "wol", "kin", "lug", "pcm", "sin",
    "tam", "eng"
);

/// The MADLAD-400 sentence rules (SEEDS §1.5): more than 6 words, no bad endings, no Bible
/// book names, numbering prefixes and URLs stripped.
fn madlad() -> FilterConfig {
    FilterConfig {
        min_words: Some(7),
        drop_bad_endings: Some(true),
        drop_bible: Some(true),
        strip_numbering: Some(true),
        strip_urls: Some(true),
        strip_quotes: Some(true),
        ..FilterConfig::default()
    }
}

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
            Some("madlad") => {
                let mut m = madlad();
                if let Some(l) = lang_cfg {
                    m.script = l.script;
                    m.min_script_share = l.min_script_share;
                }
                if matches!(self.lang.as_deref(), Some("eng")) {
                    m.drop_en_junk = Some(true);
                }
                m
            }
            Some(p) => return Err(format!("unknown preset `{p}`; known: madlad")),
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
        if r.min_stopwords.is_some_and(|n| n > 0)
            && r.stopwords.is_none()
            && r.lang.as_deref().and_then(stopword_list).is_none()
        {
            v.error(
                "min_stopwords",
                "needs `stopwords` or a `lang` with a stopword list",
            );
        }
        if r.drop_urls == Some(true) && r.strip_urls == Some(true) {
            v.warn(
                "drop_urls",
                "never fires because strip_urls removes URLs first",
            );
        }
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let r = self
            .resolved()
            .map_err(|e| StageError::msg(format!("filter: {e}")))?;
        Ok(StageImpl::Stage(Box::new(Filter::new(r))))
    }
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]'’”]"#)
        .unwrap_or_else(|e| panic!("url pattern: {e}"))
});
static NUMBERING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:\(\d{1,3}\)\s*|\d{1,3}[.:](?:\s+|$))")
        .unwrap_or_else(|e| panic!("numbering pattern: {e}"))
});
/// The LEM English junk rule (SEEDS §1.5 step 8).
static EN_JUNK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|",
        r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|AM|PM|bedroom|feet|room|Posted|comments|I|RTI)\b",
        r"|:D|(?i:<p>|<br\s*/?>)|\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"
    ))
    .unwrap_or_else(|e| panic!("en junk pattern: {e}"))
});

/// Boilerplate line markers (C4/NeMo style), one case-insensitive literal alternation.
static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("(?i)lorem ipsum|javascript|cookie|privacy policy|terms of use|terms and conditions|all rights reserved|click here|subscribe|sign up|log in|read more|share this")
        .unwrap_or_else(|e| panic!("boilerplate pattern: {e}"))
});

/// The runtime filter with resolved thresholds.
pub struct Filter {
    cfg: FilterConfig,
    stopwords: HashSet<String>,
    script: Option<Script>,
}

impl Filter {
    /// A filter for a resolved config (see [`FilterConfig::resolved`]).
    pub fn new(cfg: FilterConfig) -> Filter {
        let stopwords = match (&cfg.stopwords, cfg.lang.as_deref().and_then(stopword_list)) {
            (Some(s), _) => s.iter().map(|w| w.to_lowercase()).collect(),
            (None, Some(src)) => parse_list(src).into_iter().collect(),
            _ => HashSet::new(),
        };
        let script = cfg.script.as_deref().and_then(Script::parse);
        Filter {
            cfg,
            stopwords,
            script,
        }
    }

    fn religious(&self, rec: &Record) -> &'static ReligiousMatcher {
        matcher(
            self.cfg
                .lang
                .as_deref()
                .or(rec.lang.as_deref())
                .unwrap_or("eng"),
        )
    }

    /// Applies rewrites, then checks; returns the drop reason, if any, and whether the
    /// numbering prefix was stripped.
    pub fn check(&self, rec: &mut Record) -> (Option<&'static str>, bool) {
        let c = &self.cfg;
        let mut numbered = false;
        if c.strip_urls == Some(true)
            || c.strip_numbering == Some(true)
            || c.strip_quotes == Some(true)
        {
            let mut a = Aligned::new(rec.text.clone());
            if c.strip_urls == Some(true) && URL.is_match(&a.text) {
                a.pass(|t, w| {
                    let mut last = 0;
                    for m in URL.find_iter(t) {
                        w.copy(&t[last..m.start()], last);
                        last = m.end();
                        // "See <url> for" → "See for": drop one space when both sides have one.
                        let space_before = t[..m.start()].ends_with(char::is_whitespace);
                        if space_before && t[last..].starts_with(' ') {
                            last += 1;
                        }
                    }
                    w.copy(&t[last..], last);
                });
                a.pass(|t, w| {
                    let tt = t.trim();
                    w.copy(tt, t.len() - t.trim_start().len());
                });
            }
            if c.strip_quotes == Some(true) && a.text.contains(['"', '“', '”', '~']) {
                a.pass(|t, w| {
                    let mut last = 0;
                    for (i, ch) in t
                        .char_indices()
                        .filter(|&(_, ch)| matches!(ch, '"' | '“' | '”' | '~'))
                    {
                        w.copy(&t[last..i], last);
                        last = i + ch.len_utf8();
                    }
                    w.copy(&t[last..], last);
                });
            }
            if c.strip_numbering == Some(true) {
                if let Some(m) = NUMBERING.find(&a.text) {
                    let end = m.end();
                    numbered = a.pass(|t, w| w.copy(&t[end..], end));
                }
            }
            if a.text != rec.text {
                apply_to_record(rec, a);
            }
        }
        (self.reason(rec), numbered)
    }

    fn reason(&self, rec: &Record) -> Option<&'static str> {
        let c = &self.cfg;
        let text = rec.text.as_str();
        if c.drop_urls == Some(true) && URL.is_match(text) {
            return Some("contains_url");
        }
        if c.drop_bible == Some(true)
            && (has_verse_reference(text) || self.religious(rec).has_book_name(text))
        {
            return Some("bible_reference");
        }
        if c.drop_en_junk == Some(true) && EN_JUNK.is_match(text) {
            return Some("en_junk");
        }
        if c.drop_bad_endings == Some(true) {
            let t = text.trim_end();
            if ["...", "///", "???", "..", "//", "…"]
                .iter()
                .any(|e| t.ends_with(e))
            {
                return Some("ellipsis_ending");
            }
        }
        let doc = Doc::new(text);
        let n = doc.words.len();
        if c.min_words.is_some_and(|m| n < m) {
            return Some("too_few_words");
        }
        if c.max_words.is_some_and(|m| n > m) {
            return Some("too_many_words");
        }
        if c.min_mean_word_length.is_some() || c.max_mean_word_length.is_some() {
            let m = doc.mean_word_length();
            if c.min_mean_word_length.is_some_and(|x| m < x)
                || c.max_mean_word_length.is_some_and(|x| m > x)
            {
                return Some("mean_word_length");
            }
        }
        if let Some(x) = c.max_symbol_ratio {
            let sym =
                text.matches('#').count() + text.matches("...").count() + text.matches('…').count();
            if sym as f64 / n.max(1) as f64 > x {
                return Some("symbol_ratio");
            }
        }
        if let Some(x) = c.max_digit_ratio {
            let (mut d, mut all) = (0usize, 0usize);
            for ch in text.chars().filter(|ch| !ch.is_whitespace()) {
                all += 1;
                d += ch.is_numeric() as usize;
            }
            if all > 0 && d as f64 / all as f64 > x {
                return Some("digit_ratio");
            }
        }
        if let Some(x) = c.max_url_ratio {
            let u: usize = URL.find_iter(text).map(|m| m.len()).sum();
            if !text.is_empty() && u as f64 / text.len() as f64 > x {
                return Some("url_ratio");
            }
        }
        if let (Some(s), Some(x)) = (self.script, c.min_script_share) {
            // Handles, hashtags and URLs are Latin in every script's tweets: not counted.
            if script_share(&strip_noise(text), s) < x {
                return Some("script_mismatch");
            }
        }
        if c.max_repeated_chars
            .is_some_and(|m| longest_char_run(text) > m)
        {
            return Some("repeated_chars");
        }
        if let Some(m) = c.min_stopwords {
            if m > 0 && !self.stopwords.is_empty() {
                let mut hits = 0;
                for i in 0..n {
                    let w = doc.word(i);
                    let hit = if w.chars().all(|ch| !ch.is_uppercase()) {
                        self.stopwords.contains(w)
                    } else {
                        self.stopwords.contains(&w.to_lowercase())
                    };
                    hits += hit as usize;
                    if hits >= m {
                        break;
                    }
                }
                if hits < m {
                    return Some("no_stopwords");
                }
            }
        }
        let line_rules = c.max_boilerplate_frac.is_some()
            || c.min_line_punct_frac.is_some()
            || c.max_short_line_frac.is_some()
            || c.max_ellipsis_line_frac.is_some();
        if line_rules {
            let (mut nl, mut boiler, mut punct, mut short, mut ell) =
                (0usize, 0usize, 0usize, 0usize, 0usize);
            let short_max = c.short_line_chars.unwrap_or(30);
            for l in lines(text) {
                nl += 1;
                if c.max_boilerplate_frac.is_some() {
                    boiler += BOILERPLATE.is_match(l) as usize;
                }
                punct += ends_in_terminal(l) as usize;
                short += (l.chars().take(short_max + 1).count() <= short_max) as usize;
                ell += (l.ends_with("...") || l.ends_with('…')) as usize;
            }
            let f = |k: usize| if nl == 0 { 0.0 } else { k as f64 / nl as f64 };
            if c.max_boilerplate_frac.is_some_and(|x| f(boiler) > x) {
                return Some("boilerplate");
            }
            if nl > 0 && c.min_line_punct_frac.is_some_and(|x| f(punct) < x) {
                return Some("no_terminal_punct");
            }
            if c.max_short_line_frac.is_some_and(|x| f(short) > x) {
                return Some("short_lines");
            }
            if c.max_ellipsis_line_frac.is_some_and(|x| f(ell) > x) {
                return Some("ellipsis_ending");
            }
        }
        if c.max_dup_line_frac.is_some() || c.max_dup_line_char_frac.is_some() {
            let (f, cf) = dup_fracs(lines(text));
            if c.max_dup_line_frac.is_some_and(|x| f > x)
                || c.max_dup_line_char_frac.is_some_and(|x| cf > x)
            {
                return Some("dup_line_frac");
            }
        }
        if c.max_dup_para_frac.is_some() || c.max_dup_para_char_frac.is_some() {
            let (f, cf) = dup_fracs(paragraphs(text));
            if c.max_dup_para_frac.is_some_and(|x| f > x)
                || c.max_dup_para_char_frac.is_some_and(|x| cf > x)
            {
                return Some("dup_para_frac");
            }
        }
        for &(k, x) in c.top_ngram_frac.iter().flatten() {
            if doc.top_ngram_frac(k) > x {
                return Some("top_ngram_frac");
            }
        }
        for &(k, x) in c.dup_ngram_frac.iter().flatten() {
            if doc.dup_ngram_frac(k) > x {
                return Some("dup_ngram_frac");
            }
        }
        None
    }
}

impl Stage for Filter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let results: Vec<(Outcome, bool)> = batch
            .into_par_iter()
            .map(|mut rec| {
                let (why, numbered) = self.check(&mut rec);
                (
                    match why {
                        Some(w) => Outcome::Drop(rec, w),
                        None => Outcome::Keep(rec),
                    },
                    numbered,
                )
            })
            .collect();
        let mut numbered = 0;
        for (o, n) in results {
            numbered += n as u64;
            out.apply(o);
        }
        out.counter("numbering_prefix_total", numbered);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for l in LANGS {
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
            ("preset", "unknown preset `gopher2`; known: madlad")
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
        assert_eq!((why, n), (None, true));
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
        let c = cfg("min_script_share = 0.5\nscript = \"ethiopic\"\nmax_repeated_chars = 5\nmax_digit_ratio = 0.5\nmax_url_ratio = 0.5\nmin_line_punct_frac = 0.5\nmax_dup_line_frac = 0.3\nmax_boilerplate_frac = 0.5\ndrop_urls = false\nmax_symbol_ratio = 0.5\nmax_mean_word_length = 12.0");
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
}
