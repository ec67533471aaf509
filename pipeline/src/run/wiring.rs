//! Wiring: the bounded channels between stages, and the check that every edge delivered
//! what its producer emitted.
//!
//! There is one channel per edge whose consumer runs (its producer runs or is replayed),
//! plus one per checkpointed stage that runs, read by its checkpoint writer. A producer
//! sends each batch to all of its channels (fan-out), in plan order.

use crate::config::Plan;
use crate::error::RunError;
use crate::record::Batch;
use crate::run::roles::{checkpoints_records, Role, Roles};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashMap;

/// The channels of one run, taken stage by stage as their threads start.
pub(crate) struct Wiring {
    senders: HashMap<String, Vec<Sender<Batch>>>,
    receivers: HashMap<String, Vec<Receiver<Batch>>>,
    checkpoints: HashMap<String, Receiver<Batch>>,
}

impl Wiring {
    /// Channels of `capacity` batches for every edge into a stage that runs, and for
    /// every checkpoint writer.
    pub(crate) fn new(plan: &Plan, roles: &Roles, capacity: usize) -> Wiring {
        let mut w = Wiring {
            senders: HashMap::new(),
            receivers: HashMap::new(),
            checkpoints: HashMap::new(),
        };
        for s in plan.stages.iter().filter(|s| roles.of(&s.id) == Role::Run) {
            for i in &s.inputs {
                let (tx, rx) = bounded(capacity);
                w.senders.entry(i.clone()).or_default().push(tx);
                w.receivers.entry(s.id.clone()).or_default().push(rx);
            }
        }
        for s in plan.stages.iter().filter(|s| roles.of(&s.id) == Role::Run) {
            if checkpoints_records(s) {
                let (tx, rx) = bounded(capacity);
                w.senders.entry(s.id.clone()).or_default().push(tx);
                w.checkpoints.insert(s.id.clone(), rx);
            }
        }
        w
    }

    /// The channels stage `id` sends to.
    pub(crate) fn outputs(&mut self, id: &str) -> Vec<Sender<Batch>> {
        self.senders.remove(id).unwrap_or_default()
    }

    /// The channels stage `id` reads, in the order of its `inputs`.
    pub(crate) fn inputs(&mut self, id: &str) -> Vec<Receiver<Batch>> {
        self.receivers.remove(id).unwrap_or_default()
    }

    /// The channel of stage `id`'s checkpoint writer, if it has one.
    pub(crate) fn checkpoint(&mut self, id: &str) -> Option<Receiver<Batch>> {
        self.checkpoints.remove(id)
    }
}

/// Records each stage sent and received in this run, for [`check_edges`].
#[derive(Default)]
pub(crate) struct Flow {
    /// Records a stage that ran or was replayed sent on each of its channels.
    pub(crate) sent: HashMap<String, u64>,
    /// Records a stage that ran received, per input, in the order of its `inputs`.
    pub(crate) received: HashMap<String, Vec<u64>>,
    /// Records each checkpoint writer wrote.
    pub(crate) checkpointed: HashMap<String, u64>,
}

/// Every edge delivered exactly what its producer emitted: for each stage that ran, each
/// input's received count equals the producer's output, and each checkpoint file holds
/// the stage's whole output.
pub(crate) fn check_edges(plan: &Plan, roles: &Roles, flow: &Flow) -> Result<(), RunError> {
    let edge = |from: &str, to: &str, sent: u64, received: u64| {
        if sent == received {
            Ok(())
        } else {
            Err(RunError::Edge {
                from: from.into(),
                to: to.into(),
                sent,
                received,
            })
        }
    };
    for s in plan.stages.iter().filter(|s| roles.of(&s.id) == Role::Run) {
        let got = flow.received.get(&s.id);
        for (k, i) in s.inputs.iter().enumerate() {
            let sent = flow.sent.get(i).copied().unwrap_or(0);
            let received = got.and_then(|g| g.get(k)).copied().unwrap_or(0);
            edge(i, &s.id, sent, received)?;
        }
        if let Some(&n) = flow.checkpointed.get(&s.id) {
            let sent = flow.sent.get(&s.id).copied().unwrap_or(0);
            edge(&s.id, "(checkpoint)", sent, n)?;
        }
    }
    Ok(())
}
