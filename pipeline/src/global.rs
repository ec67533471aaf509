//! Global stages in sharded runs: what the three phases exchange on disk.
//!
//! A *global* stage (exact and near dedup) needs the whole corpus to decide. In a run
//! with `--shard i/n` it runs in three phases:
//! 1. **map**: each shard runs up to the stage, which writes one row per record it would
//!    decide on (its global position, id and the stage's keys) to a [`MapWriter`] file,
//!    `<workdir>/<name>/global/<stage>/map/shard-i-of-n.bin.zst`, and optionally per row
//!    data that a reduce needs for a few rows only (`dedup_near`'s signatures) to an
//!    uncompressed side file, `…/side/shard-i-of-n.bin`, which a reduce skips through
//!    ([`SideReader`]) instead of decompressing it with the keys on every pass;
//! 2. **reduce** (`mavuno reduce`): the stage's reduce reads every shard's map file in
//!    global order ([`merge_global`]), applies the same keep-first rule as a single run,
//!    and writes per shard a sorted decision list ([`DecisionWriter`]) and a completion
//!    marker per range of the reduce ([`GlobalDir::range_marker`]);
//! 3. **apply**: each shard runs again; the engine replays the stages before the global
//!    stage from their checkpoints and the stage applies its decisions
//!    ([`Decisions`]) to the same records in the same order.
//!
//! The global position of a record is its source file, then its line (readers list files
//! sorted, so that is the single run's order); records that share both (the sentences of
//! one line) keep their order within the shard that holds them.

