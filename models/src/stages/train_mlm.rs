//! `train_mlm`: masked-LM pre-training (from scratch or continued from an HF directory) on
//! the stage's input records, with every option of `mavuno pretrain`.
//!
//! A barrier. Each record is one training sentence: `tokens` (else the whitespace words of
//! `text`) with optional per-word `pos_tags` and `ner_tags` (what `tag_pos`/`tag_ner` write,
//! and what LEM masking and the CLIMB POS units read) and an optional numeric `difficulty`
//! (from `order_curriculum`; the data curriculum samples by it, else by length). Masks are
//! drawn afresh at every step from the same tags (the plan fields of `plan_masks`, a single
//! static draw, are not reused), so LEM here is exactly `mavuno pretrain --masking lem`.
//! With `join_sentences` (CLIMB) the examples are fixed-length blocks of concatenated
//! sentences instead (`train/join.rs`), each word keeping its tags.
//!
//! The model, `metrics.jsonl`, `train_config.toml` and `ckpt/step_N/` go to `output_dir`
//! (default: the stage id, under the run directory). A killed run resumes from the newest
//! checkpoint there when the pipeline is rerun, provided the training config and the
//! tokenized data are unchanged (a fingerprint is stored next to the checkpoints); otherwise
//! training starts over. `tokenizer` is loaded when training starts, so an upstream
//! `train_tokenizer` stage may write it; relative `tokenizer` and `output_dir` paths are
//! under the run directory, `init` is relative to the working directory (like reader paths).
//!
//! Output: one summary record (see the module docs of `stages`) with `model_dir`, `steps`,
//! `first_loss`, `last_loss`, `eval_loss`, `train_examples`, `eval_examples`, `masking`.
//! Records without words are dropped (`empty`), records whose tag lists do not match their
//! tokens are rejected, and summary records of other stages are dropped (`summary_record`).
//!
//! ```toml
//! [stages.train]
//! type = "train_mlm"
//! inputs = ["masks"]
//! tokenizer = "tokenizer.json"
//! size = "tiny"
//! masking = "lem"
//! steps = 300
//! batch_size = 32
//! max_len = 128
//! lr = 5e-4
//! pacing = "linear"
//! ```

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use mavuno_stages::curriculum::pacing::PacingFn;
use mavuno_stages::curriculum::{ObjectiveSchedule, VocabMap};
use mavuno_stages::mask::plan::{MaskSpec, ReplaceProbs, Strategy};
use mavuno_stages::tokenize::corpus::{tagged_from_json, TaggedSentence};
use mavuno_stages::tokenize::Tok;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    is_summary, mark_entities, model_err, summary_record, under_run, Consumed, MODEL_DIR_FIELD,
};
use crate::hf::write_atomic;
use crate::mlm::{Family, SizePreset};
use crate::train::join::tokenize_joined;
use crate::train::{
    build_model, train_mlm, AdamWConfig, Dataset, Decay, ModelSource, RunOptions, TrainConfig,
    TrainRun, VocabSpec,
};

fn d_size() -> String {
    "tiny".into()
}
fn d_masking() -> String {
    "token".into()
}
fn d_replace() -> String {
    "bert".into()
}
fn d_steps() -> u64 {
    300
}
fn d_batch() -> usize {
    32
}
fn d_one() -> usize {
    1
}
fn d_max_len() -> usize {
    128
}
fn d_decay() -> String {
    "linear".into()
}
fn d_wd() -> f64 {
    0.01
}
fn d_eval_fraction() -> f64 {
    0.05
}
fn d_every() -> u64 {
    100
}
fn d_objectives() -> String {
    "base_mlm".into()
}
fn d_pacing() -> PacingFn {
    PacingFn::Linear
}
fn d_device() -> String {
    "auto".into()
}

