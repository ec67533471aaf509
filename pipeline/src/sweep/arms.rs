//! Named arms for `mavuno sweep --arms FILE`: arms that differ in several keys at once
//! (CLIMB's curricula each set their own options), which `--vary` axes cannot express.
//!
//! The file is TOML, one table per arm; the table's keys are config keys, dotted or
//! nested, and its values are what `--set` would give them. An empty table is the config
//! as it stands (a baseline):
//!
//! ```toml
//! [baseline]
//!
//! [vocab.stages.train]
//! vocab_curriculum = "token_ids"
//!
//! [data]
//! "stages.train.difficulty" = "unigram"
//! "stages.train.pacing" = "linear"
//! ```
//!
//! Arms come in the file's key order as the `toml` crate reads it (sorted by name), so the
//! default reference arm is the first name; `--reference` picks another.

use super::grid::GridError;

/// Named arms: `(name, [(dotted key, TOML literal)])`.
pub type NamedArms = Vec<(String, Vec<(String, String)>)>;

/// Parses an arms file's text; `origin` names it in errors.
pub fn parse_arms(text: &str, origin: &str) -> Result<NamedArms, GridError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| GridError(format!("{origin}: {e}")))?;
    if table.is_empty() {
        return Err(GridError(format!("{origin}: no arms (one table per arm)")));
    }
    let mut arms = Vec::new();
    for (name, v) in table {
        let toml::Value::Table(t) = v else {
            return Err(GridError(format!(
                "{origin}: `{name}` must be a table of config keys (one table per arm)"
            )));
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(GridError(format!(
                "{origin}: arm name {name:?} must be one word"
            )));
        }
        let mut settings = Vec::new();
        flatten("", &t, &mut settings);
        if settings.iter().any(|(k, _)| k == "run.seed") {
            return Err(GridError(format!(
                "{origin}: arm `{name}` sets run.seed; seeds are given with --seeds"
            )));
        }
        arms.push((name, settings));
    }
    Ok(arms)
}

/// Nested tables become dotted keys; any other value is a leaf written as a TOML literal.
/// A key of a table that already contains dots (`"stages.train.x"`) is taken as dotted.
fn flatten(prefix: &str, t: &toml::Table, out: &mut Vec<(String, String)>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            // Tables under `stages.<id>` that a stage reads as one value (e.g. an inline
            // `masking = { … }`) stay whole when written inline; a nested header splits.
            toml::Value::Table(inner) if key.split('.').count() < 3 => flatten(&key, inner, out),
            other => out.push((key, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_dotted_keys_give_the_same_settings() {
        let a = parse_arms(
            "[baseline]\n[vocab.stages.train]\nvocab_curriculum = \"token_ids\"\n\
             [data]\n\"stages.train.pacing\" = \"linear\"\n\"stages.train.steps\" = 10\n",
            "arms.toml",
        )
        .unwrap();
        assert_eq!(
            a,
            vec![
                ("baseline".to_string(), vec![]),
                (
                    "data".to_string(),
                    vec![
                        ("stages.train.pacing".into(), "\"linear\"".into()),
                        ("stages.train.steps".into(), "10".into()),
                    ]
                ),
                (
                    "vocab".to_string(),
                    vec![(
                        "stages.train.vocab_curriculum".into(),
                        "\"token_ids\"".into()
                    )]
                ),
            ]
        );
    }

    #[test]
    fn inline_tables_under_a_stage_stay_one_value() {
        let a = parse_arms(
            "[lem.stages.train]\nmasking = { strategy = \"lem\", p_ne = 1.0 }\n",
            "arms.toml",
        )
        .unwrap();
        assert_eq!(a[0].1.len(), 1);
        assert_eq!(a[0].1[0].0, "stages.train.masking");
        assert!(a[0].1[0].1.starts_with('{'), "{:?}", a[0].1[0].1);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = parse_arms("x = 1\n", "arms.toml").unwrap_err();
        assert!(e.0.contains("`x` must be a table"), "{e}");
        let e = parse_arms("", "arms.toml").unwrap_err();
        assert!(e.0.contains("no arms"), "{e}");
        let e = parse_arms("[a.run]\nseed = 3\n", "arms.toml").unwrap_err();
        assert!(e.0.contains("run.seed"), "{e}");
        let e = parse_arms("[a\n", "arms.toml").unwrap_err();
        assert!(e.0.starts_with("arms.toml:"), "{e}");
    }
}
