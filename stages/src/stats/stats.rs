//! `stats`: passes every record through and, at the end, writes `report.json` and
//! `report.html` to the directory `path` (relative paths go under the run directory).
//!
//! The report has per-language counts (records, characters, words, religious share from
//! `fields["domain"] == "religious"`), log₂-bucket histograms of characters and words per
//! record, duplicate-cluster sizes (records grouped by `fields["dup_cluster"]`, which
//! `dedup_near` writes with `action = "mark"`), and the distribution of `label` when
//! records carry one. Memory: constant, plus 16 bytes per distinct `dup_cluster` and the
//! distinct labels (at most 1000).
//!
//! ```toml
//! [stages.stats]
//! type = "stats"
//! inputs = ["near"]
//! path = "stats"
//! ```

use super::corpus::{lengths, CorpusStats};
use super::html::render_stats_report;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::write_atomic;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Writes corpus statistics (`report.json`, `report.html`) and passes records through.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct StatsConfig {
    /// Output directory for `report.json` and `report.html`; relative to the run directory
    /// (default `stats`).
    #[serde(default = "default_path")]
    pub path: String,
}

fn default_path() -> String {
    "stats".into()
}

impl StageConfig for StatsConfig {
    const TYPE: &'static str = "stats";
    const KIND: StageKind = StageKind::Sink;

    fn validate(&self, v: &mut Validator) {
        if self.path.is_empty() {
            v.error("path", "must not be empty");
        }
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Stats {
            dir: ctx.output_path(&self.path),
            stats: CorpusStats::default(),
            written: Vec::new(),
        })))
    }
}

/// The runtime stage.
pub struct Stats {
    dir: PathBuf,
    stats: CorpusStats,
    written: Vec<PathBuf>,
}

impl Stage for Stats {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let lens: Vec<(usize, usize)> = batch.par_iter().map(|r| lengths(&r.text)).collect();
        for (rec, l) in batch.into_iter().zip(lens) {
            self.stats.add(&rec, l);
            out.keep(rec);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        let json = self.stats.to_json();
        let bytes =
            serde_json::to_vec_pretty(&json).map_err(|e| StageError::context("report.json", e))?;
        let (j, h) = (self.dir.join("report.json"), self.dir.join("report.html"));
        write_atomic(&j, &bytes)?;
        write_atomic(&h, render_stats_report(&json).as_bytes())?;
        self.written = vec![j, h];
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::doc_example_of;
    use mavuno_pipeline::Record;

    fn run(batches: Vec<Batch>) -> (serde_json::Value, String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let cfg: StatsConfig = doc_example_of(include_str!("stats.rs"), "stats");
        let StageImpl::Stage(mut s) = cfg.build(&BuildContext::for_tests(dir.path())).unwrap()
        else {
            panic!("not a stage")
        };
        let mut out = Emitter::collecting(3);
        for b in batches {
            s.process(b, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        assert_eq!(s.outputs().len(), 2);
        let json = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("stats/report.json")).unwrap(),
        )
        .unwrap();
        let html = std::fs::read_to_string(dir.path().join("stats/report.html")).unwrap();
        (
            json,
            html,
            out.take_collected().into_iter().map(|r| r.id).collect(),
        )
    }

    #[test]
    fn example_parses_and_validates() {
        let cfg: StatsConfig = doc_example_of(include_str!("stats.rs"), "stats");
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty());
        let mut v = Validator::default();
        StatsConfig {
            path: String::new(),
        }
        .validate(&mut v);
        assert_eq!(v.errors[0].message, "must not be empty");
    }

    #[test]
    fn passes_records_through_and_writes_reports() {
        let mut a = Record::new("a", "Ẹ kú àárọ̀");
        a.lang = Some("yor".into());
        a.set("domain", "religious");
        let mut b = Record::new("b", "Sannu da zuwa");
        b.lang = Some("hau".into());
        let (json, html, ids) = run(vec![vec![a], vec![b]]);
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(json["languages"]["yor"]["records"], 1);
        assert_eq!(json["religious"]["share"], 0.5);
        assert!(
            html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.contains(">hau<")
        );
    }

    #[test]
    fn handles_an_empty_corpus() {
        let (json, html, ids) = run(vec![]);
        assert!(ids.is_empty());
        assert_eq!(json["records"], 0);
        assert!(html.contains("0 records"));
    }
}
