//! `langid`: labels each record's language (ISO 639-3, or `und`) and its confidence,
//! and optionally drops records that are not in the expected languages.
//!
//! Writes `lang` and `fields["lang_confidence"]` (mode `annotate` and `filter`). In
//! mode `filter`, a record labelled `und` is dropped with reason `unknown_language`, and
//! one whose label is not in `expect` with reason `wrong_language`. Predictions run in
//! parallel over the batch (rayon); output order is the input order.
//!
//! The confidence of every record is recorded per language in a fixed-size histogram
//! (`<run>/metrics/<stage>.json`, the same format as the `filter` stage's measures) with
//! the threshold that applies to it, so the run report can say how many records another
//! `min_confidence` would label. An `und` record counts under its best label, the one that
//! fell below its threshold (under `und` when the model had nothing to say). A record
//! dropped as `unknown_language` carries its confidence and that threshold into
//! `<run>/dropped/`.
//!
//! With `retry_without_names = true`, a record that comes out `und` is labelled once more
//! with its capitalised words after the first removed ([`super::names`]); a label from
//! that second look is used and counted (`retried_without_names_total`). The retry can
//! only turn `und` into a label, never change one.
//!
//! With `expect_margin = m` (mode `filter`), a record that would be dropped (labelled `und`
//! or another language) is kept as the expected language when that language's score is
//! within `m` of the best score: the user has said what the corpus is, so a short line
//! whose best guess is only weakly another language, or a close neighbour by a hair
//! (Zulu/Xhosa, Kinyarwanda/Kirundi), is not thrown away, while confidently foreign text
//! still is. Counted as `kept_by_expect_margin_total`; text without letters has no score
//! and stays `und`.
//!
//! ```toml
//! [stages.langid]
//! type = "langid"
//! inputs = ["raw"]
//! backend = "mavuno"                      # or "fasttext" with model = "lid.176.ftz"
//! model = "models/lid/mavuno-lid-v1.bin"  # the default
//! mode = "filter"
//! expect = ["yor"]
//! min_confidence = 0.5
//! thresholds = { yor = 0.4 }
//! ```

use super::model::{Features, Prediction, Thresholds};
use super::names::without_names;
use super::{Backend, Identifier, DEFAULT_MODEL};
use crate::quality::measures::{metrics_path, FilterMetrics, MetricDef};
use crate::stats::histogram::Scale;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, DropDetail, Emitter, Outcome, Stage, StageConfig, StageError, StageImpl,
    StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the stage does with its labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Label every record and keep it.
    #[default]
    Annotate,
    /// Label, then drop `und` (`unknown_language`) and labels outside `expect` (`wrong_language`).
    Filter,
}

/// Labels records with their language.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct LangidConfig {
    /// Model file. Default: `models/lid/mavuno-lid-v1.bin`, the `mavuno` backend's shipped
    /// model. A relative path is looked up in the current directory, then beside the
    /// binary (`mavuno doctor` shows where).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `mavuno` (mavuno's own model) or `fasttext` (a `.bin`/`.ftz` fastText model:
    /// lid.176, GlotLID, OpenLID, NLLB). Default `mavuno`.
    #[serde(default)]
    pub backend: Backend,
    /// ISO 639-3 labels to keep in mode `filter`; empty keeps every label but `und`.
    #[serde(default)]
    pub expect: Vec<String>,
    /// Confidence in [0, 1] below which a record is `und`. Default: the model's own
    /// (0.5 for fastText models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<f32>,
    /// Per-language thresholds in [0, 1] overriding `min_confidence`, e.g. `{ yor = 0.4 }`.
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
    /// `annotate` (default) or `filter`.
    #[serde(default)]
    pub mode: Mode,
    /// Label `und` records again without their capitalised words (names, acronyms,
    /// English titles in news text). Default false.
    #[serde(default)]
    pub retry_without_names: bool,
    /// After mavuno's model, ask lingua about text it cannot place (`mavuno` backend only):
    /// labels zul xho som lug, which mavuno's default model has no data for. Default false.
    #[serde(default)]
    pub lingua: bool,
    /// lingua's confidence bar in [0, 1] (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lingua_min_confidence: Option<f64>,
    /// Mode `filter`: keep a record as the expected language when that language's score is
    /// within this margin in [0, 1] of the best label's (see the module doc). Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_margin: Option<f32>,
}

