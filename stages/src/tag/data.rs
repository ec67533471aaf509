//! Small, strict readers for tagged training data: two-column CoNLL (`token TAG`,
//! MasakhaNER / MasakhaPOS) and CoNLL-U (UD treebanks).
//!
//! Strict means: every malformed line is an error that names the file and the 1-based
//! line; nothing is guessed. `-DOCSTART-` lines are skipped, as are CoNLL-U comments,
//! multiword-token ranges (`3-4`) and empty nodes (`5.1`), so that a sentence is the list
//! of syntactic words that carry a tag.

use std::fmt;
use std::path::Path;

/// Input format of a tagged file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Whitespace-separated columns; the first is the token, the last the tag.
    Conll,
    /// CoNLL-U: ten tab-separated columns.
    Conllu,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "conll" => Ok(Format::Conll),
            "conllu" => Ok(Format::Conllu),
            _ => Err(format!(
                "unknown format `{s}` (expected `conll` or `conllu`)"
            )),
        }
    }
}

/// Which CoNLL-U column is the tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagColumn {
    /// Column 4, universal POS.
    #[default]
    Upos,
    /// Column 5, language-specific POS (e.g. Sinhala `NNC`, `VFM`).
    Xpos,
}

/// One tagged sentence. `lines[i]` is the 1-based line of word `i` in `file`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sentence {
    /// The words.
    pub words: Vec<String>,
    /// One tag per word.
    pub tags: Vec<String>,
    /// The line of each word.
    pub lines: Vec<u64>,
}

/// A data error naming file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file.
    pub file: String,
    /// 1-based line; 0 for the whole file.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Reads a tagged file.
pub fn read_file(
    path: &Path,
    format: Format,
    column: TagColumn,
) -> Result<Vec<Sentence>, ParseError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ParseError {
        file: name.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        ParseError {
            file: name.clone(),
            line,
            message: "invalid UTF-8".into(),
        }
    })?;
    parse(&text, &name, format, column)
}

/// Parses tagged text; `file` is used in error messages.
pub fn parse(
    text: &str,
    file: &str,
    format: Format,
    column: TagColumn,
) -> Result<Vec<Sentence>, ParseError> {
    let mut out = Vec::new();
    let mut cur = Sentence::default();
    let err = |line: u64, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    for (i, raw) in text.lines().enumerate() {
        let ln = i as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.words.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        match format {
            Format::Conll => {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if cols[0] == "-DOCSTART-" {
                    continue;
                }
                if cols.len() < 2 {
                    return Err(err(
                        ln,
                        format!("expected `token TAG`, got 1 column: `{line}`"),
                    ));
                }
                cur.words.push(cols[0].to_string());
                cur.tags.push(cols[cols.len() - 1].to_string());
                cur.lines.push(ln);
            }
            Format::Conllu => {
                if line.starts_with('#') {
                    continue;
                }
                let cols: Vec<&str> = line.split('\t').collect();
                if cols.len() != 10 {
                    return Err(err(
                        ln,
                        format!("expected 10 tab-separated columns, got {}", cols.len()),
                    ));
                }
                let id = cols[0];
                if id.contains('-') || id.contains('.') {
                    continue; // multiword range or empty node
                }
                if id.parse::<u32>().is_err() {
                    return Err(err(ln, format!("bad word id `{id}`")));
                }
                let tag = match column {
                    TagColumn::Upos => cols[3],
                    TagColumn::Xpos => cols[4],
                };
                if cols[1].is_empty() || tag.is_empty() || tag == "_" {
                    return Err(err(ln, format!("word {id} has no form or no tag")));
                }
                cur.words.push(cols[1].to_string());
                cur.tags.push(tag.to_string());
                cur.lines.push(ln);
            }
        }
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Reads several files and concatenates their sentences.
pub fn read_files(
    paths: &[impl AsRef<Path>],
    format: Format,
    column: TagColumn,
) -> Result<Vec<Sentence>, ParseError> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(read_file(p.as_ref(), format, column)?);
    }
    Ok(all)
}

