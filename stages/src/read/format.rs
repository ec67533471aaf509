//! The one input-format rule every command and reader choice follows.
//!
//! [`FileFormat::guess`]: the extension first (`.conll`, `.conllu`, `.jsonl`/`.json`/
//! `.ndjson`, `.tsv`, `.csv`, `.parquet`, `.txt`, each optionally followed by `.zst` or
//! `.gz`); then, for names that do not settle it (`.txt`, no or an unknown extension), a
//! look at the first lines: ten tab-separated columns are CoNLL-U, and short lines whose
//! last column looks like a tag (`Bàbá O`, `ilé NOUN`, `Gàní B-PER`) with sentences
//! separated by blank lines are CoNLL (MasakhaNER and MasakhaPOS ship `train.txt` that way);
//! lines that all have the same number of tabs, with no blank line, are TSV with a header.
//! Everything else is plain text, one record per line. `--input-format` overrides the
//! guess ([`FileFormat`] parses from its name).
//!
//! The same map picks the reader stage ([`FileFormat::reader_type`]) and the writer stage
//! for an output path ([`FileFormat::writer_type`]).

use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::Path;

/// A data file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Plain text, one record (sentence) per line.
    Text,
    /// JSON Lines: one object per line (`text`, or `tokens` + tags).
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// Tab-separated values with a header row.
    Tsv,
    /// Comma-separated values with a header row.
    Csv,
    /// Whitespace-separated `token … TAG` lines, blank lines between sentences.
    Conll,
    /// CoNLL-U: ten tab-separated columns, `#` comments.
    Conllu,
    /// WARC 1.0/1.1 (`.warc`, `.warc.gz`): web pages.
    Warc,
    /// Common Crawl WET (`.wet`, `.wet.gz`, `.warc.wet.gz`): extracted page text.
    Wet,
}

/// Every format, in the order error messages list them.
pub const ALL: [FileFormat; 9] = [
    FileFormat::Text,
    FileFormat::Jsonl,
    FileFormat::Parquet,
    FileFormat::Tsv,
    FileFormat::Csv,
    FileFormat::Conll,
    FileFormat::Conllu,
    FileFormat::Warc,
    FileFormat::Wet,
];

/// Lines the content sniff looks at.
const SNIFF_LINES: usize = 64;

