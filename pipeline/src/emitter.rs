//! The [`Emitter`]: how a stage says what happened to each record.
//!
//! Every record a stage receives must leave through exactly one of [`Emitter::keep`],
//! [`Emitter::keep_many`], [`Emitter::drop`] or [`Emitter::reject`]. The emitter counts
//! them, so the engine can check `in = kept + dropped + rejected` without trusting the
//! stage. Output is buffered into batches of `batch_size` and sent downstream; a full
//! channel blocks the send (back-pressure), and the time spent blocked is measured.

use crate::dropped::{DropDetail, DropKeeper};
use crate::progress::{ReadMeter, StageBar};
use crate::record::{Batch, Provenance, Record};
use crossbeam_channel::Sender;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-stage counts, as the engine reports them in the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Records that entered the stage (for readers: records read, good or bad).
    pub records_in: u64,
    /// Input records kept (a splitter keeps one input and may emit several records).
    pub kept: u64,
    /// Input records dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Input records rejected with an error (written to `rejects.jsonl`).
    pub rejected: u64,
    /// Records emitted downstream.
    pub records_out: u64,
    /// Extra stage-specific counters (`near_dup_pairs_total` …).
    pub counters: BTreeMap<String, u64>,
}

impl Counts {
    /// Sum of all drop reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Whether `in = kept + dropped + rejected` holds.
    pub fn balances(&self) -> bool {
        self.records_in == self.kept + self.dropped_total() + self.rejected
    }
}

/// Where emitted batches go.
pub(crate) enum Sink {
    /// Downstream channels (fan-out: each gets a clone of every batch).
    Channels(Vec<Sender<Batch>>),
    /// Collected in memory (tests, and stages whose output nobody reads).
    Collect(Vec<Record>),
    /// Thrown away after counting.
    Discard,
    /// Handed to a callback, one record at a time (`mavuno inspect`, tools).
    Callback(Box<dyn FnMut(Record) + Send>),
}

/// The output side of a stage. See the module docs for the contract.
pub struct Emitter {
    buf: Batch,
    batch_size: usize,
    sink: Sink,
    counts: Counts,
    rejects: Option<Box<dyn Write + Send>>,
    stage: String,
    blocked: Duration,
    cancelled: bool,
    /// For readers: counts records in source order so record-level sharding can skip
    /// the ones that belong to other shards before they are counted.
    shard: Option<(u64, u64)>,
    ordinal: u64,
    /// Set by the engine when any stage fails.
    cancel: Option<Arc<AtomicBool>>,
    /// Keeps (a sample of) dropped records for `<run>/dropped/` ([`crate::dropped`]).
    dropped: Option<DropKeeper>,
    /// Input bytes a reader has read, of its total ([`crate::progress`]).
    meter: ReadMeter,
    /// The stage's progress line, when the engine draws one.
    bar: Option<StageBar>,
}

impl Emitter {
    pub(crate) fn new(
        stage: &str,
        batch_size: usize,
        sink: Sink,
        rejects: Option<Box<dyn Write + Send>>,
    ) -> Emitter {
        Emitter {
            buf: Vec::with_capacity(batch_size),
            batch_size: batch_size.max(1),
            sink,
            counts: Counts::default(),
            rejects,
            stage: stage.to_string(),
            blocked: Duration::ZERO,
            cancelled: false,
            shard: None,
            ordinal: 0,
            cancel: None,
            dropped: None,
            meter: ReadMeter::default(),
            bar: None,
        }
    }

    /// An emitter that collects its output in memory: for unit tests of stages.
    pub fn collecting(batch_size: usize) -> Emitter {
        Emitter::new("test", batch_size, Sink::Collect(Vec::new()), None)
    }

    /// A reader's emitter that hands each kept record to `f` (tools that drive a reader
    /// outside a run, such as `mavuno inspect`).
    pub fn with_callback(batch_size: usize, f: Box<dyn FnMut(Record) + Send>) -> Emitter {
        Emitter::new("inspect", batch_size, Sink::Callback(f), None)
    }

    pub(crate) fn with_dropped(mut self, keeper: DropKeeper) -> Emitter {
        self.dropped = Some(keeper);
        self
    }

    pub(crate) fn with_bar(mut self, bar: StageBar) -> Emitter {
        self.bar = Some(bar);
        self
    }

    /// For readers: the meter to add input sizes to and open files through
    /// ([`crate::io::open_read_metered`]), for the progress bar's ETA.
    pub fn read_meter(&self) -> ReadMeter {
        self.meter.clone()
    }

