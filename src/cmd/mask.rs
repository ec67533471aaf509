//! `mavuno mask`: plan masked-LM corruption for tagged sentences and write one JSON
//! object per sentence, plus a summary (realised rate, masks per class, histogram).
use anyhow::Context;
use mavuno_stages::mask::plan::MaskStats;
use mavuno_stages::mask::plan_masks::PlanMasksConfig;
use mavuno_stages::mask::plan_sentence;
use mavuno_stages::tokenize::{corpus, Tok};
use std::io::Write;
use std::path::PathBuf;

/// `mavuno mask`.
#[derive(clap::Args, Debug)]
pub struct MaskArgs {
    /// token, whole_word, span (ERNIE-Gram), spanbert, lem or pos_objective.
    #[arg(long, default_value = "lem")]
    pub strategy: String,
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
    /// Selection rate (0.15).
    #[arg(long, default_value_t = 0.15)]
    pub rate: f64,
    /// Share of selected positions replaced by the mask token.
    #[arg(long, default_value_t = 0.8)]
    pub mask_prob: f64,
    /// Share replaced by a random id.
    #[arg(long, default_value_t = 0.1)]
    pub random_prob: f64,
    /// LEM: reproduce the released pass-2 counter quirk.
    #[arg(long)]
    pub lem_fill_quirk: bool,
    /// LEM p_NE (0 turns NE priority off).
    #[arg(long, default_value_t = 1.0)]
    pub lem_p_ne: f64,
    /// LEM p_verb.
    #[arg(long, default_value_t = 1.0)]
    pub lem_p_verb: f64,
    /// LEM p_noun.
    #[arg(long, default_value_t = 1.0)]
    pub lem_p_noun: f64,
    /// pos_objective: the unit's tags (comma-separated).
    #[arg(long, default_value = "NOUN,VERB", value_delimiter = ',')]
    pub pos_tags: Vec<String>,
    /// Truncate to this many tokens (LEM: 100).
    #[arg(long)]
    pub max_len: Option<usize>,
}

/// Runs `mavuno mask`.
pub fn run(a: MaskArgs) -> anyhow::Result<()> {
    let cfg = PlanMasksConfig {
        tokenizer: a.tokenizer.display().to_string(),
        strategy: a.strategy.clone(),
        rate: a.rate,
        mask_prob: a.mask_prob,
        random_prob: a.random_prob,
        lem_fill_quirk: a.lem_fill_quirk,
        lem_p_ne: a.lem_p_ne,
        lem_p_verb: a.lem_p_verb,
        lem_p_noun: a.lem_p_noun,
        span_max_n: 3,
        span_p: 0.2,
        span_max_len: 10,
        pos_tags: a.pos_tags.clone(),
        tagged_rate: 0.4,
        max_len: a.max_len,
    };
    let spec = cfg.spec().map_err(|e| anyhow::anyhow!("--strategy: {e}"))?;
    let unit_tags = cfg.unit_tags();
    let mut tok = Tok::from_file(&a.tokenizer)?;
    tok.max_len = a.max_len;
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
    summary["strategy"] = serde_json::json!(a.strategy);
    let text = serde_json::to_string_pretty(&summary)?;
    match &a.report {
        Some(r) => std::fs::write(r, text).with_context(|| format!("writing {}", r.display()))?,
        None => eprintln!("{text}"),
    }
    Ok(())
}
