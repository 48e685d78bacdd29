//! A symbol's state as the engine answers a gateway (`state.<symbol>`):
//! what the gateway needs to serve new subscribers and polls without asking
//! again, at one point of the symbol's streams. The payload is lines of
//! `<stream> <message>`, each message exactly as the engine's clients were
//! sent it: the book snapshot, the ticker stream's latest messages, each
//! interval's candles snapshot and latest candle, and the trades the engine
//! keeps for polling, oldest first.

use crate::protocol::Channel;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymbolState {
    /// Oldest first; each message as sent.
    pub messages: Vec<(Channel, String)>,
}

impl SymbolState {
    pub fn push(&mut self, channel: Channel, message: &str) {
        self.messages.push((channel, message.to_string()));
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (channel, message) in &self.messages {
            out.push_str(channel.stream_name());
            out.push(' ');
            out.push_str(message);
            out.push('\n');
        }
        out
    }

    /// Reads a payload back; a line that is not `<stream> <message>` is an
    /// error naming it (a message itself is checked where it is applied).
    pub fn decode(payload: &[u8]) -> Result<SymbolState, String> {
        let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
        let mut state = SymbolState::default();
        for (n, line) in text.lines().enumerate() {
            let (stream, message) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {}: no message after the stream", n + 1))?;
            let channel = Channel::from_stream_name(stream)
                .ok_or_else(|| format!("line {}: unknown stream {stream:?}", n + 1))?;
            state.push(channel, message);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;

    #[test]
    fn a_state_reads_back_as_written_and_bad_payloads_are_errors() {
        let mut state = SymbolState::default();
        state.push(Channel::Book, r#"{"type":"book_snapshot","seq":5}"#);
        state.push(
            Channel::Candles(Interval::OneSecond),
            r#"{"type":"candle"}"#,
        );
        let decoded = SymbolState::decode(state.encode().as_bytes()).expect("decodes");
        assert_eq!(decoded, state);
        assert!(SymbolState::decode(b"book").is_err());
        assert!(SymbolState::decode(b"depth {}").is_err());
        assert!(SymbolState::decode(&[0xff, 0xfe]).is_err());
        assert_eq!(
            SymbolState::decode(b"").expect("empty"),
            SymbolState::default()
        );
    }
}
