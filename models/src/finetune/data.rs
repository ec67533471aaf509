//! Task data for fine-tuning, prediction and evaluation: labelled texts (TSV with a header
//! row, or JSONL), CoNLL/JSONL tagged sentences, and their encoding into padded id batches.
//!
//! TSV is read with quoting disabled because tweets (AfriSenti) contain unbalanced `"`.
//! Column names default to `text`/`label` with the dataset spellings we ship as fallbacks
//! (`tweet` in AfriSenti, `category` in MasakhaNEWS), so the shared data reads as is.

use std::path::Path;

use mavuno_stages::tokenize::corpus::{read_tagged_as, Format};
use mavuno_stages::tokenize::Tok;
use tch::{Device, Kind, Tensor};

use crate::ModelError;

/// Text column names tried in order when none is given.
pub const TEXT_COLUMNS: [&str; 4] = ["text", "tweet", "sentence", "headline"];
/// Label column names tried in order when none is given.
pub const LABEL_COLUMNS: [&str; 3] = ["label", "category", "labels"];

/// One text with its label (absent in unlabelled prediction input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledText {
    /// The text.
    pub text: String,
    /// The gold label, if the file has one.
    pub label: Option<String>,
}

/// One sentence of words with per-word tags (absent in unlabelled input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedWords {
    /// The words.
    pub words: Vec<String>,
    /// One BIO tag per word, when known.
    pub tags: Option<Vec<String>>,
}

fn data_err(path: &Path, msg: impl std::fmt::Display) -> ModelError {
    ModelError::Data(format!("{}: {msg}", path.display()))
}

fn pick_column(header: &[String], wanted: Option<&str>, fallbacks: &[&str]) -> Option<usize> {
    match wanted {
        Some(w) => header.iter().position(|h| h == w),
        None => fallbacks
            .iter()
            .find_map(|f| header.iter().position(|h| h == f)),
    }
}

/// Reads labelled texts from `.jsonl` (keys), TSV (header row) or plain text (one
/// unlabelled text per line), by the shared format rule. `text_col`/`label_col`
/// override the defaults ([`TEXT_COLUMNS`], [`LABEL_COLUMNS`]). A missing label column is
/// fine (prediction input); a missing text column is an error. `forced` overrides the
/// format rule (`--input-format`).
pub fn read_labelled(
    path: &Path,
    forced: Option<Format>,
    text_col: Option<&str>,
    label_col: Option<&str>,
) -> Result<Vec<LabelledText>, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let fmt = Format::of_input(path, forced);
    if fmt == Format::Text {
        // Plain text (the shared format rule): one unlabelled text per non-blank line.
        let text = std::fs::read_to_string(path).map_err(io)?;
        return Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| LabelledText {
                text: l.to_string(),
                label: None,
            })
            .collect());
    }
    if matches!(fmt, Format::Parquet | Format::Conll | Format::Conllu) {
        return Err(data_err(
            path,
            format!("reads as {fmt}; labelled texts come from .jsonl, .tsv or plain text"),
        ));
    }
    if fmt == Format::Jsonl {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| data_err(path, format!("line {}: {e}", n + 1)))?;
            let get = |wanted: Option<&str>, fallbacks: &[&str]| -> Option<String> {
                let keys: Vec<&str> = wanted.map_or_else(|| fallbacks.to_vec(), |w| vec![w]);
                keys.iter().find_map(|k| match v.get(k)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                })
            };
            let t = get(text_col, &TEXT_COLUMNS)
                .ok_or_else(|| data_err(path, format!("line {}: no text field", n + 1)))?;
            out.push(LabelledText {
                text: t,
                label: get(label_col, &LABEL_COLUMNS),
            });
        }
        return Ok(out);
    }
    // Quoting off first (AfriSenti tweets carry stray `"`); if rows then disagree with the
    // header's width, the file uses real CSV quoting (MasakhaNEWS eng has quoted multi-line
    // texts), so read it again with quoting on.
    let (header, mut records) = parse_tsv(path, false)?;
    if records.iter().any(|r| r.len() != header.len()) {
        if let Ok((h2, r2)) = parse_tsv(path, true) {
            if r2.iter().all(|r| r.len() == h2.len()) {
                records = r2;
            }
        }
    }
    let ti = pick_column(&header, text_col, &TEXT_COLUMNS)
        .ok_or_else(|| data_err(path, format!("no text column in header {header:?}")))?;
    let li = pick_column(&header, label_col, &LABEL_COLUMNS);
    let mut out = Vec::new();
    for rec in records {
        let Some(t) = rec.get(ti) else { continue };
        out.push(LabelledText {
            text: t.to_string(),
            label: li.and_then(|i| rec.get(i)).map(str::to_string),
        });
    }
    Ok(out)
}

/// Header and records of a tab-separated file, with or without CSV quoting.
fn parse_tsv(
    path: &Path,
    quoting: bool,
) -> Result<(Vec<String>, Vec<csv::StringRecord>), ModelError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(quoting)
        .flexible(true)
        .has_headers(true)
        .from_path(path)
        .map_err(|e| data_err(path, e))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| data_err(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    let records = rdr
        .records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| data_err(path, e))?;
    Ok((header, records))
}

