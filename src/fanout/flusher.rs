//! Market data's way to the sockets. A publishing task queues a message
//! into each subscriber's outbox and notes the outboxes it touched
//! (`Unflushed`, each outbox once, through its `dirty` flag); at the end of
//! its turn it hands them to the `Flusher`, one task for every connection,
//! which writes each outbox's queue in one call.
//!
//! Why one task: at low load it runs right after the turn (one wake-up per
//! turn, where a writer task per connection meant one per connection and
//! message); under load, what the symbols publish while it writes waits
//! for its next pass, so a connection following several symbols gets all
//! of it in one write (group commit), and the writes per second fall as
//! the load rises instead of the latency.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Outbox, Push};
use crate::protocol::StreamId;

/// The outboxes a publishing task queued market data into during its turn.
#[derive(Default)]
pub struct Unflushed(Vec<Arc<Outbox>>);

impl Unflushed {
    /// Queues a market-data message of `stream` (see `Outbox::queue_market`).
    pub fn push(&mut self, outbox: &Arc<Outbox>, stream: StreamId, frame: &Utf8Bytes) -> Push {
        let queued = outbox.queue_market(stream, frame);
        if queued.flush {
            self.0.push(outbox.clone());
        }
        queued.push
    }
}

/// Writes the outboxes publishing tasks hand it.
#[derive(Default)]
pub struct Flusher {
    /// Handed over and not yet written; the publishing tasks append, the
    /// flusher takes the whole list (the lock is held for a swap or an
    /// append, never while writing).
    pending: Mutex<Vec<Arc<Outbox>>>,
    wake: Notify,
}

impl Flusher {
    /// Hands a turn's outboxes over to be written.
    pub fn hand_over(&self, unflushed: &mut Unflushed) {
        if unflushed.0.is_empty() {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let first = pending.is_empty();
        pending.append(&mut unflushed.0);
        drop(pending);
        if first {
            self.wake.notify_one();
        }
    }

    /// Writes what is handed over, until `stop` (what is queued then goes
    /// out with each connection's shutdown).
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut writing: Vec<Arc<Outbox>> = Vec::new();
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.changed() => return,
            }
            // Behind the tasks that are ready now: the symbol tasks woken
            // by the same timer tick publish first, so their messages to a
            // connection go in one write (without this, the task woken
            // last runs first, and each symbol's turn had a pass of its own).
            tokio::task::yield_now().await;
            // One pass per wake-up: what is handed over meanwhile woke it
            // again (the list was empty), and the other tasks get their
            // turn between passes.
            {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::swap(&mut *pending, &mut writing);
            }
            for outbox in writing.drain(..) {
                outbox.flush();
            }
        }
    }
}
