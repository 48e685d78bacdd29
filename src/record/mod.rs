//! Recordings: every market-data message as the exact bytes sent, with its
//! stream and engine time, in JSON Lines (zstd-compressed when the file
//! name ends in `.zst`). `docs/recording.md` describes the format.
//!
//! - `RecordWriter` writes a recording (synchronous; the server runs it on
//!   a thread of its own behind a bounded queue, `recorder`);
//! - `read` opens one and yields its entries with their line numbers, with
//!   errors that name the file and the line;
//! - `simulate` writes a recording of the simulated markets without a
//!   server, as fast as the machine allows, byte-identical for a seed.

mod read;
pub mod recorder;
mod simulate;

pub use read::{Entry, Recording, RecordingError, open, read};
pub use simulate::{SimulateOptions, SimulateStats, WARM_UP_NS, simulate};

use std::fmt::Write as _;
use std::io::Write;

use crate::instrument::{Instrument, Instruments};
use crate::json;
use crate::protocol::Channel;
use crate::types::UnixNanos;

pub const FORMAT: &str = "tickwire-recording";
pub const VERSION: u64 = 1;

/// The stream name of a channel of a symbol: `book:BTC-USD`,
/// `candles_1m:BTC-USD` (the channel part from `Channel::stream_name`).
pub fn stream_name(channel: Channel, symbol: &str) -> String {
    format!("{}:{symbol}", channel.stream_name())
}

/// The channel named by a stream's channel part.
pub fn channel_named(name: &str) -> Option<Channel> {
    Channel::from_stream_name(name)
}

/// A duration such as `60s`, `500ms`, `2m`, `1h` or `1.5s` (a bare number
/// is seconds), in nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s, 500ms, 2m or 1h"))?;
    let scale = match unit {
        "" | "s" => 1e9,
        "ms" => 1e6,
        "us" => 1e3,
        "ns" => 1.0,
        "m" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)"
            ));
        }
    };
    let ns = value * scale;
    if !(0.0..=1e19).contains(&ns) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(ns as u64)
}

/// A point in a recording: engine time in ns since the epoch (a number of
/// 16 digits or more), or a duration from the recording's start (`90s`).
pub fn parse_time(text: &str, start: UnixNanos) -> Result<UnixNanos, String> {
    match text.trim().parse::<u64>() {
        Ok(ns) if ns >= 1_000_000_000_000_000 => Ok(ns),
        _ => parse_duration(text).map(|offset| start + offset),
    }
}

/// What the first line says.
#[derive(Clone, Debug)]
pub struct Header {
    pub instruments: Instruments,
    pub seed: Option<u64>,
    /// Engine time the recording starts at.
    pub start: UnixNanos,
    /// Seconds between the periodic book snapshots.
    pub snapshot_every_s: u64,
}

fn instrument_json(out: &mut String, i: &Instrument) {
    let _ = write!(
        out,
        "{{\"symbol\":\"{}\",\"tick_size\":\"{}\",\"lot_size\":\"{}\",\"price_decimals\":{},\"qty_decimals\":{},\"max_qty\":\"{}\",\"band\":\"{}\",\"start_price\":\"{}\",\"volatility\":{:?},\"event_rate\":{:?}}}",
        i.symbol,
        i.tick_size,
        i.lot_size,
        i.price_decimals,
        i.qty_decimals,
        i.format_qty(i.max_qty),
        i.band,
        i.format_price(i.start_price),
        i.volatility,
        i.event_rate
    );
}

/// Writes a recording. Each `write_*` appends one line.
pub struct RecordWriter {
    out: Box<dyn Write + Send>,
    line: Vec<u8>,
}

impl RecordWriter {
    /// A writer into `path`, compressed with zstd if it ends in `.zst`.
    pub fn create(path: &std::path::Path) -> std::io::Result<RecordWriter> {
        let file = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
        let out: Box<dyn Write + Send> = if path.extension().is_some_and(|e| e == "zst") {
            Box::new(zstd::Encoder::new(file, 3)?.auto_finish())
        } else {
            Box::new(file)
        };
        Ok(RecordWriter {
            out,
            line: Vec::with_capacity(4096),
        })
    }

    pub fn write_header(&mut self, header: &Header) -> std::io::Result<()> {
        let mut text = String::with_capacity(1024);
        let _ = write!(
            text,
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"tickwire\":"
        );
        json::push_str(&mut text, env!("CARGO_PKG_VERSION"));
        match header.seed {
            Some(seed) => {
                let _ = write!(text, ",\"seed\":{seed}");
            }
            None => text.push_str(",\"seed\":null"),
        }
        let _ = write!(
            text,
            ",\"start\":{},\"snapshot_every_s\":{},\"instruments\":[",
            header.start, header.snapshot_every_s
        );
        for (n, i) in header.instruments.iter().enumerate() {
            if n > 0 {
                text.push(',');
            }
            instrument_json(&mut text, i);
        }
        text.push_str("]}\n");
        self.out.write_all(text.as_bytes())
    }

    fn envelope(
        &mut self,
        ts: UnixNanos,
        stream: &str,
        key: &str,
        body: &[u8],
    ) -> std::io::Result<()> {
        self.line.clear();
        let _ = write!(
            &mut self.line,
            "{{\"ts\":{ts},\"stream\":\"{stream}\",\"{key}\":"
        );
        self.line.extend_from_slice(body);
        self.line.extend_from_slice(b"}\n");
        self.out.write_all(&self.line)
    }

    /// A message as sent, byte for byte.
    pub fn write_message(
        &mut self,
        ts: UnixNanos,
        stream: &str,
        message: &[u8],
    ) -> std::io::Result<()> {
        self.envelope(ts, stream, "msg", message)
    }

    /// A periodic book snapshot (not a message of the stream).
    pub fn write_snapshot(
        &mut self,
        ts: UnixNanos,
        stream: &str,
        snapshot: &[u8],
    ) -> std::io::Result<()> {
        self.envelope(ts, stream, "snapshot", snapshot)
    }

    /// A warning about the recording's data from here on (an import's
    /// source skipped part of its sequence), for whoever replays it.
    pub fn write_warning(
        &mut self,
        ts: UnixNanos,
        stream: &str,
        text: &str,
    ) -> std::io::Result<()> {
        let mut quoted = String::with_capacity(text.len() + 2);
        json::push_str(&mut quoted, text);
        self.envelope(ts, stream, "warning", quoted.as_bytes())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("60s"), Ok(60_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration("10"), Ok(10_000_000_000));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").unwrap_err().contains("unknown unit"));
        assert_eq!(parse_time("5s", 1_000), Ok(5_000_001_000));
        assert_eq!(
            parse_time("1700000000000000000", 1_000),
            Ok(1_700_000_000_000_000_000)
        );
    }
}
