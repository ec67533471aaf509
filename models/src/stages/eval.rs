//! `eval`: scores a model directory on the stage's input records and writes the metrics as
//! JSON (the reports of `mavuno eval`, from `mavuno_models::eval`).
//!
//! The model is `model` (relative to the working directory), or else the `model_dir` of a
//! summary record among the inputs (a `train_mlm` or `finetune` stage listed in `inputs`).
//! Tasks and the records they read:
//! - `mlm`: `text`; loss and pseudo-perplexity. Records that also carry `tokens` and
//!   `ner_tags` add `entity`: the same loss over the subword tokens of words tagged as named
//!   entities only (not `O`; with `entity_pos`, also words with those POS tags).
//! - `classify`: `text` + `label`; accuracy, macro-F1, per-label scores, confusion matrix.
//! - `ner`: `tokens` + `ner_tags`; seqeval-strict entity precision/recall/F1.
//! - `bitext`: `translation` (`{lang: sentence}`, as `parallel_reader` writes) with
//!   `source_lang`/`target_lang` keys (defaults: the record's `lang`, then the other key);
//!   P@1 in both directions and xSIM margin error.
//! - `pos_probe`: `tokens` + `pos_tags`; a frozen-feature linear POS probe
//!   (`eval/probe.rs`). Records read from a `probe_test` file are the test sentences, all
//!   others train the probe; accuracy, macro-F1 and per-sentence accuracy on the test words.
//!
//! Metrics go to `metrics_path` (default `<stage id>.metrics.json`, under the run
//! directory). Output: one summary record with `task`, `model_dir`, `metrics_path` and
//! `metrics`. Records the task cannot use are dropped (`unlabelled`, `empty`); malformed ones
//! are rejected.
//!
//! ```toml
//! [stages.score]
//! type = "eval"
//! inputs = ["train", "flores"]
//! task = "bitext"
//! source_lang = "sin"
//! target_lang = "eng"
//! limit = 500
//! ```

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use mavuno_stages::tokenize::corpus::tagged_from_json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    is_summary, mark_entities, model_err, summary_record, under_run, Consumed, MODEL_DIR_FIELD,
};
use crate::eval::{bitext, classify_report, mlm, ner_report, probe, Encoder, Pooling};
use crate::finetune::data::{LabelledText, TaggedWords};
use crate::hf::write_atomic;

fn d_max_len() -> usize {
    128
}
fn d_batch() -> usize {
    64
}
fn d_device() -> String {
    "auto".into()
}

/// What an `eval` stage (and `mavuno eval`) measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum EvalTask {
    /// Pseudo-perplexity of an MLM on `text` (and on entity words, where tagged).
    Mlm,
    /// Accuracy / macro-F1 of a classifier on `text` + `label`.
    Classify,
    /// Seqeval-strict entity F1 of a tagger on `tokens` + `ner_tags`.
    Ner,
    /// Bitext retrieval P@1 and xSIM margin error of an encoder on `translation`.
    Bitext,
    /// Frozen-feature linear POS probe on `tokens` + `pos_tags`.
    #[serde(alias = "pos-probe")]
    PosProbe,
}

/// Evaluates a model on the input records and writes metrics JSON.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct EvalConfig {
    /// `mlm`, `classify`, `ner`, `bitext` or `pos_probe`.
    pub task: EvalTask,
    /// Model directory; default: `model_dir` of a summary record in the inputs.
    #[serde(default)]
    pub model: Option<String>,
    /// Where the metrics JSON goes (relative paths under the run directory).
    #[serde(default)]
    pub metrics_path: Option<String>,
    /// Score at most this many examples (sentences, pairs), in input order.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Max tokens per input.
    #[serde(default = "d_max_len")]
    pub max_len: usize,
    /// Rows per forward pass.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Bitext: sentence pooling, `mean` or `cls`.
    #[serde(default)]
    pub pooling: Pooling,
    /// Bitext: the `translation` key of the source side (default: the record's `lang`).
    #[serde(default)]
    pub source_lang: Option<String>,
    /// Bitext: the `translation` key of the target side (default: the other key).
    #[serde(default)]
    pub target_lang: Option<String>,
    /// `mlm`: POS tags whose words also count as entities for the entity loss (e.g.
    /// `["PROPN"]` where there are no NER tags).
    #[serde(default)]
    pub entity_pos: Vec<String>,
    /// `mlm`: number format while scoring, `f32` or `bf16` (much faster on CPUs with AMX or
    /// AVX-512 BF16; the loss moves by about 1e-4 nats).
    #[serde(default)]
    pub precision: mlm::Precision,
    /// `pos_probe`: the input files (glob patterns, as the readers' `paths`) whose records
    /// are the probe's test sentences; records from every other file train it. `limit` caps
    /// the test sentences.
    #[serde(default)]
    pub probe_test: Vec<String>,
    /// Device: `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
}

