//! `finetune`: fine-tunes a BERT-family encoder (BERT, RoBERTa or pre-LN RoBERTa; the output
//! uses the base's HF task class, e.g. `RobertaForSequenceClassification`) on the stage's input records for sequence
//! classification (`text` + `label`) or NER (`tokens` + `ner_tags`, BIO), with the loop of
//! `mavuno finetune` (`mavuno_models::finetune`).
//!
//! The base model is `base` (relative to the working directory), or else the `model_dir` of
//! a summary record among the inputs (a `train_mlm` stage: a BERT model with a WordPiece
//! tokenizer, a RoBERTa or pre-LN RoBERTa model otherwise). `max_len` is clamped to the base's
//! position table. A seeded share `dev_fraction` of the records is held out and
//! scored after every epoch; the best epoch is kept (the last one when `dev_fraction = 0`).
//! The model goes to `output_dir` (default: the stage id, under the run directory).
//!
//! Output: one summary record with `model_dir`, `task`, `steps`, `last_loss`, `best_dev`,
//! `best_epoch`, `train_examples`, `dev_examples`. Records without a label (or tags) are
//! dropped (`unlabelled`); records whose tags do not match their tokens are rejected.
//!
//! ```toml
//! [stages.ner_model]
//! type = "finetune"
//! inputs = ["ner_train"]
//! task = "ner"
//! base = "models/minilm"
//! epochs = 3
//! lr = 5e-5
//! batch_size = 16
//! dev_fraction = 0.1
//! ```

use std::path::PathBuf;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use mavuno_stages::mask::plan::example_rng;
use mavuno_stages::tokenize::corpus::tagged_from_json;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{is_summary, model_err, summary_record, under_run, Consumed, MODEL_DIR_FIELD};
use crate::finetune::data::{LabelledText, TaggedWords};
use crate::finetune::{finetune_classifier, finetune_ner, TrainOptions};

fn d_epochs() -> usize {
    3
}
fn d_lr() -> f64 {
    5e-5
}
fn d_batch() -> usize {
    16
}
fn d_max_len() -> usize {
    128
}
fn d_warmup() -> f64 {
    0.1
}
fn d_wd() -> f64 {
    0.01
}
fn d_device() -> String {
    "auto".into()
}

/// Fine-tunes a classifier or NER tagger on the input records.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct FinetuneConfig {
    /// `classify` or `ner`.
    pub task: String,
    /// Base model directory; default: `model_dir` of a summary record in the inputs.
    #[serde(default)]
    pub base: Option<String>,
    /// Model directory (relative paths under the run directory; default: the stage id).
    #[serde(default)]
    pub output_dir: Option<String>,
    /// Passes over the training records.
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    /// Peak learning rate.
    #[serde(default = "d_lr")]
    pub lr: f64,
    /// Examples per optimizer step.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Tokens per example, specials included.
    #[serde(default = "d_max_len")]
    pub max_len: usize,
    /// Share of the steps spent warming up.
    #[serde(default = "d_warmup")]
    pub warmup_ratio: f64,
    /// Decoupled weight decay on weight matrices.
    #[serde(default = "d_wd")]
    pub weight_decay: f64,
    /// Stop after this many optimizer steps.
    #[serde(default)]
    pub max_steps: Option<usize>,
    /// Weight each label's loss by its square-root inverse training frequency.
    #[serde(default)]
    pub class_weighted: bool,
    /// Share of records held out as dev data (seeded); 0 keeps the last epoch.
    #[serde(default)]
    pub dev_fraction: f64,
    /// Seed (default: the run's seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Device: `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
}

impl StageConfig for FinetuneConfig {
    const TYPE: &'static str = "finetune";
    const KIND: StageKind = StageKind::Barrier;

    fn validate(&self, v: &mut Validator) {
        if !["classify", "ner"].contains(&self.task.as_str()) {
            v.error(
                "task",
                format!("must be classify or ner, got {:?}", self.task),
            );
        }
        v.at_least("epochs", self.epochs, 1);
        v.at_least("batch_size", self.batch_size, 1);
        v.at_least("max_len", self.max_len, 4);
        v.range("dev_fraction", self.dev_fraction, 0.0, 0.5);
        v.range("warmup_ratio", self.warmup_ratio, 0.0, 1.0);
        if self.lr <= 0.0 {
            v.error("lr", format!("must be positive, got {}", self.lr));
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.base
            .iter()
            .flat_map(|m| [format!("{m}/model.safetensors"), format!("{m}/config.json")])
            .collect()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Finetune {
            cfg: self.clone(),
            seed: self.seed.unwrap_or(ctx.seed),
            stage_id: ctx.stage_id.clone(),
            out_dir: under_run(
                &ctx.run_dir,
                self.output_dir.as_deref().unwrap_or(&ctx.stage_id),
            ),
            base: self.base.as_ref().map(PathBuf::from),
            texts: Vec::new(),
            tagged: Vec::new(),
            consumed: Consumed::default(),
        })))
    }
}

