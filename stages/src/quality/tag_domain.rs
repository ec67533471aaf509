//! `tag_domain`: flags religious text (Bible/Quran verse references such as "John 3:16",
//! "Jn 3:16", "Gen. 1:1", "Surah 2:255", and repeated Bible book names of the record's
//! language, see [`crate::quality::religious`]) by setting `fields["domain"] = "religious"`.
//! Counter: `religious_total` (records flagged).
//!
//! `max_share` caps the religious share of the output deterministically: records are
//! seen in input order, and a religious record is dropped (reason `religious_cap`) when
//! keeping it would lift the share of religious records among kept records above
//! `max_share`. The decision depends only on the records before it, never on batching.
//!
//! ```toml
//! [stages.domain]
//! type = "tag_domain"
//! inputs = ["quality"]
//! lang = "yor"
//! max_share = 0.1
//! ```

use crate::quality::religious::{has_verse_reference, matcher};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

fn two() -> usize {
    2
}

/// Tags religious records and optionally caps their share.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct TagDomainConfig {
    /// Language for book names when a record has no `lang` (ISO 639-3; default English).
    #[serde(default)]
    pub lang: Option<String>,
    /// Book-name mentions that flag a record without a verse reference (default 2).
    #[serde(default = "two")]
    pub min_book_mentions: usize,
    /// Maximum share of religious records among kept records, in [0, 1]; unset = no cap.
    #[serde(default)]
    pub max_share: Option<f64>,
}

impl StageConfig for TagDomainConfig {
    const TYPE: &'static str = "tag_domain";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if let Some(x) = self.max_share {
            v.range("max_share", x, 0.0, 1.0);
            if x == 1.0 {
                v.warn(
                    "max_share",
                    "1 never drops anything; leave max_share unset to tag only",
                );
            }
        }
        v.at_least("min_book_mentions", self.min_book_mentions, 1);
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(TagDomain {
            cfg: self.clone(),
            kept: 0,
            religious_kept: 0,
        })))
    }
}

/// Whether `text` is religious: a verse reference, or `min_book_mentions` book names of `lang`.
pub fn is_religious(text: &str, lang: &str, min_book_mentions: usize) -> bool {
    has_verse_reference(text) || matcher(lang).book_mentions(text) >= min_book_mentions
}

/// The runtime stage; holds the running counts for the cap.
pub struct TagDomain {
    cfg: TagDomainConfig,
    kept: u64,
    religious_kept: u64,
}

impl Stage for TagDomain {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let cfg = &self.cfg;
        let flags: Vec<bool> = batch
            .par_iter()
            .map(|r: &Record| {
                let lang = r.lang.as_deref().or(cfg.lang.as_deref()).unwrap_or("eng");
                is_religious(&r.text, lang, cfg.min_book_mentions)
            })
            .collect();
        let mut flagged = 0;
        for (mut rec, religious) in batch.into_iter().zip(flags) {
            if !religious {
                self.kept += 1;
                out.keep(rec);
                continue;
            }
            flagged += 1;
            rec.set("domain", "religious");
            if let Some(max) = cfg.max_share {
                let share = (self.religious_kept + 1) as f64 / (self.kept + 1) as f64;
                if share > max {
                    out.drop(rec, "religious_cap");
                    continue;
                }
            }
            self.kept += 1;
            self.religious_kept += 1;
            out.keep(rec);
        }
        out.counter("religious_total", flagged);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_example_parses_and_validates() {
        crate::text::check_doc_example(include_str!("tag_domain.rs"));
        let c: TagDomainConfig = toml::from_str("lang = \"yor\"\nmax_share = 0.1").unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty() && v.warnings.is_empty());
    }

    #[test]
    fn validation_messages() {
        let c: TagDomainConfig = toml::from_str("max_share = 1.5\nmin_book_mentions = 0").unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        let e: Vec<_> = v
            .errors
            .iter()
            .map(|f| (f.field.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            e,
            [
                ("max_share", "must be in [0, 1], got 1.5"),
                ("min_book_mentions", "must be at least 1, got 0")
            ]
        );
        let c: TagDomainConfig = toml::from_str("max_share = 1.0").unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert_eq!(
            v.warnings[0].message,
            "1 never drops anything; leave max_share unset to tag only"
        );
    }

    fn recs() -> Vec<Record> {
        let texts = [
            "For God so loved the world, John 3:16.",
            "The market opened early today.",
            "Rain fell in Kano.",
            "Gen. 1:1 In the beginning.",
            "Surah 2:255 is recited often.",
            "Prices rose again.",
            "Mátíù àti Máàkù kọ ìwé ìhìnrere.",
            "Mark and John went to school.",
        ];
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut r = Record::new(format!("r{i}"), *t);
                if i == 6 {
                    r.lang = Some("yor".into());
                }
                r
            })
            .collect()
    }

    #[test]
    fn tags_and_counts() {
        let mut s = TagDomain {
            cfg: toml::from_str("").unwrap(),
            kept: 0,
            religious_kept: 0,
        };
        let mut out = Emitter::collecting(3);
        s.process(recs(), &mut out).unwrap();
        let got: Vec<bool> = out
            .take_collected()
            .iter()
            .map(|r| r.str_field("domain") == Some("religious"))
            .collect();
        // "Mark and John" names two books: flagged by the book-name rule (its known cost).
        assert_eq!(got, [true, false, false, true, true, false, true, true]);
        assert_eq!(out.counts().counters["religious_total"], 5);
    }

    #[test]
    fn cap_is_deterministic_across_batch_sizes() {
        let run = |bs: usize| {
            let mut s = TagDomain {
                cfg: toml::from_str("max_share = 0.34").unwrap(),
                kept: 0,
                religious_kept: 0,
            };
            let mut out = Emitter::collecting(bs);
            let all = recs();
            for ch in all.chunks(bs) {
                s.process(ch.to_vec(), &mut out).unwrap();
            }
            let ids: Vec<String> = out.take_collected().into_iter().map(|r| r.id).collect();
            (ids, out.counts().dropped.get("religious_cap").copied())
        };
        let a = run(1);
        assert_eq!(a, run(8));
        assert_eq!(a.0, ["r1", "r2", "r3", "r5"]);
        assert_eq!(a.1, Some(4));
    }

    #[test]
    fn no_panic_on_odd_text() {
        for t in ["", ":", "3:16", "\u{200D}", "Surah", "ශ්‍රී"] {
            let _ = is_religious(t, "sin", 1);
            let _ = is_religious(t, "xx", 2);
        }
    }
}
