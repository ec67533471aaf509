//! The runtime of `filter` ([`crate::quality::filter`]): rewrites, then the document rules
//! in a fixed order (the first rule that fires names the drop reason), then C4's line
//! removal. Each measure lives in its own module (`gopher`, `repetition`, `fineweb`,
//! `c4`) and is computed only when a rule needs it; tokens are built once per record.

use crate::langid::model::strip_noise;
use crate::quality::c4::{self, C4Outcome, C4Rules, LINE_REASONS};
use crate::quality::filter::FilterConfig;
use crate::quality::fineweb::{line_stats, newline_ratio};
use crate::quality::gopher;
use crate::quality::metrics::{longest_char_run, script_share};
use crate::quality::religious::{has_verse_reference, matcher, ReligiousMatcher};
use crate::quality::repetition::{dup_lines, dup_paragraphs, Ngrams};
use crate::quality::stopwords::{parse_list, stopword_list};
use crate::quality::tokens::{tokens, Token, URL};
use crate::text::align::{apply_to_record, Aligned};
use crate::text::segment::Script;
use mavuno_pipeline::{Batch, Emitter, Outcome, Record, Stage, StageError};
use rayon::prelude::*;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

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

/// What the filter did to one record besides keeping or dropping it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rewrites {
    /// A numbering prefix was stripped.
    pub numbered: bool,
    /// Lines removed by the C4 rules, per [`LINE_REASONS`] entry.
    pub lines_removed: [u64; 5],
}

/// The runtime filter with resolved thresholds.
pub struct Filter {
    cfg: FilterConfig,
    stopwords: HashSet<String>,
    script: Option<Script>,
    c4: Option<C4Rules>,
}

fn c4_rules(c: &FilterConfig) -> Option<C4Rules> {
    let on = |b: Option<bool>| b == Some(true);
    let r = C4Rules {
        max_word_chars: c.line_max_word_chars,
        remove_citations: on(c.remove_citations),
        require_terminal: on(c.line_require_terminal),
        min_words: c.line_min_words,
        javascript: on(c.line_drop_javascript),
        policy: on(c.line_drop_policy),
        lorem_ipsum: on(c.drop_lorem_ipsum),
        curly_bracket: on(c.drop_curly_bracket),
        min_sentences: c.min_sentences,
    };
    (r != C4Rules::default()).then_some(r)
}

impl Filter {
    /// A filter for a resolved config (see [`FilterConfig::resolved`]).
    pub fn new(cfg: FilterConfig) -> Filter {
        let stopwords = match (&cfg.stopwords, cfg.lang.as_deref().and_then(stopword_list)) {
            (Some(s), _) if cfg.min_distinct_stopwords.is_some() => s.iter().cloned().collect(),
            (Some(s), _) => s.iter().map(|w| w.to_lowercase()).collect(),
            (None, Some(src)) => parse_list(src).into_iter().collect(),
            _ => HashSet::new(),
        };
        let script = cfg.script.as_deref().and_then(Script::parse);
        let c4 = c4_rules(&cfg);
        Filter {
            cfg,
            stopwords,
            script,
            c4,
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

    /// Applies rewrites, then checks; returns the drop reason, if any, and the rewrites.
    pub fn check(&self, rec: &mut Record) -> (Option<&'static str>, Rewrites) {
        let mut done = Rewrites {
            numbered: self.rewrite(rec),
            ..Rewrites::default()
        };
        if let Some(why) = self.reason(rec) {
            return (Some(why), done);
        }
        if let Some(r) = &self.c4 {
            match c4::apply(r, &rec.text) {
                C4Outcome::Drop(why) => return (Some(why), done),
                C4Outcome::Keep(a, removed) => {
                    done.lines_removed = removed;
                    if let Some(a) = a {
                        apply_to_record(rec, a);
                    }
                }
            }
        }
        (None, done)
    }

    /// `strip_urls`, `strip_quotes`, `strip_numbering`; returns whether a numbering prefix
    /// was stripped.
    fn rewrite(&self, rec: &mut Record) -> bool {
        let c = &self.cfg;
        let mut numbered = false;
        if c.strip_urls != Some(true)
            && c.strip_numbering != Some(true)
            && c.strip_quotes != Some(true)
        {
            return false;
        }
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
        numbered
    }

    /// Rules that look at the text as a whole, before any token is built.
    fn text_reason(&self, rec: &Record) -> Option<&'static str> {
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
        None
    }

    /// Gopher quality rules over the tokens.
    fn gopher_reason(&self, text: &str, toks: &[Token]) -> Option<&'static str> {
        let c = &self.cfg;
        let n = gopher::word_count(toks);
        if c.min_words.is_some_and(|m| n < m) {
            return Some("too_few_words");
        }
        if c.max_words.is_some_and(|m| n > m) {
            return Some("too_many_words");
        }
        if c.min_mean_word_length.is_some() || c.max_mean_word_length.is_some() {
            let m = gopher::mean_word_length(text, toks);
            if c.min_mean_word_length.is_some_and(|x| m < x)
                || c.max_mean_word_length.is_some_and(|x| m > x)
            {
                return Some("mean_word_length");
            }
        }
        if let Some(x) = c.max_symbol_ratio {
            let (hashes, ellipses) = gopher::symbol_ratios(text, toks);
            if hashes > x || ellipses > x {
                return Some("symbol_ratio");
            }
        }
        if c.max_bullet_line_frac.is_some() || c.max_ellipsis_line_frac.is_some() {
            let (bullet, ell) = gopher::bullet_and_ellipsis_line_fracs(text);
            if c.max_bullet_line_frac.is_some_and(|x| bullet > x) {
                return Some("bullet_lines");
            }
            if c.max_ellipsis_line_frac.is_some_and(|x| ell > x) {
                return Some("ellipsis_ending");
            }
        }
        if c.min_alpha_word_frac
            .is_some_and(|x| gopher::alpha_token_frac(text, toks) < x)
        {
            return Some("alpha_words");
        }
        if let Some(m) = c.min_distinct_stopwords.filter(|&m| m > 0) {
            if gopher::distinct_stopwords(text, toks, &self.stopwords) < m {
                return Some("no_stopwords");
            }
        }
        None
    }

