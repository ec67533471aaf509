//! `train_mlm`: masked-LM pre-training (from scratch or continued from an HF directory) on
//! the stage's input records, with every option of `mavuno pretrain`.
//!
//! A barrier. Each record is one training sentence: `tokens` (else the whitespace words of
//! `text`) with optional per-word `pos_tags` and `ner_tags` (what `tag_pos`/`tag_ner` write,
//! and what LEM masking and the CLIMB POS units read) and an optional numeric `difficulty`
//! (from `order_curriculum`; the data curriculum samples by it, else by length). Masks are
//! drawn afresh at every step from the same tags (the plan fields of `plan_masks`, a single
//! static draw, are not reused), so LEM here is exactly `mavuno pretrain --masking lem`.
//! `masking` is the spec `plan_masks` and the CLI share: a preset (`token`, `lem` = `lem_ne`,
//! `lem_ne_verb`, `lem_all`, `lem_random_word` (LEM's matched baseline), ...) or a table
//! (`{ strategy = "lem", p_ne = 1.0, p_verb = 0.0, p_noun = 0.0, quirk = false }`).
//! With `join_sentences` (CLIMB) the examples are fixed-length blocks of concatenated
//! sentences instead (`train/join.rs`), joined in input order and each scored on its own
//! tokens (unigram perplexity) for the data curriculum; records that carry a `difficulty`
//! are refused there, since sorted input would change the blocks.
//!
//! With `tlm = true` (LEM_para / TLM) every record is a translation pair: the record is the
//! source side and `target_field` (an object with `tokens`/`text` and its own tags, or a
//! string) the target, else the other side of a `parallel_reader` record's `translation`.
//! Each pair is one sequence in the tokenizer's pair layout, masked across both sides with
//! each side's word classes. With `init_from_input = true` the model starts from the
//! `model_dir` of an upstream `train_mlm` summary record among the inputs, so mono-then-para
//! training runs as one pipeline (`configs/lem-si-ta-en.toml`).
//!
//! NE words come from `ner_tags`; where a language has no NER tagger, `entity_pos` (e.g.
//! `["PROPN"]`) marks words with those POS tags as NEs instead. The summary's `ne_source`
//! says which happened (`ner`, `pos_proxy`, `ner+pos_proxy` or `none`) and how many words each
//! gave. Number-like words are never NEs.
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
//! `first_loss`, `last_loss`, `eval_loss`, `train_examples`, `eval_examples`, `masking` (the
//! full spec), `ne_source`, `ne_words_ner`, `ne_words_pos_proxy`.
//! Records without words are dropped (`empty`), records whose tag lists do not match their
//! tokens are rejected, and summary records of other stages are dropped (`summary_record`).
//!
//! ```toml
//! [stages.train]
//! type = "train_mlm"
//! inputs = ["masks"]
//! tokenizer = "tokenizer.json"
//! size = "tiny"
//! masking = { strategy = "lem", p_ne = 1.0, p_verb = 0.0, p_noun = 0.0, quirk = false }
//! optimizer = "shared"
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
use mavuno_stages::mask::plan::{MaskSpec, ReplaceProbs, Strategy, WordClass};
use mavuno_stages::mask::spec::Masking;
use mavuno_stages::tokenize::corpus::{tagged_from_json, TaggedSentence};
use mavuno_stages::tokenize::Tok;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    is_summary, mark_entities, model_err, summary_record, under_run, Consumed, MODEL_DIR_FIELD,
};
use crate::hf::write_atomic;
use crate::mlm::{Family, SizePreset};
use crate::train::data::pair_from_json;
use crate::train::join::{score_train_blocks, tokenize_joined};
use crate::train::{
    build_model, train_mlm, AdamWConfig, Dataset, Decay, ModelSource, OptimizerLayout, RunOptions,
    TrainConfig, TrainRun, VocabSpec,
};

