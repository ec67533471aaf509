//! Word-level victims: Kim (2014) CNN — embeddings → conv widths 3/4/5 × 100 filters → ReLU →
//! max-pool over time → dropout → linear — and a BiLSTM (embeddings → BiLSTM → masked max-pool →
//! dropout → linear), as in the paper's WordCNN/WordLSTM victims (SEEDS.md §3.2) but with
//! embeddings learned from scratch (no GloVe exists for most of our languages).
//!
//! Parameter names follow PyTorch (`embedding.weight`, `convs.0.weight`, `lstm.weight_ih_l0`,
//! `lstm.weight_ih_l0_reverse`, `fc.weight`), so a Python script can load `model.safetensors`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::attack::Victim;
use crate::layers::Linear;
use crate::ModelError;

const FORMAT: &str = "mavuno-word-victim-1";
const PAD: i64 = 0;
const UNK: i64 = 1;

/// Architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Kim-2014 CNN.
    Cnn,
    /// Single-layer bidirectional LSTM.
    Bilstm,
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cnn" => Ok(Arch::Cnn),
            "bilstm" | "lstm" => Ok(Arch::Bilstm),
            _ => Err(format!("unknown victim architecture {s:?} (cnn or bilstm)")),
        }
    }
}

/// Hyperparameters and data options; also the saved `victim.json` (with `labels`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Architecture.
    pub arch: Arch,
    /// Embedding size.
    pub emb_dim: i64,
    /// CNN window widths.
    pub widths: Vec<i64>,
    /// CNN filters per width.
    pub filters: i64,
    /// LSTM hidden size per direction (paper: 150).
    pub hidden: i64,
    /// Dropout before the classifier.
    pub dropout: f64,
    /// Epochs (the best dev epoch is kept when a dev set is given).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Words seen fewer times than this in training map to `<unk>`.
    pub min_count: usize,
    /// Vocabulary cap (most frequent first; paper: 20 k).
    pub max_vocab: usize,
    /// Words per text kept (the rest is cut).
    pub max_len: usize,
    /// Seed for init, dropout and shuffling.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            arch: Arch::Cnn,
            emb_dim: 128,
            widths: vec![3, 4, 5],
            filters: 100,
            hidden: 150,
            dropout: 0.5,
            epochs: 10,
            batch_size: 32,
            lr: 1e-3,
            min_count: 1,
            max_vocab: 20_000,
            max_len: 128,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedConfig {
    format: String,
    labels: Vec<String>,
    vocab_size: i64,
    #[serde(flatten)]
    opts: TrainOptions,
}

/// What training did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Training examples.
    pub train_examples: usize,
    /// Vocabulary size (with `<pad>`, `<unk>`).
    pub vocab_size: usize,
    /// Mean training loss per epoch.
    pub train_loss: Vec<f64>,
    /// Dev accuracy per epoch (empty without dev).
    pub dev_accuracy: Vec<f64>,
    /// Epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
    /// Dev accuracy of the kept weights.
    pub best_dev_accuracy: Option<f64>,
    /// Dev accuracy of always predicting the most frequent training label.
    pub dev_majority_accuracy: Option<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The network; parameters live in the owner's VarStore.
#[derive(Debug)]
struct Net {
    embedding: Tensor,
    convs: Vec<(Tensor, Tensor)>,
    /// `w_ih, w_hh, b_ih, b_hh` forward then reverse, PyTorch's `_flat_weights` order.
    lstm: Vec<Tensor>,
    fc: Linear,
    arch: Arch,
    hidden: i64,
    dropout: f64,
}

impl Net {
    fn new(p: &nn::Path, o: &TrainOptions, vocab: i64, classes: i64) -> Result<Self, ModelError> {
        let uni = |fan_in: i64| {
            let b = 1.0 / (fan_in as f64).sqrt();
            Init::Uniform { lo: -b, up: b }
        };
        let embedding = (p / "embedding").f_var(
            "weight",
            &[vocab, o.emb_dim],
            Init::Randn {
                mean: 0.0,
                stdev: 0.1,
            },
        )?;
        let mut convs = Vec::new();
        let mut lstm = Vec::new();
        let feat = match o.arch {
            Arch::Cnn => {
                let cp = p / "convs";
                for (i, &w) in o.widths.iter().enumerate() {
                    let fan = o.emb_dim * w;
                    let q = &cp / i;
                    convs.push((
                        q.f_var("weight", &[o.filters, o.emb_dim, w], uni(fan))?,
                        q.f_var("bias", &[o.filters], uni(fan))?,
                    ));
                }
                o.filters * o.widths.len() as i64
            }
            Arch::Bilstm => {
                let lp = p / "lstm";
                let h = o.hidden;
                for suffix in ["", "_reverse"] {
                    lstm.push(lp.f_var(
                        &format!("weight_ih_l0{suffix}"),
                        &[4 * h, o.emb_dim],
                        uni(h),
                    )?);
                    lstm.push(lp.f_var(&format!("weight_hh_l0{suffix}"), &[4 * h, h], uni(h))?);
                    lstm.push(lp.f_var(&format!("bias_ih_l0{suffix}"), &[4 * h], uni(h))?);
                    lstm.push(lp.f_var(&format!("bias_hh_l0{suffix}"), &[4 * h], uni(h))?);
                }
                2 * h
            }
        };
        let fc = Linear::new(&(p / "fc"), feat, classes, uni(feat))?;
        Ok(Self {
            embedding,
            convs,
            lstm,
            fc,
            arch: o.arch,
            hidden: o.hidden,
            dropout: o.dropout,
        })
    }