    /// Character-level rules (digits, URLs, script, runs, stopword occurrences).
    fn char_reason(&self, text: &str, toks: &[Token]) -> Option<&'static str> {
        let c = &self.cfg;
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
        if let Some(m) = c.min_stopwords.filter(|&m| m > 0) {
            if !self.stopwords.is_empty() {
                let mut hits = 0;
                for t in toks.iter().filter(|t| !t.symbol) {
                    let w = t.text(text);
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
        None
    }

    /// Line rules: boilerplate lines and FineWeb's line statistics.
    fn line_reason(&self, text: &str, toks: &[Token]) -> Option<&'static str> {
        let c = &self.cfg;
        if let Some(x) = c.max_boilerplate_frac {
            let (mut n, mut b) = (0usize, 0usize);
            for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                n += 1;
                b += BOILERPLATE.is_match(l) as usize;
            }
            if n > 0 && b as f64 / n as f64 > x {
                return Some("boilerplate");
            }
        }
        let fw = c.min_line_punct_frac.is_some()
            || c.max_short_line_frac.is_some()
            || c.max_dup_line_char_ratio.is_some();
        if fw {
            let s = line_stats(
                text,
                c.short_line_chars.unwrap_or(30),
                c.max_dup_line_char_ratio.is_some(),
            );
            if s.lines == 0 {
                return Some("empty");
            }
            if c.min_line_punct_frac.is_some_and(|x| s.punct_frac < x) {
                return Some("no_terminal_punct");
            }
            if c.max_short_line_frac.is_some_and(|x| s.short_frac > x) {
                return Some("short_lines");
            }
            if c.max_dup_line_char_ratio
                .is_some_and(|x| s.dup_char_ratio > x)
            {
                return Some("dup_line_char_ratio");
            }
        }
        if c.max_newline_word_ratio
            .is_some_and(|x| newline_ratio(text, toks.len()) > x)
        {
            return Some("list_ratio");
        }
        None
    }

    /// Gopher repetition rules.
    fn repetition_reason(&self, text: &str, toks: &[Token]) -> Option<&'static str> {
        let c = &self.cfg;
        if c.max_dup_para_frac.is_some() || c.max_dup_para_char_frac.is_some() {
            let (f, cf) = dup_paragraphs(text);
            if c.max_dup_para_frac.is_some_and(|x| f > x)
                || c.max_dup_para_char_frac.is_some_and(|x| cf > x)
            {
                return Some("dup_para_frac");
            }
        }
        if c.max_dup_line_frac.is_some() || c.max_dup_line_char_frac.is_some() {
            let (f, cf) = dup_lines(text);
            if c.max_dup_line_frac.is_some_and(|x| f > x)
                || c.max_dup_line_char_frac.is_some_and(|x| cf > x)
            {
                return Some("dup_line_frac");
            }
        }
        let top = c.top_ngram_frac.as_deref().unwrap_or_default();
        let dup = c.dup_ngram_frac.as_deref().unwrap_or_default();
        if top.is_empty() && dup.is_empty() {
            return None;
        }
        let g = Ngrams::new(text, toks);
        for &(k, x) in top {
            if g.top_frac(k) > x {
                return Some("top_ngram_frac");
            }
        }
        for &(k, x) in dup {
            if g.dup_frac(k) > x {
                return Some("dup_ngram_frac");
            }
        }
        None
    }

    fn reason(&self, rec: &Record) -> Option<&'static str> {
        if let Some(r) = self.text_reason(rec) {
            return Some(r);
        }
        let text = rec.text.as_str();
        let toks = tokens(text);
        self.gopher_reason(text, &toks)
            .or_else(|| self.char_reason(text, &toks))
            .or_else(|| self.line_reason(text, &toks))
            .or_else(|| self.repetition_reason(text, &toks))
    }
}

impl Stage for Filter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let results: Vec<(Outcome, Rewrites)> = batch
            .into_par_iter()
            .map(|mut rec| {
                let (why, done) = self.check(&mut rec);
                let o = match why {
                    Some(w) => Outcome::Drop(rec, w),
                    None => Outcome::Keep(rec),
                };
                (o, done)
            })
            .collect();
        let mut numbered = 0;
        let mut lines = [0u64; 5];
        for (o, done) in results {
            numbered += done.numbered as u64;
            for (t, n) in lines.iter_mut().zip(done.lines_removed) {
                *t += n;
            }
            out.apply(o);
        }
        out.counter("numbering_prefix_total", numbered);
        if self.c4.is_some() {
            for (name, n) in LINE_REASONS.iter().zip(lines) {
                out.counter(&format!("lines_removed_{name}_total"), n);
            }
        }
        Ok(())
    }
}
