//! The map phase shared by the global dedup stages in a sharded run: every record's keys
//! go to the shard's map file (`mavuno_pipeline::global::MapWriter`) and the record passes
//! through unchanged; a record the stage cannot key is rejected, as a single run would.

use mavuno_pipeline::global::MapWriter;
use mavuno_pipeline::{Batch, Emitter, Record, Stage, StageError};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A record's keys as the stage encodes them.
pub(crate) type Payload = Vec<u8>;

/// The map-phase stage: `key` computes a record's payload (in parallel) or the reason
/// it is rejected.
pub(crate) struct MapStage<F> {
    key: F,
    writer: Option<MapWriter>,
    ordinal: u64,
    written: Vec<PathBuf>,
}

impl<F> MapStage<F>
where
    F: Fn(&Record) -> Result<Payload, String> + Send + Sync,
{
    /// A stage writing `file`.
    pub(crate) fn create(file: &Path, key: F) -> Result<MapStage<F>, StageError> {
        Ok(MapStage {
            key,
            writer: Some(MapWriter::create(file)?),
            ordinal: 0,
            written: Vec::new(),
        })
    }
}

impl<F> Stage for MapStage<F>
where
    F: Fn(&Record) -> Result<Payload, String> + Send + Sync,
{
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        let key = &self.key;
        let payloads: Vec<Result<Payload, String>> = batch.par_iter().map(key).collect();
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| StageError::msg("map file already committed"))?;
        for (rec, p) in batch.into_iter().zip(payloads) {
            let ordinal = self.ordinal;
            self.ordinal += 1;
            match p {
                Ok(p) => {
                    w.write(ordinal, &rec, &p)?;
                    out.keep(rec);
                }
                Err(e) => out.reject(rec, e),
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter) -> Result<(), StageError> {
        if let Some(w) = self.writer.take() {
            self.written.push(w.commit()?);
        }
        Ok(())
    }

    fn outputs(&self) -> Vec<PathBuf> {
        self.written.clone()
    }
}
