//! The languages mavuno ships defaults for (filter thresholds in `configs/filters/`,
//! stopword lists in `configs/stopwords/`, religious book names): listed here once.
//!
//! Per-language files are embedded with `include_str!`, which needs literal paths, so the
//! list is a macro that hands the codes to another macro ([`with_langs!`]); [`LANGS`] is
//! the same list as a constant. Adding a language means adding its code here and its files.

/// Calls `$m!` with every shipped language code (ISO 639-3), as string literals.
#[macro_export]
macro_rules! with_langs {
    ($m:ident) => {
        $m!(
            "yor", "hau", "ibo", "swa", "amh", "zul", "xho", "som", "wol", "kin", "lug", "pcm",
            "sin", "tam", "eng"
        );
    };
}

macro_rules! langs_const {
    ($($code:literal),*) => {
        /// Every shipped language code (ISO 639-3), in the order of [`with_langs!`].
        pub const LANGS: &[&str] = &[$($code),*];
    };
}
with_langs!(langs_const);

#[cfg(test)]
mod tests {
    use super::LANGS;

    #[test]
    fn every_shipped_language_has_its_filter_and_stopword_files() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs");
        assert_eq!(LANGS.len(), 15);
        for l in LANGS {
            for f in [format!("filters/{l}.toml"), format!("stopwords/{l}.txt")] {
                assert!(
                    std::path::Path::new(root).join(&f).is_file(),
                    "{l}: configs/{f} missing"
                );
            }
        }
    }
}
