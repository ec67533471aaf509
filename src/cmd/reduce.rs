//! `mavuno reduce`: the middle phase of a global stage in a sharded run. After every
//! shard's `mavuno run --shard i/n` wrote its map file, the reduce decides globally and
//! writes each shard's decisions; each shard then reruns and continues. For a stage that
//! orders the corpus (`order_curriculum`), `--merge` after the last shard run merges the
//! shards' outputs in the global order.

use anyhow::Result;
use clap::Args;
use mavuno_pipeline::run::{self, RunOptions};

/// `mavuno reduce`.
#[derive(Args, Debug)]
pub struct ReduceArgs {
    #[command(flatten)]
    pub cfg: crate::cmd::run::ConfigArgs,
    /// The global stage (dedup_exact, dedup_near, order_curriculum) to reduce.
    #[arg(long)]
    pub stage: String,
    /// Part k of K of the stage's keys (keys mod K), so K tasks share the work and
    /// memory. dedup_exact writes the decisions of its part; dedup_near writes the
    /// candidate pairs of its band keys, and with K > 1 needs the `--cluster` step after
    /// all K parts (with 0/1 it clusters at once). Default 0/1.
    #[arg(long, value_name = "K/N", value_parser = crate::cmd::run::parse_shard, default_value = "0/1", conflicts_with_all = ["cluster", "merge"])]
    pub band_range: (u64, u64),
    /// dedup_near: join the candidate pairs of every band range (run after all K
    /// `--band-range k/K` tasks) into each shard's decisions.
    #[arg(long, conflicts_with = "merge")]
    pub cluster: bool,
    /// order_curriculum: after every shard ran to the end, merge the shards' JSON-lines
    /// outputs of the writers after the stage by global rank (`curriculum_rank`) into
    /// the unsharded run directory: the single run's files.
    #[arg(long)]
    pub merge: bool,
}

/// Runs the reduce; prints its statistics as JSON on stdout.
pub fn run(args: ReduceArgs) -> Result<i32> {
    let plan = match crate::cmd::run::load(&args.cfg) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let opts = RunOptions {
        workdir: args.cfg.workdir.clone(),
        shard: None,
        progress: false,
    };
    let t = std::time::Instant::now();
    let (result, done) = if args.merge {
        (
            run::merge(&plan, &opts, &args.stage),
            format!("Merge of the shards' outputs after {} done in", args.stage),
        )
    } else {
        let step = if args.cluster {
            "cluster step".to_string()
        } else {
            format!("range {}/{}", args.band_range.0, args.band_range.1)
        };
        (
            run::reduce(&plan, &opts, &args.stage, args.band_range, args.cluster),
            format!("Reduce of {} {step} done in", args.stage),
        )
    };
    match result {
        Ok(stats) => {
            println!("{}", serde_json::to_string_pretty(&stats)?);
            let next = if args.merge {
                "the single run's files are in the run directory.".to_string()
            } else {
                "when every range (and, for dedup_near with several ranges, the cluster step) is done, rerun every shard to continue.".to_string()
            };
            eprintln!("{done} {:.2} s; {next}", t.elapsed().as_secs_f64());
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(e.exit_code())
        }
    }
}
