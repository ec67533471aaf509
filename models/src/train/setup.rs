//! Building the model of an MLM run from a tokenizer: fresh from a size preset, or loaded
//! from an HF directory for continued pre-training. Shared by `mavuno pretrain` and the
//! `train_mlm` pipeline stage, so both build identical models from identical options.

use std::path::Path;

use mavuno_stages::tokenize::Tok;
use tch::{nn, Device};

use crate::mlm::{load_mlm, Family, MlmModel, SizePreset};
use crate::ModelError;

/// Where the weights come from.
#[derive(Debug, Clone, Copy)]
pub enum ModelSource<'a> {
    /// Continue from this HF directory (`config.json` + `model.safetensors`).
    Init(&'a Path),
    /// A fresh model of this size; the family defaults to BERT for WordPiece vocabularies
    /// (`[CLS]` present), else RoBERTa.
    Fresh(SizePreset, Option<Family>),
}

/// A built model.
pub struct BuiltModel {
    /// Owns the parameters.
    pub vs: nn::VarStore,
    /// The model.
    pub model: MlmModel,
    /// Parameters initialised fresh because the init checkpoint lacked them (an MLM head).
    pub fresh: Vec<String>,
}

/// Builds the model for `tok` (seeding `tch` with `seed` first) and clamps `tok.max_len` to
/// the model's position table. Errors when the tokenizer has more ids than the model rows.
pub fn build_model(
    source: ModelSource,
    tok: &mut Tok,
    seed: u64,
    device: Device,
) -> Result<BuiltModel, ModelError> {
    tch::manual_seed(seed as i64);
    let max_len = tok.max_len.unwrap_or(128);
    let built = match source {
        ModelSource::Init(dir) => {
            let l = load_mlm(dir, device)?;
            BuiltModel {
                vs: l.vs,
                model: l.model,
                fresh: l.fresh,
            }
        }
        ModelSource::Fresh(size, family) => {
            let id = |names: &[&str]| names.iter().find_map(|n| tok.inner.token_to_id(n));
            let family = family.unwrap_or(if id(&["[CLS]"]).is_some() {
                Family::Bert
            } else {
                Family::Roberta
            });
            let pad = tok.pad_id.or_else(|| id(&["<pad>", "[PAD]"])).unwrap_or(0);
            let mut config = size.config(
                family,
                i64::from(tok.vocab.vocab_size),
                i64::from(pad),
                max_len as i64,
            );
            for (k, v) in [
                ("bos_token_id", id(&["<s>", "[CLS]"])),
                ("eos_token_id", id(&["</s>", "[SEP]"])),
            ] {
                if let Some(v) = v {
                    config.extra.insert(k.into(), v.into());
                }
            }
            let vs = nn::VarStore::new(device);
            let model = MlmModel::new(&vs.root(), &config)?;
            BuiltModel {
                vs,
                model,
                fresh: Vec::new(),
            }
        }
    };
    let enc = &built.model.config.encoder;
    if i64::from(tok.vocab.vocab_size) > enc.vocab_size {
        return Err(ModelError::Data(format!(
            "the tokenizer has {} ids but the model only {}",
            tok.vocab.vocab_size, enc.vocab_size
        )));
    }
    let offset = enc.position_offset().map_or(0, |p| p + 1);
    if (max_len as i64) + offset > enc.max_position_embeddings {
        tok.max_len = Some((enc.max_position_embeddings - offset).max(2) as usize);
    }
    Ok(built)
}
