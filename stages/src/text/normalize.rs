//! `normalize`: script-aware orthographic normalisation that keeps byte offsets valid.
//!
//! Passes, in order, each skipped when it has nothing to do: mojibake repair (UTF-8
//! read as Latin-1/CP-1252, "Ã©" → "é", "â€™" → "’"; a sequence is repaired only when its
//! bytes decode as UTF-8, which always lowers the count of mojibake markers), HTML tag
//! removal and entity decoding, control/zero-width removal (ZWJ/ZWNJ kept between
//! Sinhala or Tamil characters, where they are orthography), optional curly quotes/dashes
//! → ASCII, Unicode form (NFC by default; Yoruba/Igbo tone marks compose) with optional
//! tone-mark stripping (combining grave, acute, macron; dot-below stays: ẹ ọ ṣ), and
//! whitespace runs → one space (or a newline), trimmed. Ethiopic punctuation is kept.
//!
//! Every pass records an alignment ([`crate::text::align`]), so `fields["spans"]`
//! (`[{start,end,label}]`) and `fields["token_offsets"]` (`[[s,e],…]`) are remapped.
//! Counters: `normalized_changed_total`, `mojibake_fixed_total`, `html_stripped_total`,
//! `spans_lost_total`. Records left empty are dropped with reason `empty`.
//!
//! ```toml
//! [stages.norm]
//! type = "normalize"
//! inputs = ["raw"]
//! form = "nfc"
//! strip_tone_marks = false
//! ascii_punct = true
//! ```

use crate::text::align::{apply_to_record, Aligned, Rewriter};
use mavuno_pipeline::config::Validator;
use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Outcome, Record, Stage, StageConfig, StageError, StageImpl,
    StageKind,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use unicode_normalization::{is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Unicode normalisation form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub enum Form {
    /// Canonical composition (default): keeps compatibility characters.
    #[default]
    Nfc,
    /// Compatibility composition: also folds ligatures, full-width forms, superscripts.
    Nfkc,
    /// Leave the form as it is.
    None,
}

fn yes() -> bool {
    true
}

/// Options of the normaliser (also the `normalize` stage's config).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct NormalizeConfig {
    /// Unicode form: `nfc` (default), `nfkc` or `none`.
    #[serde(default)]
    pub form: Form,
    /// Collapse whitespace runs to one space and trim (default true).
    #[serde(default = "yes")]
    pub collapse_whitespace: bool,
    /// With `collapse_whitespace`: a run containing a line break becomes `\n` rather than
    /// a space, so paragraph structure survives (default false).
    #[serde(default)]
    pub keep_newlines: bool,
    /// Remove control characters and zero-width characters (ZWJ/ZWNJ survive between
    /// Sinhala or Tamil characters) (default true).
    #[serde(default = "yes")]
    pub remove_control: bool,
    /// Map curly quotes and dashes to ASCII `'` `"` `-` (default false).
    #[serde(default)]
    pub ascii_punct: bool,
    /// Remove HTML tags and decode entities (`&amp;`, `&#233;` …) (default true).
    #[serde(default = "yes")]
    pub strip_html: bool,
    /// Repair UTF-8 text that was decoded as Latin-1/CP-1252 (default true).
    #[serde(default = "yes")]
    pub fix_mojibake: bool,
    /// Remove combining grave, acute and macron (Yoruba/Igbo tone marks); dot-below stays
    /// (default false).
    #[serde(default)]
    pub strip_tone_marks: bool,
    /// Drop records whose text is empty after normalisation, reason `empty` (default true).
    #[serde(default = "yes")]
    pub drop_empty: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            form: Form::Nfc,
            collapse_whitespace: true,
            keep_newlines: false,
            remove_control: true,
            ascii_punct: false,
            strip_html: true,
            fix_mojibake: true,
            strip_tone_marks: false,
            drop_empty: true,
        }
    }
}

impl StageConfig for NormalizeConfig {
    const TYPE: &'static str = "normalize";
    const KIND: StageKind = StageKind::Streaming;

    fn validate(&self, v: &mut Validator) {
        if self.keep_newlines && !self.collapse_whitespace {
            v.warn(
                "keep_newlines",
                "has no effect unless collapse_whitespace = true",
            );
        }
        if self.strip_tone_marks && self.form == Form::None {
            v.warn(
                "strip_tone_marks",
                "recomposes with NFC although form = \"none\"",
            );
        }
    }

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Normalize { cfg: self.clone() })))
    }
}

