//! The binary's registry: the data stages of `mavuno-stages` plus the libtorch stages of
//! `mavuno-models` (training, evaluation, attacks), in the order `mavuno stages` lists them.

use mavuno_pipeline::Registry;

/// Every stage type this build knows.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    mavuno_stages::register_all(&mut r);
    mavuno_models::register_all(&mut r);
    r
}