impl LangidConfig {
    /// The model file to open: the configured or default path, found from any working
    /// directory ([`crate::shipped::resolve`]).
    pub fn model_path(&self) -> std::path::PathBuf {
        crate::shipped::resolve(self.model.as_deref().unwrap_or(DEFAULT_MODEL))
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            default: self.min_confidence,
            per_label: self.thresholds.clone(),
        }
    }
}

fn is_label(s: &str) -> bool {
    (2..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

impl StageConfig for LangidConfig {
    const TYPE: &'static str = "langid";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if let Some(c) = self.min_confidence {
            v.range("min_confidence", c, 0.0, 1.0);
        }
        for (l, t) in &self.thresholds {
            v.range(&format!("thresholds.{l}"), *t, 0.0, 1.0);
        }
        for l in &self.expect {
            if !is_label(l) {
                v.error(
                    "expect",
                    format!("`{l}` is not an ISO 639-3 label (lower-case letters, e.g. `yor`)"),
                );
            } else if l == "und" {
                v.error("expect", "`und` cannot be expected: unidentified records are dropped as `unknown_language`");
            }
        }
        if self.mode == Mode::Annotate && !self.expect.is_empty() {
            v.warn(
                "expect",
                "has no effect in mode `annotate`; set mode = \"filter\" to drop other languages",
            );
        }
        if let Some(m) = self.expect_margin {
            v.range("expect_margin", m, 0.0, 1.0);
            if self.mode != Mode::Filter || self.expect.is_empty() {
                v.warn(
                    "expect_margin",
                    "has no effect without mode = \"filter\" and `expect`",
                );
            }
        }
        if let Some(c) = self.lingua_min_confidence {
            v.range("lingua_min_confidence", c, 0.0, 1.0);
            if !self.lingua {
                v.warn(
                    "lingua_min_confidence",
                    "has no effect without lingua = true",
                );
            }
        }
        if self.lingua && self.backend == Backend::Fasttext {
            v.error(
                "lingua",
                "combines with the mavuno backend only (fastText models such as GlotLID label zul xho som lug themselves)",
            );
        }
        if self.backend == Backend::Fasttext && self.model.is_none() {
            v.error(
                "model",
                "the fasttext backend needs a model path (e.g. lid.176.ftz)",
            );
        }
    }

    fn input_files(&self) -> Vec<String> {
        vec![self.model_path().display().to_string()]
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let out = metrics_path(&ctx.run_dir, &ctx.stage_id);
        Ok(StageImpl::Stage(Box::new(
            self.runtime()?.with_metrics_file(out),
        )))
    }
}

impl LangidConfig {
    /// Loads the model and returns the runtime labeller: the one config-to-runtime step
    /// that both the stage and `mavuno lid` use.
    pub fn runtime(&self) -> Result<Langid, StageError> {
        let path = self.model_path();
        let mut id = Identifier::load(self.backend, &path).map_err(StageError::msg)?;
        if self.lingua {
            id = id
                .with_lingua(self.lingua_min_confidence)
                .map_err(|e| StageError::msg(format!("lingua: {e}")))?;
        }
        let labels = id.labels();
        for l in &self.expect {
            if !labels.contains(l) {
                return Err(StageError::msg(format!(
                    "expect: the model {} cannot output `{l}`; it knows {}",
                    path.display(),
                    labels.join(" ")
                )));
            }
        }
        Ok(
            Langid::new(id, self.thresholds(), self.expect.clone(), self.mode)
                .with_retry_without_names(self.retry_without_names)
                .with_expect_margin(self.expect_margin),
        )
    }
}

/// The runtime stage.
pub struct Langid {
    id: Identifier,
    thresholds: Thresholds,
    expect: Vec<String>,
    mode: Mode,
    retry_without_names: bool,
    expect_margin: Option<f32>,
    /// Confidence histograms: measure 0 is `confidence` under the default threshold, then
    /// `confidence[<label>]` per label with its own threshold (`per_label` order).
    metrics: FilterMetrics,
    metrics_out: Option<PathBuf>,
}

