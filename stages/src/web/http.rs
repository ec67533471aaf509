//! The HTTP response inside a WARC `response` record: status, headers and body.
//!
//! Headers are parsed with `httparse`. The body is undone from `Transfer-Encoding:
//! chunked` and `Content-Encoding: gzip`/`deflate` when the crawler stored it that way
//! (Common Crawl stores decoded bodies; other crawlers store what the server sent). A
//! decoded body is capped at `max_bytes` so that a compression bomb cannot take the
//! memory.

use flate2::read::{GzDecoder, ZlibDecoder};
use std::borrow::Cow;
use std::io::Read;

/// A parsed HTTP response; a body stored as it was sent is borrowed from the record.
#[derive(Debug)]
pub struct HttpResponse<'a> {
    /// Status code (200 …).
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, transfer- and content-decoded.
    pub body: Cow<'a, [u8]>,
}

/// Why a response could not be used: the stable drop reason and a detail.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpProblem {
    /// Not an HTTP response message at all.
    Malformed(String),
    /// A content encoding this reader does not decode (`br`, `zstd` …).
    UnsupportedEncoding(String),
    /// The decoded body is larger than the cap.
    TooLarge,
}

/// Most headers a response may have (real pages send up to ~60).
const MAX_HEADERS: usize = 256;

/// Parses `block` (a `response` record's block). `max_bytes` caps the decoded body.
pub fn parse_response(block: &[u8], max_bytes: usize) -> Result<HttpResponse<'_>, HttpProblem> {
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let body_at = match resp.parse(block) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(HttpProblem::Malformed(
                "the HTTP header block has no end".into(),
            ))
        }
        Err(e) => return Err(HttpProblem::Malformed(format!("HTTP headers: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let (mut content_type, mut chunked, mut encoding) = (None, false, None);
    for h in resp.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_string();
        if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("content-encoding") {
            let v = value.to_ascii_lowercase();
            if !v.is_empty() && v != "identity" {
                encoding = Some(v);
            }
        }
    }
    let raw = &block[body_at..];
    // A body that does not parse as chunks was stored decoded despite the header.
    let body = match chunked.then(|| dechunk(raw)).flatten() {
        Some(b) => Cow::Owned(b),
        None => Cow::Borrowed(raw),
    };
    let body = match encoding.as_deref() {
        None => body,
        Some("gzip" | "x-gzip") => decode(GzDecoder::new(&*body), &body, max_bytes)?.into(),
        Some("deflate") => decode(ZlibDecoder::new(&*body), &body, max_bytes)?.into(),
        Some(other) => return Err(HttpProblem::UnsupportedEncoding(other.to_string())),
    };
    if body.len() > max_bytes {
        return Err(HttpProblem::TooLarge);
    }
    Ok(HttpResponse {
        status,
        content_type,
        body,
    })
}

/// Decodes a compressed body, capped at `max + 1` bytes. A body that does not decode was
/// stored decoded despite its header (crawlers such as Common Crawl's do that): it is
/// returned as it is.
fn decode(r: impl Read, raw: &[u8], max: usize) -> Result<Vec<u8>, HttpProblem> {
    let mut out = Vec::new();
    match r.take(max as u64 + 1).read_to_end(&mut out) {
        Ok(_) if out.len() > max => Err(HttpProblem::TooLarge),
        Ok(_) => Ok(out),
        Err(_) => Ok(raw.to_vec()),
    }
}

/// Undoes `Transfer-Encoding: chunked`; `None` if `raw` is not a chunk sequence.
fn dechunk(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let eol = memchr::memmem::find(rest, b"\r\n")?;
        let line = std::str::from_utf8(&rest[..eol]).ok()?;
        let size_hex = line.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        if rest.len() < size {
            // The crawler cut the body: keep what came.
            out.extend_from_slice(rest);
            return Some(out);
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
}

/// The MIME type of a `Content-Type` value, lower case, without parameters.
pub fn mime_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `charset` parameter of a `Content-Type` value, if any.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_string())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn status_type_and_body() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-8859-1\r\n\r\n<p>hi</p>",
            100,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&*r.body, b"<p>hi</p>");
        let ct = r.content_type.unwrap();
        assert_eq!(mime_type(&ct), "text/html");
        assert_eq!(charset_param(&ct).as_deref(), Some("ISO-8859-1"));
        assert_eq!(charset_param("text/html").as_deref(), None);
    }

    #[test]
    fn chunked_and_gzip_bodies_are_decoded() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<p>h\r\n5;x=1\r\ni</p>\r\n0\r\n\r\n",
            100,
        )
        .unwrap();
        assert_eq!(&*r.body, b"<p>hi</p>");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&b"<p>x</p>".repeat(100)).unwrap();
        let mut block = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        block.extend(gz.finish().unwrap());
        assert_eq!(parse_response(&block, 800).unwrap().body.len(), 800);
        assert_eq!(
            parse_response(&block, 799).unwrap_err(),
            HttpProblem::TooLarge
        );
        // Declared gzip but stored decoded: kept as it is.
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n<p>plain</p>",
            100,
        )
        .unwrap();
        assert_eq!(&*r.body, b"<p>plain</p>");
    }

    #[test]
    fn problems_are_named() {
        assert!(matches!(
            parse_response(b"not http at all", 10),
            Err(HttpProblem::Malformed(_))
        ));
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\nxx", 10).unwrap_err(),
            HttpProblem::UnsupportedEncoding("br".into())
        );
    }
}
