//! Classification metrics: accuracy, macro-F1, per-label precision/recall/F1 and the confusion
//! matrix, as JSON. NER uses the seqeval-strict span metrics of `mavuno_stages::tag::metrics`
//! (shared with the perceptron tagger, so both report the same numbers).

use serde_json::{json, Map, Value};

use mavuno_stages::tag::metrics::{prf, round4};

/// `confusion[g][p]` = how many items with gold label `g` were predicted `p`.
pub fn confusion(gold: &[usize], pred: &[usize], n_labels: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; n_labels]; n_labels];
    for (&g, &p) in gold.iter().zip(pred) {
        if g < n_labels && p < n_labels {
            m[g][p] += 1;
        }
    }
    m
}

/// Fraction of items with `pred == gold` (0 for no items).
pub fn accuracy(gold: &[usize], pred: &[usize]) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    gold.iter().zip(pred).filter(|(g, p)| g == p).count() as f64 / gold.len() as f64
}

/// Unweighted mean of per-label F1 over labels that occur in gold or predictions (as
/// scikit-learn's `f1_score(average="macro")` over the present labels).
pub fn macro_f1(gold: &[usize], pred: &[usize], n_labels: usize) -> f64 {
    let m = confusion(gold, pred, n_labels);
    let mut sum = 0.0;
    let mut n = 0;
    for l in 0..n_labels {
        let tp = m[l][l];
        let ngold: usize = m[l].iter().sum();
        let npred: usize = m.iter().map(|row| row[l]).sum();
        if ngold + npred == 0 {
            continue;
        }
        sum += prf(tp, npred, ngold).2;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// `{accuracy, macro_f1, n, per_label: {label: {precision, recall, f1, support}},
/// confusion: {labels, matrix}}` (matrix rows are gold, columns predicted).
pub fn classification_report(gold: &[usize], pred: &[usize], labels: &[String]) -> Value {
    let n = labels.len();
    let m = confusion(gold, pred, n);
    let mut per = Map::new();
    for (l, name) in labels.iter().enumerate() {
        let ngold: usize = m[l].iter().sum();
        let npred: usize = m.iter().map(|row| row[l]).sum();
        let (p, r, f) = prf(m[l][l], npred, ngold);
        per.insert(
            name.clone(),
            json!({"precision": round4(p), "recall": round4(r), "f1": round4(f), "support": ngold}),
        );
    }
    json!({
        "accuracy": round4(accuracy(gold, pred)),
        "macro_f1": round4(macro_f1(gold, pred, n)),
        "n": gold.len(),
        "per_label": per,
        "confusion": {"labels": labels, "matrix": m},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_on_a_small_example() {
        // gold: a a b b c ; pred: a b b b a
        let gold = [0, 0, 1, 1, 2];
        let pred = [0, 1, 1, 1, 0];
        assert!((accuracy(&gold, &pred) - 0.6).abs() < 1e-12);
        // F1: a = 0.5 (p .5 r .5), b = 0.8 (p 2/3 r 1), c = 0
        let expected = (0.5 + 0.8 + 0.0) / 3.0;
        assert!((macro_f1(&gold, &pred, 3) - expected).abs() < 1e-9);
        let labels = vec!["a".to_string(), "b".into(), "c".into()];
        let r = classification_report(&gold, &pred, &labels);
        assert_eq!(r["confusion"]["matrix"][0], json!([1, 1, 0]));
        assert_eq!(r["per_label"]["b"]["support"], json!(2));
    }
}
