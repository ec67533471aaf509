//! Test helpers: WARC files written with the `warc` crate's writer, one gzip member per
//! record for `.gz` names (as Common Crawl writes them).

use std::io::Write;
use std::path::{Path, PathBuf};
use warc::{RecordBuilder, RecordType, WarcHeader, WarcWriter};

/// One record to write.
pub struct WarcEntry {
    warc_type: &'static str,
    url: Option<String>,
    content_type: Option<&'static str>,
    block: Vec<u8>,
    extra: Vec<(&'static str, String)>,
}

impl WarcEntry {
    /// A `warcinfo` record.
    pub fn info() -> WarcEntry {
        WarcEntry {
            warc_type: "warcinfo",
            url: None,
            content_type: Some("application/warc-fields"),
            block: b"software: mavuno tests\r\n".to_vec(),
            extra: Vec::new(),
        }
    }

    /// A `request` record.
    pub fn request(url: &str) -> WarcEntry {
        let block = format!("GET / HTTP/1.1\r\nHost: {url}\r\n\r\n").into_bytes();
        WarcEntry::raw("request", url, block)
    }

    /// A record of any type with its block as given.
    pub fn raw(warc_type: &'static str, url: &str, block: Vec<u8>) -> WarcEntry {
        WarcEntry {
            warc_type,
            url: Some(url.to_string()),
            content_type: Some(if warc_type == "conversion" {
                "text/plain"
            } else {
                "application/http; msgtype=response"
            }),
            block,
            extra: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with(mut self, name: &'static str, value: &str) -> WarcEntry {
        self.extra.push((name, value.to_string()));
        self
    }
}

/// A `response` record: HTTP 200 with `content_type` (none if empty) and `body`.
pub fn response(url: &str, content_type: &str, body: &[u8]) -> WarcEntry {
    let mut block = b"HTTP/1.1 200 OK\r\n".to_vec();
    if !content_type.is_empty() {
        block.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
    }
    block.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    block.extend_from_slice(body);
    WarcEntry::raw("response", url, block)
}

/// Writes `entries` to `dir/name` (gzip, one member per record, if the name ends in `.gz`).
pub fn write_warc(dir: &Path, name: &str, entries: &[WarcEntry]) -> PathBuf {
    let path = dir.join(name);
    let mut file = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let mut b = RecordBuilder::default()
            .version("1.1".to_string())
            .warc_type(RecordType::from(e.warc_type))
            .warc_id(format!("<urn:uuid:00000000-0000-4000-8000-{i:012}>"))
            .body(e.block.clone());
        if let Some(u) = &e.url {
            b = b.header(WarcHeader::TargetURI, u.as_str());
        }
        if let Some(ct) = e.content_type {
            b = b.header(WarcHeader::ContentType, ct);
        }
        for (k, v) in &e.extra {
            b = b.header(WarcHeader::from(*k), v.as_str());
        }
        let rec = b.build().expect("valid test record");
        let mut one = Vec::new();
        WarcWriter::new(&mut one).write(&rec).expect("write record");
        if name.ends_with(".gz") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&one).expect("gzip");
            file.extend(gz.finish().expect("gzip"));
        } else {
            file.extend(one);
        }
    }
    std::fs::write(&path, file).expect("write warc");
    path
}
