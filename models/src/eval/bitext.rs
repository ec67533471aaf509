//! Bitext retrieval: P@1 by cosine and the xSIM margin error rate, in both directions.
//!
//! xSIM follows LASER's `xsim.py` (<https://github.com/facebookresearch/LASER>, `source/xsim.py`,
//! `_score_knn`): for source `x` the candidates are its `k` nearest targets by cosine; each
//! candidate `y` is scored with the ratio margin `cos(x, y) / ((knn_x + knn_y) / 2)`, where
//! `knn_x` is the mean cosine of `x` to its `k` nearest targets and `knn_y` the mean cosine of
//! `y` to its `k` nearest sources; the error rate is the share of sources whose best-scoring
//! candidate is not their aligned line. The margin penalises "hub" sentences that are close to
//! everything, which plain cosine P@1 does not.

use serde_json::{json, Value};
use tch::Tensor;

use crate::eval::encoder::Encoder;
use crate::ModelError;

/// `a · bᵀ` as rows (`a`, `b`: `[n, d]` unit rows → `[n, m]` cosines).
pub fn similarity(a: &Tensor, b: &Tensor) -> Result<Vec<Vec<f32>>, ModelError> {
    let s = a.f_matmul(&b.f_tr()?)?;
    if s.size()[0] == 0 {
        return Ok(Vec::new());
    }
    Ok(Vec::<Vec<f32>>::try_from(&s)?)
}

/// The transpose of a rectangular matrix.
pub fn transpose(m: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let cols = m.first().map_or(0, Vec::len);
    (0..cols)
        .map(|j| m.iter().map(|r| r[j]).collect())
        .collect()
}

fn argmax(xs: impl Iterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, x) in xs.enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|b| b.0)
}

/// Share of rows `i` whose highest similarity is in column `i` (row `i` aligned with target `i`).
pub fn p_at_1(sim: &[Vec<f32>]) -> f64 {
    if sim.is_empty() {
        return 0.0;
    }
    let hits = sim
        .iter()
        .enumerate()
        .filter(|(i, row)| argmax(row.iter().map(|&x| f64::from(x))) == Some(*i))
        .count();
    hits as f64 / sim.len() as f64
}

/// Indices of the `k` largest values of `row`, best first (ties: lower index first).
fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Mean of the `k` largest values of each row.
fn knn_means(sim: &[Vec<f32>], k: usize) -> Vec<f64> {
    sim.iter()
        .map(|row| {
            let top = top_k(row, k);
            top.iter().map(|&j| f64::from(row[j])).sum::<f64>() / top.len().max(1) as f64
        })
        .collect()
}

/// For each source row, the target chosen by the xSIM ratio margin with `k` neighbours.
pub fn margin_choices(sim: &[Vec<f32>], k: usize) -> Vec<usize> {
    let n_tgt = sim.first().map_or(0, Vec::len);
    let k = k.min(n_tgt).max(1);
    let fwd = knn_means(sim, k);
    let bwd = knn_means(&transpose(sim), k);
    sim.iter()
        .enumerate()
        .map(|(i, row)| {
            let cands = top_k(row, k);
            let scores = cands.iter().map(|&j| {
                let denom = (fwd[i] + bwd[j]) / 2.0;
                f64::from(row[j]) / denom
            });
            argmax(scores).map_or(0, |c| cands[c])
        })
        .collect()
}

/// xSIM error rate: share of source rows whose margin-best target is not the aligned one.
pub fn xsim_error(sim: &[Vec<f32>], k: usize) -> f64 {
    if sim.is_empty() {
        return 0.0;
    }
    let wrong = margin_choices(sim, k)
        .iter()
        .enumerate()
        .filter(|(i, &j)| *i != j)
        .count();
    wrong as f64 / sim.len() as f64
}

/// Neighbours for the margin (LASER's default).
pub const MARGIN_K: usize = 4;

