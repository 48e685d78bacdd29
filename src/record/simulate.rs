//! `tickwire simulate`: a recording of the simulated markets made without a
//! server, as fast as the machine allows. Every symbol's market runs from
//! the same seed as `serve` would run it (with the same warm-up), the
//! events of all symbols are merged in time order (ties: instrument order),
//! and each symbol gets a heartbeat every simulated second and a book
//! snapshot every `snapshot_every_s`, so the same seed and instruments give
//! the same file, byte for byte.

use crate::encode;
use crate::engine::Output;
use crate::instrument::Instruments;
use crate::market::Market;
use crate::protocol::Channel;
use crate::scenario::Scenario;
use crate::types::{NANOS_PER_SEC, UnixNanos};

use super::{Header, RecordWriter, stream_name};

/// Simulated time the markets run before the recording starts (as `serve`).
pub const WARM_UP_NS: u64 = 30 * NANOS_PER_SEC;

#[derive(Clone, Debug)]
pub struct SimulateOptions {
    pub instruments: Instruments,
    pub seed: u64,
    pub duration_ns: u64,
    /// Engine time of the recording's start.
    pub start: UnixNanos,
    pub snapshot_every_s: u64,
    /// Scripted changes, timed from `start`.
    pub scenario: Option<Scenario>,
}

/// What a simulation wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimulateStats {
    pub events: u64,
    pub messages: u64,
}

/// Runs the simulation into `writer`; `progress` hears the simulated
/// nanoseconds done from time to time.
pub fn simulate(
    options: &SimulateOptions,
    writer: &mut RecordWriter,
    mut progress: impl FnMut(u64),
) -> std::io::Result<SimulateStats> {
    let header = Header {
        instruments: options.instruments.clone(),
        seed: Some(options.seed),
        start: options.start,
        snapshot_every_s: options.snapshot_every_s,
    };
    writer.write_header(&header)?;
    let begin = options.start.saturating_sub(WARM_UP_NS);
    let mut markets: Vec<Market> = options
        .instruments
        .iter()
        .map(|i| Market::new(i.clone(), options.seed, begin))
        .collect();
    let names: Vec<[String; 6]> = options
        .instruments
        .iter()
        .map(|i| Channel::ALL.map(|c| stream_name(c, &i.symbol)))
        .collect();
    let mut out = Output::with_capacity(64);
    let mut scratch = String::with_capacity(512);
    let mut stats = SimulateStats::default();
    let end = options.start + options.duration_ns;
    let mut heartbeat_seq = 0u64;
    let mut next_second = options.start + NANOS_PER_SEC;
    let mut seconds = 0u64;
    // Warm-up: not recorded; the recording starts with each book.
    for (market, names) in markets.iter_mut().zip(&names) {
        while market.next_sim_at() < options.start {
            out.clear();
            market.step_sim(&mut out);
        }
        if let Some(scenario) = &options.scenario {
            let symbol = market.instrument().symbol.clone();
            market.set_script(scenario.script(&symbol, options.start));
        }
        let snapshot = encode::market_book_snapshot(market, &mut scratch);
        writer.write_snapshot(
            market.engine().now(),
            &names[Channel::Book.index()],
            snapshot.as_bytes(),
        )?;
    }
    loop {
        let next = markets
            .iter()
            .enumerate()
            .min_by_key(|(i, m)| (m.next_sim_at(), *i))
            .map(|(i, m)| (i, m.next_sim_at()));
        let Some((index, at)) = next else { break };
        if next_second <= at.min(end) {
            seconds += 1;
            heartbeat_seq += 1;
            for (market, names) in markets.iter().zip(&names) {
                let engine = market.engine();
                let frame = encode::heartbeat(
                    &market.instrument().symbol,
                    heartbeat_seq,
                    next_second,
                    engine.book_seq(),
                    engine.trade_seq(),
                    market.ticker().latest().0,
                );
                writer.write_message(
                    next_second,
                    &names[Channel::Heartbeat.index()],
                    frame.as_bytes(),
                )?;
                stats.messages += 1;
                if options.snapshot_every_s > 0 && seconds.is_multiple_of(options.snapshot_every_s)
                {
                    let snapshot = encode::market_book_snapshot(market, &mut scratch);
                    writer.write_snapshot(
                        engine.now(),
                        &names[Channel::Book.index()],
                        snapshot.as_bytes(),
                    )?;
                }
            }
            progress(next_second - options.start);
            next_second += NANOS_PER_SEC;
            continue;
        }
        if at >= end {
            break;
        }
        let market = &mut markets[index];
        out.clear();
        market.step_sim(&mut out);
        stats.events += 1;
        let names = &names[index];
        let mut failed = None;
        encode::market_data(market, &out, &mut scratch, |channel, ts, frame, _| {
            if failed.is_none()
                && let Err(e) = writer.write_message(ts, &names[channel.index()], frame.as_bytes())
            {
                failed = Some(e);
            }
            stats.messages += 1;
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    progress(options.duration_ns);
    writer.flush()?;
    Ok(stats)
}
