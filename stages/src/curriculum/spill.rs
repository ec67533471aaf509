//! A spill file for barrier stages: records go to zstd JSON lines under the stage's
//! scratch directory and are replayed in order in `finish`, so a barrier never holds a
//! corpus in memory.
use mavuno_pipeline::cache::{read_record_file, RecordFileWriter};
use mavuno_pipeline::{Record, StageError};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Records written to disk in arrival order.
pub struct Spill {
    path: PathBuf,
    w: Option<RecordFileWriter<BufWriter<File>>>,
    /// Records written so far.
    pub len: u64,
}

impl Spill {
    /// Creates `dir/name` (and `dir`).
    pub fn create(dir: &Path, name: &str) -> Result<Spill, StageError> {
        std::fs::create_dir_all(dir).map_err(|e| StageError::io(dir, e))?;
        let path = dir.join(name);
        let f = File::create(&path).map_err(|e| StageError::io(&path, e))?;
        let w = RecordFileWriter::new(BufWriter::new(f)).map_err(|e| StageError::io(&path, e))?;
        Ok(Spill {
            path,
            w: Some(w),
            len: 0,
        })
    }

    /// Appends a record.
    pub fn push(&mut self, r: &Record) -> Result<(), StageError> {
        let w = self
            .w
            .as_mut()
            .ok_or_else(|| StageError::msg("spill already finished"))?;
        w.write(r).map_err(|e| StageError::io(&self.path, e))?;
        self.len += 1;
        Ok(())
    }

    /// Closes the file; further pushes fail.
    pub fn close(&mut self) -> Result<(), StageError> {
        if let Some(w) = self.w.take() {
            let mut inner = w.finish().map_err(|e| StageError::io(&self.path, e))?;
            std::io::Write::flush(&mut inner).map_err(|e| StageError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Closes the file and replays it in batches of `batch_size`.
    pub fn replay(
        &mut self,
        batch_size: usize,
        mut f: impl FnMut(Vec<Record>) -> Result<(), StageError>,
    ) -> Result<(), StageError> {
        self.close()?;
        let mut err = None;
        read_record_file(&self.path, batch_size.max(1), |b| match f(b) {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        })?;
        err.map_or(Ok(()), Err)
    }
}
