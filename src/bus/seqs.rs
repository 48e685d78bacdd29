//! A gateway's check of the engine's streams: every stream of a symbol
//! numbers its messages 1, 2, 3... (`seq`), so a message that is not the
//! next one is either already had (a snapshot covered it) or a gap (the bus
//! lost something, or the engine dropped what NATS could not take).

use crate::protocol::Channel;

/// What a message's `seq` is to the stream so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The next one (or the first since the stream was known).
    Next,
    /// At or before the last one: already had.
    Stale,
    /// Messages are missing between the last one and this.
    Gap { expected: u64, got: u64 },
}

/// The last `seq` of each of a symbol's streams on the bus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSeqs {
    last: [Option<u64>; Channel::ALL.len()],
}

impl StreamSeqs {
    /// The stream is at least at `seq` (a state's messages, in any order).
    pub fn advance(&mut self, channel: Channel, seq: u64) {
        if let Some(last) = self.last.get_mut(channel.index()) {
            *last = Some(last.map_or(seq, |at| at.max(seq)));
        }
    }

    pub fn last(&self, channel: Channel) -> Option<u64> {
        self.last.get(channel.index()).copied().flatten()
    }

    /// Checks a message's `seq` and, if it is the next, takes it. A stream
    /// with nothing known yet (no trade before the snapshot) starts at the
    /// first message.
    pub fn check(&mut self, channel: Channel, seq: u64) -> Seen {
        let Some(last) = self.last.get_mut(channel.index()) else {
            return Seen::Next;
        };
        let seen = match *last {
            None => Seen::Next,
            Some(at) if seq <= at => Seen::Stale,
            Some(at) if seq == at + 1 => Seen::Next,
            Some(at) => Seen::Gap {
                expected: at + 1,
                got: seq,
            },
        };
        if seen == Seen::Next {
            *last = Some(seq);
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stale_and_gaps_per_stream() {
        let mut seqs = StreamSeqs::default();
        assert_eq!(seqs.check(Channel::Trades, 40), Seen::Next, "first known");
        assert_eq!(seqs.check(Channel::Trades, 41), Seen::Next);
        assert_eq!(seqs.check(Channel::Trades, 41), Seen::Stale);
        seqs.advance(Channel::Book, 100);
        assert_eq!(
            seqs.check(Channel::Book, 99),
            Seen::Stale,
            "in the snapshot"
        );
        assert_eq!(seqs.check(Channel::Book, 101), Seen::Next);
        assert_eq!(
            seqs.check(Channel::Book, 104),
            Seen::Gap {
                expected: 102,
                got: 104
            }
        );
        assert_eq!(seqs.last(Channel::Book), Some(101), "a gap takes nothing");
        assert_eq!(seqs.last(Channel::Ticker), None);
    }
}
