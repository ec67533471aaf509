//! The attack algorithm on hand-built fakes: a victim whose prediction depends on a few words,
//! a generator with a fixed candidate list, a dictionary POS tagger and a two-direction
//! "encoder". Checks the flip, exact query counts, per-filter counts, batching (victim calls
//! ≤ 1 + words tried, independent of K), budget, skipping, and Sinhala/Tamil word units.

use std::cell::Cell;
use std::collections::HashSet;

use mavuno_models::attack::attack::{argmax, summarize};
use mavuno_models::attack::{
    AttackConfig, Attacker, CandidateConfig, CandidateGenerator, FilterCounts, Search,
    SentenceEncoder, Victim, MASK_SENTINEL,
};
use mavuno_models::ModelError;
use mavuno_stages::tag::Tagger;

/// p(pos) = 0.8 with a positive word, 0.1 with a negative one, else 0.4 (→ "neg").
struct FakeVictim {
    labels: Vec<String>,
    positive: Vec<&'static str>,
    negative: Vec<&'static str>,
    calls: Cell<usize>,
}

impl FakeVictim {
    fn new(positive: Vec<&'static str>, negative: Vec<&'static str>) -> Self {
        Self {
            labels: vec!["neg".into(), "pos".into()],
            positive,
            negative,
            calls: Cell::new(0),
        }
    }
}

impl Victim for FakeVictim {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.calls.set(self.calls.get() + 1);
        Ok(texts
            .iter()
            .map(|t| {
                let ws: Vec<&str> = mavuno_stages::text::segment::words(t)
                    .into_iter()
                    .map(|(s, e)| &t[s..e])
                    .collect();
                let p = if ws.iter().any(|w| self.negative.contains(w)) {
                    0.1
                } else if ws.iter().any(|w| self.positive.contains(w)) {
                    0.8
                } else {
                    0.4
                };
                vec![1.0 - p, p]
            })
            .collect())
    }
}

/// Returns the same list for every request.
struct FakeGen(Vec<String>);

impl CandidateGenerator for FakeGen {
    fn candidates(
        &self,
        requests: &[(Vec<String>, usize)],
        k: usize,
    ) -> Result<Vec<Vec<(String, f32)>>, ModelError> {
        Ok(requests
            .iter()
            .map(|_| self.0.iter().take(k).map(|w| (w.clone(), 0.1)).collect())
            .collect())
    }
}

/// ADJ for a few adjectives, ADV for "quickly", NOUN otherwise.
struct FakeTagger(Vec<String>);

impl Tagger for FakeTagger {
    fn tag(&self, words: &[&str]) -> Vec<String> {
        words
            .iter()
            .map(|w| match *w {
                "good" | "nice" | "bad" | "awful" | "great" => "ADJ",
                "quickly" => "ADV",
                _ => "NOUN",
            })
            .map(str::to_string)
            .collect()
    }
    fn labels(&self) -> &[String] {
        &self.0
    }
}

/// Texts with "awful" point one way, all others the orthogonal way.
struct FakeEncoder;

impl SentenceEncoder for FakeEncoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                if t.contains("awful") {
                    vec![0.0, 1.0]
                } else {
                    vec![1.0, 0.0]
                }
            })
            .collect())
    }
}

fn stop() -> HashSet<String> {
    ["the", "was"].iter().map(|s| s.to_string()).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn finds_the_flip_with_expected_queries_and_filter_counts() -> Result<(), ModelError> {
    let victim = FakeVictim::new(vec!["good", "nice"], vec!["bad", "awful"]);
    let gen = FakeGen(strings(&[
        "the", "goods", "123", "quickly", "awful", "nice", "bad",
    ]));
    let tagger = FakeTagger(strings(&["ADJ", "ADV", "NOUN"]));
    let attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: Some(&tagger),
        encoder: Some(&FakeEncoder),
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: AttackConfig::default(),
    };
    let r = attacker.attack_example("The movie was good fun.", 1, None)?;
    assert!(r.success, "{r:?}");
    assert_eq!(r.adversarial, "The movie was bad fun.");
    assert_eq!(r.substitutions.len(), 1);
    assert_eq!(
        (r.substitutions[0].position, r.substitutions[0].old.as_str()),
        (3, "good")
    );
    assert_eq!(r.adv_pred, "neg");
    // 1 original + 3 deletions (movie, good, fun; "The"/"was" are stopwords) + 2 kept.
    assert_eq!(r.queries, 6);
    assert_eq!(r.victim_calls, 2);
    assert_eq!(
        r.filters,
        FilterCounts {
            generated: 7,
            not_word: 1,
            stopword: 1,
            same_stem: 1,
            edit_distance: 0,
            pos: 1,
            similarity: 1,
            kept: 2,
        }
    );
    Ok(())
}

