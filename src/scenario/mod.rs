//! Scripted market scenarios (`serve --scenario FILE`, `simulate
//! --scenario FILE`): a TOML file of steps, each at a time after the market
//! opens, for one symbol or all, that move the simulated market: a trend or
//! a jump, volatility and trade-rate multipliers, liquidity draining and
//! returning, a trading halt and resume, a flash crash and its recovery.
//! Each symbol's steps compile into a [`Script`] of timed changes that its
//! `Market` applies as its engine time reaches them; with the seed, the
//! same file gives the same market.
//!
//! ```toml
//! name = "Flash crash"
//! [[step]]
//! at = "60s"
//! symbol = "BTC-USD"         # or "*": every symbol
//! kind = "flash_crash"
//! change = "-8%"
//! over = "20s"
//! recover = "3m"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::config_file::{FileError, Source, read};
use crate::instrument::Instruments;
use crate::record::parse_duration;
use crate::types::UnixNanos;

/// One timed change of a symbol's simulated market.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// The fair value moves by `change` (a fraction: -0.08 is 8% down),
    /// evenly over `over` ns (at once if 0).
    Move { change: f64, over: u64 },
    /// Multiplies the fair value's volatility.
    Volatility(f64),
    /// Multiplies how often the crowd trades (market orders).
    TradeRate(f64),
    /// Multiplies the liquidity the crowd and the market makers provide
    /// (below 1 the book thins, back at 1 it refills).
    Liquidity(f64),
    /// Trading stops: no crowd activity, clients' orders are refused with
    /// `market_halted`, a `status` message says `halted`.
    Halt,
    /// Trading resumes (`status` `trading`).
    Resume,
}

/// One symbol's changes in time order, applied as the market reaches them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    changes: Vec<(UnixNanos, Change)>,
    next: usize,
}

impl Script {
    pub fn new(mut changes: Vec<(UnixNanos, Change)>) -> Script {
        // Stable: changes at one time keep the file's order.
        changes.sort_by_key(|(at, _)| *at);
        Script { changes, next: 0 }
    }

    /// When the next change is due.
    pub fn next_at(&self) -> Option<UnixNanos> {
        self.changes.get(self.next).map(|(at, _)| *at)
    }

    /// Takes the next change.
    pub fn take(&mut self) -> Option<(UnixNanos, Change)> {
        let change = self.changes.get(self.next).copied();
        self.next += usize::from(change.is_some());
        change
    }
}

/// A scenario file, checked against the instruments served.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// By symbol: changes at offsets (ns) from the market's opening.
    steps: BTreeMap<String, Vec<(u64, Change)>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Spanned<String>,
    symbol: Spanned<String>,
    kind: Spanned<String>,
    change: Option<Spanned<String>>,
    over: Option<Spanned<String>>,
    recover: Option<Spanned<String>>,
    factor: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    lasting: Option<Spanned<String>>,
}

const KINDS: &str = "move, volatility, trade_rate, liquidity, halt, resume, flash_crash";

impl Scenario {
    pub fn load(path: &Path, instruments: &Instruments) -> Result<Scenario, FileError> {
        let (file, text) = read(path)?;
        Scenario::parse(&file, &text, instruments)
    }

