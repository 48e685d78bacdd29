//! Engine throughput on an exchange-core-like mix, and allocations per
//! operation, against a straightforward `BTreeMap` book measured in the same
//! run as the baseline.
//!
//! ```text
//! cargo bench --bench engine                  # everything
//! cargo bench --bench engine -- engine/mixed  # one group
//! ```
//!
//! The mix: about 38% new resting limit orders, 30% cancels, 28% amends
//! (moves and size changes) and 4% crossing orders (IOC and market), over a
//! book held at about 1,000 orders on about 750 price levels, from 100
//! accounts (so self-trade prevention is checked on every match). The
//! operations are generated once from a fixed seed by running them through
//! an engine; each measured pass replays them on a clone of the warmed book,
//! so every cancel and amend finds its order.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tickwire::engine::{Engine, Event, Input, NewOrder, Output};
use tickwire::instrument::Instruments;
use tickwire::market::Market;
use tickwire::types::{NANOS_PER_SEC, OrderId, Owner, Price, Qty, Side, TimeInForce};

/// Counts every allocation (and reallocation) the process makes.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const TARGET_ORDERS: usize = 1_000;
const HALF_RANGE: i64 = 800;
const OPS: usize = 200_000;

struct Workload {
    warmed: Engine,
    ops: Vec<Input>,
}

