//! Task heads on the BERT-family encoder, with HF parameter names so fine-tuned models export
//! to `transformers` and load back. The family ([`TaskLayout`], `layout.rs`) follows the base
//! encoder's `model_type`:
//!
//! - [`SequenceClassifier`]: HF `BertForSequenceClassification` (`bert.*` encoder with pooler,
//!   `classifier.{weight,bias}` on `dropout(pooler_output)`), or for RoBERTa bases
//!   `RobertaForSequenceClassification` / `RobertaPreLayerNormForSequenceClassification`
//!   (`roberta.*` / `roberta_prelayernorm.*` without pooler, `classifier.dense` →  tanh →
//!   `classifier.out_proj` on the `<s>` state).
//! - [`TokenClassifier`]: HF `<Family>ForTokenClassification` (encoder without pooler,
//!   `classifier.*` over every token).
//!
//! Masked-LM heads live in [`crate::mlm`] (`LmHead`, one struct for the BERT and RoBERTa
//! layouts); pseudo-perplexity and the attack's fill-mask load them with `mlm::load_mlm`.
//!
//! [`load_weights`] fills a VarStore from a checkpoint whose keys may or may not carry the
//! encoder prefix (bare encoders from `BertModel.save_pretrained` have none; task models and
//! the MLM exports of `train_mlm` do), so one loader serves "start from a base encoder" and
//! "reload a fine-tuned model".

mod layout;

pub use layout::TaskLayout;

use std::path::Path;

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::bert::{BertConfig, BertModel};
use crate::layers::Linear;
use crate::ModelError;

/// HF `_init_weights` for the new head: normal(0, initializer_range), zero bias.
fn head_init(config: &BertConfig) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: config.initializer_range,
    }
}

/// Dropout before the classifier: HF uses `classifier_dropout` when set, else
/// `hidden_dropout_prob`.
pub fn classifier_dropout(raw_config: &serde_json::Value, config: &BertConfig) -> f64 {
    raw_config
        .get("classifier_dropout")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(config.hidden_dropout_prob)
}

/// The sequence head of [`SequenceClassifier`], per family.
#[derive(Debug)]
enum SequenceHead {
    /// BERT: `classifier(dropout(pooler(x)))`.
    Pooled(Linear),
    /// RoBERTa (`RobertaClassificationHead`):
    /// `out_proj(dropout(tanh(dense(dropout(x[:, 0])))))`.
    Roberta { dense: Linear, out_proj: Linear },
}

/// Sequence classification. References: `BertForSequenceClassification` in
/// <https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/modeling_bert.py>
/// and `RobertaForSequenceClassification` / `RobertaClassificationHead` in
/// `models/roberta/modeling_roberta.py` (the pre-LN class uses the same head).
#[derive(Debug)]
pub struct SequenceClassifier {
    /// The encoder (with its pooler for BERT, as HF builds it; without for RoBERTa).
    pub bert: BertModel,
    head: SequenceHead,
    dropout: f64,
}

impl SequenceClassifier {
    /// Builds the model under `root` (`root / <prefix>`, `root / "classifier"`), the family
    /// taken from `config` ([`TaskLayout::of`]).
    pub fn new(
        root: &nn::Path,
        config: &BertConfig,
        num_labels: i64,
        dropout: f64,
    ) -> Result<Self, ModelError> {
        let layout = TaskLayout::of(config)?;
        let bert = config.build(&(root / layout.prefix), !layout.roberta_head)?;
        let p = root / "classifier";
        let h = config.hidden_size;
        let head = if layout.roberta_head {
            SequenceHead::Roberta {
                dense: Linear::new(&(&p / "dense"), h, h, head_init(config))?,
                out_proj: Linear::new(&(&p / "out_proj"), h, num_labels, head_init(config))?,
            }
        } else {
            SequenceHead::Pooled(Linear::new(&p, h, num_labels, head_init(config))?)
        };
        Ok(Self {
            bert,
            head,
            dropout,
        })
    }

    /// # Shapes
    /// `input_ids`, `attention_mask`: `[batch, seq]` → logits `[batch, num_labels]`.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let hidden = self
            .bert
            .forward_t(input_ids, Some(attention_mask), None, train)?;
        match &self.head {
            SequenceHead::Pooled(classifier) => {
                let pooler = self.bert.pooler().ok_or_else(|| {
                    ModelError::InvalidConfig("classifier built without pooler".into())
                })?;
                let pooled = pooler.forward(&hidden)?.f_dropout(self.dropout, train)?;
                classifier.f_forward(&pooled)
            }
            SequenceHead::Roberta { dense, out_proj } => {
                // [batch, hidden] from the first (`<s>`) token.
                let first = hidden.f_select(1, 0)?.f_dropout(self.dropout, train)?;
                let inner = dense
                    .f_forward(&first)?
                    .f_tanh()?
                    .f_dropout(self.dropout, train)?;
                out_proj.f_forward(&inner)
            }
        }
    }
}

