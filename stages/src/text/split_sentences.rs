//! `split_sentences`: one record per sentence, using the shared script-aware splitter
//! ([`crate::text::segment::sentences`]: `. ? !`, `।` `॥`, `።` `፧`, `؟` `۔`, abbreviations,
//! initials, "3.5", closing quotes/brackets attached).
//!
//! Child ids are `<parent id>#<n>` (n from 0, counting only emitted sentences). `lang`,
//! `source` and other fields are copied; `spans` and `token_offsets` go to the child that
//! contains them, re-based to its text (a span crossing a sentence boundary is dropped
//! and counted in `spans_split_total`). Sentences shorter than `min_chars` characters
//! are left out (`sentences_too_short_total`). Counter: `sentences_total`.
//!
//! ```toml
//! [stages.sents]
//! type = "split_sentences"
//! inputs = ["norm"]
//! min_chars = 10
//! newline_breaks = true
//! ```

use crate::text::segment::sentences;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Record, Stage, StageConfig, StageError, StageImpl,
    StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Splits records into sentences.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct SplitSentencesConfig {
    /// Leave out sentences with fewer characters (Unicode scalar values) than this (default 0).
    #[serde(default)]
    pub min_chars: usize,
    /// Treat every line break as a sentence end (default false: only blank lines are).
    #[serde(default)]
    pub newline_breaks: bool,
    /// Language for abbreviation lists when a record has no `lang` (ISO 639-3).
    #[serde(default)]
    pub lang: Option<String>,
}

impl StageConfig for SplitSentencesConfig {
    const TYPE: &'static str = "split_sentences";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.min_chars > 10_000 {
            v.warn(
                "min_chars",
                format!("{} leaves out almost every sentence", self.min_chars),
            );
        }
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(SplitSentences {
            cfg: self.clone(),
        })))
    }
}

/// The runtime stage.
pub struct SplitSentences {
    cfg: SplitSentencesConfig,
}

struct Split {
    children: Vec<Record>,
    short: u64,
    spans_split: u64,
}

fn offsets(v: &Value) -> Option<(usize, usize)> {
    if let Some(a) = v.as_array() {
        return Some((a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize));
    }
    Some((
        v.get("start")?.as_u64()? as usize,
        v.get("end")?.as_u64()? as usize,
    ))
}

fn rebase(v: &Value, d: usize) -> Value {
    let mut v = v.clone();
    if let Some(a) = v.as_array_mut() {
        for x in a.iter_mut().take(2) {
            *x = (x.as_u64().unwrap_or(0) as usize - d).into();
        }
    } else if let Some(o) = v.as_object_mut() {
        for k in ["start", "end"] {
            if let Some(x) = o.get_mut(k) {
                *x = (x.as_u64().unwrap_or(0) as usize - d).into();
            }
        }
    }
    v
}

/// Splits one record (pure; used by the stage and by tests).
pub fn split_record(rec: &Record, cfg: &SplitSentencesConfig) -> (Vec<Record>, u64, u64) {
    let s = split(rec, cfg);
    (s.children, s.short, s.spans_split)
}

fn split(rec: &Record, cfg: &SplitSentencesConfig) -> Split {
    let lang = rec.lang.as_deref().or(cfg.lang.as_deref());
    let spans = sentences(&rec.text, lang, cfg.newline_breaks);
    let mut out = Split {
        children: Vec::with_capacity(spans.len()),
        short: 0,
        spans_split: 0,
    };
    let mut n = 0;
    for (s, e) in &spans {
        let (s, e) = (*s, *e);
        let text = &rec.text[s..e];
        if cfg.min_chars > 0 && text.chars().take(cfg.min_chars).count() < cfg.min_chars {
            out.short += 1;
            continue;
        }
        let mut child = Record {
            id: format!("{}#{n}", rec.id),
            text: text.to_string(),
            lang: rec.lang.clone(),
            source: rec.source.clone(),
            fields: Default::default(),
        };
        for (k, v) in &rec.fields {
            if k == "spans" || k == "token_offsets" {
                let Some(arr) = v.as_array() else { continue };
                let inside: Vec<Value> = arr
                    .iter()
                    .filter(|x| offsets(x).is_some_and(|(a, b)| a >= s && b <= e))
                    .map(|x| rebase(x, s))
                    .collect();
                child.fields.insert(k.clone(), Value::Array(inside));
            } else {
                child.fields.insert(k.clone(), v.clone());
            }
        }
        n += 1;
        out.children.push(child);
    }
    if let Some(Value::Array(arr)) = rec.fields.get("spans") {
        out.spans_split = arr
            .iter()
            .filter(|x| {
                offsets(x).is_some_and(|(a, b)| !spans.iter().any(|&(s, e)| a >= s && b <= e))
            })
            .count() as u64;
    }
    out
}

