//! The one word, grapheme and sentence segmentation shared by every stage that needs
//! words or sentences (filters, dedup shingles, masking, attacks, stopword derivation).
//!
//! Words are maximal runs of letters, digits and combining marks, so a Sinhala conjunct
//! with virama + ZWJ ("ශ්‍රී"), a Tamil word with pulli ("தமிழ்நாடு") or NFD Yoruba
//! ("Yorùbá" decomposed) is one word: the TextAttack failure (`[\w']+` splitting
//! "ශ්‍රී ලංකාව" into letters) cannot happen. ZWJ/ZWNJ join only between word characters;
//! apostrophes join inside words (Igbo "n'ụlọ", Hausa "'ya'ya") and after a lone Igbo "n";
//! digits joined by `.`/`,` stay one number ("3.5", "1,000"). Ethiopic `፡` and `። ፣ ፤ ፥ ፦ ፧ ፨`
//! are punctuation, so they split words. All functions return byte spans into `text`.

use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// A writing system, as far as filters and language ID need to know it (the one script type
/// of the project; language ID stores it by its snake-case name in its model header).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// Latin (incl. extended Latin and IPA letters such as ɗ ɓ ƙ ŋ).
    Latin,
    /// Ethiopic (Ge'ez): Amharic.
    Ethiopic,
    /// Sinhala.
    Sinhala,
    /// Tamil.
    Tamil,
    /// Arabic (incl. Ajami).
    Arabic,
    /// Devanagari.
    Devanagari,
    /// Digits, punctuation, whitespace, symbols, combining marks (inherit their base).
    Common,
    /// Any other script.
    Other,
}

impl Script {
    /// Parses a script name as used in configs (`latin`, `ethiopic`, `Latn`, `Ethi` …).
    pub fn parse(s: &str) -> Option<Script> {
        Some(match s.to_ascii_lowercase().as_str() {
            "latin" | "latn" => Script::Latin,
            "ethiopic" | "ethi" => Script::Ethiopic,
            "sinhala" | "sinh" => Script::Sinhala,
            "tamil" | "taml" => Script::Tamil,
            "arabic" | "arab" => Script::Arabic,
            "devanagari" | "deva" => Script::Devanagari,
            "common" | "zyyy" => Script::Common,
            "other" => Script::Other,
            _ => return None,
        })
    }
}

/// The script whose Unicode blocks hold `c`, among those mavuno tells apart, marks, signs
/// and punctuation of the block included; `None` for every other character. Language ID
/// uses it for "is this a character of a script-decided language"; [`script_of`] refines it.
pub fn block_script(c: char) -> Option<Script> {
    let u = c as u32;
    Some(match u {
        0x0041..=0x005A | 0x0061..=0x007A | 0x00AA | 0x00BA => Script::Latin,
        0x00C0..=0x024F | 0x0250..=0x02AF | 0x1D00..=0x1DBF | 0x1E00..=0x1EFF => Script::Latin,
        0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
        0x1200..=0x139F | 0x2D80..=0x2DDF | 0xAB00..=0xAB2F | 0x1E7E0..=0x1E7FF => Script::Ethiopic,
        0x0D80..=0x0DFF | 0x111E0..=0x111FF => Script::Sinhala,
        0x0B80..=0x0BFF | 0x11FC0..=0x11FFF => Script::Tamil,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x0900..=0x097F | 0xA8E0..=0xA8FF => Script::Devanagari,
        _ => return None,
    })
}