/// Trains a masked LM on the input records and writes an HF model directory.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TrainMlmConfig {
    /// Model directory (relative paths under the run directory; default: the stage id).
    #[serde(default)]
    pub output_dir: Option<String>,
    /// `tokenizer.json` (relative paths under the run directory); default `<init>/tokenizer.json`.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Continue pre-training from this HF directory (relative to the working directory).
    #[serde(default)]
    pub init: Option<String>,
    /// Size of a fresh model: `tiny` (2×128), `small` (CLIMB 8×256 pre-LN) or `base`.
    #[serde(default = "d_size")]
    pub size: String,
    /// Family of a fresh model: `bert` or `roberta` (default: bert for WordPiece, else roberta).
    #[serde(default)]
    pub arch: Option<String>,
    /// Masking: `token`, `whole_word`, `span`, `spanbert` or `lem`.
    #[serde(default = "d_masking")]
    pub masking: String,
    /// Replacement of selected tokens: `bert` (80/10/10) or `climb` (90/10/0).
    #[serde(default = "d_replace")]
    pub replace: String,
    /// Optimizer steps.
    #[serde(default = "d_steps")]
    pub steps: u64,
    /// Sequences per micro-batch.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[serde(default = "d_one")]
    pub grad_accum: usize,
    /// Longest sequence in tokens, specials included.
    #[serde(default = "d_max_len")]
    pub max_len: usize,
    /// Peak learning rate (default 5e-4 from scratch, 5e-5 with `init`).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Warmup steps (default 10% of `steps`).
    #[serde(default)]
    pub warmup: Option<u64>,
    /// Decay after warmup: `linear`, `cosine` or `constant`.
    #[serde(default = "d_decay")]
    pub decay: String,
    /// AdamW weight decay (not on biases and LayerNorms).
    #[serde(default = "d_wd")]
    pub weight_decay: f64,
    /// Seed of batches, masks, dropout and the eval split (default: the run's seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Share of sentences held out for the eval loss (at most 1000 sentences).
    #[serde(default = "d_eval_fraction")]
    pub eval_fraction: f64,
    /// Held-out MLM loss every N steps (0 = only at the end).
    #[serde(default = "d_every")]
    pub eval_every: u64,
    /// Checkpoint every N steps (0 = only at the end).
    #[serde(default = "d_every")]
    pub checkpoint_every: u64,
    /// CLIMB objective schedule (`base_mlm`, `pos_nv_mlm`, `multitask_pos_all_mlm_0`, ...).
    #[serde(default = "d_objectives")]
    pub objectives: String,
    /// CLIMB vocabulary curriculum: `token_ids`, `pos_tags` or `pos_tags_and_token_ids`.
    #[serde(default)]
    pub vocab_curriculum: Option<VocabMap>,
    /// CLIMB `join_sentences`: the tokenized sentences (specials included) are concatenated
    /// and cut into blocks of exactly `max_len` tokens, the last partial block dropped; the
    /// eval split is drawn from the blocks. A block's `difficulty` is the token-weighted mean
    /// of its sentences'.
    #[serde(default)]
    pub join_sentences: bool,
    /// CLIMB data curriculum: percentile sampler over `difficulty` (else sentence length).
    #[serde(default)]
    pub data_curriculum: bool,
    /// CLIMB `self_perplexity`: every N steps (0 = never) re-score all training examples with
    /// the current model's MLM pseudo-perplexity (one forward pass per token: costly), for the
    /// data curriculum (needs `data_curriculum`). The first scores are `difficulty`, else length.
    #[serde(default)]
    pub rescore_every: u64,
    /// Pacing of both curricula: `linear`, `quad`, `root`, `log`, `exp`, `step`.
    #[serde(default = "d_pacing")]
    pub pacing: PacingFn,
    /// POS tags whose words count as named entities for LEM when they have no NER tag
    /// (e.g. `["PROPN"]` for languages without an NER tagger).
    #[serde(default)]
    pub entity_pos: Vec<String>,
    /// Device: `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[serde(default)]
    pub threads: Option<i32>,
}

fn parse_decay(s: &str) -> Option<Decay> {
    match s {
        "linear" => Some(Decay::Linear),
        "cosine" => Some(Decay::Cosine),
        "constant" => Some(Decay::Constant),
        _ => None,
    }
}

fn parse_replace(s: &str) -> Option<ReplaceProbs> {
    match s {
        "bert" => Some(ReplaceProbs::BERT),
        "climb" => Some(ReplaceProbs::CLIMB),
        _ => None,
    }
}

impl TrainMlmConfig {
    /// The training config for seed `seed` (options already validated).
    fn train_config(&self, seed: u64) -> Result<TrainConfig, String> {
        let strategy = Strategy::by_name(&self.masking)
            .ok_or_else(|| format!("unknown masking {:?}", self.masking))?;
        Ok(TrainConfig {
            seed,
            steps: self.steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            lr: self
                .lr
                .unwrap_or(if self.init.is_some() { 5e-5 } else { 5e-4 }),
            warmup_steps: self.warmup.unwrap_or(self.steps / 10),
            decay: parse_decay(&self.decay).ok_or("unknown decay")?,
            adamw: AdamWConfig {
                weight_decay: self.weight_decay,
                ..AdamWConfig::default()
            },
            max_grad_norm: 1.0,
            mask: MaskSpec {
                strategy,
                replace: parse_replace(&self.replace).ok_or("unknown replace")?,
            },
            log_every: 10,
            eval_every: self.eval_every,
            checkpoint_every: self.checkpoint_every,
            keep_checkpoints: 2,
            vocab_curriculum: self.vocab_curriculum,
            data_curriculum: self.data_curriculum,
            rescore_every: self.rescore_every,
            pacing: self.pacing,
            objectives: self.objectives.clone(),
            amp: true,
        })
    }
}

