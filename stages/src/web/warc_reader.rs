//! `warc_reader`: web pages from WARC files (`.warc`, `.warc.gz`; WARC 1.0 and 1.1).
//!
//! Streams each file record by record (gzip member by member for `.gz`; see
//! [`super::input`]). A `response` record whose HTTP payload is HTML becomes one record:
//! `text` is empty (`extract_html` fills it) and the fields are `url`, `html` (the page,
//! decoded to text by its declared or detected charset, [`super::charset`]),
//! `fetch_time` (`WARC-Date`), `content_type`, `charset`, `charset_source`, `http_status`
//! and `warc_record_id`; `warc_truncated` when the crawler cut the payload. The record
//! id is the WARC record id; `source` is `<file>:<record number>`.
//!
//! Every WARC record counts as one record in. Drop reasons: `not_response` (warcinfo,
//! request, metadata, revisit … records; a counter `warc_type_<type>_total` per type),
//! `http_status` (not 2xx), `not_html` (another MIME type; `application/xhtml+xml` and
//! an untyped payload that starts like HTML are HTML), `html_too_large` (over
//! `max_html_bytes` after decoding), `content_encoding` (a compression other than gzip or
//! deflate), `malformed_http`. A truncated or corrupt file is an error naming the file,
//! the record number and the byte offset (of the gzip member for `.gz`); with
//! `on_error = "reject"` it is one reject and the reader goes on with the next file.
//! Under `--shard i/n` files (or records) are split as for every reader.
//!
//! ```toml
//! [stages.pages]
//! type = "warc_reader"
//! paths = ["crawl/*.warc.gz"]
//! lang = "yor"
//! on_error = "reject"
//! ```

use super::charset;
use super::http::{charset_param, mime_type, parse_response, HttpProblem};
use super::records::WarcRecord;
use super::{drop_other_type, WarcInputs};
use crate::read::{validate_common, OnError};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    BuildContext, Emitter, Provenance, Record, Source, StageConfig, StageError, StageImpl,
    StageKind,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Reads HTML pages from WARC files: one record per `response` record with an HTML payload.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct WarcReaderConfig {
    /// Input files (`.warc`, `.warc.gz`): glob patterns; each must match.
    pub paths: Vec<String>,
    /// ISO 639-3 language of the records, if known (langid decides otherwise).
    #[serde(default)]
    pub lang: Option<String>,
    /// Largest HTML payload kept, in bytes after HTTP decoding (larger: `html_too_large`).
    #[serde(default = "default_max_html_bytes")]
    pub max_html_bytes: usize,
    /// A truncated or corrupt file: `fail` stops the run, `reject` writes one reject for
    /// it and goes on with the next file.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_max_html_bytes() -> usize {
    8 << 20
}

impl StageConfig for WarcReaderConfig {
    const TYPE: &'static str = "warc_reader";
    const KIND: StageKind = StageKind::Source;

    fn validate(&self, v: &mut Validator) {
        validate_common(v, &self.paths, &self.lang);
        if self.max_html_bytes == 0 {
            v.error("max_html_bytes", "must be at least 1");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Source(Box::new(WarcReader {
            cfg: self.clone(),
            inputs: WarcInputs::new(&self.paths, ctx)?,
        })))
    }
}

/// The runtime reader.
pub struct WarcReader {
    cfg: WarcReaderConfig,
    inputs: WarcInputs,
}

