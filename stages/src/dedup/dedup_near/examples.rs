//! A bounded, seeded sample of near-duplicate clusters for the run report
//! (`<run>/clusters/<stage>.json`): the kept record that heads each sampled cluster and its
//! near duplicates with their similarity.
//!
//! A cluster is picked by its head's priority `xxh3(head id, seed)`: the sample is the
//! [`CLUSTERS`] clusters with the smallest priorities. The head's text is gone once it has
//! been passed on, so the stage holds the texts of the [`CANDIDATES`] kept records with
//! the smallest priorities so far (a bottom-k of kept records); a cluster whose head fell
//! out of that set cannot be picked. Memory is therefore bounded by `CANDIDATES + CLUSTERS
//! × (1 + DUPS_SHOWN)` texts cut at [`TEXT_CHARS`], and the sample depends only on the
//! seed and the record order (never on threads or batch size). Because the bottom-k's
//! cut-off only falls, a cluster is picked at its first near duplicate or never, so its
//! `near_duplicates` count is exact.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Clusters kept in the sample.
pub const CLUSTERS: usize = 20;
/// Kept records whose text is held as possible cluster heads.
pub const CANDIDATES: usize = 2000;
/// Near duplicates shown per cluster (all are counted).
pub const DUPS_SHOWN: usize = 5;
/// Texts are cut to this many characters.
pub const TEXT_CHARS: usize = 500;

/// Where a stage's cluster sample goes.
pub fn clusters_sample_path(run_dir: &Path, stage: &str) -> PathBuf {
    run_dir.join("clusters").join(format!("{stage}.json"))
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(TEXT_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// One record of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Member {
    /// Record id.
    pub id: String,
    /// Language, when known.
    pub lang: Option<String>,
    /// Similarity with the head (absent for the head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Text, cut at [`TEXT_CHARS`].
    pub text: String,
}

/// One sampled cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    /// The kept record.
    pub head: Member,
    /// Near duplicates found (all of them).
    pub near_duplicates: u64,
    /// The first [`DUPS_SHOWN`] of them.
    pub shown: Vec<Member>,
}

/// The file: the stage's threshold and the clusters in priority order.
#[derive(Debug, Serialize)]
struct SampleFile<'a> {
    threshold: f64,
    clusters: Vec<&'a Cluster>,
}

/// Builds the sample as the stage decides records; see the module docs.
pub struct ClusterSample {
    seed: u64,
    /// Bottom-k kept records by (priority, doc): their heads-to-be.
    candidates: BTreeMap<(u64, u32), Member>,
    /// Priority of each candidate's document.
    prio: HashMap<u32, u64>,
    /// Picked clusters by (priority, doc) of their head.
    picked: BTreeMap<(u64, u32), Cluster>,
}

impl ClusterSample {
    /// An empty sample drawn with `seed`.
    pub fn new(seed: u64) -> ClusterSample {
        ClusterSample {
            seed,
            candidates: BTreeMap::new(),
            prio: HashMap::new(),
            picked: BTreeMap::new(),
        }
    }

    fn member(id: &str, lang: Option<&str>, text: &str, similarity: Option<f64>) -> Member {
        Member {
            id: id.to_string(),
            lang: lang.map(str::to_string),
            similarity,
            text: cut(text),
        }
    }

