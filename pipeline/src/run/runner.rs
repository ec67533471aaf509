//! The per-stage runner: one thread per stage that runs, driving the stage and owning
//! everything the engine measures around it.
//!
//! The runner (not the stage) counts records in, times busy and blocked seconds (time
//! sent on a full channel is back-pressure, not work), writes the stage's rejects file,
//! shows its progress line, and when the stage ends checks `in = kept + dropped +
//! rejected`. Readers count a record in when they take it ([`Emitter::take_next`]); other
//! stages when their batch arrives. The first error stops every stage (a shared cancel
//! flag) and is the one reported.
//!
//! A stage with several inputs reads them one after another, in the order given. To
//! avoid a deadlock when two inputs share an upstream (a diamond), inputs after the first
//! are drained into spill files on disk while the first is read.

use crate::cache::{self, CachePaths, RecordFileWriter};
use crate::config::Plan;
use crate::dropped::DropKeeper;
use crate::emitter::{send_all, Counts, Emitter, Sink};
use crate::error::{RunError, StageError};
use crate::progress::{progress_msg, spinner_style, StageBar};
use crate::record::Batch;
use crate::run::roles::{Role, Roles};
use crate::run::wiring::{Flow, Wiring};
use crate::stage::{Stage, StageImpl};
use crossbeam_channel::{Receiver, Sender};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a stage that ran left for the commit.
pub(crate) struct StageResult {
    /// Its counts (balanced: checked by the runner).
    pub(crate) counts: Counts,
    /// Seconds of work.
    pub(crate) busy: Duration,
    /// Seconds blocked on full output channels.
    pub(crate) blocked: Duration,
    /// Files it wrote (writers).
    pub(crate) outputs: Vec<PathBuf>,
}

/// Everything the stages of a run did.
#[derive(Default)]
pub(crate) struct Ran {
    /// Results of the stages that ran.
    pub(crate) results: HashMap<String, StageResult>,
    /// Records sent and received per stage and edge.
    pub(crate) flow: Flow,
}

/// The first error of a run, and the flag that stops the other stages.
struct Failure {
    cancel: Arc<AtomicBool>,
    first: Mutex<Option<RunError>>,
}

impl Failure {
    fn fail(&self, e: RunError) {
        self.cancel.store(true, Ordering::SeqCst);
        let mut g = self.first.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the first real error; a `Cancelled` only stands in until one arrives.
        let cancelled = |e: &RunError| {
            matches!(
                e,
                RunError::Stage {
                    source: StageError::Cancelled,
                    ..
                }
            )
        };
        if g.as_ref()
            .is_none_or(|old| cancelled(old) && !cancelled(&e))
        {
            *g = Some(e);
        }
    }

    fn stage(&self, stage: &str, e: StageError) {
        self.fail(RunError::Stage {
            stage: stage.to_string(),
            source: e,
        });
    }
}

