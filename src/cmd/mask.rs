//! `mavuno mask`: plan masked-LM corruption for tagged sentences and write one JSON
//! object per sentence, plus a summary (realised rate, masks per class, histogram).
use crate::cmd::masking_args::MaskingArgs;
use anyhow::Context;
use mavuno_stages::mask::plan::MaskStats;
use mavuno_stages::mask::plan_masks::PlanMasksConfig;
use mavuno_stages::mask::plan_sentence;
use mavuno_stages::tokenize::{corpus, Tok};
use std::io::Write;
use std::path::PathBuf;

/// `mavuno mask`. Options are overrides on `plan_masks`'s config ([`PlanMasksConfig`]):
/// whatever is not given keeps that stage's default, so the verb and the stage cannot drift.
#[derive(clap::Args, Debug)]
pub struct MaskArgs {
    /// Masking spec and its overrides (shared with `mavuno pretrain`).
    #[command(flatten)]
    pub masking: MaskingArgs,
    /// tokenizer.json.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Tagged input: CoNLL-U, CoNLL (word + POS or BIO NER), or JSONL with tokens/pos_tags/ner_tags.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Output JSONL.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Seed; sentence k uses the RNG of (seed, k).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the summary JSON here instead of stderr.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Share of selected positions replaced by the mask token.
    #[arg(long)]
    pub mask_prob: Option<f64>,
    /// Share replaced by a random id.
    #[arg(long)]
    pub random_prob: Option<f64>,
    /// pos_objective: the unit's tags (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub pos_tags: Option<Vec<String>>,
    /// Truncate to this many tokens (LEM: 100).
    #[arg(long)]
    pub max_len: Option<usize>,
}

/// The stage config these arguments describe: the stage's serde defaults, then each flag
/// given.
pub fn config(a: &MaskArgs) -> anyhow::Result<PlanMasksConfig> {
    let mut cfg: PlanMasksConfig = serde_json::from_value(
        serde_json::json!({"tokenizer": a.tokenizer.display().to_string()}),
    )?;
    a.masking.apply(&mut cfg.masking)?;
    cfg.mask_prob = a.mask_prob.unwrap_or(cfg.mask_prob);
    cfg.random_prob = a.random_prob.unwrap_or(cfg.random_prob);
    if let Some(t) = &a.pos_tags {
        cfg.pos_tags = t.clone();
    }
    cfg.max_len = a.max_len.or(cfg.max_len);
    Ok(cfg)
}

/// Runs `mavuno mask`.
pub fn run(a: MaskArgs) -> anyhow::Result<()> {
    let cfg = config(&a)?;
    let spec = cfg.spec().map_err(|e| anyhow::anyhow!("--masking: {e}"))?;
    let unit_tags = cfg.unit_tags();
    let mut tok = Tok::from_file(&a.tokenizer)?;
    tok.max_len = cfg.max_len;
    let f = std::fs::File::create(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let mut stats = MaskStats::default();
    let mut index = 0u64;
    let mut err: Option<anyhow::Error> = None;
    for p in &a.input {
        corpus::read_tagged(p, |s| {
            if err.is_some() {
                return;
            }
            let res = plan_sentence(&tok, &s, &spec, &unit_tags, a.seed, index)
                .map_err(anyhow::Error::from)
                .and_then(|ps| {
                    ps.add_to(&mut stats);
                    let mut m = ps.to_fields(tok.vocab.mask_id);
                    m.insert("tokens".into(), serde_json::json!(tok.tokens(&ps.ids)));
                    m.insert("words".into(), serde_json::json!(s.words));
                    serde_json::to_writer(&mut w, &m)?;
                    w.write_all(b"\n")?;
                    Ok(())
                });
            index += 1;
            if let Err(e) = res {
                err = Some(e);
            }
        })
        .with_context(|| format!("reading {}", p.display()))?;
        if let Some(e) = err.take() {
            return Err(e.context(format!("planning {}", p.display())));
        }
    }
    w.flush()?;
    let mut summary = stats.summary();
    summary["strategy"] = serde_json::json!(cfg.masking.0.name());
    summary["masking"] = serde_json::to_value(&cfg.masking)?;
    let text = serde_json::to_string_pretty(&summary)?;
    match &a.report {
        Some(r) => std::fs::write(r, text).with_context(|| format!("writing {}", r.display()))?,
        None => eprintln!("{text}"),
    }
    Ok(())
}