impl StageConfig for TrainMlmConfig {
    const TYPE: &'static str = "train_mlm";
    const KIND: StageKind = StageKind::Barrier;

    fn validate(&self, v: &mut Validator) {
        if self.tokenizer.is_none() && self.init.is_none() {
            v.error(
                "tokenizer",
                "set `tokenizer` or `init` (whose tokenizer.json is used)",
            );
        }
        if SizePreset::parse(&self.size).is_none() {
            v.error(
                "size",
                format!("unknown size {:?} (tiny, small, base)", self.size),
            );
        }
        if let Some(a) = &self.arch {
            if Family::parse(a).is_none() {
                v.error("arch", format!("unknown family {a:?} (bert, roberta)"));
            }
        }
        if Strategy::by_name(&self.masking).is_none() {
            v.error(
                "masking",
                format!(
                    "unknown masking {:?} (token, whole_word, span, spanbert, lem)",
                    self.masking
                ),
            );
        }
        if parse_replace(&self.replace).is_none() {
            v.error(
                "replace",
                format!("must be bert or climb, got {:?}", self.replace),
            );
        }
        if parse_decay(&self.decay).is_none() {
            v.error(
                "decay",
                format!("must be linear, cosine or constant, got {:?}", self.decay),
            );
        }
        if ObjectiveSchedule::climb(&self.objectives).is_none() {
            v.error(
                "objectives",
                format!("unknown objective schedule {:?}", self.objectives),
            );
        }
        if self.rescore_every > 0 && !self.data_curriculum {
            v.error(
                "rescore_every",
                "re-scores the data curriculum: set data_curriculum = true too",
            );
        }
        v.at_least("steps", self.steps, 1);
        v.at_least("batch_size", self.batch_size, 1);
        v.at_least("grad_accum", self.grad_accum, 1);
        v.at_least("max_len", self.max_len, 4);
        v.range("eval_fraction", self.eval_fraction, 0.0, 0.5);
        if let Some(lr) = self.lr {
            if lr <= 0.0 {
                v.error("lr", format!("must be positive, got {lr}"));
            }
        }
    }

    fn input_files(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tokenizer.iter().cloned().collect();
        if let Some(i) = &self.init {
            v.push(format!("{i}/model.safetensors"));
            v.push(format!("{i}/config.json"));
        }
        v
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let seed = self.seed.unwrap_or(ctx.seed);
        let out_dir = under_run(
            &ctx.run_dir,
            self.output_dir.as_deref().unwrap_or(&ctx.stage_id),
        );
        Ok(StageImpl::Stage(Box::new(TrainMlm {
            train: self.train_config(seed).map_err(StageError::msg)?,
            cfg: self.clone(),
            stage_id: ctx.stage_id.clone(),
            tokenizer: match (&self.tokenizer, &self.init) {
                (Some(t), _) => under_run(&ctx.run_dir, t),
                (None, Some(i)) => PathBuf::from(i).join("tokenizer.json"),
                (None, None) => return Err(StageError::msg("no tokenizer")),
            },
            out_dir,
            sentences: Vec::new(),
            consumed: Consumed::default(),
        })))
    }
}

/// The runtime stage.
pub struct TrainMlm {
    cfg: TrainMlmConfig,
    train: TrainConfig,
    stage_id: String,
    tokenizer: PathBuf,
    out_dir: PathBuf,
    sentences: Vec<(TaggedSentence, Option<f64>)>,
    consumed: Consumed,
}

