//! Subcommands of the `mavuno` binary, one module per family.

pub mod attack;
pub mod chain;
pub mod clean;
pub mod curriculum;
pub mod doctor;
pub mod eval;
pub mod finetune;
pub mod inspect;
pub mod k8s;
pub mod lid;
pub mod mask;
pub mod masking_args;
pub mod predict;
pub mod pretrain;
pub mod reduce;
pub mod run;
pub mod slurm;
pub mod stages;
pub mod sweep;
pub mod sweep_estimate;
pub mod tag;
pub mod tokenizer;
