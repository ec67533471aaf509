//! The main text of an HTML page: boilerplate elements removed by a byte scan, then the
//! article found by `libreadability` (a Rust port of go-readability / Readability.js,
//! and the readability layer of the Rust `trafilatura` crate).
//!
//! Why this pair (docs/CLEANING.md, "Web input", has the measured comparison): on the
//! 121 pages of the article-extraction benchmark, `libreadability` alone scored token F1
//! 0.963; `rs-trafilatura` 0.958, the `trafilatura` crate 0.955, `dom_smoothie` 0.952,
//! `readabilityrs` 0.915, at 4–5× fewer pages per CPU-second for the trafilatura ports.
//! Removing the elements that never hold article text before parsing (scripts, styles,
//! SVG, figures with their captions, asides, navigation, footers, forms' controls,
//! embedded media; a third to two thirds of a page's bytes) raises its F1 to 0.969 (the
//! captions, "related" asides and footers it kept were most of its false positives) and
//! makes it 1.6× faster, because html5ever no longer tokenises them.
//!
//! The text is the article's rendered inner text, one line per block, lines trimmed,
//! blank lines dropped. The page's `<title>` (or the article title the extractor found)
//! and the `lang` attribute of `<html>` come with it.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Elements removed before parsing, with everything inside them. None of them holds an
/// article's running text; they are where navigation, menus, footers, cookie banners
/// (`<aside>`, `<dialog>`, `<footer>`), share buttons and captions live.
pub const DROPPED_ELEMENTS: &[&str] = &[
    "script", "style", "svg", "noscript", "template", "figure", "aside", "nav", "footer", "iframe",
    "button", "select", "picture", "video", "audio", "canvas", "object", "embed",
];

/// Elements whose content is text (no nested tags to count): the raw-text ones removed,
/// and `<title>`, whose attributes-looking text `preclean` must leave alone.
const RAW_TEXT: &[&str] = &["script", "style", "noscript", "template", "title"];

/// Attributes removed from every start tag but `<img>`'s, besides `data-*` and the `on*`
/// event handlers: nothing in the extraction reads them (libreadability reads `class`, `id`,
/// `style`, `hidden`, `aria-*`, `role`, `href`, `rel`, `itemprop`, `lang`, `dir`, the
/// `<meta>` and table attributes, and an `<img>`'s sources, which decide whether the image
/// is kept and so count in its scoring). They are a quarter of a page's bytes once the
/// dropped elements are gone, and each distinct `data-*` name costs html5ever an interned
/// atom.
const STRIPPED_ATTRIBUTES: &[&str] = &[
    "srcset",
    "sizes",
    "alt",
    "title",
    "target",
    "tabindex",
    "loading",
    "decoding",
    "integrity",
    "crossorigin",
    "referrerpolicy",
    "jsaction",
    "jsname",
    "jscontroller",
];

/// The main text of a page and what came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// Main text: one line per block.
    pub text: String,
    /// The page or article title (may be empty).
    pub title: String,
    /// The `lang` attribute of `<html>`, if any (a BCP 47 tag as the page wrote it).
    pub html_lang: Option<String>,
}

/// Why a page gave no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoText {
    /// The extractor found no article (or one under `min_chars`).
    NoMainText,
    /// The extractor panicked on this page (a bug in it; the page is rejected, not lost).
    Panicked(String),
}

/// Extracts the main text of `html`; `min_chars` is the least text (in characters,
/// whitespace excluded) a page must have.
pub fn extract(html: &str, min_chars: usize) -> Result<Extracted, NoText> {
    let html_lang = html_lang(html);
    let cleaned = preclean(html);
    // JSON-LD lives in <script> elements, which `preclean` removed: its search is skipped.
    let parse = || {
        libreadability::Parser::new()
            .with_disable_jsonld(true)
            .parse(&cleaned, None)
    };
    let article = catch_unwind(AssertUnwindSafe(parse))
        .map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            NoText::Panicked(msg)
        })?
        .map_err(|_| NoText::NoMainText)?;
    let text = tidy(&article.text_content);
    if text.chars().filter(|c| !c.is_whitespace()).count() < min_chars.max(1) {
        return Err(NoText::NoMainText);
    }
    Ok(Extracted {
        text,
        title: article.title.trim().to_string(),
        html_lang,
    })
}

/// Lines trimmed, blank lines dropped, runs of spaces inside a line kept as one.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let mut words = line.split_whitespace().peekable();
        if words.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for (i, w) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

/// The `lang` attribute of the first `<html>` tag.
pub fn html_lang(html: &str) -> Option<String> {
    let b = html.as_bytes();
    let mut from = 0;
    while let Some(o) = memchr::memchr(b'<', &b[from..]) {
        let at = from + o + 1;
        if starts_tag(&b[at..], b"html") {
            let end = memchr::memchr(b'>', &b[at..]).map_or(b.len(), |e| at + e);
            return attr(&html[at + 4..end], "lang");
        }
        from = at;
        if from > 64 * 1024 {
            break; // <html> comes first; a page without one has no lang to find
        }
    }
    None
}