/// The runtime stage.
pub struct Finetune {
    cfg: FinetuneConfig,
    seed: u64,
    stage_id: String,
    out_dir: PathBuf,
    base: Option<PathBuf>,
    texts: Vec<LabelledText>,
    tagged: Vec<TaggedWords>,
    consumed: Consumed,
}

/// Splits `xs` into (train, dev) with a seeded coin per item.
fn split<T>(xs: Vec<T>, fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = example_rng(seed ^ 0xDE5_0001, 0);
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for x in xs {
        if fraction > 0.0 && rng.random::<f64>() < fraction {
            dev.push(x);
        } else {
            train.push(x);
        }
    }
    (train, dev)
}

impl Stage for Finetune {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            if is_summary(&r) {
                if self.cfg.base.is_none() {
                    if let Some(d) = r.str_field(MODEL_DIR_FIELD) {
                        self.base = Some(PathBuf::from(d));
                    }
                }
                self.consumed.take(r, out);
                continue;
            }
            if self.cfg.task == "classify" {
                match r.field("label") {
                    None | Some(Value::Null) => out.drop(r, "unlabelled"),
                    Some(l) => {
                        let label = l.as_str().map_or_else(|| l.to_string(), str::to_string);
                        self.texts.push(LabelledText {
                            text: r.text.clone(),
                            label: Some(label),
                        });
                        self.consumed.take(r, out);
                    }
                }
                continue;
            }
            match tagged_from_json(&r.to_json()) {
                Err(e) => out.reject(r, e),
                Ok(s) => match s.ner.into_iter().collect::<Option<Vec<String>>>() {
                    Some(tags) if !s.words.is_empty() => {
                        self.tagged.push(TaggedWords {
                            words: s.words,
                            tags: Some(tags),
                        });
                        self.consumed.take(r, out);
                    }
                    _ => out.drop(r, "unlabelled"),
                },
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        let Some(base) = self.base.clone() else {
            return Err(StageError::msg(
                "no base model: set `base` or list a train_mlm stage in `inputs`",
            ));
        };
        let device = super::device(&self.cfg.device)?;
        let c = &self.cfg;
        let opts = TrainOptions {
            epochs: c.epochs,
            lr: c.lr,
            batch_size: c.batch_size,
            max_len: c.max_len,
            seed: self.seed,
            warmup_ratio: c.warmup_ratio,
            weight_decay: c.weight_decay,
            clip: 1.0,
            max_steps: c.max_steps,
            class_weighted: c.class_weighted,
        };
        let (summary, n_train, n_dev) = if c.task == "classify" {
            let (train, dev) = split(std::mem::take(&mut self.texts), c.dev_fraction, self.seed);
            let dev_opt = (!dev.is_empty()).then_some(dev.as_slice());
            let s = finetune_classifier(&base, &train, dev_opt, &opts, &self.out_dir, device);
            (s.map_err(model_err)?, train.len(), dev.len())
        } else {
            let (train, dev) = split(std::mem::take(&mut self.tagged), c.dev_fraction, self.seed);
            let dev_opt = (!dev.is_empty()).then_some(dev.as_slice());
            let s = finetune_ner(&base, &train, dev_opt, &opts, &self.out_dir, device);
            (s.map_err(model_err)?, train.len(), dev.len())
        };
        let mut fields = Map::new();
        fields.insert(
            MODEL_DIR_FIELD.into(),
            json!(self.out_dir.display().to_string()),
        );
        fields.insert("task".into(), json!(c.task));
        fields.insert("steps".into(), json!(summary.step_losses.len()));
        fields.insert("last_loss".into(), json!(summary.step_losses.last()));
        fields.insert("best_dev".into(), json!(summary.best_dev));
        fields.insert("best_epoch".into(), json!(summary.best_epoch));
        fields.insert("train_examples".into(), json!(n_train));
        fields.insert("dev_examples".into(), json!(n_dev));
        self.consumed.finish(
            summary_record(&self.stage_id, FinetuneConfig::TYPE, fields),
            out,
        )
    }

    fn outputs(&self) -> Vec<PathBuf> {
        ["model.safetensors", "config.json"]
            .iter()
            .map(|f| self.out_dir.join(f))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_validates_and_split_is_seeded() {
        let c: FinetuneConfig = super::super::testutil::doc_example(include_str!("finetune.rs"));
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let bad = FinetuneConfig {
            task: "pos".into(),
            dev_fraction: 0.9,
            ..c
        };
        let mut v = Validator::default();
        bad.validate(&mut v);
        let fields: Vec<&str> = v.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["task", "dev_fraction"]);

        let (a, b) = split((0..1000).collect::<Vec<_>>(), 0.1, 5);
        let (a2, _) = split((0..1000).collect::<Vec<_>>(), 0.1, 5);
        assert_eq!(a, a2);
        assert!((50..150).contains(&b.len()), "{}", b.len());
        assert_eq!(split(vec![1, 2, 3], 0.0, 5).1.len(), 0);
    }
}
