//! Subcommands of the `mavuno` binary, one module per family.
pub mod curriculum;
pub mod mask;
pub mod tokenizer;