    /// A record was kept as document `doc` of the index.
    pub fn kept(&mut self, doc: u32, id: &str, lang: Option<&str>, text: &str) {
        let key = (
            xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), self.seed),
            doc,
        );
        let full = self.candidates.len() >= CANDIDATES;
        if full
            && self
                .candidates
                .last_key_value()
                .is_some_and(|(k, _)| key > *k)
        {
            return;
        }
        self.candidates
            .insert(key, Self::member(id, lang, text, None));
        self.prio.insert(doc, key.0);
        if full {
            if let Some(((_, d), _)) = self.candidates.pop_last() {
                self.prio.remove(&d);
            }
        }
    }

    /// A record was found a near duplicate of document `doc` at similarity `sim`.
    pub fn duplicate(&mut self, doc: u32, id: &str, lang: Option<&str>, text: &str, sim: f64) {
        let Some(&p) = self.prio.get(&doc) else {
            return;
        };
        let key = (p, doc);
        if let Some(c) = self.picked.get_mut(&key) {
            c.near_duplicates += 1;
            if c.shown.len() < DUPS_SHOWN {
                c.shown.push(Self::member(id, lang, text, Some(sim)));
            }
            return;
        }
        let full = self.picked.len() >= CLUSTERS;
        if full && self.picked.last_key_value().is_some_and(|(k, _)| key > *k) {
            return;
        }
        let Some(head) = self.candidates.get(&key).cloned() else {
            return;
        };
        self.picked.insert(
            key,
            Cluster {
                head,
                near_duplicates: 1,
                shown: vec![Self::member(id, lang, text, Some(sim))],
            },
        );
        if full {
            self.picked.pop_last();
        }
    }

    /// The sampled clusters, in priority order.
    pub fn clusters(&self) -> Vec<&Cluster> {
        self.picked.values().collect()
    }

    /// Writes `path` (atomically); nothing when no cluster was found.
    pub fn write(&self, path: &Path, threshold: f64) -> Result<(), mavuno_pipeline::StageError> {
        use mavuno_pipeline::StageError;
        if self.picked.is_empty() {
            let _ = std::fs::remove_file(path);
            return Ok(());
        }
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| StageError::io(d, e))?;
        }
        let f = SampleFile {
            threshold,
            clusters: self.clusters(),
        };
        let bytes = serde_json::to_vec(&f).map_err(|e| StageError::msg(e.to_string()))?;
        mavuno_pipeline::io::write_atomic(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3000 kept records; every third has two near duplicates.
    fn fill(s: &mut ClusterSample) {
        for d in 0..3000u32 {
            s.kept(d, &format!("k{d}"), Some("yor"), &"x".repeat(600));
        }
        for round in 0..2 {
            for d in (0..3000u32).step_by(3) {
                s.duplicate(d, &format!("d{d}-{round}"), Some("yor"), "dup", 0.9);
            }
        }
    }

    #[test]
    fn sample_is_bounded_seeded_and_counts_every_duplicate() {
        let mut a = ClusterSample::new(7);
        fill(&mut a);
        let c = a.clusters();
        assert_eq!(c.len(), CLUSTERS);
        assert!(c
            .iter()
            .all(|c| c.near_duplicates == 2 && c.shown.len() == 2));
        assert!(c[0].head.text.ends_with('…'));
        assert_eq!(c[0].head.text.chars().count(), TEXT_CHARS + 1);
        assert_eq!(a.candidates.len(), CANDIDATES);
        // Same seed, same sample; another seed, another one.
        let mut b = ClusterSample::new(7);
        fill(&mut b);
        assert_eq!(a.clusters(), b.clusters());
        let mut other = ClusterSample::new(8);
        fill(&mut other);
        assert_ne!(a.clusters(), other.clusters());
        // The sample holds the smallest priorities among the clusters whose head it kept.
        let ids: Vec<&str> = c.iter().map(|c| c.head.id.as_str()).collect();
        let mut all: Vec<(u64, String)> = (0..3000u32)
            .step_by(3)
            .map(|d| {
                let id = format!("k{d}");
                (xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), 7), id)
            })
            .collect();
        all.sort();
        let cutoff = a.candidates.keys().last().map(|k| k.0).unwrap_or(0);
        let want: Vec<&str> = all
            .iter()
            .filter(|(p, _)| *p <= cutoff)
            .take(CLUSTERS)
            .map(|(_, id)| id.as_str())
            .collect();
        assert_eq!(ids, want);
    }
}
