//! The MLM synonym attack (SEEDS.md §3.1, Alshahrani et al. 2024), generalised and batched.
//!
//! Per example: (1) query the victim; skip it when already misclassified (TextAttack's
//! "skipped"), unless `attack_all` (the paper), which attacks it against the victim's own
//! prediction. (2) Word importance by deletion (or by replacing the word with a fixed token):
//! all variants go to the victim in ONE call; importance = drop of the target-class
//! probability; words whose deletion flips the label rank first, then by importance. (3) For
//! each ranked word (at most `try_words`): top-K fill-mask candidates (with
//! `mask_all_occurrences`, every occurrence of the word masked in the MLM's input), the filters
//! of [`super::filters`] in order (counted), then the survivors go to the victim: `first_flip`
//! (the paper, default) takes the first flipping candidate in MLM rank order, `min_prob` (BAE)
//! the flipping one with the lowest target probability; success means some queried candidate
//! flipped. Stop at the first flip, when `max_words` substitutions are made, or when the query
//! budget is spent. With the defaults (`max_words = try_words = 1`) this is the paper's
//! algorithm: exactly one word is ever attacked.
//!
//! Victim calls per example are therefore ≤ 1 (deletions) + words tried, independent of K;
//! the original prediction is batched across examples by [`Attacker::attack_all`].

use std::collections::HashSet;
use std::time::Instant;

use mavuno_pipeline::schemars::JsonSchema;
use mavuno_stages::tag::Tagger;
use serde::{Deserialize, Serialize};

use super::filters::{is_word, normalize, string_filter, FilterCounts};
use super::traits::{cosine, CandidateGenerator, SentenceEncoder, Victim, MASK_SENTINEL};
use crate::ModelError;

/// How a word's importance is measured. In configs: `"delete"` or the replacement token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Importance {
    /// Delete the word (the paper's choice).
    Delete,
    /// Replace the word by this token (TextAttack's WIR "unk", or a `[MASK]`).
    Replace(String),
}

impl From<String> for Importance {
    fn from(s: String) -> Self {
        if s == "delete" {
            Importance::Delete
        } else {
            Importance::Replace(s)
        }
    }
}

impl From<Importance> for String {
    fn from(i: Importance) -> Self {
        match i {
            Importance::Delete => "delete".into(),
            Importance::Replace(t) => t,
        }
    }
}

/// How the candidates of one word are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// The paper's: walk the surviving candidates in MLM rank order and take the first that
    /// flips the label. Candidates go to the victim in batches of `flip_batch` (all at once by
    /// default), so every candidate of a batch counts as a query even after the flip.
    #[default]
    FirstFlip,
    /// BAE / TextAttack greedy: query all survivors, take a flipping one with the lowest gold
    /// probability, else (with room for more words) the lowest gold probability.
    MinProb,
}

fn d_one() -> usize {
    1
}
fn d_importance() -> Importance {
    Importance::Delete
}

/// Attack hyperparameters (the search; candidate generation and filters are
/// [`CandidateConfig`]). Defaults: the paper's setting. One struct for the `synonym_attack`
/// stage (flattened into its table) and `mavuno attack` (flags override these defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct AttackConfig {
    /// Maximum words substituted in one adversarial example (paper: 1).
    #[serde(default = "d_one")]
    pub max_words: usize,
    /// Maximum ranked words tried (paper: 1, it breaks after the first word); default
    /// `max_words`. Raising it keeps the perturbation at `max_words` but lets the attack move
    /// on when a word has no flip.
    #[serde(default)]
    pub try_words: Option<usize>,
    /// Maximum victim queries per example (texts, the original included); unlimited by default.
    #[serde(default)]
    pub query_budget: Option<usize>,
    /// Word importance by `delete` (paper) or by replacing the word with this token
    /// (e.g. `<unk>`).
    #[serde(default = "d_importance")]
    #[schemars(with = "String")]
    pub importance: Importance,
    /// Candidate search: `first_flip` (paper, default) or `min_prob` (BAE/TextAttack).
    #[serde(default)]
    pub search: Search,
    /// `first_flip`: candidates per victim call (all survivors of a word in one call by
    /// default; 1 reproduces the paper's one-at-a-time query count).
    #[serde(default)]
    pub flip_batch: Option<usize>,
    /// Attack every example, misclassified ones included, against the victim's original
    /// prediction (the paper: success is then reported over all N); otherwise misclassified
    /// examples are skipped (TextAttack). Both success rates are reported either way.
    #[serde(default)]
    pub attack_all: bool,
    /// Mask every occurrence of the attacked word when asking the MLM for candidates (the
    /// paper's `re.sub(w, "[MASK]", text)`); only the attacked position is substituted.
    #[serde(default)]
    pub mask_all_occurrences: bool,
}

