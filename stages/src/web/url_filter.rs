//! `url_filter`: keeps or drops records by their URL, and reports which sites the text of
//! each language comes from.
//!
//! Lists are user files ([`super::url_rules`] has the format): `allow_domains` (if set,
//! only these domains and their subdomains pass), `deny_domains`, `allow_patterns` (if
//! set, a URL must match one), `deny_patterns` (regexes over the whole URL). Drop reasons,
//! checked in this order: `domain_denied`, `url_pattern_denied`, `domain_not_allowed`,
//! `url_not_allowed`. A record whose `field` is missing, not a string or not a URL with a
//! host is rejected.
//!
//! The site report: for every kept record, its site (the URL's host without `www.`) and
//! language (`lang`, `und` if unset) are counted, records and characters. Placed after
//! langid and the filters (with no lists, it only counts), it shows where the kept text
//! of each language comes from: a corpus that is half one Bible site, or one news site,
//! is visible at a glance. Written at the end to `report` (TSV under the run directory:
//! `lang site records chars share`, largest first per language); counters per language:
//! `sites_<lang>_total` (distinct sites), `chars_<lang>_total` and
//! `top_site_chars_<lang>_total` (the largest site's characters). Memory: one entry per
//! distinct (language, site) pair.
//!
//! ```toml
//! [stages.urls]
//! type = "url_filter"
//! inputs = ["main_text"]
//! deny_domains = "configs/examples/deny_domains.txt"
//! deny_patterns = "configs/examples/deny_url_patterns.txt"
//! report = "stats/sites.tsv"
//! ```

use super::url_rules::{load, site_of, DomainSet, Patterns};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::write_atomic;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Keeps or drops records by URL (domain and pattern lists) and reports sites per language.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct UrlFilterConfig {
    /// The string field that holds the URL.
    #[serde(default = "default_field")]
    pub field: String,
    /// File of domains to keep (with their subdomains); unset: every domain.
    #[serde(default)]
    pub allow_domains: Option<String>,
    /// File of domains to drop (with their subdomains).
    #[serde(default)]
    pub deny_domains: Option<String>,
    /// File of URL regexes; if set, a URL must match one to be kept.
    #[serde(default)]
    pub allow_patterns: Option<String>,
    /// File of URL regexes; a URL that matches one is dropped.
    #[serde(default)]
    pub deny_patterns: Option<String>,
    /// Where to write the per-language site report (TSV, relative to the run directory);
    /// unset: counters only.
    #[serde(default)]
    pub report: Option<String>,
}

fn default_field() -> String {
    "url".into()
}

impl StageConfig for UrlFilterConfig {
    const TYPE: &'static str = "url_filter";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.field.is_empty() {
            v.error("field", "must not be empty");
        }
        for (name, f) in self.lists() {
            if f.is_some_and(|p| p.trim().is_empty()) {
                v.error(name, "must name a file");
            }
        }
        if self.report.as_deref().is_some_and(|r| r.trim().is_empty()) {
            v.error("report", "must name a file");
        }
    }

    fn input_files(&self) -> Vec<String> {
        self.lists().filter_map(|(_, f)| f.cloned()).collect()
    }

    fn build(&self, ctx: &BuildContext) -> Result<StageImpl, StageError> {
        let domains = |f: &Option<String>| {
            f.as_deref()
                .map(|p| load(p, DomainSet::parse))
                .transpose()
                .map_err(StageError::msg)
        };
        let patterns = |f: &Option<String>| {
            f.as_deref()
                .map(|p| load(p, Patterns::parse))
                .transpose()
                .map_err(StageError::msg)
        };
        Ok(StageImpl::Stage(Box::new(UrlFilter {
            cfg: self.clone(),
            allow_domains: domains(&self.allow_domains)?,
            deny_domains: domains(&self.deny_domains)?,
            allow_patterns: patterns(&self.allow_patterns)?,
            deny_patterns: patterns(&self.deny_patterns)?,
            report: self.report.as_deref().map(|r| ctx.output_path(r)),
            sites: HashMap::new(),
            written: Vec::new(),
        })))
    }
}

