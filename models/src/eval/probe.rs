//! Frozen-feature linear POS probe: how much part-of-speech information an encoder's last
//! layer holds, the probing measure CLIMB-style studies report beside pseudo-perplexity.
//!
//! The encoder is frozen. Each word is represented by the last hidden state of its first
//! subword (the token that carries a word's label in HF token classification). A
//! multinomial logistic regression (one linear layer, softmax, no hidden layer) is trained on
//! the training sentences' word vectors and scored on the test sentences'. Because the
//! problem is convex and the weights start at zero, the fit does not depend on a seed.
//!
//! Sentences longer than the model's input are cut into windows at word boundaries, so every
//! word gets a vector (in a shorter context) instead of being truncated away. A word the
//! tokenizer turns into no token at all has no vector; such words are counted under
//! `unencoded_words` and left out of both training and scoring.

use std::path::Path;

use serde_json::{json, Value};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Reduction, Tensor};

use crate::bert::load_bert;
use crate::eval::metrics::classification_report;
use crate::finetune::data::{encode_words, load_tokenizer, pad_batch, pad_id, TaggedWords};
use crate::ModelError;
use mavuno_stages::tag::metrics::round4;
use mavuno_stages::tokenize::Tok;

/// Full-batch Adam steps of the probe fit (enough to converge on standardised features).
const STEPS: usize = 300;
/// Adam learning rate of the probe fit.
const LR: f64 = 0.05;
/// L2 penalty on the probe weights (keeps a separable training set from diverging).
const L2: f64 = 1e-4;

/// One window of a sentence: token ids and, per token, the sentence-level word index it
/// starts (first subwords only).
struct Window {
    ids: Vec<i64>,
    firsts: Vec<Option<usize>>,
}

/// Cuts `words` into windows whose encodings (specials included) fit `max_len` tokens.
fn windows(tok: &mut Tok, words: &[String], max_len: usize) -> Result<Vec<Window>, ModelError> {
    let tk = |e: mavuno_stages::tokenize::TokenizeError| ModelError::Tokenizer(e.to_string());
    tok.max_len = None;
    let (_, wids) = tok.encode_words(words).map_err(tk)?;
    let specials = wids.iter().filter(|w| w.is_none()).count();
    let budget = max_len.saturating_sub(specials).max(1);
    let mut len = vec![0usize; words.len()];
    for w in wids.iter().flatten() {
        len[*w as usize] += 1;
    }
    // Greedy packing: a window closes when the next word would overflow it.
    let mut bounds = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &l) in len.iter().enumerate() {
        if used + l > budget && i > start {
            bounds.push((start, i));
            (start, used) = (i, 0);
        }
        used += l;
    }
    if start < words.len() {
        bounds.push((start, words.len()));
    }
    tok.max_len = Some(max_len);
    bounds
        .into_iter()
        .map(|(a, b)| {
            let (ids, firsts) = encode_words(tok, &words[a..b])?;
            Ok(Window {
                ids,
                firsts: firsts.into_iter().map(|f| f.map(|w| w + a)).collect(),
            })
        })
        .collect()
}

/// Word vectors of `sents`: a `[n, hidden]` float tensor on the CPU, and per sentence the
/// row of each word (`None` for a word with no token).
struct Features {
    x: Tensor,
    rows: Vec<Vec<Option<usize>>>,
}

