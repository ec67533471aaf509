//! Evaluation: token accuracy with per-tag P/R/F1 for POS, and entity-level micro
//! P/R/F1 for NER with seqeval's strict IOB2 semantics.
//!
//! Strict IOB2 (seqeval `mode="strict", scheme=IOB2`): an entity starts only at `B-X`
//! and continues over following `I-X` of the same type; an `I-X` that follows `O`, the
//! sentence start, or a different type starts no entity and belongs to none. A predicted
//! entity is correct when its type and both boundaries equal a gold entity's.
//!
//! Tags that occur in the gold data but are not among the model's labels are listed
//! under `unseen_tags` with their token counts; those tokens always count as errors
//! (the model cannot emit them).

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A typed entity span over word indices `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entity {
    /// First word.
    pub start: usize,
    /// One past the last word.
    pub end: usize,
    /// The type (`PER`, `LOC` …).
    pub label: String,
}

/// Entities of an IOB2 sequence, strict mode.
pub fn entities(tags: &[impl AsRef<str>]) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (i, t) in tags.iter().enumerate() {
        let t = t.as_ref();
        if let Some((s, ty)) = open {
            if t.strip_prefix("I-") == Some(ty) {
                continue;
            }
            out.push(Entity {
                start: s,
                end: i,
                label: ty.to_string(),
            });
            open = None;
        }
        if let Some(ty) = t.strip_prefix("B-") {
            open = Some((i, ty));
        }
    }
    if let Some((s, ty)) = open {
        out.push(Entity {
            start: s,
            end: tags.len(),
            label: ty.to_string(),
        });
    }
    out
}

/// Precision, recall and F1 from true positives and the predicted and gold counts (0 where
/// undefined). Shared with `mavuno-models`' classification metrics.
pub fn prf(tp: usize, n_pred: usize, n_gold: usize) -> (f64, f64, f64) {
    let p = if n_pred == 0 {
        0.0
    } else {
        tp as f64 / n_pred as f64
    };
    let r = if n_gold == 0 {
        0.0
    } else {
        tp as f64 / n_gold as f64
    };
    let f = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f)
}

/// Rounded to 4 decimals, as every metrics report prints them.
pub fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

fn unseen(gold: &[Vec<String>], labels: &[String]) -> Value {
    let known: HashSet<&str> = labels.iter().map(String::as_str).collect();
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for t in gold.iter().flatten() {
        if !known.contains(t.as_str()) {
            *m.entry(t).or_default() += 1;
        }
    }
    json!(m)
}

/// POS evaluation: `accuracy`, `tokens`, `per_tag`, `unseen_tags`.
pub fn pos_report(gold: &[Vec<String>], pred: &[Vec<String>], labels: &[String]) -> Value {
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n_pred: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n_gold: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut correct, mut total) = (0usize, 0usize);
    for (g, p) in gold.iter().zip(pred) {
        for (g, p) in g.iter().zip(p) {
            total += 1;
            *n_gold.entry(g).or_default() += 1;
            *n_pred.entry(p).or_default() += 1;
            if g == p {
                correct += 1;
                *tp.entry(g).or_default() += 1;
            }
        }
    }
    let tags: BTreeSet<&str> = n_gold.keys().chain(n_pred.keys()).copied().collect();
    let mut per = Map::new();
    for t in tags {
        let (p, r, f) = prf(
            tp.get(t).copied().unwrap_or(0),
            n_pred.get(t).copied().unwrap_or(0),
            n_gold.get(t).copied().unwrap_or(0),
        );
        per.insert(
            t.to_string(),
            json!({"precision": round4(p), "recall": round4(r), "f1": round4(f), "support": n_gold.get(t).copied().unwrap_or(0)}),
        );
    }
    let acc = if total == 0 {
        0.0
    } else {
        correct as f64 / total as f64
    };
    json!({"accuracy": round4(acc), "tokens": total, "per_tag": per, "unseen_tags": unseen(gold, labels)})
}

/// Token accuracy only (for early stopping).
pub fn accuracy(gold: &[Vec<String>], pred: &[Vec<String>]) -> f64 {
    let (mut c, mut n) = (0usize, 0usize);
    for (g, p) in gold.iter().zip(pred) {
        for (g, p) in g.iter().zip(p) {
            n += 1;
            c += usize::from(g == p);
        }
    }
    if n == 0 {
        0.0
    } else {
        c as f64 / n as f64
    }
}

/// Counts (true positives, predicted, gold) per type.
fn ner_counts(
    gold: &[Vec<String>],
    pred: &[Vec<String>],
) -> BTreeMap<String, (usize, usize, usize)> {
    let mut m: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (g, p) in gold.iter().zip(pred) {
        let ge: HashSet<Entity> = entities(g).into_iter().collect();
        let pe = entities(p);
        for e in &ge {
            m.entry(e.label.clone()).or_default().2 += 1;
        }
        for e in &pe {
            let c = m.entry(e.label.clone()).or_default();
            c.1 += 1;
            if ge.contains(e) {
                c.0 += 1;
            }
        }
    }
    m
}

/// Micro F1 over entities (for early stopping).
pub fn ner_f1(gold: &[Vec<String>], pred: &[Vec<String>]) -> f64 {
    let (tp, np, ng) = ner_counts(gold, pred)
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    prf(tp, np, ng).2
}

/// NER evaluation: micro `precision`, `recall`, `f1`, `per_type`, `unseen_tags`.
pub fn ner_report(gold: &[Vec<String>], pred: &[Vec<String>], labels: &[String]) -> Value {
    let m = ner_counts(gold, pred);
    let mut per = Map::new();
    let (mut tp, mut np, mut ng) = (0, 0, 0);
    for (t, &(a, b, c)) in &m {
        let (p, r, f) = prf(a, b, c);
        per.insert(
            t.clone(),
            json!({"precision": round4(p), "recall": round4(r), "f1": round4(f), "support": c}),
        );
        tp += a;
        np += b;
        ng += c;
    }
    let (p, r, f) = prf(tp, np, ng);
    json!({"precision": round4(p), "recall": round4(r), "f1": round4(f), "entities": ng,
           "per_type": per, "unseen_tags": unseen(gold, labels)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn strict_iob2_entities() {
        let e = |s: &str| entities(&v(s));
        assert_eq!(
            e("B-PER I-PER O"),
            vec![Entity {
                start: 0,
                end: 2,
                label: "PER".into()
            }]
        );
        assert_eq!(e("I-PER I-PER O"), vec![]); // I- without B- starts nothing
        assert_eq!(
            e("B-PER I-LOC"),
            vec![Entity {
                start: 0,
                end: 1,
                label: "PER".into()
            }]
        );
        assert_eq!(
            e("B-PER B-PER"),
            vec![
                Entity {
                    start: 0,
                    end: 1,
                    label: "PER".into()
                },
                Entity {
                    start: 1,
                    end: 2,
                    label: "PER".into()
                }
            ]
        );
        assert_eq!(
            e("O B-LOC"),
            vec![Entity {
                start: 1,
                end: 2,
                label: "LOC".into()
            }]
        );
    }

    #[test]
    fn strict_scores() {
        let gold = vec![v("B-PER I-PER O B-LOC")];
        // exact match
        assert_eq!(ner_f1(&gold, &gold), 1.0);
        // I-PER alone: no predicted PER entity; LOC right -> P=1, R=0.5
        let r = ner_report(&gold, &[v("I-PER I-PER O B-LOC")], &[]);
        assert_eq!(
            (r["precision"].as_f64(), r["recall"].as_f64()),
            (Some(1.0), Some(0.5))
        );
        // type mismatch: right boundaries, wrong type -> wrong
        let r = ner_report(&gold, &[v("B-ORG I-ORG O B-LOC")], &[]);
        assert_eq!(
            (r["precision"].as_f64(), r["recall"].as_f64()),
            (Some(0.5), Some(0.5))
        );
        assert_eq!(r["per_type"]["ORG"]["support"], 0);
        // boundary mismatch
        let r = ner_report(&gold, &[v("B-PER O O B-LOC")], &[]);
        assert_eq!(r["f1"].as_f64(), Some(0.5));
    }

    #[test]
    fn pos_report_lists_unseen_tags_as_errors() {
        let labels = v("NOUN VERB");
        let r = pos_report(&[v("NOUN VERB INTJ")], &[v("NOUN VERB NOUN")], &labels);
        assert_eq!(r["accuracy"].as_f64(), Some(0.6667));
        assert_eq!(r["unseen_tags"]["INTJ"], 1);
        assert_eq!(r["per_tag"]["INTJ"]["recall"].as_f64(), Some(0.0));
    }

    #[test]
    fn empty_input_scores_zero_without_panicking() {
        assert_eq!(pos_report(&[], &[], &[])["accuracy"].as_f64(), Some(0.0));
        assert_eq!(
            ner_report(&[vec![]], &[vec![]], &[])["f1"].as_f64(),
            Some(0.0)
        );
    }
}
