//! Reading sentences from the files the CLI takes: plain text (one sentence a line),
//! JSONL (`text`, or `tokens` joined by spaces), CoNLL-U (`# text =` or the FORM column)
//! and two-column CoNLL (word and tag, blank line between sentences). Tagged sentences
//! (words plus POS and NER tags) come from the same formats.
use mavuno_pipeline::{DataError, StageError};
use std::io::BufRead;
use std::path::Path;

/// The shared format map ([`crate::read::format`]); the name `Format` stays for callers.
pub use crate::read::format::FileFormat as Format;

/// An error for a format these sentence readers do not take.
fn unsupported(path: &Path, fmt: Format) -> StageError {
    DataError::new(
        path.display().to_string(),
        0,
        format!("{fmt} files hold no sentences to read here (use text, jsonl, conll or conllu)"),
    )
    .into()
}

/// One sentence with per-word tags, as the masking CLI and stage read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaggedSentence {
    /// The words.
    pub words: Vec<String>,
    /// POS tag per word, if known.
    pub pos: Vec<Option<String>>,
    /// NER (BIO) tag per word, if known.
    pub ner: Vec<Option<String>>,
}

impl TaggedSentence {
    /// The words joined by single spaces.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }
}

fn io_err(path: &Path, e: std::io::Error) -> StageError {
    StageError::io(path, e)
}

/// Reads every tagged sentence of `path` and calls `f` on each. JSONL lines without
/// `tokens` fall back to the whitespace words of `text` (untagged).
pub fn read_tagged(path: &Path, f: impl FnMut(TaggedSentence)) -> Result<(), StageError> {
    read_tagged_as(path, Format::guess(path), f)
}

/// [`read_tagged`] with the format given (`--input-format`) instead of guessed.
pub fn read_tagged_as(
    path: &Path,
    fmt: Format,
    mut f: impl FnMut(TaggedSentence),
) -> Result<(), StageError> {
    if matches!(
        fmt,
        Format::Parquet | Format::Tsv | Format::Csv | Format::Warc | Format::Wet
    ) {
        return Err(unsupported(path, fmt));
    }
    let reader = mavuno_pipeline::io::open_read(path)?;
    let file = path.display().to_string();
    let mut cur = TaggedSentence::default();
    // CoNLL files: decide BIO vs POS on the fly per tag (B-/I-/O are NER).
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| io_err(path, e))?;
        let line_no = n as u64 + 1;
        match fmt {
            Format::Text => {
                let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
                if !words.is_empty() {
                    let k = words.len();
                    f(TaggedSentence {
                        words,
                        pos: vec![None; k],
                        ner: vec![None; k],
                    });
                }
            }
            Format::Jsonl => {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|e| DataError::new(&file, line_no, format!("invalid JSON: {e}")))?;
                f(tagged_from_json(&v).map_err(|m| DataError::new(&file, line_no, m))?);
            }
            Format::Parquet | Format::Tsv | Format::Csv | Format::Warc | Format::Wet => {
                return Err(unsupported(path, fmt))
            }
            Format::Conllu | Format::Conll => {
                let t = line.trim_end();
                if t.is_empty() {
                    if !cur.words.is_empty() {
                        f(std::mem::take(&mut cur));
                    }
                    continue;
                }
                if t.starts_with('#') {
                    continue;
                }
                if fmt == Format::Conllu {
                    let cols: Vec<&str> = t.split('\t').collect();
                    if cols.len() < 4 {
                        return Err(DataError::new(
                            &file,
                            line_no,
                            format!("expected 10 tab-separated columns, got {}", cols.len()),
                        )
                        .into());
                    }
                    // Multi-word token ranges (1-2) and empty nodes (1.1) are not words.
                    if cols[0].contains('-') || cols[0].contains('.') {
                        continue;
                    }
                    cur.words.push(cols[1].to_string());
                    cur.pos.push(Some(cols[3].to_string()));
                    cur.ner.push(None);
                } else {
                    let mut it = t.split_whitespace();
                    let (Some(w), tag) = (it.next(), it.last()) else {
                        continue;
                    };
                    cur.words.push(w.to_string());
                    match tag {
                        Some(tag)
                            if tag == "O" || tag.starts_with("B-") || tag.starts_with("I-") =>
                        {
                            cur.ner.push(Some(tag.to_string()));
                            cur.pos.push(None);
                        }
                        Some(tag) => {
                            cur.pos.push(Some(tag.to_string()));
                            cur.ner.push(None);
                        }
                        None => {
                            cur.pos.push(None);
                            cur.ner.push(None);
                        }
                    }
                }
            }
        }
    }
    if !cur.words.is_empty() {
        f(cur);
    }
    Ok(())
}

