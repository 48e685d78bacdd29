//! The scenario files' grammar, and each shipped scenario's observable
//! effect on the simulated market (seed 42, the embedded instruments), as
//! `serve` and `simulate` run it.

use super::*;
use crate::engine::{Event, Output};
use crate::market::Market;
use crate::types::{NANOS_PER_SEC, Side};

const START: UnixNanos = 1_767_225_600 * NANOS_PER_SEC;

fn shipped(name: &str) -> Scenario {
    let path = format!("{}/feeds/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(Path::new(&path), &Instruments::embedded_default()).unwrap()
}

/// What a market looked like each second.
#[derive(Debug, Default)]
struct Second {
    mid: f64,
    levels: usize,
    trades: usize,
}

/// Runs `symbol` with `scenario` for `seconds` after a warm-up, as
/// `simulate` does; each second's state, and the statuses published.
fn run(scenario: &Scenario, symbol: &str, seconds: u64) -> (Vec<Second>, Vec<(u64, bool)>) {
    let instrument = Instruments::embedded_default()
        .get(symbol)
        .cloned()
        .unwrap();
    let mut market = Market::new(instrument, 42, START - 30 * NANOS_PER_SEC);
    let mut out = Output::default();
    while market.next_sim_at() < START {
        out.clear();
        market.step_sim(&mut out);
    }
    market.set_script(scenario.script(symbol, START));
    let (mut seconds_seen, mut statuses) = (Vec::new(), Vec::new());
    for second in 1..=seconds {
        let until = START + second * NANOS_PER_SEC;
        let mut trades = 0;
        while market.next_sim_at() < until {
            out.clear();
            market.step_sim(&mut out);
            for event in &out.events {
                match *event {
                    Event::Trade { .. } => trades += 1,
                    Event::Status { ts, halted, .. } => {
                        statuses.push(((ts - START) / NANOS_PER_SEC, halted))
                    }
                    _ => {}
                }
            }
        }
        let book = market.engine().book();
        let mid = match (book.best_bid(), book.best_ask()) {
            (Some(b), Some(a)) => (b.0 + a.0) as f64 / 2.0,
            _ => 0.0,
        };
        seconds_seen.push(Second {
            mid,
            levels: book.level_count(Side::Buy) + book.level_count(Side::Sell),
            trades,
        });
    }
    (seconds_seen, statuses)
}

fn near(value: f64, target: f64, tolerance: f64) -> bool {
    (value / target - 1.0).abs() <= tolerance
}

#[test]
fn a_flash_crash_falls_by_the_scripted_amount_on_a_thin_book_and_recovers() {
    let (s, _) = run(&shipped("flash-crash"), "BTC-USD", 260);
    let before = s[59].mid;
    let bottom = s[79].mid;
    assert!(near(bottom, before * 0.92, 0.02), "{before} -> {bottom}");
    assert!(
        s[85].levels * 3 < s[59].levels,
        "thin: {} then {}",
        s[59].levels,
        s[85].levels
    );
    assert!(
        near(s[199].mid, before, 0.02),
        "recovered to {}",
        s[199].mid
    );
    // Liquidity returns at 200 s: the book refills.
    assert!(
        s[259].levels * 10 > s[59].levels * 8,
        "{} then {}",
        s[59].levels,
        s[259].levels
    );
}

#[test]
fn a_halt_stops_the_market_and_says_so() {
    let (s, statuses) = run(&shipped("halt"), "ETH-USD", 90);
    assert_eq!(statuses, [(30, true), (60, false)]);
    assert!(s[31..59].iter().all(|second| second.trades == 0));
    assert!(s[25].trades > 0 && s[65].trades > 0);
    // Nothing moved while halted.
    assert_eq!(s[31].mid, s[58].mid);
}

#[test]
fn an_illiquid_open_thins_the_book_then_refills_it() {
    let (s, _) = run(&shipped("illiquid-open"), "BTC-USD", 200);
    let thin = s[30..110].iter().map(|x| x.levels).max().unwrap_or(0);
    let full = s[150..].iter().map(|x| x.levels).min().unwrap_or(0);
    assert!(
        thin * 3 < full,
        "at most {thin} levels, then at least {full}"
    );
}

#[test]
fn a_news_spike_moves_the_price_and_the_trading() {
    let (s, _) = run(&shipped("news-spike"), "ETH-USD", 120);
    let before = s[44].mid;
    assert!(
        near(s[60].mid, before * 1.05, 0.015),
        "{before} -> {}",
        s[60].mid
    );
    let quiet: usize = s[30..40].iter().map(|x| x.trades).sum();
    let busy: usize = s[50..60].iter().map(|x| x.trades).sum();
    assert!(
        busy > 3 * quiet,
        "{quiet} trades in 10 s before, {busy} after"
    );
}

#[test]
fn the_same_seed_and_scenario_give_the_same_market() {
    let (a, sa) = run(&shipped("flash-crash"), "BTC-USD", 90);
    let (b, sb) = run(&shipped("flash-crash"), "BTC-USD", 90);
    let mids = |s: &[Second]| s.iter().map(|x| x.mid).collect::<Vec<_>>();
    assert_eq!((mids(&a), sa), (mids(&b), sb));
}

#[test]
fn a_script_applies_its_changes_in_time_order() {
    let instruments = Instruments::embedded_default();
    let text = r#"
[[step]]
at = "10s"
symbol = "*"
kind = "halt"
for = "5s"

[[step]]
at = "2s"
symbol = "BTC-USD"
kind = "move"
change = "+1.5%"
"#;
    let scenario = Scenario::parse("s.toml", text, &instruments).unwrap();
    let mut script = scenario.script("BTC-USD", 1000);
    assert_eq!(script.next_at(), Some(1000 + 2 * NANOS_PER_SEC));
    let (_, first) = script.take().unwrap();
    assert_eq!(
        first,
        Change::Move {
            change: 0.015,
            over: 0
        }
    );
    assert_eq!(script.take().map(|c| c.1), Some(Change::Halt));
    assert_eq!(script.take().map(|c| c.1), Some(Change::Resume));
    assert_eq!(script.take(), None);
    assert!(
        scenario.script("SOL-USD", 0).next_at().is_some(),
        "\"*\" is every symbol"
    );
    assert_eq!(scenario.changes(), 1 + 2 * instruments.len());
}

#[test]
fn bad_scenarios_name_the_line_and_what_is_wrong() {
    let instruments = Instruments::embedded_default();
    let error = |step: &str| {
        Scenario::parse(
            "s.toml",
            &format!("name = \"x\"\n[[step]]\n{step}"),
            &instruments,
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        error("at = \"1s\"\nsymbol = \"DOGE\"\nkind = \"halt\""),
        "s.toml:4: symbol: \"DOGE\" is not among the instruments served (or \"*\" for all)"
    );
    assert_eq!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"explode\""),
        "s.toml:5: kind: unknown kind \"explode\" (one of move, volatility, trade_rate, liquidity, halt, resume, flash_crash)"
    );
    assert_eq!(
        error("at = \"soon\"\nsymbol = \"*\"\nkind = \"halt\""),
        "s.toml:3: at: \"soon\" is not a duration such as 60s, 500ms, 2m or 1h"
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"move\"").contains("a move step needs change")
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"move\"\nchange = \"8\"")
            .contains("s.toml:6: change: \"8\" is not a percentage")
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"move\"\nchange = \"-100%\"")
            .contains("is not more than -100%")
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"liquidity\"\nfactor = 0.0")
            .contains("factor: 0 is not above 0 and at most 100")
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"flash_crash\"\nchange = \"+5%\"\nover = \"1s\"\nrecover = \"1s\"")
            .contains("a flash crash falls")
    );
    assert!(
        error("at = \"1s\"\nsymbol = \"*\"\nkind = \"halt\"\nspeed = 3").contains("unknown field")
    );
}