/// Builds the warmed book and the operation list (see the file's comment).
fn workload(seed: u64) -> Workload {
    let btc = Instruments::embedded_default()
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD in the defaults");
    let mid = btc.start_price.0;
    let mut engine = Engine::new(btc);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut live: Vec<(OrderId, Owner)> = Vec::new();
    let mut out = Output::with_capacity(256);
    let mut ops = Vec::with_capacity(OPS);
    let mut warming = true;
    let mut warmed = None;
    while ops.len() < OPS {
        if warming && live.len() >= TARGET_ORDERS {
            warming = false;
            warmed = Some(engine.clone());
        }
        let owner = Owner(rng.random_range(1..=100));
        let side = if rng.random::<bool>() {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = Qty(rng.random_range(1..=2_000));
        let book = engine.book();
        let (best_bid, best_ask) = (
            book.best_bid().map_or(mid - 1, |p| p.0),
            book.best_ask().map_or(mid + 1, |p| p.0),
        );
        let resting_price = |rng: &mut ChaCha8Rng, side: Side| match side {
            Side::Buy => Price(best_ask - rng.random_range(1..=HALF_RANGE)),
            Side::Sell => Price(best_bid + rng.random_range(1..=HALF_RANGE)),
        };
        let roll = rng.random_range(0..100);
        let fill_up = live.len() < TARGET_ORDERS;
        let input =
            if warming || (roll < 38 && fill_up) || (roll < 30 && !fill_up) || live.is_empty() {
                Input::New(NewOrder::limit(
                    owner,
                    side,
                    resting_price(&mut rng, side),
                    qty,
                    TimeInForce::Gtc,
                ))
            } else if roll < 68 {
                let (order_id, owner) = live[rng.random_range(0..live.len())];
                Input::Cancel { owner, order_id }
            } else if roll < 96 {
                let (order_id, owner) = live[rng.random_range(0..live.len())];
                let Some(order) = engine.book().get(order_id).copied() else {
                    continue;
                };
                if rng.random::<bool>() {
                    Input::Amend {
                        owner,
                        order_id,
                        price: order.price,
                        qty: Qty(rng.random_range(1..=2_000)),
                    }
                } else {
                    Input::Amend {
                        owner,
                        order_id,
                        price: resting_price(&mut rng, order.side),
                        qty: order.leaves,
                    }
                }
            } else if rng.random::<bool>() {
                Input::New(NewOrder::market(
                    owner,
                    side,
                    Qty(rng.random_range(1..=3_000)),
                ))
            } else {
                let price = match side {
                    Side::Buy => Price(best_ask + 2),
                    Side::Sell => Price(best_bid - 2),
                };
                Input::New(NewOrder::limit(owner, side, price, qty, TimeInForce::Ioc))
            };
        out.clear();
        let result = engine.apply(ops.len() as u64, &input, &mut out);
        if let (Input::New(o), Ok(id)) = (&input, result)
            && engine.book().get(id).is_some()
        {
            live.push((id, o.owner));
        }
        for event in &out.events {
            if let Event::Done { order_id, .. } = event {
                live.retain(|(id, _)| id != order_id);
            }
        }
        if !warming {
            ops.push(input);
        }
    }
    Workload {
        warmed: warmed.expect("warm-up reached the target"),
        ops,
    }
}

fn replay(mut engine: Engine, ops: &[Input], out: &mut Output) -> Engine {
    for (i, input) in ops.iter().enumerate() {
        out.clear();
        let _ = black_box(engine.apply(i as u64, input, out));
    }
    engine
}

// ---------------------------------------------------------------- baseline

/// (price, total quantity) per level, best first.
type Levels = Vec<(i64, i64)>;

/// A straightforward book, as a first version often looks: a `BTreeMap` of
/// `VecDeque` queues per side, a std `HashMap` index, a `Vec` of trades per
/// operation. Same rules as the engine for what the workload does (price-time
/// matching, self-trade prevention, cancel, amend), no band or validation.
#[derive(Clone, Default)]
struct BaselineBook {
    bids: BTreeMap<i64, VecDeque<(u64, u32, i64)>>,
    asks: BTreeMap<i64, VecDeque<(u64, u32, i64)>>,
    index: HashMap<u64, (Side, i64)>,
    next_id: u64,
}

impl BaselineBook {
    fn from_engine(engine: &Engine) -> BaselineBook {
        let mut book = BaselineBook {
            next_id: engine.last_order_id().0,
            ..BaselineBook::default()
        };
        for side in [Side::Buy, Side::Sell] {
            for order in engine.book().orders_by_priority(side) {
                book.rest(
                    order.id.0,
                    order.owner.0,
                    side,
                    order.price.0,
                    order.leaves.0,
                );
            }
        }
        book
    }

    fn rest(&mut self, id: u64, owner: u32, side: Side, price: i64, qty: i64) {
        let ladder = if side == Side::Buy {
            &mut self.bids
        } else {
            &mut self.asks
        };
        ladder.entry(price).or_default().push_back((id, owner, qty));
        self.index.insert(id, (side, price));
    }

    fn remove(&mut self, id: u64) -> Option<(Side, i64, u32, i64)> {
        let (side, price) = self.index.remove(&id)?;
        let ladder = if side == Side::Buy {
            &mut self.bids
        } else {
            &mut self.asks
        };
        let queue = ladder.get_mut(&price)?;
        let pos = queue.iter().position(|o| o.0 == id)?;
        let (_, owner, qty) = queue.remove(pos)?;
        if queue.is_empty() {
            ladder.remove(&price);
        }
        Some((side, price, owner, qty))
    }

    fn submit(
        &mut self,
        id: u64,
        owner: u32,
        side: Side,
        limit: i64,
        mut qty: i64,
        rests: bool,
    ) -> Vec<(i64, i64)> {
        let mut trades = Vec::new();
        loop {
            let opposite = if side == Side::Buy {
                &mut self.asks
            } else {
                &mut self.bids
            };
            let best = if side == Side::Buy {
                opposite.keys().next()
            } else {
                opposite.keys().next_back()
            };
            let Some(&price) = best else { break };
            if (side == Side::Buy && price > limit)
                || (side == Side::Sell && price < limit)
                || qty == 0
            {
                break;
            }
            let Some(queue) = opposite.get_mut(&price) else {
                break;
            };
            let Some(front) = queue.front_mut() else {
                break;
            };
            if front.1 == owner {
                return trades;
            }
            let traded = qty.min(front.2);
            front.2 -= traded;
            qty -= traded;
            trades.push((price, traded));
            if front.2 == 0 {
                let maker = front.0;
                queue.pop_front();
                self.index.remove(&maker);
                if queue.is_empty() {
                    opposite.remove(&price);
                }
            }
        }
        if qty > 0 && rests {
            self.rest(id, owner, side, limit, qty);
        }
        trades
    }

    /// Total quantity per price level, bids best first then asks best
    /// first: what the end state of a pass is compared on.
    fn levels(&self) -> (Levels, Levels) {
        let total = |(p, q): (&i64, &VecDeque<(u64, u32, i64)>)| (*p, q.iter().map(|o| o.2).sum());
        (
            self.bids.iter().rev().map(total).collect(),
            self.asks.iter().map(total).collect(),
        )
    }

    fn apply(&mut self, input: &Input) -> usize {
        match *input {
            Input::New(o) => {
                self.next_id += 1;
                let limit = o
                    .price
                    .map_or(if o.side == Side::Buy { i64::MAX } else { 1 }, |p| p.0);
                self.submit(
                    self.next_id,
                    o.owner.0,
                    o.side,
                    limit,
                    o.qty.0,
                    o.tif == TimeInForce::Gtc,
                )
                .len()
            }
            Input::Cancel { order_id, .. } => usize::from(self.remove(order_id.0).is_some()),
            Input::Amend {
                order_id,
                price,
                qty,
                ..
            } => match self.remove(order_id.0) {
                Some((side, _, owner, _)) => self
                    .submit(order_id.0, owner, side, price.0, qty.0, true)
                    .len(),
                None => 0,
            },
        }
    }
}

// ------------------------------------------------------------------ main

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn main() {
    let work = workload(2026);
    let book = work.warmed.book();
    println!(
        "workload: {} ops replayed on a book of {} orders over {} + {} levels",
        work.ops.len(),
        book.order_count(),
        book.level_count(Side::Buy),
        book.level_count(Side::Sell)
    );

    // Allocations per operation in steady state: a first pass grows the
    // buffers, the second is counted.
    let mut out = Output::with_capacity(256);
    let engine = replay(work.warmed.clone(), &work.ops, &mut out);
    drop(engine);
    let engine = work.warmed.clone();
    let (first, second) = work.ops.split_at(work.ops.len() / 2);
    let mut engine = Some(engine);
    let mut halves = [0; 2];
    for (half, ops) in [first, second].into_iter().enumerate() {
        halves[half] =
            allocations_during(|| engine = engine.take().map(|e| replay(e, ops, &mut out)));
    }
    println!(
        "tickwire engine: {} allocations in {} ops ({:.6} per op; {} in the first half, {} in the second)",
        halves[0] + halves[1],
        work.ops.len(),
        (halves[0] + halves[1]) as f64 / work.ops.len() as f64,
        halves[0],
        halves[1]
    );
    let baseline = BaselineBook::from_engine(&work.warmed);
    let allocations = allocations_during(|| {
        let mut b = baseline.clone();
        for input in &work.ops {
            black_box(b.apply(input));
        }
    });
    println!(
        "baseline BTreeMap book: {allocations} allocations in {} ops ({:.2} per op)",
        work.ops.len(),
        allocations as f64 / work.ops.len() as f64
    );
    // The baseline is a fair peer only if it does the same work: both must
    // end the workload in the same book.
    let mut ended = baseline.clone();
    for input in &work.ops {
        ended.apply(input);
    }
    let engine_end = replay(work.warmed.clone(), &work.ops, &mut out);
    let engine_levels = |side| {
        let mut levels: Vec<(i64, i64)> = Vec::new();
        for order in engine_end.book().orders_by_priority(side) {
            match levels.last_mut() {
                Some(last) if last.0 == order.price.0 => last.1 += order.leaves.0,
                _ => levels.push((order.price.0, order.leaves.0)),
            }
        }
        levels
    };
    let (bids, asks) = ended.levels();
    if (bids, asks) != (engine_levels(Side::Buy), engine_levels(Side::Sell)) {
        eprintln!(
            "the baseline book ends the workload in a different book than the engine: its figures would not compare the same work"
        );
        std::process::exit(1);
    }
    println!(
        "end state: the baseline and the engine end in the same book ({} + {} levels)",
        ended.bids.len(),
        ended.asks.len()
    );

    // One quick wall-clock pass each, printed as a sanity line; criterion
    // below gives the real figures.
    let clock = Instant::now();
    drop(replay(work.warmed.clone(), &work.ops, &mut out));
    println!(
        "one pass: {:.2} M ops/s",
        work.ops.len() as f64 / clock.elapsed().as_secs_f64() / 1e6
    );

    let mut c = Criterion::default().without_plots().configure_from_args();
    {
        let mut group = c.benchmark_group("engine/mixed");
        group.throughput(Throughput::Elements(work.ops.len() as u64));
        group.sample_size(20);
        group.bench_function("tickwire", |b| {
            b.iter_batched(
                || (work.warmed.clone(), Output::with_capacity(256)),
                |(engine, mut out)| replay(engine, &work.ops, &mut out),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("baseline_btreemap", |b| {
            b.iter_batched(
                || baseline.clone(),
                |mut book| {
                    for input in &work.ops {
                        black_box(book.apply(input));
                    }
                    book
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
    {
        // The whole simulated symbol: sim decision + engine + ticker + candles.
        let mut group = c.benchmark_group("market/sim_step");
        const STEPS: u64 = 100_000;
        group.throughput(Throughput::Elements(STEPS));
        group.sample_size(20);
        let btc = Instruments::embedded_default()
            .get("BTC-USD")
            .cloned()
            .expect("BTC-USD in the defaults");
        let mut warmed = Market::new(btc, 7, 1_700_000_000 * NANOS_PER_SEC);
        let mut out = Output::with_capacity(256);
        for _ in 0..50_000 {
            out.clear();
            warmed.step_sim(&mut out);
        }
        group.bench_function("BTC-USD", |b| {
            b.iter_batched(
                || (warmed.clone(), Output::with_capacity(256)),
                |(mut market, mut out)| {
                    for _ in 0..STEPS {
                        out.clear();
                        market.step_sim(&mut out);
                    }
                    market
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
    c.final_summary();
}
