//! `mavuno tokenizer`: train a BPE/WordPiece/Unigram tokenizer, or encode with one.
use crate::verb::{Verb, VerbArgs};
use mavuno_stages::tokenize::Tok;
use std::path::PathBuf;
use toml::{Table, Value};

/// Tokenizer commands.
#[derive(clap::Subcommand, Debug)]
pub enum TokenizerCmd {
    /// Train a tokenizer (the `train_tokenizer` stage) on text, JSONL, CoNLL-U or CoNLL files.
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

/// `mavuno tokenizer train`: the `train_tokenizer` stage as a one-stage plan
/// ([`crate::verb`]); unset flags take the stage's defaults.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Model type: bpe, wordpiece or unigram (the stage's `model`).
    #[arg(long = "type", default_value = "unigram")]
    pub model: String,
    /// Vocabulary size, special tokens included (the stage's default: 8000).
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Minimum frequency for BPE/WordPiece merges (the stage's default: 2).
    #[arg(long)]
    pub min_frequency: Option<u64>,
    /// Output tokenizer.json.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Input files: text, JSONL (`text`), CoNLL, CoNLL-U, TSV or Parquet.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The text column of JSONL, Parquet and TSV inputs (default `text`).
    #[arg(long)]
    pub text_field: Option<String>,
    #[command(flatten)]
    pub verb: VerbArgs,
}

impl TrainArgs {
    /// The verb's plan.
    pub fn plan(&self) -> anyhow::Result<Verb<'_>> {
        let mut stage = Table::new();
        stage.insert("type".into(), Value::String("train_tokenizer".into()));
        stage.insert("model".into(), Value::String(self.model.clone()));
        if let Some(v) = self.vocab_size {
            stage.insert("vocab_size".into(), Value::Integer(v as i64));
        }
        if let Some(m) = self.min_frequency {
            stage.insert("min_frequency".into(), Value::Integer(m as i64));
        }
        let out = crate::verb::absolute(&self.output)?;
        stage.insert("path".into(), Value::String(out.display().to_string()));
        Ok(Verb {
            verb: "tokenizer-train",
            stage,
            inputs: &self.inputs,
            text_field: self.text_field.as_deref(),
            output: None,
            writer: Table::new(),
            args: &self.verb,
        })
    }
}

/// Runs a tokenizer command.
pub fn run(cmd: TokenizerCmd) -> anyhow::Result<i32> {
    match cmd {
        TokenizerCmd::Train(a) => a.plan()?.run(),
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
            Ok(0)
        }
    }
}