/// Token classification: `classifier(dropout(encoder(x)))` at every position.
/// Reference: `BertForTokenClassification` in modeling_bert.py and
/// `RobertaForTokenClassification` (both built with `add_pooling_layer=False`, hence no pooler
/// here either).
#[derive(Debug)]
pub struct TokenClassifier {
    /// The encoder (no pooler).
    pub bert: BertModel,
    classifier: Linear,
    dropout: f64,
}

impl TokenClassifier {
    /// Builds the model under `root` (`root / <prefix>`, `root / "classifier"`).
    pub fn new(
        root: &nn::Path,
        config: &BertConfig,
        num_labels: i64,
        dropout: f64,
    ) -> Result<Self, ModelError> {
        let bert = config.build(&(root / TaskLayout::of(config)?.prefix), false)?;
        let classifier = Linear::new(
            &(root / "classifier"),
            config.hidden_size,
            num_labels,
            head_init(config),
        )?;
        Ok(Self {
            bert,
            classifier,
            dropout,
        })
    }

    /// # Shapes
    /// `[batch, seq]` → logits `[batch, seq, num_labels]`.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor, ModelError> {
        let hidden = self
            .bert
            .forward_t(input_ids, Some(attention_mask), None, train)?
            .f_dropout(self.dropout, train)?;
        self.classifier.f_forward(&hidden)
    }
}

/// Copies the tensors of the safetensors file `path` into `vs`.
///
/// With `prefix` the encoder's prefix ([`TaskLayout::prefix`]), a variable `<prefix>.X`
/// matches checkpoint key `<prefix>.X` or `X`; a variable `X` matches `X` or `<prefix>.X`. Variables for which `may_be_missing(name)` holds are left at their fresh
/// initialisation when absent (new heads); any other absent variable is an error. Returns the
/// names left fresh.
pub fn load_weights(
    vs: &nn::VarStore,
    path: &Path,
    prefix: &str,
    may_be_missing: impl Fn(&str) -> bool,
) -> Result<Vec<String>, ModelError> {
    if let Err(source) = std::fs::metadata(path) {
        return Err(ModelError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    let tensors: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(path)?.into_iter().collect();
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    let mut fresh = Vec::new();
    let mut missing = Vec::new();
    // Copying into leaves that require grad must not be recorded by autograd.
    let _guard = tch::no_grad_guard();
    for (name, mut var) in variables {
        let alt = match name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            Some(bare) => bare.to_string(),
            None => format!("{prefix}.{name}"),
        };
        let src = tensors.get(&name).or_else(|| tensors.get(&alt));
        match src {
            Some(src) => {
                if src.size() != var.size() {
                    return Err(ModelError::ShapeMismatch {
                        name,
                        expected: var.size(),
                        found: src.size(),
                    });
                }
                var.f_copy_(&src.f_to_kind(var.kind())?)?;
            }
            None if may_be_missing(&name) => fresh.push(name),
            None => missing.push(name),
        }
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

/// Labels in id order from an HF config's `id2label` (`{"0": "neg", ...}`), if present.
pub fn labels_from_config(raw: &serde_json::Value) -> Option<Vec<String>> {
    let map = raw.get("id2label")?.as_object()?;
    let mut pairs: Vec<(usize, String)> = map
        .iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
        .collect();
    if pairs.len() != map.len() {
        return None;
    }
    pairs.sort();
    // Ids must be exactly 0..n, otherwise the classifier rows would not line up.
    if pairs.iter().enumerate().any(|(i, (id, _))| *id != i) {
        return None;
    }
    Some(pairs.into_iter().map(|(_, l)| l).collect())
}

/// A copy of the base `config.json` turned into a task config: `architectures`,
/// `model_type`, `id2label`, `label2id`, `num_labels` (what `AutoModelFor*` reads).
/// `architecture` comes from the base's [`TaskLayout`], and so does `model_type`.
pub fn task_config(
    base: &serde_json::Value,
    layout: &TaskLayout,
    architecture: &str,
    labels: &[String],
) -> serde_json::Value {
    let mut cfg = base.clone();
    let id2label: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), serde_json::Value::from(l.as_str())))
        .collect();
    let label2id: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), serde_json::Value::from(i)))
        .collect();
    if let Some(obj) = cfg.as_object_mut() {
        obj.insert("architectures".into(), serde_json::json!([architecture]));
        obj.insert("id2label".into(), id2label.into());
        obj.insert("label2id".into(), label2id.into());
        obj.insert("num_labels".into(), labels.len().into());
        obj.insert("model_type".into(), layout.model_type.into());
    }
    cfg
}

/// `x / max(‖x‖₂, 1e-12)` along the last dimension (as `torch.nn.functional.normalize`).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor, ModelError> {
    let norm = x
        .f_square()?
        .f_sum_dim_intlist(-1, true, Kind::Float)?
        .f_sqrt()?
        .f_clamp_min(1e-12)?;
    Ok(x.f_div(&norm)?)
}
