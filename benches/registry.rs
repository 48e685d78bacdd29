//! A reconnect storm onto one stream: 100,000 subscriptions opened and then
//! closed while the stream publishes, with today's per-stream list
//! (`gateway::Subscribers`: O(1) add and remove) against the copy-on-write
//! list it replaced (every change copies the whole list: O(n) each, O(n^2)
//! for the storm), measured in the same run.
//!
//! cargo bench --bench registry    # 100,000 subscribers (about 2.5 minutes)
//! (`cargo test` runs it small: 2,000 subscribers)

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rustc_hash::FxHasher;
use tickwire::encode;
use tickwire::fanout::{ConnId, LagPolicy, Outbox};
use tickwire::gateway::Subscribers;
use tickwire::instrument::Instruments;
use tickwire::protocol::{Channel, StreamId};
use tickwire::types::SymbolId;
use tokio_tungstenite::tungstenite::Utf8Bytes;

const STREAM: StreamId = StreamId {
    symbol: SymbolId(0),
    channel: Channel::Heartbeat,
};

/// The design before: per stream an `Arc<[..]>` in a dashmap, replaced by
/// a copy on every subscribe and unsubscribe (kept here as the baseline).
#[derive(Default)]
struct CopyOnWrite {
    streams: DashMap<StreamId, Arc<[Arc<Outbox>]>, std::hash::BuildHasherDefault<FxHasher>>,
}

impl CopyOnWrite {
    fn add(&self, stream: StreamId, outbox: &Arc<Outbox>) -> bool {
        let mut entry = self
            .streams
            .entry(stream)
            .or_insert_with(|| Arc::from(Vec::new()));
        if entry.iter().any(|o| o.id == outbox.id) {
            return false;
        }
        let mut list: Vec<Arc<Outbox>> = entry.iter().cloned().collect();
        list.push(outbox.clone());
        *entry = Arc::from(list);
        true
    }

    fn remove(&self, stream: StreamId, conn: ConnId) {
        if let Some(mut entry) = self.streams.get_mut(&stream)
            && entry.iter().any(|o| o.id == conn)
        {
            let list: Vec<Arc<Outbox>> = entry.iter().filter(|o| o.id != conn).cloned().collect();
            *entry = Arc::from(list);
        }
    }

    fn subscribers(&self, stream: StreamId) -> Option<Arc<[Arc<Outbox>]>> {
        self.streams.get(&stream).map(|entry| entry.clone())
    }
}

/// What one storm did: how long, and how many messages were delivered.
struct Storm {
    elapsed: Duration,
    deliveries: u64,
}

/// Opens `n` subscriptions, publishing a message after every `every`, then
/// closes them in the same way (oldest first).
fn storm<Add, Remove, Publish>(
    outboxes: &[Arc<Outbox>],
    every: usize,
    mut add: Add,
    mut remove: Remove,
    mut publish: Publish,
) -> Storm
where
    Add: FnMut(&Arc<Outbox>),
    Remove: FnMut(ConnId),
    Publish: FnMut() -> u64,
{
    let started = Instant::now();
    let mut deliveries = 0;
    for (i, outbox) in outboxes.iter().enumerate() {
        add(outbox);
        if i % every == 0 {
            deliveries += publish();
        }
    }
    for (i, outbox) in outboxes.iter().enumerate() {
        remove(outbox.id);
        if i % every == 0 {
            deliveries += publish();
        }
    }
    Storm {
        elapsed: started.elapsed(),
        deliveries,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 100_000 } else { 2_000 };
    let every = n / 100;
    let instruments = Arc::new(Instruments::embedded_default());
    // A budget no run fills: this measures the registry, not lagging.
    let policy = LagPolicy {
        budget: 1 << 40,
        ..LagPolicy::default()
    };
    let outboxes: Vec<Arc<Outbox>> = (0..n)
        .map(|id| {
            let outbox = Arc::new(Outbox::new(id as u64 + 1, policy, instruments.clone()));
            outbox.subscribe(&[STREAM]);
            outbox
        })
        .collect();
    let frame = encode::heartbeat("BTC-USD", 1, 1, 1, 1, 1);
    let push = |list: &[Arc<Outbox>], frame: &Utf8Bytes| {
        for outbox in list {
            black_box(outbox.push_market(STREAM, frame));
        }
        list.len() as u64
    };

    let mut list = Subscribers::default();
    let list_cell = std::cell::RefCell::new(&mut list);
    let today = storm(
        &outboxes,
        every,
        |o| {
            list_cell.borrow_mut().add(o);
        },
        |conn| {
            list_cell.borrow_mut().remove(conn);
        },
        || push(list_cell.borrow().as_slice(), &frame),
    );
    // Empty the queues between the two designs.
    for outbox in &outboxes {
        outbox.unsubscribe(&[STREAM]);
        outbox.subscribe(&[STREAM]);
    }
    let before = CopyOnWrite::default();
    let baseline = storm(
        &outboxes,
        every,
        |o| {
            before.add(STREAM, o);
        },
        |conn| before.remove(STREAM, conn),
        || {
            before
                .subscribers(STREAM)
                .map_or(0, |list| push(&list, &frame))
        },
    );
    assert_eq!(
        today.deliveries, baseline.deliveries,
        "both designs delivered the same messages"
    );
    println!(
        "registry/storm {n} subscribers onto one stream and off again, a message every {every} changes ({} deliveries)",
        today.deliveries
    );
    println!(
        "  O(1) list (today)    {:>10.1} ms",
        today.elapsed.as_secs_f64() * 1e3
    );
    println!(
        "  copy-on-write before {:>10.1} ms",
        baseline.elapsed.as_secs_f64() * 1e3
    );
    println!(
        "  ratio before / today {:>10.1}",
        baseline.elapsed.as_secs_f64() / today.elapsed.as_secs_f64().max(1e-9)
    );
}
