//! One-stage plans: the config that runs one stage over files, as a CLI verb that does a
//! stage's job builds it (see `src/verb.rs` in the binary).
//!
//! The plan is what a user would write: one reader per input, chosen by the shared
//! format rule ([`crate::read::format`]); the stage, whose table holds only what the
//! caller sets (everything else takes the stage's serde defaults); and, when records are
//! wanted in a file, a writer chosen by the output's extension. The run is named
//! `<verb>-<hash>`, the hash covering the whole config and the overrides, so a rerun of
//! the same job resumes and different jobs never share cached stages.

use crate::read::format::FileFormat;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use toml::{Table, Value};

/// The stage id of the plan's stage (`--set KEY=VALUE` becomes `stages.stage.KEY`).
pub const STAGE_ID: &str = "stage";
/// The stage id of the writer.
pub const WRITER_ID: &str = "output";

/// Readers, one stage, maybe a writer.
#[derive(Clone, Debug)]
pub struct OneStage {
    /// The stage's table: `type` and the options the caller sets.
    pub stage: Table,
    /// Input files (absolute: readers resolve paths against the current directory).
    pub inputs: Vec<PathBuf>,
    /// Read every input as this format instead of guessing.
    pub input_format: Option<FileFormat>,
    /// The text column of JSONL, Parquet and TSV inputs (the readers' default if `None`).
    pub text_field: Option<String>,
    /// The records' output file (writer by extension); `None` when the stage writes its
    /// own file (a path option in `stage`).
    pub output: Option<PathBuf>,
    /// Options of the writer beyond `type`, `inputs` and `path` (e.g. `conll_writer`'s
    /// `tag_field`).
    pub writer: Table,
}

impl OneStage {
    /// The `[stages]` table: readers `input_1…`, the stage, the writer.
    pub fn stages(&self) -> Result<Table, String> {
        let mut stages = Table::new();
        let mut ids = Vec::new();
        for (k, p) in self.inputs.iter().enumerate() {
            let fmt = FileFormat::of_input(p, self.input_format);
            let id = format!("input_{}", k + 1);
            let reader = fmt.reader_table(&[p.as_path()], self.text_field.as_deref());
            stages.insert(id.clone(), Value::Table(reader));
            ids.push(Value::String(id));
        }
        let mut stage = self.stage.clone();
        stage.insert("inputs".into(), Value::Array(ids));
        stages.insert(STAGE_ID.into(), Value::Table(stage));
        if let Some(out) = &self.output {
            let mut w = self.writer.clone();
            w.insert(
                "type".into(),
                Value::String(FileFormat::writer_type(out)?.into()),
            );
            let inputs = vec![Value::String(STAGE_ID.into())];
            w.insert("inputs".into(), Value::Array(inputs));
            w.insert("path".into(), Value::String(out.display().to_string()));
            stages.insert(WRITER_ID.into(), Value::Table(w));
        }
        Ok(stages)
    }

    /// `KEY=VALUE` settings of the stage as the engine's overrides, so that errors point
    /// at the `--set` argument.
    pub fn overrides(sets: &[String]) -> Vec<String> {
        sets.iter()
            .map(|s| format!("stages.{STAGE_ID}.{}", s.trim_start()))
            .collect()
    }

    /// The config file, with `[run] name = "<verb>-<hash>"`.
    pub fn config_text(&self, verb: &str, overrides: &[String]) -> Result<String, String> {
        let stages = self.stages()?;
        let body = toml::to_string(&stages).map_err(|e| e.to_string())?;
        // SipHash with fixed keys: the same job gets the same name, which is all resume needs.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        overrides.hash(&mut h);
        let mut run = Table::new();
        let name = format!("{verb}-{:016x}", h.finish());
        run.insert("name".into(), Value::String(name));
        let mut t = Table::new();
        t.insert("run".into(), Value::Table(run));
        t.insert("stages".into(), Value::Table(stages));
        toml::to_string(&t).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_reads_by_format_and_writes_by_extension_and_validates() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let txt = dir.path().join("a.txt");
        let conll = dir.path().join("b.conll");
        std::fs::write(&txt, "Ọmọ mi lọ sí ọjà.\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&conll, "Bàbá O\n\n").unwrap_or_else(|e| panic!("{e}"));
        let mut stage = Table::new();
        stage.insert("type".into(), Value::String("passthrough".into()));
        let plan = OneStage {
            stage,
            inputs: vec![txt, conll],
            input_format: None,
            text_field: None,
            output: Some(dir.path().join("out.jsonl.zst")),
            writer: Table::new(),
        };
        let sets = OneStage::overrides(&["x=1".to_string()]);
        assert_eq!(sets, ["stages.stage.x=1"]);
        let text = plan
            .config_text("copy", &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let t: Table = text.parse().unwrap_or_else(|e| panic!("{e}"));
        let ty = |id: &str| t["stages"][id]["type"].as_str().map(str::to_string);
        assert_eq!(ty("input_1").as_deref(), Some("text_reader"));
        assert_eq!(ty("input_2").as_deref(), Some("conll_reader"));
        assert_eq!(ty(WRITER_ID).as_deref(), Some("jsonl_writer"));
        let plan_ok = mavuno_pipeline::config::parse(
            &text,
            std::path::Path::new("copy"),
            &[],
            &crate::registry(),
        );
        assert!(plan_ok.is_ok(), "{:?}", plan_ok.err());
        // Same job, same name; another override, another name.
        assert_eq!(plan.config_text("copy", &[]), Ok(text.clone()));
        assert_ne!(plan.config_text("copy", &sets), Ok(text));
    }
}