/// The script of one character (Common for digits, punctuation, marks and spaces).
pub fn script_of(c: char) -> Script {
    let u = c as u32;
    if c.is_ascii() {
        return if c.is_ascii_alphabetic() {
            Script::Latin
        } else {
            Script::Common
        };
    }
    let letter = is_alphabetic(c) && !is_combining_mark(c);
    match block_script(c) {
        Some(Script::Latin) if is_alphabetic(c) => Script::Latin,
        // Ethiopic punctuation (፡ ። ፣ ፤ ፥ ፦ ፧ ፨) and the word space.
        Some(Script::Ethiopic) if !(0x1360..=0x1368).contains(&u) => Script::Ethiopic,
        Some(s @ (Script::Sinhala | Script::Tamil)) if !is_combining_mark(c) => s,
        Some(Script::Arabic) if letter => Script::Arabic,
        // Danda and double danda are punctuation.
        Some(Script::Devanagari) if !(0x0964..=0x0965).contains(&u) && !is_combining_mark(c) => {
            Script::Devanagari
        }
        Some(_) => Script::Common,
        None if letter => Script::Other,
        None => Script::Common,
    }
}

/// The script of most letters in `text` (Common when it has no letters). Ties go to the
/// script whose first letter came first.
pub fn dominant_script(text: &str) -> Script {
    script_counts(text)
        .first()
        .map(|&(s, _)| s)
        .unwrap_or(Script::Common)
}

/// Letter counts per script (Common excluded), most frequent first.
pub fn script_counts(text: &str) -> Vec<(Script, usize)> {
    let mut counts: Vec<(Script, usize)> = Vec::with_capacity(2);
    for c in text.chars() {
        let s = script_of(c);
        if s == Script::Common {
            continue;
        }
        match counts.iter_mut().find(|(x, _)| *x == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    // Stable sort keeps first-seen order on ties.
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    counts
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// A predicate over the Basic Multilingual Plane as a bitmap, built once: std's
/// `char::is_alphanumeric`/`is_alphabetic` cost ~100 ns for Ethiopic, Sinhala or Tamil
/// letters (a binary search in std's tables), a bit test ~1 ns.
fn bmp_bits(pred: impl Fn(char) -> bool) -> Box<[u64; 1024]> {
    let mut bits = Box::new([0u64; 1024]);
    for u in 0x80u32..0x10000 {
        if char::from_u32(u).is_some_and(&pred) {
            bits[(u >> 6) as usize] |= 1 << (u & 63);
        }
    }
    bits
}

/// What [`is_word_char`] asks: a letter, a digit or a combining mark.
fn word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Word characters of the BMP, see [`is_word_char`].
static BMP_WORD: std::sync::LazyLock<Box<[u64; 1024]>> =
    std::sync::LazyLock::new(|| bmp_bits(word_char_slow));

/// Letters of the BMP (`char::is_alphabetic`), see [`is_alphabetic`].
static BMP_ALPHA: std::sync::LazyLock<Box<[u64; 1024]>> =
    std::sync::LazyLock::new(|| bmp_bits(char::is_alphabetic));

/// `slow(c)`, answered by `ascii` for ASCII, from the bitmap `bits` (built from `slow` by
/// [`bmp_bits`]) in the rest of the BMP, and by `slow` itself beyond it.
#[inline]
fn bmp_lookup(
    c: char,
    bits: &[u64; 1024],
    ascii: fn(&char) -> bool,
    slow: fn(char) -> bool,
) -> bool {
    let u = c as u32;
    if u < 0x80 {
        ascii(&c)
    } else if u < 0x10000 {
        bits[(u >> 6) as usize] & (1 << (u & 63)) != 0
    } else {
        slow(c)
    }
}

/// Whether `c` is part of a word on its own: a letter, a digit or a combining mark
/// (virama, pulli, vowel signs, tone marks).
#[inline]
pub fn is_word_char(c: char) -> bool {
    bmp_lookup(c, &BMP_WORD, char::is_ascii_alphanumeric, word_char_slow)
}

/// `char::is_alphabetic`, answered from a bitmap in the BMP (the quality rules and the
/// script counts ask it for every character).
#[inline]
pub fn is_alphabetic(c: char) -> bool {
    bmp_lookup(
        c,
        &BMP_ALPHA,
        char::is_ascii_alphabetic,
        char::is_alphabetic,
    )
}

#[inline]
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Word spans (byte offsets) of `text`, in order. See the module docs for the rules.
pub fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(text.len() / 6 + 1);
    for_each_word(text, |s, e| out.push((s, e)));
    out
}

/// Number of words, without allocating.
pub fn word_count(text: &str) -> usize {
    let mut n = 0;
    for_each_word(text, |_, _| n += 1);
    n
}

/// Calls `f(start, end)` for every word of `text`: the allocation-free core of [`words`].
pub fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut it = text.char_indices().peekable();
    let mut start: Option<usize> = None;
    // Last word character seen inside the current word.
    let mut prev: Option<char> = None;
    while let Some((i, c)) = it.next() {
        if is_word_char(c) {
            if start.is_none() {
                if is_combining_mark(c) && !c.is_alphanumeric() {
                    // A stray mark outside a word belongs to the preceding symbol.
                    continue;
                }
                start = Some(i);
            }
            prev = Some(c);
            continue;
        }
        let next = it.peek().map(|&(_, n)| n);
        let next_word = next.is_some_and(is_word_char);
        match start {
            Some(s) => {
                let p = prev.unwrap_or(' ');
                let joins = if c == ZWJ || c == ZWNJ {
                    next_word
                } else if is_apostrophe(c) {
                    let next_letter = next.is_some_and(is_alphabetic);
                    let lone_n = i - s == 1 && matches!(bytes[s], b'n' | b'N');
                    (is_alphabetic(p) || is_combining_mark(p)) && next_letter || lone_n
                } else if c == '.' || c == ',' {
                    p.is_ascii_digit() && next.is_some_and(|n| n.is_ascii_digit())
                } else if c == '-' {
                    (is_alphabetic(p) || is_combining_mark(p)) && next.is_some_and(is_alphabetic)
                } else {
                    false
                };
                if joins {
                    prev = Some(c);
                    continue;
                }
                f(s, i);
                start = None;
            }
            None => {
                // Hausa "'ya'ya", "'yan": a leading apostrophe before y.
                if is_apostrophe(c) && matches!(next, Some('y' | 'Y')) {
                    let before = text[..i].chars().next_back();
                    if !before.is_some_and(is_word_char) {
                        start = Some(i);
                        prev = Some(c);
                    }
                }
            }
        }
    }
    if let Some(s) = start {
        f(s, text.len());
    }
}

/// Extended grapheme cluster spans (UAX #29).
pub fn graphemes(text: &str) -> Vec<(usize, usize)> {
    text.grapheme_indices(true)
        .map(|(i, g)| (i, i + g.len()))
        .collect()
}

/// Sentence terminators: Latin, Devanagari danda/double danda, Ethiopic full stop and
/// question mark, Arabic question mark, Urdu full stop, and the ellipsis character.
#[inline]
pub fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '?' | '!' | '।' | '॥' | '።' | '፧' | '؟' | '۔' | '…' | '፨'
    )
}

