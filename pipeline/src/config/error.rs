//! Config errors: every one names the file, the key path and (where the key is written
//! in the file) the line, so the message points at the place to fix.

use std::fmt;

/// One problem in a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file (or `--set` for command-line overrides).
    pub file: String,
    /// 1-based line of the key in the file, when found.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `stages.lid.min_confidence`; empty for whole-file errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: ", self.file, l)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// A `did you mean "x"?` suffix for an unknown name, or an empty string.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(name, c);
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(2);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    match best {
        Some((_, c)) => format!(", did you mean \"{c}\"?"),
        None => String::new(),
    }
}

/// Finds the 1-based line where a dotted key is written: `stages.lid` is the line of the
/// `[stages.lid]` header, `stages.lid.min_confidence` the line of `min_confidence = …`
/// inside that table. Good enough for hand-written configs; inline tables are not searched.
pub fn locate(text: &str, key: &str) -> Option<usize> {
    let parts: Vec<&str> = key.split('.').collect();
    // Try the longest table prefix that has a header, then look for the rest as a key.
    for split in (1..=parts.len()).rev() {
        let table = parts[..split].join(".");
        let rest = &parts[split..];
        let mut in_table = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                let name: String = t
                    .trim_matches(|c| c == '[' || c == ']')
                    .split('#')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .replace(['"', ' '], "");
                let name = name.trim_end_matches(']').to_string();
                if in_table && !rest.is_empty() {
                    break;
                }
                in_table = name == table;
                if in_table && rest.is_empty() {
                    return Some(i + 1);
                }
                continue;
            }
            if in_table {
                if let Some(first) = rest.first() {
                    if let Some((k, _)) = t.split_once('=') {
                        if k.trim().trim_matches('"') == *first {
                            return Some(i + 1);
                        }
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            suggest("langi", ["langid", "filter"]),
            ", did you mean \"langid\"?"
        );
        assert_eq!(suggest("zzzzzz", ["langid", "filter"]), "");
    }

    #[test]
    fn locates_headers_and_keys() {
        let text = "[run]\nname = \"x\"\n\n[stages.lid]\ntype = \"langid\"\nmin_confidence = 1.5\n";
        assert_eq!(locate(text, "stages.lid"), Some(4));
        assert_eq!(locate(text, "stages.lid.min_confidence"), Some(6));
        assert_eq!(locate(text, "run.name"), Some(2));
        assert_eq!(locate(text, "stages.lid.nope"), None);
    }
}