/// The value of attribute `name` in a tag's attribute text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(o) = lower[from..].find(name) {
        let at = from + o;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let off = tag.len() - rest.len() + 1;
        let v = tag[off..].trim_start();
        let v = match v.chars().next() {
            Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or(""),
            _ => v
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or(""),
        };
        let v = v.trim();
        return (!v.is_empty()).then(|| v.to_string());
    }
    None
}

/// Whether `b` starts with tag name `name` (ASCII case-insensitive) followed by a
/// character that ends a tag name.
fn starts_tag(b: &[u8], name: &[u8]) -> bool {
    b.len() > name.len()
        && b[..name.len()].eq_ignore_ascii_case(name)
        && matches!(
            b[name.len()],
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'>' | b'/'
        )
}

/// Removes comments and the [`DROPPED_ELEMENTS`] (nested ones of the same name counted),
/// and the [`STRIPPED_ATTRIBUTES`] from the start tags that stay, by a byte scan. An
/// element that is never closed is kept (the parser decides), and so is a start tag that
/// never ends.
pub fn preclean(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(b.len() / 2);
    let (mut i, mut last) = (0, 0);
    let mut cuts = Vec::new();
    'scan: while let Some(o) = memchr::memchr(b'<', &b[i..]) {
        let at = i + o;
        let rest = &b[at + 1..];
        if let Some(body) = rest.strip_prefix(b"!--") {
            let Some(e) = memchr::memmem::find(body, b"-->") else {
                break;
            };
            out.push_str(&html[last..at]);
            last = at + 4 + e + 3;
            i = last;
            continue;
        }
        i = at + 1;
        if rest.first().is_some_and(u8::is_ascii_alphabetic) {
            let name = &rest[..rest
                .iter()
                .position(|&c| ends_name(c))
                .unwrap_or(rest.len())];
            if let Some(d) = DROPPED_ELEMENTS
                .iter()
                .find(|d| name.eq_ignore_ascii_case(d.as_bytes()))
            {
                if let Some(stop) = element_end(b, at + 1 + d.len(), d.as_bytes()) {
                    out.push_str(&html[last..at]);
                    last = stop;
                    i = stop;
                    continue 'scan;
                }
            }
            cuts.clear();
            let Some(end) = start_tag(b, at + 1, &mut cuts) else {
                continue;
            };
            for &(from, to) in &cuts {
                out.push_str(&html[last..from]);
                last = to;
            }
            i = end;
            if starts_tag(rest, b"title") {
                // Its content is text, even where it looks like a tag.
                i = element_end(b, end, b"title").unwrap_or(end);
            }
        }
    }
    out.push_str(&html[last..]);
    out
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Whether `c` ends a tag name (as the HTML tokenizer reads one).
fn ends_name(c: u8) -> bool {
    is_space(c) || c == b'/' || c == b'>'
}

/// Whether an attribute of this name is removed (ASCII case-insensitive).
fn stripped(name: &[u8]) -> bool {
    let prefixed = |p: &[u8]| name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p);
    prefixed(b"data-")
        || prefixed(b"on")
        || STRIPPED_ATTRIBUTES
            .iter()
            .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
}

/// Scans the start tag whose name begins at `from` (after the `<`) as the HTML tokenizer
/// does (quoted values may hold `>`), pushing the byte span of every attribute to remove
/// (name, `=` and value) onto `cuts`. Returns the byte after its `>`, or `None` if the tag
/// never ends (then `cuts` is not to be used).
fn start_tag(b: &[u8], from: usize, cuts: &mut Vec<(usize, usize)>) -> Option<usize> {
    let mut i = from;
    while i < b.len() && !ends_name(b[i]) {
        i += 1;
    }
    let keep_all = b[from..i].eq_ignore_ascii_case(b"img");
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if *b.get(i)? == b'>' {
            return Some(i + 1);
        }
        let name_start = i;
        i += 1; // a name's first character may be anything that is not a space, / or >
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name_end = i;
        let mut j = i;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match *b.get(j)? {
                q @ (b'"' | b'\'') => i = j + 1 + memchr::memchr(q, &b[j + 1..])? + 1,
                _ => {
                    while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                    i = j;
                }
            }
        }
        if !keep_all && stripped(&b[name_start..name_end]) {
            cuts.push((name_start, i));
        }
    }
}

