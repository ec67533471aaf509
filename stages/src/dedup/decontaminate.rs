//! `decontaminate`: drops training records that overlap evaluation text.
//!
//! At build time the stage reads every file matched by `eval_paths` (plain text: one
//! text per line; `.jsonl`/`.json`, optionally `.gz`/`.zst`: one JSON object per line,
//! text under `text_field`) and hashes, after the same normalisation as `dedup_exact`:
//! each whole eval text (exact match) and each of its word `ngram`-grams. A record is
//! dropped with reason `eval_overlap` when its normalised text equals an eval text
//! (`exact = true`), or when it shares an n-gram with the eval set: any n-gram when
//! `min_overlap = 0` (the GPT-3 / datatrove rule, n = 13), otherwise at least that share of
//! its own n-grams. Eval texts shorter than `ngram` words are matched exactly only.
//!
//! Counters: `eval_overlap_exact_total`, `eval_overlap_ngram_total`, and per language
//! `lang_in_<lang>_total` / `lang_dropped_<lang>_total` ([`super::by_lang`]).
//! Memory: about 13 bytes per distinct eval n-gram.
//!
//! In a sharded run (`--shard i/n`) every shard loads the whole eval set and decides
//! alone: the verdict of a record depends on nothing else in the corpus, so the stage
//! needs no global phase (see [`StageConfig::global`] below).
//!
//! ```toml
//! [stages.decon]
//! type = "decontaminate"
//! inputs = ["near"]
//! eval_paths = ["eval/yor/*.jsonl", "eval/flores/yor.devtest"]
//! text_field = "text"
//! ngram = 13
//! min_overlap = 0.0
//! ```

use super::by_lang::ByLang;
use super::dedup_exact::field_text;
use super::key::{key128, normalize, words, Normalize};
use super::minhash::IdHasher;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, DataError, Emitter, Outcome, Record, Stage, StageConfig, StageError,
    StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::io::BufRead;
use std::path::Path;

/// Drops training records that share text with evaluation files.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct DecontaminateConfig {
    /// Evaluation files (globs). `.jsonl`/`.json` (optionally `.gz`/`.zst`) are JSON lines;
    /// anything else is plain text, one eval text per line.
    pub eval_paths: Vec<String>,
    /// Text key of JSON-lines eval files (default `text`).
    #[serde(default = "default_text")]
    pub text_field: String,
    /// Record field checked: `text` (default) or the name of a string field.
    #[serde(default = "default_text")]
    pub field: String,
    /// Word n-gram length, 1–100 (default 13, as GPT-3 and datatrove).
    #[serde(default = "default_ngram")]
    pub ngram: usize,
    /// Share of a record's n-grams that must occur in the eval set, in [0, 1]; 0 (default)
    /// drops a record on its first shared n-gram.
    #[serde(default)]
    pub min_overlap: f64,
    /// Also drop records whose whole normalised text equals an eval text (default true).
    #[serde(default = "default_true")]
    pub exact: bool,
    /// Normalisation of both sides: `nfkc_casefold_ws` (default) or `none`.
    #[serde(default)]
    pub normalize: Normalize,
}

fn default_text() -> String {
    "text".into()
}
fn default_ngram() -> usize {
    13
}
fn default_true() -> bool {
    true
}

impl StageConfig for DecontaminateConfig {
    const TYPE: &'static str = "decontaminate";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        v.non_empty("eval_paths", &self.eval_paths);
        v.range("ngram", self.ngram, 1, 100);
        v.range("min_overlap", self.min_overlap, 0.0, 1.0);
        if self.field.is_empty() {
            v.error("field", "must not be empty");
        }
        if self.text_field.is_empty() {
            v.error("text_field", "must not be empty");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.eval_paths.clone()
    }

    /// Not a global stage: a record's verdict depends only on its own text and the eval
    /// files, which every shard loads whole at build time; the stage keeps no state across
    /// records (no keep-first rule, no dedup among the records). So a sharded run drops
    /// exactly the records the single run drops, with the same reasons, without a reduce
    /// (`tests/global_order.rs` runs n = 1, 3, 7 against the single run).
    fn global(&self) -> bool {
        false
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let mut index = EvalIndex::new(self.ngram, self.normalize);
        for path in mavuno_pipeline::io::expand_globs(&self.eval_paths)? {
            index.add_file(&path, &self.text_field)?;
        }
        Ok(StageImpl::Stage(Box::new(Decontaminate {
            cfg: self.clone(),
            index,
            by_lang: ByLang::default(),
        })))
    }
}