impl UrlFilterConfig {
    fn lists(&self) -> impl Iterator<Item = (&'static str, Option<&String>)> {
        [
            ("allow_domains", self.allow_domains.as_ref()),
            ("deny_domains", self.deny_domains.as_ref()),
            ("allow_patterns", self.allow_patterns.as_ref()),
            ("deny_patterns", self.deny_patterns.as_ref()),
        ]
        .into_iter()
    }
}

/// Records and characters kept from one site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SiteCount {
    records: u64,
    chars: u64,
}

/// The runtime stage.
pub struct UrlFilter {
    cfg: UrlFilterConfig,
    allow_domains: Option<DomainSet>,
    deny_domains: Option<DomainSet>,
    allow_patterns: Option<Patterns>,
    deny_patterns: Option<Patterns>,
    report: Option<PathBuf>,
    /// (language, site) → counts of kept records.
    sites: HashMap<(String, String), SiteCount>,
    written: Vec<PathBuf>,
}

impl UrlFilter {
    /// The drop reason for a URL of `site`, or `None` to keep it.
    fn verdict(&self, url: &str, site: &str) -> Option<&'static str> {
        if self.deny_domains.as_ref().is_some_and(|d| d.matches(site)) {
            return Some("domain_denied");
        }
        if self.deny_patterns.as_ref().is_some_and(|p| p.matches(url)) {
            return Some("url_pattern_denied");
        }
        if self
            .allow_domains
            .as_ref()
            .is_some_and(|d| !d.matches(site))
        {
            return Some("domain_not_allowed");
        }
        if self
            .allow_patterns
            .as_ref()
            .is_some_and(|p| !p.matches(url))
        {
            return Some("url_not_allowed");
        }
        None
    }

    fn count(&mut self, rec: &Record, site: String) {
        let lang = rec.lang.clone().unwrap_or_else(|| "und".into());
        let c = self.sites.entry((lang, site)).or_default();
        c.records += 1;
        c.chars += rec.text.chars().count() as u64;
    }

    /// Per language: sites sorted by characters (then records, then name), largest first.
    fn by_lang(&self) -> BTreeMap<&str, Vec<(&str, SiteCount)>> {
        let mut m: BTreeMap<&str, Vec<(&str, SiteCount)>> = BTreeMap::new();
        for ((lang, site), c) in &self.sites {
            m.entry(lang).or_default().push((site, *c));
        }
        for v in m.values_mut() {
            v.sort_by(|a, b| (b.1.chars, b.1.records, a.0).cmp(&(a.1.chars, a.1.records, b.0)));
        }
        m
    }
}

impl Stage for UrlFilter {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for rec in batch {
            let Some(url) = rec.str_field(&self.cfg.field) else {
                let msg = format!("field `{}` is missing or not a string", self.cfg.field);
                out.reject(rec, msg);
                continue;
            };
            let Some(site) = site_of(url) else {
                let msg = format!(
                    "field `{}`: `{url}` is not a URL with a host",
                    self.cfg.field
                );
                out.reject(rec, msg);
                continue;
            };
            match self.verdict(url, &site) {
                Some(why) => out.drop(rec, why),
                None => {
                    self.count(&rec, site);
                    out.keep(rec);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), StageError> {
        let by_lang = self.by_lang();
        let mut tsv = String::from("lang\tsite\trecords\tchars\tshare\n");
        for (lang, sites) in &by_lang {
            let total: u64 = sites.iter().map(|(_, c)| c.chars).sum();
            out.counter(&format!("sites_{lang}_total"), sites.len() as u64);
            out.counter(&format!("chars_{lang}_total"), total);
            out.counter(
                &format!("top_site_chars_{lang}_total"),
                sites.first().map_or(0, |(_, c)| c.chars),
            );
            for (site, c) in sites {
                let share = c.chars as f64 / total.max(1) as f64;
                tsv.push_str(&format!(
                    "{lang}\t{site}\t{}\t{}\t{share:.4}\n",
                    c.records, c.chars
                ));
            }
        }
        if let Some(p) = &self.report {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StageError::io(dir, e))?;
            }
            write_atomic(p, tsv.as_bytes())?;
            self.written = vec![p.clone()];
        }
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::write;
    use crate::testutil::doc_example_of;