fn d_size() -> String {
    "tiny".into()
}
fn d_masking() -> Masking {
    Masking(Strategy::Token { rate: 0.15 })
}
fn d_target_field() -> String {
    "target".into()
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
fn d_export() -> String {
    "last".into()
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
    /// Masking spec: a preset name or a table (default `token`, BERT's 15 %).
    #[serde(default = "d_masking")]
    pub masking: Masking,
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
    /// What the model directory holds at the end: `last` (the final step's weights) or
    /// `best` (the evaluation with the lowest held-out loss, as the LEM paper continues TLM
    /// from its best MLM checkpoint; evaluations run every `eval_every` steps and at the end).
    #[serde(default = "d_export")]
    pub export: String,
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
    /// Optimisers: `per_unit` (CLIMB: the encoder on the run schedule, each objective unit's
    /// head its own AdamW warmed up over its active steps) or `shared` (one AdamW, HF Trainer).
    #[serde(default)]
    pub optimizer: OptimizerLayout,
    /// `per_unit`: warm-up share of each unit's active steps (CLIMB: 0.1).
    #[serde(default)]
    pub unit_warmup: Option<f64>,
    /// TLM: each record is a translation pair, trained as one sequence.
    #[serde(default)]
    pub tlm: bool,
    /// TLM: the field holding the target side (default `target`); without it the other side
    /// of `translation` is used.
    #[serde(default = "d_target_field")]
    pub target_field: String,
    /// Start from the `model_dir` of an upstream `train_mlm` summary record in the inputs
    /// (e.g. TLM after the monolingual stage); excludes `init`.
    #[serde(default)]
    pub init_from_input: bool,
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
    /// The stage's defaults (every field at its serde default, no tokenizer): what
    /// `mavuno pretrain` starts from before applying its flags.
    pub fn defaults() -> Result<TrainMlmConfig, serde_json::Error> {
        serde_json::from_value(json!({}))
    }

    /// The training examples: translation pairs (`tlm`), blocks joined in input order and
    /// scored on their own tokens (`join_sentences`), or one example per sentence.
    pub fn dataset(
        &self,
        sentences: Vec<(TaggedSentence, Option<f64>)>,
        pairs: Vec<(TaggedSentence, TaggedSentence)>,
        tok: &mut Tok,
    ) -> Result<Dataset, crate::ModelError> {
        if self.tlm {
            Dataset::from_pairs(pairs, tok)
        } else if self.join_sentences {
            tokenize_joined(tok, |t| Dataset::from_sentences(sentences, t))
        } else {
            Dataset::from_sentences(sentences, tok)
        }
    }

    /// Whether training continues a checkpoint (`init` or `init_from_input`).
    fn continues(&self) -> bool {
        self.init.is_some() || self.init_from_input
    }

    /// The training config for seed `seed` (options already validated).
    pub fn train_config(&self, seed: u64) -> Result<TrainConfig, String> {
        self.masking.0.check()?;
        let strategy = self.masking.0.clone();
        let defaults = TrainConfig::default();
        Ok(TrainConfig {
            seed,
            steps: self.steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            lr: self
                .lr
                .unwrap_or(if self.continues() { 5e-5 } else { 5e-4 }),
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
            optimizer: self.optimizer,
            unit_warmup: self.unit_warmup.unwrap_or(defaults.unit_warmup),
            keep_best: self.export == "best",
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
        if self.init_from_input && self.init.is_some() {
            v.error("init_from_input", "set either `init` or `init_from_input`");
        }
        if self.tlm && self.join_sentences {
            v.error(
                "join_sentences",
                "TLM trains one sequence per pair; joining would mix pairs",
            );
        }
        if let Some(w) = self.unit_warmup {
            v.range("unit_warmup", w, 0.0, 1.0);
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
        if let Err(e) = self.masking.0.check() {
            v.error("masking", e);
        }
        if matches!(self.masking.0, Strategy::PosObjective { .. }) {
            v.error(
                "masking",
                "pos_objective is a CLIMB unit: choose it through `objectives`",
            );
        }
        if parse_replace(&self.replace).is_none() {
            v.error(
                "replace",
                format!("must be bert or climb, got {:?}", self.replace),
            );
        }
        if !["last", "best"].contains(&self.export.as_str()) {
            v.error(
                "export",
                format!("must be last or best, got {:?}", self.export),
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
            pairs: Vec::new(),
            upstream_model: None,
            ne: NeSource::default(),
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
    pairs: Vec<(TaggedSentence, TaggedSentence)>,
    upstream_model: Option<PathBuf>,
    ne: NeSource,
    consumed: Consumed,
}

/// Where the NE class came from: words with an NER label, and words marked NE by the POS
/// proxy (`entity_pos`) because no NER label was there.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NeSource {
    /// Words NE by their NER label.
    pub ner: u64,
    /// Words NE by the POS proxy.
    pub pos_proxy: u64,
}

impl NeSource {
    /// Marks `s`'s proxy entities (`entity_pos`) and counts both sources.
    pub fn mark(&mut self, s: &mut TaggedSentence, entity_pos: &[String]) {
        let is_ne = |t: &Option<String>| WordClass::from_tags(t.as_deref(), None) == WordClass::Ne;
        let before = s.ner.iter().filter(|&t| is_ne(t)).count() as u64;
        mark_entities(s, entity_pos);
        let after = s.ner.iter().filter(|&t| is_ne(t)).count() as u64;
        self.ner += before;
        self.pos_proxy += after - before;
    }

    /// `ner`, `pos_proxy`, `ner+pos_proxy` or `none`.
    pub fn label(&self) -> &'static str {
        match (self.ner > 0, self.pos_proxy > 0) {
            (true, false) => "ner",
            (false, true) => "pos_proxy",
            (true, true) => "ner+pos_proxy",
            (false, false) => "none",
        }
    }
}

/// A hash of the training config and the tokenized examples: resuming is only sound when
/// both are unchanged.
fn fingerprint(cfg: &TrainConfig, data: &Dataset) -> String {
    let mut h = DefaultHasher::new();
    toml::to_string(cfg).unwrap_or_default().hash(&mut h);
    for e in &data.examples {
        e.ids.hash(&mut h);
        e.pos.hash(&mut h);
        // Difficulties steer training only under the data curriculum; elsewhere a change in
        // how they are scored must not throw away a run's checkpoints.
        if cfg.data_curriculum {
            e.difficulty.map(f64::to_bits).hash(&mut h);
        }
        format!("{:?}", e.classes).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

impl Stage for TrainMlm {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            if is_summary(&r) {
                let dir = r.field(MODEL_DIR_FIELD).and_then(Value::as_str);
                if let (true, Some(dir)) = (self.cfg.init_from_input, dir) {
                    if let Some(old) = &self.upstream_model {
                        return Err(StageError::msg(format!(
                            "init_from_input: two upstream models ({} and {dir}); keep one input train_mlm stage",
                            old.display()
                        )));
                    }
                    self.upstream_model = Some(PathBuf::from(dir));
                }
                out.drop(r, "summary_record");
                continue;
            }
            if self.cfg.tlm {
                match pair_from_json(&r.to_json(), &self.cfg.target_field) {
                    Err(e) => out.reject(r, e),
                    Ok((a, b)) if a.words.is_empty() || b.words.is_empty() => out.drop(r, "empty"),
                    Ok((mut a, mut b)) => {
                        self.ne.mark(&mut a, &self.cfg.entity_pos);
                        self.ne.mark(&mut b, &self.cfg.entity_pos);
                        self.pairs.push((a, b));
                        self.consumed.take(r, out);
                    }
                }
                continue;
            }
            match tagged_from_json(&r.to_json()) {
                Err(e) => out.reject(r, e),
                Ok(s) if s.words.is_empty() => out.drop(r, "empty"),
                Ok(mut s) => {
                    self.ne.mark(&mut s, &self.cfg.entity_pos);
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
        let init = match (&self.cfg.init, &self.upstream_model, self.cfg.init_from_input) {
            (Some(i), _, _) => Some(PathBuf::from(i)),
            (None, Some(u), true) => Some(u.clone()),
            (None, None, true) => {
                return Err(StageError::msg(
                    "init_from_input: no upstream train_mlm summary record (with `model_dir`) among the inputs",
                ))
            }
            _ => None,
        };
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
        let pairs = std::mem::take(&mut self.pairs);
        let data = self
            .cfg
            .dataset(sentences, pairs, &mut tok)
            .map_err(model_err)?;
        let (mut train, eval) = data.split_eval(self.cfg.eval_fraction, 1000, self.train.seed);
        if self.cfg.join_sentences {
            score_train_blocks(&mut train);
        }
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
        fields.insert("export".into(), json!(self.cfg.export));
        if let Some((step, loss)) = summary.best {
            fields.insert("best_step".into(), json!(step));
            fields.insert("best_eval_loss".into(), json!(loss));
        }
        fields.insert("train_examples".into(), json!(train.len()));
        fields.insert("eval_examples".into(), json!(eval.len()));
        fields.insert(
            "masking".into(),
            serde_json::to_value(&self.cfg.masking)
                .map_err(|e| StageError::context("encoding the masking spec", e))?,
        );
        fields.insert("masking_label".into(), json!(self.cfg.masking.label()));
        fields.insert("tlm".into(), json!(self.cfg.tlm));
        fields.insert("ne_source".into(), json!(self.ne.label()));
        fields.insert("ne_words_ner".into(), json!(self.ne.ner));
        fields.insert("ne_words_pos_proxy".into(), json!(self.ne.pos_proxy));
        if let Some(i) = &init {
            fields.insert("init".into(), json!(i.display().to_string()));
        }
        let text = serde_json::to_string_pretty(&Value::Object(fields.clone()))
            .map_err(|e| StageError::context("encoding summary.json", e))?;
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
        assert_eq!(c.masking, Masking::preset("lem").unwrap_or(d_masking()));
        let bad = TrainMlmConfig {
            masking: Masking(Strategy::Token { rate: 1.5 }),
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

    /// The `train` stage of a shipped config.
    fn shipped(name: &str) -> Result<TrainMlmConfig, Box<dyn std::error::Error>> {
        shipped_stage(name, "train")
    }

    /// Stage `stage` of a shipped config, as a `train_mlm` config.
    fn shipped_stage(
        name: &str,
        stage: &str,
    ) -> Result<TrainMlmConfig, Box<dyn std::error::Error>> {
        let path = format!("{}/../configs/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path)?;
        let v: toml::Value = toml::from_str(&text)?;
        let mut t = v
            .get("stages")
            .and_then(|s| s.get(stage))
            .cloned()
            .ok_or_else(|| format!("no [stages.{stage}] in {name}"))?;
        if let Some(t) = t.as_table_mut() {
            t.remove("type");
            t.remove("inputs");
        }
        Ok(t.try_into()?)
    }

    fn sentences(n: usize) -> Vec<(TaggedSentence, Option<f64>)> {
        (0..n)
            .map(|i| {
                let words: Vec<String> = (0..(3 + i % 7))
                    .map(|j| format!("w{}", (i * 13 + j * 5) % 23))
                    .collect();
                let k = words.len();
                (
                    TaggedSentence {
                        words,
                        pos: vec![None; k],
                        ner: vec![None; k],
                    },
                    None,
                )
            })
            .collect()
    }

    fn tokenizer(dir: &std::path::Path) -> Result<Tok, Box<dyn std::error::Error>> {
        let texts: Vec<String> = sentences(60)
            .into_iter()
            .map(|(s, _)| s.words.join(" "))
            .collect();
        let path = dir.join("tokenizer.json");
        mavuno_stages::tokenize::train(
            mavuno_stages::tokenize::ModelType::Bpe,
            80,
            1,
            texts.iter(),
        )?
        .save(&path, false)
        .map_err(|e| e.to_string())?;
        Ok(Tok::from_file(&path)?)
    }

    #[test]
    fn climb_baseline_and_data_variant_hold_the_same_blocks(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (base, data) = (shipped("climb-baseline.toml")?, shipped("climb-data.toml")?);
        assert!(base.join_sentences && data.join_sentences && data.data_curriculum);
        let dir = tempfile::tempdir()?;
        let mut tok = tokenizer(dir.path())?;
        tok.max_len = Some(16);
        let a = base.dataset(sentences(200), Vec::new(), &mut tok)?;
        let b = data.dataset(sentences(200), Vec::new(), &mut tok)?;
        let multiset = |d: &Dataset| {
            let mut v: Vec<Vec<u32>> = d.examples.iter().map(|e| e.ids.clone()).collect();
            v.sort();
            v
        };
        assert!(a.len() > 10);
        assert_eq!(multiset(&a), multiset(&b));
        // Blocks are scored only after the held-out split (`score_train_blocks`), on their
        // own tokens: the same training blocks, with the same scores, in both arms.
        assert!(a.examples.iter().all(|e| e.difficulty.is_none()));
        let (mut ta, _) = a.split_eval(0.1, 1000, 3);
        let (mut tb, _) = b.split_eval(0.1, 1000, 3);
        score_train_blocks(&mut ta);
        score_train_blocks(&mut tb);
        let da: Vec<Option<f64>> = ta.examples.iter().map(|e| e.difficulty).collect();
        let db: Vec<Option<f64>> = tb.examples.iter().map(|e| e.difficulty).collect();
        assert_eq!(da, db);
        assert!(da.iter().all(Option::is_some));
        // Sorted sentences (order_curriculum output carries `difficulty`) are refused: joined
        // in that order they would make other blocks.
        let mut sorted = sentences(200);
        for (i, s) in sorted.iter_mut().enumerate() {
            s.1 = Some(i as f64);
        }
        let err = data.dataset(sorted, Vec::new(), &mut tok).unwrap_err();
        assert!(err.to_string().contains("corpus order"), "{err}");
        Ok(())
    }

    #[test]
    fn shipped_lem_and_climb_configs_parse_and_validate() -> Result<(), Box<dyn std::error::Error>>
    {
        for name in [
            "climb-baseline.toml",
            "climb-data.toml",
            "climb-vocab.toml",
            "climb-objective.toml",
        ] {
            let c = shipped(name)?;
            let mut v = Validator::default();
            c.validate(&mut v);
            assert!(v.errors.is_empty(), "{name}: {:?}", v.errors);
            // The paper's batch (128 sequences) and warm-up share (25 %) as shipped.
            assert_eq!(c.batch_size * c.grad_accum, 128, "{name}");
            assert_eq!(c.warmup, Some(c.steps / 4), "{name}");
            assert_eq!(c.optimizer, OptimizerLayout::PerUnit, "{name}");
        }
        Ok(())
    }

    #[test]
    fn shipped_lem_config_compares_matched_arms_in_two_stages(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = "lem-si-ta-en.toml";
        let lem = shipped_stage(cfg, "mono_lem")?;
        assert_eq!(
            lem.masking,
            Masking::preset("lem_ne").unwrap_or(d_masking())
        );
        for (mono, para, preset) in [
            ("mono_lem", "para_lem", "lem_ne"),
            ("mono_base", "para_base", "lem_random_word"),
            ("mono_token", "para_token", "token"),
        ] {
            let (m, p) = (shipped_stage(cfg, mono)?, shipped_stage(cfg, para)?);
            for c in [&m, &p] {
                let mut v = Validator::default();
                c.validate(&mut v);
                assert!(v.errors.is_empty(), "{mono}/{para}: {:?}", v.errors);
                assert_eq!(c.masking, Masking::preset(preset).unwrap_or(d_masking()));
                assert_eq!(c.optimizer, OptimizerLayout::Shared);
            }
            assert!(!m.tlm && p.tlm && p.init_from_input && !m.init_from_input);
            // The arms differ in masking only.
            let same = |a: &TrainMlmConfig, b: &TrainMlmConfig| {
                let strip = |c: &TrainMlmConfig| {
                    let mut c = c.clone();
                    c.masking = d_masking();
                    toml::to_string(&c).unwrap_or_default()
                };
                strip(a) == strip(b)
            };
            assert!(
                same(&m, &lem),
                "{mono} differs from mono_lem beyond masking"
            );
            assert!(same(&p, &shipped_stage(cfg, "para_lem")?), "{para}");
        }
        Ok(())
    }

    #[test]
    fn ne_source_says_which_tagger_gave_the_entities() {
        let mut s = TaggedSentence {
            words: vec!["Kofi".into(), "ate".into(), "Accra".into()],
            pos: vec![
                Some("PROPN".into()),
                Some("VERB".into()),
                Some("PROPN".into()),
            ],
            ner: vec![Some("B-PER".into()), Some("O".into()), None],
        };
        let mut ne = NeSource::default();
        ne.mark(&mut s.clone(), &[]);
        assert_eq!((ne.ner, ne.pos_proxy, ne.label()), (1, 0, "ner"));
        let mut ne = NeSource::default();
        ne.mark(&mut s, &["PROPN".to_string()]);
        assert_eq!((ne.ner, ne.pos_proxy, ne.label()), (1, 1, "ner+pos_proxy"));
        assert_eq!(NeSource::default().label(), "none");
    }
}
