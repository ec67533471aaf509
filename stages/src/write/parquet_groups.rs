//! A Parquet file written one row group at a time, with each row group's columns encoded
//! and compressed on the rayon pool while the writer thread gathers the next one.
//!
//! Compression is most of a Parquet writer's work. `ArrowWriter` does it on the calling
//! thread, which made the writer the slowest stage of a read → write pipeline; here the
//! writer thread only builds Arrow arrays, and one row group at a time is in flight, so
//! memory stays at two row groups. Row groups are appended in order, so the bytes do not
//! depend on the thread count.

use arrow::datatypes::Schema;
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
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

type Encoded = Result<Vec<ArrowColumnChunk>, ParquetError>;

/// An open Parquet file (`<path>.partial` until [`GroupWriter::finish`]).
pub(crate) struct GroupWriter {
    file: SerializedFileWriter<AtomicFile>,
    factory: ArrowRowGroupWriterFactory,
    schema: Arc<Schema>,
    next_group: usize,
    pending: Option<Receiver<Encoded>>,
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
            pending: None,
            path: path.to_path_buf(),
        })
    }

    /// The schema the file was created with.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Queues `batch` as the next row group: the previous one is appended first (waiting
    /// for its encoding if needed), then this one is encoded on the pool.
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), StageError> {
        self.append_pending()?;
        let writers = self
            .factory
            .create_column_writers(self.next_group)
            .map_err(|e| perr(&self.path, &e))?;
        self.next_group += 1;
        let (tx, rx) = sync_channel(1);
        rayon::spawn(move || {
            let _ = tx.send(encode(writers, &batch));
        });
        self.pending = Some(rx);
        Ok(())
    }

    fn append_pending(&mut self) -> Result<(), StageError> {
        let Some(rx) = self.pending.take() else {
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

    /// Appends the last row group, writes the footer and returns the uncommitted file.
    pub fn finish(mut self) -> Result<AtomicFile, StageError> {
        self.append_pending()?;
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
