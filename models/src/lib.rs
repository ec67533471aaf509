//! mavuno-models: everything that needs libtorch (tch).
//!
//! Encoders with HF-identical parameter names (so local HF checkpoints load offline and trained
//! models export back), masked-LM heads and pre-training (`mlm`, `train`, `hf`), device selection
//! and the `mavuno doctor` device report. See DESIGN.md, section "Models".

pub mod attack;
pub mod bert;
pub mod device;
pub mod error;
pub mod eval;
pub mod finetune;
pub mod heads;
pub mod hf;
pub mod layers;
pub mod mlm;
pub mod stages;
pub mod train;

/// Re-exported so the binary uses the same tch without its own dependency line.
pub use tch;
pub mod victims;

pub use device::{device_report, pick_device, DeviceReport};
pub use error::ModelError;

/// Registers the stage types that need libtorch (training, evaluation, attacks) into the
/// binary's registry, after the data stages of `mavuno-stages`.
pub fn register_all(r: &mut mavuno_pipeline::Registry) {
    stages::register(r);
}
pub use eval::{Encoder, Pooling};
pub use finetune::{Classifier, Tagger};
