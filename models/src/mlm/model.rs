//! [`MlmModel`]: a BERT-family encoder plus its HF masked-LM head, built in one VarStore whose
//! names are the HF state-dict keys; [`load_mlm`] reads an HF directory (continued pre-training
//! from an encoder-only or MLM checkpoint) and [`AuxHeads`] holds CLIMB's word-class heads,
//! which live in their own VarStore so they never leak into the exported `model.safetensors`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tch::nn;
use tch::{Device, Kind, Reduction, Tensor};

use crate::bert::{BertModel, HiddenAct};
use crate::hf::{self, WEIGHTS_FILE};
use crate::mlm::head::HeadLayout;
use crate::mlm::{Family, LmHead, MlmConfig};
use crate::ModelError;

/// Encoder + MLM head. Reference: `BertForMaskedLM` / `RobertaForMaskedLM`.
#[derive(Debug)]
pub struct MlmModel {
    /// The encoder (under `bert.` / `roberta.` / `roberta_prelayernorm.`).
    pub encoder: BertModel,
    head: LmHead,
    /// The config it was built from.
    pub config: MlmConfig,
}

impl MlmModel {
    /// Builds a freshly initialised model at the VarStore root `root`. Follows HF
    /// `_init_weights`: normal(0, initializer_range) weights, zero biases, unit LayerNorms, and
    /// zeroed padding rows in the word (and RoBERTa position) embeddings.
    pub fn new(root: &nn::Path, config: &MlmConfig) -> Result<Self, ModelError> {
        config.validate()?;
        let e = &config.encoder;
        let encoder = e.build(&(root / config.encoder_prefix()), false)?;
        let (layout, head_p, act) = match config.family {
            Family::Bert => (HeadLayout::Bert, root / "cls" / "predictions", e.hidden_act),
            // RobertaLMHead hard-codes exact GELU whatever hidden_act says.
            Family::Roberta => (HeadLayout::Roberta, root / "lm_head", HiddenAct::Gelu),
        };
        let head = LmHead::new(
            &head_p,
            layout,
            e.hidden_size,
            e.vocab_size,
            e.layer_norm_eps,
            act,
            config.tie_word_embeddings,
            e.initializer_range,
        )?;
        let model = Self {
            encoder,
            head,
            config: config.clone(),
        };
        model.zero_padding_rows()?;
        Ok(model)
    }

    fn zero_padding_rows(&self) -> Result<(), ModelError> {
        let _guard = tch::no_grad_guard();
        let pad = self.config.encoder.pad_token_id;
        let mut rows = vec![self.encoder.word_embeddings().shallow_clone()];
        if self.config.encoder.position_offset().is_some() {
            rows.push(self.encoder.position_embeddings().shallow_clone());
        }
        for t in rows {
            if pad >= 0 && pad < t.size()[0] {
                let _ = t.f_select(0, pad)?.f_zero_()?;
            }
        }
        Ok(())
    }

    /// Last hidden states `[batch, seq, hidden]`.
    pub fn hidden(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        self.hidden_typed(input_ids, attention_mask, None, train)
    }

    /// [`MlmModel::hidden`] with token type (segment) ids, for BERT-layout sentence pairs.
    pub fn hidden_typed(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        self.encoder
            .forward_t(input_ids, attention_mask, token_type_ids, train)
    }

    /// The head on hidden states: `[.., hidden]` → `[.., vocab]`.
    pub fn head_logits(&self, hidden: &Tensor) -> Result<Tensor, ModelError> {
        self.head
            .forward(hidden, Some(self.encoder.word_embeddings()))
    }

    /// Full prediction scores `[batch, seq, vocab]` (what HF's `.logits` returns).
    pub fn logits(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        self.head_logits(&self.hidden(input_ids, attention_mask, train)?)
    }

