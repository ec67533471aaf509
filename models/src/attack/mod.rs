//! Adversarial attacks on text classifiers: the MLM synonym attack of SEEDS.md §3 (deletion
//! importance → fill-mask candidates → stopword/stem/POS/similarity filters → substitution),
//! transfer of adversarial examples to other victims, and label-preserving augmentation with the
//! same generator and filters.
//!
//! - [`traits`]: `Victim`, `CandidateGenerator`, `SentenceEncoder` (all batched).
//! - [`attack`]: the algorithm and its metrics.
//! - [`filters`]: candidate filters and their counters.
//! - [`mlm`]: fill-mask generator over any `mlm::load_mlm` checkpoint (`MlmCandidates`) and
//!   mean-pooled encoder (`MeanPooledEncoder`).
//! - [`transfer`], [`augment`]: replaying adversarial examples; data augmentation.

#[allow(clippy::module_inception)]
pub mod attack;
pub mod augment;
pub mod filters;
pub mod mlm;
pub mod traits;
pub mod transfer;

pub use attack::{
    AttackConfig, Attacker, CandidateConfig, ExampleResult, Importance, Search, Substitution,
    Summary,
};
pub use filters::FilterCounts;
pub use mlm::{MeanPooledEncoder, MlmCandidates};
pub use traits::{CandidateGenerator, SentenceEncoder, Victim, MASK_SENTINEL};