/// What normalising one text did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormStats {
    /// Any byte changed.
    pub changed: bool,
    /// Mojibake sequences repaired.
    pub mojibake: usize,
    /// HTML tags or entities removed/decoded.
    pub html: usize,
}

/// Normalises `text` with alignment. The library entry point other stages call.
pub fn normalize_aligned(text: &str, cfg: &NormalizeConfig) -> (Aligned, NormStats) {
    let mut a = Aligned::new(text.to_string());
    let mut st = NormStats::default();
    if cfg.fix_mojibake && !text.is_ascii() && mojibake_markers(text) > 0 {
        a.pass(|t, w| st.mojibake = fix_mojibake(t, w));
    }
    if cfg.strip_html && memchr::memchr2(b'<', b'&', a.text.as_bytes()).is_some() {
        a.pass(|t, w| st.html = strip_html(t, w));
    }
    if cfg.remove_control && a.text.chars().any(is_removable) {
        a.pass(remove_control);
    }
    if cfg.ascii_punct && !a.text.is_ascii() {
        a.pass(ascii_punct);
    }
    if !a.text.is_ascii() {
        let needs = match cfg.form {
            Form::Nfc => is_nfc_quick(a.text.chars()) != IsNormalized::Yes,
            Form::Nfkc => is_nfkc_quick(a.text.chars()) != IsNormalized::Yes,
            Form::None => false,
        };
        if needs || cfg.strip_tone_marks {
            a.pass(|t, w| unicode_form(t, w, cfg.form, cfg.strip_tone_marks));
        }
    }
    if cfg.collapse_whitespace && needs_ws_pass(&a.text, cfg.keep_newlines) {
        a.pass(|t, w| collapse_ws(t, w, cfg.keep_newlines));
    }
    st.changed = a.text != text;
    (a, st)
}

/// Normalises a string (no alignment kept).
pub fn normalize_str(text: &str, cfg: &NormalizeConfig) -> String {
    normalize_aligned(text, cfg).0.text
}

/// CP-1252 byte for a character that CP-1252/Latin-1 would decode to it.
fn cp1252_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if !(0x80..=0x2122).contains(&u) {
        return None;
    }
    if (0xA0..=0xFF).contains(&u) || (0x80..=0x9F).contains(&u) {
        return Some(u as u8);
    }
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    HIGH.iter().find(|(h, _)| *h == c).map(|&(_, b)| b)
}

/// Number of mojibake markers (a would-be UTF-8 lead byte followed by a would-be
/// continuation byte) in `t`: the score the repair must lower.
pub fn mojibake_markers(t: &str) -> usize {
    let mut n = 0;
    let mut prev_lead = false;
    for c in t.chars() {
        let b = cp1252_byte(c);
        if prev_lead && b.is_some_and(|b| (0x80..=0xBF).contains(&b)) {
            n += 1;
        }
        prev_lead = b.is_some_and(|b| (0xC2..=0xF4).contains(&b));
    }
    n
}

fn fix_mojibake(t: &str, w: &mut Rewriter) -> usize {
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    let mut fixed = 0;
    let mut k = 0;
    let mut buf = [0u8; 4];
    while k < chars.len() {
        let (i, c) = chars[k];
        let lead = cp1252_byte(c).filter(|b| (0xC2..=0xF4).contains(b));
        if let Some(b) = lead {
            let n = if b < 0xE0 {
                1
            } else if b < 0xF0 {
                2
            } else {
                3
            };
            {
                buf[0] = b;
                let mut ok = true;
                for (j, slot) in buf.iter_mut().enumerate().take(n + 1).skip(1) {
                    match chars.get(k + j).and_then(|&(_, d)| cp1252_byte(d)) {
                        Some(cb) if (0x80..=0xBF).contains(&cb) => *slot = cb,
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    if let Some(d) = std::str::from_utf8(&buf[..=n])
                        .ok()
                        .and_then(|s| s.chars().next())
                    {
                        if !d.is_control() {
                            w.replace_char(d, i);
                            fixed += 1;
                            k += n + 1;
                            continue;
                        }
                    }
                }
            }
        }
        w.copy(&t[i..i + c.len_utf8()], i);
        k += 1;
    }
    fixed
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(v).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "hellip" => '…',
        "copy" => '©',
        "reg" => '®',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "oacute" => 'ó',
        "ograve" => 'ò',
        "iacute" => 'í',
        "uacute" => 'ú',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    })
}

const BLOCK_TAGS: &[&str] = &[
    "br", "p", "div", "li", "tr", "td", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table",
];

