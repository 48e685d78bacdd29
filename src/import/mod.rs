//! Importing market data recorded elsewhere (`tickwire import`): each
//! source format is read into [`SourceEvent`]s in the source's own order,
//! with errors that name the file and the line; the files are merged in
//! time order and [`rebuild`] turns them into a tickwire recording that
//! `replay` serves through the unchanged protocol.
//!
//! - [`tardis`]: Tardis-style CSV (`incremental_book_L2`, `trades`), plain
//!   or gzip, as its public documentation defines the columns.
//! - `infer`: instruments from the data when none are given.

mod infer;
pub mod rebuild;
mod source;
pub mod tardis;

use std::path::PathBuf;

pub use rebuild::{ImportStats, Rebuild};
pub use source::{ImportError, Level, SourceEvent};

use crate::instrument::Instruments;
use crate::record::{Header, RecordWriter};
use crate::types::UnixNanos;

/// What `tickwire import` is asked to do.
pub struct ImportOptions {
    pub files: Vec<PathBuf>,
    pub out: PathBuf,
    /// Tick and lot sizes (and the rest) of every symbol imported; None:
    /// inferred from the data (`infer`).
    pub instruments: Option<Instruments>,
    /// Source symbol → tickwire symbol.
    pub symbol_map: Vec<(String, String)>,
    pub snapshot_every_s: u64,
}

/// What an import wrote.
pub struct Imported {
    pub stats: ImportStats,
    /// The instruments of the recording's header (given or inferred).
    pub instruments: Instruments,
}

/// The events of several files in time order (ties: the files' order,
/// then each file's own order).
struct Merged {
    files: Vec<tardis::TardisFile>,
    /// Each file's next event, read ahead.
    heads: Vec<Option<Result<SourceEvent, ImportError>>>,
}

impl Merged {
    fn open(files: &[PathBuf]) -> Result<Merged, ImportError> {
        let mut files: Vec<tardis::TardisFile> = files
            .iter()
            .map(|f| tardis::open(f))
            .collect::<Result<_, _>>()?;
        let heads = files.iter_mut().map(Iterator::next).collect();
        Ok(Merged { files, heads })
    }
}

impl Iterator for Merged {
    type Item = Result<SourceEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, UnixNanos)> = None;
        for (i, head) in self.heads.iter().enumerate() {
            match head {
                Some(Err(_)) => {
                    best = Some((i, 0));
                    break;
                }
                Some(Ok(event)) => {
                    let ts = event.symbol_and_ts().1;
                    if best.is_none_or(|(_, b)| ts < b) {
                        best = Some((i, ts));
                    }
                }
                None => {}
            }
        }
        let (i, _) = best?;
        let next = self.files[i].next();
        std::mem::replace(&mut self.heads[i], next)
    }
}

/// Imports `options.files` into `options.out`: a first pass finds the
/// symbols and where the data starts (and every bad line), a second
/// rebuilds and writes.
pub fn import(options: &ImportOptions) -> Result<Imported, ImportError> {
    let files = display(&options.files);
    // By tickwire symbol, in order of first appearance.
    let mut seen: Vec<(String, infer::Seen)> = Vec::new();
    let mut start = None;
    for event in Merged::open(&options.files)? {
        let event = event?;
        let (source, ts) = event.symbol_and_ts();
        start.get_or_insert(ts);
        let name = Rebuild::symbol_of(&options.symbol_map, source);
        let index = match seen.iter().position(|(s, _)| s == name) {
            Some(index) => index,
            None => {
                if let Some(given) = &options.instruments
                    && given.get(name).is_none()
                {
                    return Err(source::no_instrument(&files, name, source));
                }
                seen.push((name.to_string(), infer::Seen::default()));
                seen.len() - 1
            }
        };
        seen[index].1.record(&event);
    }
    let Some(start) = start else {
        return Err(ImportError::new(&files, 0, "no market data in the files"));
    };
    let used = match &options.instruments {
        // The symbols imported, in the instruments' order.
        Some(given) => given
            .iter()
            .filter(|i| seen.iter().any(|(s, _)| *s == i.symbol))
            .cloned()
            .collect(),
        None => seen
            .iter()
            .map(|(symbol, seen)| seen.instrument(symbol))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ImportError::new(&files, 0, e))?,
    };
    let instruments = Instruments::from_list(used).map_err(|e| ImportError::new(&files, 0, e))?;
    let out = options.out.display().to_string();
    let mut writer = RecordWriter::create(&options.out)
        .map_err(|e| ImportError::new(&out, 0, format!("cannot create: {e}")))?;
    writer
        .write_header(&Header {
            instruments: instruments.clone(),
            seed: None,
            start,
            snapshot_every_s: options.snapshot_every_s,
        })
        .map_err(|e| ImportError::new(&out, 0, format!("cannot write: {e}")))?;
    let mut rebuild = Rebuild::new(
        instruments.clone(),
        options.symbol_map.clone(),
        writer,
        options.snapshot_every_s,
    );
    let mut merged = Merged::open(&options.files)?;
    for event in merged.by_ref() {
        rebuild.apply(&event?)?;
    }
    let mut stats = rebuild.finish()?;
    stats.rows = merged.files.iter().map(|f| f.rows()).sum();
    Ok(Imported { stats, instruments })
}

fn display(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `A=B,C=D` as pairs.
pub fn parse_symbol_map(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
                Ok((from.trim().to_string(), to.trim().to_string()))
            }
            _ => Err(format!(
                "{pair:?} is not SOURCE=SYMBOL (as in BTCUSDT=BTC-USD)"
            )),
        })
        .collect()
}
