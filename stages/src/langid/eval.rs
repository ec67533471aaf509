//! Evaluation of a language identifier on labelled lines: per-language precision,
//! recall, F1 and support, macro-F1, the full confusion matrix and the counts for the
//! pairs that are easy to confuse (swa/swh, zul/xho, kin/run, amh/tir, pcm/eng).

use serde::Serialize;
use std::collections::BTreeMap;

/// Pairs whose confusion is reported on its own.
pub const CONFUSABLE_PAIRS: [(&str, &str); 5] = [
    ("swa", "swh"),
    ("zul", "xho"),
    ("kin", "run"),
    ("amh", "tir"),
    ("pcm", "eng"),
];

/// Scores of one language.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LangScores {
    /// Correct predictions / predictions of this label.
    pub precision: f64,
    /// Correct predictions / gold lines of this language.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Gold lines of this language.
    pub support: u64,
}

/// A confusable pair's counts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PairCounts {
    /// `a`, `b`.
    pub pair: String,
    /// Gold `a` predicted `b`.
    pub a_as_b: u64,
    /// Gold `b` predicted `a`.
    pub b_as_a: u64,
}

/// The evaluation report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvalReport {
    /// Lines evaluated.
    pub lines: u64,
    /// Share of lines labelled correctly.
    pub accuracy: f64,
    /// Mean F1 over gold languages with support.
    pub macro_f1: f64,
    /// Per gold language.
    pub per_language: BTreeMap<String, LangScores>,
    /// Lines per gold language labelled `und`.
    pub und: BTreeMap<String, u64>,
    /// The confusable pairs.
    pub pairs: Vec<PairCounts>,
    /// gold → predicted → count.
    pub confusion: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Builds the report from `(gold, predicted)` pairs.
pub fn evaluate<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> EvalReport {
    let mut confusion: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut predicted: BTreeMap<String, u64> = BTreeMap::new();
    let mut lines = 0u64;
    let mut correct = 0u64;
    for (g, p) in pairs {
        lines += 1;
        if g == p {
            correct += 1;
        }
        *confusion
            .entry(g.to_string())
            .or_default()
            .entry(p.to_string())
            .or_insert(0) += 1;
        *predicted.entry(p.to_string()).or_insert(0) += 1;
    }
    let mut per_language = BTreeMap::new();
    let mut und = BTreeMap::new();
    for (g, row) in &confusion {
        let support: u64 = row.values().sum();
        let tp = row.get(g).copied().unwrap_or(0);
        let np = predicted.get(g).copied().unwrap_or(0);
        let precision = if np > 0 { tp as f64 / np as f64 } else { 0.0 };
        let recall = if support > 0 {
            tp as f64 / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        per_language.insert(
            g.clone(),
            LangScores {
                precision,
                recall,
                f1,
                support,
            },
        );
        und.insert(g.clone(), row.get(super::model::UND).copied().unwrap_or(0));
    }
    let macro_f1 = if per_language.is_empty() {
        0.0
    } else {
        per_language.values().map(|s| s.f1).sum::<f64>() / per_language.len() as f64
    };
    let get = |a: &str, b: &str| {
        confusion
            .get(a)
            .and_then(|r| r.get(b))
            .copied()
            .unwrap_or(0)
    };
    let pairs = CONFUSABLE_PAIRS
        .iter()
        .map(|(a, b)| PairCounts {
            pair: format!("{a}/{b}"),
            a_as_b: get(a, b),
            b_as_a: get(b, a),
        })
        .collect();
    EvalReport {
        lines,
        accuracy: if lines > 0 {
            correct as f64 / lines as f64
        } else {
            0.0
        },
        macro_f1,
        per_language,
        und,
        pairs,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_small_confusion() {
        let r = evaluate([
            ("yor", "yor"),
            ("yor", "hau"),
            ("hau", "hau"),
            ("pcm", "eng"),
            ("pcm", "und"),
        ]);
        assert_eq!(r.lines, 5);
        let y = &r.per_language["yor"];
        assert_eq!((y.precision, y.recall, y.support), (1.0, 0.5, 2));
        let h = &r.per_language["hau"];
        assert_eq!((h.precision, h.recall), (0.5, 1.0));
        assert_eq!(r.per_language["pcm"].f1, 0.0);
        assert_eq!(r.und["pcm"], 1);
        let pe = r
            .pairs
            .iter()
            .find(|p| p.pair == "pcm/eng")
            .map(|p| p.a_as_b);
        assert_eq!(pe, Some(1));
        assert!((r.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-9);
    }

    #[test]
    fn empty_input_does_not_divide_by_zero() {
        let r = evaluate(std::iter::empty());
        assert_eq!(r.macro_f1, 0.0);
        assert_eq!(r.accuracy, 0.0);
    }
}
