//! `extract_html`: the main text of each record's HTML page becomes its `text`.
//!
//! Reads the page from `field` (`html`, as `warc_reader` writes it, already decoded to
//! text by its declared or detected charset), removes navigation, menus, footers, cookie
//! banners, asides, captions and comments, and keeps the article body ([`super::extract`]:
//! `libreadability` behind a boilerplate pre-clean). The text has one line per block
//! (paragraph, heading, list item). Fields added: `title`, `html_lang` (the `lang`
//! attribute of `<html>`, as written); the `html` field is removed unless `keep_html`.
//! Pages are extracted in parallel and emitted in input order.
//!
//! Drop reason: `no_main_text` (no article found, or less than `min_chars` non-space
//! characters). A record without the field (or with a non-string one) is rejected, and so
//! is a page the extractor panics on. Counters: `html_bytes_total`, `text_bytes_total`.
//!
//! ```toml
//! [stages.main_text]
//! type = "extract_html"
//! inputs = ["pages"]
//! min_chars = 25
//! ```

use super::extract::{extract, Extracted, NoText};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Record, Stage, StageConfig, StageError, StageImpl,
    StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Replaces each record's text by the main text of its HTML page.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct ExtractHtmlConfig {
    /// The string field that holds the page's HTML.
    #[serde(default = "default_field")]
    pub field: String,
    /// Least main text a page must give, in non-space characters (less: `no_main_text`).
    #[serde(default = "default_min_chars")]
    pub min_chars: usize,
    /// Keep the HTML field after extraction (off: records shrink to their text).
    #[serde(default)]
    pub keep_html: bool,
}

fn default_field() -> String {
    "html".into()
}

fn default_min_chars() -> usize {
    25
}

impl Default for ExtractHtmlConfig {
    fn default() -> Self {
        ExtractHtmlConfig {
            field: default_field(),
            min_chars: default_min_chars(),
            keep_html: false,
        }
    }
}

impl StageConfig for ExtractHtmlConfig {
    const TYPE: &'static str = "extract_html";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.field.is_empty() || self.field == "text" {
            v.error(
                "field",
                "must name the field that holds the HTML (not `text`)",
            );
        }
        if self.min_chars == 0 {
            v.error("min_chars", "must be at least 1");
        }
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(ExtractHtml {
            cfg: self.clone(),
        })))
    }
}

/// The runtime stage.
pub struct ExtractHtml {
    cfg: ExtractHtmlConfig,
}

impl ExtractHtml {
    fn one(&self, mut rec: Record) -> (Outcome, u64, u64) {
        let Some(html) = rec.str_field(&self.cfg.field) else {
            let msg = format!("field `{}` is missing or not a string", self.cfg.field);
            return (Outcome::Reject(rec, msg), 0, 0);
        };
        let html_bytes = html.len() as u64;
        match extract(html, self.cfg.min_chars) {
            Ok(Extracted {
                text,
                title,
                html_lang,
            }) => {
                let n = text.len() as u64;
                rec.text = text;
                rec.set("title", title);
                if let Some(l) = html_lang {
                    rec.set("html_lang", l);
                }
                if !self.cfg.keep_html {
                    rec.fields.remove(&self.cfg.field);
                }
                (Outcome::Keep(rec), html_bytes, n)
            }
            Err(NoText::NoMainText) => (Outcome::Drop(rec, "no_main_text"), html_bytes, 0),
            Err(NoText::Panicked(m)) => {
                let msg = format!("the HTML extractor failed on this page: {m}");
                (Outcome::Reject(rec, msg), html_bytes, 0)
            }
        }
    }
}

impl Stage for ExtractHtml {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let done: Vec<(Outcome, u64, u64)> = batch.into_par_iter().map(|r| self.one(r)).collect();
        let (mut html, mut text) = (0, 0);
        for (o, h, t) in done {
            html += h;
            text += t;
            out.apply(o);
        }
        out.counter("html_bytes_total", html);
        out.counter("text_bytes_total", text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::shared_data;
    use crate::testutil::doc_example_of;

    fn run(cfg: ExtractHtmlConfig, recs: Vec<Record>) -> (Vec<Record>, mavuno_pipeline::Counts) {
        let mut s = ExtractHtml { cfg };
        let mut out = Emitter::collecting(4);
        s.process(recs, &mut out).unwrap();
        let c = out.counts().clone();
        (out.take_collected(), c)
    }

    fn page(id: &str, html: &str) -> Record {
        let mut r = Record::new(id, "");
        r.set("html", html);
        r
    }

    #[test]
    fn example_parses_and_validates() {
        let cfg: ExtractHtmlConfig = doc_example_of(include_str!("extract_html.rs"), "main_text");
        assert_eq!(cfg.min_chars, 25);
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let mut v = Validator::default();
        ExtractHtmlConfig {
            field: "text".into(),
            min_chars: 0,
            keep_html: false,
        }
        .validate(&mut v);
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn udhr_pages_give_their_text_lang_and_title() {
        // Every UDHR translation: the extracted text must hold (nearly) every word of the
        // reference paragraphs of its language, and the lang attribute must come through.
        let tsv = std::fs::read_to_string(shared_data("udhr/udhr_paragraphs.tsv")).unwrap();
        let dir = shared_data("udhr/html");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert_eq!(names.len(), 12);
        let recs: Vec<Record> = names
            .iter()
            .map(|p| {
                let code = p.file_stem().unwrap().to_str().unwrap();
                page(code, &std::fs::read_to_string(p).unwrap())
            })
            .collect();
        let (got, c) = run(ExtractHtmlConfig::default(), recs);
        assert_eq!(got.len(), 12, "{c:?}");
        for r in &got {
            let reference: Vec<&str> = tsv
                .lines()
                .filter_map(|l| {
                    let mut f = l.split('\t');
                    (f.next() == Some(r.id.as_str()))
                        .then(|| f.nth(2))
                        .flatten()
                })
                .flat_map(str::split_whitespace)
                .collect();
            // Amharic separates words with ፡ more than with spaces: 50 tokens there.
            assert!(reference.len() >= 50, "{}", r.id);
            let have: std::collections::HashSet<&str> = r.text.split_whitespace().collect();
            let found = reference.iter().filter(|w| have.contains(*w)).count();
            let recall = found as f64 / reference.len() as f64;
            assert!(recall > 0.98, "{}: recall {recall}", r.id);
            assert!(
                r.str_field("html_lang").is_some_and(|l| !l.is_empty()),
                "{}",
                r.id
            );
            assert!(r.field("html").is_none());
        }
        let yor = got.iter().find(|r| r.id == "yor").unwrap();
        assert_eq!(yor.str_field("html_lang"), Some("yo"));
        // Readability takes the single <h1> when <title> is this short.
        let title = yor.str_field("title").unwrap();
        assert!(title == "Yoruba" || title.starts_with("ÌKÉDE"), "{title}");
        assert!(c.counters["html_bytes_total"] > c.counters["text_bytes_total"]);
    }

    #[test]
    fn empty_pages_drop_and_missing_fields_reject() {
        let mut no_field = Record::new("x", "t");
        no_field.set("html", 3);
        let (got, c) = run(
            ExtractHtmlConfig {
                keep_html: true,
                ..Default::default()
            },
            vec![
                page("a", "<html><body><nav>Menu</nav></body></html>"),
                no_field,
                Record::new("y", ""),
            ],
        );
        assert!(got.is_empty());
        assert_eq!((c.dropped["no_main_text"], c.rejected), (1, 2));
    }
}