impl Default for AttackConfig {
    fn default() -> Self {
        Self {
            max_words: 1,
            try_words: None,
            query_budget: None,
            importance: Importance::Delete,
            search: Search::FirstFlip,
            flip_batch: None,
            attack_all: false,
            mask_all_occurrences: false,
        }
    }
}

impl AttackConfig {
    /// Ranked words tried: `try_words`, else `max_words`.
    pub fn words_tried(&self) -> usize {
        self.try_words.unwrap_or(self.max_words)
    }
}

fn d_top_k() -> usize {
    50
}
fn d_sim() -> f32 {
    0.8
}
fn d_min_chars() -> usize {
    2
}

/// Candidate generation and filtering, shared by the attack and augmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct CandidateConfig {
    /// Fill-mask candidates per word (paper: 50).
    #[serde(default = "d_top_k")]
    pub top_k: usize,
    /// Minimum cosine between original and adversarial sentence embeddings (paper: 0.8;
    /// needs a sentence encoder).
    #[serde(default = "d_sim")]
    pub min_sim: f32,
    /// Maximum character edit distance between a word and its replacement; none by default.
    #[serde(default)]
    pub max_edit: Option<usize>,
    /// Words shorter than this (in chars) are neither scored nor attacked, nor inserted
    /// (paper: 2, for attacked words).
    #[serde(default = "d_min_chars")]
    pub min_word_chars: usize,
}

impl Default for CandidateConfig {
    fn default() -> Self {
        Self {
            top_k: d_top_k(),
            min_sim: d_sim(),
            max_edit: None,
            min_word_chars: d_min_chars(),
        }
    }
}

/// One substituted word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Substitution {
    /// Word index (shared segmentation) in the original text.
    pub position: usize,
    /// Original word.
    pub old: String,
    /// Replacement.
    pub new: String,
}

/// The outcome for one example; one JSONL line of `mavuno attack`.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleResult {
    /// Original text.
    pub text: String,
    /// Adversarial text (equal to `text` when nothing was substituted).
    pub adversarial: String,
    /// Gold label.
    pub label: String,
    /// Victim's label on `text`.
    pub orig_pred: String,
    /// Victim's label on `adversarial`.
    pub adv_pred: String,
    /// Victim's probabilities on `text`, in victim label order.
    pub orig_probs: Vec<f32>,
    /// Victim's probabilities on `adversarial`.
    pub adv_probs: Vec<f32>,
    /// Substitutions made, in order.
    pub substitutions: Vec<Substitution>,
    /// Texts sent to the victim for this example, the original included.
    pub queries: usize,
    /// Victim calls (batches) for this example, the original's batch excluded.
    pub victim_calls: usize,
    /// Some queried candidate changed the victim's label from its original prediction (the
    /// gold label, unless `attack_all` attacked a misclassified example).
    pub success: bool,
    /// Not attacked: the original was already misclassified (and `attack_all` was off).
    pub skipped: bool,
    /// The victim's original prediction was the gold label.
    pub orig_correct: bool,
    /// Words in `text`.
    pub words: usize,
    /// Ranked words for which candidates were generated.
    pub words_tried: usize,
    /// Filter counts summed over the words tried.
    pub filters: FilterCounts,
}

