//! Bytes of a web page to text: the page's character set, declared or detected, decoded
//! with `encoding_rs` (the WHATWG Encoding Standard, as browsers decode).
//!
//! Order, as a browser's (HTML §13.2.3), with one exception that web corpora need:
//! 1. a byte-order mark;
//! 2. the HTTP `Content-Type` charset;
//! 3. a `<meta charset>` / `<meta http-equiv="Content-Type">` in the first 4 KiB;
//! 4. otherwise UTF-8 if the bytes are valid UTF-8, else `chardetng`'s guess.
//!
//! The exception: a page declared (2 or 3) as a single-byte legacy encoding whose bytes
//! are valid UTF-8 with non-ASCII characters is UTF-8. Servers and templates declare
//! `ISO-8859-1` by default while the text is UTF-8; decoding it as declared turns every
//! Yoruba or Tamil character into mojibake, while real Latin-1 text with accented letters
//! is almost never valid UTF-8.

use encoding_rs::{Encoding, UTF_8};

/// Where the character set came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The HTTP `Content-Type` header.
    Http,
    /// A `<meta>` declaration in the page.
    Meta,
    /// Valid UTF-8 despite a legacy declaration, or without one.
    Utf8,
    /// Guessed by `chardetng`.
    Detected,
}

impl CharsetSource {
    /// The name written to records (`charset_source`).
    pub fn as_str(self) -> &'static str {
        match self {
            CharsetSource::Bom => "bom",
            CharsetSource::Http => "http",
            CharsetSource::Meta => "meta",
            CharsetSource::Utf8 => "utf8",
            CharsetSource::Detected => "detected",
        }
    }
}

/// A decoded page.
#[derive(Debug)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding's WHATWG name (`UTF-8`, `windows-1252` …).
    pub charset: &'static str,
    /// Where it came from.
    pub source: CharsetSource,
    /// Whether some bytes were not valid in that encoding (replaced by U+FFFD).
    pub had_errors: bool,
}

/// How far into a page `<meta charset>` is looked for (browsers: 1024 bytes; pages with
/// long `<head>` scripts put it later).
const META_WINDOW: usize = 4096;

/// Decodes `bytes`; `http_charset` is the HTTP `Content-Type` charset parameter, if any.
pub fn decode(bytes: &[u8], http_charset: Option<&str>) -> Decoded {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return finish(enc, &bytes[bom_len..], CharsetSource::Bom);
    }
    let declared = http_charset
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .map(|e| (e, CharsetSource::Http))
        .or_else(|| meta_charset(bytes).map(|e| (e, CharsetSource::Meta)));
    let utf8_ok = || std::str::from_utf8(bytes).is_ok();
    match declared {
        Some((enc, src)) => {
            let enc = enc.output_encoding();
            if enc != UTF_8 && enc.is_single_byte() && !bytes.is_ascii() && utf8_ok() {
                finish(UTF_8, bytes, CharsetSource::Utf8)
            } else {
                finish(enc, bytes, src)
            }
        }
        None if utf8_ok() => finish(UTF_8, bytes, CharsetSource::Utf8),
        None => {
            // Not valid UTF-8, so UTF-8 is not a candidate; ISO-2022-JP is left out as
            // browsers leave it out (it is not web text and can hide markup).
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(bytes, true);
            let enc = det.guess(None, chardetng::Utf8Detection::Deny);
            finish(enc, bytes, CharsetSource::Detected)
        }
    }
}

fn finish(enc: &'static Encoding, bytes: &[u8], source: CharsetSource) -> Decoded {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        charset: enc.name(),
        source,
        had_errors,
    }
}

/// The encoding a `<meta>` tag in the first [`META_WINDOW`] bytes declares.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_WINDOW)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&lower[from..], b"<meta") {
        let start = from + i + 5;
        let end = memchr::memchr(b'>', &lower[start..]).map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = memchr::memmem::find(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = rest.trim_ascii_start();
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = rest.trim_ascii_start();
                let rest = rest
                    .strip_prefix(b"\"")
                    .or(rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let len = rest
                    .iter()
                    .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                    .unwrap_or(rest.len());
                if let Some(e) = Encoding::for_label(&rest[..len]) {
                    return Some(e);
                }
            }
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_charsets_are_used() {
        // "café" in windows-1252.
        let d = decode(b"<p>caf\xe9</p>", Some("ISO-8859-1"));
        assert_eq!(
            (d.text.as_str(), d.charset),
            ("<p>café</p>", "windows-1252")
        );
        assert_eq!(d.source, CharsetSource::Http);
        let d = decode(
            b"<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head>\xcf\xf0\xe8",
            None,
        );
        assert_eq!((d.charset, d.source), ("windows-1251", CharsetSource::Meta));
        assert!(d.text.ends_with("При"));
        let d = decode(b"<meta charset='koi8-r'>", None);
        assert_eq!(d.charset, "KOI8-R");
    }

    #[test]
    fn utf8_wins_over_a_wrong_legacy_declaration() {
        let page = "<meta charset=iso-8859-1><p>Ẹ kú àárọ̀</p>";
        let d = decode(page.as_bytes(), None);
        assert_eq!((d.text.as_str(), d.source), (page, CharsetSource::Utf8));
        let d = decode(page.as_bytes(), Some("latin1"));
        assert_eq!(d.charset, "UTF-8");
        assert!(!d.had_errors);
    }

    #[test]
    fn bom_and_detection() {
        let d = decode(b"\xef\xbb\xbf<p>x</p>", Some("windows-1252"));
        assert_eq!(
            (d.text.as_str(), d.source),
            ("<p>x</p>", CharsetSource::Bom)
        );
        // Undeclared windows-1252 French: not UTF-8, so chardetng guesses.
        let d = decode(
            b"<p>Le gar\xe7on a mang\xe9 une cr\xe8me br\xfbl\xe9e \xe0 la caf\xe9t\xe9ria.</p>",
            None,
        );
        assert_eq!(d.source, CharsetSource::Detected);
        assert!(d.text.contains("garçon"), "{}", d.text);
    }
}