/// A threshold as the report shows it (f32 → f64 without the binary tail).
fn shown(t: f32) -> f64 {
    (t as f64 * 1e6).round() / 1e6
}

/// The confidence measures of a stage: see [`Langid::metrics`].
fn confidence_defs(t: &Thresholds, model_default: f32) -> Vec<MetricDef> {
    let def = |name: String, field: String, min: f32| MetricDef {
        name,
        field,
        scale: Scale::Fraction,
        min: Some(shown(min)),
        max: None,
        drops_at_max: false,
    };
    let mut v = vec![def(
        "confidence".into(),
        "min_confidence".into(),
        t.default.unwrap_or(model_default),
    )];
    for (l, &x) in &t.per_label {
        v.push(def(
            format!("confidence[{l}]"),
            format!("thresholds.{l}"),
            x,
        ));
    }
    v
}

impl Langid {
    /// A stage around an already-loaded identifier (tests, library use).
    pub fn new(id: Identifier, thresholds: Thresholds, expect: Vec<String>, mode: Mode) -> Langid {
        let metrics = FilterMetrics::new(confidence_defs(&thresholds, id.default_threshold()));
        Langid {
            id,
            thresholds,
            expect,
            mode,
            retry_without_names: false,
            expect_margin: None,
            metrics,
            metrics_out: None,
        }
    }

    /// Writes the confidence histograms to `path` when the stage finishes.
    pub fn with_metrics_file(mut self, path: PathBuf) -> Langid {
        self.metrics_out = Some(path);
        self
    }

    /// The confidence histograms so far.
    pub fn metrics(&self) -> &FilterMetrics {
        &self.metrics
    }

    /// Adds one record's confidence under the language it has (or, for `und`, nearly had).
    fn measure(&mut self, p: &Prediction) {
        let lang = match p.label.as_str() {
            super::model::UND => p.rejected.as_deref().unwrap_or(super::model::UND),
            l => l,
        };
        let i = self
            .thresholds
            .per_label
            .keys()
            .position(|l| l == lang)
            .map_or(0, |k| k + 1);
        self.metrics
            .add_one(Some(lang), i, shown(p.confidence).min(1.0));
    }

    /// Sets `expect_margin` (see the module doc).
    pub fn with_expect_margin(mut self, m: Option<f32>) -> Langid {
        self.expect_margin = m;
        self
    }