#[inline]
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | ')' | ']' | '}' | '”' | '’' | '»' | '›' | '」' | '』'
    )
}

/// Abbreviations (lower-case, without the final dot) after which `.` does not end a
/// sentence. Small and shared; the per-language lists extend it.
const ABBREV_COMMON: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no", "nos",
    "fig", "vol", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "gen", "col", "lt", "capt", "gov", "hon", "rev", "sen", "rep", "inc", "ltd", "co",
    "corp", "approx", "est", "dept", "p", "pp",
];

fn lang_abbrevs(lang: &str) -> &'static [&'static str] {
    match lang {
        "yor" | "yo" => &["oló", "olóy", "ọjọ́", "bl"],
        "hau" | "ha" => &["mal", "alh", "hon", "sh"],
        "ibo" | "ig" => &["nwd", "ọkà", "dkt"],
        "swa" | "swh" | "sw" => &["bw", "bi", "mh", "dkt", "k.m", "n.k", "yaani", "km", "sh"],
        "amh" | "am" => &["ዓ.ም", "ዶ/ር", "አቶ"],
        "zul" | "zu" | "xho" | "xh" => &["mnu", "nkk", "nksz", "dkt"],
        "som" | "so" => &["mr", "gud", "c/d", "dr"],
        "sin" | "si" => &["පෙ.ව", "ප.ව", "ක්‍රි.පූ", "ක්‍රි.ව", "ඩබ්", "එච්"],
        "tam" | "ta" => &["திரு", "டாக்டர்", "கி.மு", "கி.பி", "முனைவர்", "என்", "எம்", "எஸ்"],
        _ => &[],
    }
}

