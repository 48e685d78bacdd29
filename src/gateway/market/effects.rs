//! What a live symbol's inputs send, queued until the journal says they may
//! go: an acknowledgement, a private event, or market data that reveals a
//! client's input waits until that input's record is durable (group
//! commit), and everything after it waits behind it, so each stream and
//! each connection still sees messages in the order they happened.
//!
//! Each effect is tagged with the journal ticket that must be durable
//! before it is sent (0: nothing to wait for). Without a journal every tag
//! is 0 and the queue empties after every input.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::engine::LevelChange;
use crate::fanout::{ConnId, Outbox};
use crate::journal::Ticket;
use crate::protocol::Channel;
use crate::types::UnixNanos;

/// The connection whose request caused the input being applied.
pub struct Requester {
    pub conn: ConnId,
    pub outbox: Arc<Outbox>,
    /// When the request was taken, on the effect that answers it (once).
    pub received: Option<std::time::Instant>,
}

pub enum Effect {
    /// A market-data message, for the hub (and the recorder); a book
    /// update carries its level changes, which the book's views follow.
    Market {
        channel: Channel,
        ts: UnixNanos,
        frame: Utf8Bytes,
        changes: Vec<LevelChange>,
    },
    /// A book snapshot for the recording, at this point of its streams.
    RecordSnapshot { ts: UnixNanos, frame: Utf8Bytes },
    /// A private event, for every connection of the account; the
    /// requester's connection gets `answer` (the same event with its
    /// request's `id`) instead of `plain`.
    Private {
        account: usize,
        requester: Option<Requester>,
        plain: Utf8Bytes,
        answer: Option<Utf8Bytes>,
    },
    /// A response to one connection (a refusal).
    Reply {
        outbox: Arc<Outbox>,
        frame: Utf8Bytes,
    },
    /// The number of orders a `cancel_all` canceled, once they are durable.
    Count {
        reply: oneshot::Sender<usize>,
        count: usize,
    },
}

#[derive(Default)]
pub struct Effects {
    queue: VecDeque<(Ticket, Effect)>,
    /// The ticket every effect pushed from now on waits for.
    wait_for: Ticket,
}

impl Effects {
    /// From now on, effects wait until `ticket` is durable.
    pub fn hold_until(&mut self, ticket: Ticket) {
        self.wait_for = self.wait_for.max(ticket);
    }

    pub fn push(&mut self, effect: Effect) {
        self.queue.push_back((self.wait_for, effect));
    }

    /// The effects that may go now that `durable` is durable, in order.
    pub fn ready(&mut self, durable: Ticket) -> impl Iterator<Item = Effect> + '_ {
        std::iter::from_fn(move || {
            if self.queue.front().is_some_and(|(t, _)| *t <= durable) {
                self.queue.pop_front().map(|(_, e)| e)
            } else {
                None
            }
        })
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The ticket the oldest waiting effect needs.
    pub fn waiting_for(&self) -> Option<Ticket> {
        self.queue.front().map(|(t, _)| *t)
    }

    /// Drops everything queued (replaying the journal at start, when there
    /// is nobody to send to).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(ts: UnixNanos) -> Effect {
        Effect::Market {
            channel: Channel::Trades,
            ts,
            frame: Utf8Bytes::from_static("{}"),
            changes: Vec::new(),
        }
    }

    fn ts_of(e: Effect) -> UnixNanos {
        match e {
            Effect::Market { ts, .. } => ts,
            _ => u64::MAX,
        }
    }

    #[test]
    fn effects_wait_for_their_ticket_and_keep_their_order() {
        let mut effects = Effects::default();
        effects.push(market(1));
        effects.hold_until(10);
        effects.push(market(2));
        effects.push(market(3));
        effects.hold_until(20);
        effects.push(market(4));
        assert_eq!(effects.ready(0).map(ts_of).collect::<Vec<_>>(), vec![1]);
        assert_eq!(effects.waiting_for(), Some(10));
        assert_eq!(effects.ready(15).map(ts_of).collect::<Vec<_>>(), vec![2, 3]);
        assert!(!effects.is_empty());
        assert_eq!(effects.ready(20).map(ts_of).collect::<Vec<_>>(), vec![4]);
        assert!(effects.is_empty());
    }
}
