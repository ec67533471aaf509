//! Context-free taggers: a type-level word→tag dictionary (how the LEM authors tagged
//! Sinhala, Tamil and English, SEEDS §1.2), a longest-match gazetteer for entity types,
//! and string-match entity projection across parallel sentences.
//!
//! Dictionary TSV: `word<TAB>tag[<TAB>count<TAB>total]`, `#` comments allowed. Built
//! dictionaries hold the majority tag of each word type (ties: the tag that sorts
//! first) with its count and the word's total count. Lookup tries the exact word, then
//! its lowercase.

use super::data::Sentence;
use super::metrics::entities;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A word → tag dictionary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lexicon {
    map: HashMap<String, String>,
}

/// One dictionary row as built from data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexiconEntry {
    /// The word type.
    pub word: String,
    /// Its majority tag.
    pub tag: String,
    /// Occurrences with that tag.
    pub count: u64,
    /// Occurrences of the word.
    pub total: u64,
}

/// Majority tag per word type, sorted by word.
pub fn build_entries(sents: &[Sentence]) -> Vec<LexiconEntry> {
    let mut counts: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for s in sents {
        for (w, t) in s.words.iter().zip(&s.tags) {
            *counts.entry(w).or_default().entry(t).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter_map(|(w, tags)| {
            let total = tags.values().sum();
            // max_by_key keeps the last maximum; iterate reversed so ties go to the first tag.
            let (t, c) = tags.iter().rev().max_by_key(|(_, c)| **c)?;
            Some(LexiconEntry {
                word: w.to_string(),
                tag: t.to_string(),
                count: *c,
                total,
            })
        })
        .collect()
}

/// The TSV text of built entries.
pub fn entries_to_tsv(entries: &[LexiconEntry]) -> String {
    let mut s = String::from("# word\ttag\tcount\ttotal\n");
    for e in entries {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            e.word, e.tag, e.count, e.total
        ));
    }
    s
}

impl Lexicon {
    /// Parses TSV text; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Lexicon, String> {
        let mut map = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.split('\t');
            match (cols.next(), cols.next()) {
                (Some(w), Some(t)) if !w.is_empty() && !t.is_empty() => {
                    map.insert(w.to_string(), t.to_string());
                }
                _ => return Err(format!("{file}:{}: expected `word<TAB>tag`", i + 1)),
            }
        }
        Ok(Lexicon { map })
    }

    /// Reads a TSV file.
    pub fn load(path: &Path) -> Result<Lexicon, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Lexicon::parse(&text, &path.display().to_string())
    }

    /// From built entries.
    pub fn from_entries(entries: &[LexiconEntry]) -> Lexicon {
        Lexicon {
            map: entries
                .iter()
                .map(|e| (e.word.clone(), e.tag.clone()))
                .collect(),
        }
    }

    /// The tag of a word: exact, then lowercase.
    pub fn lookup(&self, word: &str) -> Option<&str> {
        self.map
            .get(word)
            .or_else(|| self.map.get(&word.to_lowercase()))
            .map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The LEM class of a POS tag: `NOUN` for UD NOUN/PROPN, PTB NN* and Sinhala NNC/NNP;
/// `VERB` for UD VERB, PTB VB* and Sinhala VNN/VFM/VNF/VP (SEEDS §1.2); else `None`.
pub fn lem_class(tag: &str) -> Option<&'static str> {
    match tag {
        "NOUN" | "PROPN" | "NN" | "NNS" | "NNP" | "NNPS" | "NNC" => Some("NOUN"),
        "VERB" | "VB" | "VBD" | "VBG" | "VBN" | "VBP" | "VBZ" | "VNN" | "VFM" | "VNF" | "VP" => {
            Some("VERB")
        }
        _ => None,
    }
}

/// Longest-match tagging over words with entity lists (matched on lowercase words).
#[derive(Clone, Debug, Default)]
pub struct GazetteerTagger {
    entries: HashMap<Vec<String>, String>,
    max_len: usize,
}

