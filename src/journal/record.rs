//! What the journal holds: the inputs of every live symbol that cannot be
//! recomputed, in the order they were applied, and the clock of each turn
//! of the simulator (whose flow is recomputed from its seed and state, not
//! journaled). Encoded with postcard (compact, varint integers) inside the
//! frames of `frame`.

use serde::{Deserialize, Serialize};

use crate::engine::Input;
use crate::types::{SymbolId, UnixNanos};

/// One journal record. Records of one symbol are in the order its engine
/// applied them; records of different symbols are in the order their
/// private events were booked (the journal's lock covers both), so
/// replaying them in file order gives every account the same private `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// The simulated crowd acted `steps` times, each stamped no earlier than
    /// `now` (0: at its scheduled times, as in the warm-up).
    Turn {
        symbol: SymbolId,
        steps: u32,
        now: UnixNanos,
    },
    /// A client's input the engine accepted, applied at `ts`.
    Client {
        symbol: SymbolId,
        input: ClientInput,
    },
    /// One heartbeat of the symbol (its stream's `seq` goes up by one).
    Heartbeat { symbol: SymbolId },
    /// The simulator skipped ahead to `to` (after a restart, the downtime
    /// beyond the warm-up is not simulated).
    Skip { symbol: SymbolId, to: UnixNanos },
}

/// A client's input with what the accounts need to book its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInput {
    pub ts: UnixNanos,
    /// The account's index in the data directory's account list.
    pub account: u32,
    /// The connection that sent it (for cancel-on-disconnect).
    pub conn: u64,
    pub client_order_id: Option<String>,
    /// A cancel made by cancel-on-disconnect (`reason: "disconnected"`).
    pub disconnected: bool,
    pub input: Input,
}

impl Record {
    pub fn symbol(&self) -> SymbolId {
        match self {
            Record::Turn { symbol, .. }
            | Record::Client { symbol, .. }
            | Record::Heartbeat { symbol }
            | Record::Skip { symbol, .. } => *symbol,
        }
    }

    /// Appends the record's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Serializing plain enums and integers into a Vec cannot fail.
        if let Ok(bytes) = postcard::to_extend(self, std::mem::take(out)) {
            *out = bytes;
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("not a journal record: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NewOrder;
    use crate::types::{OrderId, Owner, Price, Qty, Side, TimeInForce};

    #[test]
    fn records_round_trip() {
        let records = [
            Record::Turn {
                symbol: SymbolId(2),
                steps: 3,
                now: 1_700_000_000_000_000_000,
            },
            Record::Client {
                symbol: SymbolId(0),
                input: ClientInput {
                    ts: 5,
                    account: 1,
                    conn: 77,
                    client_order_id: Some("abc-1".into()),
                    disconnected: false,
                    input: Input::New(NewOrder::limit(
                        Owner(2),
                        Side::Sell,
                        Price(6_400_000),
                        Qty(3),
                        TimeInForce::Gtc,
                    )),
                },
            },
            Record::Client {
                symbol: SymbolId(1),
                input: ClientInput {
                    ts: 6,
                    account: 0,
                    conn: 1,
                    client_order_id: None,
                    disconnected: true,
                    input: Input::Cancel {
                        owner: Owner(1),
                        order_id: OrderId(9),
                    },
                },
            },
            Record::Heartbeat {
                symbol: SymbolId(3),
            },
        ];
        for record in records {
            let mut bytes = vec![0xAA];
            record.encode(&mut bytes);
            assert_eq!(Record::decode(&bytes[1..]), Ok(record));
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Record::decode(&[0xFF, 0xFF, 0xFF]).is_err());
        assert!(Record::decode(&[]).is_err());
    }
}
