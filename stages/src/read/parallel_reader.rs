//! `parallel_reader`: sentence-aligned bitext (MAFAND-MT, FLORES, TICO-19).
//!
//! Either two line-aligned files per pair (`source_paths` and `target_paths`: globs,
//! matched in sorted order, the same number of files each), or one TSV with a header
//! (`tsv_path`, `source_column`, `target_column`). One record per line pair: `text` is the
//! source side, `lang` is `source_lang`, and the field `translation` is
//! `{"<source_lang>": …, "<target_lang>": …}` (the HF `datasets` convention). Ids are
//! `<source file>:<line>`. Pairs where both sides are blank are skipped and not counted.
//! Aligned files of different lengths are always a fatal error naming both files and
//! their line counts: misaligned bitext is worse than none. For the same reason a read
//! error (a truncated `.gz`/`.zst`) in aligned files is fatal under either `on_error`.
//!
//! ```toml
//! [stages.bitext]
//! type = "parallel_reader"
//! source_paths = ["mafand_mt/en-yor/dev.en"]
//! target_paths = ["mafand_mt/en-yor/dev.yor"]
//! source_lang = "eng"
//! target_lang = "yor"
//! ```

use super::tsv_reader::{csv_error, csv_reader};
use super::{file_name, validate_lang, Lines, OnError};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads sentence-aligned bitext into records with a `translation` field.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ParallelReaderConfig {
    /// Source-side files (globs), line-aligned with `target_paths`.
    #[serde(default)]
    pub source_paths: Vec<String>,
    /// Target-side files (globs), as many as `source_paths` matches.
    #[serde(default)]
    pub target_paths: Vec<String>,
    /// A TSV file (glob) with both sides as columns, instead of two files.
    #[serde(default)]
    pub tsv_path: Option<String>,
    /// The TSV column of the source side.
    #[serde(default)]
    pub source_column: Option<String>,
    /// The TSV column of the target side.
    #[serde(default)]
    pub target_column: Option<String>,
    /// ISO 639-3 code of the source side: the records' `lang` and a `translation` key.
    pub source_lang: String,
    /// ISO 639-3 code of the target side: a `translation` key.
    pub target_lang: String,
    /// Bad input (invalid UTF-8, a ragged TSV row): `fail` stops the run, `reject` writes
    /// it to rejects.jsonl and goes on. Length mismatches always fail.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for ParallelReaderConfig {
    const TYPE: &'static str = "parallel_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut Validator) {
        let files = !self.source_paths.is_empty() || !self.target_paths.is_empty();
        match (&self.tsv_path, files) {
            (Some(_), true) => v.error(
                "tsv_path",
                "give either `tsv_path` or `source_paths` + `target_paths`, not both",
            ),
            (None, false) => v.error(
                "source_paths",
                "give `source_paths` + `target_paths`, or `tsv_path`",
            ),
            (None, true) => {
                if self.source_paths.is_empty() {
                    v.error(
                        "source_paths",
                        "must not be empty when `target_paths` is set",
                    );
                }
                if self.target_paths.is_empty() {
                    v.error(
                        "target_paths",
                        "must not be empty when `source_paths` is set",
                    );
                }
            }
            (Some(_), false) => {
                if self.source_column.is_none() {
                    v.error("source_column", "is required with `tsv_path`");
                }
                if self.target_column.is_none() {
                    v.error("target_column", "is required with `tsv_path`");
                }
            }
        }
        validate_lang(v, "source_lang", &Some(self.source_lang.clone()));
        validate_lang(v, "target_lang", &Some(self.target_lang.clone()));
        if self.source_lang == self.target_lang {
            v.error(
                "target_lang",
                "must differ from `source_lang` (they key the `translation` field)",
            );
        }
    }

    fn input_files(&self) -> Vec<String> {
        let mut f = self.source_paths.clone();
        f.extend(self.target_paths.iter().cloned());
        f.extend(self.tsv_path.iter().cloned());
        f
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let pairs: Vec<(PathBuf, Option<PathBuf>)> = match &self.tsv_path {
            Some(t) => expand_globs(std::slice::from_ref(t))?
                .into_iter()
                .map(|p| (p, None))
                .collect(),
            None => {
                let src = expand_globs(&self.source_paths)?;
                let tgt = expand_globs(&self.target_paths)?;
                if src.len() != tgt.len() {
                    return Err(StageError::msg(format!(
                        "source_paths match {} files but target_paths match {}: they must pair up",
                        src.len(),
                        tgt.len()
                    )));
                }
                src.into_iter().zip(tgt.into_iter().map(Some)).collect()
            }
        };
        let shard = ctx.record_shard(pairs.len());
        let pairs = match ctx.shard {
            Some(s) if shard.is_none() => pairs
                .into_iter()
                .enumerate()
                .filter(|(k, _)| *k as u64 % s.count == s.index)
                .map(|(_, p)| p)
                .collect(),
            _ => pairs,
        };
        Ok(StageImpl::Source(Box::new(ParallelReader {
            cfg: self.clone(),
            pairs,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct ParallelReader {
    cfg: ParallelReaderConfig,
    pairs: Vec<(PathBuf, Option<PathBuf>)>,
    shard: Option<(u64, u64)>,
}

/// Counts the remaining lines of a reader (for the length-mismatch message).
fn count_rest(l: &mut Lines) -> u64 {
    while let Ok(true) = l.advance() {}
    l.line
}

impl ParallelReader {
    fn record(&self, file: &Arc<str>, line: u64, src: String, tgt: String) -> Record {
        let mut tr = Map::new();
        tr.insert(self.cfg.source_lang.clone(), Value::String(src.clone()));
        tr.insert(self.cfg.target_lang.clone(), Value::String(tgt));
        let mut rec = Record {
            id: format!("{file}:{line}"),
            text: src,
            lang: Some(self.cfg.source_lang.clone()),
            source: Some(Provenance {
                file: file.clone(),
                line,
            }),
            ..Record::default()
        };
        rec.set("translation", Value::Object(tr));
        rec
    }

    fn read_files(&self, sp: &Path, tp: &Path, out: &mut Emitter) -> Result<(), StageError> {
        let meter = out.read_meter();
        let mut s = Lines::open(sp, &meter)?;
        let mut t = Lines::open(tp, &meter)?;
        loop {
            if out.cancelled() {
                return Ok(());
            }
            let (a, b) = (s.advance()?, t.advance()?);
            match (a, b) {
                (false, false) => return Ok(()),
                (true, true) => {}
                _ => {
                    let (ns, nt) = (count_rest(&mut s), count_rest(&mut t));
                    return Err(StageError::msg(format!(
                        "aligned files differ in length: {} has {ns} lines, {} has {nt}",
                        s.file, t.file
                    )));
                }
            }
            if s.is_blank() && t.is_blank() {
                continue;
            }
            if !out.take_next() {
                continue;
            }
            let pair = match (s.text(), t.text()) {
                (Ok(a), Ok(b)) => Ok((a.to_string(), b.to_string())),
                (Err(e), _) => Err((e, s.lossy())),
                (_, Err(e)) => Err((e, t.lossy())),
            };
            match pair {
                Ok((a, b)) => out.keep(self.record(&s.file, s.line, a, b)),
                Err((e, raw)) => self.cfg.on_error.bad(out, e, &raw)?,
            }
        }
    }

    fn read_tsv(&self, path: &Path, out: &mut Emitter) -> Result<(), StageError> {
        let file = file_name(path);
        let mut rdr = csv_reader(path, b'\t', true, &out.read_meter())?;
        let mut row = csv::ByteRecord::new();
        let (sc, tc) = (
            self.cfg.source_column.clone().unwrap_or_default(),
            self.cfg.target_column.clone().unwrap_or_default(),
        );
        let mut cols: Option<(usize, usize, usize)> = None;
        loop {
            if out.cancelled() {
                return Ok(());
            }
            let next_line = rdr.position().line();
            match rdr.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(csv_error(&file, next_line, e).into()),
            }
            let line = row.position().map(|p| p.line()).unwrap_or(next_line);
            let Some((si, ti, width)) = cols else {
                let names: Vec<String> = row
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect();
                let find = |c: &str| {
                    names.iter().position(|n| n == c).ok_or_else(|| {
                        StageError::Data(
                            DataError::new(
                                &*file,
                                line,
                                format!("no column \"{c}\"; the columns are: {}", names.join(", ")),
                            )
                            .with_field(c),
                        )
                    })
                };
                cols = Some((find(&sc)?, find(&tc)?, names.len()));
                continue;
            };
            if !out.take_next() {
                continue;
            }
            let field = |i: usize, name: &str| -> Result<String, DataError> {
                let b = row.get(i).unwrap_or_default();
                std::str::from_utf8(b).map(str::to_string).map_err(|e| {
                    DataError::new(
                        &*file,
                        line,
                        format!("invalid UTF-8 at byte {} of the field", e.valid_up_to()),
                    )
                    .with_field(name)
                })
            };
            let parsed = if row.len() != width {
                Err(DataError::new(
                    &*file,
                    line,
                    format!("expected {width} fields, got {}", row.len()),
                ))
            } else {
                field(si, &sc).and_then(|a| Ok((a, field(ti, &tc)?)))
            };
            match parsed {
                Ok((a, b)) => out.keep(self.record(&file, line, a, b)),
                Err(e) => {
                    let raw = row
                        .iter()
                        .map(super::lossy_excerpt)
                        .collect::<Vec<_>>()
                        .join(" | ");
                    self.cfg.on_error.bad(out, e, &raw)?
                }
            }
        }
    }
}

impl Source for ParallelReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        let files: Vec<PathBuf> = self
            .pairs
            .iter()
            .flat_map(|(a, b)| std::iter::once(a.clone()).chain(b.clone()))
            .collect();
        out.read_meter().add_files(&files);
        for (a, b) in &self.pairs {
            match b {
                Some(b) => self.read_files(a, b, out)?,
                None => self.read_tsv(a, out)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    fn files_cfg(s: &Path, t: &Path) -> ParallelReaderConfig {
        ParallelReaderConfig {
            source_paths: vec![glob(s)],
            target_paths: vec![glob(t)],
            tsv_path: None,
            source_column: None,
            target_column: None,
            source_lang: "eng".into(),
            target_lang: "yor".into(),
            on_error: OnError::Fail,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("parallel_reader.rs")),
            ["parallel_reader"]
        );
    }

    #[test]
    fn validation_names_the_missing_fields() {
        let mut c = files_cfg(Path::new("a"), Path::new("b"));
        c.source_paths.clear();
        c.target_paths.clear();
        let mut v = Validator::default();
        StageConfig::validate(&c, &mut v);
        assert_eq!(
            v.errors[0].message,
            "give `source_paths` + `target_paths`, or `tsv_path`"
        );
    }

    #[test]
    fn aligned_files_give_translation_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.en", b"Good morning\n\nThanks\n");
        let t = write(dir.path(), "a.yor", "Ẹ kú àárọ̀\n\nẸ ṣé\n".as_bytes());
        let (recs, _) = run_reader(&files_cfg(&s, &t), dir.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text, "Good morning");
        assert_eq!(
            recs[0].field("translation"),
            Some(&serde_json::json!({"eng": "Good morning", "yor": "Ẹ kú àárọ̀"}))
        );
        assert_eq!(recs[1].id, format!("{}:3", glob(&s)));
    }

    #[test]
    fn length_mismatch_is_always_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.en", b"1\n2\n3\n");
        let t = write(dir.path(), "a.yor", b"1\n2\n");
        let mut c = files_cfg(&s, &t);
        c.on_error = OnError::Reject;
        let e = err_text(run_reader(&c, dir.path()));
        assert_eq!(
            e,
            format!(
                "aligned files differ in length: {} has 3 lines, {} has 2",
                glob(&s),
                glob(&t)
            )
        );
    }

    #[test]
    fn invalid_utf8_on_either_side() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.en", b"ok\nfine\n");
        let t = write(dir.path(), "a.yor", b"ok\nb\xff\n");
        let e = err_text(run_reader(&files_cfg(&s, &t), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:2: invalid UTF-8 at byte offset 4 (column byte 2)",
                glob(&t)
            )
        );
        let mut c = files_cfg(&s, &t);
        c.on_error = OnError::Reject;
        let (recs, counts) = run_reader(&c, dir.path()).unwrap();
        assert_eq!((recs.len(), counts.rejected), (1, 1));
    }

    #[test]
    fn tsv_bitext() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "b.tsv",
            b"id\ten\tsw\n1\tHello\tHabari\n2\tBye\n",
        );
        let c = ParallelReaderConfig {
            source_paths: vec![],
            target_paths: vec![],
            tsv_path: Some(glob(&p)),
            source_column: Some("en".into()),
            target_column: Some("sw".into()),
            source_lang: "eng".into(),
            target_lang: "swh".into(),
            on_error: OnError::Reject,
        };
        let (recs, counts) = run_reader(&c, dir.path()).unwrap();
        assert_eq!((recs.len(), counts.rejected), (1, 1));
        assert_eq!(
            recs[0].field("translation"),
            Some(&serde_json::json!({"eng": "Hello", "swh": "Habari"}))
        );
        let mut c = c;
        c.on_error = OnError::Fail;
        assert_eq!(
            err_text(run_reader(&c, dir.path())),
            format!("{}:3: expected 3 fields, got 2", glob(&p))
        );
    }

    #[test]
    fn mafand_dev_pairs() {
        let dir = tempfile::tempdir().unwrap();
        for (pair, tgt) in [("en-yor", "yor"), ("en-hau", "hau")] {
            let s = shared_data(&format!("mafand_mt/{pair}/dev.en"));
            let t = shared_data(&format!("mafand_mt/{pair}/dev.{tgt}"));
            let n = std::fs::read_to_string(&s)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count();
            let mut c = files_cfg(&s, &t);
            c.target_lang = tgt.into();
            let (recs, _) = run_reader(&c, dir.path()).unwrap();
            assert!(
                recs.len() >= n && n > 1000,
                "{pair}: {} records for {n} source lines",
                recs.len()
            );
            assert!(recs
                .iter()
                .all(|r| r.field("translation").and_then(|t| t.get(tgt)).is_some()));
        }
    }
}
