//! Web input: WARC/WET readers, HTML main-text extraction and URL filtering.
//!
//! `warc_reader` → `extract_html` → `url_filter` → (langid, filter, dedup …) is how a
//! crawl becomes a corpus; `wet_reader` reads Common Crawl's already-extracted text.
//! The pieces: [`input`] (decompressed stream with offsets for error messages),
//! [`records`] (WARC records via the `warc` crate), [`http`] (the HTTP response in a
//! record), [`charset`] (bytes to text), [`extract`] (main text of a page), [`url_rules`]
//! (allow/deny lists), [`clean_front`] (what `mavuno clean` puts in front of a cleaning
//! pipeline for web input).

pub mod charset;
pub mod clean_front;
pub mod extract;
pub mod extract_html;
pub mod http;
pub mod input;
pub mod records;
pub mod url_filter;
pub mod url_rules;
pub mod warc_reader;
pub mod wet_reader;

/// WARC files for tests, written with the `warc` crate (used by the CLI tests too).
#[doc(hidden)]
pub mod test_warc;

use crate::read::{file_name, OnError};
use mavuno_pipeline::io::expand_globs;
use mavuno_pipeline::{BuildContext, DataError, Emitter, StageError};
use records::{for_each_record, WarcRecord};
use std::path::PathBuf;
use std::sync::Arc;

/// The files a WARC/WET reader reads under `--shard i/n`, and whether it splits records.
pub(crate) struct WarcInputs {
    files: Vec<PathBuf>,
    shard: Option<(u64, u64)>,
}

impl WarcInputs {
    /// Expands the globs and picks this shard's files (or all files, split by record).
    pub(crate) fn new(paths: &[String], ctx: &BuildContext) -> Result<WarcInputs, StageError> {
        let files = expand_globs(paths)?;
        let shard = ctx.record_shard(files.len());
        let files = ctx.shard_files(files);
        Ok(WarcInputs { files, shard })
    }

    /// Reads the files (see [`run_warc_files`]).
    pub(crate) fn run(
        &self,
        on_error: OnError,
        out: &mut Emitter,
        each: impl FnMut(&Arc<str>, u64, WarcRecord, &mut Emitter) -> Result<(), StageError>,
    ) -> Result<(), StageError> {
        out.set_record_shard(self.shard);
        run_warc_files(&self.files, on_error, out, each)
    }
}

/// Reads WARC files in order, handing each record that belongs to this shard to `each`
/// (which must keep, drop or reject it). A truncated or corrupt file is reported through
/// `on_error` (one reject, then the next file) as a [`DataError`] at the bad record.
fn run_warc_files(
    files: &[PathBuf],
    on_error: OnError,
    out: &mut Emitter,
    mut each: impl FnMut(&Arc<str>, u64, WarcRecord, &mut Emitter) -> Result<(), StageError>,
) -> Result<(), StageError> {
    // WARC files are parsed through their own byte counter: progress moves a file at a time.
    let meter = out.read_meter();
    meter.add_files(files);
    for f in files {
        let name = file_name(f);
        let end = for_each_record(f, |n, rec| {
            if out.cancelled() {
                return Ok(false);
            }
            if out.take_next() {
                each(&name, n, rec, out)?;
            }
            Ok(true)
        })?;
        if let Err(bad) = end {
            if out.take_next() {
                on_error.bad(out, DataError::new(&*name, bad.record, bad.message), "")?;
            }
        }
        meter.add_read(std::fs::metadata(f).map(|m| m.len()).unwrap_or(0));
    }
    Ok(())
}

/// Drops a record of a WARC type the reader does not read, counted per type
/// (`warc_type_<type>_total`).
pub(crate) fn drop_other_type(out: &mut Emitter, rec: &WarcRecord, reason: &str) {
    let word: String = rec
        .warc_type
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    out.counter(&format!("warc_type_{word}_total"), 1);
    out.drop(
        mavuno_pipeline::Record::new(rec.record_id.clone(), ""),
        reason,
    );
}