    /// Whether a progress line is drawn (the engine then counts text bytes for MB/s).
    pub(crate) fn bar_visible(&self) -> bool {
        self.bar.as_ref().is_some_and(StageBar::visible)
    }

    /// Counts text bytes a stage received (MB/s of stages that are not readers).
    pub(crate) fn add_text_bytes(&mut self, n: u64) {
        if let Some(b) = self.bar.as_mut() {
            b.add_text_bytes(n);
        }
    }

    /// Redraws the progress line (rate-limited).
    pub(crate) fn tick(&mut self) {
        if let Some(b) = self.bar.as_mut() {
            b.tick(&self.counts, &self.meter);
        }
    }

    pub(crate) fn with_cancel(mut self, cancel: Arc<AtomicBool>) -> Emitter {
        self.cancel = Some(cancel);
        self
    }

    /// Readers call this before reading, with `BuildContext::record_shard`: records whose
    /// position modulo `count` is not `index` are skipped by [`Emitter::take_next`].
    pub fn set_record_shard(&mut self, shard: Option<(u64, u64)>) {
        self.shard = shard;
    }

    /// For readers: whether the next record read belongs to this shard (always, without
    /// record-level sharding). Readers call it once per record *before* parsing, so other
    /// shards' records cost nothing; a record taken is counted in (`records_in`), and the
    /// reader must then keep, drop or reject it.
    pub fn take_next(&mut self) -> bool {
        let n = self.ordinal;
        self.ordinal += 1;
        let mine = match self.shard {
            Some((i, count)) => n % count == i,
            None => true,
        };
        self.counts.records_in += mine as u64;
        mine
    }

    /// Keeps a record: it goes downstream.
    pub fn keep(&mut self, rec: Record) {
        self.counts.kept += 1;
        self.push(rec);
    }

    /// Keeps a record and returns it for the stage to own as well (a writer that buffers
    /// what it passes on). It is copied only when a downstream stage reads this stage's
    /// output; at the end of a DAG the record itself comes back.
    pub fn keep_owned(&mut self, rec: Record) -> Record {
        if matches!(self.sink, Sink::Discard) {
            self.counts.kept += 1;
            self.counts.records_out += 1;
            rec
        } else {
            let copy = rec.clone();
            self.keep(rec);
            copy
        }
    }

    /// Keeps one input record that became several (a sentence splitter); zero is allowed
    /// and still counts the input as kept.
    pub fn keep_many(&mut self, recs: impl IntoIterator<Item = Record>) {
        self.counts.kept += 1;
        for r in recs {
            self.push(r);
        }
    }

    /// Drops a record on purpose, with a named reason (`too_short`, `near_duplicate` …).
    pub fn drop(&mut self, rec: Record, reason: &str) {
        self.drop_inner(rec, reason, None);
    }

    /// Drops a record, saying which measure fired: its value and the threshold it crossed
    /// (kept with the record in `<run>/dropped/`, see [`crate::dropped`]).
    pub fn drop_measured(&mut self, rec: Record, reason: &str, detail: DropDetail) {
        self.drop_inner(rec, reason, Some(detail));
    }

