//! Per-language removal counters, so the run report can show removal rates per language
//! (dedup defaults are untested on many of our languages; the rates show their effect).
//!
//! Counters: `lang_in_<lang>_total` (records seen) and `lang_dropped_<lang>_total`
//! (records dropped), `<lang>` being the record's `lang` or `und`.

use mavuno_pipeline::Emitter;
use std::collections::BTreeMap;

/// Counts per language within a batch; [`ByLang::emit`] adds them to the stage counters.
#[derive(Debug, Default)]
pub struct ByLang {
    /// lang → (seen, dropped)
    counts: BTreeMap<String, (u64, u64)>,
}

impl ByLang {
    fn entry(&mut self, lang: Option<&str>) -> &mut (u64, u64) {
        let lang = lang.unwrap_or("und");
        if !self.counts.contains_key(lang) {
            self.counts.insert(lang.to_string(), (0, 0));
        }
        self.counts.get_mut(lang).expect("inserted above")
    }

    /// A record of `lang` entered the stage.
    pub fn seen(&mut self, lang: Option<&str>) {
        self.entry(lang).0 += 1;
    }

    /// A record of `lang` was dropped.
    pub fn dropped(&mut self, lang: Option<&str>) {
        self.entry(lang).1 += 1;
    }

    /// Adds the counts to the emitter's counters and clears them.
    pub fn emit(&mut self, out: &mut Emitter) {
        for (lang, (seen, dropped)) in std::mem::take(&mut self.counts) {
            out.counter(&format!("lang_in_{lang}_total"), seen);
            if dropped > 0 {
                out.counter(&format!("lang_dropped_{lang}_total"), dropped);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_per_language_counters() {
        let mut b = ByLang::default();
        b.seen(Some("yor"));
        b.seen(Some("yor"));
        b.dropped(Some("yor"));
        b.seen(None);
        let mut out = Emitter::collecting(1);
        b.emit(&mut out);
        let c = &out.counts().counters;
        assert_eq!(
            (
                c["lang_in_yor_total"],
                c["lang_dropped_yor_total"],
                c["lang_in_und_total"]
            ),
            (2, 1, 1)
        );
        assert!(!c.contains_key("lang_dropped_und_total"));
    }
}