    /// `expect_margin`: the expected language to keep `p` as, when its score is within the
    /// margin of the best score (`p` is `und` or an unexpected label).
    fn within_margin(&self, text: &str, f: &mut Features) -> Option<Prediction> {
        let m = self.expect_margin?;
        let scores = self.id.scores_with(text, f);
        let top = scores.iter().map(|(_, s)| *s).fold(0f32, f32::max);
        let (label, s) = scores
            .into_iter()
            .filter(|(l, s)| self.expect.contains(l) && *s > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
        (s >= top - m).then_some(Prediction {
            label,
            confidence: s,
            rejected: None,
        })
    }

    /// Turns on the `und` retry without capitalised words.
    pub fn with_retry_without_names(mut self, on: bool) -> Langid {
        self.retry_without_names = on;
        self
    }

    /// The identifier (for `--explain` output of mavuno's model).
    pub fn identifier(&self) -> &Identifier {
        &self.id
    }

    /// Labels one text under the stage's thresholds, with the `und` retry when it is on;
    /// the bool says whether the label came from the retry.
    pub fn label(&self, text: &str, f: &mut Features) -> (Prediction, bool) {
        let p = self.id.predict_with(text, &self.thresholds, f);
        if self.retry_without_names && p.label == super::model::UND {
            if let Some(t) = without_names(text) {
                let q = self.id.predict_with(&t, &self.thresholds, f);
                if q.label != super::model::UND {
                    return (q, true);
                }
            }
        }
        (p, false)
    }
}

impl Stage for Langid {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let outcomes: Vec<(Outcome, (bool, bool), Prediction)> = batch
            .into_par_iter()
            .map_init(Features::default, |f, mut rec| {
                let (orig, retried) = self.label(&rec.text, f);
                let und = orig.label == super::model::UND;
                let wrong = !self.expect.is_empty() && !self.expect.contains(&orig.label);
                let rescue = if self.mode == Mode::Filter && (und || wrong) {
                    self.within_margin(&rec.text, f)
                } else {
                    None
                };
                let (p, und, wrong) = match &rescue {
                    Some(q) => (q, false, false),
                    None => (&orig, und, wrong),
                };
                let conf = (p.confidence as f64 * 1e4).round() / 1e4;
                rec.set("lang_confidence", conf);
                rec.lang = Some(p.label.clone());
                let o = match self.mode {
                    Mode::Filter if und => {
                        // The confidence and the threshold it fell below (its best label's).
                        let t = self.thresholds.for_label(
                            p.rejected.as_deref().unwrap_or(""),
                            self.id.default_threshold(),
                        );
                        let d = DropDetail {
                            value: shown(p.confidence),
                            threshold: shown(t),
                        };
                        Outcome::DropMeasured(rec, "unknown_language", d)
                    }
                    Mode::Filter if wrong => Outcome::Drop(rec, "wrong_language"),
                    _ => Outcome::Keep(rec),
                };
                // The histograms show the model's own call, before `expect_margin`.
                (o, (retried, rescue.is_some()), orig)
            })
            .collect();
        let (mut retried, mut rescued) = (0, 0);
        for (o, (r, m), p) in outcomes {
            // In record order: the histograms do not depend on thread count.
            self.measure(&p);
            retried += r as u64;
            rescued += m as u64;
            out.apply(o);
        }
        if self.retry_without_names {
            out.counter("retried_without_names_total", retried);
        }
        if self.expect_margin.is_some() {
            out.counter("kept_by_expect_margin_total", rescued);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        if let Some(p) = &self.metrics_out {
            self.metrics.write(p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{train, FeatureConfig, TrainConfig};
    use super::*;
    use mavuno_pipeline::{Counts, Record};

    fn doc_example() -> String {
        let src = include_str!("langid.rs");
        let start = src.find("//! ```toml").unwrap_or(0);
        src[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn toml_example_parses_and_validates() {
        let t: toml::Table = toml::from_str(&doc_example()).unwrap_or_else(|e| panic!("{e}"));
        let mut stage = t["stages"]["langid"].clone();
        if let Some(tab) = stage.as_table_mut() {
            tab.remove("type");
            tab.remove("inputs");
        }
        let cfg: LangidConfig = stage.try_into().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.mode, Mode::Filter);
        assert_eq!(cfg.thresholds["yor"], 0.4);
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty() && v.warnings.is_empty(), "{v:?}");
    }

    #[test]
    fn validation_messages() {
        let cfg = LangidConfig {
            min_confidence: Some(1.5),
            thresholds: [("yor".to_string(), -0.1)].into(),
            expect: vec!["Yoruba".into(), "und".into()],
            backend: Backend::Fasttext,
            ..LangidConfig::default()
        };
        let (msgs, warnings) = validation_errors(&cfg);
        assert_eq!(
            msgs,
            [
                "min_confidence: must be in [0, 1], got 1.5",
                "thresholds.yor: must be in [0, 1], got -0.1",
                "expect: `Yoruba` is not an ISO 639-3 label (lower-case letters, e.g. `yor`)",
                "expect: `und` cannot be expected: unidentified records are dropped as `unknown_language`",
                "model: the fasttext backend needs a model path (e.g. lid.176.ftz)",
            ]
        );
        assert_eq!(warnings, 1);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let r: Result<LangidConfig, _> = toml::from_str("min_confidnce = 0.5");
        assert!(r.is_err());
    }

    /// Validation errors as `field: message`, and the number of warnings.
    fn validation_errors(cfg: &LangidConfig) -> (Vec<String>, usize) {
        let mut v = Validator::default();
        cfg.validate(&mut v);
        let msgs = v
            .errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        (msgs, v.warnings.len())
    }

    /// One batch through the stage: the kept records and the counts.
    fn run(s: &mut Langid, batch: Vec<Record>) -> (Vec<Record>, Counts) {
        let mut out = Emitter::collecting(8);
        s.process(batch, &mut out).unwrap_or_else(|e| panic!("{e}"));
        let c = out.counts().clone();
        (out.take_collected(), c)
    }

    fn stage(mode: Mode) -> Langid {
        let cfg = TrainConfig {
            features: FeatureConfig {
                buckets_log2: 14,
                max_n: 4,
                coverage_bits_log2: 14,
                coverage_order: 3,
                ..FeatureConfig::default()
            },
            epochs: 20,
            lr: 0.5,
            ..TrainConfig::default()
        };
        let m = train(&super::super::model::tests_data(), &cfg).unwrap_or_else(|e| panic!("{e}"));
        Langid::new(
            Identifier::Mavuno(m),
            Thresholds::default(),
            vec!["yor".into()],
            mode,
        )
    }

    /// Yoruba, Hausa, an empty record and Russian.
    fn four_languages() -> Vec<Record> {
        vec![
            Record::new("y", "Ọmọ mi lọ sí ọjà ní àárọ̀ òní"),
            Record::new("h", "Yaron ya tafi kasuwa da safe yau"),
            Record::new("e", ""),
            Record::new("r", "Привет, как дела?"),
        ]
    }

    #[test]
    fn filter_drops_with_reasons() {
        let mut s = stage(Mode::Filter);
        let (kept, c) = run(&mut s, four_languages());
        assert_eq!(
            kept.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["y"]
        );
        assert_eq!(kept[0].lang.as_deref(), Some("yor"));
        assert!(kept[0]
            .field("lang_confidence")
            .and_then(|v| v.as_f64())
            .is_some_and(|x| x > 0.5));
        assert_eq!(c.dropped.get("wrong_language"), Some(&1));
        assert_eq!(c.dropped.get("unknown_language"), Some(&2));
    }

    #[test]
    fn confidence_is_recorded_per_language_and_fires_exactly_for_und() {
        let mut s = stage(Mode::Filter);
        let (_, c) = run(&mut s, four_languages());
        let m = s.metrics();
        let stats: Vec<_> = m.langs.values().flat_map(|per| per.values()).collect();
        assert_eq!(stats.iter().map(|s| s.hist.n).sum::<u64>(), 4);
        // Below the threshold ⇔ `und` ⇔ dropped as unknown_language.
        assert_eq!(
            stats.iter().map(|s| s.fired).sum::<u64>(),
            c.dropped["unknown_language"]
        );
        let yor = &m.langs["yor"]["confidence"];
        assert_eq!((yor.hist.n, yor.fired), (1, 0));
        assert_eq!(m.metrics[0].min, Some(shown(s.id.default_threshold())));
        // A per-label threshold gets its own measure, used for that label only.
        let t = Thresholds {
            default: None,
            per_label: [("yor".to_string(), 0.4)].into(),
        };
        let d = confidence_defs(&t, 0.5);
        assert_eq!(d[1].name, "confidence[yor]");
        assert_eq!((d[0].min, d[1].min), (Some(0.5), Some(0.4)));
    }

    #[test]
    fn und_records_are_retried_without_names_when_asked() {
        // A Yoruba sentence drowned in capitalised foreign names: `und` on the first look.
        let text = "Ọmọ mi lọ sí ọjà ní àárọ̀ òní Zbigniew Kowalczyk Przemysław Wojciechowski Grzegorz Szczepański";
        let first = stage(Mode::Filter).id.predict(text, &Thresholds::default());
        assert_eq!(first.label, "und", "premise: the names push it to und");
        let batch = || {
            vec![
                Record::new("y", text),
                Record::new("n", "Zbigniew Kowalczyk"),
            ]
        };
        let (kept, c) = run(&mut stage(Mode::Filter), batch());
        assert!(kept.is_empty());
        assert_eq!(c.dropped.get("unknown_language"), Some(&2));
        assert_eq!(c.counters.get("retried_without_names_total"), None);

        let (kept, c) = run(
            &mut stage(Mode::Filter).with_retry_without_names(true),
            batch(),
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].lang.as_deref(), Some("yor"));
        // The text itself is untouched: only the label comes from the second look.
        assert_eq!(kept[0].text, text);
        assert_eq!(c.dropped.get("unknown_language"), Some(&1));
        assert_eq!(c.counters.get("retried_without_names_total"), Some(&1));
    }

    #[test]
    fn expect_margin_keeps_weak_or_close_calls_and_still_drops_foreign_text() {
        let drowned = "Ọmọ mi lọ sí ọjà ní àárọ̀ òní Zbigniew Kowalczyk Przemysław Wojciechowski Grzegorz Szczepański";
        let s = stage(Mode::Filter);
        let mut f = Features::default();
        let scores = s.id.scores_with(drowned, &mut f);
        let top = scores.iter().map(|x| x.1).fold(0f32, f32::max);
        let yor = scores.iter().find(|x| x.0 == "yor").map_or(0.0, |x| x.1);
        assert!(
            yor > 0.0 && top - yor < 0.3,
            "premise: Yoruba is a close call here: {scores:?}"
        );
        let batch = || {
            vec![
                Record::new("drowned", drowned),
                Record::new("h", "Yaron ya tafi kasuwa da safe yau"),
                Record::new("r", "Привет, как дела?"),
                Record::new("n", "12 345 678"),
            ]
        };
        let (kept, c) = run(&mut stage(Mode::Filter), batch());
        assert!(kept.is_empty());
        assert_eq!(c.counters.get("kept_by_expect_margin_total"), None);
        let (kept, c) = run(
            &mut stage(Mode::Filter).with_expect_margin(Some(0.3)),
            batch(),
        );
        assert_eq!(
            kept.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["drowned"]
        );
        assert_eq!(kept[0].lang.as_deref(), Some("yor"));
        assert_eq!(c.dropped.get("wrong_language"), Some(&1));
        assert_eq!(c.dropped.get("unknown_language"), Some(&2));
        assert_eq!(c.counters.get("kept_by_expect_margin_total"), Some(&1));
    }

    #[test]
    fn lingua_labels_zulu_for_a_zulu_corpus() {
        let id = Identifier::load(Backend::Mavuno, &super::super::committed_model_path())
            .and_then(|id| id.with_lingua(None))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(id.labels().iter().any(|l| l == "zul"));
        let mut s = Langid::new(id, Thresholds::default(), vec!["zul".into()], Mode::Filter);
        // Probe sentences written for this test.
        let batch = vec![
            Record::new(
                "z",
                "Abantwana bafunda esikoleni njalo ekuseni ngaphambi kokuya emsebenzini.",
            ),
            Record::new(
                "h",
                "Yara suna zuwa makaranta kowace safiya kafin iyayensu su tafi aiki.",
            ),
        ];
        let (kept, c) = run(&mut s, batch);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].lang.as_deref(), Some("zul"));
        assert_eq!(c.dropped.get("wrong_language"), Some(&1));
    }

