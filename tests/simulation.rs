//! The simulated markets: reproducible from their seed, realistic in shape,
//! and running at any configured rate.

use rust_decimal::Decimal;
use tickwire::engine::{Event, Output};
use tickwire::instrument::{Instrument, Instruments};
use tickwire::market::Market;
use tickwire::types::{NANOS_PER_SEC, Side};

const START: u64 = 1_700_000_000 * NANOS_PER_SEC;

fn default_instruments() -> Instruments {
    Instruments::embedded_default()
}

/// Runs `events` simulated events and returns every event with its level
/// changes, as comparable text.
fn run(instrument: &Instrument, seed: u64, events: usize) -> Vec<String> {
    let mut market = Market::new(instrument.clone(), seed, START);
    let mut out = Output::default();
    let mut log = Vec::with_capacity(events * 4);
    for _ in 0..events {
        out.clear();
        market.step_sim(&mut out);
        for event in &out.events {
            log.push(format!("{event:?} {:?}", out.changes_of(event)));
        }
    }
    log
}

#[test]
fn same_seed_same_events_different_seed_different_events() {
    for instrument in default_instruments().iter() {
        let a = run(instrument, 7, 20_000);
        let b = run(instrument, 7, 20_000);
        assert_eq!(a.len(), b.len());
        assert!(a == b, "{}: same seed diverged", instrument.symbol);
        let c = run(instrument, 8, 20_000);
        assert!(
            a != c,
            "{}: a different seed gave the same events",
            instrument.symbol
        );
    }
}

#[test]
fn symbols_get_independent_streams_from_one_seed() {
    let instruments = default_instruments();
    let btc = instruments.get("BTC-USD").expect("BTC-USD");
    let mut renamed = btc.clone();
    renamed.symbol = "BTC-EUR".to_string();
    assert!(run(btc, 7, 2_000) != run(&renamed, 7, 2_000));
}

/// Over ten simulated minutes, sampled after every event.
#[test]
fn the_book_looks_like_a_real_one() {
    for instrument in default_instruments().iter() {
        let mut market = Market::new(instrument.clone(), 42, START);
        let mut out = Output::default();
        let (mut samples, mut two_sided, mut spread_total, mut depth_total) =
            (0u64, 0u64, 0i64, 0usize);
        let (mut trades, mut trades_at_touch) = (0u64, 0u64);
        let end = START + 600 * NANOS_PER_SEC;
        while market.next_sim_at() < end {
            let book = market.engine().book();
            let touch = (book.best_bid(), book.best_ask());
            out.clear();
            market.step_sim(&mut out);
            // Trades should mostly happen at the touch, not deep sweeps.
            for event in &out.events {
                if let Event::Trade {
                    price, taker_side, ..
                } = *event
                {
                    trades += 1;
                    let touch_price = if taker_side == Side::Buy {
                        touch.1
                    } else {
                        touch.0
                    };
                    trades_at_touch += u64::from(touch_price == Some(price));
                }
            }
            let book = market.engine().book();
            samples += 1;
            if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
                two_sided += 1;
                spread_total += ask.0 - bid.0;
            }
            depth_total += book
                .level_count(Side::Buy)
                .min(book.level_count(Side::Sell));
        }
        let symbol = &instrument.symbol;
        let two_sided_share = two_sided as f64 / samples as f64;
        let mean_spread = spread_total as f64 / two_sided.max(1) as f64;
        let mean_depth = depth_total as f64 / samples as f64;
        let at_touch = trades_at_touch as f64 / trades.max(1) as f64;
        println!(
            "{symbol}: two-sided {two_sided_share:.4}, spread {mean_spread:.2} ticks, depth {mean_depth:.1} levels, \
             {trades} trades, {at_touch:.3} at the touch"
        );
        assert!(
            two_sided_share > 0.99,
            "{symbol}: two-sided only {two_sided_share}"
        );
        assert!(
            (1.5..=5.0).contains(&mean_spread),
            "{symbol}: mean spread {mean_spread} ticks"
        );
        assert!(
            mean_depth >= 20.0,
            "{symbol}: mean depth {mean_depth} levels"
        );
        assert!(trades > 1_000, "{symbol}: only {trades} trades");
        assert!(
            at_touch > 0.7,
            "{symbol}: only {at_touch} of trades at the touch"
        );
        let window = market.ticker().latest().2.window;
        let range = window
            .high
            .zip(window.low)
            .map_or(0, |(high, low)| high.0 - low.0);
        assert!(
            range >= 5,
            "{symbol}: the price hardly moved ({range} ticks in 10 minutes)"
        );
    }
}

fn with_rate(rate: f64) -> Instrument {
    let btc = default_instruments()
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD");
    Instrument::new(
        &btc.symbol,
        btc.tick_size,
        btc.lot_size,
        btc.price_decimals,
        btc.qty_decimals,
        Decimal::new(100, 0),
        btc.band,
        Decimal::new(64_000, 0),
        btc.volatility,
        rate,
    )
    .expect("valid")
}

fn events_in(instrument: Instrument, seconds: u64) -> u64 {
    let mut market = Market::new(instrument, 3, START);
    let mut out = Output::default();
    let mut count = 0;
    while market.next_sim_at() < START + seconds * NANOS_PER_SEC {
        out.clear();
        market.step_sim(&mut out);
        count += 1;
    }
    count
}

#[test]
fn event_rate_is_configurable_from_one_to_a_hundred_thousand_per_second() {
    let slow = events_in(with_rate(1.0), 2_000);
    assert!(
        (1_800..=2_200).contains(&slow),
        "rate 1/s gave {slow} events in 2,000 s"
    );
    let fast = events_in(with_rate(100_000.0), 5);
    assert!(
        (490_000..=510_000).contains(&fast),
        "rate 100,000/s gave {fast} events in 5 s"
    );
    let faster = events_in(with_rate(1_000_000.0), 1);
    assert!(
        (980_000..=1_020_000).contains(&faster),
        "rate 1,000,000/s gave {faster} events in 1 s"
    );
}