/// What a `response` record became.
enum Page {
    Html(Record),
    Skip(&'static str),
}

impl WarcReader {
    fn page(&self, file: &Arc<str>, n: u64, w: WarcRecord) -> Page {
        let resp = match parse_response(&w.block, self.cfg.max_html_bytes) {
            Ok(r) => r,
            Err(HttpProblem::TooLarge) => return Page::Skip("html_too_large"),
            Err(HttpProblem::UnsupportedEncoding(_)) => return Page::Skip("content_encoding"),
            Err(HttpProblem::Malformed(_)) => return Page::Skip("malformed_http"),
        };
        if !(200..300).contains(&resp.status) {
            return Page::Skip("http_status");
        }
        let ct = resp.content_type.as_deref().unwrap_or("");
        if !is_html(&mime_type(ct), w.identified_type.as_deref(), &resp.body) {
            return Page::Skip("not_html");
        }
        let page = charset::decode(&resp.body, charset_param(ct).as_deref());
        let mut rec = Record {
            id: w.record_id.clone(),
            lang: self.cfg.lang.clone(),
            source: Some(Provenance {
                file: file.clone(),
                line: n,
            }),
            ..Record::default()
        };
        rec.set("url", w.target_uri.unwrap_or_default());
        rec.set("html", page.text);
        rec.set("fetch_time", w.date);
        rec.set("content_type", ct);
        rec.set("charset", page.charset);
        rec.set("charset_source", page.source.as_str());
        rec.set("http_status", resp.status);
        rec.set("warc_record_id", w.record_id);
        if let Some(t) = w.truncated {
            rec.set("warc_truncated", t);
        }
        Page::Html(rec)
    }
}

/// Whether a payload is HTML: by its MIME type, else Common Crawl's identified type, else
/// by its first bytes.
fn is_html(mime: &str, identified: Option<&str>, body: &[u8]) -> bool {
    let html_type = |m: &str| m == "text/html" || m == "application/xhtml+xml";
    if !mime.is_empty() {
        return html_type(mime);
    }
    if let Some(t) = identified {
        return html_type(&mime_type(t));
    }
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

impl Source for WarcReader {
    fn run(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        self.inputs.run(self.cfg.on_error, out, |file, n, w, out| {
            if w.warc_type != "response" {
                drop_other_type(out, &w, "not_response");
                return Ok(());
            }
            let id = w.record_id.clone();
            match self.page(file, n, w) {
                Page::Html(rec) => out.keep(rec),
                Page::Skip(why) => out.drop(Record::new(id, ""), why),
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::{check_example, err_text, glob, run_reader, truncate_half};
    use crate::web::test_warc::{response, write_warc, WarcEntry};

    fn cfg(p: &std::path::Path, on_error: OnError) -> WarcReaderConfig {
        WarcReaderConfig {
            paths: vec![glob(p)],
            lang: Some("yor".into()),
            max_html_bytes: default_max_html_bytes(),
            on_error,
        }
    }

    #[test]
    fn example_parses_and_validates() {
        assert_eq!(
            check_example(include_str!("warc_reader.rs")),
            ["warc_reader"]
        );
    }

    fn mixed() -> Vec<WarcEntry> {
        vec![
            WarcEntry::info(),
            WarcEntry::request("http://a.test/1"),
            response(
                "http://a.test/1",
                "text/html; charset=windows-1252",
                b"<html><title>Caf\xe9</title><p>caf\xe9</p></html>",
            ),
            response("http://a.test/img", "image/png", b"\x89PNG...."),
            WarcEntry::raw(
                "response",
                "http://a.test/404",
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>no</p>".into(),
            ),
            response(
                "http://b.test/x",
                "",
                "<!DOCTYPE html><p>Ẹ kú</p>".as_bytes(),
            ),
        ]
    }

    #[test]
    fn responses_with_html_become_records_and_the_rest_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.warc", "a.warc.gz"] {
            let p = write_warc(dir.path(), name, &mixed());
            let (recs, c) = run_reader(&cfg(&p, OnError::Fail), dir.path()).unwrap();
            assert_eq!(c.records_in, 6, "{name}");
            assert_eq!(recs.len(), 2);
            assert_eq!(c.dropped["not_response"], 2);
            assert_eq!(c.dropped["not_html"], 1);
            assert_eq!(c.dropped["http_status"], 1);
            assert_eq!(c.counters["warc_type_warcinfo_total"], 1);
            assert_eq!(c.counters["warc_type_request_total"], 1);
            let r = &recs[0];
            assert_eq!(r.str_field("url"), Some("http://a.test/1"));
            assert_eq!(
                r.str_field("html"),
                Some("<html><title>Café</title><p>café</p></html>")
            );
            assert_eq!(r.str_field("charset"), Some("windows-1252"));
            assert_eq!(r.str_field("charset_source"), Some("http"));
            assert!(r.id.starts_with("urn:uuid:"), "{}", r.id);
            assert_eq!(r.str_field("warc_record_id"), Some(r.id.as_str()));
            assert!(r.str_field("fetch_time").unwrap().starts_with("20"));
            assert_eq!(r.source.as_ref().unwrap().line, 3);
            assert_eq!(r.lang.as_deref(), Some("yor"));
            assert_eq!(recs[1].str_field("charset"), Some("UTF-8"));
        }
    }

    #[test]
    fn truncated_and_corrupt_files_name_file_record_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let pages: Vec<WarcEntry> = (0..40)
            .map(|i| {
                response(
                    &format!("http://a.test/{i}"),
                    "text/html",
                    format!("<p>page {i} {}</p>", "words ".repeat(200)).as_bytes(),
                )
            })
            .collect();
        for name in ["t.warc", "t.warc.gz"] {
            let p = write_warc(dir.path(), name, &pages);
            truncate_half(&p);
            let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
            assert!(e.starts_with(&format!("{}:", glob(&p))), "{e}");
            assert!(
                e.contains("WARC record") && e.contains("byte offset"),
                "{e}"
            );
            if name.ends_with(".gz") {
                assert!(e.contains("gzip member at byte offset"), "{e}");
            }
            let (recs, c) = run_reader(&cfg(&p, OnError::Reject), dir.path()).unwrap();
            assert_eq!(c.rejected, 1, "{name}");
            assert!(recs.len() > 5 && recs.len() < 40, "{name}: {}", recs.len());
        }
        // Garbage where a record should start.
        let p = write_warc(dir.path(), "c.warc", &pages[..2]);
        let mut b = std::fs::read(&p).unwrap();
        b.extend_from_slice(b"this is not a WARC record\r\n\r\n");
        std::fs::write(&p, b).unwrap();
        let e = err_text(run_reader(&cfg(&p, OnError::Fail), dir.path()));
        assert!(e.contains(":3: WARC record 3 (byte offset"), "{e}");
    }

    #[test]
    fn record_sharding_splits_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_warc(dir.path(), "s.warc.gz", &mixed());
        let mut got = Vec::new();
        for index in 0..2 {
            let mut ctx = BuildContext::for_tests(dir.path());
            ctx.shard = Some(mavuno_pipeline::stage::Shard {
                index,
                count: 2,
                by_file: true,
            });
            let StageImpl::Source(mut s) = cfg(&p, OnError::Fail).build(&ctx).unwrap() else {
                panic!()
            };
            let mut out = Emitter::collecting(2);
            s.run(&mut out).unwrap();
            got.push((out.counts().records_in, out.take_collected().len()));
        }
        // Records 1,3,5 and 2,4,6: each page lands in exactly one shard.
        assert_eq!(got, [(3, 1), (3, 1)]);
    }
}
