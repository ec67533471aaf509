//! A Parquet file written one row group at a time, with each row group's Arrow arrays
//! built, encoded and compressed on the rayon pool while the writer thread gathers the
//! next one.
//!
//! Compression is most of a Parquet writer's work, and a row group's text column is one
//! long task (a column chunk's pages are compressed in order). `ArrowWriter` does it all
//! on the calling thread, which made the writer the slowest stage of a read → write
//! pipeline. Here up to [`IN_FLIGHT`] row groups are built and encoded at once (on two
//! cores both compress while the reader fills the next), so memory stays at
//! `IN_FLIGHT + 1` row groups: the ones in flight and the one being gathered. Row groups
//! are appended in the order they were queued, so the bytes do not depend on the thread
//! count or on which task finishes first.

use arrow::datatypes::Schema;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use mavuno_pipeline::io::AtomicFile;
use mavuno_pipeline::StageError;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Row groups built and encoded at the same time.
pub(crate) const IN_FLIGHT: usize = 2;

type Encoded = Result<Vec<ArrowColumnChunk>, ParquetError>;

/// An open Parquet file (`<path>.partial` until [`GroupWriter::finish`]).
pub(crate) struct GroupWriter {
    file: SerializedFileWriter<AtomicFile>,
    factory: ArrowRowGroupWriterFactory,
    schema: Arc<Schema>,
    next_group: usize,
    /// Row groups queued and not yet appended, oldest first.
    pending: VecDeque<Receiver<Encoded>>,
    path: PathBuf,
}

fn perr(path: &Path, e: &dyn std::fmt::Display) -> StageError {
    StageError::msg(format!("{}: writing Parquet: {e}", path.display()))
}

impl GroupWriter {
    /// Creates the file with `schema` (the Arrow schema is embedded, as `ArrowWriter` does).
    pub fn create(
        path: &Path,
        schema: Arc<Schema>,
        props: WriterProperties,
    ) -> Result<GroupWriter, StageError> {
        let out = AtomicFile::create(path)?;
        let (file, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| perr(path, &e))?;
        Ok(GroupWriter {
            file,
            factory,
            schema,
            next_group: 0,
            pending: VecDeque::new(),
            path: path.to_path_buf(),
        })
    }

    /// The schema the file was created with.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Queues the next row group: `build` makes its batch (under [`Self::schema`]) on the
    /// pool, where it is then encoded. When [`IN_FLIGHT`] groups are queued the oldest is
    /// appended first (waiting for its encoding if needed).
    pub fn write_with<F>(&mut self, build: F) -> Result<(), StageError>
    where
        F: FnOnce() -> Result<RecordBatch, ArrowError> + Send + 'static,
    {
        while self.pending.len() >= IN_FLIGHT {
            self.append_oldest()?;
        }
        let writers = self
            .factory
            .create_column_writers(self.next_group)
            .map_err(|e| perr(&self.path, &e))?;
        self.next_group += 1;
        let (tx, rx) = sync_channel(1);
        rayon::spawn(move || {
            let encoded = catch_unwind(AssertUnwindSafe(|| encode(writers, &build()?)))
                .unwrap_or_else(|_| {
                    Err(ParquetError::General(
                        "the row-group encoder panicked (a bug: please report it)".into(),
                    ))
                });
            // The receiver is gone only when the writer was dropped (a failed run).
            let _ = tx.send(encoded);
        });
        self.pending.push_back(rx);
        Ok(())
    }

    /// Queues `batch` as the next row group (see [`Self::write_with`]).
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), StageError> {
        self.write_with(move || Ok(batch))
    }

    fn append_oldest(&mut self) -> Result<(), StageError> {
        let Some(rx) = self.pending.pop_front() else {
            return Ok(());
        };
        let chunks = rx
            .recv()
            .map_err(|_| StageError::msg("parquet encoder thread vanished"))?
            .map_err(|e| perr(&self.path, &e))?;
        let mut rg = self
            .file
            .next_row_group()
            .map_err(|e| perr(&self.path, &e))?;
        for c in chunks {
            c.append_to_row_group(&mut rg)
                .map_err(|e| perr(&self.path, &e))?;
        }
        rg.close().map_err(|e| perr(&self.path, &e))?;
        Ok(())
    }

    /// Appends the queued row groups, writes the footer and returns the uncommitted file.
    pub fn finish(mut self) -> Result<AtomicFile, StageError> {
        while !self.pending.is_empty() {
            self.append_oldest()?;
        }
        self.file.into_inner().map_err(|e| perr(&self.path, &e))
    }
}

/// Encodes one row group: every leaf column on its own pool task.
fn encode(writers: Vec<ArrowColumnWriter>, batch: &RecordBatch) -> Encoded {
    let mut leaves = Vec::with_capacity(writers.len());
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        leaves.extend(compute_leaves(field, col)?);
    }
    writers
        .into_par_iter()
        .zip(leaves)
        .map(|(mut w, leaf)| {
            w.write(&leaf)?;
            w.close()
        })
        .collect()
}
