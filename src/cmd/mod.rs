//! Subcommands of the `mavuno` binary, one module per family.
pub mod tag;
