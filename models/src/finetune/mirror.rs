//! Mirror-BERT contrastive tuning (Liu et al., EMNLP 2021; <https://github.com/cambridgeltl/mirror-bert>):
//! turns an MLM encoder into a sentence encoder without labels.
//!
//! Each sentence is paired with itself; the second view has a random 5-character span
//! replaced by the mask token when the sentence has at least 30 characters, and both views go
//! through the encoder with dropout on (dropout is the other augmentation). [CLS] states are
//! L2-normalised and trained with InfoNCE at τ = 0.04 over in-batch negatives (both views of
//! all other sentences). Defaults are the paper's: batch 200, lr 2e-5, max_len 50, 1 epoch
//! (SEEDS.md §5).

use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tch::{Device, Kind, Reduction, Tensor};

use crate::eval::encoder::{Encoder, Pooling};
use crate::finetune::optim::{linear_lr, AdamW};
use crate::finetune::{MetricsLog, TrainOptions, TrainSummary};
use crate::heads::l2_normalize;
use crate::hf::{read_config, save_hf_dir};
use crate::ModelError;

/// InfoNCE temperature (Mirror-BERT).
pub const TEMPERATURE: f64 = 0.04;
/// Characters replaced by the mask token in view 2.
pub const SPAN_CHARS: usize = 5;
/// Only sentences at least this long (characters) get the masked span.
pub const MIN_CHARS_FOR_SPAN: usize = 30;

/// Paper defaults: batch 200, lr 2e-5, max_len 50, 1 epoch, no warmup, no decay.
pub fn default_options() -> TrainOptions {
    TrainOptions {
        epochs: 1,
        lr: 2e-5,
        batch_size: 200,
        max_len: 50,
        seed: 42,
        warmup_ratio: 0.0,
        weight_decay: 0.0,
        clip: 1.0,
        max_steps: None,
        class_weighted: false,
    }
}

/// Batch size actually used for `n` sentences: the requested one, but small enough that a
/// small input still gives at least 8 steps (a single 200-sentence batch would barely move the
/// encoder), and at least 2 (InfoNCE needs negatives).
pub fn scaled_batch(requested: usize, n: usize) -> usize {
    requested.min((n / 8).max(2)).max(2)
}

/// View 2: a random span of [`SPAN_CHARS`] characters replaced by `mask`, for sentences of at
/// least [`MIN_CHARS_FOR_SPAN`] characters; shorter ones are returned unchanged.
pub fn mask_span(text: &str, mask: &str, rng: &mut impl Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < MIN_CHARS_FOR_SPAN {
        return text.to_string();
    }
    let start = rng.random_range(0..=chars.len() - SPAN_CHARS);
    let mut out: String = chars[..start].iter().collect();
    out.push_str(mask);
    out.extend(&chars[start + SPAN_CHARS..]);
    out
}

/// InfoNCE over two views: `z1`, `z2` `[batch, hidden]` (unit rows); row `i` of each view is
/// the positive of row `i` of the other, all other `2·batch − 2` rows are negatives.
pub fn info_nce(z1: &Tensor, z2: &Tensor, temperature: f64) -> Result<Tensor, ModelError> {
    let b = z1.size()[0];
    let z = Tensor::f_cat(&[z1, z2], 0)?; // [2b, hidden]
    let sim = z.f_matmul(&z.f_tr()?)?.f_div_scalar(temperature)?; // [2b, 2b]
                                                                  // A row must not pick itself; a large negative (not -inf) keeps the softmax finite.
    let eye = Tensor::f_eye(2 * b, (Kind::Bool, z.device()))?;
    let sim = sim.f_masked_fill(&eye, -1e9)?;
    let targets = Tensor::f_cat(
        &[
            Tensor::f_arange_start(b, 2 * b, (Kind::Int64, z.device()))?,
            Tensor::f_arange(b, (Kind::Int64, z.device()))?,
        ],
        0,
    )?;
    Ok(sim.f_cross_entropy_loss::<Tensor>(&targets, None, Reduction::Mean, -100, 0.0)?)
}

