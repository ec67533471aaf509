//! The map phase shared by the global dedup stages in a sharded run: every record's keys
//! go to the shard's map file (`mavuno_pipeline::global::MapWriter`), and its side data
//! (data the reduce reads for a few records only) to the side file when the stage has
//! one; the record passes through unchanged; a record the stage cannot key is rejected,
//! as a single run would.

use mavuno_pipeline::global::MapWriter;
use mavuno_pipeline::{Batch, Emitter, Record, Stage, StageError};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A record's keys as the stage encodes them, and its side data (empty for a stage
/// without a side file).
pub(crate) struct Payload {
    /// The map row's payload.
    pub(crate) keys: Vec<u8>,
    /// The side file's row.
    pub(crate) side: Vec<u8>,
}

impl From<Vec<u8>> for Payload {
    fn from(keys: Vec<u8>) -> Payload {
        Payload {
            keys,
            side: Vec::new(),
        }
    }
}

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
    /// A stage writing `file`, and the side file `side` if given.
    pub(crate) fn create(
        file: &Path,
        side: Option<&Path>,
        key: F,
    ) -> Result<MapStage<F>, StageError> {
        let mut writer = MapWriter::create(file)?;
        if let Some(side) = side {
            writer = writer.with_side(side)?;
        }
        Ok(MapStage {
            key,
            writer: Some(writer),
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
                    w.write(ordinal, &rec, &p.keys, &p.side)?;
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
