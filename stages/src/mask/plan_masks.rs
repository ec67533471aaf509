//! `plan_masks`: tokenizes each tagged sentence and plans its masked-LM corruption with
//! one of the strategies of [`crate::mask::plan`] (LEM, BERT token, whole-word, ERNIE-Gram
//! / SpanBERT spans, CLIMB POS objective). Adds `input_ids`, `word_ids`, `mask`,
//! `replacement`, `replacement_ids`, `word_class` (and `pos_labels`) to every record.
//!
//! `masking` is the spec `train_mlm` and the CLI share ([`crate::mask::spec::Masking`]): a
//! preset name (`lem`, `lem_ne_verb`, `lem_all`, `lem_random_word`, `token`, ...) or a table.
//!
//! Words come from the `tokens` field (else the whitespace words of `text`); classes from
//! `ner_tags` (non-O → NE) and `pos_tags` (NOUN/PROPN → NOUN, VERB → VERB). The plan of
//! the k-th record (in input order) uses the RNG of (run seed, k), so output does not
//! depend on batch size. The tokenizer is loaded at the first batch, so it may be written
//! by an upstream `train_tokenizer` stage.
//!
//! ```toml
//! [stages.masks]
//! type = "plan_masks"
//! inputs = ["tagged"]
//! tokenizer = "tokenizer.json"
//! masking = { strategy = "lem", p_ne = 1.0, p_verb = 0.0, p_noun = 0.0, quirk = false }
//! max_len = 100
//! ```
//!
//! Counters: `masked_tokens_total`, `tokens_total`, `masked_ne_total`,
//! `masked_verb_total`, `masked_noun_total`, `masked_other_total`.
use crate::mask::plan::{LemParams, MaskSpec, ReplaceProbs, Strategy};
use crate::mask::plan_sentence;
use crate::mask::spec::Masking;
use crate::tokenize::corpus::tagged_from_json;
use crate::tokenize::Tok;
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

fn d_mask() -> f64 {
    ReplaceProbs::BERT.mask
}
fn d_random() -> f64 {
    ReplaceProbs::BERT.random
}
fn d_tags() -> Vec<String> {
    vec!["NOUN".into(), "VERB".into()]
}
fn d_masking() -> Masking {
    Masking(Strategy::Lem(LemParams::default()))
}

/// Plans masked-LM corruption per sentence.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct PlanMasksConfig {
    /// `tokenizer.json` to encode with (relative paths under the run directory).
    pub tokenizer: String,
    /// The masking spec: a preset name or a table (default: LEM, NE only).
    #[serde(default = "d_masking")]
    pub masking: Masking,
    /// Share of selected positions replaced by the mask token (0.8; CLIMB MLM 0.9).
    #[serde(default = "d_mask")]
    pub mask_prob: f64,
    /// Share replaced by a random vocabulary id (0.1); the rest is kept.
    #[serde(default = "d_random")]
    pub random_prob: f64,
    /// `pos_objective`: the unit's tag list (default `["NOUN", "VERB"]`).
    #[serde(default = "d_tags")]
    pub pos_tags: Vec<String>,
    /// Truncate to this many tokens, specials included (none by default; LEM used 100).
    #[serde(default)]
    pub max_len: Option<usize>,
}

impl PlanMasksConfig {
    /// The masking spec this config describes.
    pub fn spec(&self) -> Result<MaskSpec, String> {
        self.masking.0.check()?;
        Ok(MaskSpec {
            strategy: self.masking.0.clone(),
            replace: ReplaceProbs {
                mask: self.mask_prob,
                random: self.random_prob,
            },
        })
    }

    /// The POS-unit tag list in effect (empty unless `pos_objective`).
    pub fn unit_tags(&self) -> Vec<String> {
        if matches!(self.masking.0, Strategy::PosObjective { .. }) {
            self.pos_tags.clone()
        } else {
            Vec::new()
        }
    }
}

impl StageConfig for PlanMasksConfig {
    const TYPE: &'static str = "plan_masks";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if let Err(e) = self.spec() {
            v.error("masking", e);
        }
        v.range("mask_prob", self.mask_prob, 0.0, 1.0);
        v.range("random_prob", self.random_prob, 0.0, 1.0);
        if self.mask_prob + self.random_prob > 1.0 + 1e-9 {
            v.error(
                "random_prob",
                format!(
                    "mask_prob + random_prob must be at most 1, got {:.3}",
                    self.mask_prob + self.random_prob
                ),
            );
        }
        if let Some(m) = self.max_len {
            v.at_least("max_len", m, 2);
        }
    }

    fn input_files(&self) -> Vec<String> {
        vec![self.tokenizer.clone()]
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let spec = self.spec().map_err(StageError::msg)?;
        Ok(StageImpl::Stage(Box::new(PlanMasks {
            path: ctx.output_path(&self.tokenizer),
            tok: None,
            max_len: self.max_len,
            spec,
            unit_tags: self.unit_tags(),
            seed: ctx.seed,
            next_index: 0,
        })))
    }
}

