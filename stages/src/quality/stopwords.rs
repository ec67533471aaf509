//! Stopword lists: derivation from text and the committed per-language lists.
//!
//! The lists in `configs/stopwords/<lang>.txt` were produced by [`derive_stopwords`]
//! (top-k words by document frequency over the shared segmentation, lower-cased, no
//! digits or punctuation) with `top_k = 50` over the texts listed in each file's header,
//! by running the ignored test `derive_stopword_files`:
//!
//! ```text
//! cargo test -p mavuno-stages --release quality::stopwords -- --ignored
//! ```
//!
//! Only the word lists are committed, never the corpus text. They are embedded in the
//! binary so validation and runs need no file I/O.

use crate::text::segment::for_each_word;
use std::collections::{HashMap, HashSet};

/// The top-`top_k` words by document frequency (each text is one document), lower-cased,
/// excluding words with a digit and one-character words that are not letters. Ties are
/// broken by total frequency, then alphabetically, so the result is deterministic.
pub fn derive_stopwords<'a>(texts: impl IntoIterator<Item = &'a str>, top_k: usize) -> Vec<String> {
    let mut df: HashMap<String, (usize, usize)> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for t in texts {
        seen.clear();
        for_each_word(t, |s, e| {
            let w = &t[s..e];
            if w.chars().any(|c| c.is_numeric()) || !w.chars().any(char::is_alphabetic) {
                return;
            }
            let lw = w.to_lowercase();
            let entry = df.entry(lw.clone()).or_insert((0, 0));
            entry.1 += 1;
            if seen.insert(lw) {
                entry.0 += 1;
            }
        });
    }
    let mut v: Vec<(String, (usize, usize))> = df.into_iter().collect();
    v.sort_by(|a, b| {
        b.1 .0
            .cmp(&a.1 .0)
            .then(b.1 .1.cmp(&a.1 .1))
            .then(a.0.cmp(&b.0))
    });
    v.into_iter().take(top_k).map(|(w, _)| w).collect()
}

macro_rules! lists {
    ($($code:literal),*) => {
        /// The committed stopword list of a language (ISO 639-3), if any.
        pub fn stopword_list(lang: &str) -> Option<&'static str> {
            match lang {
                $($code => Some(include_str!(concat!("../../../configs/stopwords/", $code, ".txt"))),)*
                _ => None,
            }
        }
    };
}
crate::with_langs!(lists);

