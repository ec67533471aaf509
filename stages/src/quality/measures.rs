//! The measures the `filter` stage computes, their thresholds, and their distributions
//! per language, written to `<run>/metrics/<stage>.json` for the run report. The same
//! types carry `langid`'s confidence and `dedup_near`'s similarity (one measure each).
//!
//! Rules run in a fixed order and the first that fires names the drop reason, so a
//! measure is computed for the records that reached its rule. Its histogram is therefore
//! the distribution the threshold acts on: "at 0.4 this rule would keep 96 %" reads as
//! "of the records this rule saw". `fired` counts the records the rule dropped, exactly; a
//! rule that saw records and never fired is flagged by the report.

use crate::quality::filter::FilterConfig;
use crate::stats::histogram::{Histogram, Scale};
use mavuno_pipeline::DropDetail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One measure and its thresholds (a record is dropped when below `min` or above `max`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Measure name (`words`, `symbol_ratio`, `top_ngram_frac[2]` …).
    pub name: String,
    /// The config field(s) that set its thresholds.
    pub field: String,
    /// Bin layout.
    pub scale: Scale,
    /// Lower threshold.
    pub min: Option<f64>,
    /// Upper threshold.
    pub max: Option<f64>,
    /// Whether a value equal to `max` is dropped too (`dedup_near`: similarity ≥
    /// threshold); otherwise only values above it are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drops_at_max: bool,
}

impl MetricDef {
    /// Whether `v` crosses a threshold, and which.
    pub fn fires(&self, v: f64) -> Option<DropDetail> {
        if let Some(m) = self.min.filter(|&m| v < m) {
            return Some(DropDetail {
                value: v,
                threshold: m,
            });
        }
        self.max
            .filter(|&m| v > m || (self.drops_at_max && v == m))
            .map(|m| DropDetail {
                value: v,
                threshold: m,
            })
    }

    /// Values of `h` that thresholds `min`/`max` (in place of this measure's) would keep,
    /// at bin resolution ([`Histogram::kept`]).
    pub fn kept(&self, h: &Histogram, min: Option<f64>, max: Option<f64>) -> u64 {
        if self.drops_at_max {
            h.kept_below(min, max)
        } else {
            h.kept(min, max)
        }
    }
}

/// Indexes of the fixed measures in [`defs`]; n-gram measures follow [`FIXED`].
#[allow(missing_docs)] // the names say it; see `defs` for each measure
pub mod m {
    pub const WORDS: usize = 0;
    pub const MEAN_WORD_LENGTH: usize = 1;
    pub const SYMBOL_RATIO: usize = 2;
    pub const BULLET_LINES: usize = 3;
    pub const ELLIPSIS_LINES: usize = 4;
    pub const ALPHA_WORDS: usize = 5;
    pub const DISTINCT_STOPWORDS: usize = 6;
    pub const DIGIT_RATIO: usize = 7;
    pub const URL_RATIO: usize = 8;
    pub const SCRIPT_SHARE: usize = 9;
    pub const CHAR_RUN: usize = 10;
    pub const STOPWORDS: usize = 11;
    pub const BOILERPLATE: usize = 12;
    pub const LINE_PUNCT: usize = 13;
    pub const SHORT_LINES: usize = 14;
    pub const DUP_LINE_CHAR_RATIO: usize = 15;
    pub const NEWLINE_RATIO: usize = 16;
    pub const DUP_PARA: usize = 17;
    pub const DUP_PARA_CHARS: usize = 18;
    pub const DUP_LINE: usize = 19;
    pub const DUP_LINE_CHARS: usize = 20;
}

/// Number of fixed measures.
pub const FIXED: usize = 21;