/// Corpus-level metrics, TextAttack's names where they exist.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Examples.
    pub examples: usize,
    /// Misclassified before the attack (not attacked).
    pub skipped: usize,
    /// Successful attacks (with `attack_all`, misclassified examples included).
    pub successes: usize,
    /// Successful attacks on examples the victim originally classified correctly.
    pub successes_on_correct: usize,
    /// Attacked but not flipped.
    pub failures: usize,
    /// Correct / examples.
    pub original_accuracy: f64,
    /// TextAttack: (correct − successes on correct) / examples.
    pub accuracy_under_attack: f64,
    /// TextAttack's definition: successes on correct / originally correct.
    pub attack_success_rate: f64,
    /// Alshahrani et al.'s definition: successes / examples (every sampled example in the
    /// denominator; with `attack_all` misclassified examples can succeed too).
    pub attack_success_rate_over_all: f64,
    /// Alshahrani et al.'s "accuracy after attack": (examples − successes) / examples.
    pub accuracy_after_attack_over_all: f64,
    /// Mean % of words substituted, over successful attacks (TextAttack's "avg perturbed word %").
    pub mean_perturbed_word_pct: f64,
    /// Mean words per input, over all examples.
    pub mean_words_per_input: f64,
    /// Mean queries over attacked examples (TextAttack's "avg num queries").
    pub mean_queries: f64,
    /// Mean victim calls (batches) per attacked example, the batched original excluded.
    pub mean_victim_calls: f64,
    /// Mean queries over all examples (a skipped one costs its 1 original query): unlike
    /// `mean_queries`, its denominator does not depend on the victim, so two runs on the same
    /// examples can be paired example by example.
    pub queries_per_example: f64,
    /// Filter counts summed over all words tried.
    pub filters_total: FilterCounts,
    /// Words tried over all attacked examples (divide `filters_total` by it for per-word means).
    pub words_tried: usize,
    /// Mean candidates per word tried, by filter: rejected by each, and kept.
    pub filters_mean_per_word: std::collections::BTreeMap<String, f64>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Examples per second.
    pub examples_per_s: f64,
    /// Per-example values, in input order, of the metrics whose denominator is every example
    /// (`original_accuracy`, `accuracy_under_attack`, `attack_success_rate_over_all`,
    /// `accuracy_after_attack_over_all`, `queries_per_example`): each list's mean is its
    /// metric. `mavuno sweep` pairs two arms on the same examples with them (item bootstrap).
    /// Rates over correct or attacked examples have victim-dependent denominators and no items.
    pub items: std::collections::BTreeMap<String, Vec<f64>>,
}

/// Index of the largest value (first on ties).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

/// Rebuilds `text` with each word span replaced by `words[i]`; `None` deletes the word together
/// with the whitespace that follows it, so deletions do not leave double spaces.
pub fn render(text: &str, spans: &[(usize, usize)], words: &[Option<&str>]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    let mut deleted = false;
    for (&(s, e), w) in spans.iter().zip(words) {
        let gap = &text[last..s];
        out.push_str(if deleted { gap.trim_start() } else { gap });
        match w {
            Some(w) => {
                out.push_str(w);
                deleted = false;
            }
            None => deleted = true,
        }
        last = e;
    }
    let tail = &text[last..];
    out.push_str(if deleted { tail.trim_start() } else { tail });
    if deleted && tail.trim().is_empty() {
        // Deleting the last word: drop the space before it as well.
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }
    out
}

/// Matches the casing of `original`'s first letter (uncased MLMs return lowercase words).
fn match_case(original: &str, candidate: &str) -> String {
    let upper = original.chars().next().is_some_and(char::is_uppercase);
    if !upper {
        return candidate.to_string();
    }
    let mut chars = candidate.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Counts texts and calls going to the victim.
struct Counted<'a> {
    victim: &'a dyn Victim,
    queries: usize,
    calls: usize,
}

impl Counted<'_> {
    fn query(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = self.victim.predict_proba(&refs)?;
        self.queries += texts.len();
        self.calls += 1;
        if out.len() != texts.len() {
            return Err(ModelError::InvalidConfig(format!(
                "victim returned {} probability rows for {} texts",
                out.len(),
                texts.len()
            )));
        }
        Ok(out)
    }
}

/// The attack, bound to a victim, a candidate generator and optional POS tagger and encoder.
pub struct Attacker<'a> {
    /// The classifier under attack.
    pub victim: &'a dyn Victim,
    /// Source of replacement words.
    pub generator: &'a dyn CandidateGenerator,
    /// POS-equality filter; skipped when `None`.
    pub tagger: Option<&'a dyn Tagger>,
    /// Similarity filter; skipped when `None`.
    pub encoder: Option<&'a dyn SentenceEncoder>,
    /// Lowercased stopwords: never attacked, never inserted.
    pub stopwords: HashSet<String>,
    /// Candidate generation and filters.
    pub candidates: CandidateConfig,
    /// Search hyperparameters.
    pub config: AttackConfig,
}