/// Runs every stage whose role is `Run` on its own thread (and replays the `Replay`
/// ones), joins them, and returns what they did or the run's first error.
pub(crate) fn run_all(
    plan: &Plan,
    roles: &Roles,
    paths: &HashMap<String, CachePaths>,
    mut built: HashMap<String, StageImpl>,
    mut wiring: Wiring,
    progress: bool,
    dir: &Path,
) -> Result<Ran, RunError> {
    let failure = Failure {
        cancel: Arc::new(AtomicBool::new(false)),
        first: Mutex::new(None),
    };
    let multi = if progress {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    };
    let style = spinner_style();
    let bs = plan.run.batch_size;
    let failure = &failure;
    let ran = Mutex::new(Ran::default());
    let ran_ref = &ran;
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for s in &plan.stages {
            let id = s.id.as_str();
            match roles.of(id) {
                Role::Skip => {}
                Role::Replay => {
                    let outs = wiring.outputs(id);
                    let path = paths[id].records.clone();
                    let cancel = failure.cancel.clone();
                    let h = scope.spawn(move || match replay(&path, bs, outs, &cancel) {
                        Ok(n) => {
                            lock(ran_ref).flow.sent.insert(id.to_string(), n);
                        }
                        Err(e) => failure.stage(id, e),
                    });
                    handles.push((id, h));
                }
                Role::Run => {
                    let Some(stage) = built.remove(id) else {
                        continue;
                    };
                    let pb = multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style.clone())
                            .with_prefix(id.to_string()),
                    );
                    pb.enable_steady_tick(Duration::from_millis(200));
                    let runner = StageRunner {
                        id,
                        dropped: Some(DropKeeper::new(
                            plan.run.keep_dropped,
                            plan.run.dropped_per_reason,
                            s.seed,
                            id,
                            dir,
                        )),
                        batch_size: bs,
                        rejects: partial(&paths[id].rejects),
                        spill_dir: dir.join(".tmp").join(id),
                        cancel: failure.cancel.clone(),
                        pb,
                    };
                    let (outs, ins) = (wiring.outputs(id), wiring.inputs(id));
                    let h = scope.spawn(move || match runner.run(stage, outs, ins) {
                        Ok((r, received)) => {
                            let mut g = lock(ran_ref);
                            g.flow.sent.insert(id.to_string(), r.counts.records_out);
                            g.flow.received.insert(id.to_string(), received);
                            g.results.insert(id.to_string(), r);
                        }
                        Err(e) => failure.fail(e),
                    });
                    handles.push((id, h));
                    if let Some(rx) = wiring.checkpoint(id) {
                        let tmp = partial(&paths[id].records);
                        let h = scope.spawn(move || match write_records(&tmp, rx) {
                            Ok(n) => {
                                lock(ran_ref).flow.checkpointed.insert(id.to_string(), n);
                            }
                            Err(e) => failure.stage(id, e),
                        });
                        handles.push((id, h));
                    }
                }
            }
        }
        // Senders of stages that did not start (none should remain) close here, so no
        // consumer waits forever.
        drop(wiring);
        for (id, h) in handles {
            if h.join().is_err() {
                failure.stage(
                    id,
                    StageError::msg("the stage thread panicked (a bug: please report it)"),
                );
            }
        }
    });
    if let Some(e) = failure
        .first
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    Ok(ran.into_inner().unwrap_or_else(|p| p.into_inner()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends a checkpoint file's records to a replayed stage's consumers; returns how many.
fn replay(
    path: &Path,
    batch_size: usize,
    outs: Vec<Sender<Batch>>,
    cancel: &AtomicBool,
) -> Result<u64, StageError> {
    let mut sent = 0;
    let r = cache::read_record_file(path, batch_size, |batch| {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        sent += batch.len() as u64;
        send_all(&outs, batch)
    });
    if r.is_err() {
        // Before `outs` close: consumers must see a failure, not an end of input.
        cancel.store(true, Ordering::SeqCst);
    }
    r.map(|()| sent)
}

/// One stage's thread: see the module docs.
struct StageRunner<'a> {
    id: &'a str,
    /// Keeps the stage's dropped records ([`crate::dropped`]).
    dropped: Option<DropKeeper>,
    batch_size: usize,
    /// The stage's rejects file, under its temporary name until the commit.
    rejects: PathBuf,
    /// Where inputs after the first are spilled.
    spill_dir: PathBuf,
    cancel: Arc<AtomicBool>,
    pb: ProgressBar,
}

impl StageRunner<'_> {
    /// Runs the stage to its end; returns its result and the records received per input.
    fn run(
        mut self,
        stage: StageImpl,
        outs: Vec<Sender<Batch>>,
        ins: Vec<Receiver<Batch>>,
    ) -> Result<(StageResult, Vec<u64>), RunError> {
        // Every error stops the other stages *before* this one's channels close (they
        // close when `outs`/`em` drop at the return), so downstream writers see the
        // failure instead of a normal end of input and commit nothing.
        let stage_err = |e: StageError| {
            self.cancel.store(true, Ordering::SeqCst);
            RunError::Stage {
                stage: self.id.to_string(),
                source: e,
            }
        };
        if let Some(p) = self.rejects.parent() {
            std::fs::create_dir_all(p).map_err(|e| stage_err(StageError::io(p, e)))?;
        }
        let f =
            File::create(&self.rejects).map_err(|e| stage_err(StageError::io(&self.rejects, e)))?;
        let sink = if outs.is_empty() {
            Sink::Discard
        } else {
            Sink::Channels(outs)
        };
        let mut em = Emitter::new(
            self.id,
            self.batch_size,
            sink,
            Some(Box::new(BufWriter::new(f))),
        )
        .with_cancel(self.cancel.clone())
        .with_bar(StageBar::new(self.pb.clone()));
        if let Some(k) = self.dropped.take() {
            em = em.with_dropped(k);
        }
        let t0 = Instant::now();
        let mut busy = Duration::ZERO;
        let mut received = vec![0; ins.len()];
        let r = match stage {
            StageImpl::Source(mut src) => {
                let t = Instant::now();
                let r = src.run(&mut em);
                em.flush();
                // A reader's time blocked on a full channel is not busy time.
                busy += t.elapsed().saturating_sub(em.blocked());
                r.map(|()| Vec::new())
            }
            StageImpl::Stage(mut st) => {
                self.drive(&mut *st, ins, &mut em, &mut busy, &mut received)
            }
        };
        let outputs = match r {
            Ok(o) => o,
            Err(e) => {
                self.pb.finish_with_message("failed");
                return Err(stage_err(e));
            }
        };
        if self.cancel.load(Ordering::SeqCst) {
            self.pb.finish_with_message("cancelled");
            return Err(stage_err(StageError::Cancelled));
        }
        em.finish_rejects()
            .map_err(|e| stage_err(StageError::io(&self.rejects, e)))?;
        em.finish_dropped().map_err(stage_err)?;
        if !em.counts().balances() {
            self.cancel.store(true, Ordering::SeqCst);
            let counts = em.counts();
            return Err(RunError::Accounting {
                stage: self.id.into(),
                records_in: counts.records_in,
                kept: counts.kept,
                dropped: counts.dropped_total(),
                rejected: counts.rejected,
            });
        }
        let blocked = em.blocked();
        let counts = em.into_counts();
        self.pb
            .finish_with_message(progress_msg(&counts, t0.elapsed(), None));
        tracing::info!(
            stage = self.id,
            records_in = counts.records_in,
            records_out = counts.records_out,
            dropped = counts.dropped_total(),
            rejected = counts.rejected,
            "Stage finished."
        );
        let result = StageResult {
            counts,
            busy,
            blocked,
            outputs,
        };
        Ok((result, received))
    }

    /// Feeds a stage its inputs batch by batch, then finishes it.
    fn drive(
        &self,
        st: &mut dyn Stage,
        mut ins: Vec<Receiver<Batch>>,
        em: &mut Emitter,
        busy: &mut Duration,
        received: &mut [u64],
    ) -> Result<Vec<PathBuf>, StageError> {
        // Inputs after the first are drained to disk right away (see module docs).
        let first = if ins.is_empty() {
            None
        } else {
            Some(ins.remove(0))
        };
        let spills: Vec<_> = ins
            .into_iter()
            .enumerate()
            .map(|(k, rx)| {
                let path = self.spill_dir.join(format!("input-{}.jsonl.zst", k + 1));
                let p2 = path.clone();
                (path, std::thread::spawn(move || write_records(&p2, rx)))
            })
            .collect();
        let mut process = |batch: Batch, em: &mut Emitter| -> Result<(), StageError> {
            em.add_records_in(batch.len() as u64);
            // Text bytes in, for the progress line's MB/s (only while a bar is drawn).
            if em.bar_visible() {
                em.add_text_bytes(batch.iter().map(|r| r.text.len() as u64).sum::<u64>());
            }
            let (t, b0) = (Instant::now(), em.blocked());
            st.process(batch, em)?;
            // Sends inside `process` can block on a full channel: that is back-pressure, not work.
            *busy += t.elapsed().saturating_sub(em.blocked() - b0);
            em.flush();
            Ok(())
        };
        if let Some(rx) = first {
            for batch in rx.iter() {
                if self.cancel.load(Ordering::Relaxed) {
                    return Err(StageError::Cancelled);
                }
                received[0] += batch.len() as u64;
                process(batch, em)?;
            }
        }
        for (k, (path, h)) in spills.into_iter().enumerate() {
            h.join()
                .map_err(|_| StageError::msg("spill thread panicked"))??;
            let mut err = None;
            cache::read_record_file(&path, self.batch_size, |batch| {
                if self.cancel.load(Ordering::Relaxed) {
                    err = Some(StageError::Cancelled);
                    return false;
                }
                received[k + 1] += batch.len() as u64;
                match process(batch, em) {
                    Ok(()) => true,
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            let _ = std::fs::remove_file(&path);
        }
        if self.cancel.load(Ordering::SeqCst) {
            return Err(StageError::Cancelled);
        }
        let (t, b0) = (Instant::now(), em.blocked());
        st.finish(em)?;
        *busy += t.elapsed().saturating_sub(em.blocked() - b0);
        em.flush();
        Ok(st.outputs())
    }
}

/// Writes what arrives on `rx` to a record file (checkpoints, spills); returns how many.
fn write_records(path: &Path, rx: Receiver<Batch>) -> Result<u64, StageError> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| StageError::io(p, e))?;
    }
    let f = File::create(path).map_err(|e| StageError::io(path, e))?;
    let mut w = RecordFileWriter::new(BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| StageError::io(path, e))?;
    let mut n = 0;
    for batch in rx.iter() {
        for r in &batch {
            w.write(r).map_err(|e| StageError::io(path, e))?;
        }
        n += batch.len() as u64;
    }
    let mut inner = w.finish().map_err(|e| StageError::io(path, e))?;
    inner.flush().map_err(|e| StageError::io(path, e))?;
    Ok(n)
}

/// The temporary name a file has until its stage is committed.
pub(crate) fn partial(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}
