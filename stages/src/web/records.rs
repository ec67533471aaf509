//! WARC records of one file, parsed by the `warc` crate, with errors that say where.
//!
//! The `warc` crate (WARC 1.0/1.1, used here without its own gzip layer) parses the record
//! headers and cuts out each block (read whole: the stages need it whole, an HTML page or
//! a WET text); [`super::input`] supplies the decompressed stream and the offsets that
//! error messages name. A block that ends before its `Content-Length` is a truncated
//! file, and bytes other than `\r\n\r\n` after a block a corrupt one.

use super::input::{Probe, Tracked};
use mavuno_pipeline::StageError;
use std::path::Path;
use warc::{RawRecordHeader, WarcHeader, WarcReader};

/// One WARC record's headers (the ones the web stages use) and block.
#[derive(Debug)]
pub struct WarcRecord {
    /// `WARC-Type`, lower case (`response`, `conversion`, `warcinfo` …).
    pub warc_type: String,
    /// `WARC-Record-ID` without its angle brackets.
    pub record_id: String,
    /// `WARC-Date` as written (ISO 8601, UTC).
    pub date: String,
    /// `WARC-Target-URI`, if any.
    pub target_uri: Option<String>,
    /// `Content-Type` of the block (`application/http; msgtype=response` …).
    pub content_type: Option<String>,
    /// `WARC-Identified-Payload-Type` (Common Crawl's sniffed MIME type), if any.
    pub identified_type: Option<String>,
    /// `WARC-Identified-Content-Language` (Common Crawl's CLD2 languages), if any.
    pub content_languages: Option<String>,
    /// `WARC-Truncated`, if the crawler cut the payload.
    pub truncated: Option<String>,
    /// The block: for a `response`, the HTTP message; for a `conversion`, the text.
    pub block: Vec<u8>,
}

/// A problem in a file: the 1-based record number and a message that names the place.
#[derive(Debug)]
pub struct BadRecord {
    /// 1-based number of the record in the file.
    pub record: u64,
    /// What is wrong and where.
    pub message: String,
}

/// Reads `path`'s records in order and hands each to `emit(record_no, record)`, which
/// returns whether to go on. Stops at the first bad record (the stream cannot be trusted
/// past it) and returns it; `Ok(Ok(()))` at the end of the file.
pub fn for_each_record(
    path: &Path,
    mut emit: impl FnMut(u64, WarcRecord) -> Result<bool, StageError>,
) -> Result<Result<(), BadRecord>, StageError> {
    let (stream, probe) = Tracked::open(path).map_err(|e| StageError::io(path, e))?;
    let mut n = 0u64;
    // Decompressed offset after the last whole record.
    let mut done_at = 0u64;
    // Raw records: the crate's typed records panic on a header value that is not UTF-8
    // (`Record::header`), and web crawls have such values; raw headers are bytes.
    for item in WarcReader::new(stream).iter_raw_records() {
        n += 1;
        let (head, block) = match item {
            Ok(r) => r,
            Err(e) => return Ok(Err(bad(n, &probe, &warc_error(&e)))),
        };
        let rec = match typed(head, block) {
            Ok(r) => r,
            Err(e) => return Ok(Err(bad(n, &probe, &e))),
        };
        if !emit(n, rec)? {
            return Ok(Ok(()));
        }
        done_at = probe.position();
    }
    // The crate ends quietly at end of file inside a header block; bytes after the last
    // whole record mean the file was cut there.
    if probe.position() > done_at {
        let what = "the file ends inside a record's header block (truncated file)";
        return Ok(Err(bad(n + 1, &probe, what)));
    }
    Ok(Ok(()))
}

/// The headers the stages use, checked: `WARC-Type` and `WARC-Record-ID` are required.
fn typed(head: RawRecordHeader, block: Vec<u8>) -> Result<WarcRecord, String> {
    let h = head.as_ref();
    let get = |k: WarcHeader| {
        h.get(&k)
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    };
    let warc_type = get(WarcHeader::WarcType)
        .ok_or("missing WARC-Type header")?
        .to_ascii_lowercase();
    let record_id = get(WarcHeader::RecordID).ok_or("missing WARC-Record-ID header")?;
    Ok(WarcRecord {
        warc_type,
        record_id: record_id
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
        date: get(WarcHeader::Date).unwrap_or_default(),
        target_uri: get(WarcHeader::TargetURI),
        content_type: get(WarcHeader::ContentType),
        identified_type: get(WarcHeader::IdentifiedPayloadType),
        content_languages: get(WarcHeader::Unknown(
            "warc-identified-content-language".into(),
        )),
        truncated: get(WarcHeader::Truncated),
        block,
    })
}

fn bad(record: u64, probe: &Probe, what: &str) -> BadRecord {
    BadRecord {
        record,
        message: format!("WARC record {record} ({}): {what}", probe.describe()),
    }
}

fn read_error(e: &std::io::Error) -> String {
    format!("read error: {e} (is the file truncated or corrupt?)")
}

fn warc_error(e: &warc::Error) -> String {
    match e {
        warc::Error::ReadData(io) => read_error(io),
        warc::Error::UnexpectedEOB => {
            "the file ends inside a record (truncated file)".to_string()
        }
        warc::Error::ParseHeaders(_) => {
            "malformed WARC header block (not `WARC/1.x` followed by `Name: value` lines)"
                .to_string()
        }
        warc::Error::ReadOverflow => {
            "the bytes after the record block are not `\\r\\n\\r\\n` (wrong Content-Length or corrupt file)"
                .to_string()
        }
        other => format!("invalid WARC record: {other}"),
    }
}