impl Attacker<'_> {
    /// Victim label index of `label`, or an error naming the victim's labels.
    pub fn label_index(&self, label: &str) -> Result<usize, ModelError> {
        let labels = self.victim.labels();
        labels.iter().position(|l| l == label).ok_or_else(|| {
            ModelError::InvalidConfig(format!(
                "gold label {label:?} is not one of the victim's labels {labels:?}"
            ))
        })
    }

    /// Words that may be scored and attacked: real words, long enough, not stopwords.
    fn eligible(&self, word: &str) -> bool {
        word.chars().count() >= self.candidates.min_word_chars
            && is_word(word)
            && !self.stopwords.contains(&normalize(word))
    }

    /// Queries the candidate texts of one word (in MLM rank order) and returns the chosen one
    /// and its probabilities, or `None` when nothing could be queried. `first_flip` sends them
    /// in batches of `flip_batch` and returns the first that flips `target` in rank order
    /// (every text of a sent batch counts as a query); with no flip, the lowest `target`
    /// probability. `min_prob` sends all and returns the flipping candidate with the lowest
    /// `target` probability, else the lowest overall. Either way a flip among the queried
    /// candidates is never missed.
    fn search(
        &self,
        victim: &mut Counted<'_>,
        texts: &[String],
        target: usize,
    ) -> Result<Option<(usize, Vec<f32>)>, ModelError> {
        let batch = match self.config.search {
            Search::FirstFlip => self.config.flip_batch.unwrap_or(texts.len()).max(1),
            Search::MinProb => texts.len().max(1),
        };
        let mut all: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch) {
            let start = all.len();
            all.extend(victim.query(chunk)?);
            if self.config.search == Search::FirstFlip {
                if let Some(k) = (start..all.len()).find(|&k| argmax(&all[k]) != target) {
                    return Ok(Some((k, all[k].clone())));
                }
            }
        }
        let lowest = |ks: &mut dyn Iterator<Item = usize>| {
            ks.min_by(|&a, &b| all[a][target].total_cmp(&all[b][target]))
        };
        let flipping = lowest(&mut (0..all.len()).filter(|&k| argmax(&all[k]) != target));
        Ok(flipping
            .or_else(|| lowest(&mut (0..all.len())))
            .map(|k| (k, all[k].clone())))
    }

    /// Attacks every `(text, gold label)`; original predictions are batched across examples.
    pub fn attack_all(
        &self,
        examples: &[(String, String)],
    ) -> Result<(Vec<ExampleResult>, Summary), ModelError> {
        let start = Instant::now();
        let mut results = Vec::with_capacity(examples.len());
        for chunk in examples.chunks(256) {
            let texts: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
            let probs = self.victim.predict_proba(&texts)?;
            for ((text, label), p) in chunk.iter().zip(probs) {
                let gold = self.label_index(label)?;
                results.push(self.attack_example(text, gold, Some(p))?);
            }
        }
        let summary = summarize(&results, start.elapsed().as_secs_f64());
        Ok((results, summary))
    }

    /// Attacks one text with gold label index `gold`. `orig_probs` saves the first query when
    /// the caller batched the originals (it still counts as one query, as in TextAttack).
    pub fn attack_example(
        &self,
        text: &str,
        gold: usize,
        orig_probs: Option<Vec<f32>>,
    ) -> Result<ExampleResult, ModelError> {
        let cfg = &self.config;
        let cand = &self.candidates;
        let labels = self.victim.labels();
        let name = |i: usize| labels.get(i).cloned().unwrap_or_default();
        let mut victim = Counted {
            victim: self.victim,
            queries: 0,
            calls: 0,
        };
        let probs0 = match orig_probs {
            Some(p) => p,
            None => {
                let p = victim.query(&[text.to_string()])?;
                victim.calls = 0; // The original's call is not counted (see `victim_calls`).
                p.into_iter().next().unwrap_or_default()
            }
        };
        victim.queries = 1;
        let spans = mavuno_stages::text::segment::words(text);
        let words: Vec<String> = spans.iter().map(|&(s, e)| text[s..e].to_string()).collect();
        let pred0 = argmax(&probs0);
        // The class the attack pushes away from: gold, or with `attack_all` the victim's own
        // original prediction (what the paper flips, misclassified examples included).
        let target = if cfg.attack_all { pred0 } else { gold };
        let mut result = ExampleResult {
            text: text.to_string(),
            adversarial: text.to_string(),
            label: name(gold),
            orig_pred: name(pred0),
            adv_pred: name(pred0),
            orig_probs: probs0.clone(),
            adv_probs: probs0.clone(),
            substitutions: Vec::new(),
            queries: 1,
            victim_calls: 0,
            success: false,
            skipped: pred0 != gold && !cfg.attack_all,
            orig_correct: pred0 == gold,
            words: words.len(),
            words_tried: 0,
            filters: FilterCounts::default(),
        };
        if result.skipped {
            return Ok(result);
        }
        let budget_left = |q: usize| cfg.query_budget.map_or(usize::MAX, |b| b.saturating_sub(q));

        // Importance: one batch with every eligible word deleted (or replaced).
        let mut eligible: Vec<usize> = (0..words.len())
            .filter(|&i| self.eligible(&words[i]))
            .collect();
        eligible.truncate(budget_left(victim.queries));
        let variants: Vec<String> = eligible
            .iter()
            .map(|&i| {
                let ws: Vec<Option<&str>> = words
                    .iter()
                    .enumerate()
                    .map(|(j, w)| match (&cfg.importance, j == i) {
                        (_, false) => Some(w.as_str()),
                        (Importance::Delete, true) => None,
                        (Importance::Replace(t), true) => Some(t.as_str()),
                    })
                    .collect();
                render(text, &spans, &ws)
            })
            .collect();
        let del_probs = victim.query(&variants)?;
        let mut ranked: Vec<(usize, bool, f32)> = eligible
            .iter()
            .zip(&del_probs)
            .map(|(&i, p)| (i, argmax(p) != target, probs0[target] - p[target]))
            .collect();
        // Flips first, then by importance; the sort is stable, so ties keep text order.
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)));

        let mut cur: Vec<String> = words.clone();
        let mut cur_probs = probs0.clone();
        let mut orig_emb: Option<Vec<f32>> = None;
        for &(i, _, _) in ranked.iter().take(cfg.words_tried()) {
            if budget_left(victim.queries) == 0 || result.substitutions.len() >= cfg.max_words {
                break;
            }
            result.words_tried += 1;
            let mut context = cur.clone();
            if cfg.mask_all_occurrences {
                // The paper masks every occurrence of the word; only position i is predicted
                // and substituted.
                for (j, w) in context.iter_mut().enumerate() {
                    if j != i && *w == words[i] {
                        *w = MASK_SENTINEL.to_string();
                    }
                }
            }
            let request = vec![(context, i)];
            let cands = self
                .generator
                .candidates(&request, cand.top_k)?
                .into_iter()
                .next()
                .unwrap_or_default();
            let counts = &mut result.filters;
            counts.generated += cands.len();
            let mut seen = HashSet::new();
            let mut survivors: Vec<String> = Vec::new();
            for (c, _) in cands {
                let c = match_case(&words[i], c.trim());
                // Candidates shorter than the attacked-word floor (tiny MLMs propose single
                // letters) count as non-words.
                let short = c.chars().count() < cand.min_word_chars;
                let verdict = if short {
                    Some("not_word")
                } else {
                    string_filter(&words[i], &c, &self.stopwords, cand.max_edit)
                };
                if let Some(f) = verdict {
                    counts.reject(f);
                } else if !seen.insert(normalize(&c)) {
                    // A case variant of a candidate already kept: same text, same verdict.
                    counts.reject("same_stem");
                } else {
                    survivors.push(c);
                }
            }
            if let Some(tagger) = self.tagger {
                let refs: Vec<&str> = cur.iter().map(String::as_str).collect();
                let want = tagger.tag(&refs).get(i).cloned().unwrap_or_default();
                survivors.retain(|c| {
                    let mut ws = refs.clone();
                    ws[i] = c.as_str();
                    let ok = tagger.tag(&ws).get(i) == Some(&want);
                    if !ok {
                        counts.pos += 1;
                    }
                    ok
                });
            }
            let render_with = |c: &str| {
                let ws: Vec<Option<&str>> = cur
                    .iter()
                    .enumerate()
                    .map(|(j, w)| Some(if j == i { c } else { w.as_str() }))
                    .collect();
                render(text, &spans, &ws)
            };
            let mut texts: Vec<String> = survivors.iter().map(|c| render_with(c)).collect();
            if let (Some(enc), false) = (self.encoder, texts.is_empty()) {
                // Original and all candidate texts in one embedding call.
                let mut batch: Vec<&str> = Vec::with_capacity(texts.len() + 1);
                if orig_emb.is_none() {
                    batch.push(text);
                }
                batch.extend(texts.iter().map(String::as_str));
                let mut embs = enc.embed(&batch)?;
                if orig_emb.is_none() {
                    orig_emb = Some(embs.remove(0));
                }
                let anchor = orig_emb.clone().unwrap_or_default();
                let keep: Vec<bool> = embs
                    .iter()
                    .map(|e| cosine(&anchor, e) >= cand.min_sim)
                    .collect();
                counts.similarity += keep.iter().filter(|k| !**k).count();
                let mut it = keep.iter();
                survivors.retain(|_| it.next().copied().unwrap_or(false));
                let mut it = keep.iter();
                texts.retain(|_| it.next().copied().unwrap_or(false));
            }
            counts.kept += survivors.len();
            let room = budget_left(victim.queries);
            survivors.truncate(room);
            texts.truncate(room);
            if survivors.is_empty() {
                continue;
            }
            let Some((best, probs)) = self.search(&mut victim, &texts, target)? else {
                continue;
            };
            let flips = argmax(&probs) != target;
            let last_allowed = result.substitutions.len() + 1 >= cfg.max_words;
            // A non-flipping substitution is kept only when it helps and leaves room for more.
            if flips || (!last_allowed && probs[target] < cur_probs[target]) {
                result.substitutions.push(Substitution {
                    position: i,
                    old: words[i].clone(),
                    new: survivors[best].clone(),
                });
                cur[i] = survivors[best].clone();
                cur_probs = probs;
                result.adversarial = texts[best].clone();
            }
            if flips {
                result.success = true;
                break;
            }
        }
        // A failed attack reports the original text: partial, non-flipping edits are not
        // adversarial examples and would pollute transfer/adversarial-training sets.
        if !result.success {
            result.adversarial = text.to_string();
            result.substitutions.clear();
            cur_probs = probs0;
        }
        result.adv_pred = name(argmax(&cur_probs));
        result.adv_probs = cur_probs;
        result.queries = victim.queries;
        result.victim_calls = victim.calls;
        Ok(result)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Corpus metrics over per-example results; `seconds` is the wall-clock time of the run.