    fn rec(id: &str, url: &str, lang: &str, text: &str) -> Record {
        let mut r = Record::new(id, text);
        r.set("url", url);
        r.lang = Some(lang.into());
        r
    }

    #[test]
    fn example_parses_and_validates() {
        let cfg: UrlFilterConfig = doc_example_of(include_str!("url_filter.rs"), "urls");
        let mut v = Validator::default();
        cfg.validate(&mut v);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(cfg.input_files().len(), 2);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for f in cfg.input_files() {
            let p = root.join(&f);
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
            let ok = if f.contains("domains") {
                DomainSet::parse(&text).map(|d| d.len())
            } else {
                Patterns::parse(&text).map(|p| p.len())
            };
            assert!(ok.unwrap() > 0, "{f}");
        }
    }

    #[test]
    fn lists_drop_with_reasons_and_the_report_counts_kept_text_per_language() {
        let dir = tempfile::tempdir().unwrap();
        let deny = write(dir.path(), "deny.txt", b"# religious\nbible.com\n");
        let pats = write(dir.path(), "pats.txt", b"/tag/\n");
        let allow = write(
            dir.path(),
            "allow.txt",
            b"bbc.com\nbible.com\nalaroye.org\n",
        );
        let cfg = UrlFilterConfig {
            field: "url".into(),
            allow_domains: Some(allow.display().to_string()),
            deny_domains: Some(deny.display().to_string()),
            deny_patterns: Some(pats.display().to_string()),
            report: Some("stats/sites.tsv".into()),
            ..Default::default()
        };
        let ctx = BuildContext::for_tests(dir.path());
        let StageImpl::Stage(mut s) = cfg.build(&ctx).unwrap() else {
            panic!()
        };
        let mut no_url = Record::new("n", "x");
        no_url.lang = Some("yor".into());
        let batch = vec![
            rec("1", "https://www.bbc.com/yoruba/a", "yor", "Ẹ kú àárọ̀ o"),
            rec("2", "https://bbc.com/yoruba/b", "yor", "abc"),
            rec("3", "https://alaroye.org/x", "yor", "àbd"),
            rec("4", "https://www.bible.com/yo/1", "yor", "x"),
            rec("5", "https://bbc.com/tag/yoruba", "yor", "x"),
            rec("6", "https://example.com/", "yor", "x"),
            rec("7", "https://bbc.com/swahili/a", "swa", "habari"),
            rec("8", "not a url", "yor", "x"),
            no_url,
        ];
        let mut out = Emitter::collecting(4);
        s.process(batch, &mut out).unwrap();
        s.finish(&mut out).unwrap();
        let c = out.counts().clone();
        let kept: Vec<String> = out.take_collected().into_iter().map(|r| r.id).collect();
        assert_eq!(kept, ["1", "2", "3", "7"]);
        assert_eq!(c.dropped["domain_denied"], 1);
        assert_eq!(c.dropped["url_pattern_denied"], 1);
        assert_eq!(c.dropped["domain_not_allowed"], 1);
        assert_eq!(c.rejected, 2);
        assert_eq!(c.counters["sites_yor_total"], 2);
        assert_eq!(c.counters["chars_yor_total"], 18);
        assert_eq!(c.counters["top_site_chars_yor_total"], 15);
        let tsv = std::fs::read_to_string(dir.path().join("stats/sites.tsv")).unwrap();
        assert_eq!(
            tsv,
            "lang\tsite\trecords\tchars\tshare\n\
             swa\tbbc.com\t1\t6\t1.0000\n\
             yor\tbbc.com\t2\t15\t0.8333\n\
             yor\talaroye.org\t1\t3\t0.1667\n"
        );
        assert_eq!(s.outputs().len(), 1);
    }

    #[test]
    fn a_bad_list_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.txt", b"ok.com\nnot ok\n");
        let cfg = UrlFilterConfig {
            field: "url".into(),
            deny_domains: Some(bad.display().to_string()),
            ..Default::default()
        };
        let Err(e) = cfg.build(&BuildContext::for_tests(dir.path())) else {
            panic!("expected an error")
        };
        assert!(
            e.to_string()
                .ends_with("bad.txt: line 2: `not ok` is not a domain"),
            "{e}"
        );
    }
}