/// Checks that every tag is `O`, `B-X` or `I-X` (NER data must be IOB2).
pub fn check_iob2(sents: &[Sentence], file: &str) -> Result<(), ParseError> {
    for s in sents {
        for (t, &ln) in s.tags.iter().zip(&s.lines) {
            let ok = t == "O" || ((t.starts_with("B-") || t.starts_with("I-")) && t.len() > 2);
            if !ok {
                return Err(ParseError {
                    file: file.to_string(),
                    line: ln,
                    message: format!("tag `{t}` is not IOB2 (expected O, B-TYPE or I-TYPE)"),
                });
            }
        }
    }
    Ok(())
}

/// Splits the sentence blocks of a file into train/dev/test by a seeded shuffle, for
/// treebanks that ship without a train split. Returns the raw blocks (comments kept),
/// so the parts are valid files of the same format.
pub fn split_blocks(text: &str, seed: u64, dev_frac: f64, test_frac: f64) -> [Vec<String>; 3] {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut blocks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        blocks.push(cur);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    blocks.shuffle(&mut rng);
    let n = blocks.len();
    let n_test = ((n as f64) * test_frac).round() as usize;
    let n_dev = ((n as f64) * dev_frac).round() as usize;
    let test = blocks.split_off(n - n_test.min(n));
    let dev = blocks.split_off(blocks.len() - n_dev.min(blocks.len()));
    [blocks, dev, test]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conll_skips_docstart_and_splits_sentences() {
        let t = "-DOCSTART- O\n\nA B-PER\nb I-PER\n\n\nc O\n";
        let s = parse(t, "x.txt", Format::Conll, TagColumn::Upos).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].words, ["A", "b"]);
        assert_eq!(s[0].tags, ["B-PER", "I-PER"]);
        assert_eq!(s[0].lines, [3, 4]);
        assert_eq!(s[1].lines, [7]);
    }

    #[test]
    fn malformed_conll_line_names_file_and_line() {
        let e = parse(
            "a O\nbroken\n",
            "d/train.txt",
            Format::Conll,
            TagColumn::Upos,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d/train.txt:2: expected `token TAG`, got 1 column: `broken`"
        );
    }

    #[test]
    fn conllu_skips_ranges_empty_nodes_and_comments() {
        let t = "# text = ab c\n1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\n1\ta\ta\tNOUN\tNN\t_\t0\troot\t_\t_\n\
                 2\tb\tb\tVERB\tVB\t_\t1\tx\t_\t_\n2.1\tz\tz\tX\tX\t_\t_\t_\t_\t_\n3\tc\tc\tPUNCT\tPU\t_\t1\tx\t_\t_\n";
        let s = parse(t, "u.conllu", Format::Conllu, TagColumn::Upos).unwrap();
        assert_eq!(s[0].words, ["a", "b", "c"]);
        assert_eq!(s[0].tags, ["NOUN", "VERB", "PUNCT"]);
        let x = parse(t, "u.conllu", Format::Conllu, TagColumn::Xpos).unwrap();
        assert_eq!(x[0].tags, ["NN", "VB", "PU"]);
        let e = parse("1\ta\tb\n", "u.conllu", Format::Conllu, TagColumn::Upos).unwrap_err();
        assert_eq!(
            e.to_string(),
            "u.conllu:1: expected 10 tab-separated columns, got 3"
        );
    }

    #[test]
    fn iob2_check_names_line() {
        let s = parse("a O\nb S-PER\n", "n.txt", Format::Conll, TagColumn::Upos).unwrap();
        let e = check_iob2(&s, "n.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "n.txt:2: tag `S-PER` is not IOB2 (expected O, B-TYPE or I-TYPE)"
        );
    }

    #[test]
    fn split_is_seeded_and_complete() {
        let t: String = (0..20).map(|i| format!("w{i} X\n\n")).collect();
        let a = split_blocks(&t, 7, 0.1, 0.2);
        let b = split_blocks(&t, 7, 0.1, 0.2);
        assert_eq!(a, b);
        assert_eq!((a[0].len(), a[1].len(), a[2].len()), (14, 2, 4));
    }
}