/// Reads tagged sentences (CoNLL `word tag` blocks, or JSONL with `tokens`/`ner_tags`).
/// Sentences whose tags are all known keep them; plain text yields untagged sentences.
/// `forced` overrides the format rule (`--input-format`).
pub fn read_tagged_words(
    path: &Path,
    forced: Option<Format>,
) -> Result<Vec<TaggedWords>, ModelError> {
    let mut out = Vec::new();
    read_tagged_as(path, Format::of_input(path, forced), |s| {
        let tags: Option<Vec<String>> = s.ner.iter().cloned().collect();
        out.push(TaggedWords {
            words: s.words,
            tags,
        });
    })
    .map_err(|e| data_err(path, e))?;
    Ok(out)
}

/// Reads POS-tagged sentences (CoNLL `word tag`, CoNLL-U UPOS, JSONL `pos_tags`) as
/// [`TaggedWords`] whose `tags` are the POS tags. A sentence with an untagged word is an
/// error naming it, not a silent skip. `forced` overrides the format rule.
pub fn read_pos_words(path: &Path, forced: Option<Format>) -> Result<Vec<TaggedWords>, ModelError> {
    let mut out = Vec::new();
    let mut untagged = None;
    read_tagged_as(path, Format::of_input(path, forced), |s| {
        let tags: Option<Vec<String>> = s.pos.into_iter().collect();
        if tags.is_none() && untagged.is_none() {
            untagged = Some(out.len() + 1);
        }
        out.push(TaggedWords {
            words: s.words,
            tags,
        });
    })
    .map_err(|e| data_err(path, e))?;
    match untagged {
        Some(n) => Err(data_err(
            path,
            format!("sentence {n} has words without a POS tag (a BIO tag, or none)"),
        )),
        None => Ok(out),
    }
}

/// Loads `dir/tokenizer.json`, truncating encodings to `max_len` tokens.
pub fn load_tokenizer(dir: &Path, max_len: usize) -> Result<Tok, ModelError> {
    let path = dir.join("tokenizer.json");
    let mut tok = Tok::from_file(&path)
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
    tok.max_len = Some(max_len);
    Ok(tok)
}

/// Keeps at most `max_len` tokens, keeping the closing special token (`[SEP]`) when there is
/// one, as HF truncation does.
fn truncate(ids: &mut Vec<i64>, last_is_special: bool, max_len: usize) {
    if ids.len() <= max_len || max_len < 2 {
        return;
    }
    let last = ids[ids.len() - 1];
    if last_is_special {
        ids.truncate(max_len - 1);
        ids.push(last);
    } else {
        ids.truncate(max_len);
    }
}

/// Token ids of `text` with special tokens, truncated to `tok.max_len`.
pub fn encode_text(tok: &Tok, text: &str) -> Result<Vec<i64>, ModelError> {
    let enc = tok
        .inner
        .encode(text, true)
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    let mut ids: Vec<i64> = enc.get_ids().iter().map(|&i| i64::from(i)).collect();
    let last_special = enc
        .get_special_tokens_mask()
        .last()
        .is_some_and(|&m| m == 1);
    truncate(&mut ids, last_special, tok.max_len.unwrap_or(usize::MAX));
    Ok(ids)
}

/// Ids of pre-split `words` plus, per token, the index of the word it starts (`Some(w)` on a
/// word's first subword only; continuation subwords and specials get `None`). Word labels go on
/// first subwords, as in HF's token-classification example.
pub fn encode_words(
    tok: &Tok,
    words: &[String],
) -> Result<(Vec<i64>, Vec<Option<usize>>), ModelError> {
    let (ids, wids) = tok
        .encode_words(words)
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    let mut prev = None;
    let firsts = wids
        .iter()
        .map(|w| {
            let first = match w {
                Some(w) if prev != Some(*w) => Some(*w as usize),
                _ => None,
            };
            prev = *w;
            first
        })
        .collect();
    Ok((ids.into_iter().map(i64::from).collect(), firsts))
}

/// Pads sequences to the longest with `pad_id`: ids and the 1/0 attention mask, both
/// `[batch, longest]` int64 on `device`.
pub fn pad_batch(
    seqs: &[Vec<i64>],
    pad_id: i64,
    device: Device,
) -> Result<(Tensor, Tensor), ModelError> {
    let longest = seqs.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * longest);
    let mut mask = Vec::with_capacity(seqs.len() * longest);
    for s in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad_id, longest - s.len()));
        mask.extend(std::iter::repeat_n(1i64, s.len()));
        mask.extend(std::iter::repeat_n(0i64, longest - s.len()));
    }
    let shape = [seqs.len() as i64, longest as i64];
    let ids = Tensor::f_from_slice(&ids)?
        .f_view(shape)?
        .f_to_device(device)?;
    let mask = Tensor::f_from_slice(&mask)?
        .f_view(shape)?
        .f_to_device(device)?;
    Ok((ids, mask.f_to_kind(Kind::Int64)?))
}

/// Pads per-token label rows with -100 (ignored by the loss) to `[batch, longest]`.
pub fn pad_labels(rows: &[Vec<i64>], device: Device) -> Result<Tensor, ModelError> {
    pad_batch(rows, -100, device).map(|(t, _)| t)
}

/// The tokenizer's pad id (0 when it has none, which is BERT's `[PAD]`).
pub fn pad_id(tok: &Tok) -> i64 {
    tok.pad_id.map_or(0, i64::from)
}
