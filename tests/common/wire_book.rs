//! A book kept from the wire by a test client, independently of the
//! server's code: levels by price, PROTOCOL.md's checksum.

use std::collections::BTreeMap;

use serde_json::Value;

/// A book kept from the wire, prices and quantities as their wire strings.
#[derive(Default, Debug, PartialEq)]
pub struct WireBook {
    /// Keyed by the price as a number (for ordering), holding (price, qty).
    pub bids: BTreeMap<i64, (String, String)>,
    pub asks: BTreeMap<i64, (String, String)>,
}

pub fn key(price: &str) -> i64 {
    let (int, frac) = price.split_once('.').unwrap_or((price, ""));
    format!("{int}{frac:0<9}").parse().expect("price")
}

impl WireBook {
    pub fn apply(&mut self, levels: &Value, bids: bool) {
        let side = if bids { &mut self.bids } else { &mut self.asks };
        for level in levels.as_array().expect("levels") {
            let (price, qty) = (
                level[0].as_str().expect("price"),
                level[1].as_str().expect("qty"),
            );
            if qty == "0" {
                assert!(
                    side.remove(&key(price)).is_some(),
                    "removed a level that was not there: {price}"
                );
            } else {
                side.insert(key(price), (price.to_string(), qty.to_string()));
            }
        }
    }

    pub fn from_snapshot(snapshot: &Value) -> WireBook {
        let mut book = WireBook::default();
        book.apply(&snapshot["bids"], true);
        book.apply(&snapshot["asks"], false);
        book
    }

    /// PROTOCOL.md's checksum, computed independently of the server.
    pub fn checksum(&self) -> u32 {
        let side = |levels: Vec<&(String, String)>| {
            levels
                .iter()
                .take(10)
                .map(|(p, q)| format!("{p}:{q}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = format!(
            "{}|{}",
            side(self.bids.values().rev().collect()),
            side(self.asks.values().collect())
        );
        crc32fast::hash(text.as_bytes())
    }

    pub fn crossed(&self) -> bool {
        matches!((self.bids.keys().next_back(), self.asks.keys().next()), (Some(b), Some(a)) if b >= a)
    }
}

impl WireBook {
    /// The best `depth` levels of each side, as a book of their own.
    pub fn top(&self, depth: usize) -> WireBook {
        WireBook {
            bids: self
                .bids
                .iter()
                .rev()
                .take(depth)
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            asks: self
                .asks
                .iter()
                .take(depth)
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        }
    }
}