fn features(
    dir: &Path,
    sents: &[&TaggedWords],
    max_len: usize,
    batch_size: usize,
    device: Device,
) -> Result<Features, ModelError> {
    let bert = load_bert(dir, device)?;
    let mut tok = load_tokenizer(dir, max_len)?;
    let pad = pad_id(&tok);
    let mut wins: Vec<(usize, Window)> = Vec::new();
    for (s, sent) in sents.iter().enumerate() {
        for w in windows(&mut tok, &sent.words, max_len)? {
            wins.push((s, w));
        }
    }
    let _guard = tch::no_grad_guard();
    let mut rows: Vec<Vec<Option<usize>>> =
        sents.iter().map(|s| vec![None; s.words.len()]).collect();
    let mut parts = Vec::new();
    let mut n = 0usize;
    for chunk in wins.chunks(batch_size.max(1)) {
        let seqs: Vec<Vec<i64>> = chunk.iter().map(|(_, w)| w.ids.clone()).collect();
        let (ids, mask) = pad_batch(&seqs, pad, device)?;
        let hidden = bert.model.forward_t(&ids, Some(&mask), None, false)?;
        let (b, t, h) = hidden.size3()?;
        let flat = hidden.f_reshape([b * t, h])?;
        let mut pick = Vec::new();
        for (bi, (s, w)) in chunk.iter().enumerate() {
            for (ti, f) in w.firsts.iter().enumerate() {
                if let Some(word) = f {
                    pick.push(bi as i64 * t + ti as i64);
                    rows[*s][*word] = Some(n);
                    n += 1;
                }
            }
        }
        if !pick.is_empty() {
            let idx = Tensor::f_from_slice(&pick)?.f_to_device(device)?;
            parts.push(
                flat.f_index_select(0, &idx)?
                    .f_to_kind(Kind::Float)?
                    .f_to_device(Device::Cpu)?,
            );
        }
    }
    let x = if parts.is_empty() {
        Tensor::f_zeros([0, bert.config.hidden_size], (Kind::Float, Device::Cpu))?
    } else {
        Tensor::f_cat(&parts, 0)?
    };
    Ok(Features { x, rows })
}

/// Gathers the labelled rows of `f`: feature row indices and label ids (`usize::MAX` for a
/// tag not in `labels`), plus per sentence the range of its entries.
fn labelled(
    rows: &[Vec<Option<usize>>],
    sents: &[&TaggedWords],
    labels: &[String],
) -> (Vec<i64>, Vec<usize>, Vec<std::ops::Range<usize>>) {
    let (mut idx, mut gold, mut spans) = (Vec::new(), Vec::new(), Vec::new());
    for (s, sent) in sents.iter().enumerate() {
        let start = idx.len();
        let tags = sent.tags.as_deref().unwrap_or_default();
        for (w, tag) in tags.iter().enumerate() {
            if let Some(r) = rows[s][w] {
                idx.push(r as i64);
                gold.push(labels.iter().position(|l| l == tag).unwrap_or(usize::MAX));
            }
        }
        spans.push(start..idx.len());
    }
    (idx, gold, spans)
}

