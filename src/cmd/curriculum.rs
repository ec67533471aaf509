//! `mavuno curriculum`: print CLIMB pacing values, or order a corpus easiest first.
use anyhow::{bail, Context};
use mavuno_stages::curriculum::difficulty::{
    easiest_first, words, DifficultyScorer, KneserNey, LengthScorer, SourceScorer, Unigram,
};
use mavuno_stages::curriculum::pacing::{Pacing, PacingFn};
use std::io::{BufRead, Write};
use std::path::PathBuf;

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
    /// Score records and write them easiest first with a `difficulty` field.
    Order {
        /// length, unigram_ppl, ngram_ppl, rarity or source.
        #[arg(long)]
        scorer: String,
        /// Input: JSONL records (`text`, optional `source_name`) or plain text lines.
        #[arg(long)]
        input: PathBuf,
        /// Output JSONL.
        #[arg(short, long)]
        output: PathBuf,
        /// n-gram order for ngram_ppl.
        #[arg(long, default_value_t = 3)]
        ngram_order: usize,
        /// Source names, easiest first (comma-separated) for the source scorer.
        #[arg(long, value_delimiter = ',')]
        source_order: Vec<String>,
    },
}

/// Runs a curriculum command.
pub fn run(cmd: CurriculumCmd) -> anyhow::Result<()> {
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
            Ok(())
        }
        CurriculumCmd::Order {
            scorer,
            input,
            output,
            ngram_order,
            source_order,
        } => {
            let mut sc: Box<dyn DifficultyScorer> = match scorer.as_str() {
                "length" => Box::new(LengthScorer),
                "unigram_ppl" => Box::new(Unigram::perplexity(1.0)),
                "rarity" => Box::new(Unigram::rarity(1.0)),
                "ngram_ppl" => Box::new(KneserNey::new(ngram_order)),
                "source" if source_order.is_empty() => Box::new(SourceScorer::climb_spoken_first()),
                "source" => Box::new(SourceScorer::from_order(&source_order)),
                other => bail!("--scorer must be length, unigram_ppl, ngram_ppl, rarity or source, got {other:?}"),
            };
            let jsonl = input.to_string_lossy().contains(".json");
            let r = std::io::BufReader::new(
                std::fs::File::open(&input)
                    .with_context(|| format!("opening {}", input.display()))?,
            );
            let mut recs: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
            for (n, line) in r.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                if jsonl {
                    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
                        .with_context(|| format!("{}:{}: invalid JSON", input.display(), n + 1))?;
                    recs.push(v);
                } else {
                    let mut m = serde_json::Map::new();
                    m.insert("text".into(), serde_json::json!(line));
                    recs.push(m);
                }
            }
            let text = |m: &serde_json::Map<String, serde_json::Value>| {
                m.get("text")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let ws: Vec<Vec<String>> = recs.iter().map(|m| words(&text(m))).collect();
            sc.fit(&mut ws.clone().into_iter());
            let scores: Vec<f64> = recs
                .iter()
                .zip(&ws)
                .map(|(m, w)| sc.score(w, m.get("source_name").and_then(|s| s.as_str())))
                .collect();
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&output)
                    .with_context(|| format!("creating {}", output.display()))?,
            );
            for i in easiest_first(&scores) {
                let mut m = recs[i].clone();
                m.insert("difficulty".into(), serde_json::json!(scores[i]));
                serde_json::to_writer(&mut out, &m)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            Ok(())
        }
    }
}