    /// `ids`: `[batch, seq]` (0 = padding, only at the end of a row) → logits
    /// `[batch, classes]`.
    ///
    /// A row's logits do not depend on how much padding its batch added: the CNN max-pools
    /// only over windows that start inside the text (the first window when the text is shorter
    /// than the filter), and the BiLSTM runs its reverse direction over each row reversed
    /// within its own length (what PyTorch's packed sequences do), then max-pools over the
    /// text's positions. Without this, the same text got different probabilities in different
    /// batches, and attack results changed with the batch size.
    fn forward_t(&self, ids: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let x = Tensor::f_embedding(&self.embedding, ids, PAD, false, false)?;
        let dev = ids.device();
        let (b, t) = (ids.size()[0], ids.size()[1]);
        let lens = ids
            .f_ne(PAD)?
            .f_sum_dim_intlist(1, false, Kind::Int64)?
            .f_unsqueeze(1)?; // [B, 1]
        let feats = match self.arch {
            Arch::Cnn => {
                let xt = x.f_transpose(1, 2)?; // [B, D, T]
                let pooled = self
                    .convs
                    .iter()
                    .map(|(w, bias)| -> Result<Tensor, ModelError> {
                        let width = w.size()[2];
                        let c = xt.f_conv1d(w, Some(bias), [1], [0], [1], 1)?.f_relu()?;
                        // Window k covers tokens k..k+width; valid when k <= max(len, width) - width.
                        let starts =
                            Tensor::f_arange(t - width + 1, (Kind::Int64, dev))?.f_unsqueeze(0)?;
                        let last = lens.f_clamp_min(width)?.f_sub_scalar(width)?;
                        let outside = starts.f_gt_tensor(&last)?.f_unsqueeze(1)?;
                        // After ReLU every value is >= 0, so -1 never wins the max.
                        Ok(c.f_masked_fill(&outside, -1.0)?.f_amax([2], false)?)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Tensor::f_cat(&pooled, 1)?
            }
            Arch::Bilstm => {
                let z = Tensor::f_zeros([1, b, self.hidden], (Kind::Float, dev))?;
                let run = |input: &Tensor, weights: &[Tensor]| -> Result<Tensor, ModelError> {
                    let (out, _, _) = input.f_lstm(
                        &[&z, &z],
                        &weights.iter().collect::<Vec<_>>(),
                        true,
                        1,
                        0.0,
                        train,
                        false,
                        true,
                    )?;
                    Ok(out)
                };
                // Reverse each row within its length; padding stays at the end.
                let pos = Tensor::f_arange(t, (Kind::Int64, dev))?.f_unsqueeze(0)?;
                let inside = pos.f_lt_tensor(&lens)?.f_to_kind(Kind::Int64)?;
                let mirrored = lens.f_sub_scalar(1)?.f_sub(&pos)?;
                let rev = inside
                    .f_mul(&mirrored)?
                    .f_add(&inside.f_neg()?.f_add_scalar(1)?.f_mul(&pos)?)?;
                let d = x.size()[2];
                let x_rev =
                    x.f_gather(1, &rev.f_unsqueeze(-1)?.f_expand([b, t, d], false)?, false)?;
                let fwd = run(&x, &self.lstm[..4])?;
                let bwd = run(&x_rev, &self.lstm[4..])?;
                // Masked max over time: padding positions never win.
                let pad = ids.f_eq(PAD)?.f_unsqueeze(-1)?;
                Tensor::f_cat(&[fwd, bwd], 2)?
                    .f_masked_fill(&pad, -1e4)?
                    .f_amax([1], false)?
            }
        };
        self.fc.f_forward(&feats.f_dropout(self.dropout, train)?)
    }
}

/// A trained word-level victim.
#[derive(Debug)]
pub struct WordVictim {
    vs: nn::VarStore,
    net: Net,
    vocab: HashMap<String, i64>,
    words: Vec<String>,
    labels: Vec<String>,
    opts: TrainOptions,
    /// Texts per forward pass in `predict_proba`.
    pub batch_size: usize,
}

/// Lowercased words of `text` under the shared segmentation.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    mavuno_stages::text::segment::words(text)
        .into_iter()
        .map(move |(s, e)| text[s..e].to_lowercase())
}

impl WordVictim {
    fn encode(&self, texts: &[&str]) -> Result<Tensor, ModelError> {
        let min_len = self.opts.widths.iter().copied().max().unwrap_or(1).max(1) as usize;
        let rows: Vec<Vec<i64>> = texts
            .iter()
            .map(|t| {
                tokens(t)
                    .take(self.opts.max_len)
                    .map(|w| self.vocab.get(&w).copied().unwrap_or(UNK))
                    .collect()
            })
            .collect();
        let seq = rows.iter().map(Vec::len).max().unwrap_or(0).max(min_len);
        let mut flat = Vec::with_capacity(rows.len() * seq);
        for r in &rows {
            flat.extend_from_slice(r);
            flat.extend(std::iter::repeat_n(PAD, seq - r.len()));
        }
        Ok(Tensor::from_slice(&flat)
            .f_view([rows.len() as i64, seq as i64])?
            .f_to_device(self.vs.device())?)
    }