impl FileFormat {
    /// The format's name (`text`, `jsonl`, …), as `--input-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Text => "text",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
            FileFormat::Tsv => "tsv",
            FileFormat::Csv => "csv",
            FileFormat::Conll => "conll",
            FileFormat::Conllu => "conllu",
            FileFormat::Warc => "warc",
            FileFormat::Wet => "wet",
        }
    }

    /// The format the file name states, looking through `.zst`/`.gz`; `None` when the
    /// name does not say (no extension, an unknown one).
    pub fn from_extension(path: &Path) -> Option<FileFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let base = name
            .strip_suffix(".zst")
            .or_else(|| name.strip_suffix(".gz"))
            .unwrap_or(&name);
        let ext = base.rsplit_once('.').map(|(_, e)| e)?;
        // `.warc.wet.gz` is WET: the last extension decides.
        Some(match ext {
            "warc" => FileFormat::Warc,
            "wet" => FileFormat::Wet,
            "txt" | "text" => FileFormat::Text,
            "jsonl" | "json" | "ndjson" => FileFormat::Jsonl,
            "parquet" => FileFormat::Parquet,
            "tsv" => FileFormat::Tsv,
            "csv" => FileFormat::Csv,
            "conll" => FileFormat::Conll,
            "conllu" => FileFormat::Conllu,
            _ => return None,
        })
    }

    /// The format of an input file: the extension when it settles it, else a look at the
    /// content (see the module docs). A file that cannot be read is guessed from its name
    /// alone; opening it later reports the error.
    pub fn guess(path: &Path) -> FileFormat {
        match FileFormat::from_extension(path) {
            Some(FileFormat::Text) | None => sniff(path).unwrap_or(FileFormat::Text),
            Some(f) => f,
        }
    }

    /// `forced` when given (`--input-format`), else [`FileFormat::guess`].
    pub fn of_input(path: &Path, forced: Option<FileFormat>) -> FileFormat {
        forced.unwrap_or_else(|| FileFormat::guess(path))
    }

    /// The reader stage type for this format.
    pub fn reader_type(self) -> &'static str {
        match self {
            FileFormat::Text => "text_reader",
            FileFormat::Jsonl => "jsonl_reader",
            FileFormat::Parquet => "parquet_reader",
            FileFormat::Tsv | FileFormat::Csv => "tsv_reader",
            FileFormat::Conll => "conll_reader",
            FileFormat::Conllu => "conllu_reader",
            FileFormat::Warc => "warc_reader",
            FileFormat::Wet => "wet_reader",
        }
    }

    /// The `[stages.<id>]` table of this format's reader over `paths` (escaped here, as
    /// reader paths are globs): `type`, `paths`, the `,` delimiter for CSV, and
    /// `text_field` for the formats that have one (when given).
    pub fn reader_table(self, paths: &[&Path], text_field: Option<&str>) -> toml::Table {
        let s = |v: &str| toml::Value::String(v.to_string());
        let mut t = toml::Table::new();
        t.insert("type".into(), s(self.reader_type()));
        let paths = paths
            .iter()
            .map(|p| s(&glob::Pattern::escape(&p.to_string_lossy())))
            .collect();
        t.insert("paths".into(), toml::Value::Array(paths));
        if self == FileFormat::Csv {
            t.insert("delimiter".into(), s(","));
        }
        if let (
            Some(f),
            FileFormat::Jsonl | FileFormat::Parquet | FileFormat::Tsv | FileFormat::Csv,
        ) = (text_field, self)
        {
            t.insert("text_field".into(), s(f));
        }
        t
    }

    /// Whether this is web input (pages or WET text) that needs the web stages in front.
    pub fn is_web(self) -> bool {
        matches!(self, FileFormat::Warc | FileFormat::Wet)
    }

    /// The writer stage type for an output path, by its extension.
    pub fn writer_type(path: &Path) -> Result<&'static str, String> {
        match FileFormat::from_extension(path) {
            Some(FileFormat::Text) => Ok("text_writer"),
            Some(FileFormat::Jsonl) => Ok("jsonl_writer"),
            Some(FileFormat::Parquet) => Ok("parquet_writer"),
            Some(FileFormat::Conll) => Ok("conll_writer"),
            Some(FileFormat::Conllu) => Ok("conllu_writer"),
            _ => Err(format!(
                "output {}: cannot tell the format from the extension (use .txt, .jsonl, \
                 .jsonl.zst, .parquet, .conll or .conllu)",
                path.display()
            )),
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FileFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<FileFormat, String> {
        // `raw` is what `tag apply --input-format` called plain text.
        let s = if s == "raw" { "text" } else { s };
        ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown format `{s}` (expected one of {})",
                names.join(", ")
            )
        })
    }
}

/// Whether a column looks like a POS or NER tag: `O`, `B-PER`/`I-LOC` (also E-/S-/L-),
/// or a short upper-case word (`NOUN`, `PROPN`, `NNC`, `PUNCT`).
fn is_tag(t: &str) -> bool {
    let upper = |s: &str| {
        !s.is_empty()
            && s.len() <= 8
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c == '$')
    };
    match t.split_once('-') {
        Some((p, ty)) => matches!(p, "B" | "I" | "E" | "S" | "L") && !ty.is_empty(),
        None => upper(t),
    }
}

