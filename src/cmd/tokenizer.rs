//! `mavuno tokenizer`: train a BPE/WordPiece/Unigram tokenizer, or encode with one.
use anyhow::{bail, Context};
use mavuno_stages::tokenize::{corpus, train, ModelType, Tok};
use std::path::PathBuf;

/// Tokenizer commands.
#[derive(clap::Subcommand, Debug)]
pub enum TokenizerCmd {
    /// Train a tokenizer on text, JSONL (`text`/`tokens`), CoNLL-U or CoNLL files.
    Train(TrainArgs),
    /// Encode words with a tokenizer.json and print tokens with their word indices.
    Encode {
        /// tokenizer.json (trained here or any Hugging Face one).
        #[arg(long)]
        tokenizer: PathBuf,
        /// The text (split on whitespace into words).
        text: String,
    },
}

/// `mavuno tokenizer train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Model type: bpe, wordpiece or unigram.
    #[arg(long = "type", default_value = "unigram")]
    pub model: String,
    /// Vocabulary size, special tokens included.
    #[arg(long, default_value_t = 8000)]
    pub vocab_size: usize,
    /// Minimum frequency for BPE/WordPiece merges.
    #[arg(long, default_value_t = 2)]
    pub min_frequency: u64,
    /// Output tokenizer.json.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Input files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Runs a tokenizer command.
pub fn run(cmd: TokenizerCmd) -> anyhow::Result<()> {
    match cmd {
        TokenizerCmd::Train(a) => {
            let Some(model) = ModelType::parse(&a.model) else {
                bail!(
                    "--type must be bpe, wordpiece or unigram, got {:?}",
                    a.model
                )
            };
            let mut texts = Vec::new();
            for p in &a.inputs {
                corpus::read_texts(p, |t| texts.push(t))
                    .with_context(|| format!("reading {}", p.display()))?;
            }
            let start = std::time::Instant::now();
            let n = texts.len();
            let tk = train(model, a.vocab_size, a.min_frequency, texts.into_iter())?;
            tk.save(&a.output, true)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.output.display()))?;
            eprintln!(
                "Trained {:?} tokenizer: {} sentences, vocab {}, {:.2}s -> {}",
                model,
                n,
                tk.get_vocab_size(true),
                start.elapsed().as_secs_f64(),
                a.output.display()
            );
            Ok(())
        }
        TokenizerCmd::Encode { tokenizer, text } => {
            let tok = Tok::from_file(&tokenizer)?;
            let words: Vec<&str> = text.split_whitespace().collect();
            let (ids, wid) = tok.encode_words(&words)?;
            for ((id, w), t) in ids.iter().zip(&wid).zip(tok.tokens(&ids)) {
                println!(
                    "{id}\t{t}\t{}",
                    w.map(|w| w.to_string()).unwrap_or_else(|| "-".into())
                );
            }
            Ok(())
        }
    }
}