#[test]
fn filters_off_without_tagger_and_encoder_and_edit_limit_counts() -> Result<(), ModelError> {
    let victim = FakeVictim::new(vec!["good", "bad"], vec!["awful"]);
    let gen = FakeGen(strings(&["quickly", "awful", "bad"]));
    let attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig {
            max_edit: Some(4),
            ..CandidateConfig::default()
        },
        config: AttackConfig::default(),
    };
    let r = attacker.attack_example("good fun", 1, None)?;
    // "quickly" is 7 edits from "good" → edit filter; "awful" (5 edits) too; "bad" (3) kept,
    // but "bad" is positive for this victim, so no flip.
    assert_eq!(r.filters.edit_distance, 2);
    assert_eq!(r.filters.kept, 1);
    assert!(!r.success);
    assert_eq!(
        r.adversarial, "good fun",
        "failed attacks report the original"
    );
    Ok(())
}

#[test]
fn victim_calls_do_not_grow_with_k() -> Result<(), ModelError> {
    // A victim that never flips, 50 valid candidates per word, 3 words tried.
    let victim = FakeVictim::new(vec!["alpha", "beta", "gamma"], vec![]);
    let cands: Vec<String> = (0..50)
        .map(|i| format!("cand{}x", i * 7919 % 1000 + 1000))
        .collect();
    let gen = FakeGen(cands);
    let cfg = AttackConfig {
        try_words: Some(3),
        ..AttackConfig::default()
    };
    let attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: cfg,
    };
    let before = victim.calls.get();
    let r = attacker.attack_example("alpha beta gamma delta", 1, Some(vec![0.2, 0.8]))?;
    let calls = victim.calls.get() - before;
    assert_eq!(r.words_tried, 3);
    assert!(calls <= 1 + r.words_tried, "{calls} victim calls");
    assert_eq!(calls, r.victim_calls);
    assert_eq!(r.queries, 1 + 4 + 3 * 50);
    Ok(())
}

#[test]
fn budget_skip_and_summary() -> Result<(), ModelError> {
    let victim = FakeVictim::new(vec!["good"], vec!["bad"]);
    let gen = FakeGen(strings(&["nice", "bad"]));
    let cfg = AttackConfig {
        query_budget: Some(3),
        ..AttackConfig::default()
    };
    let attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: cfg,
    };
    // Budget 3: original + 2 deletions, nothing left for candidates.
    let r = attacker.attack_example("good movie fun", 1, None)?;
    assert!(r.queries <= 3);
    assert!(!r.success);
    let examples = vec![
        ("good movie".to_string(), "pos".to_string()),
        ("plain movie".to_string(), "pos".to_string()), // misclassified → skipped
    ];
    let attacker = Attacker {
        config: AttackConfig::default(),
        ..attacker
    };
    let (results, summary) = attacker.attack_all(&examples)?;
    assert!(results[0].success && results[1].skipped);
    assert_eq!(
        (summary.successes, summary.skipped, summary.failures),
        (1, 1, 0)
    );
    assert!((summary.original_accuracy - 0.5).abs() < 1e-9);
    assert!(summary.accuracy_under_attack.abs() < 1e-9);
    assert!((summary.attack_success_rate - 1.0).abs() < 1e-9);
    assert!((summary.attack_success_rate_over_all - 0.5).abs() < 1e-9);
    assert!((summary.mean_perturbed_word_pct - 50.0).abs() < 1e-9);
    let again = summarize(&results, 1.0);
    assert_eq!(again.successes, 1);
    assert!(attacker
        .attack_all(&[("x".into(), "unknown".into())])
        .is_err());
    Ok(())
}