/// The runtime stage.
pub struct PlanMasks {
    path: PathBuf,
    tok: Option<Tok>,
    max_len: Option<usize>,
    spec: MaskSpec,
    unit_tags: Vec<String>,
    seed: u64,
    next_index: u64,
}

impl Stage for PlanMasks {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        if self.tok.is_none() {
            let mut t = Tok::from_file(&self.path)
                .map_err(|e| StageError::context(format!("loading {}", self.path.display()), e))?;
            t.max_len = self.max_len;
            self.tok = Some(t);
        }
        let Some(tok) = self.tok.as_ref() else {
            return Err(StageError::msg("tokenizer not loaded"));
        };
        let base = self.next_index;
        self.next_index += batch.len() as u64;
        let (spec, tags, seed) = (&self.spec, &self.unit_tags, self.seed);
        let outcomes: Vec<(Outcome, [u64; 6])> = batch
            .into_par_iter()
            .enumerate()
            .map(|(k, mut r)| {
                let sent = match tagged_from_json(&serde_json::Value::Object(r.fields.clone())) {
                    Ok(s) if !s.words.is_empty() => Ok(s),
                    _ => tagged_from_json(&serde_json::json!({"text": r.text})),
                };
                let sent = match sent {
                    Ok(s) => s,
                    Err(e) => return (Outcome::Reject(r, e), [0; 6]),
                };
                match plan_sentence(tok, &sent, spec, tags, seed, base + k as u64) {
                    Ok(p) => {
                        let mut c = [
                            p.plan.positions.len() as u64,
                            p.ids.len() as u64,
                            0,
                            0,
                            0,
                            0,
                        ];
                        for w in &p.plan.word_classes {
                            c[2 + w.index()] += 1;
                        }
                        r.fields.extend(p.to_fields(tok.vocab.mask_id));
                        (Outcome::Keep(r), c)
                    }
                    Err(e) => (Outcome::Reject(r, e.to_string()), [0; 6]),
                }
            })
            .collect();
        let mut tot = [0u64; 6];
        for (o, c) in outcomes {
            out.apply(o);
            for i in 0..6 {
                tot[i] += c[i];
            }
        }
        let names = [
            "masked_tokens_total",
            "tokens_total",
            "masked_ne_total",
            "masked_verb_total",
            "masked_noun_total",
            "masked_other_total",
        ];
        for (n, v) in names.iter().zip(tot) {
            out.counter(n, v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavuno_pipeline::Record;

    fn example() -> PlanMasksConfig {
        crate::testutil::doc_example(include_str!("plan_masks.rs"))
    }

    #[test]
    fn example_validates_and_errors_are_verbatim() {
        let c = example();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(c.masking, Masking::preset("lem").unwrap());
        let bad = PlanMasksConfig {
            masking: Masking(Strategy::Token { rate: 1.5 }),
            mask_prob: 0.95,
            random_prob: 0.1,
            ..c
        };
        let mut v = Validator::default();
        bad.validate(&mut v);
        assert_eq!(v.errors[0].message, "rate must be in [0, 1], got 1.5");
        assert_eq!(
            v.errors[1].message,
            "mask_prob + random_prob must be at most 1, got 1.050"
        );
    }

    #[test]
    fn plans_a_small_batch_independently_of_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            "Kofi Annan visited Accra yesterday .",
            "The children ate rice and beans quickly .",
            "Ada wrote a long letter to Musa .",
        ];
        let tk = crate::tokenize::train(
            crate::tokenize::ModelType::Bpe,
            80,
            1,
            lines.iter().cycle().take(30),
        )
        .unwrap();
        tk.save(dir.path().join("tok.json"), false).unwrap();
        let mut cfg = example();
        cfg.tokenizer = "tok.json".into();
        let recs: Vec<Record> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut r = Record::new(i.to_string(), *l);
                let toks: Vec<&str> = l.split(' ').collect();
                let ner: Vec<&str> = toks
                    .iter()
                    .map(|t| {
                        if t.chars().next().is_some_and(char::is_uppercase) && *t != "The" {
                            "B-PER"
                        } else {
                            "O"
                        }
                    })
                    .collect();
                r.set("tokens", serde_json::json!(toks));
                r.set("ner_tags", serde_json::json!(ner));
                r
            })
            .collect();
        let run = |bs: usize| {
            let ctx = BuildContext::for_tests(dir.path());
            let StageImpl::Stage(mut s) = cfg.build(&ctx).unwrap() else {
                panic!()
            };
            let mut out = Emitter::collecting(bs);
            for b in recs.chunks(bs) {
                s.process(b.to_vec(), &mut out).unwrap();
            }
            out.take_collected()
        };
        let a = run(1);
        assert_eq!(a, run(3));
        for (k, r) in a.iter().enumerate() {
            let m = r.field("mask").unwrap().as_array().unwrap();
            assert!(!m.is_empty());
            assert_eq!(
                r.field("replacement").unwrap().as_array().unwrap().len(),
                m.len()
            );
            // Sentences 0 and 2 have names; LEM masks one of them first.
            if k != 1 {
                assert!(r
                    .field("word_class")
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == "NE"));
            }
        }
    }
}
