//! mavuno-models: everything that needs libtorch (tch).
//!
//! Encoders with HF-identical parameter names (so local HF checkpoints load offline and trained
//! models export back), device selection and the `mavuno doctor` device report. See DESIGN.md,
//! section "Models".

pub mod attack;
pub mod bert;
pub mod device;
pub mod error;
pub mod layers;
pub mod victims;

pub use device::{device_report, pick_device, DeviceReport};
pub use error::ModelError;