fn strip_html(t: &str, w: &mut Rewriter) -> usize {
    let b = t.as_bytes();
    let mut n = 0;
    let mut i = 0;
    let mut last = 0;
    while let Some(off) = memchr::memchr2(b'<', b'&', &b[i..]) {
        let p = i + off;
        i = p + 1;
        if b[p] == b'<' {
            let ok = b
                .get(p + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'));
            let close = b[p..].iter().take(2000).position(|&c| c == b'>');
            if let (true, Some(cl)) = (ok, close) {
                let tag = &t[p + 1..p + cl];
                if tag.contains('<') {
                    continue;
                }
                w.copy(&t[last..p], last);
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                if BLOCK_TAGS.contains(&name.as_str()) {
                    w.replace("\n", p);
                }
                last = p + cl + 1;
                i = last;
                n += 1;
            }
        } else if let Some(semi) = b[p..].iter().take(12).position(|&c| c == b';') {
            if let Some(c) = entity(&t[p + 1..p + semi]) {
                w.copy(&t[last..p], last);
                w.replace_char(c, p);
                last = p + semi + 1;
                i = last;
                n += 1;
            }
        }
    }
    w.copy(&t[last..], last);
    n
}

fn is_zw_keep_script(c: char) -> bool {
    matches!(c as u32, 0x0D80..=0x0DFF | 0x0B80..=0x0BFF)
}

fn is_removable(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(
            c,
            '\u{200B}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{00AD}'
                | '\u{200E}'
                | '\u{200F}'
        )
}

fn remove_control(t: &str, w: &mut Rewriter) {
    let mut prev: Option<char> = None;
    let mut it = t.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if is_removable(c) {
            let keep = matches!(c, '\u{200C}' | '\u{200D}')
                && prev.is_some_and(is_zw_keep_script)
                && it.peek().is_some_and(|&(_, n)| is_zw_keep_script(n));
            if !keep {
                continue;
            }
        }
        w.copy(&t[i..i + c.len_utf8()], i);
        prev = Some(c);
    }
}

fn ascii_punct(t: &str, w: &mut Rewriter) {
    for (i, c) in t.char_indices() {
        let r = match c {
            '‘' | '’' | '‚' | '‛' | '′' => '\'',
            '“' | '”' | '„' | '‟' | '″' => '"',
            '–' | '—' | '―' | '‐' | '‑' | '‒' | '−' => '-',
            _ => {
                w.copy(&t[i..i + c.len_utf8()], i);
                continue;
            }
        };
        w.replace_char(r, i);
    }
}

fn is_tone_mark(c: char) -> bool {
    matches!(c, '\u{0300}' | '\u{0301}' | '\u{0304}')
}

fn unicode_form(t: &str, w: &mut Rewriter, form: Form, strip: bool) {
    // Chunks = a run of non-ASCII characters plus the ASCII character before it (the
    // possible base of "e\u{301}"). No composition has an ASCII second element, so
    // normalising chunk by chunk equals normalising the text, and a rewritten chunk maps
    // to its start, which keeps the alignment monotone. ASCII stretches are skipped by
    // byte scanning; unchanged text is copied in one piece.
    let b = t.as_bytes();
    let mut tmp = String::new();
    let mut copied = 0usize;
    let mut i = 0usize;
    while let Some(off) = b[i..].iter().position(|&x| x >= 0x80) {
        let na = i + off;
        let start = if na > i || (na > 0 && b[na - 1] < 0x80) {
            na.saturating_sub(1).max(copied)
        } else {
            na
        };
        let end = b[na..]
            .iter()
            .position(|&x| x < 0x80)
            .map_or(b.len(), |k| na + k);
        let chunk = &t[start..end];
        i = end;
        let unchanged = match (form, strip) {
            (_, true) => !chunk.chars().any(is_combining_mark_or_toned),
            (Form::Nfc, false) => is_nfc_quick(chunk.chars()) == IsNormalized::Yes,
            (Form::Nfkc, false) => is_nfkc_quick(chunk.chars()) == IsNormalized::Yes,
            (Form::None, false) => true,
        };
        if unchanged {
            continue;
        }
        tmp.clear();
        if strip {
            let base: String = chunk.nfd().filter(|&c| !is_tone_mark(c)).collect();
            match form {
                Form::Nfkc => tmp.extend(base.nfkc()),
                _ => tmp.extend(base.nfc()),
            }
        } else if form == Form::Nfkc {
            tmp.extend(chunk.nfkc());
        } else {
            tmp.extend(chunk.nfc());
        }
        if tmp != chunk {
            w.copy(&t[copied..start], copied);
            w.replace(&tmp, start);
            copied = end;
        }
    }
    w.copy(&t[copied..], copied);
}