impl StageConfig for EvalConfig {
    const TYPE: &'static str = "eval";
    const KIND: StageKind = StageKind::Barrier;

    fn validate(&self, v: &mut Validator) {
        if self.task == EvalTask::PosProbe && self.probe_test.is_empty() {
            v.error(
                "probe_test",
                "pos_probe needs the test files (e.g. [\"…/masakhapos/yor/test.txt\"])",
            );
        }
        v.at_least("max_len", self.max_len, 4);
        v.at_least("batch_size", self.batch_size, 1);
        if self.limit == Some(0) {
            v.error("limit", "must be at least 1");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.model
            .iter()
            .flat_map(|m| [format!("{m}/model.safetensors"), format!("{m}/config.json")])
            .collect()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let metrics = self
            .metrics_path
            .clone()
            .unwrap_or_else(|| format!("{}.metrics.json", ctx.stage_id));
        let probe_test = expand_globs(&self.probe_test)?
            .iter()
            .map(|p| std::fs::canonicalize(p).map_err(|e| StageError::io(p, e)))
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(StageImpl::Stage(Box::new(Eval {
            cfg: self.clone(),
            probe_test,
            is_test: HashMap::new(),
            stage_id: ctx.stage_id.clone(),
            metrics_path: under_run(&ctx.run_dir, &metrics),
            model: self.model.as_ref().map(PathBuf::from),
            rows: Vec::new(),
            consumed: Consumed::default(),
        })))
    }
}

/// One usable input, already in the task's shape (the stage parses records into rows;
/// `mavuno eval` reads files into them).
pub enum Row {
    Text(String, Option<(Vec<String>, Vec<bool>)>),
    Labelled(LabelledText),
    Tagged(TaggedWords),
    Pair(String, String),
    /// A POS-tagged sentence and whether it is a probe test sentence.
    Probe(TaggedWords, bool),
}

/// The runtime stage.
pub struct Eval {
    cfg: EvalConfig,
    /// `pos_probe`: the canonical paths of the test files.
    probe_test: HashSet<PathBuf>,
    /// Source file → is it a test file (canonicalising once per file).
    is_test: HashMap<Arc<str>, bool>,
    stage_id: String,
    metrics_path: PathBuf,
    model: Option<PathBuf>,
    rows: Vec<Row>,
    consumed: Consumed,
}

/// What one record becomes: a row, or a drop reason, or a reject message.
enum Parsed {
    Row(Row),
    Drop(&'static str),
    Reject(String),
}

impl Eval {
    /// Whether `r` was read from one of the `probe_test` files.
    fn read_from_test_file(&mut self, r: &Record) -> bool {
        let Some(src) = &r.source else { return false };
        if let Some(&t) = self.is_test.get(&src.file) {
            return t;
        }
        let t = std::fs::canonicalize(&*src.file).is_ok_and(|p| self.probe_test.contains(&p));
        self.is_test.insert(src.file.clone(), t);
        t
    }

