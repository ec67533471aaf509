//! Writers: stage types that write their input records to files and pass them through
//! unchanged (so a writer can sit in the middle of a DAG).
//!
//! Every writer writes under a temporary name and renames into place in `finish`
//! ([`AtomicFile`]), so a killed run never leaves a complete-looking truncated output.
//! Relative paths resolve under the run directory. Text formats are compressed by
//! extension: `.zst` (zstd) and `.gz` (gzip).

mod arrow_columns;
pub mod conll_writer;
pub mod conllu_writer;
pub mod jsonl_writer;
mod parquet_groups;
pub mod parquet_writer;
pub mod text_writer;

use mavuno_pipeline::config::Validator;
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::StageError;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A text output file, compressed by extension, written atomically.
pub(crate) enum OutFile {
    /// Uncompressed.
    Plain(AtomicFile),
    /// `.zst`.
    Zstd(zstd::stream::write::Encoder<'static, AtomicFile>),
    /// `.gz`.
    Gz(flate2::write::GzEncoder<AtomicFile>),
}

impl OutFile {
    /// Creates `<path>.partial`; `level` is the zstd level for `.zst`.
    pub fn create(path: &Path, level: i32) -> Result<OutFile, StageError> {
        let f = AtomicFile::create(path)?;
        let name = path.to_string_lossy();
        Ok(if name.ends_with(".zst") {
            OutFile::Zstd(
                zstd::stream::write::Encoder::new(f, level).map_err(|e| StageError::io(path, e))?,
            )
        } else if name.ends_with(".gz") {
            OutFile::Gz(flate2::write::GzEncoder::new(
                f,
                flate2::Compression::default(),
            ))
        } else {
            OutFile::Plain(f)
        })
    }

    /// Finishes compression and renames the file into place.
    pub fn commit(self, path: &Path) -> Result<PathBuf, StageError> {
        let f = match self {
            OutFile::Plain(f) => f,
            OutFile::Zstd(e) => e.finish().map_err(|e| StageError::io(path, e))?,
            OutFile::Gz(e) => e.finish().map_err(|e| StageError::io(path, e))?,
        };
        f.commit()
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            OutFile::Plain(f) => f.write(buf),
            OutFile::Zstd(e) => e.write(buf),
            OutFile::Gz(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutFile::Plain(f) => f.flush(),
            OutFile::Zstd(e) => e.flush(),
            OutFile::Gz(e) => e.flush(),
        }
    }
}

/// A lazily created output: the file appears (as `.partial`) on the first record or at
/// `finish`, never at build time (a cached stage is built but not run).
pub(crate) struct Output {
    /// Final path.
    pub path: PathBuf,
    level: i32,
    file: Option<OutFile>,
    written: Vec<PathBuf>,
}

impl Output {
    /// An output at `path` (already resolved against the run directory).
    pub fn new(path: PathBuf, level: i32) -> Output {
        Output {
            path,
            level,
            file: None,
            written: Vec::new(),
        }
    }

    /// The open file.
    pub fn file(&mut self) -> Result<&mut OutFile, StageError> {
        if self.file.is_none() {
            self.file = Some(OutFile::create(&self.path, self.level)?);
        }
        match self.file.as_mut() {
            Some(f) => Ok(f),
            None => Err(StageError::msg("output file not open")),
        }
    }

    /// Writes bytes, naming the path on error.
    pub fn write_all(&mut self, b: &[u8]) -> Result<(), StageError> {
        let path = self.path.clone();
        self.file()?
            .write_all(b)
            .map_err(|e| StageError::io(path, e))
    }

    /// Commits the file (creating an empty one if nothing was written).
    pub fn commit(&mut self) -> Result<(), StageError> {
        self.file()?;
        if let Some(f) = self.file.take() {
            self.written.push(f.commit(&self.path)?);
        }
        Ok(())
    }

    /// Paths written, for `outputs()`.
    pub fn written(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}

/// Checks a writer's `path`.
pub(crate) fn validate_path(v: &mut Validator, path: &str) {
    if path.trim().is_empty() {
        v.error("path", "must not be empty");
    } else if path.ends_with('/') {
        v.error("path", "must name a file, not a directory");
    }
}

/// Replaces line breaks (and other vertical whitespace) with spaces: one record per line.
pub(crate) fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([
        '\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{b}', '\u{c}',
    ]) {
        s.replace(
            [
                '\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{b}', '\u{c}',
            ],
            " ",
        )
        .into()
    } else {
        s.into()
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use mavuno_pipeline::{BuildContext, Emitter, Record, StageConfig, StageImpl};
    use std::path::{Path, PathBuf};

    /// Builds a writer, feeds `recs` in batches of 2, finishes; returns the pass-through
    /// records, the rejected count and the outputs.
    pub fn run_writer<C: StageConfig>(
        cfg: &C,
        dir: &Path,
        recs: &[Record],
    ) -> (Vec<Record>, u64, Vec<PathBuf>) {
        let ctx = BuildContext::for_tests(dir);
        std::fs::create_dir_all(&ctx.scratch_dir).unwrap();
        let StageImpl::Stage(mut s) = cfg.build(&ctx).unwrap() else {
            panic!("not a stage")
        };
        let mut out = Emitter::collecting(4);
        for chunk in recs.chunks(2) {
            s.process(chunk.to_vec(), &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        let rejected = out.counts().rejected;
        (out.take_collected(), rejected, s.outputs())
    }

    /// Like [`run_writer`] but returns the stage's error, if any.
    pub fn try_run_writer<C: StageConfig>(
        cfg: &C,
        dir: &Path,
        recs: &[Record],
    ) -> Result<Vec<PathBuf>, String> {
        let ctx = BuildContext::for_tests(dir);
        std::fs::create_dir_all(&ctx.scratch_dir).unwrap();
        let StageImpl::Stage(mut s) = cfg.build(&ctx).map_err(|e| e.to_string())? else {
            panic!("not a stage")
        };
        let mut out = Emitter::collecting(4);
        s.process(recs.to_vec(), &mut out)
            .map_err(|e| e.to_string())?;
        s.finish(&mut out).map_err(|e| e.to_string())?;
        Ok(s.outputs())
    }
}
