//! `redact_pii`: replaces e-mail addresses, phone numbers, URLs and IP addresses with
//! `<EMAIL>`, `<PHONE>`, `<URL>`, `<IP>`. Spans and token offsets are remapped through
//! the shared alignment ([`crate::text::align`]); a span that covered PII now covers its
//! placeholder. Counters: `pii_email_total`, `pii_phone_total`, `pii_url_total`,
//! `pii_ip_total`, `pii_records_total`.
//!
//! Phones: international numbers for the target countries and others (`+234`, `+254`,
//! `+255`, `+256`, `+250`, `+27`, `+251`, `+252`, `+221`, `+233`, `+94`, `+91`, `+44`, `+1`,
//! any `+CC` followed by 7–12 digits in groups), and local mobile formats: Nigerian
//! `080x/081x/070x/090x/091x xxx xxxx`, Kenyan `07xx xxx xxx` / `01xx xxx xxx`, Sri Lankan
//! `07x xxx xxxx`, South African `0[6-8]x xxx xxxx`.
//!
//! ```toml
//! [stages.pii]
//! type = "redact_pii"
//! inputs = ["quality"]
//! kinds = ["email", "phone", "url", "ip"]
//! ```

use crate::text::align::{apply_to_record, Aligned};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Record, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use rayon::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum PiiKind {
    /// E-mail addresses → `<EMAIL>`.
    Email,
    /// Phone numbers → `<PHONE>`.
    Phone,
    /// URLs → `<URL>`.
    Url,
    /// IPv4 and IPv6 addresses → `<IP>`.
    Ip,
}

const ALL: [PiiKind; 4] = [PiiKind::Email, PiiKind::Phone, PiiKind::Url, PiiKind::Ip];

fn all_kinds() -> Vec<PiiKind> {
    ALL.to_vec()
}

impl PiiKind {
    fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "<EMAIL>",
            PiiKind::Phone => "<PHONE>",
            PiiKind::Url => "<URL>",
            PiiKind::Ip => "<IP>",
        }
    }

    fn counter(self) -> &'static str {
        match self {
            PiiKind::Email => "pii_email_total",
            PiiKind::Phone => "pii_phone_total",
            PiiKind::Url => "pii_url_total",
            PiiKind::Ip => "pii_ip_total",
        }
    }
}

/// Redacts personal data.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct RedactPiiConfig {
    /// Which kinds to redact: `email`, `phone`, `url`, `ip` (default all).
    #[serde(default = "all_kinds")]
    pub kinds: Vec<PiiKind>,
}

impl StageConfig for RedactPiiConfig {
    const TYPE: &'static str = "redact_pii";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        v.non_empty("kinds", &self.kinds);
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(RedactPii {
            kinds: self.kinds.clone(),
        })))
    }
}

/// One pattern with a named group per kind; leftmost-first alternation order settles
/// overlaps (an e-mail's domain is not also a URL, an IP is not also a phone).
static PII: LazyLock<Regex> = LazyLock::new(|| {
    let email = r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})";
    let url = r#"(?P<url>(?i:https?://|www\.)[^\s<>"]*[^\s<>".,;:!?)\]'’”])"#;
    let ip6 = r"(?P<ip6>\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?\b|::1\b)";
    let ip4 = r"(?P<ip4>\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b)";
    let intl = r"\+\d{1,3}[\s.-]?\(?0?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}";
    let local = r"\b0(?:[789][01]\d[\s.-]?\d{3}[\s.-]?\d{4}|7\d{2}[\s.-]?\d{3}[\s.-]?\d{3,4}|7\d[\s.-]?\d{3}[\s.-]?\d{4}|1\d{2}[\s.-]?\d{3}[\s.-]?\d{3}|[68]\d[\s.-]?\d{3}[\s.-]?\d{4})\b";
    let phone = format!(r"(?P<phone>{intl}|{local})");
    Regex::new(&format!("{email}|{url}|{ip6}|{ip4}|{phone}"))
        .unwrap_or_else(|e| panic!("pii pattern: {e}"))
});

/// PII matches in `text`: (start, end, kind), in order, restricted to `kinds`.
pub fn find_pii(text: &str, kinds: &[PiiKind]) -> Vec<(usize, usize, PiiKind)> {
    let mut out = Vec::new();
    if !text
        .bytes()
        .any(|b| b.is_ascii_digit() || b == b'@' || b == b':' || b == b'.')
    {
        return out;
    }
    for c in PII.captures_iter(text) {
        let (m, kind) = if let Some(m) = c.name("email") {
            (m, PiiKind::Email)
        } else if let Some(m) = c.name("url") {
            (m, PiiKind::Url)
        } else if let Some(m) = c.name("ip6").or_else(|| c.name("ip4")) {
            (m, PiiKind::Ip)
        } else if let Some(m) = c.name("phone") {
            // At least 9 digits: shorter runs are prices, years, scores.
            if m.as_str().bytes().filter(u8::is_ascii_digit).count() < 9 {
                continue;
            }
            (m, PiiKind::Phone)
        } else {
            continue;
        };
        if kinds.contains(&kind) {
            out.push((m.start(), m.end(), kind));
        }
    }
    out
}

/// Redacts `text` with alignment; returns the per-kind counts in [`ALL`] order.
pub fn redact_aligned(text: &str, kinds: &[PiiKind]) -> (Aligned, [u64; 4]) {
    let mut a = Aligned::new(text.to_string());
    let mut counts = [0u64; 4];
    let found = find_pii(text, kinds);
    if found.is_empty() {
        return (a, counts);
    }
    a.pass(|t, w| {
        let mut last = 0;
        for &(s, e, k) in &found {
            w.copy(&t[last..s], last);
            w.replace(k.placeholder(), s);
            last = e;
            counts[ALL.iter().position(|x| *x == k).unwrap_or(0)] += 1;
        }
        w.copy(&t[last..], last);
    });
    (a, counts)
}

