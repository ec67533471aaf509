//! The subcommands `mavuno` runs itself (no libtorch); the others go to `mavuno-torch`
//! (src/delegate.rs). The files are shared with `mavuno-torch`'s `cmd` module.

#[path = "cmd/chain.rs"]
pub mod chain;
#[path = "cmd/clean.rs"]
pub mod clean;
#[path = "cmd/curriculum.rs"]
pub mod curriculum;
#[path = "cmd/inspect.rs"]
pub mod inspect;
#[path = "cmd/k8s.rs"]
pub mod k8s;
#[path = "cmd/lid.rs"]
pub mod lid;
#[path = "cmd/mask.rs"]
pub mod mask;
#[path = "cmd/masking_args.rs"]
pub mod masking_args;
#[path = "cmd/reduce.rs"]
pub mod reduce;
#[path = "cmd/run.rs"]
pub mod run;
#[path = "cmd/slurm.rs"]
pub mod slurm;
#[path = "cmd/sweep.rs"]
pub mod sweep;
#[path = "cmd/sweep_estimate.rs"]
pub mod sweep_estimate;
#[path = "cmd/tag.rs"]
pub mod tag;
#[path = "cmd/tokenizer.rs"]
pub mod tokenizer;