/// Word n-gram hashes of a normalised text: xxh3 of the span from the first word's start
/// to the last word's end (canonical, since normalisation leaves single spaces).
pub fn word_ngrams(text: &str, n: usize) -> Vec<u64> {
    let base = text.as_ptr() as usize;
    let spans: Vec<(usize, usize)> = words(text)
        .map(|w| {
            (
                w.as_ptr() as usize - base,
                w.as_ptr() as usize - base + w.len(),
            )
        })
        .collect();
    if n == 0 || spans.len() < n {
        return Vec::new();
    }
    spans
        .windows(n)
        .map(|w| xxhash_rust::xxh3::xxh3_64(&text.as_bytes()[w[0].0..w[n - 1].1]))
        .collect()
}

/// The eval side: exact keys and n-gram hashes.
#[derive(Debug)]
pub struct EvalIndex {
    ngram: usize,
    normalize: Normalize,
    exact: HashSet<u128>,
    ngrams: HashSet<u64, BuildHasherDefault<IdHasher>>,
}

impl EvalIndex {
    /// An empty index.
    pub fn new(ngram: usize, normalize: Normalize) -> EvalIndex {
        EvalIndex {
            ngram,
            normalize,
            exact: HashSet::new(),
            ngrams: HashSet::default(),
        }
    }

    /// Adds one eval text.
    pub fn add_text(&mut self, text: &str) {
        let norm = normalize(text, self.normalize);
        if norm.is_empty() {
            return;
        }
        self.exact.insert(key128(&norm, Normalize::None));
        self.ngrams.extend(word_ngrams(&norm, self.ngram));
    }