/// The byte after the `>` of the close tag that ends the element `name` opened before
/// `from`, counting nested elements of the same name; `None` if it is never closed.
fn element_end(b: &[u8], mut from: usize, name: &[u8]) -> Option<usize> {
    let raw = RAW_TEXT.iter().any(|r| r.as_bytes() == name);
    let mut depth = 1usize;
    while let Some(o) = memchr::memchr(b'<', &b[from..]) {
        let k = from + o + 1;
        let r = &b[k..];
        if r.first() == Some(&b'/') && starts_tag(&r[1..], name) {
            depth -= 1;
            if depth == 0 {
                return Some(memchr::memchr(b'>', r).map_or(b.len(), |g| k + g + 1));
            }
        } else if !raw && starts_tag(r, name) {
            depth += 1;
        }
        from = k;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html lang="yo"><head><title>Ìròyìn</title>
<script>var x = "<p>not text</p>";</script><style>p{}</style></head><body>
<nav><ul><li><a href="/">Ilé</a></li><li><a href="/a">Ìròyìn</a></li></ul></nav>
<div id="cookie"><aside>We use cookies. <button>Accept</button></aside></div>
<article><h1>Ìròyìn</h1>
<p>Ọ̀rọ̀ àkọ́kọ́ nínú àpilẹ̀kọ yìí gùn tó láti jẹ́ ara ìròyìn náà, ó sì ní ọ̀pọ̀lọpọ̀ ọ̀rọ̀.</p>
<figure><img src="a.jpg"><figcaption>Àwòrán kan</figcaption></figure>
<p>Ọ̀rọ̀ kejì náà gùn púpọ̀, ó ń sọ nípa ohun tí ó ṣẹlẹ̀ ní ìlú wa lánàá àti lónìí.</p>
<!-- <p>commented out</p> -->
<p>Ọ̀rọ̀ kẹta: àwọn ènìyàn péjọ sí ọjà láti gbọ́ ìròyìn tuntun tí ìjọba kéde fún gbogbo wa.</p>
</article>
<footer>© 2026 Ilé iṣẹ́ ìròyìn. Gbogbo ẹ̀tọ́ wà ní ìpamọ́.</footer></body></html>"#;

    #[test]
    fn article_text_without_boilerplate() {
        let e = extract(PAGE, 20).unwrap();
        assert_eq!(e.html_lang.as_deref(), Some("yo"));
        assert_eq!(e.title, "Ìròyìn");
        for want in ["Ọ̀rọ̀ àkọ́kọ́", "Ọ̀rọ̀ kejì", "Ọ̀rọ̀ kẹta"] {
            assert!(e.text.contains(want), "{want}: {}", e.text);
        }
        for gone in [
            "cookies",
            "Accept",
            "Àwòrán",
            "©",
            "not text",
            "commented",
            "Ilé\n",
        ] {
            assert!(!e.text.contains(gone), "{gone}: {}", e.text);
        }
        assert!(e.text.lines().all(|l| l == l.trim() && !l.is_empty()));
    }

    #[test]
    fn pages_without_main_text() {
        assert_eq!(
            extract("<html><body></body></html>", 1),
            Err(NoText::NoMainText)
        );
        assert_eq!(
            extract("<html><body><nav>Home</nav><p>Hi</p></body></html>", 50),
            Err(NoText::NoMainText)
        );
        assert_eq!(extract("", 1), Err(NoText::NoMainText));
    }

    #[test]
    fn preclean_counts_nesting_and_keeps_unclosed_elements() {
        assert_eq!(
            preclean("a<aside>x<aside>y</aside>z</aside>b<ASIDE class=q>c</Aside >d"),
            "abd"
        );
        assert_eq!(preclean("a<script>if (a<b) x='</p>'</script>b"), "ab");
        assert_eq!(
            preclean("a<navigation>b</navigation>"),
            "a<navigation>b</navigation>"
        );
        assert_eq!(preclean("a<nav>never closed"), "a<nav>never closed");
        assert_eq!(preclean("a<!-- x"), "a<!-- x");
    }

    #[test]
    fn preclean_strips_unread_attributes_only() {
        assert_eq!(
            preclean(
                r#"<div class="a" data-x='1>2' onclick=go()><p id=p TITLE="t" style="s">x</p></div>"#
            ),
            r#"<div class="a"  ><p id=p  style="s">x</p></div>"#
        );
        // An image keeps its sources (libreadability drops images without one).
        let img = r#"<img data-src="a.jpg" alt="x" srcset="a.jpg 2x"/>"#;
        assert_eq!(preclean(img), img);
        // Quoted values may hold '>' and '<'; a name directly after a value is still a name.
        assert_eq!(
            preclean(r#"<a href="/x?a>b" data-q="<p>"title='y'>t</a>"#),
            r#"<a href="/x?a>b" >t</a>"#
        );
        // A title's text is left alone, and so is a tag that never ends.
        assert_eq!(
            preclean("<title><b data-x=1></title><p data-y=2>"),
            "<title><b data-x=1></title><p >"
        );
        assert_eq!(preclean(r#"<p data-x="never"#), r#"<p data-x="never"#);
        // Attribute names that only look like the stripped ones stay.
        assert_eq!(preclean("<p on=1 data=2 alto=3>"), "<p on=1 data=2 alto=3>");
    }

    #[test]
    fn lang_attribute() {
        assert_eq!(
            html_lang(r#"<!doctype html><HTML dir=ltr LANG='ta-LK'>"#).as_deref(),
            Some("ta-LK")
        );
        assert_eq!(
            html_lang("<html xml:lang=\"x\" data-lang=\"y\"><p>").as_deref(),
            None
        );
        assert_eq!(html_lang("<html lang=sw><p>").as_deref(), Some("sw"));
        assert_eq!(html_lang("<p>no html tag</p>"), None);
    }
}
