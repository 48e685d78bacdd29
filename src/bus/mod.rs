//! The bus between one engine and many gateways (cluster mode,
//! `docs/cluster.md`): what travels on NATS and how it is named. Pure: the
//! subjects, the symbol state an engine answers a gateway with, and the
//! `seq` bookkeeping a gateway checks the engine's streams with. The
//! connections to NATS are `gateway::bus`.
//!
//! The market data on the bus is exactly what the embedded server sends its
//! clients (the same bytes, `seq` and `ts` included), one NATS message per
//! published message, on a subject per symbol and stream.

pub mod forward;
pub mod gate;
pub mod instruments;
pub mod seqs;
pub mod state;
pub mod subjects;

pub use seqs::{Seen, StreamSeqs};
pub use state::SymbolState;

/// A number field of a market-data message (`"seq":N`, `"ts":N`): the
/// first occurrence, which is the message's own (every message starts
/// `{"type":..,"symbol":..,"seq":..,"ts":..`).
pub fn number_field(frame: &str, field: &str) -> Option<u64> {
    let key = format!("\"{field}\":");
    let at = frame.find(&key)? + key.len();
    let digits = frame[at..].split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// Why a gateway stopped a symbol's streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interruption {
    /// The gateway lost its connection to NATS.
    Bus,
    /// The engine went silent (no heartbeat for `ENGINE_SILENT_MS`) or did
    /// not answer for the symbol's state.
    Engine,
}

/// How long a followed symbol may go without a message (the engine sends a
/// heartbeat every second) before its streams are said interrupted.
pub const ENGINE_SILENT_MS: u64 = 3_000;

/// `stream_interrupted`: the symbol's streams stopped (docs/cluster.md);
/// the connection stays open and its subscriptions are kept.
pub fn interrupted(symbol: &str, why: Interruption, ts: u64) -> String {
    let reason = match why {
        Interruption::Bus => "bus",
        Interruption::Engine => "engine",
    };
    format!(
        "{{\"type\":\"stream_interrupted\",\"symbol\":\"{symbol}\",\"reason\":\"{reason}\",\"ts\":{ts}}}"
    )
}

/// `stream_resumed`: the symbol's streams go on; each subscribed stream's
/// initial state (a fresh `book_snapshot`, the ticker, the candles
/// snapshot) follows at once.
pub fn resumed(symbol: &str, ts: u64) -> String {
    format!("{{\"type\":\"stream_resumed\",\"symbol\":\"{symbol}\",\"ts\":{ts}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_s_own_seq_and_ts_are_read() {
        let frame = r#"{"type":"heartbeat","symbol":"BTC-USD","seq":7,"ts":1700,"last_seq":{"book":9,"trades":3,"ticker":2}}"#;
        assert_eq!(number_field(frame, "seq"), Some(7));
        assert_eq!(number_field(frame, "ts"), Some(1700));
        assert_eq!(number_field(frame, "book"), Some(9));
        assert_eq!(number_field("{\"seq\":\"x\"}", "seq"), None);
        assert_eq!(number_field("{}", "seq"), None);
        let notice: serde_json::Value =
            serde_json::from_str(&interrupted("BTC-USD", Interruption::Bus, 5)).expect("JSON");
        assert_eq!(notice["reason"], "bus");
        let notice: serde_json::Value = serde_json::from_str(&resumed("BTC-USD", 6)).expect("JSON");
        assert_eq!(notice["type"], "stream_resumed");
        assert_eq!(
            number_field("{\"seq\":99999999999999999999999}", "seq"),
            None
        );
    }
}
