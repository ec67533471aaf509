//! Text family: the shared segmentation ([`segment`]), the aligned normaliser
//! ([`normalize`]) and the sentence splitter ([`split_sentences`]).

pub mod align;
pub mod normalize;
pub mod segment;
pub mod split_sentences;

/// Test helper shared by the text and quality stage tests: the `//!` TOML example of a
/// stage file, parsed through the registry (as a config file would be) and validated.
#[cfg(test)]
pub(crate) fn check_doc_example(src: &str) -> mavuno_pipeline::config::Validator {
    let toml_src: String = src
        .lines()
        .skip_while(|l| !l.starts_with("//! ```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| l.trim_start_matches("//!").trim_start())
        .collect::<Vec<_>>()
        .join("\n");
    let doc: toml::Table = toml::from_str(&toml_src).unwrap_or_else(|e| panic!("example: {e}"));
    let stages = doc
        .get("stages")
        .and_then(|s| s.as_table())
        .unwrap_or_else(|| panic!("no [stages.x]"));
    let (_, table) = stages.iter().next().unwrap_or_else(|| panic!("no stage"));
    let mut table = table.as_table().cloned().unwrap_or_default();
    let ty = table
        .remove("type")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_default();
    table.remove("inputs");
    let reg = crate::registry();
    let entry = reg
        .get(&ty)
        .unwrap_or_else(|| panic!("type `{ty}` not registered"));
    let cfg = entry
        .parse(toml::Value::Table(table))
        .unwrap_or_else(|(f, e)| panic!("{ty}: {f}: {e}"));
    let mut v = mavuno_pipeline::config::Validator::default();
    cfg.validate(&mut v);
    assert!(v.errors.is_empty() && v.warnings.is_empty(), "{ty}: {v:?}");
    v
}
