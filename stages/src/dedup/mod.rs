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
pub mod exact;
pub mod key;
pub mod minhash;
pub mod near;

#[cfg(test)]
pub(crate) mod test_util {
    use serde::de::DeserializeOwned;

    /// Parses the stage table `id` of a TOML example (the `//!` doc of a stage), without
    /// the engine keys `type` and `inputs`.
    pub fn parse_example<T: DeserializeOwned>(doc: &str, id: &str) -> T {
        let table: toml::Table = toml::from_str(doc).expect("example is TOML");
        let mut stage = table["stages"][id].as_table().expect("stage table").clone();
        stage.remove("type");
        stage.remove("inputs");
        toml::Value::Table(stage)
            .try_into()
            .expect("example matches the config struct")
    }

    /// The TOML inside the first ```toml fence of a module doc.
    pub fn toml_block(src: &str) -> String {
        let doc: Vec<&str> = src
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
            .collect();
        let start = doc
            .iter()
            .position(|l| l.starts_with("```toml"))
            .expect("toml fence")
            + 1;
        let end = start
            + doc[start..]
                .iter()
                .position(|l| l.starts_with("```"))
                .expect("closing fence");
        doc[start..end].join("\n")
    }

    /// Lines of a real corpus (Masakhane raw text), or `None` where the shared data is absent.
    pub fn corpus_lines(lang: &str) -> Option<Vec<String>> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/data/masakhane_raw_text/{lang}.txt"));
        let text = std::fs::read_to_string(p).ok()?;
        Some(text.lines().map(str::to_string).collect())
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
