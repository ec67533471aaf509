//! `wet_reader`: text from Common Crawl WET files (`.wet`, `.wet.gz`).
//!
//! A WET file is a WARC file whose `conversion` records hold the text Common Crawl
//! extracted from each page. Each such record becomes one record: `text` is the block
//! (UTF-8), the fields are `url`, `fetch_time`, `warc_record_id` and, when the file has
//! it, `cc_languages` (`WARC-Identified-Content-Language`, e.g. `yor,eng`). The record id
//! is the WARC record id; `source` is `<file>:<record number>`.
//!
//! Every WARC record counts as one record in. Drop reasons: `not_conversion` (the
//! `warcinfo` record and any other type; counter `warc_type_<type>_total`), `empty` (no
//! text). A block that is not UTF-8 is bad input (`on_error`); a truncated or corrupt
//! file is an error naming the file, the record number and the byte offset, as in
//! `warc_reader`.
//!
//! ```toml
//! [stages.wet]
//! type = "wet_reader"
//! paths = ["CC-MAIN-*.warc.wet.gz"]
//! on_error = "reject"
//! ```

use super::records::WarcRecord;
use super::{drop_other_type, WarcInputs};
use crate::read::{lossy_excerpt, validate_common, OnError};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, DataError, Emitter, Provenance, Record, Source, StageConfig, StageError,
    StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Reads Common Crawl WET files: one record per `conversion` record (url + text).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct WetReaderConfig {
    /// Input files (`.wet`, `.wet.gz`, `.warc.wet.gz`): glob patterns; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language of the records, if known (langid decides otherwise).
    #[serde(default)]
    pub lang: Option<String>,
    /// Bad input (a block that is not UTF-8, a truncated or corrupt file): `fail` stops
    /// the run, `reject` writes it to rejects.jsonl and goes on.
    #[serde(default)]
    pub on_error: OnError,
}

impl StageConfig for WetReaderConfig {
    const TYPE: &'static str = "wet_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut Validator) {
        validate_common(v, &self.paths, &self.lang);
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Source(Box::new(WetReader {
            cfg: self.clone(),
            inputs: WarcInputs::new(&self.paths, ctx)?,
        })))
    }
}

/// The runtime reader.
pub struct WetReader {
    cfg: WetReaderConfig,
    inputs: WarcInputs,
}

impl WetReader {
    fn record(
        &self,
        file: &Arc<str>,
        n: u64,
        w: WarcRecord,
        out: &mut Emitter,
    ) -> Result<(), StageError> {
        if w.warc_type != "conversion" {
            drop_other_type(out, &w, "not_conversion");
            return Ok(());
        }
        let at = Provenance {
            file: file.clone(),
            line: n,
        };
        let text = match String::from_utf8(w.block) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let msg = format!("invalid UTF-8 at byte {at} of the record's text");
                let err = DataError::new(&**file, n, msg).with_field("text");
                return self
                    .cfg
                    .on_error
                    .bad(out, err, &lossy_excerpt(e.as_bytes()));
            }
        };
        if text.trim().is_empty() {
            out.drop(Record::new(w.record_id, ""), "empty");
            return Ok(());
        }
        let mut rec = Record {
            id: w.record_id.clone(),
            text,
            lang: self.cfg.lang.clone(),
            source: Some(at),
            ..Record::default()
        };
        rec.set("url", w.target_uri.unwrap_or_default());
        rec.set("fetch_time", w.date);
        rec.set("warc_record_id", w.record_id);
        if let Some(l) = w.content_languages {
            rec.set("cc_languages", l);
        }
        out.keep(rec);
        Ok(())
    }
}

impl Source for WetReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        self.inputs.run(self.cfg.on_error, out, |file, n, w, out| {
            self.record(file, n, w, out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::{check_example, err_text, glob, run_reader};
    use crate::web::test_warc::{write_warc, WarcEntry};

    fn cfg(p: &std::path::Path, on_error: OnError) -> WetReaderConfig {
        WetReaderConfig {
            paths: vec![glob(p)],
            lang: None,
            on_error,
        }
    }

    fn conv(url: &str, text: &[u8]) -> WarcEntry {
        WarcEntry::raw("conversion", url, text.to_vec())
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(check_example(include_str!("wet_reader.rs")), ["wet_reader"]);
    }

    #[test]
    fn conversion_records_become_text_records() {
        let dir = tempfile::tempdir().unwrap();
        let entries = vec![
            WarcEntry::info(),
            conv(
                "https://bbc.com/yoruba/1",
                "Ẹ kú àárọ̀\nÌròyìn tuntun".as_bytes(),
            )
            .with("WARC-Identified-Content-Language", "yor,eng"),
            conv("https://a.test/empty", b"  \n "),
            conv("https://a.test/2", b"second page"),
        ];
        for name in ["a.wet", "a.warc.wet.gz"] {
            let p = write_warc(dir.path(), name, &entries);
            let (recs, c) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
            assert_eq!(c.records_in, 4, "{name}");
            assert_eq!((c.dropped["not_conversion"], c.dropped["empty"]), (1, 1));
            assert_eq!(c.counters["warc_type_warcinfo_total"], 1);
            assert_eq!(recs.len(), 2);
            assert_eq!(recs[0].text, "Ẹ kú àárọ̀\nÌròyìn tuntun");
            assert_eq!(recs[0].str_field("url"), Some("https://bbc.com/yoruba/1"));
            assert_eq!(recs[0].str_field("cc_languages"), Some("yor,eng"));
            assert_eq!(recs[1].field("cc_languages"), None);
            assert_eq!(recs[1].source.as_ref().unwrap().line, 4);
        }
    }

    #[test]
    fn invalid_utf8_fails_or_rejects_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_warc(
            dir.path(),
            "bad.wet.gz",
            &[
                conv("https://a.test/1", b"ok"),
                conv("https://a.test/2", b"ab\xffc"),
                conv("https://a.test/3", b"fine"),
            ],
        );
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert_eq!(
            e,
            format!(
                "{}:2: field `text`: invalid UTF-8 at byte 2 of the record's text",
                glob(&p)
            )
        );
        let (recs, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
        assert_eq!((recs.len(), c.rejected), (2, 1));
    }
}