fn is_abbreviation(word: &str, lang: Option<&str>) -> bool {
    let w = word.trim_start_matches(|c: char| !is_word_char(c));
    if w.is_empty() {
        return false;
    }
    // A single capital initial ("J. R. R. Tolkien"); in uncased scripts one grapheme
    // cluster (Tamil "டி.", "ரூ."); dotted forms ("p.m.", "ஐ.பி.எல்.").
    let first = w.chars().next().unwrap_or(' ');
    if is_alphabetic(first) && !first.is_lowercase() && !first.is_uppercase() {
        if w.graphemes(true).nth(1).is_none() {
            return true;
        }
    } else if w.chars().nth(1).is_none() {
        return first.is_uppercase();
    }
    // Dotted abbreviations: every dot-separated piece is short and has no digit.
    if w.contains('.') {
        return w.split('.').all(|p| {
            !p.is_empty()
                && p.graphemes(true).nth(3).is_none()
                && !p.chars().any(|c| c.is_numeric())
        });
    }
    let lower = w.to_lowercase();
    ABBREV_COMMON.contains(&lower.as_str())
        || lang.is_some_and(|l| lang_abbrevs(l).contains(&lower.as_str()))
}

/// Sentence spans (byte offsets, trimmed of surrounding whitespace) of `text`.
///
/// A sentence ends after a run of terminators plus any closing quotes/brackets, when
/// followed by whitespace or the end. `.` does not end a sentence after an abbreviation
/// (common list + `lang`'s list), a single capital initial, or when the next word starts
/// with a lower-case letter; "3.5" never splits (no space after the dot). A blank line
/// always ends a sentence, and so does any line break when `newline_breaks` is set.
pub fn sentences(text: &str, lang: Option<&str>, newline_breaks: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut it = text.char_indices().peekable();
    let push = |out: &mut Vec<(usize, usize)>, s: usize, e: usize| {
        let seg = &text[s..e];
        let ts = s + (seg.len() - seg.trim_start().len());
        let te = s + seg.trim_end().len();
        if te > ts {
            out.push((ts, te));
        }
    };
    while let Some((i, c)) = it.next() {
        if c == '\n' {
            let blank = text[start..i].trim().is_empty()
                || newline_breaks
                || text[i + 1..]
                    .trim_start_matches([' ', '\t', '\r'])
                    .starts_with('\n');
            if blank {
                push(&mut out, start, i);
                start = i + 1;
            }
            continue;
        }
        if !is_terminator(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        let mut only_dots = c == '.';
        while let Some(&(j, d)) = it.peek() {
            if is_terminator(d) || is_closer(d) {
                only_dots &= d == '.' || is_closer(d);
                end = j + d.len_utf8();
                it.next();
            } else {
                break;
            }
        }
        let after = &text[end..];
        let next = after.chars().next();
        if next.is_some_and(|n| !n.is_whitespace()) {
            continue;
        }
        if only_dots && end - i == 1 {
            let word_start = text[start..i]
                .rfind(char::is_whitespace)
                .map(|k| start + k + 1)
                .unwrap_or(start);
            if is_abbreviation(&text[word_start..i], lang) {
                continue;
            }
            // A list number opening the sentence ("1. ஒரு …", "2. Ní …").
            let word = &text[word_start..i];
            if !word.is_empty()
                && word.bytes().all(|b| b.is_ascii_digit())
                && text[start..word_start].trim().is_empty()
            {
                continue;
            }
            let next_word = after.trim_start().chars().next();
            if next_word.is_some_and(char::is_lowercase) {
                continue;
            }
        }
        push(&mut out, start, end);
        start = end;
    }
    push(&mut out, start, text.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn ws(t: &str) -> Vec<&str> {
        words(t).into_iter().map(|(s, e)| &t[s..e]).collect()
    }

    #[test]
    fn sinhala_conjunct_with_zwj_is_one_word() {
        assert_eq!(ws("ශ්‍රී ලංකාව"), ["ශ්‍රී", "ලංකාව"]);
        assert_eq!(ws("தமிழ்நாடு அரசு"), ["தமிழ்நாடு", "அரசு"]);
    }

    #[test]
    fn nfd_yoruba_stays_one_word() {
        let nfd: String = "Yorùbá ni èdè".nfd().collect();
        assert_eq!(ws(&nfd).len(), 3);
        assert_eq!(ws(&nfd)[0], "Yorùbá".nfd().collect::<String>());
    }

    #[test]
    fn ethiopic_punctuation_splits() {
        assert_eq!(ws("ሰላም፡ዓለም። እንዴት፣ነህ፧"), ["ሰላም", "ዓለም", "እንዴት", "ነህ"]);
    }

    #[test]
    fn apostrophes_and_numbers() {
        assert_eq!(
            ws("n'ụlọ akwụkwọ n' ime"),
            ["n'ụlọ", "akwụkwọ", "n'", "ime"]
        );
        assert_eq!(ws("'ya'yan ƙasa ɗaya"), ["'ya'yan", "ƙasa", "ɗaya"]);
        assert_eq!(
            ws("3.5 da 1,000 'quoted'"),
            ["3.5", "da", "1,000", "quoted"]
        );
    }

    #[test]
    fn scripts() {
        assert_eq!(script_of('ශ'), Script::Sinhala);
        assert_eq!(script_of('த'), Script::Tamil);
        assert_eq!(script_of('ሰ'), Script::Ethiopic);
        assert_eq!(script_of('ɗ'), Script::Latin);
        assert_eq!(script_of('።'), Script::Common);
        assert_eq!(dominant_script("ශ්‍රී ලංකාව 2024 ok"), Script::Sinhala);
        assert_eq!(dominant_script("123 ..."), Script::Common);
    }

    #[test]
    fn sentence_splitting() {
        let t = "Dr. Okafor arrived at 3.5 p.m. today. He said \"hello.\" Then he left! ሰላም ነው። እንዴት ነህ፧ ok";
        let got: Vec<&str> = sentences(t, Some("eng"), false)
            .into_iter()
            .map(|(s, e)| &t[s..e])
            .collect();
        assert_eq!(
            got,
            [
                "Dr. Okafor arrived at 3.5 p.m. today.",
                "He said \"hello.\"",
                "Then he left!",
                "ሰላም ነው።",
                "እንዴት ነህ፧",
                "ok"
            ]
        );
        let h = "यह एक वाक्य है। दूसरा वाक्य॥ J. R. Smith came.";
        let got: Vec<&str> = sentences(h, None, false)
            .into_iter()
            .map(|(s, e)| &h[s..e])
            .collect();
        assert_eq!(got, ["यह एक वाक्य है।", "दूसरा वाक्य॥", "J. R. Smith came."]);
    }

    #[test]
    fn no_panic_on_odd_input() {
        for t in [
            "",
            " ",
            "\u{200D}",
            "\u{0301}a",
            "a\u{200D}",
            "'",
            "...",
            "\n\n",
            "x.\u{0301}",
        ] {
            let _ = words(t);
            let _ = sentences(t, None, true);
            let _ = graphemes(t);
            let _ = dominant_script(t);
        }
    }

    fn ud_sentences(path: &str) -> Vec<String> {
        let Ok(s) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        s.lines()
            .filter_map(|l| l.strip_prefix("# text = "))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn ud_sinhala_and_tamil_word_counts_match_whitespace_tokens() {
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/ud/");
        for f in [
            "UD_Sinhala-STB/si_stb-ud-test.conllu",
            "UD_Tamil-MWTT/ta_mwtt-ud-test.conllu",
            "UD_Tamil-TTB/ta_ttb-ud-test.conllu",
        ] {
            let sents = ud_sentences(&format!("{base}{f}"));
            assert!(
                !sents.is_empty(),
                "{base}{f}: no sentences (../shared/data must sit beside the repository)"
            );
            let (mut agree, mut total) = (0, 0);
            for s in &sents {
                // Every whitespace token made only of letters, marks, ZWJ and digits is exactly one word.
                for t in s
                    .split_whitespace()
                    .filter(|t| t.chars().all(|c| is_word_char(c) || c == ZWJ || c == ZWNJ))
                {
                    assert_eq!(words(t), [(0, t.len())], "{f}: {t:?} in {s}");
                }
                // Sinhala STB separates punctuation by spaces, so counts must agree;
                // Tamil keeps "ஐ.நா." and "6-ம்" as tokens, which are several words.
                let expect = s
                    .split_whitespace()
                    .filter(|t| t.chars().any(char::is_alphanumeric))
                    .count();
                total += 1;
                agree += (word_count(s) == expect) as usize;
            }
            if f.contains("Sinhala") {
                assert!(agree * 100 >= total * 95, "{f}: {agree}/{total}");
            }
        }
        assert_eq!(ws("ශ්‍රී ලංකාව"), ["ශ්‍රී", "ලංකාව"]);
    }

    #[test]
    fn joined_real_sentences_split_back() {
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/");
        let flores = |p: &str| -> Vec<String> {
            std::fs::read_to_string(format!("{base}{p}"))
                .map(|s| s.lines().take(100).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let cases = [
            (
                "sin",
                ud_sentences(&format!("{base}ud/UD_Sinhala-STB/si_stb-ud-test.conllu")),
                100,
            ),
            (
                "amh",
                ud_sentences(&format!("{base}ud/UD_Amharic-ATT/am_att-ud-test.conllu")),
                95,
            ),
            (
                "tam",
                ud_sentences(&format!("{base}ud/UD_Tamil-TTB/ta_ttb-ud-test.conllu")),
                90,
            ),
            // Some FLORES lines hold two sentences or a quoted dialogue, split on purpose.
            ("yor", flores("flores101_yor_devtest/yor.devtest"), 85),
        ];
        for (lang, sents, min_pct) in cases {
            if sents.is_empty() {
                continue;
            }
            let sents: Vec<String> = sents.into_iter().take(100).collect();
            let doc = sents.join(" ");
            let got = sentences(&doc, Some(lang), false);
            let exact = got
                .iter()
                .filter(|&&(s, e)| sents.iter().any(|x| x == &doc[s..e]))
                .count();
            if std::env::var("SEG_DEBUG").is_ok() {
                for &(s, e) in &got {
                    if !sents.iter().any(|x| x == &doc[s..e]) {
                        eprintln!("{lang}: {}", &doc[s..e]);
                    }
                }
            }
            assert!(
                exact * 100 >= sents.len() * min_pct,
                "{lang}: {exact}/{} sentences recovered exactly",
                sents.len()
            );
        }
    }

    #[test]
    fn flores_yoruba_words_survive_nfd() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/flores101_yor_devtest/yor.devtest"
        );
        let Ok(s) = std::fs::read_to_string(p) else {
            return;
        };
        for line in s.lines().take(200) {
            let nfd: String = line.nfd().collect();
            assert_eq!(word_count(line), word_count(&nfd), "{line}");
        }
    }
}
