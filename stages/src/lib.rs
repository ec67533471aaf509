//! mavuno-stages: the data stages.
//!
//! Layout: `src/<family>/<stage_type>.rs`, one stage per file. A stage file has, in
//! order: a `//!` doc with a TOML example, the `<Name>Config` struct (serde,
//! `deny_unknown_fields`, a `///` on every field: it becomes `mavuno stages` output),
//! `impl StageConfig`, the runtime `<Name>` with `impl Stage` (or `Source`), then
//! `mod tests`. Pure algorithms (segmentation, classifiers, taggers, masking) live in
//! their family's other modules and are usable without the engine.
//!
//! [`register_all`] is the single list of stage types, in the order `mavuno stages`
//! prints them.
#![warn(missing_docs)]

pub mod curriculum;
pub mod mask;
pub mod tokenize;
pub mod util;

use mavuno_pipeline::Registry;

/// Registers every stage type.
pub fn register_all(r: &mut Registry) {
    r.add::<util::passthrough::PassthroughConfig>();
    r.add::<tokenize::train_tokenizer::TrainTokenizerConfig>();
    r.add::<mask::plan_masks::PlanMasksConfig>();
    r.add::<curriculum::order_curriculum::OrderCurriculumConfig>();
}

/// A registry with every stage type.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register_all(&mut r);
    r
}
