//! Evaluation of a language identifier on labelled lines: per-language precision,
//! recall, F1 and support, macro-F1, the full confusion matrix, the counts for the pairs
//! that are easy to confuse ([`CONFUSABLE_PAIRS`]) and a plain-text summary of them
//! ([`confusion_summary`], printed by `mavuno lid eval`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Pairs whose confusion is reported on its own: close relatives (Kinyarwanda/Kirundi;
/// the Nguni languages and chiShona; Luganda and its Bantu neighbours), the Swahili
/// macrolanguage code against the individual one (fastText models say `swh`), Somali
/// against the languages its short lines were mistaken for, Amharic/Tigrinya, and
/// Pidgin/English.
pub const CONFUSABLE_PAIRS: [(&str, &str); 12] = [
    ("kin", "run"),
    ("zul", "xho"),
    ("zul", "sna"),
    ("xho", "sna"),
    ("swa", "swh"),
    ("som", "swa"),
    ("som", "hau"),
    ("lug", "kin"),
    ("lug", "swa"),
    ("lug", "wol"),
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
    /// Gold `a` lines.
    pub a_support: u64,
    /// Gold `b` lines.
    pub b_support: u64,
}

impl PairCounts {
    /// Share of gold `a` lines predicted `b` (0 without support).
    pub fn a_as_b_rate(&self) -> f64 {
        rate(self.a_as_b, self.a_support)
    }

    /// Share of gold `b` lines predicted `a` (0 without support).
    pub fn b_as_a_rate(&self) -> f64 {
        rate(self.b_as_a, self.b_support)
    }
}

fn rate(n: u64, of: u64) -> f64 {
    if of > 0 {
        n as f64 / of as f64
    } else {
        0.0
    }
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
            a_support: per_language.get(*a).map_or(0, |s: &LangScores| s.support),
            b_support: per_language.get(*b).map_or(0, |s: &LangScores| s.support),
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

/// The confusions that matter, as text: each confusable pair with a gold side in the
/// report (`kin→run 3/660 (0.5 %)`), then per gold language its most frequent wrong
/// answers (`und` included), at most `top` of them.
pub fn confusion_summary(r: &EvalReport, top: usize) -> String {
    let mut out = String::from("confusable pairs (gold→predicted, share of gold lines):\n");
    for p in r.pairs.iter().filter(|p| p.a_support + p.b_support > 0) {
        let (a, b) = p.pair.split_once('/').unwrap_or((&p.pair, ""));
        let side = |x: &str, y: &str, n: u64, of: u64| {
            if of == 0 {
                format!("{x}→{y} –")
            } else {
                format!("{x}→{y} {n}/{of} ({:.1} %)", 100.0 * rate(n, of))
            }
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<28} {}",
            p.pair,
            side(a, b, p.a_as_b, p.a_support),
            side(b, a, p.b_as_a, p.b_support)
        );
    }
    out.push_str("most frequent errors per language:\n");
    for (g, row) in &r.confusion {
        let mut errs: Vec<(&String, &u64)> = row.iter().filter(|(p, _)| *p != g).collect();
        errs.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        if errs.is_empty() {
            continue;
        }
        let support: u64 = row.values().sum();
        let list: Vec<String> = errs
            .iter()
            .take(top)
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let _ = writeln!(out, "  {g:<4} ({support} lines): {}", list.join(", "));
    }
    out
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
    fn summary_lists_pairs_with_support_and_top_errors() {
        let mut gold = vec![("kin", "kin"); 97];
        gold.extend([("kin", "run"), ("kin", "run"), ("kin", "und")]);
        gold.extend([("run", "run"), ("run", "kin"), ("zul", "xho")]);
        let r = evaluate(gold);
        let kr = r.pairs.iter().find(|p| p.pair == "kin/run");
        assert_eq!(
            kr.map(|p| (p.a_as_b, p.a_support, p.b_as_a, p.b_support)),
            Some((2, 100, 1, 2))
        );
        assert_eq!(kr.map(|p| p.a_as_b_rate()), Some(0.02));
        let s = confusion_summary(&r, 2);
        assert!(s.contains("kin→run 2/100 (2.0 %)"), "{s}");
        assert!(s.contains("run→kin 1/2 (50.0 %)"), "{s}");
        assert!(s.contains("zul→xho 1/1 (100.0 %)"), "{s}");
        assert!(s.contains("xho→zul –"), "{s}");
        assert!(s.contains("kin  (100 lines): run 2, und 1"), "{s}");
        // A pair with no gold line on either side is left out.
        assert!(!s.contains("amh/tir"), "{s}");
    }

    #[test]
    fn empty_input_does_not_divide_by_zero() {
        let r = evaluate(std::iter::empty());
        assert_eq!(r.macro_f1, 0.0);
        assert_eq!(r.accuracy, 0.0);
    }
}