    fn parse(&mut self, r: &Record) -> Parsed {
        match self.cfg.task {
            EvalTask::Mlm => {
                if r.text.trim().is_empty() {
                    return Parsed::Drop("empty");
                }
                let tagged = r.field("ner_tags").is_some()
                    || (!self.cfg.entity_pos.is_empty() && r.field("pos_tags").is_some());
                let entities = match (r.field("tokens"), tagged) {
                    (Some(_), true) => match tagged_from_json(&r.to_json()) {
                        Ok(mut s) => {
                            mark_entities(&mut s, &self.cfg.entity_pos);
                            let sel = s
                                .ner
                                .iter()
                                .map(|t| t.as_deref().is_some_and(|t| t != "O"))
                                .collect();
                            Some((s.words, sel))
                        }
                        Err(e) => return Parsed::Reject(e),
                    },
                    _ => None,
                };
                Parsed::Row(Row::Text(r.text.clone(), entities))
            }
            EvalTask::Classify => match r.field("label") {
                None | Some(Value::Null) => Parsed::Drop("unlabelled"),
                Some(l) => Parsed::Row(Row::Labelled(LabelledText {
                    text: r.text.clone(),
                    label: Some(l.as_str().map_or_else(|| l.to_string(), str::to_string)),
                })),
            },
            EvalTask::PosProbe => match tagged_from_json(&r.to_json()) {
                Err(e) => Parsed::Reject(e),
                Ok(s) if s.words.is_empty() => Parsed::Drop("empty"),
                Ok(s) => match s.pos.into_iter().collect::<Option<Vec<String>>>() {
                    Some(tags) => {
                        let test = self.read_from_test_file(r);
                        Parsed::Row(Row::Probe(
                            TaggedWords {
                                words: s.words,
                                tags: Some(tags),
                            },
                            test,
                        ))
                    }
                    None => Parsed::Drop("unlabelled"),
                },
            },
            EvalTask::Ner => match tagged_from_json(&r.to_json()) {
                Err(e) => Parsed::Reject(e),
                Ok(s) if s.words.is_empty() => Parsed::Drop("empty"),
                Ok(s) => match s.ner.into_iter().collect::<Option<Vec<String>>>() {
                    Some(tags) => Parsed::Row(Row::Tagged(TaggedWords {
                        words: s.words,
                        tags: Some(tags),
                    })),
                    None => Parsed::Drop("unlabelled"),
                },
            },
            EvalTask::Bitext => {
                let Some(Value::Object(t)) = r.field("translation") else {
                    return Parsed::Reject("no `translation` object".into());
                };
                let src_key = self.cfg.source_lang.clone().or_else(|| r.lang.clone());
                let get = |k: &Option<String>| -> Option<String> {
                    let k = k.as_ref()?;
                    t.get(k)?.as_str().map(str::to_string)
                };
                let src = get(&src_key);
                let tgt = get(&self.cfg.target_lang).or_else(|| {
                    t.iter()
                        .find(|(k, _)| Some(*k) != src_key.as_ref())
                        .and_then(|(_, v)| v.as_str().map(str::to_string))
                });
                match (src, tgt) {
                    (Some(s), Some(t)) if !s.trim().is_empty() && !t.trim().is_empty() => {
                        Parsed::Row(Row::Pair(s, t))
                    }
                    (Some(_), Some(_)) => Parsed::Drop("empty"),
                    _ => Parsed::Reject(format!(
                        "`translation` lacks the source ({src_key:?}) or target side"
                    )),
                }
            }
        }
    }
}

/// Scores the model in `dir` on `rows` as `cfg` says: the one implementation of every task,
/// for the stage and for `mavuno eval`.
pub fn evaluate(
    cfg: &EvalConfig,
    dir: &std::path::Path,
    rows: &[Row],
) -> Result<Value, StageError> {
    let device = super::device(&cfg.device)?;
    let mut c = cfg.clone();
    // A model trained with short sequences has a short position table.
    if let Some(m) = crate::eval::model_max_len(dir) {
        c.max_len = c.max_len.min(m);
    }
    let c = &c;
    // `limit` caps the examples; the probe's training sentences are not examples.
    let all = rows;
    let rows = &all[..c.limit.map_or(all.len(), |l| l.min(all.len()))];
    let m = |e| model_err(e);
    Ok(match c.task {
        EvalTask::Mlm => {
            let texts: Vec<&str> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Text(t, _) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            let precision = c.precision;
            let mut rep = mlm::pseudo_perplexity(
                dir,
                &texts,
                None,
                c.max_len,
                c.batch_size,
                device,
                precision,
            )
            .map_err(m)?;
            let words: Vec<(Vec<String>, Vec<bool>)> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Text(_, e) => e.clone(),
                    _ => None,
                })
                .collect();
            if !words.is_empty() {
                rep["entity"] = mlm::pseudo_perplexity_words(
                    dir,
                    &words,
                    c.max_len,
                    c.batch_size,
                    device,
                    precision,
                )
                .map_err(m)?;
            }
            rep
        }
        EvalTask::Classify => {
            let data: Vec<LabelledText> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Labelled(l) => Some(l.clone()),
                    _ => None,
                })
                .collect();
            classify_report(dir, &data, device).map_err(m)?
        }
        EvalTask::Ner => {
            let data: Vec<TaggedWords> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Tagged(t) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            ner_report(dir, &data, device).map_err(m)?
        }
        EvalTask::Bitext => {
            let (src, tgt): (Vec<&str>, Vec<&str>) = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Pair(s, t) => Some((s.as_str(), t.as_str())),
                    _ => None,
                })
                .unzip();
            let enc = Encoder::load(dir, device, c.pooling)
                .map_err(m)?
                .with_max_len(c.max_len)
                .with_batch_size(c.batch_size);
            bitext::bitext_report(&enc, &src, &tgt).map_err(m)?
        }
        EvalTask::PosProbe => probe(dir, c, all, device)?,
    })
}

