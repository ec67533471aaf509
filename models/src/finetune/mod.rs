//! Fine-tuning BERT-family encoders (BERT, RoBERTa, pre-LN RoBERTa such as `train_mlm`'s
//! exports) on labelled data: sequence classification, token classification (NER) and
//! Mirror-BERT contrastive tuning (see `mirror.rs`).
//!
//! The loop follows HF's `Trainer` defaults where they matter for reproducibility: AdamW with
//! decay on weight matrices only, linear warmup/decay, global-norm clipping at 1.0, shuffles
//! from a seeded ChaCha RNG and `tch::manual_seed`. After each epoch the dev set (when given) is
//! scored and the best model so far (macro-F1, or entity F1 for NER) is written as an HF
//! directory that `AutoModelForSequenceClassification` / `AutoModelForTokenClassification`
//! load (HF class and parameter names of the base's family, see `heads::TaskLayout`). Every optimizer step and epoch is logged to `<out>/metrics.jsonl`.

pub mod classifier;
pub mod data;
pub mod mirror;
pub mod optim;

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tch::{nn, Device, Reduction, Tensor};

use crate::bert::BertConfig;
use crate::eval::metrics::{accuracy, classification_report, macro_f1};
use crate::heads::{
    classifier_dropout, load_weights, task_config, SequenceClassifier, TaskLayout, TokenClassifier,
};
use crate::hf::{read_config, save_hf_dir};
use crate::ModelError;
use classifier::{argmax, classify_probs, tag_ids};
pub use classifier::{Classifier, Tagger};
use data::{
    encode_text, encode_words, load_tokenizer, pad_batch, pad_id, pad_labels, LabelledText,
    TaggedWords,
};
use optim::{linear_lr, AdamW};

/// Hyper-parameters of one fine-tuning run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainOptions {
    /// Passes over the training data.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per optimizer step.
    pub batch_size: usize,
    /// Tokens per example, specials included (longer inputs are truncated).
    pub max_len: usize,
    /// Seeds `tch::manual_seed` (head init, dropout) and the shuffles.
    pub seed: u64,
    /// Fraction of steps spent warming up.
    pub warmup_ratio: f64,
    /// Decoupled weight decay on weight matrices.
    pub weight_decay: f64,
    /// Global gradient-norm clip (0 = off).
    pub clip: f64,
    /// Stop after this many optimizer steps in total (for smoke tests and budgets).
    pub max_steps: Option<usize>,
    /// Weight each label's loss by its square-root inverse frequency in the training data
    /// ([`label_weights`]), so that rare labels (entity tags next to a sea of `O`) are not
    /// drowned out early in training.
    pub class_weighted: bool,
}

impl Default for TrainOptions {
    /// Usual BERT fine-tuning settings (Devlin et al. 2019, appendix A.3), with a short max
    /// length because CPU runs are the common case here.
    fn default() -> Self {
        Self {
            epochs: 3,
            lr: 5e-5,
            batch_size: 16,
            max_len: 128,
            seed: 42,
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            clip: 1.0,
            max_steps: None,
            class_weighted: false,
        }
    }
}

/// What a run did: per-step training losses and per-epoch dev metrics.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TrainSummary {
    /// Mean loss of each optimizer step, in order.
    pub step_losses: Vec<f64>,
    /// One JSON object per epoch (`epoch`, `train_loss`, `dev`).
    pub epochs: Vec<Value>,
    /// The best dev score (macro-F1 or entity F1), when a dev set was given.
    pub best_dev: Option<f64>,
    /// Epoch (1-based) of the saved model.
    pub best_epoch: usize,
    /// Where the model was written.
    pub out_dir: PathBuf,
}

/// Appends JSON lines to `<out>/metrics.jsonl`.
pub(crate) struct MetricsLog {
    file: std::fs::File,
    path: PathBuf,
}

