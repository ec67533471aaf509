//! Duplicate removal and decontamination.
//!
//! - [`exact`] (`dedup_exact`): drops records whose normalised text was seen before.
//! - [`near`] (`dedup_near`): MinHash + LSH near-duplicate removal, keep-first, streaming.
//! - [`decontaminate`] (`decontaminate`): drops training records that overlap evaluation text.
//!
//! The algorithms ([`key`], [`minhash`]) are usable without the engine; benchmarks call
//! [`minhash::minhash_signature`] and [`minhash::LshIndex`] directly.
//!
//! All three stages decide record by record in input order, so their output does not
//! depend on batch size or thread count (rayon only computes per-record hashes).

pub mod by_lang;
pub mod decontaminate;
pub mod dedup_exact;
pub mod dedup_near;
mod exact_global;
pub(crate) mod global;
pub mod key;
pub mod minhash;

#[cfg(test)]
pub(crate) mod test_util {
    /// Lines of a real corpus (Masakhane raw text), or `None` where the shared data is absent.
    /// The lines of `../shared/data/masakhane_raw_text/<lang>.txt`; panics (never skips)
    /// when the shared data is missing.
    pub fn corpus_lines(lang: &str) -> Vec<String> {
        let p = crate::read::test_util::shared_data(&format!("masakhane_raw_text/{lang}.txt"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        text.lines().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_documents_and_parses_the_stages() {
        let r = crate::registry();
        for (ty, field) in [
            ("dedup_exact", "normalize"),
            ("dedup_near", "bands"),
            ("decontaminate", "ngram"),
            ("stats", "path"),
        ] {
            let e = r.get(ty).unwrap_or_else(|| panic!("{ty} not registered"));
            let doc = e
                .fields()
                .into_iter()
                .find(|f| f.name == field)
                .unwrap_or_else(|| panic!("{ty}.{field}"));
            assert!(!doc.description.is_empty(), "{ty}.{field}");
        }
        let near: toml::Value = toml::from_str("shingle = \"word\"\nthreshold = 0.9").unwrap();
        let cfg = r.get("dedup_near").unwrap().parse(near).unwrap();
        assert_eq!(cfg.to_json()["bands"], 16);
        let bad: toml::Value = toml::from_str("treshold = 0.9").unwrap();
        assert!(r.get("dedup_near").unwrap().parse(bad).is_err());
    }
}