/// `pos_probe`: split the rows by source file, fit on the training ones, score the rest.
fn probe(
    dir: &std::path::Path,
    c: &EvalConfig,
    rows: &[Row],
    device: tch::Device,
) -> Result<Value, StageError> {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for r in rows {
        if let Row::Probe(s, t) = r {
            if *t { &mut test } else { &mut train }.push(s);
        }
    }
    test.truncate(c.limit.unwrap_or(usize::MAX));
    if train.is_empty() || test.is_empty() {
        return Err(StageError::msg(format!(
            "pos_probe: {} training and {} test sentences; records from the files of \
             `probe_test` ({}) are the test set, records from any other input train the probe",
            train.len(),
            test.len(),
            c.probe_test.join(", ")
        )));
    }
    probe::pos_probe_report(dir, &train, &test, c.max_len, c.batch_size, device).map_err(model_err)
}

impl Stage for Eval {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            if is_summary(&r) {
                if self.cfg.model.is_none() {
                    if let Some(d) = r.str_field(MODEL_DIR_FIELD) {
                        self.model = Some(PathBuf::from(d));
                    }
                }
                self.consumed.take(r, out);
                continue;
            }
            match self.parse(&r) {
                Parsed::Row(row) => {
                    self.rows.push(row);
                    self.consumed.take(r, out);
                }
                Parsed::Drop(reason) => out.drop(r, reason),
                Parsed::Reject(e) => out.reject(r, e),
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        let Some(dir) = self.model.clone() else {
            return Err(StageError::msg(
                "no model: set `model` or list a train_mlm/finetune stage in `inputs`",
            ));
        };
        if self.rows.is_empty() {
            return Err(StageError::msg(format!(
                "no records usable for task {:?}",
                self.cfg.task
            )));
        }
        let metrics = evaluate(&self.cfg, &dir, &self.rows)?;
        let doc = json!({
            "task": self.cfg.task,
            "model_dir": dir.display().to_string(),
            "examples": self.rows.len().min(self.cfg.limit.unwrap_or(usize::MAX)),
            "metrics": metrics,
        });
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| StageError::context("metrics", e))?;
        if let Some(parent) = self.metrics_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StageError::io(parent, e))?;
        }
        write_atomic(&self.metrics_path, text.as_bytes()).map_err(model_err)?;
        let mut fields = Map::new();
        if let Value::Object(o) = doc {
            fields = o;
        }
        fields.insert(
            "metrics_path".into(),
            json!(self.metrics_path.display().to_string()),
        );
        // The summary names the evaluated model under its own key, not `model_dir`, so a
        // later eval stage does not mistake it for a model to score.
        if let Some(v) = fields.remove(MODEL_DIR_FIELD) {
            fields.insert("evaluated_model".into(), v);
        }
        self.consumed.finish(
            summary_record(&self.stage_id, EvalConfig::TYPE, fields),
            out,
        )
    }

    fn outputs(&self) -> Vec<PathBuf> {
        vec![self.metrics_path.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> EvalConfig {
        super::super::testutil::doc_example(include_str!("eval.rs"))
    }

    fn stage(task: EvalTask) -> Eval {
        let cfg = EvalConfig { task, ..example() };
        Eval {
            cfg,
            probe_test: HashSet::new(),
            is_test: HashMap::new(),
            stage_id: "t".into(),
            metrics_path: PathBuf::from("m.json"),
            model: None,
            rows: Vec::new(),
            consumed: Consumed::default(),
        }
    }

    #[test]
    fn example_validates_and_bad_task_is_named() {
        let c = example();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        // Tasks and pooling are enums: an unknown value names the allowed ones.
        for (key, bad, allowed) in [
            (
                "task",
                "bleu",
                "`mlm`, `classify`, `ner`, `bitext`, `pos-probe`, `pos_probe`",
            ),
            ("pooling", "max", "`cls` or `mean`"),
        ] {
            let e = serde_json::from_value::<EvalConfig>(json!({"task": "mlm", key: bad}))
                .expect_err(bad)
                .to_string();
            assert!(e.contains(allowed), "{e}");
        }
        let t: EvalConfig = serde_json::from_value(json!({"task": "pos-probe"})).expect("alias");
        assert_eq!(t.task, EvalTask::PosProbe);
    }

    #[test]
    fn pos_probe_needs_test_files_and_splits_by_source_file() {
        let mut v = Validator::default();
        EvalConfig {
            task: EvalTask::PosProbe,
            ..example()
        }
        .validate(&mut v);
        let fields: Vec<&str> = v.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["probe_test"]);

        let dir = tempfile::tempdir().expect("tempdir");
        let (train, test) = (
            dir.path().join("train.conll"),
            dir.path().join("test.conll"),
        );
        for p in [&train, &test] {
            std::fs::write(p, "x X\n").expect("write");
        }
        let mut s = stage(EvalTask::PosProbe);
        s.probe_test
            .insert(std::fs::canonicalize(&test).expect("canonical"));
        let tagged = |file: &std::path::Path, tags: serde_json::Value| {
            let mut r = Record::new("a", "Ade lo");
            r.set("tokens", json!(["Ade", "lo"]));
            r.set("pos_tags", tags);
            r.source = Some(mavuno_pipeline::record::Provenance {
                file: file.display().to_string().into(),
                line: 1,
            });
            r
        };
        let is_test = |p: Parsed| match p {
            Parsed::Row(Row::Probe(w, t)) => {
                assert_eq!(
                    w.tags.as_deref(),
                    Some(&["PROPN".into(), "VERB".into()][..])
                );
                t
            }
            _ => panic!("not a probe row"),
        };
        assert!(!is_test(s.parse(&tagged(&train, json!(["PROPN", "VERB"])))));
        assert!(is_test(s.parse(&tagged(&test, json!(["PROPN", "VERB"])))));
        assert!(matches!(
            s.parse(&tagged(&test, json!(["PROPN", null]))),
            Parsed::Drop("unlabelled")
        ));
        assert!(matches!(
            s.parse(&tagged(&test, json!(["PROPN"]))),
            Parsed::Reject(_)
        ));
    }

    #[test]
    fn records_become_rows_drops_or_rejects() {
        let mut s = stage(EvalTask::Bitext);
        let mut r = Record::new("a", "ශ්‍රී ලංකාව");
        r.set("translation", json!({"sin": "ශ්‍රී ලංකාව", "eng": "Sri Lanka"}));
        assert!(
            matches!(s.parse(&r), Parsed::Row(Row::Pair(a, b)) if a.starts_with('ශ') && b == "Sri Lanka")
        );
        assert!(matches!(s.parse(&Record::new("b", "x")), Parsed::Reject(_)));

        let mut s = stage(EvalTask::Mlm);
        let mut r = Record::new("c", "Kofi went home");
        r.set("tokens", json!(["Kofi", "went", "home"]));
        r.set("ner_tags", json!(["B-PER", "O", "O"]));
        match s.parse(&r) {
            Parsed::Row(Row::Text(_, Some((w, sel)))) => {
                assert_eq!(w.len(), 3);
                assert_eq!(sel, [true, false, false]);
            }
            _ => panic!("entity selection lost"),
        }
        assert!(matches!(
            s.parse(&Record::new("d", " ")),
            Parsed::Drop("empty")
        ));

        let mut s = stage(EvalTask::Classify);
        assert!(matches!(
            s.parse(&Record::new("e", "text")),
            Parsed::Drop("unlabelled")
        ));
    }
}