/// Embeds aligned `src`/`tgt` lines and reports P@1 and xSIM error both ways:
/// `{n, pooling, p_at_1: {src2tgt, tgt2src}, xsim_error: {src2tgt, tgt2src}, margin, k}`.
pub fn bitext_report(enc: &Encoder, src: &[&str], tgt: &[&str]) -> Result<Value, ModelError> {
    if src.len() != tgt.len() {
        return Err(ModelError::Data(format!(
            "bitext sides differ in length: {} vs {}",
            src.len(),
            tgt.len()
        )));
    }
    let a = enc.embed(src)?;
    let b = enc.embed(tgt)?;
    let s2t = similarity(&a, &b)?;
    let t2s = transpose(&s2t);
    let r = |x: f64| (x * 1e4).round() / 1e4;
    // Per-pair outcomes (1 = hit / margin error) let a sweep resample pairs for an interval.
    let hits = |sim: &[Vec<f32>]| -> Vec<u8> {
        sim.iter()
            .enumerate()
            .map(|(i, row)| u8::from(argmax(row.iter().map(|&x| f64::from(x))) == Some(i)))
            .collect()
    };
    let wrong = |sim: &[Vec<f32>]| -> Vec<u8> {
        margin_choices(sim, MARGIN_K)
            .iter()
            .enumerate()
            .map(|(i, &j)| u8::from(i != j))
            .collect()
    };
    Ok(json!({
        "n": src.len(),
        "pooling": enc.pooling(),
        "p_at_1": {"src2tgt": r(p_at_1(&s2t)), "tgt2src": r(p_at_1(&t2s))},
        "xsim_error": {"src2tgt": r(xsim_error(&s2t, MARGIN_K)), "tgt2src": r(xsim_error(&t2s, MARGIN_K))},
        "margin": "ratio",
        "k": MARGIN_K,
        "items": {
            "p_at_1.src2tgt": hits(&s2t),
            "p_at_1.tgt2src": hits(&t2s),
            "xsim_error.src2tgt": wrong(&s2t),
            "xsim_error.tgt2src": wrong(&t2s),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_at_1_counts_diagonal_argmax() {
        let sim = vec![
            vec![0.9, 0.1, 0.0],
            vec![0.2, 0.1, 0.8],
            vec![0.0, 0.3, 0.7],
        ];
        assert!((p_at_1(&sim) - 2.0 / 3.0).abs() < 1e-12);
        // Columns: c0 → row 0 (right), c1 → row 2, c2 → row 1.
        assert!((p_at_1(&transpose(&sim)) - 1.0 / 3.0).abs() < 1e-12);
    }

    /// A "hub" target (column 0) is the cosine nearest neighbour of every source; the ratio
    /// margin discounts it because it is close to everything, fixing rows 1 and 2.
    #[test]
    fn margin_demotes_hubs() {
        let sim = vec![
            vec![0.90, 0.20, 0.10],
            vec![0.85, 0.80, 0.10],
            vec![0.86, 0.10, 0.80],
        ];
        // Cosine: every row picks column 0 → only row 0 is right.
        assert!((p_at_1(&sim) - 1.0 / 3.0).abs() < 1e-12);
        // k = 2. Row means fwd: r0 (0.9+0.2)/2 = 0.55, r1 (0.85+0.8)/2 = 0.825, r2 (0.86+0.8)/2 = 0.83.
        // Column means bwd: c0 (0.9+0.86)/2 = 0.88, c1 (0.8+0.2)/2 = 0.5, c2 (0.8+0.1)/2 = 0.45.
        // Row 1: c0 → 0.85/((0.825+0.88)/2) = 0.997; c1 → 0.8/((0.825+0.5)/2) = 1.208 → picks 1.
        // Row 2: c0 → 0.86/((0.83+0.88)/2) = 1.006; c2 → 0.8/((0.83+0.45)/2) = 1.25 → picks 2.
        // Row 0: c0 → 0.9/((0.55+0.88)/2) = 1.259; c1 → 0.2/((0.55+0.5)/2) = 0.381 → picks 0.
        assert_eq!(margin_choices(&sim, 2), vec![0, 1, 2]);
        assert_eq!(xsim_error(&sim, 2), 0.0);
        // With k = 1 the candidate set is just the cosine nearest neighbour: same as P@1.
        assert!((xsim_error(&sim, 1) - 2.0 / 3.0).abs() < 1e-12);
    }
}