/// Parses a stopword file: one word per line, `#` comments.
pub fn parse_list(src: &str) -> Vec<String> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_is_by_document_frequency() {
        let docs = ["ni a lọ ni", "a ni 5", "ni ẹ", "Ni a, 2024"];
        assert_eq!(derive_stopwords(docs, 2), ["ni", "a"]);
        assert!(derive_stopwords(std::iter::empty(), 3).is_empty());
    }

    #[test]
    fn committed_lists_parse() {
        for &l in crate::langs::LANGS {
            let words = parse_list(stopword_list(l).unwrap_or_default());
            assert!(words.len() >= 20, "{l}: {}", words.len());
        }
    }

    fn read_texts(lang: &str) -> (Vec<String>, Vec<String>) {
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/");
        let ud = |p: &str| -> Vec<String> {
            std::fs::read_to_string(format!("{base}ud/{p}"))
                .map(|s| {
                    s.lines()
                        .filter_map(|l| l.strip_prefix("# text = "))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let lines = |p: &str| -> Vec<String> {
            std::fs::read_to_string(format!("{base}{p}"))
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default()
        };
        // A split of a MasakhaNEWS language. xho lug som were added with train and dev only;
        // their dev splits are held out for LID and cleaning, so their lists come from train.
        let news_split = |l: &str, split: &str| -> Vec<String> {
            std::fs::read_to_string(format!("{base}masakhanews/{l}/{split}.tsv"))
                .map(|s| {
                    s.lines()
                        .skip(1)
                        .filter_map(|r| r.split('\t').nth(2))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let news = |l: &str| news_split(l, "dev");
        let mut srcs: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut add = |name: String, t: Vec<String>| {
            if !t.is_empty() && !name.is_empty() {
                srcs.push(format!("{name} ({} texts)", t.len()));
            }
            if !t.is_empty() {
                texts.extend(t);
            }
        };
        match lang {
            "sin" => add(
                "ud/UD_Sinhala-STB".into(),
                ud("UD_Sinhala-STB/si_stb-ud-test.conllu"),
            ),
            "tam" => {
                // Not UD_Tamil-MWTT: one short story, its protagonist's name tops the list.
                add(
                    "ud/UD_Tamil-TTB train".into(),
                    ud("UD_Tamil-TTB/ta_ttb-ud-train.conllu"),
                );
                add("dev".into(), ud("UD_Tamil-TTB/ta_ttb-ud-dev.conllu"));
                add("test".into(), ud("UD_Tamil-TTB/ta_ttb-ud-test.conllu"));
            }
            "eng" => {
                add(
                    "ud/UD_English-EWT".into(),
                    ud("UD_English-EWT/en_ewt-ud-test.conllu"),
                );
                add("masakhanews/eng dev".into(), news("eng"));
            }
            "wol" => {
                add(
                    "masakhane_raw_text/wol.txt".into(),
                    lines("masakhane_raw_text/wol.txt"),
                );
            }
            "ibo" => {
                add("masakhanews/ibo dev".into(), news("ibo"));
                add("mafand_mt/en-ibo".into(), lines("mafand_mt/en-ibo/dev.ibo"));
            }
            // Train splits only (the dev splits are held out for LID and cleaning).
            "zul" => add(
                "mafand_mt/en-zul train".into(),
                lines("mafand_mt/en-zul/train.zul"),
            ),
            "lug" => {
                add(
                    "mafand_mt/en-lug train".into(),
                    lines("mafand_mt/en-lug/train.lug"),
                );
                add("masakhanews/lug train".into(), news_split("lug", "train"));
            }
            "xho" | "som" => add(
                format!("masakhanews/{lang} train"),
                news_split(lang, "train"),
            ),
            "kin" => {
                // Tweets: `@user` handles and links are not words of the language.
                let tweets = lines("afrisenti/kin/train.tsv")
                    .iter()
                    .skip(1)
                    .filter_map(|r| r.split('\t').next())
                    .map(|t| {
                        t.split_whitespace()
                            .filter(|w| !w.starts_with('@') && !w.starts_with("http"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                add("afrisenti/kin train".into(), tweets);
            }
            l => {
                add(
                    format!("masakhane_raw_text/{l}.txt"),
                    lines(&format!("masakhane_raw_text/{l}.txt")),
                );
                add(format!("masakhanews/{l} dev"), news(l));
            }
        }
        (srcs, texts)
    }

    #[test]
    #[ignore = "writes configs/stopwords/*.txt from ../shared/data"]
    fn derive_stopword_files() {
        let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/stopwords/");
        std::fs::create_dir_all(out).unwrap();
        for &l in crate::langs::LANGS {
            let (srcs, texts) = read_texts(l);
            if texts.is_empty() {
                eprintln!("{l}: no data");
                continue;
            }
            let words = derive_stopwords(texts.iter().map(String::as_str), 50);
            let mut f = format!(
                "# Stopwords for {l}: top 50 words by document frequency, derived by\n# mavuno_stages::quality::stopwords::derive_stopwords over the shared segmentation.\n# Command: cargo test -p mavuno-stages --release quality::stopwords -- --ignored\n# Sources (../shared/data): {}\n",
                srcs.join("; ")
            );
            for w in words {
                f.push_str(&w);
                f.push('\n');
            }
            std::fs::write(format!("{out}{l}.txt"), f).unwrap();
        }
    }
}
