//! [`ReadAhead`]: a `BufRead` whose bytes are produced on a thread of their own, so that
//! decompressing a `.zst`/`.gz` input overlaps with whatever the reader does with the
//! bytes (splitting lines, parsing JSON) instead of alternating with it.
//!
//! The background thread reads blocks of [`BLOCK`] bytes into a bounded channel of
//! [`DEPTH`] blocks, so at most `(DEPTH + 2) × BLOCK` bytes are held whatever the file size.
//! Emptied blocks go back to the thread and are reused (a fresh 1 MiB allocation per block
//! would page-fault its way through the whole file again). The bytes and their order are
//! exactly those of the inner reader; a read error reaches the consumer at the position
//! where it happened, and a thread that stops without saying so is an error, never an
//! early end of file.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes per block handed from the background thread.
pub const BLOCK: usize = 1 << 20;
/// Blocks waiting in the channel.
pub const DEPTH: usize = 2;

/// What the background thread sends.
enum Msg {
    /// The next bytes (never empty).
    Block(Vec<u8>),
    /// The inner reader's error; nothing follows.
    Failed(io::Error),
    /// End of input; nothing follows.
    End,
}

/// Reads `inner` on a background thread, a block ahead of the consumer.
pub struct ReadAhead {
    rx: Option<Receiver<Msg>>,
    recycle: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    /// The stream has ended (or failed): every later read is an end of input.
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts the background thread reading `inner`.
    pub fn new<R: Read + Send + 'static>(mut inner: R) -> io::Result<ReadAhead> {
        let (tx, rx) = sync_channel(DEPTH);
        let (recycle, spare) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let thread = std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || loop {
                let mut buf = spare.try_recv().unwrap_or_default();
                let failed = fill(&mut inner, &mut buf);
                let end = buf.is_empty();
                // A send fails only when the consumer is gone: stop reading.
                if !end && tx.send(Msg::Block(buf)).is_err() {
                    return;
                }
                match failed {
                    Some(e) => {
                        let _ = tx.send(Msg::Failed(e));
                        return;
                    }
                    None if end => {
                        let _ = tx.send(Msg::End);
                        return;
                    }
                    None => {}
                }
            })?;
        Ok(ReadAhead {
            rx: Some(rx),
            recycle,
            cur: Vec::new(),
            pos: 0,
            done: false,
            thread: Some(thread),
        })
    }
}

/// Reads up to [`BLOCK`] bytes into `buf` (fewer only at the end of input or before an
/// error). The bytes read before an error stay in `buf` and the error is returned, so the
/// consumer sees both in the order the inner reader produced them.
fn fill<R: Read>(inner: &mut R, buf: &mut Vec<u8>) -> Option<io::Error> {
    buf.clear();
    buf.resize(BLOCK, 0);
    let mut n = 0;
    let mut failed = None;
    while n < BLOCK {
        match inner.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    buf.truncate(n);
    failed
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.cur.len() && !self.done {
            let Some(rx) = &self.rx else {
                self.done = true;
                break;
            };
            match rx.recv() {
                Ok(Msg::Block(b)) => {
                    let old = std::mem::replace(&mut self.cur, b);
                    self.pos = 0;
                    if old.capacity() > 0 {
                        // The thread may have gone: then the spare is simply freed.
                        let _ = self.recycle.try_send(old);
                    }
                }
                Ok(Msg::End) => self.done = true,
                Ok(Msg::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(
                        "the read-ahead thread stopped before the end of the input",
                    ));
                }
            }
        }
        Ok(&self.cur[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.cur.len());
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Closing the channel makes the thread's next send fail, so it stops after at
        // most one more block; joining it leaves no thread behind a finished reader.
        self.rx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` in reads of `step` bytes, then fails with `err` if given.
    struct Steps {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        err: Option<io::ErrorKind>,
    }

    impl Read for Steps {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.pos == self.data.len() {
                return match self.err.take() {
                    Some(k) => Err(io::Error::new(k, "cut short")),
                    None => Ok(0),
                };
            }
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn same_bytes_as_the_inner_reader() {
        // Several blocks, a partial last one, odd read sizes on both sides.
        for (len, step) in [(0, 1), (10, 3), (3 * BLOCK + 12345, 65537), (BLOCK, BLOCK)] {
            let want = data(len);
            let inner = Steps {
                data: want.clone(),
                pos: 0,
                step,
                err: None,
            };
            let mut r = ReadAhead::new(inner).unwrap();
            let mut got = Vec::new();
            let mut small = [0u8; 4093];
            loop {
                let n = r.read(&mut small).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&small[..n]);
            }
            assert_eq!(got.len(), want.len());
            assert!(got == want, "bytes differ for len {len}");
            assert_eq!(r.read(&mut small).unwrap(), 0, "stays at the end");
        }
    }

    #[test]
    fn error_comes_after_the_bytes_before_it() {
        let want = data(BLOCK + 100);
        let inner = Steps {
            data: want.clone(),
            pos: 0,
            step: 4096,
            err: Some(io::ErrorKind::UnexpectedEof),
        };
        let mut r = ReadAhead::new(inner).unwrap();
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), "cut short");
        assert!(got == want, "every byte before the error arrives");
    }

    #[test]
    fn lines_split_across_blocks() {
        let text: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
        let inner = Steps {
            data: text.clone().into_bytes(),
            pos: 0,
            step: 1000,
            err: None,
        };
        let r = ReadAhead::new(inner).unwrap();
        let lines: Vec<String> = r.lines().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 200_000);
        assert_eq!(lines[123_456], "line 123456");
    }

    #[test]
    fn dropping_early_stops_the_thread() {
        let inner = Steps {
            data: data(20 * BLOCK),
            pos: 0,
            step: BLOCK,
            err: None,
        };
        let mut r = ReadAhead::new(inner).unwrap();
        let mut one = [0u8; 10];
        r.read_exact(&mut one).unwrap();
        drop(r); // joins: the test would hang if the thread kept waiting
    }
}
