//! A client's copy of one symbol's book, kept from the wire messages and
//! checked the way PROTOCOL.md asks every client to: each `seq` the last
//! + 1, each checksum recomputed from the levels kept. Pure: no socket.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::encode::CHECKSUM_DEPTH;

/// `(price, qty)` as the wire wrote them.
pub type Level = (String, String);

/// What applying a message found.
#[derive(Debug, PartialEq)]
pub enum Applied {
    /// Applied in sequence (and the checksum matched, when there is one).
    Ok,
    /// Not for a live book (before its snapshot, or already applied).
    Skipped,
    /// `seq` was not the last + 1: a message was lost.
    Gap { expected: u64, got: u64 },
    /// The checksum computed from the book kept differs from the server's.
    Mismatch { ours: u32, theirs: u32 },
    /// The message is not a well-formed book message.
    Malformed(String),
}

#[derive(Debug, Default)]
pub struct LocalBook {
    bids: BTreeMap<Decimal, Level>,
    asks: BTreeMap<Decimal, Level>,
    pub seq: u64,
    /// Whether a snapshot has started the sequence (false while resyncing).
    pub live: bool,
}

fn levels(message: &Value, side: &str) -> Result<Vec<(Decimal, Level)>, String> {
    let list = message[side]
        .as_array()
        .ok_or_else(|| format!("{side} is not a list"))?;
    list.iter()
        .map(|pair| {
            let price = pair[0].as_str().ok_or("a price is not a string")?;
            let qty = pair[1].as_str().ok_or("a qty is not a string")?;
            let key: Decimal = price
                .parse()
                .map_err(|_| format!("price {price:?} is not a decimal"))?;
            qty.parse::<Decimal>()
                .map_err(|_| format!("qty {qty:?} is not a decimal"))?;
            Ok((key, (price.to_string(), qty.to_string())))
        })
        .collect()
}

impl LocalBook {
    /// A `book_snapshot`: the whole book, and the `seq` it stands at.
    pub fn snapshot(&mut self, message: &Value) -> Applied {
        let (Some(seq), Ok(bids), Ok(asks)) = (
            message["seq"].as_u64(),
            levels(message, "bids"),
            levels(message, "asks"),
        ) else {
            return Applied::Malformed("book_snapshot without seq, bids or asks".to_string());
        };
        self.bids.clear();
        self.asks.clear();
        self.apply_levels(bids, asks);
        self.seq = seq;
        self.live = true;
        self.verify(message)
    }

    /// A `book_update`: new level totals, `"0"` removing a level.
    pub fn update(&mut self, message: &Value) -> Applied {
        let Some(seq) = message["seq"].as_u64() else {
            return Applied::Malformed("book_update without seq".to_string());
        };
        if !self.live || seq <= self.seq {
            return Applied::Skipped;
        }
        if seq != self.seq + 1 {
            self.live = false;
            return Applied::Gap {
                expected: self.seq + 1,
                got: seq,
            };
        }
        let (bids, asks) = match (levels(message, "bids"), levels(message, "asks")) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), _) | (_, Err(e)) => return Applied::Malformed(e),
        };
        self.apply_levels(bids, asks);
        self.seq = seq;
        self.verify(message)
    }

    fn apply_levels(&mut self, bids: Vec<(Decimal, Level)>, asks: Vec<(Decimal, Level)>) {
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for (key, level) in levels {
                if level.1.parse::<Decimal>().is_ok_and(|q| q.is_zero()) {
                    side.remove(&key);
                } else {
                    side.insert(key, level);
                }
            }
        }
    }

    fn verify(&mut self, message: &Value) -> Applied {
        let Some(theirs) = message["checksum"].as_u64() else {
            return Applied::Ok;
        };
        let ours = self.checksum();
        if u64::from(ours) == theirs {
            Applied::Ok
        } else {
            self.live = false;
            Applied::Mismatch {
                ours,
                theirs: theirs as u32,
            }
        }
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = &Level> {
        self.bids.values().rev()
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = &Level> {
        self.asks.values()
    }

    /// PROTOCOL.md's CRC-32 of the top 10 levels of each side.
    pub fn checksum(&self) -> u32 {
        let side = |levels: &mut dyn Iterator<Item = &Level>| {
            levels
                .take(CHECKSUM_DEPTH)
                .map(|(p, q)| format!("{p}:{q}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = format!("{}|{}", side(&mut self.bids()), side(&mut self.asks()));
        crc32fast::hash(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_protocol_example_checksum() {
        let mut book = LocalBook::default();
        let applied = book.snapshot(&json!({
            "seq": 41,
            "bids": [["64000.50","1.2500"],["64000.00","0.5000"]],
            "asks": [["64001.00","0.7500"]],
            "checksum": 1801057275u32,
        }));
        assert_eq!(applied, Applied::Ok);
        assert_eq!(book.bids().next().map(|l| l.0.as_str()), Some("64000.50"));
    }

    #[test]
    fn gaps_and_mismatches_stop_the_book_until_a_snapshot() {
        let mut book = LocalBook::default();
        let empty = crc32fast::hash(b"|");
        let skipped = book.update(&json!({"seq": 1, "bids": [], "asks": [], "checksum": empty}));
        assert_eq!(skipped, Applied::Skipped);
        let ok = book.snapshot(&json!({"seq": 5, "bids": [], "asks": [], "checksum": empty}));
        assert_eq!(ok, Applied::Ok);
        assert_eq!(
            book.update(&json!({"seq": 7, "bids": [], "asks": [], "checksum": empty})),
            Applied::Gap {
                expected: 6,
                got: 7
            }
        );
        assert!(!book.live);
        book.snapshot(&json!({"seq": 7, "bids": [], "asks": [], "checksum": empty}));
        let wrong =
            book.update(&json!({"seq": 8, "bids": [["9.99", "1"]], "asks": [], "checksum": 1}));
        assert!(matches!(wrong, Applied::Mismatch { theirs: 1, .. }));
        assert!(!book.live);
    }

    #[test]
    fn levels_sort_by_value_and_zero_removes() {
        let mut book = LocalBook::default();
        book.snapshot(&json!({"seq": 1, "bids": [["9.99","1"],["10.00","2"]], "asks": [["100.00","1"],["10.01","3"]]}));
        book.update(&json!({"seq": 2, "bids": [["10.00","0"]], "asks": []}));
        let bids: Vec<_> = book.bids().map(|l| l.0.as_str()).collect();
        let asks: Vec<_> = book.asks().map(|l| l.0.as_str()).collect();
        assert_eq!((bids, asks), (vec!["9.99"], vec!["10.01", "100.00"]));
        let bad = book.update(&json!({"seq": 3, "bids": [["x","1"]], "asks": []}));
        assert!(matches!(bad, Applied::Malformed(_)));
    }
}
