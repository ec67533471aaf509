//! Allow and deny lists for URLs: domains (a listed domain covers its subdomains) and
//! regular-expression patterns over the whole URL, loaded from user files.
//!
//! File format: one entry per line; blank lines and lines starting with `#` are
//! ignored. A domain line may be written as `example.org`, `*.example.org`, `.example.org`
//! or a URL (`https://example.org/…`: its host is taken). A pattern line is a regex
//! (`regex` crate syntax), e.g. `/(tag|category)/` or `^https?://[^/]+/forum/`.

use regex::RegexSet;
use std::path::Path;

/// A set of domains; `matches(host)` is true for a listed domain and its subdomains.
#[derive(Debug, Default, Clone)]
pub struct DomainSet {
    domains: std::collections::HashSet<String>,
}

impl DomainSet {
    /// Parses a domain list; errors name the line.
    pub fn parse(text: &str) -> Result<DomainSet, String> {
        let mut domains = std::collections::HashSet::new();
        for (i, line) in entries(text) {
            let d = normalize_domain(line)
                .ok_or_else(|| format!("line {i}: `{line}` is not a domain"))?;
            domains.insert(d);
        }
        Ok(DomainSet { domains })
    }

    /// Whether `host` (lower case) or one of its parent domains is listed.
    pub fn matches(&self, host: &str) -> bool {
        let mut h = host;
        loop {
            if self.domains.contains(h) {
                return true;
            }
            match h.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => h = parent,
                _ => return false,
            }
        }
    }

    /// Number of domains.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

/// URL patterns; `matches(url)` is true if any regex matches.
#[derive(Debug, Clone)]
pub struct Patterns {
    set: RegexSet,
}

impl Patterns {
    /// Parses a pattern list; errors name the line.
    pub fn parse(text: &str) -> Result<Patterns, String> {
        let mut pats = Vec::new();
        for (i, line) in entries(text) {
            regex::Regex::new(line).map_err(|e| format!("line {i}: bad pattern: {e}"))?;
            pats.push(line.to_string());
        }
        let set = RegexSet::new(&pats).map_err(|e| format!("patterns: {e}"))?;
        Ok(Patterns { set })
    }

    /// Whether any pattern matches `url`.
    pub fn matches(&self, url: &str) -> bool {
        self.set.is_match(url)
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Reads a list file and parses it with `parse`; errors name the file and line.
pub fn load<T>(path: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, String> {
    let text = std::fs::read_to_string(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    parse(&text).map_err(|e| format!("{path}: {e}"))
}

/// The non-comment, non-blank lines with their 1-based numbers, trimmed.
fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// A list entry as a bare lower-case domain.
fn normalize_domain(entry: &str) -> Option<String> {
    let e = entry.trim();
    let host = if e.contains("://") {
        url::Url::parse(e).ok()?.host_str()?.to_string()
    } else {
        e.trim_start_matches("*.")
            .trim_start_matches('.')
            .to_string()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    ok.then_some(host)
}

/// The host of a URL, lower case, without a leading `www.` (the site, as reports name
/// it); `None` if the URL does not parse or has no host.
pub fn site_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    let h = u.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    Some(h.strip_prefix("www.").map(str::to_string).unwrap_or(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_cover_subdomains_only_at_label_boundaries() {
        let d =
            DomainSet::parse("# religious sites\nbible.com\n*.jw.org\n\nhttps://Example.ORG/x\n")
                .unwrap();
        assert_eq!(d.len(), 3);
        assert!(d.matches("bible.com") && d.matches("www.bible.com") && d.matches("wol.jw.org"));
        assert!(d.matches("example.org"));
        assert!(!d.matches("notbible.com") && !d.matches("bible.com.ng") && !d.matches("org"));
        assert_eq!(
            DomainSet::parse("ok.com\nnot a domain\n").unwrap_err(),
            "line 2: `not a domain` is not a domain"
        );
    }

    #[test]
    fn patterns_and_sites() {
        let p = Patterns::parse("/(tag|category)/\n^https?://[^/]+/forum/\n").unwrap();
        assert!(p.matches("https://a.ng/tag/x") && p.matches("http://b.lk/forum/1"));
        assert!(!p.matches("https://a.ng/news/forum/1"));
        assert!(Patterns::parse("(unclosed")
            .unwrap_err()
            .starts_with("line 1: bad pattern"));
        assert_eq!(
            site_of("https://WWW.BBC.com/yoruba/x").as_deref(),
            Some("bbc.com")
        );
        assert_eq!(
            site_of("http://www.bbc.co.uk.").as_deref(),
            Some("bbc.co.uk")
        );
        assert_eq!(site_of("not a url"), None);
    }
}