/// Trains the probe on `train` and scores it on `test` (both with `tags` = POS tags).
///
/// The report has `accuracy`, `macro_f1`, per-label scores and the confusion matrix over the
/// test words (tags unseen in training count as errors, under `unknown_test_tags`),
/// `sentence_accuracy` with its per-sentence `items` (for paired comparisons),
/// `train_accuracy`, `majority_baseline` (the most frequent training tag everywhere) and the
/// word counts.
pub fn pos_probe_report(
    dir: &Path,
    train: &[&TaggedWords],
    test: &[&TaggedWords],
    max_len: usize,
    batch_size: usize,
    device: Device,
) -> Result<Value, ModelError> {
    let all: Vec<&TaggedWords> = train.iter().chain(test).copied().collect();
    let f = features(dir, &all, max_len, batch_size, device)?;
    let (tr, te) = all.split_at(train.len());
    let mut labels: Vec<String> = tr
        .iter()
        .flat_map(|s| s.tags.iter().flatten().cloned())
        .collect();
    labels.sort();
    labels.dedup();
    if labels.len() < 2 {
        return Err(ModelError::Data(format!(
            "pos_probe: the training sentences carry {} distinct tag(s); a probe needs 2",
            labels.len()
        )));
    }
    let (tr_rows, te_rows) = f.rows.split_at(train.len());
    let (tr_idx, tr_gold, _) = labelled(tr_rows, tr, &labels);
    let (te_idx, te_gold, spans) = labelled(te_rows, te, &labels);
    if tr_idx.is_empty() || te_idx.is_empty() {
        return Err(ModelError::Data(
            "pos_probe: no encodable words in the training or the test sentences".into(),
        ));
    }
    let pick = |idx: &[i64]| -> Result<Tensor, ModelError> {
        Ok(f.x.f_index_select(0, &Tensor::f_from_slice(idx)?)?)
    };
    let (x_tr, x_te) = (pick(&tr_idx)?, pick(&te_idx)?);
    // Standardise with the training statistics so one learning rate suits every encoder.
    let mean = x_tr.f_mean_dim(0, false, Kind::Float)?;
    let sd = x_tr.f_std_dim(0, false, false)?.f_clamp_min(1e-6)?;
    let norm = |x: &Tensor| -> Result<Tensor, ModelError> { Ok(x.f_sub(&mean)?.f_div(&sd)?) };
    let (x_tr, x_te) = (norm(&x_tr)?, norm(&x_te)?);
    let y: Vec<i64> = tr_gold.iter().map(|&g| g as i64).collect();
    let y = Tensor::f_from_slice(&y)?;

    let vs = nn::VarStore::new(Device::Cpu);
    let (h, c) = (x_tr.size2()?.1, labels.len() as i64);
    let w = vs.root().f_zeros("w", &[h, c])?;
    let b = vs.root().f_zeros("b", &[c])?;
    let mut opt = nn::Adam::default().build(&vs, LR)?;
    let logits = |x: &Tensor| -> Result<Tensor, ModelError> { Ok(x.f_matmul(&w)?.f_add(&b)?) };
    for _ in 0..STEPS {
        let loss = logits(&x_tr)?
            .f_cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0)?
            .f_add(&w.f_square()?.f_sum(Kind::Float)?.f_mul_scalar(L2)?)?;
        opt.zero_grad();
        loss.f_backward()?;
        opt.step();
    }
    let _guard = tch::no_grad_guard();
    let predict = |x: &Tensor| -> Result<Vec<usize>, ModelError> {
        let p = logits(x)?.f_argmax(1, false)?;
        Ok(Vec::<i64>::try_from(&p)?
            .into_iter()
            .map(|v| v as usize)
            .collect())
    };
    let (pred_tr, pred_te) = (predict(&x_tr)?, predict(&x_te)?);
    let train_acc = crate::eval::metrics::accuracy(&tr_gold, &pred_tr);
    let sentence: Vec<f64> = spans
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| {
            let ok = r.clone().filter(|&i| te_gold[i] == pred_te[i]).count();
            ok as f64 / r.len() as f64
        })
        .collect();
    let mut counts = vec![0usize; labels.len()];
    for &g in &tr_gold {
        counts[g] += 1;
    }
    let majority = (0..labels.len()).max_by_key(|&l| (counts[l], std::cmp::Reverse(l)));
    let majority_acc = majority.map_or(0.0, |m| {
        te_gold.iter().filter(|&&g| g == m).count() as f64 / te_gold.len() as f64
    });
    let unencoded = |ss: &[&TaggedWords], rows: &[Vec<Option<usize>>]| -> usize {
        ss.iter()
            .zip(rows)
            .map(|(s, r)| r.iter().take(s.words.len()).filter(|x| x.is_none()).count())
            .sum()
    };
    let mut rep = classification_report(&te_gold, &pred_te, &labels);
    rep["sentence_accuracy"] =
        round4(sentence.iter().sum::<f64>() / sentence.len().max(1) as f64).into();
    rep["train_accuracy"] = round4(train_acc).into();
    rep["majority_baseline"] = round4(majority_acc).into();
    rep["unknown_test_tags"] = te_gold.iter().filter(|&&g| g == usize::MAX).count().into();
    rep["train_sentences"] = train.len().into();
    rep["test_sentences"] = test.len().into();
    rep["train_words"] = tr_gold.len().into();
    rep["test_words"] = te_gold.len().into();
    rep["unencoded_words"] = (unencoded(tr, tr_rows) + unencoded(te, te_rows)).into();
    rep["probe"] =
        json!({"features": "last layer, first subword", "steps": STEPS, "lr": LR, "l2": L2});
    rep["items"] = json!({ "sentence_accuracy": sentence });
    Ok(rep)
}
