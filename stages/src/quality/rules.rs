//! The runtime of `filter` ([`crate::quality::filter`]): rewrites, then the document rules
//! in a fixed order (the first rule that fires names the drop reason), then C4's line
//! removal. Each measure lives in its own module (`gopher`, `repetition`, `fineweb`,
//! `c4`) and is computed only when a rule needs it; tokens are built once per record.

use crate::langid::model::strip_noise;
use crate::quality::c4::{self, C4Outcome, C4Rules, LINE_REASONS};
use crate::quality::filter::FilterConfig;
use crate::quality::fineweb::{line_stats, newline_ratio};
use crate::quality::gopher;
use crate::quality::measures::{defs, m, FilterMetrics, MetricDef, Probe, FIXED};
use crate::quality::metrics::{longest_char_run, script_share};
use crate::quality::religious::{has_verse_reference, matcher, ReligiousMatcher};
use crate::quality::repetition::{dup_lines, dup_paragraphs, Ngrams};
use crate::quality::stopwords::{parse_list, stopword_list};
use crate::quality::tokens::{tokens, Token, URL};
use crate::text::align::{apply_to_record, Aligned};
use crate::text::segment::Script;
use mavuno_pipeline::{Batch, DropDetail, Emitter, Outcome, Record, Stage, StageError};
use rayon::prelude::*;
use regex::Regex;
use std::collections::HashSet;
use std::path::PathBuf;
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