    /// Adds every text of an eval file (JSON lines by extension, else plain lines).
    pub fn add_file(&mut self, path: &Path, text_field: &str) -> Result<(), StageError> {
        let name = path.to_string_lossy();
        let stem = name
            .trim_end_matches(".gz")
            .trim_end_matches(".zst")
            .trim_end_matches(".zstd");
        let jsonl = stem.ends_with(".jsonl") || stem.ends_with(".json");
        for (i, line) in mavuno_pipeline::io::open_read(path)?.lines().enumerate() {
            let line = line.map_err(|e| StageError::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            if !jsonl {
                self.add_text(&line);
                continue;
            }
            let err =
                |m: String| StageError::Data(DataError::new(name.to_string(), i as u64 + 1, m));
            let v: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| err(format!("invalid JSON: {e}")))?;
            match v.get(text_field) {
                Some(serde_json::Value::String(s)) => self.add_text(s),
                _ => {
                    return Err(err(format!(
                        "field `{text_field}` is missing or not a string"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Number of distinct eval texts and n-grams.
    pub fn sizes(&self) -> (usize, usize) {
        (self.exact.len(), self.ngrams.len())
    }

    /// Why a (raw) text overlaps the eval set: `Some("exact")`, `Some("ngram")` or `None`.
    pub fn overlap(&self, text: &str, exact: bool, min_overlap: f64) -> Option<&'static str> {
        let norm = normalize(text, self.normalize);
        if exact && !norm.is_empty() && self.exact.contains(&key128(&norm, Normalize::None)) {
            return Some("exact");
        }
        let grams = word_ngrams(&norm, self.ngram);
        if grams.is_empty() {
            return None;
        }
        let hit = if min_overlap <= 0.0 {
            grams.iter().any(|g| self.ngrams.contains(g))
        } else {
            let hits = grams.iter().filter(|g| self.ngrams.contains(g)).count();
            hits as f64 / grams.len() as f64 >= min_overlap
        };
        hit.then_some("ngram")
    }
}

/// The runtime stage.
pub struct Decontaminate {
    cfg: DecontaminateConfig,
    index: EvalIndex,
    by_lang: ByLang,
}

impl Stage for Decontaminate {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let (cfg, index) = (&self.cfg, &self.index);
        let decide = |r: &Record| {
            field_text(r, &cfg.field).map(|t| index.overlap(t, cfg.exact, cfg.min_overlap))
        };
        let verdicts: Vec<Result<Option<&'static str>, String>> =
            batch.par_iter().map(decide).collect();
        let (mut exact, mut ngram) = (0, 0);
        for (rec, v) in batch.into_iter().zip(verdicts) {
            self.by_lang.seen(rec.lang.as_deref());
            out.apply(match v {
                Err(e) => Outcome::Reject(rec, e),
                Ok(None) => Outcome::Keep(rec),
                Ok(Some(kind)) => {
                    self.by_lang.dropped(rec.lang.as_deref());
                    if kind == "exact" {
                        exact += 1;
                    } else {
                        ngram += 1;
                    }
                    Outcome::Drop(rec, "eval_overlap")
                }
            });
        }
        out.counter("eval_overlap_exact_total", exact);
        out.counter("eval_overlap_ngram_total", ngram);
        self.by_lang.emit(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::doc_example_of;

    const EVAL_LINE: &str = "Hukumar ta nuna rashin jin dadinta da yadda hatta wasu yan kasashen waje ke bi ta haramtacciyar hanya wajen mallakar katin.";

    fn config(dir: &Path) -> DecontaminateConfig {
        std::fs::write(dir.join("dev.txt"), format!("{EVAL_LINE}\nIna kwana?\n")).unwrap();
        std::fs::write(
            dir.join("test.jsonl"),
            "{\"sentence\": \"Mvua kubwa imenyesha jana usiku.\", \"label\": 1}\n",
        )
        .unwrap();
        DecontaminateConfig {
            eval_paths: vec![
                format!("{}/*.txt", dir.display()),
                format!("{}/*.jsonl", dir.display()),
            ],
            text_field: "sentence".into(),
            field: "text".into(),
            ngram: 13,
            min_overlap: 0.0,
            exact: true,
            normalize: Normalize::default(),
        }
    }

    fn run(cfg: &DecontaminateConfig, recs: Vec<Record>) -> (Vec<String>, mavuno_pipeline::Counts) {
        let dir = tempfile::tempdir().unwrap();
        let StageImpl::Stage(mut s) = cfg.build(&BuildContext::for_tests(dir.path())).unwrap()
        else {
            panic!("not a stage")
        };
        let mut out = Emitter::collecting(4);
        s.process(recs, &mut out).unwrap();
        (
            out.take_collected().into_iter().map(|r| r.id).collect(),
            out.counts().clone(),
        )
    }

    #[test]
    fn example_parses_and_validates() {
        let cfg: DecontaminateConfig = doc_example_of(include_str!("decontaminate.rs"), "decon");
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(cfg.input_files().len(), 2);
    }

    #[test]
    fn drops_records_that_overlap_eval_text() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let recs = vec![
            // Contains a 13-word window of the eval line inside other text.
            Record::new(
                "ngram",
                format!(
                    "Labari: {} Sai dai ba a tabbatar ba.",
                    &EVAL_LINE[..EVAL_LINE.len() - 40]
                ),
            ),
            Record::new("exact", "ina KWANA"),
            Record::new("json", "Mvua kubwa imenyesha jana usiku!"),
            Record::new(
                "clean",
                "Galibin 'yan Najeriya dai basu sami lambar zama dan kasa ba.",
            ),
        ];
        let (ids, counts) = run(&cfg, recs);
        assert_eq!(ids, ["clean"]);
        assert_eq!(counts.dropped["eval_overlap"], 3);
        assert_eq!(
            (
                counts.counters["eval_overlap_exact_total"],
                counts.counters["eval_overlap_ngram_total"]
            ),
            (2, 1)
        );
    }

    #[test]
    fn min_overlap_needs_a_share_of_ngrams() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DecontaminateConfig {
            min_overlap: 0.5,
            ..config(dir.path())
        };
        let long_tail = " kuma an ce za a ci gaba da aikin har zuwa karshen wannan shekara mai zuwa insha Allah";
        let recs = vec![
            Record::new("half", format!("{EVAL_LINE}{long_tail}{long_tail}")),
            Record::new("most", format!("{EVAL_LINE} Na gode.")),
        ];
        let (ids, _) = run(&cfg, recs);
        assert_eq!(ids, ["half"]);
    }

    #[test]
    fn bad_eval_file_and_validation_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.text_field = "text".into();
        let err = cfg
            .build(&BuildContext::for_tests(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{}/test.jsonl:1: field `text` is missing or not a string",
                dir.path().display()
            )
        );
        let mut v = Validator::default();
        DecontaminateConfig {
            eval_paths: vec![],
            ngram: 0,
            min_overlap: 2.0,
            ..cfg
        }
        .validate(&mut v);
        let msgs: Vec<String> = v
            .errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        assert_eq!(
            msgs,
            [
                "eval_paths: must not be empty",
                "ngram: must be in [1, 100], got 0",
                "min_overlap: must be in [0, 1], got 2"
            ]
        );
    }
}
