//! Fan-out into 1,000 subscriber queues: encoding each book update once and
//! sharing the bytes (tickwire's way) against encoding it again for every
//! subscriber, with the same encoder, queues and drain, in the same run.
//!
//! ```text
//! cargo bench --bench fanout
//! ```
//!
//! The messages are real `book_update`s (with their checksums) of a
//! simulated BTC-USD; every 64 messages the 1,000 queues are drained, as
//! their writers would. Throughput is counted in deliveries (one message
//! into one queue).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tickwire::encode;
use tickwire::engine::{Event, LevelChange, Output};
use tickwire::fanout::{Batch, LagPolicy, Outbox};
use tickwire::gateway::Subscribers;
use tickwire::instrument::{Instrument, Instruments};
use tickwire::market::Market;
use tickwire::protocol::{Channel, StreamId};
use tickwire::types::{NANOS_PER_SEC, SymbolId};

const SUBSCRIBERS: usize = 1_000;
const DRAIN_EVERY: usize = 64;
const STREAM: StreamId = StreamId {
    symbol: SymbolId(0),
    channel: Channel::Book,
};

/// One update as the symbol task has it before encoding.
struct Update {
    seq: u64,
    ts: u64,
    checksum: u32,
    changes: Vec<LevelChange>,
}

fn updates(instrument: &Instrument, count: usize) -> Vec<Update> {
    let mut market = Market::new(instrument.clone(), 11, 1_700_000_000 * NANOS_PER_SEC);
    let mut out = Output::with_capacity(64);
    let mut scratch = String::new();
    let mut list = Vec::with_capacity(count);
    while list.len() < count {
        out.clear();
        market.step_sim(&mut out);
        for event in &out.events {
            if let Event::BookUpdate { seq, ts, .. } = *event {
                let checksum =
                    encode::book_checksum(instrument, market.engine().book(), &mut scratch);
                list.push(Update {
                    seq,
                    ts,
                    checksum,
                    changes: out.changes_of(event).to_vec(),
                });
            }
        }
    }
    list
}

fn subscribers(instruments: &Arc<Instruments>) -> (Subscribers, Vec<Arc<Outbox>>) {
    let mut registry = Subscribers::default();
    // A budget no bench run fills: this measures fan-out, not lagging.
    let policy = LagPolicy {
        budget: 1 << 30,
        ..LagPolicy::default()
    };
    let outboxes: Vec<Arc<Outbox>> = (0..SUBSCRIBERS)
        .map(|id| Arc::new(Outbox::new(id as u64, policy, instruments.clone())))
        .collect();
    for outbox in &outboxes {
        outbox.subscribe(&[STREAM]);
        registry.add(outbox);
    }
    (registry, outboxes)
}

fn drain_all(outboxes: &[Arc<Outbox>], batch: &mut Batch) {
    for outbox in outboxes {
        loop {
            outbox.drain(256, batch);
            if batch.frames.is_empty() {
                break;
            }
            black_box(&batch.frames);
        }
    }
}

/// Publishes `iters` updates to every subscriber; returns the time taken.
fn run(
    iters: u64,
    once: bool,
    instrument: &Instrument,
    list: &[Update],
    registry: &Subscribers,
    outboxes: &[Arc<Outbox>],
) -> Duration {
    let mut batch = Batch::default();
    let started = Instant::now();
    for i in 0..iters as usize {
        let u = &list[i % list.len()];
        let subscribers = registry.as_slice();
        if once {
            let frame = encode::book_update(instrument, &u.changes, u.seq, u.ts, u.checksum);
            for outbox in subscribers.iter() {
                black_box(outbox.push_market(STREAM, &frame));
            }
        } else {
            for outbox in subscribers.iter() {
                let frame = encode::book_update(instrument, &u.changes, u.seq, u.ts, u.checksum);
                black_box(outbox.push_market(STREAM, &frame));
            }
        }
        if i % DRAIN_EVERY == DRAIN_EVERY - 1 {
            drain_all(outboxes, &mut batch);
        }
    }
    drain_all(outboxes, &mut batch);
    started.elapsed()
}

fn main() {
    let all = Arc::new(Instruments::embedded_default());
    let instrument = all
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD in the defaults");
    let list = updates(&instrument, 4_096);
    let mean_len: usize = list
        .iter()
        .take(256)
        .map(|u| encode::book_update(&instrument, &u.changes, u.seq, u.ts, u.checksum).len())
        .sum::<usize>()
        / 256;
    println!(
        "{} book updates of BTC-USD, {mean_len} bytes on average, into {SUBSCRIBERS} queues",
        list.len()
    );
    let (registry, outboxes) = subscribers(&all);

    let mut c = Criterion::default().without_plots().configure_from_args();
    let mut group = c.benchmark_group("fanout/1000_subscribers");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    group.sample_size(20);
    group.bench_function("encode_once", |b| {
        b.iter_custom(|iters| run(iters, true, &instrument, &list, &registry, &outboxes))
    });
    group.bench_function("encode_per_subscriber", |b| {
        b.iter_custom(|iters| run(iters, false, &instrument, &list, &registry, &outboxes))
    });
    group.finish();
    c.final_summary();
}