impl GazetteerTagger {
    /// Adds the entries (one per line, words separated by spaces) of one type. A later
    /// type does not override an earlier one for the same entry.
    pub fn add(&mut self, ty: &str, text: &str) {
        for line in text.lines() {
            let key: Vec<String> = line.split_whitespace().map(str::to_lowercase).collect();
            if key.is_empty() || line.starts_with('#') {
                continue;
            }
            self.max_len = self.max_len.max(key.len());
            self.entries.entry(key).or_insert_with(|| ty.to_string());
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// IOB2 tags by greedy longest match, left to right.
    pub fn tag(&self, words: &[&str]) -> Vec<String> {
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let mut out = vec!["O".to_string(); words.len()];
        let mut i = 0;
        while i < words.len() {
            let mut hit = None;
            for n in (1..=self.max_len.min(words.len() - i)).rev() {
                if let Some(t) = self.entries.get(&lower[i..i + n]) {
                    hit = Some((n, t));
                    break;
                }
            }
            match hit {
                Some((n, t)) => {
                    out[i] = format!("B-{t}");
                    for o in &mut out[i + 1..i + n] {
                        *o = format!("I-{t}");
                    }
                    i += n;
                }
                None => i += 1,
            }
        }
        out
    }
}

/// Projects IOB2 entities from a source sentence onto a parallel target sentence by
/// exact string match: each source entity's word sequence (lowercased, passed through
/// `translit` when given) is searched in the target words (lowercased); the first
/// untagged occurrence is tagged. Covers names written the same way on both sides
/// (Latin-script names in African-language news, numbers, many ORG acronyms); for
/// Sinhala/Tamil it needs a transliteration function. Entities with no match are lost.
pub fn project_entities(
    src_words: &[&str],
    src_tags: &[String],
    tgt_words: &[&str],
    translit: Option<&dyn Fn(&str) -> String>,
) -> Vec<String> {
    let tgt: Vec<String> = tgt_words.iter().map(|w| w.to_lowercase()).collect();
    let mut out = vec!["O".to_string(); tgt.len()];
    for e in entities(src_tags) {
        let key: Vec<String> = src_words[e.start..e.end]
            .iter()
            .map(|w| {
                let w = w.to_lowercase();
                match translit {
                    Some(f) => f(&w),
                    None => w,
                }
            })
            .collect();
        let n = key.len();
        if n == 0 || n > tgt.len() {
            continue;
        }
        for i in 0..=tgt.len() - n {
            if tgt[i..i + n] == key[..] && out[i..i + n].iter().all(|t| t == "O") {
                out[i] = format!("B-{}", e.label);
                for o in &mut out[i + 1..i + n] {
                    *o = format!("I-{}", e.label);
                }
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(words: &str, tags: &str) -> Sentence {
        let words: Vec<String> = words.split(' ').map(String::from).collect();
        let tags: Vec<String> = tags.split(' ').map(String::from).collect();
        Sentence {
            lines: vec![1; words.len()],
            words,
            tags,
        }
    }

    #[test]
    fn majority_tag_with_counts_and_ties() {
        let e = build_entries(&[s("run run run dog", "VERB NOUN VERB NOUN"), s("x x", "B A")]);
        assert_eq!(
            e[0],
            LexiconEntry {
                word: "dog".into(),
                tag: "NOUN".into(),
                count: 1,
                total: 1
            }
        );
        assert_eq!(
            e[1],
            LexiconEntry {
                word: "run".into(),
                tag: "VERB".into(),
                count: 2,
                total: 3
            }
        );
        assert_eq!(e[2].tag, "A"); // tie -> first tag
        let lex = Lexicon::parse(&entries_to_tsv(&e), "d.tsv").unwrap();
        assert_eq!(lex.lookup("Run"), Some("VERB"));
        assert_eq!(lex.lookup("cat"), None);
        assert_eq!(
            Lexicon::parse("a\tB\nbad\n", "d.tsv").unwrap_err(),
            "d.tsv:2: expected `word<TAB>tag`"
        );
    }

    #[test]
    fn lem_classes() {
        assert_eq!(lem_class("NNC"), Some("NOUN"));
        assert_eq!(lem_class("VFM"), Some("VERB"));
        assert_eq!(lem_class("ADJ"), None);
    }

    #[test]
    fn gazetteer_longest_match() {
        let mut g = GazetteerTagger::default();
        g.add("LOC", "Sri Lanka\nකොළඹ\n");
        g.add("PER", "Sri\n");
        let t = g.tag(&["Sri", "Lanka", "සහ", "කොළඹ", "sri"]);
        assert_eq!(t, ["B-LOC", "I-LOC", "O", "B-LOC", "B-PER"]);
        assert!(g.tag(&[]).is_empty());
    }

    #[test]
    fn projection_by_string_match() {
        let tags: Vec<String> = ["B-PER", "I-PER", "O", "O", "B-LOC"]
            .map(String::from)
            .to_vec();
        let out = project_entities(
            &["Nuhu", "Adam", "went", "to", "Abuja"],
            &tags,
            &["Nuhu", "Adam", "lọ", "sí", "Abuja"],
            None,
        );
        assert_eq!(out, ["B-PER", "I-PER", "O", "O", "B-LOC"]);
        let tr = |w: &str| {
            if w == "colombo" {
                "කොළඹ".to_string()
            } else {
                w.to_string()
            }
        };
        let out = project_entities(
            &["Colombo"],
            &["B-LOC".to_string()],
            &["කොළඹ", "නගරය"],
            Some(&tr),
        );
        assert_eq!(out, ["B-LOC", "O"]);
    }
}
