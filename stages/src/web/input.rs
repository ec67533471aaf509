//! Opening a WARC/WET file as one decompressed byte stream that knows where it is.
//!
//! `.warc`/`.wet` files are read as they are; `.gz` files are read gzip member by gzip
//! member (Common Crawl writes one member per record). The stream tracks two offsets, so
//! that an error can name the place in the file where it happened: the decompressed
//! offset of what the parser has consumed ([`Probe::position`]) and, for gzip files, the
//! compressed offset where the member being decoded starts ([`Probe::member_start`]).
//! Decoding a member at a time costs nothing over one multi-member decoder: each member's
//! decoder takes the same buffered file back when the member ends.

use flate2::bufread::GzDecoder;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// Buffer sizes: 1 MiB over the file (as `pipeline::io`), 256 KiB over decompressed data.
const FILE_BUF: usize = 1 << 20;
const DATA_BUF: usize = 1 << 18;

/// A file reader that counts the bytes taken from the file.
struct Counted {
    f: File,
    taken: Rc<Cell<u64>>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.f.read(buf)?;
        self.taken.set(self.taken.get() + n as u64);
        Ok(n)
    }
}

/// Decodes gzip members one after another from the same buffered file.
struct Members {
    /// The member being decoded; `None` between members and at the end.
    cur: Option<GzDecoder<BufReader<Counted>>>,
    /// The buffered file while no member is open.
    idle: Option<BufReader<Counted>>,
    /// Bytes taken from the file so far (the buffer's fill included).
    taken: Rc<Cell<u64>>,
    /// Compressed offset where the current (or last) member starts.
    member_start: Rc<Cell<u64>>,
}

impl Members {
    /// The compressed offset of the next unread byte of the file.
    fn file_pos(taken: u64, r: &BufReader<Counted>) -> u64 {
        taken - r.buffer().len() as u64
    }
}

impl Read for Members {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(d) = self.cur.as_mut() {
                let n = d.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // The member ended (trailer checked): take the file back for the next one.
                let Some(d) = self.cur.take() else {
                    return Ok(0);
                };
                self.idle = Some(d.into_inner());
            }
            let Some(mut r) = self.idle.take() else {
                return Ok(0);
            };
            if r.fill_buf()?.is_empty() {
                return Ok(0); // end of file between members
            }
            self.member_start
                .set(Members::file_pos(self.taken.get(), &r));
            self.cur = Some(GzDecoder::new(r));
        }
    }
}

/// The decompressed stream of one input file.
pub struct Tracked {
    inner: BufReader<Box<dyn Read>>,
    pos: Rc<Cell<u64>>,
}

/// Where a [`Tracked`] stream is, readable while a parser owns the stream.
#[derive(Clone)]
pub struct Probe {
    pos: Rc<Cell<u64>>,
    member_start: Option<Rc<Cell<u64>>>,
}

impl Tracked {
    /// Opens `path`; a gzip file (by its magic bytes) is decoded member by member.
    pub fn open(path: &Path) -> io::Result<(Tracked, Probe)> {
        let mut f = File::open(path)?;
        let mut magic = [0u8; 2];
        let n = read_full(&mut f, &mut magic)?;
        let gz = n == 2 && magic == [0x1f, 0x8b];
        let f = File::open(path)?;
        let taken = Rc::new(Cell::new(0));
        let counted = Counted {
            f,
            taken: taken.clone(),
        };
        let (inner, member_start): (Box<dyn Read>, _) = if gz {
            let start = Rc::new(Cell::new(0));
            let m = Members {
                cur: None,
                idle: Some(BufReader::with_capacity(FILE_BUF, counted)),
                taken,
                member_start: start.clone(),
            };
            (Box::new(m), Some(start))
        } else {
            (Box::new(counted), None)
        };
        let pos = Rc::new(Cell::new(0));
        let t = Tracked {
            inner: BufReader::with_capacity(if gz { DATA_BUF } else { FILE_BUF }, inner),
            pos: pos.clone(),
        };
        Ok((t, Probe { pos, member_start }))
    }
}

impl Probe {
    /// Decompressed bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos.get()
    }

    /// For gzip files: the compressed offset where the member being decoded starts.
    pub fn member_start(&self) -> Option<u64> {
        self.member_start.as_ref().map(|c| c.get())
    }

    /// Where the stream is, for error messages: `byte offset N` (plain files) or
    /// `gzip member at byte offset N, decompressed byte offset M`.
    pub fn describe(&self) -> String {
        match self.member_start() {
            Some(m) => format!(
                "gzip member at byte offset {m}, decompressed byte offset {}",
                self.position()
            ),
            None => format!("byte offset {}", self.position()),
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos.set(self.pos.get() + n as u64);
        Ok(n)
    }
}

impl BufRead for Tracked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.pos.set(self.pos.get() + amt as u64);
        self.inner.consume(amt)
    }
}