#[test]
fn sinhala_and_tamil_words_are_attacked_whole() -> Result<(), ModelError> {
    // චිත්‍රපටය has a virama + ZWJ; හොඳයි ("good") is the word the victim keys on.
    let si = "මෙම චිත්‍රපටය ඉතා හොඳයි";
    let ta = "இந்த படம் மிகவும் நன்றாக இருக்கிறது";
    assert_eq!(mavuno_stages::text::segment::words(si).len(), 4);
    assert_eq!(mavuno_stages::text::segment::words(ta).len(), 5);
    let victim = FakeVictim::new(vec!["හොඳයි", "நன்றாக"], vec!["නරකයි", "மோசமாக"]);
    for (text, good, bad) in [(si, "හොඳයි", "නරකයි"), (ta, "நன்றாக", "மோசமாக")]
    {
        let gen = FakeGen(strings(&[bad]));
        let attacker = Attacker {
            victim: &victim,
            generator: &gen,
            tagger: None,
            encoder: None,
            stopwords: HashSet::new(),
            candidates: CandidateConfig::default(),
            config: AttackConfig::default(),
        };
        let r = attacker.attack_example(text, 1, None)?;
        assert!(r.success, "{r:?}");
        assert_eq!(r.substitutions[0].old, good);
        assert_eq!(r.adversarial, text.replace(good, bad));
        assert_eq!(r.queries, 1 + r.words + 1);
    }
    Ok(())
}

/// Three classes: p = (0.34, 0.33, 0.33) for "okay" (gold 0 still wins), (0.45, 0.55, 0) for
/// "meh" (flips to class 1), (0.9, 0.05, 0.05) otherwise; class 0 is gold.
struct ThreeClass {
    labels: Vec<String>,
}

impl Victim for ThreeClass {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                if t.contains("okay") {
                    vec![0.34, 0.33, 0.33]
                } else if t.contains("meh") {
                    vec![0.45, 0.55, 0.0]
                } else {
                    vec![0.9, 0.05, 0.05]
                }
            })
            .collect())
    }
}

fn three_class_attacker<'a>(
    victim: &'a ThreeClass,
    gen: &'a FakeGen,
    search: Search,
    max_words: usize,
) -> Attacker<'a> {
    Attacker {
        victim,
        generator: gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: AttackConfig {
            search,
            max_words,
            ..AttackConfig::default()
        },
    }
}

#[test]
fn first_flip_finds_the_flip_that_the_lowest_gold_probability_misses() -> Result<(), ModelError> {
    let victim = ThreeClass {
        labels: strings(&["a", "b", "c"]),
    };
    // MLM rank order: "meh" (flips, gold 0.45) before "okay" (no flip, gold 0.34).
    let gen = FakeGen(strings(&["meh", "okay"]));
    let p = victim.predict_proba(&["meh film", "okay film"])?;
    assert!(p[1][0] < p[0][0], "the lowest gold probability is okay's");
    assert_eq!((argmax(&p[0]), argmax(&p[1])), (1, 0), "only meh flips");
    let first = three_class_attacker(&victim, &gen, Search::FirstFlip, 1).attack_example(
        "great film",
        0,
        None,
    )?;
    assert!(first.success, "{first:?}");
    assert_eq!(first.adv_pred, "b");
    assert_eq!(first.substitutions[0].new, "meh");
    // Both candidates went to the victim in one call and both count as queries.
    assert_eq!(first.queries, 1 + 2 + 2);
    // The old rule (take the lowest gold probability, succeed only if that one flips) would
    // pick "okay" (0.34) and miss the flip: min_prob now takes the flipping candidate.
    let min = three_class_attacker(&victim, &gen, Search::MinProb, 1).attack_example(
        "great film",
        0,
        None,
    )?;
    assert!(min.success, "{min:?}");
    assert_eq!(min.substitutions[0].new, "meh");
    // With one candidate per call, first_flip stops at the flip: "okay" is never queried.
    let mut one = three_class_attacker(&victim, &gen, Search::FirstFlip, 1);
    one.config.flip_batch = Some(1);
    let r = one.attack_example("great film", 0, None)?;
    assert!(r.success);
    assert_eq!(r.queries, 1 + 2 + 1);
    // Rank order decides under first_flip: with two flipping candidates the first wins.
    let gen2 = FakeGen(strings(&["meh", "okay", "mehh"]));
    let r = three_class_attacker(&victim, &gen2, Search::FirstFlip, 1).attack_example(
        "great film",
        0,
        None,
    )?;
    assert_eq!(r.substitutions[0].new, "meh");
    Ok(())
}

