//! What `tickwire watch` knows: per symbol a verified book, the last trades
//! and the ticker; the integrity counters; and the screen drawn from them.
//! Pure: messages in, actions out, so it is tested without a socket.

use std::collections::VecDeque;
use std::fmt::Write as _;

use serde_json::Value;

use super::book::{Applied, LocalBook};

/// Trades kept per symbol for the screen.
const TRADES_KEPT: usize = 8;

#[derive(Debug, Default)]
pub struct SymbolState {
    pub symbol: String,
    pub book: LocalBook,
    pub trades: VecDeque<Value>,
    pub trade_seq: u64,
    pub ticker: Option<Value>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counters {
    pub messages: u64,
    pub updates: u64,
    pub checksums: u64,
    pub resyncs: u64,
    pub gaps: u64,
    pub mismatches: u64,
    pub trades_missed: u64,
    pub lagged: u64,
}

impl Counters {
    /// One line of what was verified.
    pub fn summary(&self) -> String {
        format!(
            "verified {} updates, {} checksums, {} resyncs ({} gaps, {} mismatches, {} trades missed, {} lags)",
            self.updates,
            self.checksums,
            self.resyncs,
            self.gaps,
            self.mismatches,
            self.trades_missed,
            self.lagged
        )
    }
}

/// What the caller should do after a message.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Ask for `symbol`'s book again (subscribe), saying why.
    Resync { symbol: String, why: String },
    /// Tell the user (a line; on stderr when piped).
    Note(String),
    /// The server is going away: stop, saying why.
    Stop(String),
}

#[derive(Debug, Default)]
pub struct Watch {
    pub symbols: Vec<SymbolState>,
    pub counters: Counters,
}

impl Watch {
    pub fn new(symbols: &[String]) -> Watch {
        Watch {
            symbols: symbols
                .iter()
                .map(|s| SymbolState {
                    symbol: s.clone(),
                    ..SymbolState::default()
                })
                .collect(),
            counters: Counters::default(),
        }
    }

    fn symbol(&mut self, message: &Value) -> Option<&mut SymbolState> {
        let name = message["symbol"].as_str()?;
        self.symbols.iter_mut().find(|s| s.symbol == name)
    }

    /// Takes one message from the server.
    pub fn handle(&mut self, message: &Value) -> Vec<Action> {
        self.counters.messages += 1;
        let kind = message["type"].as_str().unwrap_or("");
        let mut actions = Vec::new();
        match kind {
            "book_snapshot" | "book_update" => {
                let Some(state) = self.symbol(message) else {
                    return actions;
                };
                let symbol = state.symbol.clone();
                let applied = if kind == "book_snapshot" {
                    state.book.snapshot(message)
                } else {
                    state.book.update(message)
                };
                let counters = &mut self.counters;
                match applied {
                    Applied::Ok if kind == "book_update" => {
                        counters.updates += 1;
                        counters.checksums += 1;
                    }
                    Applied::Ok | Applied::Skipped => {}
                    Applied::Gap { expected, got } => {
                        counters.gaps += 1;
                        counters.resyncs += 1;
                        let why = format!("seq gap: expected {expected}, got {got}");
                        actions.push(Action::Resync { symbol, why });
                    }
                    Applied::Mismatch { ours, theirs } => {
                        counters.mismatches += 1;
                        counters.resyncs += 1;
                        let why = format!("checksum {ours} computed, {theirs} sent");
                        actions.push(Action::Resync { symbol, why });
                    }
                    Applied::Malformed(why) => {
                        actions.push(Action::Note(format!("{symbol}: bad {kind}: {why}")));
                    }
                }
            }
            "trade" => {
                let mut gap = None;
                if let Some(state) = self.symbol(message)
                    && let Some(seq) = message["seq"].as_u64()
                {
                    if state.trade_seq > 0 && seq > state.trade_seq + 1 {
                        gap = Some(seq - state.trade_seq - 1);
                    }
                    state.trade_seq = seq;
                    state.trades.push_front(message.clone());
                    state.trades.truncate(TRADES_KEPT);
                }
                if let Some(n) = gap {
                    self.counters.trades_missed += n;
                    self.counters.gaps += 1;
                }
            }
            "ticker" => {
                if let Some(state) = self.symbol(message) {
                    state.ticker = Some(message.clone());
                }
            }
            "lagged" => {
                // Fresh snapshots follow for every book.
                self.counters.lagged += 1;
                for state in &mut self.symbols {
                    state.book.live = false;
                }
                let dropped = message["dropped"].as_u64().unwrap_or(0);
                actions.push(Action::Note(format!(
                    "lagged: the server dropped {dropped} messages; fresh books follow"
                )));
            }
            "replay_loop" => {
                for state in &mut self.symbols {
                    state.book.live = false;
                    state.trade_seq = 0;
                }
            }
            "shutdown" => actions.push(Action::Stop("the server is shutting down".to_string())),
            "error" => actions.push(Action::Note(format!(
                "error {}: {}",
                message["code"].as_str().unwrap_or("?"),
                message["message"].as_str().unwrap_or("")
            ))),
            _ => {}
        }
        actions
    }

