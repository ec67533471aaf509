//! Subcommands of the `mavuno` binary, one module per family.

pub mod doctor;
pub mod inspect;
pub mod lid;
pub mod run;
pub mod stages;
pub mod tag;