    #[test]
    fn lingua_with_fasttext_is_a_config_error() {
        let cfg: LangidConfig = toml::from_str(
            "backend = \"fasttext\"\nmodel = \"lid.176.ftz\"\nlingua = true\nlingua_min_confidence = 1.5",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (msgs, _) = validation_errors(&cfg);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert_eq!(msgs[0], "lingua_min_confidence: must be in [0, 1], got 1.5");
        assert!(
            msgs[1].starts_with("lingua: combines with the mavuno backend only"),
            "{msgs:?}"
        );
    }

    #[test]
    fn annotate_keeps_everything_in_order() {
        let mut s = stage(Mode::Annotate);
        let batch = vec![
            Record::new("a", "Yaron ya tafi kasuwa"),
            Record::new("b", ""),
            Record::new("c", "Ọmọ mi lọ sí ọjà"),
        ];
        let (kept, _) = run(&mut s, batch);
        let got: Vec<(String, Option<String>)> = kept.into_iter().map(|r| (r.id, r.lang)).collect();
        assert_eq!(
            got,
            [
                ("a".into(), Some("hau".into())),
                ("b".into(), Some("und".into())),
                ("c".into(), Some("yor".into()))
            ]
        );
    }

    #[test]
    fn missing_model_is_a_clear_build_error() {
        let cfg = LangidConfig {
            model: Some("/nonexistent/m.bin".into()),
            ..LangidConfig::default()
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = cfg
            .build(&BuildContext::for_tests(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/m.bin"), "{err}");
    }
}
