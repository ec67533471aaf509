//! `conllu_writer`: 10-column CoNLL-U, one sentence per record, with `# sent_id = <id>`
//! and `# text = <text>` (line breaks replaced by spaces). Columns come from the fields
//! `tokens` (required), `lemmas`, `pos_tags` (UPOS), `xpos_tags`, `feats`, `heads` and
//! `deprels`, and `ner_tags` as `NER=<tag>` in MISC (CoNLL-U has no NER column); a missing
//! field is written as `_`. Word ids are 1..n: multiword-token
//! ranges and empty nodes are not reconstructed. A record without `tokens`, or whose
//! annotation lists differ in length from `tokens`, is rejected with an error naming the
//! record and field. `conllu_reader` reads the output back.
//!
//! ```toml
//! [stages.ud]
//! type = "conllu_reader"
//! paths = ["ud/UD_Yoruba-YTB/*.conllu"]
//!
//! [stages.out]
//! type = "conllu_writer"
//! inputs = ["ud"]
//! path = "yor.conllu"
//! ```

use super::conll_writer::{cell, str_column};
use super::{one_line, validate_path, Output};
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes records with `tokens` (and UD annotations) as CoNLL-U.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ConlluWriterConfig {
    /// Output file; relative paths go under the run directory. `.zst`/`.gz` compress.
    pub path: String,
}

impl StageConfig for ConlluWriterConfig {
    const TYPE: &'static str = "conllu_writer";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut mavuno_pipeline::config::Validator) {
        validate_path(v, &self.path);
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(ConlluWriter {
            out: Output::new(ctx.output_path(&self.path), 3),
        })))
    }
}

/// The runtime writer.
pub struct ConlluWriter {
    out: Output,
}

/// The optional columns, in CoNLL-U order after FORM, with their column index.
const COLUMNS: [(&str, usize); 7] = [
    ("lemmas", 2),
    ("pos_tags", 3),
    ("xpos_tags", 4),
    ("feats", 5),
    ("heads", 6),
    ("deprels", 7),
    ("ner_tags", 9),
];

fn sentence(r: &Record) -> Result<String, String> {
    let tokens = str_column(r, "tokens")?;
    let mut cols: Vec<Option<Vec<String>>> = Vec::new();
    for (key, _) in COLUMNS {
        if r.field(key).is_none_or(|v| v.is_null()) {
            cols.push(None);
            continue;
        }
        let c = str_column(r, key)?;
        if c.len() != tokens.len() {
            return Err(format!(
                "field `{key}`: {} values for {} tokens",
                c.len(),
                tokens.len()
            ));
        }
        cols.push(Some(c));
    }
    let mut s = String::new();
    let _ = writeln!(s, "# sent_id = {}", one_line(&r.id));
    let _ = writeln!(s, "# text = {}", one_line(&r.text));
    for (i, t) in tokens.iter().enumerate() {
        let mut row = [
            String::new(),
            cell(t),
            "_".into(),
            "_".into(),
            "_".into(),
            "_".into(),
            "_".into(),
            "_".into(),
            "_".into(),
            "_".into(),
        ];
        row[0] = (i + 1).to_string();
        for ((_, idx), c) in COLUMNS.iter().zip(&cols) {
            if let Some(c) = c {
                row[*idx] = if *idx == 9 {
                    format!("NER={}", cell(&c[i]))
                } else {
                    cell(&c[i])
                };
            }
        }
        let _ = writeln!(s, "{}", row.join("\t"));
    }
    s.push('\n');
    Ok(s)
}

impl Stage for ConlluWriter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            match sentence(&r) {
                Ok(s) => {
                    self.out.write_all(s.as_bytes())?;
                    out.keep(r);
                }
                Err(m) => out.reject(r, m),
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        self.out.commit()
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.out.written()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::read::test_util::check_example;
    use crate::write::test_util::run_writer;
    use std::path::Path;

    /// Writes records with `conllu_writer` (used by the reader's round-trip test).
    pub(crate) fn write_records(dir: &Path, name: &str, recs: &[Record]) -> PathBuf {
        let (_, rejected, outputs) =
            run_writer(&ConlluWriterConfig { path: name.into() }, dir, recs);
        assert_eq!(rejected, 0);
        outputs[0].clone()
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("conllu_writer.rs")),
            ["conllu_reader", "conllu_writer"]
        );
    }

    #[test]
    fn writes_ten_columns_and_rejects_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Record::new("s1", "Mo lọ");
        a.set("tokens", vec!["Mo", "lọ"]);
        a.set("pos_tags", vec!["PRON", "VERB"]);
        a.set("heads", vec![2, 0]);
        a.set("ner_tags", vec!["O", "O"]);
        let mut b = Record::new("s2", "x");
        b.set("tokens", vec!["x"]);
        b.set("pos_tags", vec!["X", "Y"]);
        let (passed, rejected, outputs) = run_writer(
            &ConlluWriterConfig {
                path: "o.conllu".into(),
            },
            dir.path(),
            &[a, b],
        );
        assert_eq!((passed.len(), rejected), (1, 1));
        assert_eq!(
            std::fs::read_to_string(&outputs[0]).unwrap(),
            "# sent_id = s1\n# text = Mo lọ\n1\tMo\t_\tPRON\t_\t_\t2\t_\t_\tNER=O\n2\tlọ\t_\tVERB\t_\t_\t0\t_\t_\tNER=O\n\n"
        );
    }
}