/// Whether stripping tone marks could change `c`: a combining mark or a precomposed
/// Latin letter (which may carry a grave, acute or macron).
fn is_combining_mark_or_toned(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
        || matches!(c as u32, 0xC0..=0x24F | 0x1E00..=0x1EFF)
}

/// Whether [`collapse_ws`] would change anything (cheap pre-check).
fn needs_ws_pass(t: &str, keep_newlines: bool) -> bool {
    t.starts_with(char::is_whitespace)
        || t.ends_with(char::is_whitespace)
        || t.contains("  ")
        || t.chars()
            .any(|c| c.is_whitespace() && c != ' ' && !(keep_newlines && c == '\n'))
        || (keep_newlines && (t.contains(" \n") || t.contains("\n ") || t.contains("\n\n")))
}

fn collapse_ws(t: &str, w: &mut Rewriter, keep_newlines: bool) {
    // `seg` = start of the pending non-whitespace stretch, copied in one piece.
    let mut seg = 0usize;
    let mut run: Option<(usize, bool)> = None;
    for (i, c) in t.char_indices() {
        if c.is_whitespace() {
            if run.is_none() {
                w.copy(&t[seg..i], seg);
            }
            let nl = c == '\n' || c == '\u{2029}';
            run = Some(match run {
                Some((s, n)) => (s, n || nl),
                None => (i, nl),
            });
            continue;
        }
        if let Some((s, nl)) = run.take() {
            if !w.written().is_empty() {
                if keep_newlines && nl {
                    if &t[s..i] == "\n" {
                        w.copy("\n", s);
                    } else {
                        w.replace("\n", s);
                    }
                } else if &t[s..i] == " " {
                    w.copy(" ", s);
                } else {
                    w.replace(" ", s);
                }
            }
            seg = i;
        }
    }
    if run.is_none() {
        w.copy(&t[seg..], seg);
    }
}

/// The runtime `normalize` stage.
pub struct Normalize {
    cfg: NormalizeConfig,
}

impl Stage for Normalize {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let cfg = &self.cfg;
        let results: Vec<(Outcome, NormStats, usize)> = batch
            .into_par_iter()
            .map(|mut rec: Record| {
                let (a, st) = normalize_aligned(&rec.text, cfg);
                let lost = if st.changed {
                    apply_to_record(&mut rec, a)
                } else {
                    0
                };
                let o = if cfg.drop_empty && rec.text.is_empty() {
                    Outcome::Drop(rec, "empty")
                } else {
                    Outcome::Keep(rec)
                };
                (o, st, lost)
            })
            .collect();
        let (mut changed, mut moj, mut html, mut lost) = (0, 0, 0, 0);
        for (o, st, l) in results {
            changed += st.changed as u64;
            moj += st.mojibake as u64;
            html += st.html as u64;
            lost += l as u64;
            out.apply(o);
        }
        out.counter("normalized_changed_total", changed);
        out.counter("mojibake_fixed_total", moj);
        out.counter("html_stripped_total", html);
        out.counter("spans_lost_total", lost);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(t: &str) -> String {
        normalize_str(t, &NormalizeConfig::default())
    }

    #[test]
    fn toml_example_parses_and_validates() {
        crate::text::check_doc_example(include_str!("normalize.rs"));
    }

    #[test]
    fn validation_messages() {
        let cfg = NormalizeConfig {
            keep_newlines: true,
            collapse_whitespace: false,
            strip_tone_marks: true,
            form: Form::None,
            ..Default::default()
        };
        let mut v = Validator::default();
        cfg.validate(&mut v);
        let msgs: Vec<_> = v
            .warnings
            .iter()
            .map(|f| (f.field.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            [
                (
                    "keep_newlines",
                    "has no effect unless collapse_whitespace = true"
                ),
                (
                    "strip_tone_marks",
                    "recomposes with NFC although form = \"none\""
                )
            ]
        );
        let e = toml::from_str::<NormalizeConfig>("frm = \"nfc\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `frm`"), "{e}");
    }

    #[test]
    fn yoruba_nfd_composes_and_tones_strip() {
        let nfd: String = "Yorùbá ọ̀rọ̀".nfd().collect();
        assert_eq!(n(&nfd), "Yorùbá ọ̀rọ̀");
        let cfg = NormalizeConfig {
            strip_tone_marks: true,
            ..Default::default()
        };
        assert_eq!(normalize_str(&nfd, &cfg), "Yoruba ọrọ");
        assert_eq!(normalize_str("Ṣé n̄ke", &cfg), "Ṣe nke");
    }