/// Tunes the encoder in `base` on `texts` and writes it (bare `BertModel` layout, loadable by
/// `AutoModel` and [`Encoder::load`]) to `out`.
pub fn mirror_bert(
    base: &Path,
    texts: &[String],
    opts: &TrainOptions,
    out: &Path,
    device: Device,
) -> Result<TrainSummary, ModelError> {
    let texts: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
        .collect();
    if texts.len() < 2 {
        return Err(ModelError::Data(
            "Mirror-BERT needs at least two sentences".into(),
        ));
    }
    tch::manual_seed(opts.seed as i64);
    let enc = Encoder::load(base, device, Pooling::Cls)?.with_max_len(opts.max_len);
    let mask = enc
        .tokenizer()
        .inner
        .id_to_token(enc.tokenizer().vocab.mask_id)
        .ok_or_else(|| ModelError::Tokenizer("mask id has no token".into()))?;
    let batch = scaled_batch(opts.batch_size, texts.len());
    let opts_used = TrainOptions {
        batch_size: batch,
        ..opts.clone()
    };
    let mut log = MetricsLog::create(out)?;
    crate::finetune::write_options(out, "mirror", base, &opts_used)?;
    let mut opt = AdamW::new(&enc.vs, opts.weight_decay)?;
    let total = crate::finetune::planned_steps(texts.len(), &opts_used);
    let warmup = ((total as f64) * opts.warmup_ratio).ceil() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut summary = TrainSummary {
        out_dir: out.to_path_buf(),
        ..Default::default()
    };
    let mut step = 0;
    for epoch in 1..=opts.epochs {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.shuffle(&mut rng);
        for chunk in order.chunks(batch) {
            // A trailing batch of one has no negatives.
            if step >= total || chunk.len() < 2 {
                break;
            }
            let v1: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let v2s: Vec<String> = v1.iter().map(|t| mask_span(t, &mask, &mut rng)).collect();
            let v2: Vec<&str> = v2s.iter().map(String::as_str).collect();
            let (ids1, m1) = enc.batch(&v1)?;
            let (ids2, m2) = enc.batch(&v2)?;
            let z1 = l2_normalize(&enc.forward_pooled(&ids1, &m1, true)?)?;
            let z2 = l2_normalize(&enc.forward_pooled(&ids2, &m2, true)?)?;
            let loss = info_nce(&z1, &z2, TEMPERATURE)?;
            let loss_v = loss.f_double_value(&[])?;
            loss.f_backward()?;
            opt.clip_grad_norm(opts.clip)?;
            let lr = linear_lr(opts.lr, step, warmup, total);
            // Mirror-BERT uses a constant lr; with warmup_ratio 0 `linear_lr` decays linearly,
            // so keep the peak when no warmup was asked for.
            let lr = if opts.warmup_ratio == 0.0 {
                opts.lr
            } else {
                lr
            };
            opt.step(lr)?;
            step += 1;
            summary.step_losses.push(loss_v);
            log.write(&json!({"event": "step", "epoch": epoch, "step": step, "loss": loss_v, "lr": lr, "batch": chunk.len()}))?;
        }
    }
    let mut cfg = read_config(base)?;
    if let Some(o) = cfg.as_object_mut() {
        o.insert("architectures".into(), json!(["BertModel"]));
        o.insert(
            "mavuno".into(),
            json!({"task": "mirror", "pooling": "cls", "max_len": opts.max_len}),
        );
    }
    save_hf_dir(&enc.vs, &cfg, Some(&base.join("tokenizer.json")), out)?;
    summary.best_epoch = opts.epochs;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_mask_only_on_long_sentences() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(mask_span("short one", "[MASK]", &mut rng), "short one");
        let long = "this sentence is certainly longer than thirty characters";
        let v = mask_span(long, "[MASK]", &mut rng);
        assert!(v.contains("[MASK]"));
        assert_eq!(v.chars().count(), long.chars().count() - SPAN_CHARS + 6);
    }

    #[test]
    fn info_nce_is_low_for_matching_views() {
        let z = l2_normalize(&Tensor::eye(4, (Kind::Float, Device::Cpu))).unwrap();
        let good = info_nce(&z, &z, TEMPERATURE).unwrap().double_value(&[]);
        let shuffled = z.index_select(0, &Tensor::from_slice(&[1i64, 0, 3, 2]));
        let bad = info_nce(&z, &shuffled, TEMPERATURE)
            .unwrap()
            .double_value(&[]);
        assert!(good < 1e-3, "{good}");
        assert!(bad > 1.0, "{bad}");
    }

    #[test]
    fn batch_scales_down_for_small_inputs() {
        assert_eq!(scaled_batch(200, 10_000), 200);
        assert_eq!(scaled_batch(200, 400), 50);
        assert_eq!(scaled_batch(200, 5), 2);
    }
}
