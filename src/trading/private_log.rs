//! An account's private sequence and the fills it was sent: each private
//! event (`order_accepted`, `order_amended`, `fill`, `order_done`) takes the
//! next `seq` of its account, and each fill is kept as it was sent, so a
//! client that reconnects asks for the fills after the last `seq` it saw
//! (`fills`) and misses nothing. Rebuilt from the journal after a restart,
//! so the numbers continue.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::types::{SymbolId, UnixNanos};

/// Most fills kept per account, whatever their age.
pub const MAX_FILLS_KEPT: usize = 100_000;
/// Most fills in one `fills` answer.
pub const MAX_FILLS_PER_ANSWER: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentFill {
    pub seq: u64,
    pub ts: UnixNanos,
    pub symbol: SymbolId,
    /// The `fill` event exactly as it was sent (without a request `id`).
    pub frame: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateLog {
    /// The `seq` of the last private event (0 before the first).
    last_seq: u64,
    fills: VecDeque<SentFill>,
}

impl PrivateLog {
    /// The `seq` for the next private event.
    pub fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Keeps a fill that was sent (the account's `history` and the cap
    /// apply).
    pub fn keep_fill(&mut self, fill: SentFill, history: u64) {
        let now = fill.ts;
        self.fills.push_back(fill);
        while self.fills.len() > MAX_FILLS_KEPT
            || self
                .fills
                .front()
                .is_some_and(|f| now.saturating_sub(f.ts) >= history)
        {
            self.fills.pop_front();
        }
    }

    /// Fills after private `seq` `since` (or at or after time `since_ts`),
    /// of one symbol or all, oldest first, at most `MAX_FILLS_PER_ANSWER`;
    /// true if there are more.
    pub fn fills_since(
        &self,
        since: Option<u64>,
        since_ts: Option<UnixNanos>,
        symbol: Option<SymbolId>,
    ) -> (Vec<&SentFill>, bool) {
        let start = match since {
            Some(seq) => self.fills.partition_point(|f| f.seq <= seq),
            None => 0,
        };
        let mut matching = self
            .fills
            .range(start..)
            .filter(|f| since_ts.is_none_or(|t| f.ts >= t))
            .filter(|f| symbol.is_none_or(|s| f.symbol == s));
        let page: Vec<&SentFill> = matching.by_ref().take(MAX_FILLS_PER_ANSWER).collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Every fill kept of `symbol`, oldest first (the Binance dialect's
    /// `myTrades` reads the newest of them, and orders' quote quantities).
    pub fn kept_fills(&self, symbol: SymbolId) -> impl DoubleEndedIterator<Item = &SentFill> {
        self.fills.iter().filter(move |f| f.symbol == symbol)
    }

    /// The oldest fill kept, so a client asking for older ones can be told.
    pub fn oldest_seq(&self) -> Option<u64> {
        self.fills.front().map(|f| f.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::accounts::DEFAULT_HISTORY as H;

    fn fill(seq: u64, ts: UnixNanos, symbol: u16) -> SentFill {
        SentFill {
            seq,
            ts,
            symbol: SymbolId(symbol),
            frame: format!("{{\"seq\":{seq}}}"),
        }
    }

    #[test]
    fn fills_since_a_seq_or_a_time_oldest_first() {
        let mut log = PrivateLog::default();
        for _ in 0..3 {
            log.next_seq();
        }
        log.keep_fill(fill(2, 100, 0), H);
        log.keep_fill(fill(3, 200, 1), H);
        log.keep_fill(fill(5, 300, 0), H);
        let seqs = |(page, more): (Vec<&SentFill>, bool)| {
            (page.iter().map(|f| f.seq).collect::<Vec<_>>(), more)
        };
        assert_eq!(
            seqs(log.fills_since(Some(2), None, None)),
            (vec![3, 5], false)
        );
        assert_eq!(
            seqs(log.fills_since(Some(0), None, Some(SymbolId(0)))),
            (vec![2, 5], false)
        );
        assert_eq!(
            seqs(log.fills_since(None, Some(200), None)),
            (vec![3, 5], false)
        );
        assert_eq!(seqs(log.fills_since(Some(5), None, None)), (vec![], false));
        assert_eq!(log.last_seq(), 3);
        assert_eq!(log.oldest_seq(), Some(2));
    }

    #[test]
    fn pages_of_a_thousand_and_24_hours_kept() {
        let mut log = PrivateLog::default();
        for seq in 1..=1500 {
            log.keep_fill(fill(seq, seq, 0), H);
        }
        let (page, more) = log.fills_since(Some(0), None, None);
        assert_eq!((page.len(), more), (MAX_FILLS_PER_ANSWER, true));
        let (page, more) = log.fills_since(Some(1000), None, None);
        assert_eq!((page.len(), more), (500, false));
        log.keep_fill(fill(1501, H + 2, 0), H);
        assert_eq!(log.oldest_seq(), Some(3), "fills 24 hours old or more go");
    }
}
