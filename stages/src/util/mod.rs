//! Utility stages that belong to no family.

pub mod passthrough;
pub mod splitmix;