#[test]
fn attack_all_attacks_misclassified_examples_and_both_rates_are_reported() -> Result<(), ModelError>
{
    let victim = FakeVictim::new(vec!["good"], vec!["bad"]);
    let gen = FakeGen(strings(&["good", "bad"]));
    let examples = vec![
        ("good movie".to_string(), "pos".to_string()), // correct, flips with "bad"
        ("plain movie".to_string(), "pos".to_string()), // misclassified ("neg")
    ];
    let mut attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: AttackConfig::default(),
    };
    let (_, textattack) = attacker.attack_all(&examples)?;
    assert_eq!((textattack.successes, textattack.skipped), (1, 1));
    attacker.config.attack_all = true;
    let (results, paper) = attacker.attack_all(&examples)?;
    // The misclassified example is attacked against the victim's own prediction ("neg"):
    // substituting "good" for "plain"/"movie" pushes it to "pos".
    assert!(!results[1].skipped && !results[1].orig_correct);
    assert!(results[1].success, "{:?}", results[1]);
    assert_eq!(results[1].adv_pred, "pos");
    assert_eq!(
        (paper.successes, paper.successes_on_correct, paper.skipped),
        (2, 1, 0)
    );
    // TextAttack's rate counts only originally-correct examples; the paper's is over all N.
    assert!((paper.attack_success_rate - 1.0).abs() < 1e-9);
    assert!((paper.attack_success_rate_over_all - 1.0).abs() < 1e-9);
    assert!(paper.accuracy_after_attack_over_all.abs() < 1e-9);
    assert!((paper.accuracy_under_attack - 0.0).abs() < 1e-9);
    assert!((paper.original_accuracy - 0.5).abs() < 1e-9);
    Ok(())
}

/// Records the words of every request.
struct RecordingGen(std::cell::RefCell<Vec<Vec<String>>>);

impl CandidateGenerator for RecordingGen {
    fn candidates(
        &self,
        requests: &[(Vec<String>, usize)],
        _k: usize,
    ) -> Result<Vec<Vec<(String, f32)>>, ModelError> {
        self.0
            .borrow_mut()
            .extend(requests.iter().map(|(w, _)| w.clone()));
        Ok(requests.iter().map(|_| Vec::new()).collect())
    }
}

#[test]
fn mask_all_occurrences_masks_every_copy_of_the_attacked_word() -> Result<(), ModelError> {
    let victim = FakeVictim::new(vec!["good"], vec!["bad"]);
    let gen = RecordingGen(std::cell::RefCell::new(Vec::new()));
    let mut attacker = Attacker {
        victim: &victim,
        generator: &gen,
        tagger: None,
        encoder: None,
        stopwords: stop(),
        candidates: CandidateConfig::default(),
        config: AttackConfig::default(),
    };
    attacker.attack_example("good food good", 1, None)?;
    attacker.config.mask_all_occurrences = true;
    attacker.attack_example("good food good", 1, None)?;
    let seen = gen.0.borrow();
    assert_eq!(seen.len(), 2);
    // Deleting either "good" leaves the other: same importance, the first (index 0) ranks first.
    assert_eq!(seen[0], strings(&["good", "food", "good"]));
    assert_eq!(
        seen[1],
        vec!["good".to_string(), "food".into(), MASK_SENTINEL.into()]
    );
    Ok(())
}