pub fn summarize(results: &[ExampleResult], seconds: f64) -> Summary {
    let n = results.len();
    let skipped = results.iter().filter(|r| r.skipped).count();
    let successes = results.iter().filter(|r| r.success).count();
    let successes_on_correct = results
        .iter()
        .filter(|r| r.success && r.orig_correct)
        .count();
    let correct = results.iter().filter(|r| r.orig_correct).count() as f64;
    let attacked: Vec<&ExampleResult> = results.iter().filter(|r| !r.skipped).collect();
    let failures = attacked.len() - successes;
    let mut filters = FilterCounts::default();
    let mut words_tried = 0;
    for r in &attacked {
        filters.add(&r.filters);
        words_tried += r.words_tried;
    }
    let perturbed: f64 = results
        .iter()
        .filter(|r| r.success)
        .map(|r| 100.0 * ratio(r.substitutions.len() as f64, r.words as f64))
        .sum();
    let wt = words_tried as f64;
    let per_word = [
        ("generated", filters.generated),
        ("not_word", filters.not_word),
        ("stopword", filters.stopword),
        ("same_stem", filters.same_stem),
        ("edit_distance", filters.edit_distance),
        ("pos", filters.pos),
        ("similarity", filters.similarity),
        ("kept", filters.kept),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ratio(v as f64, wt)))
    .collect();
    let per_example =
        |f: &dyn Fn(&ExampleResult) -> f64| -> Vec<f64> { results.iter().map(f).collect() };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let items = [
        ("original_accuracy", per_example(&|r| flag(r.orig_correct))),
        (
            "accuracy_under_attack",
            per_example(&|r| flag(r.orig_correct && !r.success)),
        ),
        (
            "attack_success_rate_over_all",
            per_example(&|r| flag(r.success)),
        ),
        (
            "accuracy_after_attack_over_all",
            per_example(&|r| flag(!r.success)),
        ),
        ("queries_per_example", per_example(&|r| r.queries as f64)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Summary {
        examples: n,
        skipped,
        successes,
        successes_on_correct,
        failures,
        original_accuracy: ratio(correct, n as f64),
        accuracy_under_attack: ratio(correct - successes_on_correct as f64, n as f64),
        attack_success_rate: ratio(successes_on_correct as f64, correct),
        attack_success_rate_over_all: ratio(successes as f64, n as f64),
        accuracy_after_attack_over_all: ratio((n - successes) as f64, n as f64),
        mean_perturbed_word_pct: ratio(perturbed, successes as f64),
        mean_words_per_input: ratio(
            results.iter().map(|r| r.words).sum::<usize>() as f64,
            n as f64,
        ),
        mean_queries: ratio(
            attacked.iter().map(|r| r.queries).sum::<usize>() as f64,
            attacked.len() as f64,
        ),
        mean_victim_calls: ratio(
            attacked.iter().map(|r| r.victim_calls).sum::<usize>() as f64,
            attacked.len() as f64,
        ),
        queries_per_example: ratio(
            results.iter().map(|r| r.queries).sum::<usize>() as f64,
            n as f64,
        ),
        filters_total: filters,
        words_tried,
        filters_mean_per_word: per_word,
        seconds,
        examples_per_s: ratio(n as f64, seconds),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_and_deletes() {
        let t = "Ina son, gida  sosai!";
        let spans = mavuno_stages::text::segment::words(t);
        let ws: Vec<&str> = spans.iter().map(|&(s, e)| &t[s..e]).collect();
        let mut o: Vec<Option<&str>> = ws.iter().map(|w| Some(*w)).collect();
        assert_eq!(render(t, &spans, &o), t);
        o[2] = None;
        assert_eq!(render(t, &spans, &o), "Ina son, sosai!");
        o[2] = Some("daki");
        assert_eq!(render(t, &spans, &o), "Ina son, daki  sosai!");
        o[3] = None;
        assert_eq!(render(t, &spans, &o), "Ina son, daki  !");
        assert_eq!(match_case("Gida", "daki"), "Daki");
    }

    fn example(orig_correct: bool, success: bool, queries: usize) -> ExampleResult {
        ExampleResult {
            text: "a b c d".into(),
            adversarial: "a b c d".into(),
            label: "pos".into(),
            orig_pred: "pos".into(),
            adv_pred: "pos".into(),
            orig_probs: vec![0.2, 0.8],
            adv_probs: vec![0.2, 0.8],
            substitutions: Vec::new(),
            queries,
            victim_calls: 1,
            success,
            skipped: !orig_correct,
            orig_correct,
            words: 4,
            words_tried: 1,
            filters: FilterCounts::default(),
        }
    }

    #[test]
    fn items_are_per_example_and_average_to_their_metric() {
        // Correct+flipped, correct+held, misclassified (skipped, 1 query), correct+flipped.
        let results = vec![
            example(true, true, 7),
            example(true, false, 12),
            example(false, false, 1),
            example(true, true, 3),
        ];
        let s = summarize(&results, 1.0);
        let json = serde_json::to_value(&s).unwrap();
        let names = [
            "original_accuracy",
            "accuracy_under_attack",
            "attack_success_rate_over_all",
            "accuracy_after_attack_over_all",
            "queries_per_example",
        ];
        assert_eq!(s.items.len(), names.len());
        for name in names {
            let v = &s.items[name];
            assert_eq!(v.len(), results.len(), "{name}");
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let metric = json[name].as_f64().unwrap();
            assert!((mean - metric).abs() < 1e-12, "{name}: {mean} vs {metric}");
        }
        // In input order, one value per example.
        assert_eq!(
            s.items["attack_success_rate_over_all"],
            [1.0, 0.0, 0.0, 1.0]
        );
        assert_eq!(s.items["accuracy_under_attack"], [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(s.items["queries_per_example"], [7.0, 12.0, 1.0, 3.0]);
        // Over all examples vs over attacked ones: the skipped example's single query counts.
        assert!((s.queries_per_example - 23.0 / 4.0).abs() < 1e-12);
        assert!((s.mean_queries - 22.0 / 3.0).abs() < 1e-12);
        // Rates over correct examples have no items (their denominators differ by victim).
        assert!(!s.items.contains_key("attack_success_rate"));
        assert!((s.attack_success_rate - 2.0 / 3.0).abs() < 1e-12);
    }
}
