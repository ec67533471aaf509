//! `mavuno-torch` has every stage type and command: nothing to hand on.

use mavuno_pipeline::Registry;
use std::path::Path;

/// Never hands a config on (see src/delegate.rs for the `mavuno` side).
pub fn for_config(_config: &Path, _sets: &[String], _registry: &Registry) {}
