//! Candidate-pair files of the `dedup_near` reduce: what a band-range task hands to the
//! cluster step. Each is a zstd stream of fixed 24-byte rows `(later, earlier,
//! similarity)` — two global positions (the order of `merge_global`) and the similarity
//! of the pair — sorted by `(later, earlier)`, holding only pairs at or above the
//! threshold.

use mavuno_pipeline::global::{zst_commit, zst_create, zst_open, ZstReader, ZstWriter};
use mavuno_pipeline::StageError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One similar pair: `earlier < later` in global order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pair {
    pub(crate) later: u64,
    pub(crate) earlier: u64,
    pub(crate) sim: f64,
}

const ROW: usize = 24;

/// Writes a pair file; rows must come sorted.
pub(crate) struct PairWriter {
    enc: ZstWriter,
    path: PathBuf,
    last: Option<(u64, u64)>,
}

impl PairWriter {
    pub(crate) fn create(path: &Path) -> Result<PairWriter, StageError> {
        Ok(PairWriter {
            enc: zst_create(path)?,
            path: path.to_path_buf(),
            last: None,
        })
    }

    pub(crate) fn write(&mut self, p: Pair) -> Result<(), StageError> {
        if self.last.is_some_and(|l| l >= (p.later, p.earlier)) || p.earlier >= p.later {
            return Err(StageError::msg(format!(
                "{}: pair ({}, {}) out of order (a bug)",
                self.path.display(),
                p.later,
                p.earlier
            )));
        }
        self.last = Some((p.later, p.earlier));
        let mut b = [0u8; ROW];
        b[..8].copy_from_slice(&p.later.to_le_bytes());
        b[8..16].copy_from_slice(&p.earlier.to_le_bytes());
        b[16..].copy_from_slice(&p.sim.to_le_bytes());
        self.enc
            .write_all(&b)
            .map_err(|e| StageError::io(&self.path, e))
    }

    /// Ends the stream and renames the file into place.
    pub(crate) fn commit(self) -> Result<PathBuf, StageError> {
        zst_commit(self.enc, &self.path)
    }
}

/// Reads a pair file in order, with one row of look-ahead.
pub(crate) struct PairReader {
    dec: ZstReader,
    path: PathBuf,
    head: Option<Pair>,
}

impl PairReader {
    pub(crate) fn open(path: &Path) -> Result<PairReader, StageError> {
        let mut r = PairReader {
            dec: zst_open(path)?,
            path: path.to_path_buf(),
            head: None,
        };
        r.advance()?;
        Ok(r)
    }

    /// The next pair, not consumed.
    pub(crate) fn peek(&self) -> Option<Pair> {
        self.head
    }

    /// Consumes the head and reads the next row.
    pub(crate) fn advance(&mut self) -> Result<(), StageError> {
        let mut b = [0u8; ROW];
        let mut got = 0;
        while got < ROW {
            let n = self
                .dec
                .read(&mut b[got..])
                .map_err(|e| StageError::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        self.head = match got {
            0 => None,
            ROW => {
                let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
                Some(Pair {
                    later: u(0),
                    earlier: u(8),
                    sim: f64::from_bits(u(16)),
                })
            }
            _ => {
                return Err(StageError::msg(format!(
                    "{}: corrupt pair file (truncated row)",
                    self.path.display()
                )))
            }
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_in_order_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p/range-0-of-1.bin.zst");
        let mut w = PairWriter::create(&path).unwrap();
        let rows = [(3, 1, 0.75), (3, 2, 0.9), (9, 0, 1.0)];
        for (later, earlier, sim) in rows {
            w.write(Pair {
                later,
                earlier,
                sim,
            })
            .unwrap();
        }
        assert!(w
            .write(Pair {
                later: 9,
                earlier: 0,
                sim: 1.0
            })
            .is_err());
        assert!(w
            .write(Pair {
                later: 10,
                earlier: 10,
                sim: 1.0
            })
            .is_err());
        w.commit().unwrap();
        let mut r = PairReader::open(&path).unwrap();
        let mut seen = Vec::new();
        while let Some(p) = r.peek() {
            seen.push((p.later, p.earlier, p.sim));
            r.advance().unwrap();
        }
        assert_eq!(seen, rows);
        // A truncated file is an error, not a short list.
        let bytes = zstd::encode_all(&[0u8; 30][..], 1).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let mut r = PairReader::open(&path).unwrap();
        assert!(r.peek().is_some());
        assert!(r.advance().is_err());
    }
}
