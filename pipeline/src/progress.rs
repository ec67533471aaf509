//! A stage's progress line on the terminal: records, MB/s and, for readers that know the
//! size of their input, a bar with an ETA.
//!
//! Readers add the sizes of their input files to the stage's [`ReadMeter`]
//! ([`Emitter::read_meter`](crate::Emitter::read_meter)) and open them through it
//! ([`crate::io::open_read_metered`]), which counts the bytes read from disk (compressed
//! bytes for `.zst`/`.gz`: the share of the file consumed). The emitter redraws the line at
//! most every [`REDRAW`] as batches go out; the bar and ETA come from bytes read of total
//! bytes. Nothing is drawn when stderr is not a terminal (the engine hides the bars), and
//! the counting is two relaxed atomic adds per 1 MiB buffer.

use crate::emitter::Counts;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a stage's line is redrawn at most.
pub const REDRAW: Duration = Duration::from_millis(150);

/// Bytes of input a reader has read, of the total it will read.
#[derive(Clone, Debug, Default)]
pub struct ReadMeter(Arc<[AtomicU64; 2]>);

impl ReadMeter {
    /// Adds the sizes of files about to be read (files that cannot be stat'ed add 0:
    /// opening them reports the error).
    pub fn add_files(&self, files: &[PathBuf]) {
        let n = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        self.add_total(n);
    }

    /// Adds to the total input size.
    pub fn add_total(&self, n: u64) {
        self.0[0].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds bytes read (readers that cannot count through [`ReadMeter::wrap`] add a
    /// whole file once it is read).
    pub fn add_read(&self, n: u64) {
        self.0[1].fetch_add(n, Ordering::Relaxed);
    }

    /// Total input bytes (0: unknown).
    pub fn total(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.0[1].load(Ordering::Relaxed)
    }

    /// A reader that counts what it reads into this meter.
    pub fn wrap<R: Read>(&self, inner: R) -> Metered<R> {
        Metered {
            inner,
            meter: self.clone(),
        }
    }
}

/// A reader that counts its bytes into a [`ReadMeter`].
pub struct Metered<R> {
    inner: R,
    meter: ReadMeter,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add_read(n as u64);
        Ok(n)
    }
}

/// The spinner line of a stage whose input size is unknown.
pub(crate) fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.green} {prefix:<18} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The bar of a reader that knows its input size: position and length are bytes.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner:.green} {prefix:<18} [{bar:24.cyan/blue}] {percent:>3}% {msg} ETA {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| spinner_style())
}

/// The progress line: counts, records/s and, while the stage runs, MB/s (`bytes`: input
/// bytes read for a reader, text bytes received for other stages).
pub(crate) fn progress_msg(c: &Counts, elapsed: Duration, bytes: Option<u64>) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mb = bytes
        .map(|b| format!(", {:.1} MB/s", b as f64 / 1e6 / secs))
        .unwrap_or_default();
    format!(
        "in {} out {} dropped {} rejected {} ({:.0} rec/s{mb}, {:.0} s)",
        c.records_in,
        c.records_out,
        c.dropped_total(),
        c.rejected,
        c.records_in as f64 / secs,
        secs
    )
}

/// A stage's line, updated by its emitter; see the module docs.
pub(crate) struct StageBar {
    pb: ProgressBar,
    t0: Instant,
    last: Option<Instant>,
    /// Text bytes received (stages that are not readers).
    text_bytes: u64,
    /// Whether the bar style is set (once the input size is known).
    sized: bool,
}

impl StageBar {
    pub(crate) fn new(pb: ProgressBar) -> StageBar {
        StageBar {
            pb,
            t0: Instant::now(),
            last: None,
            text_bytes: 0,
            sized: false,
        }
    }

    /// Whether anything is drawn (callers skip work for a hidden bar).
    pub(crate) fn visible(&self) -> bool {
        !self.pb.is_hidden()
    }

    /// Counts text bytes a stage received.
    pub(crate) fn add_text_bytes(&mut self, n: u64) {
        self.text_bytes += n;
    }

    /// Redraws the line, at most every [`REDRAW`].
    pub(crate) fn tick(&mut self, c: &Counts, meter: &ReadMeter) {
        if !self.visible() || self.last.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last = Some(Instant::now());
        let total = meter.total();
        let bytes = if total > 0 {
            if !self.sized {
                self.pb.set_style(bar_style());
                self.sized = true;
            }
            self.pb.set_length(total);
            self.pb.set_position(meter.read().min(total));
            meter.read()
        } else {
            self.text_bytes
        };
        self.pb
            .set_message(progress_msg(c, self.t0.elapsed(), Some(bytes)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_counts_bytes_read_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, vec![b'x'; 3000]).unwrap();
        let m = ReadMeter::default();
        m.add_files(&[p.clone(), dir.path().join("missing")]);
        assert_eq!((m.total(), m.read()), (3000, 0));
        let mut buf = Vec::new();
        m.wrap(std::fs::File::open(&p).unwrap())
            .read_to_end(&mut buf)
            .unwrap();
        assert_eq!(m.read(), 3000);
        // Clones share the count (the emitter and the reader hold one each).
        m.clone().add_read(5);
        assert_eq!(m.read(), 3005);
    }

    #[test]
    fn progress_line_names_counts_and_rate() {
        let c = Counts {
            records_in: 10,
            records_out: 8,
            ..Counts::default()
        };
        let s = progress_msg(&c, Duration::from_secs(2), Some(4_000_000));
        assert_eq!(
            s,
            "in 10 out 8 dropped 0 rejected 0 (5 rec/s, 2.0 MB/s, 2 s)"
        );
    }
}