    fn drop_inner(&mut self, rec: Record, reason: &str, detail: Option<DropDetail>) {
        match self.counts.dropped.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.counts.dropped.insert(reason.to_string(), 1);
            }
        }
        if let Some(k) = self.dropped.as_mut() {
            k.offer(&rec, reason, detail);
        }
    }

    /// Rejects a record: bad data. It is written to `rejects.jsonl` with its provenance.
    pub fn reject(&mut self, rec: Record, error: impl std::fmt::Display) {
        let source = rec.source.as_ref().map(|p| p.to_string());
        self.write_reject(json!({
            "stage": self.stage,
            "id": rec.id,
            "source": source,
            "error": error.to_string(),
            "text": excerpt(&rec.text),
        }));
    }

    /// Rejects raw input that never became a record (a malformed line): readers use this.
    pub fn reject_raw(&mut self, at: &Provenance, error: impl std::fmt::Display, raw: &str) {
        self.write_reject(json!({
            "stage": self.stage,
            "source": at.to_string(),
            "error": error.to_string(),
            "text": excerpt(raw),
        }));
    }

    fn write_reject(&mut self, entry: Value) {
        self.counts.rejected += 1;
        if let Some(w) = self.rejects.as_mut() {
            // A failed rejects write must not lose the count; the engine flushes and
            // reports I/O errors on the rejects file when the stage ends.
            let _ = serde_json::to_writer(&mut *w, &entry);
            let _ = w.write_all(b"\n");
        }
    }

    /// Adds to a stage-specific counter (names end in `_total`).
    pub fn counter(&mut self, name: &str, n: u64) {
        *self.counts.counters.entry(name.to_string()).or_insert(0) += n;
    }

    /// Whether downstream has gone away (another stage failed): readers and long loops
    /// should stop early.
    pub fn cancelled(&self) -> bool {
        self.cancelled
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn push(&mut self, rec: Record) {
        self.counts.records_out += 1;
        match &mut self.sink {
            Sink::Discard => {}
            Sink::Collect(v) => v.push(rec),
            Sink::Callback(f) => f(rec),
            Sink::Channels(_) => {
                self.buf.push(rec);
                if self.buf.len() >= self.batch_size {
                    self.flush();
                }
            }
        }
    }

    /// Sends buffered records downstream. The engine calls it after every batch.
    pub(crate) fn flush(&mut self) {
        self.tick();
        if self.buf.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(self.batch_size));
        if let Sink::Channels(senders) = &self.sink {
            if self.cancelled {
                return;
            }
            let start = Instant::now();
            if !send_all(senders, batch) {
                self.cancelled = true;
            }
            self.blocked += start.elapsed();
        }
    }

    pub(crate) fn add_records_in(&mut self, n: u64) {
        self.counts.records_in += n;
    }

    /// Counts so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub(crate) fn blocked(&self) -> Duration {
        self.blocked
    }

    pub(crate) fn finish_rejects(&mut self) -> std::io::Result<()> {
        if let Some(w) = self.rejects.as_mut() {
            w.flush()?;
        }
        self.rejects = None;
        Ok(())
    }

    /// Writes the kept dropped records to their temporary file (the commit renames it).
    pub(crate) fn finish_dropped(&mut self) -> Result<(), crate::StageError> {
        match self.dropped.take() {
            Some(k) => k.finish(),
            None => Ok(()),
        }
    }

    /// Takes what a collecting emitter gathered (tests).
    pub fn take_collected(&mut self) -> Vec<Record> {
        match &mut self.sink {
            Sink::Collect(v) => std::mem::take(v),
            _ => Vec::new(),
        }
    }

    pub(crate) fn into_counts(self) -> Counts {
        self.counts
    }
}

/// Sends a batch to every channel, in order; false when a consumer has gone. Clones for
/// all but the last receiver: fan-out costs one copy per extra edge.
pub(crate) fn send_all(outs: &[Sender<Batch>], batch: Batch) -> bool {
    let n = outs.len();
    let mut batch = Some(batch);
    for (k, tx) in outs.iter().enumerate() {
        let b = if k + 1 == n {
            batch.take().unwrap_or_default()
        } else {
            batch.clone().unwrap_or_default()
        };
        if tx.send(b).is_err() {
            return false;
        }
    }
    true
}

/// The first 200 characters of a text, for reject logs.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// What happened to one record, for stages that compute outcomes in parallel with rayon
/// and then apply them in order with [`Emitter::apply`].
#[derive(Debug)]
pub enum Outcome {
    /// Keep this record.
    Keep(Record),
    /// The input became these records.
    KeepMany(Vec<Record>),
    /// Drop with a reason.
    Drop(Record, &'static str),
    /// Drop with a reason and the measure that fired ([`Emitter::drop_measured`]).
    DropMeasured(Record, &'static str, DropDetail),
    /// Reject with an error message.
    Reject(Record, String),
}

impl Emitter {
    /// Applies an [`Outcome`].
    pub fn apply(&mut self, o: Outcome) {
        match o {
            Outcome::Keep(r) => self.keep(r),
            Outcome::KeepMany(rs) => self.keep_many(rs),
            Outcome::Drop(r, why) => self.drop(r, why),
            Outcome::DropMeasured(r, why, d) => self.drop_measured(r, why, d),
            Outcome::Reject(r, e) => self.reject(r, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_balance_for_every_kind_of_outcome() {
        let mut e = Emitter::collecting(2);
        e.add_records_in(4);
        e.keep(Record::new("a", "x"));
        e.keep_many(vec![Record::new("b1", "y"), Record::new("b2", "z")]);
        e.drop(Record::new("c", ""), "empty");
        e.reject(Record::new("d", "?"), "bad");
        let c = e.counts().clone();
        assert!(c.balances(), "{c:?}");
        assert_eq!(c.records_out, 3);
        assert_eq!(c.dropped["empty"], 1);
        assert_eq!(e.take_collected().len(), 3);
    }
}