/// A drop reason and, where a measure fired, its value and threshold.
pub type Fired = (&'static str, Option<DropDetail>);

/// The runtime filter with resolved thresholds.
pub struct Filter {
    /// Every measure's definition ([`crate::quality::measures`]).
    metrics: Vec<MetricDef>,
    /// Distributions of the measures, per language.
    acc: FilterMetrics,
    /// Where [`Stage::finish`] writes `acc` (none outside a run).
    metrics_out: Option<PathBuf>,
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
        let metrics = defs(&cfg);
        Filter {
            acc: FilterMetrics::new(metrics.clone()),
            metrics,
            metrics_out: None,
            cfg,
            stopwords,
            script,
            c4,
        }
    }

    /// Writes the measures' distributions to `path` when the stage finishes.
    pub fn with_metrics_file(mut self, path: PathBuf) -> Filter {
        self.metrics_out = Some(path);
        self
    }

    /// The distributions recorded so far.
    pub fn metrics(&self) -> &FilterMetrics {
        &self.acc
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
        let (fired, done) = self.check_measured(rec, &mut Probe::new());
        (fired.map(|f| f.0), done)
    }

    /// [`Filter::check`], also recording every measure computed in `probe` and returning
    /// the value and threshold of the one that fired.
    pub fn check_measured(&self, rec: &mut Record, probe: &mut Probe) -> (Option<Fired>, Rewrites) {
        let mut done = Rewrites {
            numbered: self.rewrite(rec),
            ..Rewrites::default()
        };
        if let Some(why) = self.reason(rec, probe) {
            return (Some(why), done);
        }
        if let Some(r) = &self.c4 {
            match c4::apply(r, &rec.text) {
                C4Outcome::Drop(why) => return (Some((why, None)), done),
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

    /// Records measure `i`'s value in the probe; the drop detail when it crosses a
    /// threshold.
    fn measure(&self, p: &mut Probe, i: usize, v: f64) -> Option<DropDetail> {
        p.push((i as u16, v));
        self.metrics.get(i).and_then(|d| d.fires(v))
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
    fn gopher_reason(&self, text: &str, toks: &[Token], p: &mut Probe) -> Option<Fired> {
        let c = &self.cfg;
        if c.min_words.is_some() || c.max_words.is_some() {
            let n = gopher::word_count(toks);
            if let Some(d) = self.measure(p, m::WORDS, n as f64) {
                let why = if c.min_words.is_some_and(|m| n < m) {
                    "too_few_words"
                } else {
                    "too_many_words"
                };
                return Some((why, Some(d)));
            }
        }
        if c.min_mean_word_length.is_some() || c.max_mean_word_length.is_some() {
            let v = gopher::mean_word_length(text, toks);
            if let Some(d) = self.measure(p, m::MEAN_WORD_LENGTH, v) {
                return Some(("mean_word_length", Some(d)));
            }
        }
        if c.max_symbol_ratio.is_some() {
            let (hashes, ellipses) = gopher::symbol_ratios(text, toks);
            if let Some(d) = self.measure(p, m::SYMBOL_RATIO, hashes.max(ellipses)) {
                return Some(("symbol_ratio", Some(d)));
            }
        }
        if c.max_bullet_line_frac.is_some() || c.max_ellipsis_line_frac.is_some() {
            let (bullet, ell) = gopher::bullet_and_ellipsis_line_fracs(text);
            let b = c
                .max_bullet_line_frac
                .and_then(|_| self.measure(p, m::BULLET_LINES, bullet));
            let e = c
                .max_ellipsis_line_frac
                .and_then(|_| self.measure(p, m::ELLIPSIS_LINES, ell));
            if b.is_some() {
                return Some(("bullet_lines", b));
            }
            if e.is_some() {
                return Some(("ellipsis_ending", e));
            }
        }
        if c.min_alpha_word_frac.is_some() {
            let v = gopher::alpha_token_frac(text, toks);
            if let Some(d) = self.measure(p, m::ALPHA_WORDS, v) {
                return Some(("alpha_words", Some(d)));
            }
        }
        if c.min_distinct_stopwords.is_some_and(|m| m > 0) {
            let n = gopher::distinct_stopwords(text, toks, &self.stopwords);
            if let Some(d) = self.measure(p, m::DISTINCT_STOPWORDS, n as f64) {
                return Some(("no_stopwords", Some(d)));
            }
        }
        None
    }

    /// Character-level rules (digits, URLs, script, runs, stopword occurrences).
    fn char_reason(&self, text: &str, toks: &[Token], p: &mut Probe) -> Option<Fired> {
        let c = &self.cfg;
        if c.max_digit_ratio.is_some() {
            let (mut d, mut all) = (0usize, 0usize);
            for ch in text.chars().filter(|ch| !ch.is_whitespace()) {
                all += 1;
                d += ch.is_numeric() as usize;
            }
            if all > 0 {
                if let Some(x) = self.measure(p, m::DIGIT_RATIO, d as f64 / all as f64) {
                    return Some(("digit_ratio", Some(x)));
                }
            }
        }
        if c.max_url_ratio.is_some() && !text.is_empty() {
            let u: usize = URL.find_iter(text).map(|m| m.len()).sum();
            if let Some(x) = self.measure(p, m::URL_RATIO, u as f64 / text.len() as f64) {
                return Some(("url_ratio", Some(x)));
            }
        }
        if let (Some(s), Some(_)) = (self.script, c.min_script_share) {
            // Handles, hashtags and URLs are Latin in every script's tweets: not counted.
            let v = script_share(&strip_noise(text), s);
            if let Some(x) = self.measure(p, m::SCRIPT_SHARE, v) {
                return Some(("script_mismatch", Some(x)));
            }
        }
        if c.max_repeated_chars.is_some() {
            let v = longest_char_run(text) as f64;
            if let Some(x) = self.measure(p, m::CHAR_RUN, v) {
                return Some(("repeated_chars", Some(x)));
            }
        }
        if c.min_stopwords.is_some_and(|m| m > 0) && !self.stopwords.is_empty() {
            // Counted to the end (not only up to the threshold): the report shows the
            // distribution.
            let mut hits = 0usize;
            for t in toks.iter().filter(|t| !t.symbol) {
                let w = t.text(text);
                let hit = if w.chars().all(|ch| !ch.is_uppercase()) {
                    self.stopwords.contains(w)
                } else {
                    self.stopwords.contains(&w.to_lowercase())
                };
                hits += hit as usize;
            }
            if let Some(x) = self.measure(p, m::STOPWORDS, hits as f64) {
                return Some(("no_stopwords", Some(x)));
            }
        }
        None
    }

    /// Line rules: boilerplate lines and FineWeb's line statistics.
    fn line_reason(&self, text: &str, toks: &[Token], p: &mut Probe) -> Option<Fired> {
        let c = &self.cfg;
        if c.max_boilerplate_frac.is_some() {
            let (mut n, mut b) = (0usize, 0usize);
            for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                n += 1;
                b += BOILERPLATE.is_match(l) as usize;
            }
            if n > 0 {
                if let Some(x) = self.measure(p, m::BOILERPLATE, b as f64 / n as f64) {
                    return Some(("boilerplate", Some(x)));
                }
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
                c.line_punct_exact.unwrap_or(false),
            );
            if s.lines == 0 {
                return Some(("empty", None));
            }
            let punct = c
                .min_line_punct_frac
                .and_then(|_| self.measure(p, m::LINE_PUNCT, s.punct_frac));
            if punct.is_some() {
                return Some(("no_terminal_punct", punct));
            }
            let short = c
                .max_short_line_frac
                .and_then(|_| self.measure(p, m::SHORT_LINES, s.short_frac));
            if short.is_some() {
                return Some(("short_lines", short));
            }
            let dup = c
                .max_dup_line_char_ratio
                .and_then(|_| self.measure(p, m::DUP_LINE_CHAR_RATIO, s.dup_char_ratio));
            if dup.is_some() {
                return Some(("dup_line_char_ratio", dup));
            }
        }
        if c.max_newline_word_ratio.is_some() {
            let v = newline_ratio(text, toks.len());
            if let Some(x) = self.measure(p, m::NEWLINE_RATIO, v) {
                return Some(("list_ratio", Some(x)));
            }
        }
        None
    }

    /// Gopher repetition rules.
    fn repetition_reason(&self, text: &str, toks: &[Token], p: &mut Probe) -> Option<Fired> {
        let c = &self.cfg;
        if c.max_dup_para_frac.is_some() || c.max_dup_para_char_frac.is_some() {
            let (f, cf) = dup_paragraphs(text);
            let a = c
                .max_dup_para_frac
                .and_then(|_| self.measure(p, m::DUP_PARA, f));
            let b = c
                .max_dup_para_char_frac
                .and_then(|_| self.measure(p, m::DUP_PARA_CHARS, cf));
            if let Some(d) = a.or(b) {
                return Some(("dup_para_frac", Some(d)));
            }
        }
        if c.max_dup_line_frac.is_some() || c.max_dup_line_char_frac.is_some() {
            let (f, cf) = dup_lines(text);
            let a = c
                .max_dup_line_frac
                .and_then(|_| self.measure(p, m::DUP_LINE, f));
            let b = c
                .max_dup_line_char_frac
                .and_then(|_| self.measure(p, m::DUP_LINE_CHARS, cf));
            if let Some(d) = a.or(b) {
                return Some(("dup_line_frac", Some(d)));
            }
        }
        let top = c.top_ngram_frac.as_deref().unwrap_or_default();
        let dup = c.dup_ngram_frac.as_deref().unwrap_or_default();
        if top.is_empty() && dup.is_empty() {
            return None;
        }
        let g = Ngrams::new(text, toks);
        for (j, &(k, _)) in top.iter().enumerate() {
            if let Some(d) = self.measure(p, FIXED + j, g.top_frac(k)) {
                return Some(("top_ngram_frac", Some(d)));
            }
        }
        for (j, &(k, _)) in dup.iter().enumerate() {
            if let Some(d) = self.measure(p, FIXED + top.len() + j, g.dup_frac(k)) {
                return Some(("dup_ngram_frac", Some(d)));
            }
        }
        None
    }

    fn reason(&self, rec: &Record, p: &mut Probe) -> Option<Fired> {
        if let Some(r) = self.text_reason(rec) {
            return Some((r, None));
        }
        let text = rec.text.as_str();
        let toks = tokens(text);
        self.gopher_reason(text, &toks, p)
            .or_else(|| self.char_reason(text, &toks, p))
            .or_else(|| self.line_reason(text, &toks, p))
            .or_else(|| self.repetition_reason(text, &toks, p))
    }
}

impl Stage for Filter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        type Done = (Outcome, Rewrites, Probe, Option<String>);
        let results: Vec<Done> = batch
            .into_par_iter()
            .map(|mut rec| {
                let mut probe = Probe::new();
                let (why, done) = self.check_measured(&mut rec, &mut probe);
                let lang = if probe.is_empty() {
                    None
                } else {
                    rec.lang.clone()
                };
                let o = match why {
                    Some((w, Some(d))) => Outcome::DropMeasured(rec, w, d),
                    Some((w, None)) => Outcome::Drop(rec, w),
                    None => Outcome::Keep(rec),
                };
                (o, done, probe, lang)
            })
            .collect();
        let mut numbered = 0;
        let mut lines = [0u64; 5];
        for (o, done, probe, lang) in results {
            // In record order: the histograms do not depend on thread count.
            self.acc.add(lang.as_deref(), &probe);
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

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        if let Some(p) = &self.metrics_out {
            self.acc.write(p)?;
        }
        Ok(())
    }
}