/// A tagged sentence from a JSON object with `tokens` (+ optional `pos_tags`,
/// `ner_tags`: strings, or integers for NER where non-zero means an entity), or `text`.
pub fn tagged_from_json(v: &serde_json::Value) -> Result<TaggedSentence, String> {
    let tag_list = |key: &str, n: usize| -> Result<Vec<Option<String>>, String> {
        match v.get(key) {
            None | Some(serde_json::Value::Null) => Ok(vec![None; n]),
            Some(serde_json::Value::Array(a)) => {
                if a.len() != n {
                    return Err(format!(
                        "field `{key}` has {} entries for {n} tokens",
                        a.len()
                    ));
                }
                Ok(a.iter()
                    .map(|x| match x {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(k) => Some(if k.as_u64() == Some(0) {
                            "O".into()
                        } else {
                            k.to_string()
                        }),
                        _ => None,
                    })
                    .collect())
            }
            Some(_) => Err(format!("field `{key}` must be an array")),
        }
    };
    let words: Vec<String> = match v.get("tokens") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("field `tokens` must hold strings")?,
        Some(_) => return Err("field `tokens` must be an array of strings".into()),
        None => match v.get("text").and_then(|t| t.as_str()) {
            Some(t) => t.split_whitespace().map(str::to_string).collect(),
            None => return Err("needs `tokens` or `text`".into()),
        },
    };
    let n = words.len();
    Ok(TaggedSentence {
        pos: tag_list("pos_tags", n)?,
        ner: tag_list("ner_tags", n)?,
        words,
    })
}

/// Reads the sentences of `path` as plain strings (for tokenizer training).
pub fn read_texts(path: &Path, f: impl FnMut(String)) -> Result<(), StageError> {
    read_texts_as(path, Format::guess(path), f)
}

/// [`read_texts`] with the format given (`--input-format`) instead of guessed.
pub fn read_texts_as(
    path: &Path,
    format: Format,
    mut f: impl FnMut(String),
) -> Result<(), StageError> {
    match format {
        Format::Text => {
            let reader = mavuno_pipeline::io::open_read(path)?;
            for line in reader.lines() {
                let line = line.map_err(|e| io_err(path, e))?;
                if !line.trim().is_empty() {
                    f(line);
                }
            }
            Ok(())
        }
        Format::Jsonl => {
            let reader = mavuno_pipeline::io::open_read(path)?;
            let file = path.display().to_string();
            for (n, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| io_err(path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
                    DataError::new(&file, n as u64 + 1, format!("invalid JSON: {e}"))
                })?;
                match v.get("text").and_then(|t| t.as_str()) {
                    Some(t) => f(t.to_string()),
                    None => f(tagged_from_json(&v)
                        .map_err(|m| DataError::new(&file, n as u64 + 1, m))?
                        .text()),
                }
            }
            Ok(())
        }
        Format::Conllu | Format::Conll => read_tagged(path, |s| f(s.text())),
        fmt @ (Format::Parquet | Format::Tsv | Format::Csv | Format::Warc | Format::Wet) => {
            Err(unsupported(path, fmt))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_conllu_conll_and_jsonl() {
        let dir = tempfile::tempdir().unwrap();
        let u = dir.path().join("a.conllu");
        std::fs::write(
            &u,
            "# text = x\n1-2\tab\t_\t_\n1\ta\ta\tNOUN\n2\tb\tb\tVERB\n\n1\tc\tc\tADJ\n",
        )
        .unwrap();
        let mut got = Vec::new();
        read_tagged(&u, |s| got.push(s)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].words, ["a", "b"]);
        assert_eq!(got[0].pos[1].as_deref(), Some("VERB"));
        let c = dir.path().join("train.txt");
        std::fs::write(&c, "Bàbá O\nGàní B-PER\n\nx NOUN\n").unwrap();
        let mut got = Vec::new();
        read_tagged(&c, |s| got.push(s)).unwrap();
        assert_eq!(got[0].ner[1].as_deref(), Some("B-PER"));
        assert_eq!(got[1].pos[0].as_deref(), Some("NOUN"));
        let j = dir.path().join("x.jsonl");
        std::fs::write(
            &j,
            "{\"tokens\":[\"a\",\"b\"],\"ner_tags\":[0,3]}\n{\"text\":\"p q\"}\n",
        )
        .unwrap();
        let mut got = Vec::new();
        read_texts(&j, |s| got.push(s)).unwrap();
        assert_eq!(got, ["a b", "p q"]);
        let mut t = Vec::new();
        read_tagged(&j, |s| t.push(s)).unwrap();
        assert_eq!(t[0].ner, vec![Some("O".to_string()), Some("3".to_string())]);
    }
}
