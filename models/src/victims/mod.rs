//! Non-transformer victims for the attack (SEEDS.md §3.2): a Kim-2014 word-CNN and a BiLSTM,
//! trained from scratch on CPU in seconds to minutes, with a vocabulary from the shared word
//! segmentation (`mavuno_stages::text::segment::words`) so that Sinhala/Tamil/Ge'ez words are the
//! same units the attack substitutes.
//!
//! A victim directory holds `victim.json` (architecture, labels, sizes), `vocab.txt` (one word
//! per line, line number = id) and `model.safetensors` (PyTorch parameter names).

pub mod data;
pub mod word;

use std::path::Path;

use tch::Device;

use crate::attack::Victim;
use crate::ModelError;

pub use data::read_labeled;
pub use word::{Arch, TrainOptions, TrainReport, WordVictim};

/// Loads any supported victim from `dir`, detected by its files.
///
/// - `victim.json` → word-CNN / BiLSTM ([`WordVictim`]).
/// - `config.json` + `model.safetensors`: a fine-tuned sequence classifier of any family that
///   `mavuno finetune` writes (BERT, RoBERTa, pre-LN RoBERTa), through
///   [`crate::finetune::Classifier`].
pub fn load_victim(dir: &Path, device: Device) -> Result<Box<dyn Victim + Send>, ModelError> {
    if dir.join("victim.json").is_file() {
        return Ok(Box::new(WordVictim::load(dir, device)?));
    }
    if dir.join("config.json").is_file() {
        return Ok(Box::new(crate::finetune::Classifier::load(dir, device)?));
    }
    Err(ModelError::InvalidConfig(format!(
        "{}: not a victim directory (expected victim.json for a word-CNN/BiLSTM, or a fine-tuned \
         classifier's config.json)",
        dir.display()
    )))
}