use crate::error::StageError;
use crate::io::AtomicFile;
use crate::record::Record;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a global stage does in this run (set by the engine in [`crate::BuildContext`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobalPhase {
    /// Write this shard's map file and pass every record through.
    Map {
        /// The map file to write.
        file: PathBuf,
        /// The side file, for a stage that writes one ([`MapWriter::with_side`]).
        side: PathBuf,
    },
    /// Apply the decision lists of every range of the reduce.
    Apply {
        /// One decision file per range, for this shard.
        decisions: Vec<PathBuf>,
    },
}

impl GlobalPhase {
    /// What goes into the stage's content key: the phase and the decisions' sizes, so a
    /// new reduce makes the shard apply again.
    pub fn key_tag(&self) -> serde_json::Value {
        match self {
            GlobalPhase::Map { .. } => serde_json::json!("map"),
            GlobalPhase::Apply { decisions } => serde_json::json!({
                "apply": decisions
                    .iter()
                    .map(|d| (d.display().to_string(), std::fs::metadata(d).map(|m| m.len()).ok()))
                    .collect::<Vec<_>>()
            }),
        }
    }
}

/// `<workdir>/<name>/global/<stage>/`: a global stage's map files, decisions and markers.
#[derive(Clone, Debug)]
pub struct GlobalDir {
    dir: PathBuf,
}

/// Subdirectory of the decision lists and their markers.
pub const DECISIONS: &str = "decisions";
/// Subdirectory of the candidate pairs of a two-step reduce and their markers.
pub const PAIRS: &str = "pairs";

fn shard_name(i: u64, n: u64) -> String {
    format!("shard-{i}-of-{n}.bin.zst")
}

fn parse_of(s: &str, prefix: &str, suffix: &str) -> Option<(u64, u64)> {
    let (i, n) = s
        .strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .split_once("-of-")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

impl GlobalDir {
    /// The directory of stage `stage` under the unsharded run directory `base`.
    pub fn new(base: &Path, stage: &str) -> GlobalDir {
        GlobalDir {
            dir: base.join("global").join(stage),
        }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Shard `i` of `n`'s map file.
    pub fn map_file(&self, i: u64, n: u64) -> PathBuf {
        self.dir.join("map").join(shard_name(i, n))
    }

    /// Shard `i` of `n`'s side file (see the module docs).
    pub fn side_file(&self, i: u64, n: u64) -> PathBuf {
        self.dir
            .join("side")
            .join(shard_name(i, n).replace(".bin.zst", ".bin"))
    }

    /// Every shard's map file, in shard order. Errors name what is missing: the map
    /// phase of every shard must be complete before a reduce.
    pub fn map_files(&self) -> Result<Vec<PathBuf>, StageError> {
        let d = self.dir.join("map");
        let mut found: Vec<(u64, u64)> = std::fs::read_dir(&d)
            .map_err(|e| {
                StageError::context(
                    format!("no map files in {}: run every shard first", d.display()),
                    e,
                )
            })?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_of(&e.file_name().to_string_lossy(), "shard-", ".bin.zst"))
            .collect();
        found.sort_unstable();
        let Some(&(_, n)) = found.first() else {
            return Err(StageError::msg(format!(
                "no map files in {}: run every shard first",
                d.display()
            )));
        };
        if found.iter().any(|&(_, m)| m != n) {
            return Err(StageError::msg(format!(
                "{} holds map files of different shard counts; remove the stale ones",
                d.display()
            )));
        }
        let missing: Vec<String> = (0..n)
            .filter(|i| !found.contains(&(*i, n)))
            .map(|i| format!("{i}/{n}"))
            .collect();
        if !missing.is_empty() {
            return Err(StageError::msg(format!(
                "map phase incomplete in {}: shards {} have not finished",
                d.display(),
                missing.join(", ")
            )));
        }
        Ok((0..n).map(|i| self.map_file(i, n)).collect())
    }

    /// The decision file of range `k` of `K` for shard `i` of `n`.
    pub fn decision_file(&self, range: (u64, u64), shard: (u64, u64)) -> PathBuf {
        self.dir
            .join("decisions")
            .join(format!("range-{}-of-{}", range.0, range.1))
            .join(shard_name(shard.0, shard.1))
    }

    /// The completion marker of range `k` of `K` (written last by its reduce).
    pub fn range_marker(&self, range: (u64, u64)) -> PathBuf {
        self.marker_in(DECISIONS, range)
    }

    /// The completion marker of range `k` of `K` under `sub` (`decisions`, or `pairs` for
    /// a reduce in two steps).
    pub fn marker_in(&self, sub: &str, range: (u64, u64)) -> PathBuf {
        self.dir
            .join(sub)
            .join(format!("range-{}-of-{}.done.json", range.0, range.1))
    }

    /// The candidate-pair file of range `k` of `K` (first step of a two-step reduce).
    pub fn pairs_file(&self, range: (u64, u64)) -> PathBuf {
        self.dir
            .join(PAIRS)
            .join(format!("range-{}-of-{}.bin.zst", range.0, range.1))
    }

    /// The range count `K` whose markers under `sub` are all present (0 … K − 1) and
    /// were written from `shards` map files as they are now; `None` otherwise.
    pub fn complete_ranges(&self, sub: &str, shards: u64) -> Option<u64> {
        let d = self.dir.join(sub);
        let markers: Vec<(u64, u64)> = std::fs::read_dir(&d)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_of(&e.file_name().to_string_lossy(), "range-", ".done.json"))
            .collect();
        let count = markers.first()?.1;
        if (0..count).any(|k| !markers.contains(&(k, count))) {
            return None;
        }
        for k in 0..count {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(self.marker_in(sub, (k, count))).ok()?)
                    .ok()?;
            if m["shards"].as_u64() != Some(shards) || !self.maps_unchanged(&m["maps"]) {
                return None;
            }
        }
        Some(count)
    }

    /// The decision files of shard `i` of `n`, if the reduce of every range is complete
    /// and was computed from the map files as they are now.
    pub fn decisions_for(&self, shard: (u64, u64)) -> Option<Vec<PathBuf>> {
        let count = self.complete_ranges(DECISIONS, shard.1)?;
        let files: Vec<PathBuf> = (0..count)
            .map(|k| self.decision_file((k, count), shard))
            .collect();
        files.iter().all(|f| f.is_file()).then_some(files)
    }

    /// Sizes of the map files, as a reduce records them in its marker.
    pub fn map_sizes(maps: &[PathBuf]) -> serde_json::Value {
        serde_json::json!(maps
            .iter()
            .map(|m| (
                m.display().to_string(),
                std::fs::metadata(m).map(|x| x.len()).ok()
            ))
            .collect::<Vec<_>>())
    }

    fn maps_unchanged(&self, recorded: &serde_json::Value) -> bool {
        let Some(list) = recorded.as_array() else {
            return false;
        };
        list.iter().all(|e| {
            let (Some(p), Some(len)) = (e[0].as_str(), e[1].as_u64()) else {
                return false;
            };
            std::fs::metadata(p).map(|m| m.len()).ok() == Some(len)
        })
    }
}

/// What a stage's reduce gets from `mavuno reduce`.
#[derive(Clone, Debug)]
pub struct ReduceContext {
    /// The stage id.
    pub stage_id: String,
    /// The stage's seed.
    pub seed: u64,
    /// The stage's global directory.
    pub dir: GlobalDir,
    /// The unsharded run directory (`<workdir>/<name>`), where a single run writes its
    /// outputs: a reduce that writes a whole-corpus output (`order_curriculum`'s
    /// manifest) resolves relative paths against it.
    pub run_dir: PathBuf,
    /// Every shard's map file, in shard order.
    pub maps: Vec<PathBuf>,
    /// This task's range `(k, K)`: part `k` of the stage's keys split `K` ways.
    pub range: (u64, u64),
    /// Scratch space for spills, emptied before the reduce.
    pub scratch_dir: PathBuf,
    /// The cluster step of a reduce in two steps (`dedup_near`: one task per band range
    /// writes candidate pairs, then one task joins them); `range` is then `(0, 1)`.
    pub cluster: bool,
}

impl ReduceContext {
    /// Number of shards.
    pub fn shards(&self) -> u64 {
        self.maps.len() as u64
    }

    /// A writer for shard `i`'s decisions of this range.
    pub fn decision_writer(&self, i: u64) -> Result<DecisionWriter, StageError> {
        DecisionWriter::create(&self.dir.decision_file(self.range, (i, self.shards())))
    }

    /// Writes this range's completion marker (with the stage's statistics) and removes
    /// markers of other range counts, which a new reduce replaces.
    pub fn complete(&self, stats: serde_json::Value) -> Result<(), StageError> {
        self.complete_in(DECISIONS, stats)
    }

    /// [`ReduceContext::complete`] for the markers under `sub` (see [`GlobalDir::marker_in`]).
    pub fn complete_in(&self, sub: &str, stats: serde_json::Value) -> Result<(), StageError> {
        let marker = self.dir.marker_in(sub, self.range);
        if let Ok(rd) = std::fs::read_dir(self.dir.path().join(sub)) {
            for e in rd.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().to_string();
                if let Some((_, k)) = parse_of(&name, "range-", ".done.json") {
                    if k != self.range.1 {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        let m = serde_json::json!({
            "stage": self.stage_id,
            "range": [self.range.0, self.range.1],
            "shards": self.shards(),
            "maps": GlobalDir::map_sizes(&self.maps),
            "stats": stats,
        });
        crate::io::write_atomic(&marker, &serde_json::to_vec_pretty(&m).unwrap_or_default())
    }
}

fn put_bytes(w: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    w.write_all(&(b.len() as u32).to_le_bytes())?;
    w.write_all(b)
}

fn get_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn get_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn get_bytes(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let n = get_u32(r)? as usize;
    let mut b = vec![0u8; n];
    r.read_exact(&mut b)?;
    Ok(b)
}

/// Bytes as a string: ids are written from `String`s, so the check passes and the
/// bytes are kept without a copy (a lossy copy only if the file was damaged).
fn utf8(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Reads one tag byte; `None` at a clean end of file.
fn get_tag(r: &mut impl Read) -> std::io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    match r.read(&mut b)? {
        0 => Ok(None),
        _ => Ok(Some(b[0])),
    }
}

/// One row of a map file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRow {
    /// The record's position among the records that entered the stage in its shard.
    pub ordinal: u64,
    /// Its source file.
    pub file: Arc<str>,
    /// Its source line (or row).
    pub line: u64,
    /// Its id.
    pub id: String,
    /// The stage's keys for it.
    pub payload: Vec<u8>,
}

/// A zstd stream into an atomic file, behind a buffer: rows are written a few bytes at
/// a time, and each unbuffered write would be one call into the compressor.
pub type ZstWriter = std::io::BufWriter<zstd::stream::write::Encoder<'static, AtomicFile>>;

/// A zstd stream read from a file, behind a buffer: rows are read a few bytes at a time,
/// and each unbuffered read would be one call into the decompressor (which then cost
/// more than the decompression itself).
pub type ZstReader = BufReader<zstd::stream::read::Decoder<'static, BufReader<std::fs::File>>>;

/// Buffer of a [`ZstWriter`] or [`ZstReader`].
const ZST_BUF: usize = 1 << 16;

/// A zstd stream (level 1) into an atomic file (map, decision and pair files).
pub fn zst_create(path: &Path) -> Result<ZstWriter, StageError> {
    let f = AtomicFile::create(path)?;
    let enc = zstd::stream::write::Encoder::new(f, 1).map_err(|e| StageError::io(path, e))?;
    Ok(std::io::BufWriter::with_capacity(ZST_BUF, enc))
}

/// Opens a zstd file for reading.
pub fn zst_open(path: &Path) -> Result<ZstReader, StageError> {
    let f = std::fs::File::open(path).map_err(|e| StageError::io(path, e))?;
    let dec = zstd::stream::read::Decoder::new(f).map_err(|e| StageError::io(path, e))?;
    Ok(BufReader::with_capacity(ZST_BUF, dec))
}

/// Ends the zstd stream and renames the file into place.
pub fn zst_commit(w: ZstWriter, path: &Path) -> Result<PathBuf, StageError> {
    w.into_inner()
        .map_err(|e| StageError::io(path, e.into_error()))?
        .finish()
        .map_err(|e| StageError::io(path, e))?
        .commit()
}

const TAG_FILE: u8 = 0;
const TAG_ROW: u8 = 1;

/// Writes a shard's map file (zstd): a file name each time the source file changes,
/// then rows; and, when created [`MapWriter::with_side`], its side file: per row, the
/// length and bytes of its side data, uncompressed. Committed atomically by
/// [`MapWriter::commit`] (the side file first, so a map file never lacks its side file).
pub struct MapWriter {
    enc: ZstWriter,
    last_file: Option<Arc<str>>,
    path: PathBuf,
    side: Option<AtomicFile>,
}

impl MapWriter {
    /// Creates the file under its temporary name.
    pub fn create(path: &Path) -> Result<MapWriter, StageError> {
        Ok(MapWriter {
            enc: zst_create(path)?,
            last_file: None,
            path: path.to_path_buf(),
            side: None,
        })
    }

    /// Also writes the side file `side` (see the module docs).
    pub fn with_side(mut self, side: &Path) -> Result<MapWriter, StageError> {
        self.side = Some(AtomicFile::create(side)?);
        Ok(self)
    }

    /// Appends the row of record `rec` (the `ordinal`-th that entered the stage), and
    /// its `side` data to the side file (a writer without one takes only empty data).
    /// Records without a source cannot be placed in the global order: an error.
    pub fn write(
        &mut self,
        ordinal: u64,
        rec: &Record,
        payload: &[u8],
        side: &[u8],
    ) -> Result<(), StageError> {
        let Some(src) = &rec.source else {
            return Err(StageError::msg(format!(
                "record {} has no source file and line: a global stage in a sharded run orders records by them",
                rec.id
            )));
        };
        let io = |e| StageError::io(&self.path, e);
        if self.last_file.as_deref() != Some(&*src.file) {
            self.enc.write_all(&[TAG_FILE]).map_err(io)?;
            put_bytes(&mut self.enc, src.file.as_bytes()).map_err(io)?;
            self.last_file = Some(src.file.clone());
        }
        self.enc.write_all(&[TAG_ROW]).map_err(io)?;
        self.enc.write_all(&ordinal.to_le_bytes()).map_err(io)?;
        self.enc.write_all(&src.line.to_le_bytes()).map_err(io)?;
        put_bytes(&mut self.enc, rec.id.as_bytes()).map_err(io)?;
        put_bytes(&mut self.enc, payload).map_err(io)?;
        match &mut self.side {
            Some(f) => put_bytes(f, side).map_err(|e| StageError::io(f.path(), e)),
            None if side.is_empty() => Ok(()),
            None => Err(StageError::msg(format!(
                "{}: side data for a map file without a side file (a bug)",
                self.path.display()
            ))),
        }
    }

    /// Finishes and renames the side file, then the map file, into place; returns the
    /// map file's path.
    pub fn commit(self) -> Result<PathBuf, StageError> {
        if let Some(f) = self.side {
            f.commit()?;
        }
        zst_commit(self.enc, &self.path)
    }
}

/// Reads a side file (see [`MapWriter`]) row by row, in the order of its map file's
/// rows: [`SideReader::read_row`] for the rows whose data is needed, [`SideReader::skip`]
/// (a seek, nothing decoded) for the others.
pub struct SideReader {
    r: BufReader<std::fs::File>,
    path: PathBuf,
    pos: u64,
    len: u64,
    buf: Vec<u8>,
}

impl SideReader {
    /// Opens a side file.
    pub fn open(path: &Path) -> Result<SideReader, StageError> {
        let f = std::fs::File::open(path).map_err(|e| {
            StageError::context(
                format!(
                    "{}: no side file; run the map phase of every shard again",
                    path.display()
                ),
                e,
            )
        })?;
        let len = f.metadata().map_err(|e| StageError::io(path, e))?.len();
        Ok(SideReader {
            r: BufReader::with_capacity(1 << 16, f),
            path: path.to_path_buf(),
            pos: 0,
            len,
            buf: Vec::new(),
        })
    }

    fn row_len(&mut self) -> Result<u64, StageError> {
        let n = get_u32(&mut self.r).map_err(|e| self.corrupt(e))? as u64;
        self.pos += 4 + n;
        if self.pos > self.len {
            return Err(self.corrupt("a row runs past the end of the file"));
        }
        Ok(n)
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> StageError {
        StageError::msg(format!(
            "{}: corrupt side file: {e}; run the map phase of every shard again",
            self.path.display()
        ))
    }

    /// The next row's data.
    pub fn read_row(&mut self) -> Result<&[u8], StageError> {
        let n = self.row_len()? as usize;
        self.buf.resize(n, 0);
        self.r
            .read_exact(&mut self.buf)
            .map_err(|e| StageError::io(&self.path, e))?;
        Ok(&self.buf)
    }

    /// Passes over the next row.
    pub fn skip(&mut self) -> Result<(), StageError> {
        let n = self.row_len()?;
        self.r
            .seek_relative(n as i64)
            .map_err(|e| StageError::io(&self.path, e))
    }

    /// Checks that every row was read or skipped: a side file longer than its map file
    /// does not belong to it.
    pub fn finish(&self) -> Result<(), StageError> {
        if self.pos != self.len {
            return Err(self.corrupt("it has more rows than its map file"));
        }
        Ok(())
    }
}

/// Reads a map file row by row.
pub struct MapReader {
    dec: ZstReader,
    file: Arc<str>,
    path: PathBuf,
}

impl MapReader {
    /// Opens a map file.
    pub fn open(path: &Path) -> Result<MapReader, StageError> {
        Ok(MapReader {
            dec: zst_open(path)?,
            file: Arc::from(""),
            path: path.to_path_buf(),
        })
    }

    /// The next row, or `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<MapRow>, StageError> {
        let corrupt = |e: std::io::Error| {
            StageError::msg(format!("{}: corrupt map file: {e}", self.path.display()))
        };
        loop {
            match get_tag(&mut self.dec).map_err(corrupt)? {
                None => return Ok(None),
                Some(TAG_FILE) => {
                    let b = get_bytes(&mut self.dec).map_err(corrupt)?;
                    self.file = Arc::from(String::from_utf8_lossy(&b).as_ref());
                }
                Some(TAG_ROW) => {
                    let ordinal = get_u64(&mut self.dec).map_err(corrupt)?;
                    let line = get_u64(&mut self.dec).map_err(corrupt)?;
                    let id = get_bytes(&mut self.dec).map_err(corrupt)?;
                    let payload = get_bytes(&mut self.dec).map_err(corrupt)?;
                    return Ok(Some(MapRow {
                        ordinal,
                        file: self.file.clone(),
                        line,
                        id: utf8(id),
                        payload,
                    }));
                }
                Some(t) => {
                    return Err(StageError::msg(format!(
                        "{}: corrupt map file: unknown tag {t}",
                        self.path.display()
                    )))
                }
            }
        }
    }
}

/// Calls `f(shard, row)` for every row of every map file, in global order: source file,
/// then line, then shard; each shard's rows in their own order. A shard whose rows go
/// backwards in that order (inputs not read in file order) is an error, since the
/// single run's order could not be rebuilt.
pub fn merge_global(
    maps: &[PathBuf],
    mut f: impl FnMut(usize, MapRow) -> Result<(), StageError>,
) -> Result<(), StageError> {
    let mut readers = maps
        .iter()
        .map(|p| MapReader::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut heads: Vec<Option<MapRow>> = Vec::with_capacity(readers.len());
    let mut heap = BinaryHeap::new();
    for (s, r) in readers.iter_mut().enumerate() {
        let row = r.next_row()?;
        if let Some(row) = &row {
            heap.push(Reverse((row.file.clone(), row.line, s)));
        }
        heads.push(row);
    }
    while let Some(Reverse((_, _, s))) = heap.pop() {
        let row = heads[s]
            .take()
            .ok_or_else(|| StageError::msg("map merge lost a row (a bug)"))?;
        let next = readers[s].next_row()?;
        if let Some(n) = &next {
            if (&n.file, n.line) < (&row.file, row.line) {
                return Err(StageError::msg(format!(
                    "{}: record {} ({}:{}) comes after {}:{}: a global stage needs its input in source-file order (one reader, or readers whose files sort in input order)",
                    maps[s].display(), n.id, n.file, n.line, row.file, row.line
                )));
            }
            heap.push(Reverse((n.file.clone(), n.line, s)));
        }
        heads[s] = next;
        f(s, row)?;
    }
    Ok(())
}

/// Writes one shard's decision list for one range of a reduce: entries in increasing
/// ordinal, each naming the record's id (checked when applied) and the stage's decision.
pub struct DecisionWriter {
    enc: ZstWriter,
    last: Option<u64>,
    path: PathBuf,
}

impl DecisionWriter {
    /// Creates the file under its temporary name.
    pub fn create(path: &Path) -> Result<DecisionWriter, StageError> {
        Ok(DecisionWriter {
            enc: zst_create(path)?,
            last: None,
            path: path.to_path_buf(),
        })
    }

    /// Appends a decision; ordinals must increase.
    pub fn write(&mut self, ordinal: u64, id: &str, payload: &[u8]) -> Result<(), StageError> {
        if self.last.is_some_and(|l| l >= ordinal) {
            return Err(StageError::msg(format!(
                "{}: decisions out of order at {ordinal} (a bug)",
                self.path.display()
            )));
        }
        self.last = Some(ordinal);
        let io = |e| StageError::io(&self.path, e);
        self.enc.write_all(&ordinal.to_le_bytes()).map_err(io)?;
        put_bytes(&mut self.enc, id.as_bytes()).map_err(io)?;
        put_bytes(&mut self.enc, payload).map_err(io)
    }

    /// Finishes and renames the file into place.
    pub fn commit(self) -> Result<PathBuf, StageError> {
        zst_commit(self.enc, &self.path)
    }
}

struct DecisionStream {
    dec: ZstReader,
    path: PathBuf,
    head: Option<(u64, String, Vec<u8>)>,
}

impl DecisionStream {
    fn advance(&mut self) -> Result<(), StageError> {
        let corrupt = |e: std::io::Error| {
            StageError::msg(format!(
                "{}: corrupt decision file: {e}",
                self.path.display()
            ))
        };
        let mut b = [0u8; 8];
        let n = self.dec.read(&mut b[..1]).map_err(corrupt)?;
        if n == 0 {
            self.head = None;
            return Ok(());
        }
        self.dec.read_exact(&mut b[1..]).map_err(corrupt)?;
        let id = get_bytes(&mut self.dec).map_err(corrupt)?;
        let payload = get_bytes(&mut self.dec).map_err(corrupt)?;
        self.head = Some((u64::from_le_bytes(b), utf8(id), payload));
        Ok(())
    }
}

/// A shard's decisions over every range, read in ordinal order while the shard applies
/// them.
pub struct Decisions {
    streams: Vec<DecisionStream>,
}

impl Decisions {
    /// Opens the decision files of every range.
    pub fn open(files: &[PathBuf]) -> Result<Decisions, StageError> {
        let mut streams = Vec::new();
        for p in files {
            let mut s = DecisionStream {
                dec: zst_open(p)?,
                path: p.clone(),
                head: None,
            };
            s.advance()?;
            streams.push(s);
        }
        Ok(Decisions { streams })
    }

    /// The decisions for the `ordinal`-th record entering the stage, whose id is `id`
    /// (every range's; usually none or one). Ordinals must be asked in increasing order;
    /// a decision for a record that was never asked for, or for another id, means the
    /// shard's input changed since its map phase: an error.
    pub fn take(&mut self, ordinal: u64, id: &str) -> Result<Vec<Vec<u8>>, StageError> {
        let mut out = Vec::new();
        for s in &mut self.streams {
            while let Some((o, did, _)) = &s.head {
                if *o > ordinal {
                    break;
                }
                if *o < ordinal || did != id {
                    return Err(StageError::msg(format!(
                        "{}: decision for record {did} (position {o}) does not match this shard's input (record {id} at position {ordinal}); the input changed since the map phase: rerun every shard and the reduce",
                        s.path.display()
                    )));
                }
                if let Some((_, _, p)) = s.head.take() {
                    out.push(p);
                }
                s.advance()?;
            }
        }
        Ok(out)
    }

    /// Checks that every decision was used.
    pub fn finish(&self) -> Result<(), StageError> {
        for s in &self.streams {
            if let Some((o, id, _)) = &s.head {
                return Err(StageError::msg(format!(
                    "{}: decision for record {id} (position {o}) past the end of this shard's input; the input changed since the map phase",
                    s.path.display()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Provenance;

    fn rec(id: &str, file: &str, line: u64) -> Record {
        let mut r = Record::new(id, "t");
        r.source = Some(Provenance {
            file: Arc::from(file),
            line,
        });
        r
    }

    #[test]
    fn merge_follows_file_then_line_and_decisions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let g = GlobalDir::new(dir.path(), "near");
        // Shard 0 has a.txt lines 1, 3 and c.txt; shard 1 has a.txt line 2 and b.txt.
        let rows = [
            vec![
                rec("a1", "a.txt", 1),
                rec("a3", "a.txt", 3),
                rec("c1", "c.txt", 1),
            ],
            vec![
                rec("a2", "a.txt", 2),
                rec("b1", "b.txt", 1),
                rec("b1.1", "b.txt", 1),
            ],
        ];
        for (i, rs) in rows.iter().enumerate() {
            let mut w = MapWriter::create(&g.map_file(i as u64, 2)).unwrap();
            for (o, r) in rs.iter().enumerate() {
                w.write(o as u64, r, r.id.as_bytes(), &[]).unwrap();
            }
            w.commit().unwrap();
        }
        let maps = g.map_files().unwrap();
        let mut seen = Vec::new();
        merge_global(&maps, |s, row| {
            assert_eq!(row.payload, row.id.as_bytes());
            seen.push((s, row.id));
            Ok(())
        })
        .unwrap();
        let ids: Vec<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2", "a3", "b1", "b1.1", "c1"]);

        assert!(g.decisions_for((0, 2)).is_none());
        let ctx = ReduceContext {
            stage_id: "near".into(),
            seed: 1,
            dir: g.clone(),
            run_dir: dir.path().to_path_buf(),
            maps: maps.clone(),
            range: (0, 1),
            scratch_dir: dir.path().join("s"),
            cluster: false,
        };
        let mut w = ctx.decision_writer(0).unwrap();
        w.write(1, "a3", b"x").unwrap();
        assert!(w.write(1, "a3", b"x").is_err());
        w.commit().unwrap();
        ctx.decision_writer(1).unwrap().commit().unwrap();
        ctx.complete(serde_json::json!({})).unwrap();
        let files = g.decisions_for((0, 2)).unwrap();
        let mut d = Decisions::open(&files).unwrap();
        assert!(d.take(0, "a1").unwrap().is_empty());
        assert_eq!(d.take(1, "a3").unwrap(), [b"x".to_vec()]);
        d.finish().unwrap();
        // A decision for another record is an error, not a silent mismatch.
        let mut d = Decisions::open(&files).unwrap();
        assert!(d.take(1, "zz").is_err());
        // A changed map file invalidates the decisions.
        std::fs::write(g.map_file(1, 2), b"changed").unwrap();
        assert!(g.decisions_for((0, 2)).is_none());
    }

    #[test]
    fn side_files_follow_their_map_rows() {
        let dir = tempfile::tempdir().unwrap();
        let g = GlobalDir::new(dir.path(), "near");
        let (map, side) = (g.map_file(0, 1), g.side_file(0, 1));
        let mut w = MapWriter::create(&map).unwrap().with_side(&side).unwrap();
        for (o, data) in [b"first".as_slice(), b"", b"third row"].iter().enumerate() {
            let r = rec(&format!("r{o}"), "a.txt", o as u64);
            w.write(o as u64, &r, b"k", data).unwrap();
        }
        w.commit().unwrap();
        // The side file is not taken for a map file.
        assert_eq!(g.map_files().unwrap(), std::slice::from_ref(&map));
        let mut s = SideReader::open(&side).unwrap();
        let mut got = Vec::new();
        merge_global(&[map], |_, row| {
            if row.ordinal == 1 {
                s.skip()
            } else {
                got.push((row.id, s.read_row()?.to_vec()));
                Ok(())
            }
        })
        .unwrap();
        s.finish().unwrap();
        assert_eq!(
            got,
            [
                ("r0".into(), b"first".to_vec()),
                ("r2".into(), b"third row".to_vec())
            ]
        );
        // Rows past the end, or rows left over, are errors.
        let mut s = SideReader::open(&side).unwrap();
        s.skip().unwrap();
        assert!(s.finish().is_err());
        s.skip().unwrap();
        s.skip().unwrap();
        s.finish().unwrap();
        assert!(s.skip().is_err());
        std::fs::write(&side, [9u8, 0, 0, 0, 1]).unwrap();
        let mut s = SideReader::open(&side).unwrap();
        assert!(s.read_row().is_err());
        std::fs::remove_file(&side).unwrap();
        assert!(SideReader::open(&side).is_err());
    }

    #[test]
    fn missing_shards_and_out_of_order_input_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let g = GlobalDir::new(dir.path(), "x");
        assert!(g.map_files().is_err());
        let mut w = MapWriter::create(&g.map_file(0, 2)).unwrap();
        w.write(0, &rec("b", "b.txt", 1), b"", b"").unwrap();
        w.write(1, &rec("a", "a.txt", 1), b"", b"").unwrap();
        w.commit().unwrap();
        let e = g.map_files().unwrap_err().to_string();
        assert!(e.contains("1/2"), "{e}");
        let maps = vec![g.map_file(0, 2)];
        let e = merge_global(&maps, |_, _| Ok(())).unwrap_err().to_string();
        assert!(e.contains("source-file order"), "{e}");
        let mut w = MapWriter::create(&g.map_file(1, 2)).unwrap();
        assert!(w.write(0, &Record::new("n", "t"), b"", b"").is_err());
        // Side data needs a side file.
        assert!(w.write(0, &rec("c", "c.txt", 1), b"", b"x").is_err());
    }
}