    /// One line of what was verified, for the end of a run.
    pub fn summary(&self) -> String {
        self.counters.summary()
    }

    /// The screen: per symbol a ladder of `depth` levels a side, the ticker
    /// and the last trades; the counters at the bottom.
    pub fn render(&self, url: &str, depth: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "tickwire watch  {url}  (Ctrl-C to stop)");
        for state in &self.symbols {
            render_symbol(&mut out, state, depth);
        }
        let _ = writeln!(out, "\n{}", self.summary());
        out
    }
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or("-")
}

fn render_symbol(out: &mut String, state: &SymbolState, depth: usize) {
    let status = if state.book.live {
        format!("seq {}", state.book.seq)
    } else {
        "resyncing".to_string()
    };
    let _ = write!(out, "\n\x1b[1m{}\x1b[0m  {status}", state.symbol);
    if let Some(t) = &state.ticker {
        let _ = write!(
            out,
            "  last {}  24h high {} low {} volume {}",
            text(t, "last"),
            text(t, "high"),
            text(t, "low"),
            text(t, "volume")
        );
    }
    out.push('\n');
    let asks: Vec<_> = state.book.asks().take(depth).collect();
    let bids: Vec<_> = state.book.bids().take(depth).collect();
    let trades: Vec<_> = state.trades.iter().collect();
    let rows = depth * 2 + 1;
    for row in 0..rows {
        let ladder = if row < depth {
            // Asks above, best at the bottom.
            asks.get(depth - 1 - row)
                .map(|(p, q)| format!("\x1b[31m{p:>14}\x1b[0m {q:>12}"))
        } else if row == depth {
            Some(match (bids.first(), asks.first()) {
                (Some(b), Some(a)) => {
                    let spread =
                        a.0.parse::<f64>().unwrap_or(0.0) - b.0.parse::<f64>().unwrap_or(0.0);
                    format!(
                        "{:>14} {:>12}",
                        "spread",
                        format!("{spread:.6}").trim_end_matches('0')
                    )
                }
                _ => format!("{:>27}", "-"),
            })
        } else {
            bids.get(row - depth - 1)
                .map(|(p, q)| format!("\x1b[32m{p:>14}\x1b[0m {q:>12}"))
        };
        let ladder = ladder.unwrap_or_else(|| " ".repeat(27));
        let trade = trades.get(row).map(|t| {
            let colour = if t["side"] == "buy" { 32 } else { 31 };
            format!(
                "\x1b[{colour}m{:>14}\x1b[0m {:>12} {}",
                text(t, "price"),
                text(t, "qty"),
                text(t, "side")
            )
        });
        let _ = writeln!(out, "  {ladder}    {}", trade.unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(seq: u64) -> Value {
        let bids = [["100.00", "1.0000"]];
        let text = "100.00:1.0000|101.00:2.0000";
        json!({"type": "book_snapshot", "symbol": "BTC-USD", "seq": seq, "bids": bids,
               "asks": [["101.00", "2.0000"]], "checksum": crc32fast::hash(text.as_bytes())})
    }

    #[test]
    fn a_gap_asks_for_that_symbol_alone_again() {
        let mut watch = Watch::new(&["BTC-USD".to_string(), "ETH-USD".to_string()]);
        assert!(watch.handle(&snapshot(3)).is_empty());
        let actions = watch.handle(&json!({"type": "book_update", "symbol": "BTC-USD", "seq": 5, "bids": [], "asks": [], "checksum": 0}));
        assert_eq!(
            actions,
            vec![Action::Resync {
                symbol: "BTC-USD".to_string(),
                why: "seq gap: expected 4, got 5".to_string()
            }]
        );
        assert_eq!(watch.counters.resyncs, 1);
        assert!(watch.handle(&snapshot(5)).is_empty());
        let screen = watch.render("ws://x/ws", 3);
        assert!(screen.contains("seq 5") && screen.contains("101.00") && screen.contains("spread"));
    }

    #[test]
    fn trades_gaps_count_what_was_missed() {
        let mut watch = Watch::new(&["BTC-USD".to_string()]);
        for seq in [1, 2, 5] {
            watch.handle(&json!({"type": "trade", "symbol": "BTC-USD", "seq": seq, "price": "1.00", "qty": "1", "side": "buy"}));
        }
        assert_eq!(watch.counters.trades_missed, 2);
        assert_eq!(watch.symbols[0].trades.len(), 3);
        assert!(
            watch
                .summary()
                .starts_with("verified 0 updates, 0 checksums, 0 resyncs")
        );
    }

    #[test]
    fn shutdown_stops_and_lagged_waits_for_fresh_books() {
        let mut watch = Watch::new(&["BTC-USD".to_string()]);
        watch.handle(&snapshot(3));
        let lagged = watch.handle(&json!({"type": "lagged", "dropped": 7, "streams": []}));
        assert!(matches!(&lagged[..], [Action::Note(n)] if n.contains("dropped 7")));
        assert!(!watch.symbols[0].book.live);
        assert_eq!(
            watch.handle(&json!({"type": "shutdown", "ts": 1})),
            vec![Action::Stop("the server is shutting down".to_string())]
        );
    }
}