    /// Mean cross-entropy over positions whose label is not −100, plus how many there were.
    /// Only those rows go through the head: the vocabulary projection is the largest matmul
    /// of a small model, and ~85% of its rows would be thrown away.
    pub fn mlm_loss(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        labels: &Tensor,
        train: bool,
    ) -> Result<(Tensor, i64), ModelError> {
        let hidden = self.hidden(input_ids, Some(attention_mask), train)?;
        masked_loss(&hidden, labels, |rows| self.head_logits(rows))
    }

    /// Saves the model as an HF directory (`model.safetensors`, `config.json`, optionally
    /// `tokenizer.json`). `vs` must be the VarStore the model was built in.
    pub fn save_hf(
        &self,
        vs: &nn::VarStore,
        tokenizer_json: Option<&Path>,
        dir: &Path,
    ) -> Result<(), ModelError> {
        hf::save_hf_dir(vs, &self.config.to_hf(), tokenizer_json, dir)
    }
}

/// Cross-entropy of `head(hidden[labels != -100])` against those labels.
///
/// # Shapes
/// `hidden`: `[batch, seq, hidden]`, `labels`: `[batch, seq]` → scalar loss (0 when no label).
pub fn masked_loss(
    hidden: &Tensor,
    labels: &Tensor,
    head: impl Fn(&Tensor) -> Result<Tensor, ModelError>,
) -> Result<(Tensor, i64), ModelError> {
    let h = hidden.size().last().copied().unwrap_or(0);
    let flat_labels = labels.f_reshape([-1])?;
    let rows = flat_labels.f_ne(-100)?.f_nonzero()?.f_reshape([-1])?; // [n_masked]
    let n = rows.size()[0];
    if n == 0 {
        // No target in the batch: a zero loss that still belongs to the graph.
        return Ok((hidden.f_sum(Kind::Float)?.f_mul_scalar(0.0)?, 0));
    }
    let picked = hidden.f_reshape([-1, h])?.f_index_select(0, &rows)?; // [n, hidden]
    let targets = flat_labels.f_index_select(0, &rows)?;
    let logits = head(&picked)?; // [n, out]
    let loss = logits
        .f_to_kind(Kind::Float)?
        .f_cross_entropy_loss::<Tensor>(&targets, None, Reduction::Mean, -100, 0.0)?;
    Ok((loss, n))
}

/// A model loaded from an HF directory, with the VarStore that owns it.
#[derive(Debug)]
pub struct LoadedMlm {
    /// Owns every parameter.
    pub vs: nn::VarStore,
    /// The model.
    pub model: MlmModel,
    /// Parameters not in the checkpoint, left at their fresh init (e.g. the MLM head when
    /// starting from an encoder-only checkpoint).
    pub fresh: Vec<String>,
}

/// Loads `dir/config.json` + `dir/model.safetensors` as a masked LM on `device`.
///
/// Checkpoint keys may carry the class prefix (`bert.`, `roberta.`, ...) or none (a bare
/// `BertModel`, e.g. a sentence-transformers encoder). Missing encoder tensors are an error
/// listing them all; a missing head is initialised fresh and reported in
/// [`LoadedMlm::fresh`], so continued pre-training can start from an encoder checkpoint.
pub fn load_mlm(dir: &Path, device: Device) -> Result<LoadedMlm, ModelError> {
    let config = MlmConfig::from_hf(&hf::read_config(dir)?)?;
    let path = dir.join(WEIGHTS_FILE);
    if let Err(source) = std::fs::metadata(&path) {
        return Err(ModelError::Io { path, source });
    }
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path)?.into_iter().collect();
    let vs = nn::VarStore::new(device);
    let model = MlmModel::new(&vs.root(), &config)?;
    let prefix = format!("{}.", config.encoder_prefix());
    let fresh = copy_matching(&vs, &tensors, &path, |name| {
        let bare = name.strip_prefix(&prefix)?;
        // Also accept the other families' prefixes and none at all.
        ["", "bert.", "roberta.", "roberta_prelayernorm."]
            .iter()
            .map(|p| format!("{p}{bare}"))
            .find(|k| tensors.contains_key(k))
    })?;
    Ok(LoadedMlm { vs, model, fresh })
}

