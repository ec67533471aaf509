//! `conllu_reader`: Universal Dependencies CoNLL-U files, one record per sentence.
//!
//! `# text = …` is the record's text; without it the text is rebuilt from the surface
//! forms (honouring `SpaceAfter=No`). `# sent_id = …` is the id as given (unique within a
//! treebank, not across treebanks), else `<file>:<line>`.
//! Multiword-token ranges (`1-2`) give the surface form for the rebuilt text, and their
//! syntactic words go into `tokens`; empty nodes (`8.1`) are skipped. Fields: `tokens`,
//! `lemmas`, `pos_tags` (UPOS), `xpos_tags`, `feats`, `heads` (integers), `deprels`.
//! A word line without 10 tab-separated columns, or with a non-integer head, is bad input
//! naming file and line (under `reject` the whole sentence is rejected).
//!
//! ```toml
//! [stages.ud]
//! type = "conllu_reader"
//! paths = ["ud/UD_Yoruba-YTB/*.conllu"]
//! lang = "yor"
//! ```

use super::blocks::{read_blocks, BlockFormat};
use super::{validate_common, Lines, OnError};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Reads CoNLL-U into one record per sentence.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ConlluReaderConfig {
    /// Input files: glob patterns relative to the current directory; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language of the records, if known.
    #[serde(default)]
    pub lang: Option<String>,
    /// Bad input (not 10 columns, bad head, invalid UTF-8, truncated file): `fail` stops
    /// the run, `reject` writes the sentence to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for ConlluReaderConfig {
    const TYPE: &'static str = "conllu_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_common(v, &self.paths, &self.lang);
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let files = expand_globs(&self.paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(StageImpl::Source(Box::new(ConlluReader {
            cfg: self.clone(),
            files,
            shard,
        })))
    }
}

/// The runtime reader.
pub struct ConlluReader {
    cfg: ConlluReaderConfig,
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

/// A sentence being collected.
#[derive(Default)]
pub(crate) struct Sentence {
    first_line: u64,
    sent_id: Option<String>,
    text: Option<String>,
    /// Text rebuilt from surface forms, for sentences without `# text`.
    surface: String,
    /// Last word id covered by the current multiword token.
    mwt_end: u64,
    tokens: Vec<String>,
    lemmas: Vec<String>,
    upos: Vec<String>,
    xpos: Vec<String>,
    feats: Vec<String>,
    heads: Vec<i64>,
    deprels: Vec<String>,
    bad: Option<(DataError, String)>,
}

impl Sentence {
    fn push_surface(&mut self, form: &str, misc: &str) {
        self.surface.push_str(form);
        if !misc.split('|').any(|m| m == "SpaceAfter=No") {
            self.surface.push(' ');
        }
    }
}

impl BlockFormat for ConlluReader {
    type Block = Sentence;

    fn start(&self, line: u64) -> Sentence {
        Sentence {
            first_line: line,
            ..Sentence::default()
        }
    }

    fn on_error(&self) -> OnError {
        self.cfg.on_error
    }

