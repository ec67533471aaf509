//! File helpers shared by the engine and the readers/writers: transparent `.zst`/`.gz`
//! decompression, glob expansion with clear errors, and atomic writes (temp + rename) so
//! that a killed run never leaves a truncated output that looks complete.

use crate::error::StageError;
use crate::read_ahead::ReadAhead;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Opens a file for reading, decompressing `.zst` and `.gz` by extension.
pub fn open_read(path: &Path) -> Result<Box<dyn BufRead + Send>, StageError> {
    let f = File::open(path).map_err(|e| StageError::io(path, e))?;
    open_decoded(path, f, false)
}

/// Like [`open_read`], counting the bytes read from disk into `meter` (readers: the
/// progress bar's ETA, see [`crate::progress`]). A compressed file is decompressed on a
/// thread of its own ([`ReadAhead`]): a reader streams the whole file, so decompression
/// runs alongside its parsing instead of taking turns with it.
pub fn open_read_metered(
    path: &Path,
    meter: &crate::progress::ReadMeter,
) -> Result<Box<dyn BufRead + Send>, StageError> {
    let f = File::open(path).map_err(|e| StageError::io(path, e))?;
    open_decoded(path, meter.wrap(f), true)
}

fn open_decoded<R: Read + Send + 'static>(
    path: &Path,
    f: R,
    ahead: bool,
) -> Result<Box<dyn BufRead + Send>, StageError> {
    let name = path.to_string_lossy();
    let cap = 1 << 20;
    let decoded: Box<dyn Read + Send> = if name.ends_with(".zst") || name.ends_with(".zstd") {
        Box::new(zstd::stream::read::Decoder::new(f).map_err(|e| StageError::io(path, e))?)
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        return Ok(Box::new(BufReader::with_capacity(cap, f)));
    };
    Ok(if ahead {
        Box::new(ReadAhead::new(decoded).map_err(|e| StageError::io(path, e))?)
    } else {
        Box::new(BufReader::with_capacity(cap, decoded))
    })
}

/// Reads a whole (possibly compressed) file into bytes.
pub fn read_all(path: &Path) -> Result<Vec<u8>, StageError> {
    let mut r = open_read(path)?;
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)
        .map_err(|e| StageError::io(path, e))?;
    Ok(buf)
}

/// Expands glob patterns into a sorted, de-duplicated file list. A pattern that matches
/// nothing is an error naming the pattern (a typo must not read as an empty corpus).
pub fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>, StageError> {
    let mut out = Vec::new();
    for p in patterns {
        let mut n = 0;
        let paths = glob::glob(p)
            .map_err(|e| StageError::context(format!("bad glob pattern \"{p}\""), e))?;
        for entry in paths {
            let path = entry.map_err(|e| {
                let path = e.path().to_path_buf();
                StageError::io(path, e.into())
            })?;
            if path.is_file() {
                out.push(path);
                n += 1;
            }
        }
        if n == 0 {
            return Err(StageError::msg(format!("no file matches \"{p}\"")));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A file written under a temporary name and renamed into place by [`AtomicFile::commit`].
/// Dropping it uncommitted leaves only the `.partial` file, which the next run overwrites.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates `<path>.partial` (and parent directories).
    pub fn create(path: &Path) -> Result<AtomicFile, StageError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StageError::io(parent, e))?;
            }
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        let f = File::create(&tmp).map_err(|e| StageError::io(&tmp, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            writer: Some(BufWriter::with_capacity(1 << 20, f)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> Result<PathBuf, StageError> {
        if let Some(w) = self.writer.take() {
            let f = w
                .into_inner()
                .map_err(|e| StageError::io(&self.tmp, e.into_error()))?;
            f.sync_all().map_err(|e| StageError::io(&self.tmp, e))?;
        }
        std::fs::rename(&self.tmp, &self.path).map_err(|e| StageError::io(&self.path, e))?;
        Ok(self.path.clone())
    }

    /// Flushes and moves the unfinished file to `to` instead of its final path (a writer
    /// that must rewrite what it wrote so far). Falls back to copying across file systems.
    pub fn move_to(mut self, to: &Path) -> Result<(), StageError> {
        if let Some(w) = self.writer.take() {
            w.into_inner()
                .map_err(|e| StageError::io(&self.tmp, e.into_error()))?;
        }
        if std::fs::rename(&self.tmp, to).is_err() {
            std::fs::copy(&self.tmp, to).map_err(|e| StageError::io(to, e))?;
            std::fs::remove_file(&self.tmp).map_err(|e| StageError::io(&self.tmp, e))?;
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.writer.as_mut() {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// An output path as writers resolve it: relative paths go under `run_dir`.
pub fn resolve_output(run_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        run_dir.join(p)
    }
}

/// Writes bytes to a path atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StageError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| StageError::io(path, e))?;
    f.commit()?;
    Ok(())
}

/// xxh3-128 of a file's bytes, as 32 hex digits (manifest content hashes).
pub fn hash_file(path: &Path) -> Result<String, StageError> {
    let mut f = File::open(path).map_err(|e| StageError::io(path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| StageError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}