/// Copies `tensors` into the variables of `vs` by name (or by `fallback(name)` for encoder
/// names). Returns the non-encoder variables that were absent; errors on absent encoder
/// variables (`fallback` returns `Some` only for those) and on shape mismatches.
fn copy_matching(
    vs: &nn::VarStore,
    tensors: &HashMap<String, Tensor>,
    path: &Path,
    fallback: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ModelError> {
    let _guard = tch::no_grad_guard();
    let mut missing = Vec::new();
    let mut fresh = Vec::new();
    for (name, mut var) in hf::named_variables(vs) {
        let key = if tensors.contains_key(&name) {
            Some(name.clone())
        } else {
            fallback(&name)
        };
        let Some(src) = key.and_then(|k| tensors.get(&k)) else {
            if is_encoder_name(&name) {
                missing.push(name);
            } else {
                fresh.push(name);
            }
            continue;
        };
        if src.size() != var.size() {
            return Err(ModelError::ShapeMismatch {
                name,
                expected: var.size(),
                found: src.size(),
            });
        }
        var.f_copy_(src)?;
    }
    if missing.is_empty() {
        Ok(fresh)
    } else {
        Err(ModelError::MissingTensors {
            path: path.to_path_buf(),
            missing,
        })
    }
}

fn is_encoder_name(name: &str) -> bool {
    ["bert.", "roberta.", "roberta_prelayernorm."]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Loads every variable of `vs` from a safetensors file written from a VarStore with the same
/// names (checkpoints). All must be present with the same shapes.
pub fn load_exact(vs: &nn::VarStore, path: &Path) -> Result<(), ModelError> {
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(path)?.into_iter().collect();
    crate::bert::copy_into(vs, &tensors, path)
}

/// CLIMB's word-class heads, one per POS unit (`pos_heads.<unit>.*`), each an untied
/// RoBERTa-style LM head with `|tags| + 1` outputs (SEEDS §2.4). They are training-only, so
/// they live in their own VarStore and are saved next to checkpoints, not in the HF export.
#[derive(Debug)]
pub struct AuxHeads {
    /// Owns the heads' parameters.
    pub vs: nn::VarStore,
    /// Head per unit name.
    pub heads: BTreeMap<String, LmHead>,
}

impl AuxHeads {
    /// One head per `(unit, number of outputs)`.
    pub fn new(
        config: &MlmConfig,
        units: &[(String, i64)],
        device: Device,
    ) -> Result<Self, ModelError> {
        let vs = nn::VarStore::new(device);
        let e = &config.encoder;
        let mut heads = BTreeMap::new();
        for (unit, outputs) in units {
            let head = LmHead::new(
                &(vs.root() / "pos_heads" / unit),
                HeadLayout::Roberta,
                e.hidden_size,
                *outputs,
                e.layer_norm_eps,
                HiddenAct::Gelu,
                false,
                e.initializer_range,
            )?;
            heads.insert(unit.clone(), head);
        }
        Ok(Self { vs, heads })
    }

    /// Whether there are no heads.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// The loss of `unit`'s head on `hidden` against `labels` (−100 = ignored).
    pub fn loss(
        &self,
        unit: &str,
        hidden: &Tensor,
        labels: &Tensor,
    ) -> Result<(Tensor, i64), ModelError> {
        let head = self
            .heads
            .get(unit)
            .ok_or_else(|| ModelError::InvalidConfig(format!("no head for unit {unit:?}")))?;
        masked_loss(hidden, labels, |rows| head.forward(rows, None))
    }

    /// Where a checkpoint keeps the heads.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join("aux_heads.safetensors")
    }
}
