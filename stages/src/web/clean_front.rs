//! What `mavuno clean` puts in front of a cleaning pipeline for web input, as a library
//! function so that the CLI only picks the reader type by the shared format rule
//! (`read::format`, which knows `.warc`/`.wet`).
//!
//! Given a pipeline whose reader stage (`raw`) has been set to a `warc_reader` or
//! `wet_reader`, [`put_web_front`] renames that reader to `web_pages` and inserts:
//! for WARC, `web_text` (`extract_html`) and then `raw` (`url_filter`, no lists: set
//! `--set stages.raw.deny_domains=FILE` etc. to filter); for WET, `raw` (`url_filter`)
//! straight after the reader. Downstream stages keep reading `raw`. In front of the
//! writer it inserts `sites` (`url_filter` without lists, writing the per-language site
//! report `stats/sites.tsv` of the text that was kept).

use toml::{Table, Value};

/// Stage ids the web front adds.
pub const PAGES_ID: &str = "web_pages";
/// The `extract_html` stage's id (WARC input only).
pub const TEXT_ID: &str = "web_text";
/// The site-report stage's id, in front of the writer.
pub const SITES_ID: &str = "sites";
/// Where the site report goes (under the run directory, next to the stats report).
pub const SITES_REPORT: &str = "stats/sites.tsv";

/// Rewrites `stages` as the module docs say. `reader_id` names the reader stage (already
/// a `warc_reader` or `wet_reader`), `writer_id` the writer.
pub fn put_web_front(stages: &mut Table, reader_id: &str, writer_id: &str) -> Result<(), String> {
    for id in [PAGES_ID, TEXT_ID, SITES_ID] {
        if stages.contains_key(id) {
            return Err(format!(
                "the config already has a stage `{id}`; web input needs that id for its own stage"
            ));
        }
    }
    let reader = stages
        .remove(reader_id)
        .ok_or_else(|| format!("no reader stage `{reader_id}`"))?;
    let ty = reader.get("type").and_then(Value::as_str).unwrap_or("");
    let extract = match ty {
        "warc_reader" => true,
        "wet_reader" => false,
        other => {
            return Err(format!(
                "stage `{reader_id}` is a `{other}`, not a WARC or WET reader"
            ))
        }
    };
    stages.insert(PAGES_ID.into(), reader);
    let mut upstream = PAGES_ID;
    if extract {
        stages.insert(TEXT_ID.into(), stage("extract_html", PAGES_ID));
        upstream = TEXT_ID;
    }
    stages.insert(reader_id.into(), stage("url_filter", upstream));

    let writer = stages
        .get_mut(writer_id)
        .and_then(Value::as_table_mut)
        .ok_or_else(|| format!("no writer stage `{writer_id}`"))?;
    let writer_inputs = writer
        .insert(
            "inputs".into(),
            Value::Array(vec![Value::String(SITES_ID.into())]),
        )
        .ok_or_else(|| format!("writer `{writer_id}` has no inputs"))?;
    let mut sites = Table::new();
    sites.insert("type".into(), Value::String("url_filter".into()));
    sites.insert("inputs".into(), writer_inputs);
    sites.insert("report".into(), Value::String(SITES_REPORT.into()));
    stages.insert(SITES_ID.into(), Value::Table(sites));
    Ok(())
}

/// A stage table of type `ty` reading `input`.
fn stage(ty: &str, input: &str) -> Value {
    let mut t = Table::new();
    t.insert("type".into(), Value::String(ty.into()));
    t.insert(
        "inputs".into(),
        Value::Array(vec![Value::String(input.into())]),
    );
    Value::Table(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = r#"
[stages.raw]
type = "warc_reader"
paths = ["a.warc.gz"]
lang = "yor"

[stages.norm]
type = "normalize"
inputs = ["raw"]

[stages.out]
type = "jsonl_writer"
inputs = ["norm"]
path = "out.jsonl"
"#;

    #[test]
    fn warc_front_validates_as_a_plan() {
        let mut t: Table = CLEAN.parse().unwrap();
        let st = t.get_mut("stages").and_then(Value::as_table_mut).unwrap();
        put_web_front(st, "raw", "out").unwrap();
        let text = toml::to_string(&t).unwrap();
        let plan = mavuno_pipeline::config::parse(
            &text,
            std::path::Path::new("clean.toml"),
            &[],
            &crate::registry(),
        )
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let order: Vec<(&str, &str)> = plan
            .stages
            .iter()
            .map(|s| (s.id.as_str(), s.config.type_name()))
            .collect();
        assert_eq!(
            order,
            [
                ("web_pages", "warc_reader"),
                ("web_text", "extract_html"),
                ("raw", "url_filter"),
                ("norm", "normalize"),
                ("sites", "url_filter"),
                ("out", "jsonl_writer")
            ]
        );
    }

    #[test]
    fn wet_front_and_errors() {
        let mut t: Table = CLEAN.replace("warc_reader", "wet_reader").parse().unwrap();
        let st = t.get_mut("stages").and_then(Value::as_table_mut).unwrap();
        put_web_front(st, "raw", "out").unwrap();
        assert!(!st.contains_key(TEXT_ID));
        assert_eq!(st["raw"]["inputs"][0].as_str(), Some(PAGES_ID));
        let mut t: Table = CLEAN.replace("warc_reader", "text_reader").parse().unwrap();
        let st = t.get_mut("stages").and_then(Value::as_table_mut).unwrap();
        assert_eq!(
            put_web_front(st, "raw", "out").unwrap_err(),
            "stage `raw` is a `text_reader`, not a WARC or WET reader"
        );
    }
}
