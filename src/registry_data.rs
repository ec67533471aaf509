//! `mavuno`'s registry: the data stages of `mavuno-stages`. Configs that name a libtorch
//! stage type run in `mavuno-torch` (src/delegate.rs), whose registry has both.

use mavuno_pipeline::Registry;

/// Every stage type this binary runs itself.
pub fn registry() -> Registry {
    mavuno_stages::registry()
}