/// The runtime stage.
pub struct RedactPii {
    kinds: Vec<PiiKind>,
}

impl Stage for RedactPii {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let kinds = &self.kinds;
        let results: Vec<(Record, [u64; 4])> = batch
            .into_par_iter()
            .map(|mut rec| {
                let (a, counts) = redact_aligned(&rec.text, kinds);
                if counts.iter().any(|&c| c > 0) {
                    apply_to_record(&mut rec, a);
                }
                (rec, counts)
            })
            .collect();
        let mut totals = [0u64; 4];
        let mut recs = 0;
        for (rec, c) in results {
            recs += c.iter().any(|&x| x > 0) as u64;
            for k in 0..4 {
                totals[k] += c[k];
            }
            out.keep(rec);
        }
        for (k, kind) in ALL.iter().enumerate() {
            out.counter(kind.counter(), totals[k]);
        }
        out.counter("pii_records_total", recs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn red(t: &str) -> String {
        redact_aligned(t, &ALL).0.text
    }

    #[test]
    fn toml_example_parses_and_validates() {
        crate::text::check_doc_example(include_str!("redact_pii.rs"));
        let c: RedactPiiConfig =
            toml::from_str("kinds = [\"email\", \"phone\", \"url\", \"ip\"]").unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert!(v.errors.is_empty());
        let c: RedactPiiConfig = toml::from_str("kinds = []").unwrap();
        let mut v = Validator::default();
        c.validate(&mut v);
        assert_eq!(
            (v.errors[0].field.as_str(), v.errors[0].message.as_str()),
            ("kinds", "must not be empty")
        );
        assert!(toml::from_str::<RedactPiiConfig>("kinds = [\"ssn\"]").is_err());
    }

    #[test]
    fn redacts_each_kind() {
        assert_eq!(
            red("Kọ sí ade.bayo@example.com.ng lónìí"),
            "Kọ sí <EMAIL> lónìí"
        );
        assert_eq!(
            red("Pe 0803 123 4567 tabi +234 803 123 4567."),
            "Pe <PHONE> tabi <PHONE>."
        );
        assert_eq!(
            red("Piga 0712 345 678 au +254 712 345678"),
            "Piga <PHONE> au <PHONE>"
        );
        assert_eq!(
            red("අමතන්න 077 123 4567 හෝ +94 77 123 4567"),
            "අමතන්න <PHONE> හෝ <PHONE>"
        );
        assert_eq!(red("Call +27 82 123 4567, +251 91 123 4567, +250 788 123 456, +255 754 123 456, +256 772 123456"), "Call <PHONE>, <PHONE>, <PHONE>, <PHONE>, <PHONE>");
        assert_eq!(
            red("See https://bbc.com/hausa/labarai-123. Or www.example.org"),
            "See <URL>. Or <URL>"
        );
        assert_eq!(
            red("host 192.168.0.1 and 2001:db8::1 and fe80::1ff:fe23:4567:890a"),
            "host <IP> and <IP> and <IP>"
        );
        // Not PII: years, prices, times, scores, decimals, verse references.
        for t in [
            "In 2024 it cost ₦5,000 at 10:30.",
            "Score 3:1, 3.5 million",
            "John 3:16",
            "ሰላም 2016 ዓ.ም.",
        ] {
            assert_eq!(red(t), t);
        }
    }

    #[test]
    fn spans_remap_and_counters() {
        let t = "Adé: ade@x.com, 08031234567";
        let mut r = Record::new("a", t);
        let (e, p) = (t.find("ade@").unwrap_or(0), t.find("0803").unwrap_or(0));
        r.set("spans", json!([{"start": 0, "end": 4, "label": "PER"}, {"start": e, "end": e + 9, "label": "EMAIL"}, {"start": p, "end": p + 11, "label": "TEL"}]));
        let mut s = RedactPii {
            kinds: ALL.to_vec(),
        };
        let mut out = Emitter::collecting(2);
        s.process(vec![r, Record::new("b", "")], &mut out).unwrap();
        let got = out.take_collected();
        assert_eq!(got[0].text, "Adé: <EMAIL>, <PHONE>");
        let sp = got[0].fields["spans"].as_array().unwrap();
        let sl = |i: usize| {
            &got[0].text
                [sp[i]["start"].as_u64().unwrap() as usize..sp[i]["end"].as_u64().unwrap() as usize]
        };
        assert_eq!((sl(0), sl(1), sl(2)), ("Adé", "<EMAIL>", "<PHONE>"));
        let c = &out.counts().counters;
        assert_eq!(
            (
                c["pii_email_total"],
                c["pii_phone_total"],
                c["pii_url_total"],
                c["pii_records_total"]
            ),
            (1, 1, 0, 1)
        );
    }

    #[test]
    fn only_selected_kinds() {
        let (a, _) = redact_aligned("a@b.co 08031234567", &[PiiKind::Phone]);
        assert_eq!(a.text, "a@b.co <PHONE>");
    }

    #[test]
    fn no_panic_on_odd_text() {
        for t in [
            "",
            "@",
            "+",
            "::",
            "0",
            "\u{0301}@x.co",
            "ሰላም፡+251",
            "www.",
            "http://",
            "1.2.3.4.5.6",
        ] {
            let _ = redact_aligned(t, &ALL);
        }
    }
}