/// A hash of the training config and the tokenized examples: resuming is only sound when
/// both are unchanged.
fn fingerprint(cfg: &TrainConfig, data: &Dataset) -> String {
    let mut h = DefaultHasher::new();
    toml::to_string(cfg).unwrap_or_default().hash(&mut h);
    for e in &data.examples {
        e.ids.hash(&mut h);
        e.pos.hash(&mut h);
        e.difficulty.map(f64::to_bits).hash(&mut h);
        format!("{:?}", e.classes).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

impl Stage for TrainMlm {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            if is_summary(&r) {
                out.drop(r, "summary_record");
                continue;
            }
            match tagged_from_json(&r.to_json()) {
                Err(e) => out.reject(r, e),
                Ok(s) if s.words.is_empty() => out.drop(r, "empty"),
                Ok(mut s) => {
                    mark_entities(&mut s, &self.cfg.entity_pos);
                    let difficulty = r.field("difficulty").and_then(Value::as_f64);
                    self.sentences.push((s, difficulty));
                    self.consumed.take(r, out);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        if let Some(n) = self.cfg.threads {
            tch::set_num_threads(n);
        }
        let device = super::device(&self.cfg.device)?;
        let mut tok = Tok::from_file(&self.tokenizer)
            .map_err(|e| StageError::msg(format!("{}: {e}", self.tokenizer.display())))?;
        tok.max_len = Some(self.cfg.max_len);
        let init = self.cfg.init.as_ref().map(PathBuf::from);
        let source = match &init {
            Some(dir) => ModelSource::Init(dir),
            None => ModelSource::Fresh(
                SizePreset::parse(&self.cfg.size).unwrap_or(SizePreset::Tiny),
                self.cfg.arch.as_deref().and_then(Family::parse),
            ),
        };
        let built = build_model(source, &mut tok, self.train.seed, device).map_err(model_err)?;
        let vocab = VocabSpec::from_tok(&tok).map_err(model_err)?;
        let sentences = std::mem::take(&mut self.sentences);
        let data = if self.cfg.join_sentences {
            tokenize_joined(&mut tok, |t| Dataset::from_sentences(sentences, t))
        } else {
            Dataset::from_sentences(sentences, &tok)
        }
        .map_err(model_err)?;
        let (train, eval) = data.split_eval(self.cfg.eval_fraction, 1000, self.train.seed);
        std::fs::create_dir_all(&self.out_dir).map_err(|e| StageError::io(&self.out_dir, e))?;
        // Resume only onto the same config and data; otherwise start over.
        let fp = fingerprint(&self.train, &train);
        let fp_path = self.out_dir.join("stage_fingerprint.txt");
        let resume = std::fs::read_to_string(&fp_path).is_ok_and(|old| old.trim() == fp);
        if !resume {
            let ckpt = self.out_dir.join("ckpt");
            if ckpt.exists() {
                std::fs::remove_dir_all(&ckpt).map_err(|e| StageError::io(&ckpt, e))?;
            }
            write_atomic(&fp_path, format!("{fp}\n").as_bytes()).map_err(model_err)?;
        }
        let run = TrainRun {
            model: &built.model,
            vs: &built.vs,
            train: &train,
            eval: &eval,
            vocab: &vocab,
            unk_id: tok.unk_id,
            config: &self.train,
            run_dir: &self.out_dir,
            device,
        };
        let summary = train_mlm(
            &run,
            &RunOptions {
                resume,
                stop_after: None,
                verbose: false,
            },
        )
        .map_err(model_err)?;
        built
            .model
            .save_hf(&built.vs, Some(&self.tokenizer), &self.out_dir)
            .map_err(model_err)?;
        let mut fields = Map::new();
        fields.insert(
            MODEL_DIR_FIELD.into(),
            json!(self.out_dir.display().to_string()),
        );
        fields.insert("steps".into(), json!(summary.steps));
        fields.insert("resumed_from_step".into(), json!(summary.start_step));
        fields.insert("first_loss".into(), json!(summary.first_loss));
        fields.insert("last_loss".into(), json!(summary.last_loss));
        fields.insert("eval_loss".into(), json!(summary.eval_loss));
        fields.insert("train_examples".into(), json!(train.len()));
        fields.insert("eval_examples".into(), json!(eval.len()));
        fields.insert("masking".into(), json!(self.cfg.masking));
        let text = serde_json::to_string_pretty(&Value::Object(fields.clone()))
            .map_err(|e| StageError::msg(e.to_string()))?;
        write_atomic(&self.out_dir.join("summary.json"), text.as_bytes()).map_err(model_err)?;
        out.counter("trained_steps_total", summary.steps - summary.start_step);
        self.consumed.finish(
            summary_record(&self.stage_id, TrainMlmConfig::TYPE, fields),
            out,
        )
    }

    fn outputs(&self) -> Vec<PathBuf> {
        ["model.safetensors", "config.json", "summary.json"]
            .iter()
            .map(|f| self.out_dir.join(f))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> TrainMlmConfig {
        super::super::testutil::doc_example(include_str!("train_mlm.rs"))
    }

    #[test]
    fn example_validates_and_bad_options_are_named() {
        let c = example();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(c.masking, "lem");
        let bad = TrainMlmConfig {
            masking: "lemon".into(),
            size: "huge".into(),
            decay: "fast".into(),
            objectives: "nope".into(),
            tokenizer: None,
            steps: 0,
            ..c
        };
        let mut v = Validator::default();
        bad.validate(&mut v);
        let fields: Vec<&str> = v.errors.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "masking",
            "size",
            "decay",
            "objectives",
            "tokenizer",
            "steps",
        ] {
            assert!(fields.contains(&f), "{f} not reported: {fields:?}");
        }
    }
}
