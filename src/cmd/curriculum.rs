//! `mavuno curriculum`: print CLIMB pacing values, or order a corpus easiest first.
use crate::verb::{Verb, VerbArgs};
use anyhow::bail;
use mavuno_stages::curriculum::pacing::{Pacing, PacingFn};
use std::path::PathBuf;
use toml::{Table, Value};

/// Curriculum commands.
#[derive(clap::Subcommand, Debug)]
pub enum CurriculumCmd {
    /// Print the pacing value p at the given steps.
    Pacing {
        /// linear, quad, root, log, exp or step.
        #[arg(long = "fn")]
        shape: String,
        /// Total training steps.
        #[arg(long, default_value_t = 400_000)]
        steps: u64,
        /// start_percent.
        #[arg(long, default_value_t = 0.0625)]
        start: f64,
        /// end_percent.
        #[arg(long, default_value_t = 0.875)]
        end: f64,
        /// Starting difficulty b.
        #[arg(long, default_value_t = 0.1)]
        b: f64,
        /// Steps to evaluate, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        at: Vec<u64>,
    },
    /// Score records and write them easiest first with a `difficulty` field: the
    /// `order_curriculum` stage as a one-stage plan (its manifest, `curriculum.json`,
    /// goes to the run directory).
    Order(OrderArgs),
}

/// `mavuno curriculum order`; unset flags take the stage's defaults.
#[derive(clap::Args, Debug)]
pub struct OrderArgs {
    /// length, unigram_ppl, ngram_ppl, rarity or source.
    #[arg(long)]
    pub scorer: String,
    /// Input: JSONL records (`text`, optional `source_name`), plain text lines, or any
    /// format a reader takes.
    #[arg(long)]
    pub input: PathBuf,
    /// Output: .jsonl (.zst/.gz), .parquet or .txt.
    #[arg(short, long)]
    pub output: PathBuf,
    /// n-gram order for ngram_ppl (the stage's default: 3).
    #[arg(long)]
    pub ngram_order: Option<usize>,
    /// Source names, easiest first (comma-separated) for the source scorer.
    #[arg(long, value_delimiter = ',')]
    pub source_order: Vec<String>,
    #[command(flatten)]
    pub verb: VerbArgs,
}

impl OrderArgs {
    /// The verb's plan.
    pub fn plan(&self) -> Verb<'_> {
        let mut stage = Table::new();
        stage.insert("type".into(), Value::String("order_curriculum".into()));
        stage.insert("scorer".into(), Value::String(self.scorer.clone()));
        stage.insert("path".into(), Value::String("curriculum.json".into()));
        if let Some(n) = self.ngram_order {
            stage.insert("ngram_order".into(), Value::Integer(n as i64));
        }
        if !self.source_order.is_empty() {
            let names = self.source_order.iter().cloned().map(Value::String);
            stage.insert("source_order".into(), Value::Array(names.collect()));
        }
        Verb {
            verb: "curriculum-order",
            stage,
            inputs: std::slice::from_ref(&self.input),
            text_field: None,
            output: Some(&self.output),
            writer: Table::new(),
            args: &self.verb,
        }
    }
}

/// Runs a curriculum command.
pub fn run(cmd: CurriculumCmd) -> anyhow::Result<i32> {
    match cmd {
        CurriculumCmd::Pacing {
            shape,
            steps,
            start,
            end,
            b,
            at,
        } => {
            let Some(f) = PacingFn::parse(&shape) else {
                bail!("--fn must be linear, quad, root, log, exp or step, got {shape:?}")
            };
            let p = Pacing {
                total_steps: steps,
                start_percent: start,
                end_percent: end,
                b,
                ..Pacing::climb(f)
            };
            p.check().map_err(anyhow::Error::msg)?;
            for s in at {
                println!("{s}\t{:.3}", p.at(s));
            }
            Ok(0)
        }
        CurriculumCmd::Order(a) => a.plan().run(),
    }
}