    /// Trains on `train` (`(text, label)`), keeping the best dev epoch when `dev` is given.
    pub fn train(
        train: &[(String, String)],
        dev: Option<&[(String, String)]>,
        opts: TrainOptions,
        device: Device,
    ) -> Result<(Self, TrainReport), ModelError> {
        let start = Instant::now();
        if train.is_empty() {
            return Err(ModelError::InvalidConfig("no training examples".into()));
        }
        tch::manual_seed(opts.seed as i64);
        let mut labels: Vec<String> = train.iter().map(|(_, l)| l.clone()).collect();
        labels.sort();
        labels.dedup();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (t, _) in train {
            for w in tokens(t) {
                *counts.entry(w).or_default() += 1;
            }
        }
        let mut freq: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= opts.min_count)
            .collect();
        freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        freq.truncate(opts.max_vocab.saturating_sub(2));
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(freq.into_iter().map(|(w, _)| w));
        let victim = Self::build(words, labels, opts, device)?;
        let label_id = |l: &str| victim.labels.iter().position(|x| x == l);
        let ys: Vec<i64> = train
            .iter()
            .map(|(_, l)| label_id(l).unwrap_or(0) as i64)
            .collect();
        let mut opt = nn::Adam::default().build(&victim.vs, victim.opts.lr)?;
        let mut rng = ChaCha8Rng::seed_from_u64(victim.opts.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut report = TrainReport {
            train_examples: train.len(),
            vocab_size: victim.words.len(),
            train_loss: Vec::new(),
            dev_accuracy: Vec::new(),
            best_epoch: victim.opts.epochs,
            best_dev_accuracy: None,
            dev_majority_accuracy: None,
            seconds: 0.0,
        };
        let mut best: Option<(f64, Vec<(String, Tensor)>)> = None;
        for epoch in 0..victim.opts.epochs {
            order.shuffle(&mut rng);
            let (mut total, mut batches) = (0f64, 0usize);
            for chunk in order.chunks(victim.opts.batch_size.max(1)) {
                let texts: Vec<&str> = chunk.iter().map(|&i| train[i].0.as_str()).collect();
                let y: Vec<i64> = chunk.iter().map(|&i| ys[i]).collect();
                let ids = victim.encode(&texts)?;
                let y = Tensor::from_slice(&y).f_to_device(device)?;
                let loss = victim
                    .net
                    .forward_t(&ids, true)?
                    .f_cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Mean, -100, 0.0)?;
                opt.backward_step(&loss);
                total += loss.f_double_value(&[])?;
                batches += 1;
            }
            report.train_loss.push(total / batches.max(1) as f64);
            if let Some(dev) = dev {
                let acc = victim.accuracy(dev)?;
                report.dev_accuracy.push(acc);
                if best.as_ref().is_none_or(|(b, _)| acc > *b) {
                    let snap = victim
                        .vs
                        .variables()
                        .into_iter()
                        .map(|(k, v)| Ok((k, v.f_detach_copy()?)))
                        .collect::<Result<Vec<_>, ModelError>>()?;
                    best = Some((acc, snap));
                    report.best_epoch = epoch + 1;
                }
            }
        }
        if let Some((acc, snap)) = best {
            let vars = victim.vs.variables();
            let _g = tch::no_grad_guard();
            for (k, v) in snap {
                if let Some(mut var) = vars.get(&k).map(Tensor::shallow_clone) {
                    var.f_copy_(&v)?;
                }
            }
            report.best_dev_accuracy = Some(acc);
        }
        if let Some(dev) = dev {
            let mut by: HashMap<&str, usize> = HashMap::new();
            for (_, l) in train {
                *by.entry(l.as_str()).or_default() += 1;
            }
            let major = by
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)));
            let major = major.map(|(l, _)| l).unwrap_or_default();
            let hits = dev.iter().filter(|(_, l)| l == major).count();
            report.dev_majority_accuracy = Some(hits as f64 / dev.len().max(1) as f64);
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok((victim, report))
    }

    fn build(
        words: Vec<String>,
        labels: Vec<String>,
        opts: TrainOptions,
        device: Device,
    ) -> Result<Self, ModelError> {
        let vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root(), &opts, words.len() as i64, labels.len() as i64)?;
        let vocab = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        Ok(Self {
            vs,
            net,
            vocab,
            words,
            labels,
            opts,
            batch_size: 256,
        })
    }

    /// Accuracy on labelled examples (labels unknown to the model count as errors).
    pub fn accuracy(&self, data: &[(String, String)]) -> Result<f64, ModelError> {
        let texts: Vec<&str> = data.iter().map(|(t, _)| t.as_str()).collect();
        let probs = self.predict_proba(&texts)?;
        let hits = probs
            .iter()
            .zip(data)
            .filter(|(p, (_, l))| self.labels.get(crate::attack::attack::argmax(p)) == Some(l))
            .count();
        Ok(hits as f64 / data.len().max(1) as f64)
    }

    /// Writes `victim.json`, `vocab.txt` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ModelError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let cfg = SavedConfig {
            format: FORMAT.into(),
            labels: self.labels.clone(),
            vocab_size: self.words.len() as i64,
            opts: self.opts.clone(),
        };
        let json = serde_json::to_string_pretty(&cfg)
            .map_err(|e| ModelError::InvalidConfig(e.to_string()))?;
        let p = dir.join("victim.json");
        std::fs::write(&p, json).map_err(io(&p))?;
        let p = dir.join("vocab.txt");
        std::fs::write(&p, self.words.join("\n") + "\n").map_err(io(&p))?;
        self.vs.save(dir.join("model.safetensors"))?;
        Ok(())
    }

    /// Loads a directory written by [`WordVictim::save`].
    pub fn load(dir: &Path, device: Device) -> Result<Self, ModelError> {
        let p = dir.join("victim.json");
        let raw = std::fs::read_to_string(&p).map_err(|source| ModelError::Io {
            path: p.clone(),
            source,
        })?;
        let cfg: SavedConfig =
            serde_json::from_str(&raw).map_err(|source| ModelError::Config { path: p, source })?;
        if cfg.format != FORMAT {
            return Err(ModelError::InvalidConfig(format!(
                "{}: format {:?}, expected {FORMAT:?}",
                dir.display(),
                cfg.format
            )));
        }
        let p = dir.join("vocab.txt");
        let words: Vec<String> = std::fs::read_to_string(&p)
            .map_err(|source| ModelError::Io { path: p, source })?
            .lines()
            .map(str::to_string)
            .collect();
        if words.len() as i64 != cfg.vocab_size {
            return Err(ModelError::InvalidConfig(format!(
                "{}: vocab.txt has {} words, victim.json says {}",
                dir.display(),
                words.len(),
                cfg.vocab_size
            )));
        }
        let mut v = Self::build(words, cfg.labels, cfg.opts, device)?;
        v.vs.load(dir.join("model.safetensors"))?;
        Ok(v)
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.opts.arch
    }
}

impl Victim for WordVictim {
    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let _g = tch::no_grad_guard();
        let mut out = Vec::with_capacity(texts.len());
        let c = self.labels.len();
        for chunk in texts.chunks(self.batch_size.max(1)) {
            let ids = self.encode(chunk)?;
            let p = self
                .net
                .forward_t(&ids, false)?
                .f_softmax(-1, Kind::Float)?
                .f_to_device(Device::Cpu)?;
            let flat = Vec::<f32>::try_from(p.f_flatten(0, -1)?)?;
            out.extend(flat.chunks(c.max(1)).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}