    #[test]
    fn mojibake_html_whitespace_quotes() {
        assert_eq!(n("cafÃ© Ã¨ itâ€™s"), "café è it’s");
        assert_eq!(n("Ã\u{A0}ká»\u{8d} Ã¨dÃ¨"), "àkọ èdè");
        assert_eq!(mojibake_markers("cafÃ©"), 1);
        assert_eq!(n("cafÃ"), "cafÃ");
        assert_eq!(
            n("<p>Hello&nbsp;&amp; caf&#233;</p><b>x</b>"),
            "Hello & café x"
        );
        assert_eq!(n("  a \t\n b\u{00A0}c  "), "a b c");
        let cfg = NormalizeConfig {
            ascii_punct: true,
            keep_newlines: true,
            ..Default::default()
        };
        assert_eq!(
            normalize_str("“Hi” – it’s\n\n ok", &cfg),
            "\"Hi\" - it's\nok"
        );
        assert_eq!(n("ሰላም፡ ዓለም።"), "ሰላም፡ ዓለም።");
    }

    #[test]
    fn chunked_nfc_equals_whole_text_nfc() {
        assert_eq!(n("\u{0B95}\u{0BC6}\u{0BBE}"), "\u{0B95}\u{0BCA}");
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/");
        for f in [
            "flores101_yor_devtest/yor.devtest",
            "ud/UD_Tamil-TTB/ta_ttb-ud-test.conllu",
            "ud/UD_Sinhala-STB/si_stb-ud-test.conllu",
        ] {
            let Ok(src) = std::fs::read_to_string(format!("{base}{f}")) else {
                continue;
            };
            let cfg = NormalizeConfig {
                collapse_whitespace: false,
                remove_control: false,
                strip_html: false,
                fix_mojibake: false,
                ..Default::default()
            };
            for line in src.lines().take(300) {
                let nfd: String = line.nfd().collect();
                let want: String = line.nfc().collect();
                assert_eq!(normalize_str(&nfd, &cfg), want, "{f}");
            }
        }
    }

    #[test]
    fn zwj_kept_in_sinhala_removed_elsewhere() {
        assert_eq!(n("ශ්\u{200D}රී"), "ශ්\u{200D}රී");
        assert_eq!(n("a\u{200D}b\u{200B}c\u{0007}"), "abc");
        assert_eq!(n("\u{200D}ශ"), "ශ");
    }

    #[test]
    fn spans_and_offsets_remap_through_normalisation() {
        let nfd: String = "  Ọ̀gbẹ́ni   Adé  lọ".nfd().collect();
        let mut rec = Record::new("r", nfd.clone());
        // Span over "Adé" in the NFD original.
        let s = nfd.find("Ad").unwrap();
        let e = s + "Ade\u{301}".len();
        rec.set(
            "spans",
            json!([{"start": s, "end": e, "label": "PER"}, {"start": 0, "end": 2, "label": "X"}]),
        );
        rec.set("token_offsets", json!([[s, e]]));
        let (a, st) = normalize_aligned(&rec.text, &NormalizeConfig::default());
        assert!(st.changed);
        let lost = apply_to_record(&mut rec, a);
        assert_eq!(rec.text, "Ọ̀gbẹ́ni Adé lọ");
        assert_eq!(lost, 1);
        let sp = &rec.fields["spans"][0];
        let (ns, ne) = (
            sp["start"].as_u64().unwrap() as usize,
            sp["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&rec.text[ns..ne], "Adé");
        assert_eq!(rec.fields["token_offsets"], json!([[ns, ne]]));
    }

    #[test]
    fn stage_keeps_drops_and_counts() {
        let mut s = Normalize {
            cfg: NormalizeConfig::default(),
        };
        let mut out = Emitter::collecting(2);
        s.process(
            vec![
                Record::new("a", "cafÃ©"),
                Record::new("b", " \u{200B} "),
                Record::new("c", "ok"),
            ],
            &mut out,
        )
        .unwrap();
        let got: Vec<String> = out.take_collected().into_iter().map(|r| r.text).collect();
        assert_eq!(got, ["café", "ok"]);
        assert_eq!(out.counts().dropped["empty"], 1);
        assert_eq!(out.counts().counters["mojibake_fixed_total"], 1);
    }

    #[test]
    fn no_panic_on_odd_unicode() {
        for t in [
            "",
            "\u{0301}",
            "<",
            "&",
            "&#xFFFFFFFF;",
            "&#0;",
            "<<>>",
            "Ã",
            "\u{10FFFF}",
            "🏳️‍🌈",
            "a\r\nb",
        ] {
            let _ = n(t);
        }
    }
}
