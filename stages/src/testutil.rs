//! Test helpers shared by stage files: the stage's `//!` TOML example as its config.

/// Parses the first `[stages.<id>]` table of the ```` ```toml ```` block in a stage file's
/// `//!` docs (pass `include_str!` of the file) into the stage's config type, without the
/// engine-owned `type` and `inputs` keys. Panics with a clear message: it is for tests.
pub fn doc_example<T: serde::de::DeserializeOwned>(doc: &str) -> T {
    doc_stage(doc, None)
}

/// Like [`doc_example`], for the stage table `[stages.<id>]` of the example.
pub fn doc_example_of<T: serde::de::DeserializeOwned>(doc: &str, id: &str) -> T {
    doc_stage(doc, Some(id))
}

fn doc_stage<T: serde::de::DeserializeOwned>(doc: &str, id: Option<&str>) -> T {
    let text: String = doc
        .lines()
        .skip_while(|l| !l.contains("```toml"))
        .skip(1)
        .take_while(|l| !l.contains("```"))
        .map(|l| l.trim_start_matches("//! ").trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let t: toml::Table = toml::from_str(&text).expect("the doc example is valid TOML");
    let mut v = t["stages"]
        .as_table()
        .and_then(|s| match id {
            Some(id) => s.get(id),
            None => s.values().next(),
        })
        .and_then(|s| s.as_table())
        .expect("the doc example has a [stages.<id>] table")
        .clone();
    v.remove("type");
    v.remove("inputs");
    toml::Value::Table(v)
        .try_into()
        .expect("the doc example parses as the stage config")
}
