//! Reading recordings: the header, then the entries one line at a time,
//! with errors that name the file and the line. A last line cut short (a
//! recording whose writer was killed) ends the recording with a warning
//! instead of an error.

use std::io::{BufRead, BufReader};
use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{FORMAT, Header, VERSION, channel_named};
use crate::instrument::{Instrument, Instruments};
use crate::protocol::Channel;
use crate::types::UnixNanos;

/// A recording that cannot be read, located to its line.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// One recorded line after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub ts: UnixNanos,
    /// Index of the symbol in the header's instruments.
    pub symbol: u16,
    pub channel: Channel,
    /// A periodic book snapshot rather than a message of the stream.
    pub snapshot: bool,
    /// The message (or snapshot) exactly as sent.
    pub json: String,
}

pub struct Recording {
    pub file: String,
    pub header: Header,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    buffer: Vec<u8>,
    /// Set when the last line was cut short.
    pub truncated: Option<String>,
    /// Warnings read so far: lines of their own (an import's source
    /// skipped part of its sequence), not entries.
    pub warnings: u64,
    /// The warnings read and not yet taken (`take_warnings`), each before
    /// the entry last returned.
    unread: Vec<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    format: String,
    version: u64,
    seed: Option<u64>,
    start: u64,
    snapshot_every_s: u64,
    instruments: Vec<RawInstrument>,
}

#[derive(Deserialize)]
struct RawInstrument {
    symbol: String,
    tick_size: Decimal,
    lot_size: Decimal,
    price_decimals: u32,
    qty_decimals: u32,
    max_qty: Decimal,
    band: Decimal,
    start_price: Decimal,
    volatility: f64,
    event_rate: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry<'a> {
    ts: u64,
    stream: &'a str,
    #[serde(borrow)]
    msg: Option<&'a RawValue>,
    #[serde(borrow)]
    snapshot: Option<&'a RawValue>,
    warning: Option<String>,
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Opens a recording (plain or zstd, told apart by its first bytes) and
/// reads its header.
pub fn open(path: &Path) -> Result<Recording, RecordingError> {
    let file = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(f) => read(file, BufReader::with_capacity(1 << 16, f)),
        Err(source) => Err(RecordingError::Io { file, source }),
    }
}

/// Reads a recording from any source (`file` names it in errors): plain
/// or zstd, told apart by its first bytes; the header is read here.
pub fn read<R: BufRead + Send + 'static>(
    file: String,
    mut raw: R,
) -> Result<Recording, RecordingError> {
    let compressed = match raw.fill_buf() {
        Ok(head) => head.starts_with(&ZSTD_MAGIC),
        Err(source) => return Err(RecordingError::Io { file, source }),
    };
    let reader: Box<dyn BufRead + Send> = if compressed {
        match zstd::Decoder::with_buffer(raw) {
            Ok(decoder) => Box::new(BufReader::with_capacity(1 << 16, decoder)),
            Err(source) => return Err(RecordingError::Io { file, source }),
        }
    } else {
        Box::new(raw)
    };
    let mut recording = Recording {
        file,
        header: empty_header(),
        reader,
        line: 0,
        buffer: Vec::with_capacity(4096),
        truncated: None,
        warnings: 0,
        unread: Vec::new(),
    };
    recording.header = recording.read_header()?;
    Ok(recording)
}

fn empty_header() -> Header {
    Header {
        instruments: Instruments::embedded_default(),
        seed: None,
        start: 0,
        snapshot_every_s: 0,
    }
}