impl Stage for SplitSentences {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let cfg = &self.cfg;
        let results: Vec<Split> = batch.par_iter().map(|r| split(r, cfg)).collect();
        let (mut total, mut short, mut lost) = (0, 0, 0);
        for s in results {
            total += s.children.len() as u64;
            short += s.short;
            lost += s.spans_split;
            out.apply(Outcome::KeepMany(s.children));
        }
        drop(batch);
        out.counter("sentences_total", total);
        out.counter("sentences_too_short_total", short);
        out.counter("spans_split_total", lost);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn toml_example_parses_and_validates() {
        crate::text::check_doc_example(include_str!("split_sentences.rs"));
        let cfg: SplitSentencesConfig =
            toml::from_str("min_chars = 10\nnewline_breaks = true").unwrap();
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty() && v.warnings.is_empty());
        let cfg = SplitSentencesConfig {
            min_chars: 20_000,
            ..Default::default()
        };
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert_eq!(
            v.warnings[0].message,
            "20000 leaves out almost every sentence"
        );
    }

    #[test]
    fn splits_with_ids_and_rebased_spans() {
        let t = "Adé lọ sí Èkó. Ó dé ní 3.5 wákàtí! ሰላም ነው።";
        let mut r = Record::new("doc1", t);
        r.lang = Some("yor".into());
        let eko = t.find("Èkó").unwrap();
        r.set("spans", json!([{"start": 0, "end": 4, "label": "PER"}, {"start": eko, "end": eko + "Èkó".len(), "label": "LOC"}, {"start": 5, "end": 25, "label": "X"}]));
        r.set("label", "news");
        let mut s = SplitSentences {
            cfg: SplitSentencesConfig {
                min_chars: 3,
                ..Default::default()
            },
        };
        let mut out = Emitter::collecting(2);
        s.process(vec![r, Record::new("empty", "")], &mut out)
            .unwrap();
        let kids = out.take_collected();
        let texts: Vec<&str> = kids.iter().map(|k| k.text.as_str()).collect();
        assert_eq!(texts, ["Adé lọ sí Èkó.", "Ó dé ní 3.5 wákàtí!", "ሰላም ነው።"]);
        assert_eq!(kids[1].id, "doc1#1");
        assert_eq!(kids[0].fields["label"], "news");
        let sp = kids[0].fields["spans"].as_array().unwrap();
        assert_eq!(sp.len(), 2);
        assert_eq!(
            &kids[0].text[sp[1]["start"].as_u64().unwrap() as usize
                ..sp[1]["end"].as_u64().unwrap() as usize],
            "Èkó"
        );
        assert_eq!(out.counts().counters["spans_split_total"], 1);
        assert_eq!(out.counts().kept, 2);
        assert!(out.counts().balances() || out.counts().records_in == 0);
    }

    #[test]
    fn batch_size_does_not_matter() {
        let recs: Vec<Record> = (0..7)
            .map(|i| Record::new(format!("r{i}"), "One. Two! Three?".repeat(i % 3 + 1)))
            .collect();
        let run = |bs: usize| {
            let mut s = SplitSentences {
                cfg: SplitSentencesConfig::default(),
            };
            let mut out = Emitter::collecting(bs);
            for ch in recs.chunks(bs) {
                s.process(ch.to_vec(), &mut out).unwrap();
            }
            out.take_collected()
        };
        assert_eq!(run(1), run(5));
    }
}