/// Every measure of a resolved config, in index order ([`m`]), then `top_ngram_frac[n]`
/// and `dup_ngram_frac[n]` in config order.
pub fn defs(c: &FilterConfig) -> Vec<MetricDef> {
    let f = |x: Option<usize>| x.map(|v| v as f64);
    let d = |name: &str, field: &str, scale, min, max| MetricDef {
        name: name.into(),
        field: field.into(),
        scale,
        min,
        max,
        drops_at_max: false,
    };
    use Scale::*;
    let mut v = vec![
        d(
            "words",
            "min_words / max_words",
            Count,
            f(c.min_words),
            f(c.max_words),
        ),
        d(
            "mean_word_length",
            "min_mean_word_length / max_mean_word_length",
            Length,
            c.min_mean_word_length,
            c.max_mean_word_length,
        ),
        d(
            "symbol_ratio",
            "max_symbol_ratio",
            Fraction,
            None,
            c.max_symbol_ratio,
        ),
        d(
            "bullet_line_frac",
            "max_bullet_line_frac",
            Fraction,
            None,
            c.max_bullet_line_frac,
        ),
        d(
            "ellipsis_line_frac",
            "max_ellipsis_line_frac",
            Fraction,
            None,
            c.max_ellipsis_line_frac,
        ),
        d(
            "alpha_word_frac",
            "min_alpha_word_frac",
            Fraction,
            c.min_alpha_word_frac,
            None,
        ),
        d(
            "distinct_stopwords",
            "min_distinct_stopwords",
            Count,
            f(c.min_distinct_stopwords),
            None,
        ),
        d(
            "digit_ratio",
            "max_digit_ratio",
            Fraction,
            None,
            c.max_digit_ratio,
        ),
        d(
            "url_ratio",
            "max_url_ratio",
            Fraction,
            None,
            c.max_url_ratio,
        ),
        d(
            "script_share",
            "min_script_share",
            Fraction,
            c.min_script_share,
            None,
        ),
        d(
            "longest_char_run",
            "max_repeated_chars",
            Count,
            None,
            f(c.max_repeated_chars),
        ),
        d(
            "stopwords",
            "min_stopwords",
            Count,
            f(c.min_stopwords),
            None,
        ),
        d(
            "boilerplate_frac",
            "max_boilerplate_frac",
            Fraction,
            None,
            c.max_boilerplate_frac,
        ),
        d(
            "line_punct_frac",
            "min_line_punct_frac",
            Fraction,
            c.min_line_punct_frac,
            None,
        ),
        d(
            "short_line_frac",
            "max_short_line_frac",
            Fraction,
            None,
            c.max_short_line_frac,
        ),
        d(
            "dup_line_char_ratio",
            "max_dup_line_char_ratio",
            Fraction,
            None,
            c.max_dup_line_char_ratio,
        ),
        d(
            "newline_word_ratio",
            "max_newline_word_ratio",
            Fraction,
            None,
            c.max_newline_word_ratio,
        ),
        d(
            "dup_para_frac",
            "max_dup_para_frac",
            Fraction,
            None,
            c.max_dup_para_frac,
        ),
        d(
            "dup_para_char_frac",
            "max_dup_para_char_frac",
            Fraction,
            None,
            c.max_dup_para_char_frac,
        ),
        d(
            "dup_line_frac",
            "max_dup_line_frac",
            Fraction,
            None,
            c.max_dup_line_frac,
        ),
        d(
            "dup_line_char_frac",
            "max_dup_line_char_frac",
            Fraction,
            None,
            c.max_dup_line_char_frac,
        ),
    ];
    for (field, list) in [
        ("top_ngram_frac", &c.top_ngram_frac),
        ("dup_ngram_frac", &c.dup_ngram_frac),
    ] {
        for &(n, x) in list.iter().flatten() {
            v.push(d(&format!("{field}[{n}]"), field, Fraction, None, Some(x)));
        }
    }
    v
}

/// The measures one record got: `(measure index, value)`, in the order computed.
pub type Probe = Vec<(u16, f64)>;

/// One measure's distribution for one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Values seen (records that reached the rule).
    pub hist: Histogram,
    /// Records whose value crossed a threshold (dropped by this rule).
    pub fired: u64,
}

/// `<run>/metrics/<stage>.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterMetrics {
    /// The stage's measures and thresholds.
    pub metrics: Vec<MetricDef>,
    /// Per language (`und` when a record has none), per measure name.
    pub langs: BTreeMap<String, BTreeMap<String, MetricStats>>,
}

impl FilterMetrics {
    /// An empty accumulator for these measures.
    pub fn new(metrics: Vec<MetricDef>) -> FilterMetrics {
        FilterMetrics {
            metrics,
            langs: BTreeMap::new(),
        }
    }

    /// Adds one record's measures, in record order (the stage's output order, so the
    /// result does not depend on thread count).
    pub fn add(&mut self, lang: Option<&str>, probe: &Probe) {
        for &(i, v) in probe {
            self.add_one(lang, i as usize, v);
        }
    }

    /// Adds one value of measure `i` (an index into `metrics`; others are ignored).
    pub fn add_one(&mut self, lang: Option<&str>, i: usize, v: f64) {
        let Some(def) = self.metrics.get(i) else {
            return;
        };
        let lang = lang.unwrap_or("und");
        if !self.langs.contains_key(lang) {
            self.langs.insert(lang.to_string(), BTreeMap::new());
        }
        let Some(per) = self.langs.get_mut(lang) else {
            return;
        };
        let s = per.entry(def.name.clone()).or_insert_with(|| MetricStats {
            hist: Histogram::new(def.scale),
            fired: 0,
        });
        s.hist.add(v);
        s.fired += def.fires(v).is_some() as u64;
    }

    /// Writes `<run>/metrics/<stage>.json` (atomically; parent directories created).
    pub fn write(&self, path: &std::path::Path) -> Result<(), mavuno_pipeline::StageError> {
        use mavuno_pipeline::StageError;
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| StageError::io(d, e))?;
        }
        let bytes = serde_json::to_vec(self).map_err(|e| StageError::msg(e.to_string()))?;
        mavuno_pipeline::io::write_atomic(path, &bytes)
    }

    /// Adds another accumulator of the same stage (shards).
    pub fn merge(&mut self, o: &FilterMetrics) {
        for (lang, per) in &o.langs {
            let mine = self.langs.entry(lang.clone()).or_default();
            for (name, s) in per {
                match mine.get_mut(name) {
                    Some(m) => {
                        m.hist.merge(&s.hist);
                        m.fired += s.fired;
                    }
                    None => {
                        mine.insert(name.clone(), s.clone());
                    }
                }
            }
        }
    }
}

/// Where a stage's metrics file is.
pub fn metrics_path(run_dir: &std::path::Path, stage: &str) -> std::path::PathBuf {
    run_dir.join("metrics").join(format!("{stage}.json"))
}