impl Recording {
    fn invalid(&self, message: impl Into<String>) -> RecordingError {
        RecordingError::Invalid {
            file: self.file.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    /// The next line, without its newline; `None` at the end. A last line
    /// without a newline (or a compressed stream cut short) is a truncated
    /// tail: it is dropped and noted in `truncated`.
    fn next_line(&mut self) -> Result<Option<&[u8]>, RecordingError> {
        self.buffer.clear();
        match self.reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => Ok(None),
            Ok(_) if self.buffer.last() == Some(&b'\n') => {
                self.line += 1;
                self.buffer.pop();
                Ok(Some(&self.buffer))
            }
            Ok(_) => {
                self.line += 1;
                self.truncated = Some(format!(
                    "{}:{}: the last line is cut short; the recording ends at line {}",
                    self.file,
                    self.line,
                    self.line - 1
                ));
                Ok(None)
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    || e.kind() == std::io::ErrorKind::Other =>
            {
                self.truncated = Some(format!(
                    "{}:{}: the compressed data ends early ({e}); the recording ends at line {}",
                    self.file,
                    self.line + 1,
                    self.line
                ));
                Ok(None)
            }
            Err(source) => Err(RecordingError::Io {
                file: self.file.clone(),
                source,
            }),
        }
    }

    fn read_header(&mut self) -> Result<Header, RecordingError> {
        let Some(line) = self.next_line()? else {
            return Err(match self.truncated.take() {
                Some(_) => {
                    self.line = 1;
                    self.invalid("the file ends early, before its header is complete")
                }
                None => {
                    // Line 1, where the header belongs (as the importers
                    // say): an editor has no line 0 to go to.
                    self.line = 1;
                    self.invalid("empty file: no header")
                }
            });
        };
        let raw: RawHeader = serde_json::from_slice(line)
            .map_err(|e| self.invalid(format!("not a tickwire recording header: {e}")))?;
        if raw.format != FORMAT {
            return Err(self.invalid(format!("format {:?} is not {FORMAT:?}", raw.format)));
        }
        if raw.version != VERSION {
            return Err(self.invalid(format!(
                "version {} is not supported (this tickwire reads version {VERSION})",
                raw.version
            )));
        }
        let mut list: Vec<Instrument> = Vec::new();
        for r in raw.instruments {
            let built = Instrument::new(
                &r.symbol,
                r.tick_size,
                r.lot_size,
                r.price_decimals,
                r.qty_decimals,
                r.max_qty,
                r.band,
                r.start_price,
                r.volatility,
                r.event_rate,
            )
            .map_err(|(field, message)| {
                self.invalid(format!("instrument {}: {field}: {message}", r.symbol))
            })?;
            list.push(built);
        }
        let instruments = Instruments::from_list(list).map_err(|m| self.invalid(m))?;
        Ok(Header {
            instruments,
            seed: raw.seed,
            start: raw.start,
            snapshot_every_s: raw.snapshot_every_s,
        })
    }

    /// The warnings read since this was last called, in file order, each
    /// as `file:line: at TS: text`: they come before the entry last
    /// returned (or the end).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unread)
    }

    /// The next entry; `None` at the end (see `truncated`). Warnings on
    /// the way are counted and kept for `take_warnings`.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RecordingError> {
        loop {
            let line_number = self.line + 1;
            let Some(line) = self.next_line()? else {
                return Ok(None);
            };
            let raw: RawEntry = match serde_json::from_slice(line) {
                Ok(raw) => raw,
                Err(e) => return Err(self.invalid(format!("not a recording entry: {e}"))),
            };
            let (ts, stream) = (raw.ts, raw.stream.to_string());
            let (json, snapshot) = match (raw.msg, raw.snapshot, raw.warning) {
                (Some(m), None, None) => (m.get().to_string(), false),
                (None, Some(s), None) => (s.get().to_string(), true),
                (None, None, Some(text)) => {
                    self.stream(&stream)?;
                    self.warnings += 1;
                    let warning = format!("{}:{line_number}: at {ts}: {text}", self.file);
                    self.unread.push(warning);
                    continue;
                }
                _ => {
                    return Err(self.invalid(
                        "an entry has exactly one of \"msg\", \"snapshot\" and \"warning\"",
                    ));
                }
            };
            let (channel, symbol) = self.stream(&stream)?;
            return Ok(Some(Entry {
                line: line_number,
                ts,
                symbol,
                channel,
                snapshot,
                json,
            }));
        }
    }

    /// A `channel:symbol` stream name's channel and symbol index.
    fn stream(&self, stream: &str) -> Result<(Channel, u16), RecordingError> {
        let Some((channel_name, symbol_name)) = stream.split_once(':') else {
            return Err(self.invalid(format!("stream {stream:?} is not channel:symbol")));
        };
        let channel = channel_named(channel_name)
            .ok_or_else(|| self.invalid(format!("unknown channel {channel_name:?}")))?;
        let symbol = self
            .header
            .instruments
            .iter()
            .position(|i| i.symbol == symbol_name)
            .ok_or_else(|| {
                self.invalid(format!(
                    "unknown symbol {symbol_name:?} (not among the header's instruments)"
                ))
            })?;
        Ok((channel, symbol as u16))
    }
}

impl Iterator for Recording {
    type Item = Result<Entry, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
