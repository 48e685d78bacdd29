//! `tickwire summary`: each symbol simulated offline for a span of
//! simulated time, as fast as the machine allows, and what its book looks
//! like at the end.

use std::fmt::Write as _;
use std::time::Instant;

use crate::engine::{Event, Output};
use crate::instrument::Instrument;
use crate::market::Market;
use crate::types::{NANOS_PER_SEC, Price, Side};

/// A few lines describing one symbol's run.
pub fn summarize_symbol(instrument: Instrument, seed: u64, seconds: u64) -> String {
    let start = 1_700_000_000 * NANOS_PER_SEC;
    let end = start + seconds * NANOS_PER_SEC;
    let mut market = Market::new(instrument.clone(), seed, start);
    let mut out = Output::with_capacity(64);
    let (mut events, mut trades, mut updates, mut two_sided, mut spread_total) =
        (0u64, 0u64, 0u64, 0u64, 0i64);
    let clock = Instant::now();
    while market.next_sim_at() < end {
        out.clear();
        market.step_sim(&mut out);
        events += 1;
        for event in &out.events {
            match event {
                Event::Trade { .. } => trades += 1,
                Event::BookUpdate { .. } => updates += 1,
                _ => {}
            }
        }
        let book = market.engine().book();
        if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
            two_sided += 1;
            spread_total += ask.0 - bid.0;
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    let book = market.engine().book();
    let price = |p: Option<Price>| p.map_or("-".to_string(), |p| instrument.format_price(p));
    let mut text = String::new();
    let _ = writeln!(text, "{}", instrument.symbol);
    let _ = writeln!(
        text,
        "  events {events} ({:.0}/s simulated, {:.0}/s on this machine), trades {trades}, book updates {updates}",
        events as f64 / seconds.max(1) as f64,
        events as f64 / elapsed.max(1e-9),
    );
    let _ = writeln!(
        text,
        "  best bid {} / ask {}, last {}, fair value {}",
        price(book.best_bid()),
        price(book.best_ask()),
        price(market.engine().last_trade().map(|(p, _)| p)),
        price(Some(Price(market.sim().fair_value().round() as i64)))
    );
    let _ = writeln!(
        text,
        "  depth {} bid levels, {} ask levels, {} orders; two-sided {:.1}% of the time, mean spread {:.2} ticks",
        book.level_count(Side::Buy),
        book.level_count(Side::Sell),
        book.order_count(),
        100.0 * two_sided as f64 / events.max(1) as f64,
        spread_total as f64 / two_sided.max(1) as f64
    );
    text
}
