//! [`CorpusStats`]: what the `stats` stage counts, and its JSON form.
//!
//! Lengths go into fixed log₂ buckets (`0`, `1`, `2-3`, `4-7`, … , `>=2^23`), so reports
//! of different runs line up. Characters are Unicode scalar values; words are
//! [`crate::text::segment::words`] (counted without allocating).

use crate::text::segment::word_count;
use mavuno_pipeline::Record;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Number of length buckets: 0, then `[2^(k-1), 2^k)` for k = 1..=23, then the rest.
pub const BUCKETS: usize = 25;

/// Most distinct labels counted one by one; the rest go under `(other)`.
pub const MAX_LABELS: usize = 1000;

/// The bucket of a length.
pub fn bucket(len: usize) -> usize {
    ((usize::BITS - len.leading_zeros()) as usize).min(BUCKETS - 1)
}

/// Bucket names, in order.
pub fn bucket_labels() -> Vec<String> {
    (0..BUCKETS)
        .map(|k| match k {
            0 => "0".to_string(),
            1 => "1".to_string(),
            k if k == BUCKETS - 1 => format!(">={}", 1u64 << (k - 1)),
            k => format!("{}-{}", 1u64 << (k - 1), (1u64 << k) - 1),
        })
        .collect()
}

/// Per-language counts.
#[derive(Clone, Debug, Default)]
struct LangStats {
    records: u64,
    chars: u64,
    words: u64,
    religious: u64,
}

/// Running statistics over records.
#[derive(Clone, Debug)]
pub struct CorpusStats {
    records: u64,
    chars: u64,
    words: u64,
    religious: u64,
    langs: BTreeMap<String, LangStats>,
    char_hist: [u64; BUCKETS],
    word_hist: [u64; BUCKETS],
    /// xxh3 of a `dup_cluster` id → members seen.
    clusters: HashMap<u64, u64>,
    labels: BTreeMap<String, u64>,
}

impl Default for CorpusStats {
    fn default() -> Self {
        CorpusStats {
            records: 0,
            chars: 0,
            words: 0,
            religious: 0,
            langs: BTreeMap::new(),
            char_hist: [0; BUCKETS],
            word_hist: [0; BUCKETS],
            clusters: HashMap::new(),
            labels: BTreeMap::new(),
        }
    }
}

/// The lengths of a text: (characters, words). Pure, so batches can compute it in parallel.
pub fn lengths(text: &str) -> (usize, usize) {
    (text.chars().count(), word_count(text))
}

fn label_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl CorpusStats {
    /// Counts one record whose lengths were computed with [`lengths`].
    pub fn add(&mut self, rec: &Record, (chars, words): (usize, usize)) {
        let religious = rec.str_field("domain") == Some("religious");
        self.records += 1;
        self.chars += chars as u64;
        self.words += words as u64;
        self.religious += u64::from(religious);
        let l = self
            .langs
            .entry(rec.lang.clone().unwrap_or_else(|| "und".into()))
            .or_default();
        l.records += 1;
        l.chars += chars as u64;
        l.words += words as u64;
        l.religious += u64::from(religious);
        self.char_hist[bucket(chars)] += 1;
        self.word_hist[bucket(words)] += 1;
        if let Some(c) = rec.str_field("dup_cluster") {
            *self
                .clusters
                .entry(xxhash_rust::xxh3::xxh3_64(c.as_bytes()))
                .or_insert(0) += 1;
        }
        if let Some(v) = rec.field("label") {
            let key = label_key(v);
            let key = if self.labels.len() >= MAX_LABELS && !self.labels.contains_key(&key) {
                "(other)".to_string()
            } else {
                key
            };
            *self.labels.entry(key).or_insert(0) += 1;
        }
    }

    /// Records counted so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The report as JSON (deterministic: maps are sorted).
    pub fn to_json(&self) -> Value {
        let share = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let langs: Map<String, Value> = self
            .langs
            .iter()
            .map(|(k, l)| {
                let v = json!({
                    "records": l.records,
                    "chars": l.chars,
                    "words": l.words,
                    "mean_chars": share(l.chars, l.records),
                    "mean_words": share(l.words, l.records),
                    "religious": l.religious,
                    "religious_share": share(l.religious, l.records),
                });
                (k.clone(), v)
            })
            .collect();
        let mut sizes = [0u64; BUCKETS];
        for &n in self.clusters.values() {
            sizes[bucket(n as usize)] += 1;
        }
        let multi = self.clusters.values().filter(|&&n| n > 1).count();
        json!({
            "records": self.records,
            "chars": self.chars,
            "words": self.words,
            "languages": langs,
            "length_buckets": bucket_labels(),
            "chars_histogram": self.char_hist.to_vec(),
            "words_histogram": self.word_hist.to_vec(),
            "dup_clusters": {
                "records_with_cluster": self.clusters.values().sum::<u64>(),
                "clusters": self.clusters.len(),
                "clusters_with_duplicates": multi,
                "largest": self.clusters.values().copied().max().unwrap_or(0),
                "size_histogram": sizes.to_vec(),
            },
            "religious": {"records": self.religious, "share": share(self.religious, self.records)},
            "labels": if self.labels.is_empty() { Value::Null } else { json!(self.labels) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log2() {
        assert_eq!(
            [
                bucket(0),
                bucket(1),
                bucket(2),
                bucket(3),
                bucket(4),
                bucket(1 << 30)
            ],
            [0, 1, 2, 2, 3, BUCKETS - 1]
        );
        let l = bucket_labels();
        assert_eq!(
            (l[2].as_str(), l[3].as_str(), l[BUCKETS - 1].as_str()),
            ("2-3", "4-7", ">=8388608")
        );
    }

    #[test]
    fn counts_languages_clusters_religion_and_labels() {
        let mut s = CorpusStats::default();
        let mut recs = Vec::new();
        for (i, (lang, cluster, domain, label)) in [
            ("yor", "a", "religious", "pos"),
            ("yor", "a", "news", "neg"),
            ("hau", "c", "religious", "pos"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = Record::new(i.to_string(), "Ẹ kú àárọ̀ o");
            r.lang = Some(lang.into());
            r.set("dup_cluster", cluster);
            r.set("domain", domain);
            r.set("label", label);
            recs.push(r);
        }
        recs.push(Record::new("x", ""));
        for r in &recs {
            s.add(r, lengths(&r.text));
        }
        let j = s.to_json();
        assert_eq!(j["records"], 4);
        assert_eq!(j["languages"]["yor"]["religious"], 1);
        assert_eq!(j["languages"]["und"]["records"], 1);
        assert_eq!(j["dup_clusters"]["clusters_with_duplicates"], 1);
        assert_eq!(j["dup_clusters"]["largest"], 2);
        assert_eq!(j["religious"]["records"], 2);
        assert_eq!(j["labels"]["pos"], 2);
        assert_eq!(j["words_histogram"][3], 3, "4 words → bucket 4-7");
    }

    #[test]
    fn empty_corpus_has_zero_shares() {
        let j = CorpusStats::default().to_json();
        assert_eq!(j["records"], 0);
        assert_eq!(j["religious"]["share"], 0.0);
        assert!(j["labels"].is_null());
    }
}