/// CoNLL-U, CoNLL, TSV or `None` (plain text) from the first lines of the file.
fn sniff(path: &Path) -> Option<FileFormat> {
    let reader = mavuno_pipeline::io::open_read(path).ok()?;
    let (mut conllu, mut conll, mut other) = (0, 0, 0);
    let (mut blank_between, mut seen_words) = (false, false);
    // Tab counts of the lines: one shared count >= 1 and no blank line is TSV.
    let mut tabs_per_line: Option<Option<usize>> = None;
    let mut lines = 0;
    for line in reader.lines().take(SNIFF_LINES * 4) {
        let line = line.ok()?;
        let t = line.trim_end_matches(['\r', '\n']);
        if t.trim().is_empty() {
            blank_between |= seen_words;
            continue;
        }
        lines += 1;
        let n_tabs = t.matches('\t').count();
        tabs_per_line = match tabs_per_line {
            None => Some(Some(n_tabs)),
            Some(Some(k)) if k == n_tabs => Some(Some(k)),
            _ => Some(None),
        };
        if t.starts_with('#') && t.contains(" = ") {
            conllu += 1;
            continue;
        }
        seen_words = true;
        let cols: Vec<&str> = t.split_whitespace().collect();
        if n_tabs == 9 && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            conllu += 1;
        } else if cols.first() == Some(&"-DOCSTART-")
            || ((2..=4).contains(&cols.len()) && cols.last().is_some_and(|t| is_tag(t)))
        {
            conll += 1;
        } else {
            other += 1;
        }
        if lines >= SNIFF_LINES {
            break;
        }
    }
    if conllu > 0 && conll == 0 && other == 0 {
        Some(FileFormat::Conllu)
    } else if other == 0 && conll >= 2 && (blank_between || conll >= SNIFF_LINES) {
        Some(FileFormat::Conll)
    } else if !blank_between && lines >= 2 && matches!(tabs_per_line, Some(Some(k)) if k >= 1) {
        Some(FileFormat::Tsv)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(name: &str, text: &str) -> FileFormat {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        FileFormat::guess(&p)
    }

    #[test]
    fn the_extension_decides_first() {
        let f = |n: &str| FileFormat::from_extension(Path::new(n));
        assert_eq!(f("a/b.txt.zst"), Some(FileFormat::Text));
        assert_eq!(f("b.jsonl.gz"), Some(FileFormat::Jsonl));
        assert_eq!(f("b.json"), Some(FileFormat::Jsonl));
        assert_eq!(f("b.parquet"), Some(FileFormat::Parquet));
        assert_eq!(f("b.CSV"), Some(FileFormat::Csv));
        assert_eq!(f("b.tsv"), Some(FileFormat::Tsv));
        assert_eq!(f("b.conll"), Some(FileFormat::Conll));
        assert_eq!(f("b.conllu.zst"), Some(FileFormat::Conllu));
        assert_eq!(f("x/CC-MAIN-1.warc.gz"), Some(FileFormat::Warc));
        assert_eq!(f("a.WARC"), Some(FileFormat::Warc));
        assert_eq!(f("CC-MAIN-1.warc.wet.gz"), Some(FileFormat::Wet));
        assert_eq!(f("a.wet"), Some(FileFormat::Wet));
        assert_eq!(f("b.zst"), None);
        assert_eq!(f("b"), None);
        // A .jsonl is JSONL whatever it holds: no sniff.
        assert_eq!(guess("a.jsonl", "Bàbá O\ntó O\n\n"), FileFormat::Jsonl);
    }

    #[test]
    fn a_txt_that_looks_like_conll_is_conll() {
        // MasakhaNER and MasakhaPOS `test.txt`.
        assert_eq!(
            guess("test.txt", "Bàbá O\nGàní B-PER\n\nỌmọ NOUN\nlọ VERB\n"),
            FileFormat::Conll
        );
        assert_eq!(
            guess("x", "-DOCSTART- O\n\nBàbá O\nGàní B-PER\n"),
            FileFormat::Conll
        );
        assert_eq!(
            guess(
                "ud.txt",
                "# text = a b\n1\ta\ta\tNOUN\t_\t_\t0\troot\t_\t_\n2\tb\tb\tVERB\t_\t_\t1\tobj\t_\t_\n"
            ),
            FileFormat::Conllu
        );
    }

    #[test]
    fn plain_text_stays_text() {
        assert_eq!(
            guess("a.txt", "Ọmọ mi lọ sí ọjà.\nYaron ya tafi kasuwa.\n"),
            FileFormat::Text
        );
        // Two-word lines whose last word is not a tag, and tag-like lines without a
        // sentence break, are text.
        assert_eq!(guess("b.txt", "hello world\nBàbá O\n"), FileFormat::Text);
        assert_eq!(guess("c.txt", "Bàbá O\nGàní B-PER\n"), FileFormat::Text);
        assert_eq!(guess("d.txt", ""), FileFormat::Text);
        assert_eq!(
            guess("e.txt", "text\tlabel\nsannu da zuwa\tpositive\n"),
            FileFormat::Tsv
        );
    }

    #[test]
    fn names_parse_and_unknown_names_list_the_choices() {
        assert_eq!("conll".parse(), Ok(FileFormat::Conll));
        assert_eq!("raw".parse(), Ok(FileFormat::Text));
        assert_eq!(
            "xml".parse::<FileFormat>(),
            Err(
                "unknown format `xml` (expected one of text, jsonl, parquet, tsv, csv, conll, conllu, warc, wet)"
                    .into()
            )
        );
        assert_eq!(FileFormat::Csv.reader_type(), "tsv_reader");
        assert_eq!(
            FileFormat::writer_type(Path::new("o.jsonl.zst")),
            Ok("jsonl_writer")
        );
        assert!(FileFormat::writer_type(Path::new("o.tsv")).is_err());
    }
}