    fn add_line(&self, s: &mut Sentence, lines: &Lines) {
        if s.bad.is_some() {
            return;
        }
        let line = match lines.text() {
            Ok(t) => t,
            Err(e) => {
                s.bad = Some((e, lines.lossy()));
                return;
            }
        };
        let fail = |m: String| {
            Some((
                DataError::new(&*lines.file, lines.line, m),
                line.to_string(),
            ))
        };
        if let Some(c) = line.strip_prefix('#') {
            if let Some((k, v)) = c.split_once('=') {
                match k.trim() {
                    "text" => s.text = Some(v.trim().to_string()),
                    "sent_id" => s.sent_id = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            return;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 10 {
            s.bad = fail(format!(
                "expected 10 tab-separated columns, got {}",
                cols.len()
            ));
            return;
        }
        let id = cols[0];
        if id.contains('.') {
            return; // an empty node: not a word of the surface sentence
        }
        if let Some((a, b)) = id.split_once('-') {
            match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(_), Ok(end)) => {
                    s.mwt_end = end;
                    s.push_surface(cols[1], cols[9]);
                }
                _ => s.bad = fail(format!("bad multiword token range \"{id}\"")),
            }
            return;
        }
        let Ok(n) = id.parse::<u64>() else {
            s.bad = fail(format!("bad word id \"{id}\""));
            return;
        };
        let head = match cols[6] {
            "_" => -1,
            h => match h.parse::<i64>() {
                Ok(h) => h,
                Err(_) => {
                    s.bad = Some((
                        DataError::new(
                            &*lines.file,
                            lines.line,
                            format!("head must be an integer, got \"{h}\""),
                        )
                        .with_field("HEAD"),
                        line.to_string(),
                    ));
                    return;
                }
            },
        };
        if n > s.mwt_end {
            s.push_surface(cols[1], cols[9]);
        }
        s.tokens.push(cols[1].to_string());
        s.lemmas.push(cols[2].to_string());
        s.upos.push(cols[3].to_string());
        s.xpos.push(cols[4].to_string());
        s.feats.push(cols[5].to_string());
        s.heads.push(head);
        s.deprels.push(cols[7].to_string());
    }

    fn end(
        &self,
        s: Option<Sentence>,
        file: &Arc<str>,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        let Some(s) = s else { return Ok(()) };
        if !out.take_next() {
            return Ok(());
        }
        if let Some((e, raw)) = s.bad {
            return self.cfg.on_error.bad(out, e, &raw);
        }
        let text = s.text.unwrap_or_else(|| s.surface.trim_end().to_string());
        let mut rec = Record {
            id: s
                .sent_id
                .unwrap_or_else(|| format!("{file}:{}", s.first_line)),
            text,
            lang: self.cfg.lang.clone(),
            source: Some(Provenance {
                file: file.clone(),
                line: s.first_line,
            }),
            ..Record::default()
        };
        rec.set("tokens", s.tokens);
        rec.set("lemmas", s.lemmas);
        rec.set("pos_tags", s.upos);
        rec.set("xpos_tags", s.xpos);
        rec.set("feats", s.feats);
        // `_` heads (enhanced-only or unannotated) are null.
        rec.set(
            "heads",
            s.heads
                .into_iter()
                .map(|h| if h < 0 { Value::Null } else { Value::from(h) })
                .collect::<Vec<_>>(),
        );
        rec.set("deprels", s.deprels);
        out.keep(rec);
        Ok(())
    }
}

impl Source for ConlluReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        read_blocks(&*self, &self.files, out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::read::test_util::*;

    pub(crate) fn cfg(p: &std::path::Path, on_error: OnError) -> ConlluReaderConfig {
        ConlluReaderConfig {
            paths: vec![glob(p)],
            lang: None,
            on_error,
        }
    }

    const SAMPLE: &str = "# sent_id = s1\n# text = I don't know.\n1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n3\tn't\tnot\tPART\tRB\t_\t0\troot\t_\tSpaceAfter=No\n3.1\tx\tx\tX\tX\t_\t_\t_\t0:dep\t_\n4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n1\tvamos\tir\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No\n2-3\tdelo\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No\n2\tde\tde\tADP\t_\t_\t3\tcase\t_\t_\n3\tlo\tél\tPRON\t_\t_\t1\tobl\t_\t_\n4\t!\t!\tPUNCT\t_\t_\t1\tpunct\t_\t_\n";

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("conllu_reader.rs")),
            ["conllu_reader"]
        );
    }

    #[test]
    fn multiword_tokens_empty_nodes_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.conllu", SAMPLE.as_bytes());
        let (recs, _) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].id, "s1");
        assert_eq!(recs[0].text, "I don't know.");
        assert_eq!(
            recs[0].str_list("tokens"),
            Some(vec!["I", "do", "n't", "."])
        );
        assert_eq!(
            recs[0].str_list("pos_tags"),
            Some(vec!["PRON", "AUX", "PART", "PUNCT"])
        );
        assert_eq!(
            recs[0].field("heads"),
            Some(&serde_json::json!([3, 3, 0, 3]))
        );
        assert_eq!(recs[1].id, format!("{}:10", glob(&p)));
        assert_eq!(recs[1].text, "vamosdelo!");
        assert_eq!(
            recs[1].str_list("tokens"),
            Some(vec!["vamos", "de", "lo", "!"])
        );
        assert_eq!(
            recs[1].str_list("lemmas"),
            Some(vec!["ir", "de", "él", "!"])
        );
    }

    #[test]
    fn malformed_lines_fail_or_reject() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "b.conllu", b"1\ta\ta\tX\t_\t_\t0\troot\t_\t_\n2 b b X\n\n1\tc\tc\tX\t_\t_\tz\troot\t_\t_\n\n1\td\td\tX\t_\t_\t0\troot\t_\t_\n");
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!("{}:2: expected 10 tab-separated columns, got 1", glob(&p))
        );
        let (recs, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
        assert_eq!((recs.len(), c.rejected), (1, 2));
        let p = write(dir.path(), "h.conllu", b"1\tc\tc\tX\t_\t_\tz\troot\t_\t_\n");
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:1: field `HEAD`: head must be an integer, got \"z\"",
                glob(&p)
            )
        );
        let p = write(dir.path(), "e.conllu", b"");
        assert_eq!(
            run_reader(&cfg(&p, OnError::Fail), dir.path())
                .unwrap()
                .1
                .records_in,
            0
        );
    }

    #[test]
    fn real_ud_files_with_multiword_tokens() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "ud/UD_Tamil-TTB/ta_ttb-ud-dev.conllu",
            "ud/UD_English-EWT/en_ewt-ud-test.conllu",
        ] {
            let p = shared_data(f);
            let raw = std::fs::read_to_string(&p).unwrap();
            let n_sent = raw.lines().filter(|l| l.starts_with("# sent_id")).count();
            let n_words = raw
                .lines()
                .filter(|l| {
                    l.split('\t')
                        .next()
                        .is_some_and(|id| id.parse::<u64>().is_ok())
                })
                .count();
            let (recs, _) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
            assert_eq!(recs.len(), n_sent, "{f}");
            let words: usize = recs
                .iter()
                .map(|r| r.str_list("tokens").unwrap().len())
                .sum();
            assert_eq!(words, n_words, "{f}");
            for r in &recs {
                let n = r.str_list("tokens").unwrap().len();
                assert_eq!(r.str_list("pos_tags").unwrap().len(), n);
                assert!(!r.text.is_empty());
            }
            // Round trip through conllu_writer keeps ids, text and annotations.
            let out =
                crate::write::conllu_writer::tests::write_records(dir.path(), "rt.conllu", &recs);
            let (back, _) = run_reader(&cfg(&out, OnError::Fail), dir.path()).unwrap();
            assert_eq!(back.len(), recs.len());
            for (a, b) in recs.iter().zip(&back) {
                assert_eq!((&a.id, &a.text), (&b.id, &b.text));
                for k in [
                    "tokens",
                    "lemmas",
                    "pos_tags",
                    "xpos_tags",
                    "heads",
                    "deprels",
                    "feats",
                ] {
                    assert_eq!(a.field(k), b.field(k), "{f} {} {k}", a.id);
                }
            }
        }
    }
}