impl MetricsLog {
    pub(crate) fn create(out: &Path) -> Result<Self, ModelError> {
        std::fs::create_dir_all(out).map_err(|source| ModelError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let path = out.join("metrics.jsonl");
        let file = std::fs::File::create(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Self { file, path })
    }

    pub(crate) fn write(&mut self, v: &Value) -> Result<(), ModelError> {
        writeln!(self.file, "{v}").map_err(|source| ModelError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Sorted distinct labels (sorting makes label ids independent of file order).
fn label_set<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = labels.map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

fn label_index(labels: &[String], l: &str) -> Result<usize, ModelError> {
    labels
        .iter()
        .position(|x| x == l)
        .ok_or_else(|| ModelError::Data(format!("label {l:?} not seen in training data")))
}

/// Square-root inverse-frequency label weights, `sqrt(total / (k · count_l))` for the `k`
/// labels (a label never seen gets the largest weight of the seen ones), rescaled so that the
/// count-weighted mean weight is 1 (the loss keeps its scale).
pub fn label_weights(counts: &[usize]) -> Vec<f64> {
    let total: usize = counts.iter().sum();
    let k = counts.len().max(1) as f64;
    let raw: Vec<f64> = counts
        .iter()
        .map(|&c| (total as f64 / (k * c.max(1) as f64)).sqrt())
        .collect();
    let mean = counts
        .iter()
        .zip(&raw)
        .map(|(&c, w)| c as f64 * w)
        .sum::<f64>()
        / total.max(1) as f64;
    raw.iter()
        .map(|w| w / mean.max(f64::MIN_POSITIVE))
        .collect()
}

/// The loss weight tensor of [`TrainOptions::class_weighted`], counting label ids in `ids`
/// (entries outside `0..n` such as -100 are ignored); `None` when weighting is off.
fn weight_tensor(
    opts: &TrainOptions,
    ids: impl Iterator<Item = i64>,
    n: usize,
    device: Device,
) -> Result<Option<Tensor>, ModelError> {
    if !opts.class_weighted {
        return Ok(None);
    }
    let mut counts = vec![0usize; n];
    for i in ids {
        if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    let w: Vec<f32> = label_weights(&counts).iter().map(|&x| x as f32).collect();
    Ok(Some(Tensor::f_from_slice(&w)?.f_to_device(device)?))
}

/// Number of optimizer steps for `n` examples.
pub(crate) fn planned_steps(n: usize, opts: &TrainOptions) -> usize {
    let per_epoch = n.div_ceil(opts.batch_size.max(1));
    let total = per_epoch * opts.epochs;
    opts.max_steps.map_or(total, |m| m.min(total))
}

/// Shared optimizer step: backward, clip, scheduled AdamW update.
fn optimizer_step(
    loss: &Tensor,
    opt: &mut AdamW,
    opts: &TrainOptions,
    step: usize,
    total: usize,
) -> Result<f64, ModelError> {
    loss.f_backward()?;
    opt.clip_grad_norm(opts.clip)?;
    let warmup = ((total as f64) * opts.warmup_ratio).ceil() as usize;
    let lr = linear_lr(opts.lr, step, warmup, total);
    opt.step(lr)?;
    Ok(lr)
}

/// Writes the options next to the model (STYLE.md: the run's config is on disk before step 0).
pub(crate) fn write_options(
    out: &Path,
    task: &str,
    base: &Path,
    opts: &TrainOptions,
) -> Result<(), ModelError> {
    let path = out.join("training_args.json");
    let v = json!({"task": task, "base": base, "options": opts});
    std::fs::write(&path, format!("{v:#}\n")).map_err(|source| ModelError::Io { path, source })
}

/// Dev score (macro-F1 or entity F1) and its report, when there is dev data.
type DevResult = Option<(f64, Value)>;

/// The fine-tuning loop shared by every task: seeded epoch shuffles, scheduled AdamW steps,
/// per-step and per-epoch log lines, dev scoring after each epoch and saving the best model
/// (the last one without dev data) as an HF directory.
struct Loop<'a> {
    vs: &'a nn::VarStore,
    opts: &'a TrainOptions,
    out: &'a Path,
    /// The task config.json written with the weights.
    cfg: &'a Value,
    tok_json: &'a Path,
}

impl Loop<'_> {
    /// Runs `epochs` over `n` examples. `batch_loss` gives the training loss of a batch of
    /// example indices; `dev` scores the model as it is now.
    fn run(
        &self,
        n: usize,
        mut batch_loss: impl FnMut(&[usize]) -> Result<Tensor, ModelError>,
        mut dev: impl FnMut() -> Result<DevResult, ModelError>,
        log: &mut MetricsLog,
    ) -> Result<TrainSummary, ModelError> {
        let opts = self.opts;
        let mut opt = AdamW::new(self.vs, opts.weight_decay)?;
        let total = planned_steps(n, opts);
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut summary = TrainSummary {
            out_dir: self.out.to_path_buf(),
            ..Default::default()
        };
        let mut step = 0;
        for epoch in 1..=opts.epochs {
            if step >= total {
                break;
            }
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let (mut epoch_loss, mut batches) = (0.0, 0);
            for chunk in order.chunks(opts.batch_size.max(1)) {
                if step >= total {
                    break;
                }
                let loss = batch_loss(chunk)?;
                let loss_v = loss.f_double_value(&[])?;
                let lr = optimizer_step(&loss, &mut opt, opts, step, total)?;
                step += 1;
                summary.step_losses.push(loss_v);
                epoch_loss += loss_v;
                batches += 1;
                log.write(
                    &json!({"event": "step", "epoch": epoch, "step": step, "loss": loss_v, "lr": lr}),
                )?;
            }
            let train_loss = epoch_loss / batches.max(1) as f64;
            let dev_report = dev()?;
            let record = json!({"event": "epoch", "epoch": epoch, "step": step, "train_loss": train_loss,
                                "dev": dev_report.as_ref().map(|r| r.1.clone())});
            log.write(&record)?;
            summary.epochs.push(record);
            let better = match (&dev_report, summary.best_dev) {
                (Some((s, _)), Some(best)) => *s > best,
                (Some(_), None) => true,
                // Without dev data the last epoch is kept.
                (None, _) => true,
            };
            if better {
                summary.best_dev = dev_report.as_ref().map(|r| r.0);
                summary.best_epoch = epoch;
                save_hf_dir(self.vs, self.cfg, Some(self.tok_json), self.out)?;
            }
        }
        if summary.best_epoch == 0 {
            save_hf_dir(self.vs, self.cfg, Some(self.tok_json), self.out)?;
        }
        Ok(summary)
    }
}

/// The base's raw and parsed config, its task family, and `opts` with `max_len` clamped to
/// the base's position table (a model pre-trained on short sequences has a short one; longer
/// inputs would fail inside the embeddings).
fn base_setup(
    base: &Path,
    opts: &TrainOptions,
) -> Result<(Value, BertConfig, TaskLayout, TrainOptions), ModelError> {
    let raw = read_config(base)?;
    let config = BertConfig::from_file(&base.join("config.json"))?;
    let layout = TaskLayout::of(&config)?;
    let mut opts = opts.clone();
    opts.max_len = opts.max_len.min(config.max_tokens());
    Ok((raw, config, layout, opts))
}

/// Fine-tunes a sequence classifier from the encoder in `base` on `train`, scoring `dev`
/// after each epoch, and writes the best model to `out`.
pub fn finetune_classifier(
    base: &Path,
    train: &[LabelledText],
    dev: Option<&[LabelledText]>,
    opts: &TrainOptions,
    out: &Path,
    device: Device,
) -> Result<TrainSummary, ModelError> {
    let labels = label_set(train.iter().filter_map(|e| e.label.as_deref()));
    if labels.len() < 2 {
        return Err(ModelError::Data(format!(
            "need at least two labels in the training data, found {labels:?}"
        )));
    }
    tch::manual_seed(opts.seed as i64);
    let (raw, config, layout, opts) = &base_setup(base, opts)?;
    let vs = nn::VarStore::new(device);
    let model = SequenceClassifier::new(
        &vs.root(),
        config,
        labels.len() as i64,
        classifier_dropout(raw, config),
    )?;
    // The head, and the pooler when the base is a bare encoder (or an MLM export), start fresh.
    let pooler = format!("{}.pooler.", layout.prefix);
    load_weights(&vs, &base.join("model.safetensors"), layout.prefix, |n| {
        n.starts_with("classifier.") || n.starts_with(&pooler)
    })?;
    let tok = load_tokenizer(base, opts.max_len)?;
    let mut cfg = task_config(raw, layout, &layout.sequence_architecture(), &labels);
    cfg["mavuno"] = json!({"task": "classify", "max_len": opts.max_len});

    let examples: Vec<(Vec<i64>, i64)> = train
        .iter()
        .filter_map(|e| e.label.as_deref().map(|l| (e, l)))
        .map(|(e, l)| Ok((encode_text(&tok, &e.text)?, label_index(&labels, l)? as i64)))
        .collect::<Result<_, ModelError>>()?;
    let dev_gold: Option<(Vec<&str>, Vec<usize>)> = dev.map(|d| {
        d.iter()
            .filter_map(|e| e.label.as_deref().map(|l| (e.text.as_str(), l)))
            // Dev labels unseen in training can never be predicted; count them as errors.
            .map(|(t, l)| (t, labels.iter().position(|x| x == l).unwrap_or(usize::MAX)))
            .unzip()
    });

    let mut log = MetricsLog::create(out)?;
    write_options(out, "classify", base, opts)?;
    let tok_json = base.join("tokenizer.json");
    let looped = Loop {
        vs: &vs,
        opts,
        out,
        cfg: &cfg,
        tok_json: &tok_json,
    };
    let weights = weight_tensor(opts, examples.iter().map(|e| e.1), labels.len(), device)?;
    let batch_loss = |chunk: &[usize]| -> Result<Tensor, ModelError> {
        let seqs: Vec<Vec<i64>> = chunk.iter().map(|&i| examples[i].0.clone()).collect();
        let gold: Vec<i64> = chunk.iter().map(|&i| examples[i].1).collect();
        let (ids, mask) = pad_batch(&seqs, pad_id(&tok), device)?;
        let target = Tensor::f_from_slice(&gold)?.f_to_device(device)?;
        let logits = model.forward_t(&ids, &mask, true)?;
        Ok(logits.f_cross_entropy_loss(&target, weights.as_ref(), Reduction::Mean, -100, 0.0)?)
    };
    let dev_eval = || -> Result<DevResult, ModelError> {
        let Some((texts, gold)) = &dev_gold else {
            return Ok(None);
        };
        let probs = classify_probs(&model, &tok, texts, 64, device)?;
        let pred: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
        let score = macro_f1(gold, &pred, labels.len());
        let mut rep = classification_report(gold, &pred, &labels);
        rep["accuracy"] = json!(accuracy(gold, &pred));
        Ok(Some((score, rep)))
    };
    looped.run(examples.len(), batch_loss, dev_eval, &mut log)
}

/// One encoded NER sentence: ids and a per-token label row (-100 off first subwords).
fn encode_tagged(
    tok: &mavuno_stages::tokenize::Tok,
    s: &TaggedWords,
    labels: &[String],
) -> Result<(Vec<i64>, Vec<i64>), ModelError> {
    let (ids, firsts) = encode_words(tok, &s.words)?;
    let tags = s.tags.as_deref().unwrap_or_default();
    let row = firsts
        .iter()
        .map(|f| match f.and_then(|w| tags.get(w)) {
            Some(t) => label_index(labels, t).map(|i| i as i64),
            None => Ok(-100),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ids, row))
}

/// Fine-tunes a token classifier (BIO tags) from `base`, keeping the best dev entity F1
/// (seqeval strict).
pub fn finetune_ner(
    base: &Path,
    train: &[TaggedWords],
    dev: Option<&[TaggedWords]>,
    opts: &TrainOptions,
    out: &Path,
    device: Device,
) -> Result<TrainSummary, ModelError> {
    let train: Vec<&TaggedWords> = train.iter().filter(|s| s.tags.is_some()).collect();
    let labels = label_set(
        train
            .iter()
            .flat_map(|s| s.tags.iter().flatten().map(String::as_str)),
    );
    if labels.is_empty() {
        return Err(ModelError::Data("no tagged training sentences".into()));
    }
    tch::manual_seed(opts.seed as i64);
    let (raw, config, layout, opts) = &base_setup(base, opts)?;
    let vs = nn::VarStore::new(device);
    let model = TokenClassifier::new(
        &vs.root(),
        config,
        labels.len() as i64,
        classifier_dropout(raw, config),
    )?;
    load_weights(&vs, &base.join("model.safetensors"), layout.prefix, |n| {
        n.starts_with("classifier.")
    })?;
    let tok = load_tokenizer(base, opts.max_len)?;
    let mut cfg = task_config(raw, layout, &layout.token_architecture(), &labels);
    cfg["mavuno"] = json!({"task": "ner", "max_len": opts.max_len});
    let examples: Vec<(Vec<i64>, Vec<i64>)> = train
        .iter()
        .map(|s| encode_tagged(&tok, s, &labels))
        .collect::<Result<_, _>>()?;
    let dev: Vec<&TaggedWords> = dev
        .unwrap_or_default()
        .iter()
        .filter(|s| s.tags.is_some())
        .collect();

    let mut log = MetricsLog::create(out)?;
    write_options(out, "ner", base, opts)?;
    let n_labels = labels.len() as i64;
    let tok_json = base.join("tokenizer.json");
    let looped = Loop {
        vs: &vs,
        opts,
        out,
        cfg: &cfg,
        tok_json: &tok_json,
    };
    let weights = weight_tensor(
        opts,
        examples.iter().flat_map(|e| e.1.iter().copied()),
        labels.len(),
        device,
    )?;
    let batch_loss = |chunk: &[usize]| -> Result<Tensor, ModelError> {
        let seqs: Vec<Vec<i64>> = chunk.iter().map(|&i| examples[i].0.clone()).collect();
        let rows: Vec<Vec<i64>> = chunk.iter().map(|&i| examples[i].1.clone()).collect();
        let (ids, mask) = pad_batch(&seqs, pad_id(&tok), device)?;
        let target = pad_labels(&rows, device)?.f_view([-1])?;
        // [batch, seq, labels] → [batch·seq, labels]
        let logits = model.forward_t(&ids, &mask, true)?.f_view([-1, n_labels])?;
        Ok(logits.f_cross_entropy_loss(&target, weights.as_ref(), Reduction::Mean, -100, 0.0)?)
    };
    let dev_eval = || -> Result<DevResult, ModelError> {
        if dev.is_empty() {
            return Ok(None);
        }
        let words: Vec<Vec<String>> = dev.iter().map(|s| s.words.clone()).collect();
        let gold: Vec<Vec<String>> = dev
            .iter()
            .map(|s| s.tags.clone().unwrap_or_default())
            .collect();
        let pred = ids_to_tags(&tag_ids(&model, &tok, &words, 64, device)?, &labels);
        let rep = mavuno_stages::tag::metrics::ner_report(&gold, &pred, &labels);
        let f1 = mavuno_stages::tag::metrics::ner_f1(&gold, &pred);
        Ok(Some((f1, rep)))
    };
    looped.run(examples.len(), batch_loss, dev_eval, &mut log)
}

/// Tag ids to names; words without a prediction (truncated away) become `O`.
pub fn ids_to_tags(ids: &[Vec<Option<usize>>], labels: &[String]) -> Vec<Vec<String>> {
    ids.iter()
        .map(|row| {
            row.iter()
                .map(|t| {
                    t.and_then(|t| labels.get(t).cloned())
                        .unwrap_or_else(|| "O".into())
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::label_weights;

    #[test]
    fn rare_labels_weigh_more_and_the_mean_weight_is_one() {
        // 87 O, 10 B-PER, 3 I-PER (MasakhaNER-like imbalance).
        let counts = [87, 10, 3];
        let w = label_weights(&counts);
        assert!(w[0] < w[1] && w[1] < w[2], "{w:?}");
        // sqrt of the inverse-frequency ratio between O and I-PER.
        assert!((w[2] / w[0] - (87.0f64 / 3.0).sqrt()).abs() < 1e-9);
        let mean: f64 = counts
            .iter()
            .zip(&w)
            .map(|(&c, x)| c as f64 * x)
            .sum::<f64>()
            / 100.0;
        assert!((mean - 1.0).abs() < 1e-9);
        // Equal counts: all ones.
        assert!(label_weights(&[5, 5])
            .iter()
            .all(|x| (x - 1.0).abs() < 1e-12));
    }
}