    /// Parses a scenario; an error names the line and the field.
    pub fn parse(file: &str, text: &str, instruments: &Instruments) -> Result<Scenario, FileError> {
        let source = Source { file, text };
        let raw: RawFile = source.parse()?;
        let mut steps: BTreeMap<String, Vec<(u64, Change)>> = BTreeMap::new();
        for step in raw.step {
            let error = |span: std::ops::Range<usize>, field: &str, message: String| {
                source.invalid(span.start, field, message)
            };
            let duration = |value: &Spanned<String>, field: &str| {
                parse_duration(value.get_ref()).map_err(|e| error(value.span(), field, e))
            };
            let at = duration(&step.at, "at")?;
            let symbols: Vec<String> = match step.symbol.get_ref().as_str() {
                "*" => instruments.iter().map(|i| i.symbol.clone()).collect(),
                name if instruments.get(name).is_some() => vec![name.to_string()],
                name => {
                    return Err(error(
                        step.symbol.span(),
                        "symbol",
                        format!("{name:?} is not among the instruments served (or \"*\" for all)"),
                    ));
                }
            };
            let kind = step.kind.get_ref().as_str();
            let missing = |field: &str| {
                error(
                    step.kind.span(),
                    field,
                    format!("a {kind} step needs {field}"),
                )
            };
            let factor = || {
                let value = step.factor.as_ref().ok_or_else(|| {
                    error(
                        step.kind.span(),
                        "factor",
                        format!("a {kind} step needs factor"),
                    )
                })?;
                let f = *value.get_ref();
                if !(f > 0.0 && f <= 100.0) {
                    return Err(error(
                        value.span(),
                        "factor",
                        format!("{f} is not above 0 and at most 100"),
                    ));
                }
                Ok(f)
            };
            let lasting = match &step.lasting {
                Some(value) => Some(duration(value, "for")?),
                None => None,
            };
            // Changes at offsets from the opening.
            let mut timed: Vec<(u64, Change)> = Vec::new();
            let with_end = |timed: &mut Vec<(u64, Change)>, on: Change, off: Change| {
                timed.push((at, on));
                if let Some(lasting) = lasting {
                    timed.push((at + lasting, off));
                }
            };
            match kind {
                "move" => {
                    let change = percent(step.change.as_ref().ok_or_else(|| missing("change"))?)
                        .map_err(|(s, m)| error(s, "change", m))?;
                    let over = match &step.over {
                        Some(over) => duration(over, "over")?,
                        None => 0,
                    };
                    timed.push((at, Change::Move { change, over }));
                }
                "volatility" => with_end(
                    &mut timed,
                    Change::Volatility(factor()?),
                    Change::Volatility(1.0),
                ),
                "trade_rate" => with_end(
                    &mut timed,
                    Change::TradeRate(factor()?),
                    Change::TradeRate(1.0),
                ),
                "liquidity" => with_end(
                    &mut timed,
                    Change::Liquidity(factor()?),
                    Change::Liquidity(1.0),
                ),
                "halt" => with_end(&mut timed, Change::Halt, Change::Resume),
                "resume" => timed.push((at, Change::Resume)),
                "flash_crash" => {
                    let change = percent(step.change.as_ref().ok_or_else(|| missing("change"))?)
                        .map_err(|(s, m)| error(s, "change", m))?;
                    if change >= 0.0 {
                        return Err(error(
                            step.kind.span(),
                            "change",
                            "a flash crash falls: change must be negative".to_string(),
                        ));
                    }
                    let over =
                        duration(step.over.as_ref().ok_or_else(|| missing("over"))?, "over")?;
                    let recover = duration(
                        step.recover.as_ref().ok_or_else(|| missing("recover"))?,
                        "recover",
                    )?;
                    // The book thins and the crowd sells hard; then the
                    // price climbs back to where it was, and liquidity
                    // returns.
                    timed.push((at, Change::Liquidity(0.2)));
                    timed.push((at, Change::TradeRate(4.0)));
                    timed.push((at, Change::Move { change, over }));
                    let back = 1.0 / (1.0 + change) - 1.0;
                    timed.push((at + over, Change::TradeRate(1.5)));
                    timed.push((
                        at + over,
                        Change::Move {
                            change: back,
                            over: recover,
                        },
                    ));
                    timed.push((at + over + recover, Change::Liquidity(1.0)));
                    timed.push((at + over + recover, Change::TradeRate(1.0)));
                }
                other => {
                    return Err(error(
                        step.kind.span(),
                        "kind",
                        format!("unknown kind {other:?} (one of {KINDS})"),
                    ));
                }
            }
            for symbol in symbols {
                steps
                    .entry(symbol)
                    .or_default()
                    .extend(timed.iter().copied());
            }
        }
        Ok(Scenario {
            name: raw.name.unwrap_or_else(|| file.to_string()),
            description: raw.description.unwrap_or_default(),
            steps,
        })
    }

    /// The script of `symbol` for a market that opens at `opening`.
    pub fn script(&self, symbol: &str, opening: UnixNanos) -> Script {
        let changes = self
            .steps
            .get(symbol)
            .map(|steps| {
                steps
                    .iter()
                    .map(|(offset, change)| (opening.saturating_add(*offset), *change))
                    .collect()
            })
            .unwrap_or_default();
        Script::new(changes)
    }

    /// How many changes the scenario makes, over all symbols.
    pub fn changes(&self) -> usize {
        self.steps.values().map(Vec::len).sum()
    }
}

/// `-8%`, `+5%`, `12.5%` as a fraction, more than -100% and at most +1000%.
fn percent(value: &Spanned<String>) -> Result<f64, (std::ops::Range<usize>, String)> {
    let text = value.get_ref().trim();
    let bad = || {
        (
            value.span(),
            format!("{text:?} is not a percentage (\"-8%\", \"+5%\")"),
        )
    };
    let number = text.strip_suffix('%').ok_or_else(bad)?;
    let number: f64 = number.trim_start_matches('+').parse().map_err(|_| bad())?;
    if !(number > -100.0 && number <= 1000.0) {
        return Err((
            value.span(),
            format!("{text} is not more than -100% and at most +1000%"),
        ));
    }
    Ok(number / 100.0)
}

#[cfg(test)]
mod tests;
