//! The keep-first rule of `dedup_near`, shared by the single run ([`super::DedupNear`])
//! and the reduce of a sharded run ([`super::global`]): records are decided in global
//! order against an LSH index of the records kept so far; a record whose similarity with
//! a kept candidate (the earliest one that qualifies) is at least the threshold is a near
//! duplicate of it, otherwise it is kept and indexed.

use super::super::minhash::{jaccard, LshIndex};
use mavuno_pipeline::StageError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// What the decision needs of one record: its shingles (for `verify`), signature and
/// band keys (none when the text has no shingle).
pub(crate) struct Prepared {
    pub(crate) shingles: Vec<u64>,
    pub(crate) sig: Vec<u64>,
    pub(crate) keys: Vec<u64>,
}

/// The decision on one record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Nothing to compare (empty after normalisation): kept, not indexed.
    Unindexed,
    /// Kept and indexed as document `doc`; `best` is its highest similarity (below the
    /// threshold) with a candidate, 0 when it had none.
    Kept { doc: u32, best: f64 },
    /// A near duplicate of kept document `doc`; `first` when it is that document's first.
    Dup { doc: u32, sim: f64, first: bool },
}

/// Lists of 64-bit values (kept records' shingle sets for `verify = true`; candidates'
/// signatures or shingles in a band-range task of the reduce) appended to a scratch
/// file, read back by their number.
pub(super) struct ShingleSpill {
    path: PathBuf,
    file: File,
    /// Start of each kept record's shingles, plus the end: `offsets[d]..offsets[d + 1]`.
    offsets: Vec<u64>,
}

impl ShingleSpill {
    pub(super) fn create(path: PathBuf) -> Result<ShingleSpill, StageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StageError::io(dir, e))?;
        }
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StageError::io(&path, e))?;
        Ok(ShingleSpill {
            path,
            file,
            offsets: vec![0],
        })
    }

    pub(super) fn push(&mut self, shingles: &[u64]) -> Result<(), StageError> {
        let bytes: Vec<u8> = shingles.iter().flat_map(|s| s.to_le_bytes()).collect();
        let end = self.offsets.last().copied().unwrap_or(0);
        self.file
            .seek(SeekFrom::Start(end))
            .and_then(|_| self.file.write_all(&bytes))
            .map_err(|e| StageError::io(&self.path, e))?;
        self.offsets.push(end + bytes.len() as u64);
        Ok(())
    }

    pub(super) fn get(&mut self, doc: u32) -> Result<Vec<u64>, StageError> {
        let d = doc as usize;
        let (Some(&start), Some(&end)) = (self.offsets.get(d), self.offsets.get(d + 1)) else {
            return Ok(Vec::new());
        };
        let mut bytes = vec![0u8; (end - start) as usize];
        self.file
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| StageError::io(&self.path, e))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    }

    /// Deletes the file.
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The index of kept records and their ids.
pub(crate) struct NearIndex {
    threshold: f64,
    index: LshIndex,
    /// Ids of indexed (kept) records, concatenated; `id_ends[d]` ends record `d`'s id.
    ids: String,
    id_ends: Vec<usize>,
    /// One bit per kept record: whether it already has a near duplicate.
    has_dup: Vec<u64>,
    spill: Option<ShingleSpill>,
}

impl NearIndex {
    /// An empty index; `spill` is where kept shingles go when candidates are verified
    /// with the exact Jaccard.
    pub(crate) fn new(
        bands: usize,
        rows: usize,
        threshold: f64,
        spill: Option<PathBuf>,
    ) -> Result<NearIndex, StageError> {
        Ok(NearIndex {
            threshold,
            index: LshIndex::new(bands, rows),
            ids: String::new(),
            id_ends: Vec::new(),
            has_dup: Vec::new(),
            spill: spill.map(ShingleSpill::create).transpose()?,
        })
    }

    /// The LSH index (for reporting its size).
    pub(crate) fn lsh(&self) -> &LshIndex {
        &self.index
    }

    /// The id of kept document `doc`.
    pub(crate) fn kept_id(&self, doc: u32) -> &str {
        let d = doc as usize;
        let start = if d == 0 { 0 } else { self.id_ends[d - 1] };
        &self.ids[start..self.id_ends[d]]
    }

    /// Decides record `id` (see the module docs); `checks` counts similarity checks.
    pub(crate) fn decide(
        &mut self,
        id: &str,
        p: &Prepared,
        checks: &mut u64,
    ) -> Result<Verdict, StageError> {
        if p.keys.is_empty() {
            return Ok(Verdict::Unindexed);
        }
        let mut best = 0f64;
        for c in self.index.candidates(&p.keys) {
            *checks += 1;
            let sim = match self.spill.as_mut() {
                Some(spill) => jaccard(&spill.get(c)?, &p.shingles),
                None => self.index.estimated_jaccard_with(c, &p.sig),
            };
            if sim >= self.threshold {
                let (word, bit) = (c as usize / 64, 1u64 << (c % 64));
                let first = self.has_dup[word] & bit == 0;
                self.has_dup[word] |= bit;
                return Ok(Verdict::Dup { doc: c, sim, first });
            }
            best = best.max(sim);
        }
        let doc = self.index.insert(&p.keys, &p.sig);
        if doc as usize / 64 >= self.has_dup.len() {
            self.has_dup.push(0);
        }
        self.ids.push_str(id);
        self.id_ends.push(self.ids.len());
        if let Some(spill) = self.spill.as_mut() {
            spill.push(&p.shingles)?;
        }
        Ok(Verdict::Kept { doc, best })
    }

    /// Removes the spill file.
    pub(crate) fn close(&mut self) {
        if let Some(spill) = self.spill.take() {
            spill.remove();
        }
    }
}
