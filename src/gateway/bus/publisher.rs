//! The engine's market data onto the bus: every message its symbol tasks
//! publish goes, once and as the same bytes, to the symbol's stream subject
//! (`md.<symbol>.<stream>`).
//!
//! Publishing never blocks a symbol task: messages go into a bounded queue
//! that one task empties into NATS. When NATS cannot keep up (or is gone
//! for longer than the client buffers), the queue fills and messages are
//! dropped and counted; every gateway then sees the `seq` gap and fetches
//! the symbol's state again, as a lagging client does. Nothing the engine
//! keeps (orders, fills, the journal) depends on the bus.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::bus::subjects;
use crate::gateway::metrics::BusMetrics;
use crate::instrument::Instruments;
use crate::protocol::Channel;
use crate::types::SymbolId;

/// Messages waiting for NATS before the engine drops (a few seconds of
/// every symbol at full rate).
const QUEUE: usize = 1 << 16;

/// Hands the symbol tasks' messages to the publishing task.
pub struct Publisher {
    queue: mpsc::Sender<(async_nats::Subject, Bytes)>,
    /// `[symbol][stream]`, made once.
    subjects: Vec<Vec<async_nats::Subject>>,
    metrics: Arc<BusMetrics>,
}

impl Publisher {
    /// The publisher, and the task that writes its queue into NATS.
    pub fn start(
        client: async_nats::Client,
        instruments: &Instruments,
        metrics: Arc<BusMetrics>,
    ) -> Publisher {
        let (queue, mut rx) = mpsc::channel::<(async_nats::Subject, Bytes)>(QUEUE);
        tokio::spawn(async move {
            while let Some((subject, payload)) = rx.recv().await {
                if let Err(e) = client.publish(subject, payload).await {
                    tracing::warn!(error = %e, "a market-data message could not be published");
                }
            }
        });
        let subjects = instruments
            .iter()
            .map(|i| {
                Channel::ALL
                    .iter()
                    .map(|c| async_nats::Subject::from(subjects::market(&i.symbol, *c)))
                    .collect()
            })
            .collect();
        Publisher {
            queue,
            subjects,
            metrics,
        }
    }

    /// Queues one published message (the bytes the clients got).
    pub fn publish(&self, symbol: SymbolId, channel: Channel, frame: &Utf8Bytes) {
        let Some(subject) = self
            .subjects
            .get(symbol.index())
            .and_then(|s| s.get(channel.index()))
        else {
            return;
        };
        match self
            .queue
            .try_send((subject.clone(), Bytes::from(frame.clone())))
        {
            Ok(()) => self.metrics.published.fetch_add(1, Relaxed),
            Err(_) => self.metrics.publish_dropped.fetch_add(1, Relaxed),
        };
    }
}
