//! The polling API's answers (PROTOCOL.md v1.1: `GET /api/book`,
//! `/api/trades`, `/api/ticker`), made by the hub at the point of its
//! streams: the same decimal strings and `seq` as the stream, so a client
//! can mix the two. The last trades are kept here for `/api/trades`.

use std::collections::VecDeque;
use std::fmt::Write as _;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::MarketState;
use crate::encode;
use crate::gateway::commands::{PollAnswer, PollQuery};
use crate::types::Side;

/// Trades kept for `/api/trades`; older ones show as a `seq` gap between
/// `since` and the first trade answered.
pub const KEPT_TRADES: usize = 1000;
/// Trades answered when `since` is not given.
pub const LATEST_TRADES: usize = 100;

/// The last trade messages published, oldest first, with their `seq`.
#[derive(Default)]
pub struct RecentTrades {
    trades: VecDeque<(u64, Utf8Bytes)>,
}

/// The `seq` of a market-data message (`"seq":N`).
pub fn seq_of(frame: &str) -> Option<u64> {
    crate::bus::number_field(frame, "seq")
}

impl RecentTrades {
    pub fn remember(&mut self, frame: &Utf8Bytes) {
        let Some(seq) = seq_of(frame.as_str()) else {
            return;
        };
        if self.trades.len() == KEPT_TRADES {
            self.trades.pop_front();
        }
        self.trades.push_back((seq, frame.clone()));
    }

    /// The `seq` of the newest trade kept.
    pub fn last_seq(&self) -> Option<u64> {
        self.trades.back().map(|(seq, _)| *seq)
    }

    /// Every trade kept, oldest first.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Utf8Bytes> + ExactSizeIterator {
        self.trades.iter().map(|(_, frame)| frame)
    }

    /// Trades after `since` (the latest `LATEST_TRADES` without it), oldest
    /// first, at most `KEPT_TRADES`.
    fn after(&self, since: Option<u64>) -> impl Iterator<Item = &Utf8Bytes> {
        let skip = match since {
            Some(since) => self.trades.partition_point(|(seq, _)| *seq <= since),
            None => self.trades.len().saturating_sub(LATEST_TRADES),
        };
        self.trades.iter().skip(skip).map(|(_, frame)| frame)
    }
}

/// The answer to `query`; `last_book` is the `seq` and `ts` of the last
/// book message published.
pub fn answer(
    state: &mut impl MarketState,
    trades: &RecentTrades,
    last_book: Option<(u64, u64)>,
    query: PollQuery,
) -> PollAnswer {
    let symbol = &state.instrument().symbol;
    match query {
        // The hub hands these to its Binance streams' `rest`.
        PollQuery::Binance(_) => None,
        PollQuery::Ticker => state.latest().quote().map(|t| t.as_str().to_string()),
        PollQuery::Trades { since } => {
            let mut out = format!("{{\"symbol\":\"{symbol}\",\"trades\":[");
            for (i, frame) in trades.after(since).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(frame.as_str());
            }
            out.push_str("]}");
            Some(out)
        }
        PollQuery::Book { depth } => {
            let instrument = state.instrument();
            let at = state.book();
            let ts = match last_book {
                Some((seq, ts)) if seq == at.seq => ts,
                _ => at.ts,
            };
            let take = depth.unwrap_or(usize::MAX);
            let levels = |side| at.book.levels(side).take(take).map(|l| (l.price, l.total));
            let mut scratch = String::new();
            let checksum = encode::book_checksum(instrument, at.book, &mut scratch);
            let mut out = String::with_capacity(256);
            let _ = write!(
                out,
                "{{\"symbol\":\"{}\",\"seq\":{},\"ts\":{}",
                instrument.symbol, at.seq, ts
            );
            let bids: Vec<_> = levels(Side::Buy).collect();
            let asks: Vec<_> = levels(Side::Sell).collect();
            encode::push_levels(&mut out, instrument, &bids, &asks);
            let _ = write!(out, ",\"checksum\":{checksum}}}");
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_are_kept_by_seq_and_answered_after_since() {
        let mut trades = RecentTrades::default();
        for seq in 1..=(KEPT_TRADES as u64 + 5) {
            trades.remember(&Utf8Bytes::from(format!(
                "{{\"type\":\"trade\",\"symbol\":\"X\",\"seq\":{seq},\"ts\":1}}"
            )));
        }
        let seqs = |since| {
            trades
                .after(since)
                .filter_map(|f| seq_of(f.as_str()))
                .collect::<Vec<_>>()
        };
        assert_eq!(seqs(Some(1000)), vec![1001, 1002, 1003, 1004, 1005]);
        assert_eq!(seqs(Some(1005)), Vec::<u64>::new());
        assert_eq!(seqs(Some(0)).first(), Some(&6), "the oldest kept");
        assert_eq!(seqs(Some(0)).len(), KEPT_TRADES);
        assert_eq!(seqs(None).len(), LATEST_TRADES);
        assert_eq!(seqs(None).last(), Some(&1005));
    }
}
