//! Importing market data recorded elsewhere (`tickwire import`): each
//! source format is read into [`SourceEvent`]s in the source's own order,
//! with errors that name the file and the line; the files are merged in
//! time order and [`rebuild`] turns them into a tickwire recording that
//! `replay` serves through the unchanged protocol.
//!
//! - [`tardis`]: Tardis-style CSV (`incremental_book_L2`, `trades`), plain
//!   or gzip, as its public documentation defines the columns.
//! - [`binance`]: Binance's public trade dumps and captured diff-depth
//!   streams, synchronised by Binance's rules.
//! - [`capture`]: what a tickwire client received, one message a line.
//! - `input`: files as text, whatever they are packed in; `infer`:
//!   instruments from the data when none are given.
//!
//! A gap in a source's own sequence reaches the rebuild as a
//! [`SourceEvent::Gap`] and becomes a warning in the recording, unless
//! the source has a snapshot to start again from.

pub mod binance;
pub mod capture;
mod infer;
mod input;
pub mod rebuild;
mod source;
pub mod tardis;

use std::path::{Path, PathBuf};

pub use rebuild::{ImportStats, Rebuild};
pub use source::{Declared, GapIn, ImportError, Level, SourceEvent, SourceFile};

/// The formats `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tardis,
    Binance,
    /// A capture of tickwire's own protocol.
    Tickwire,
}

use crate::instrument::Instruments;
use crate::record::{Header, RecordWriter};
use crate::types::UnixNanos;

/// What `tickwire import` is asked to do.
pub struct ImportOptions {
    pub format: Format,
    pub files: Vec<PathBuf>,
    /// The symbol of files that do not name it (Binance trade dumps not
    /// named `SYMBOL-trades-...`).
    pub symbol: Option<String>,
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
    /// The instruments of the recording's header (given, described by the
    /// source, or inferred).
    pub instruments: Instruments,
    /// Of those, the symbols whose sizes were inferred from the data.
    pub inferred: Vec<String>,
}

/// The events of several files in time order (ties: the files' order,
/// then each file's own order).
struct Merged {
    files: Vec<Box<dyn SourceFile>>,
    /// Each file's next event, read ahead.
    heads: Vec<Option<Result<SourceEvent, ImportError>>>,
}

/// Opens one source file of `options.format`.
fn open(options: &ImportOptions, path: &Path) -> Result<Box<dyn SourceFile>, ImportError> {
    Ok(match options.format {
        Format::Tardis => Box::new(tardis::open(path)?),
        Format::Binance => binance::open(path, options.symbol.as_deref())?,
        Format::Tickwire => Box::new(capture::CaptureFile::new(input::Lines::new(
            &path.display().to_string(),
            input::open(path)?,
        ))),
    })
}

impl Merged {
    fn open(options: &ImportOptions) -> Result<Merged, ImportError> {
        let mut files: Vec<Box<dyn SourceFile>> = options
            .files
            .iter()
            .map(|f| open(options, f))
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
    let mut first = Merged::open(options)?;
    for event in first.by_ref() {
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
        // As the source describes them, else from the data.
        None => seen
            .iter()
            .map(|(symbol, seen)| {
                let declared = first
                    .files
                    .iter()
                    .flat_map(|f| f.declared())
                    .find(|d| Rebuild::symbol_of(&options.symbol_map, &d.symbol) == symbol);
                match declared {
                    Some(declared) => seen.declared(symbol, declared),
                    None => seen.instrument(symbol),
                }
            })
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
    let mut merged = Merged::open(options)?;
    for event in merged.by_ref() {
        rebuild.apply(&event?)?;
    }
    let mut stats = rebuild.finish()?;
    stats.rows = merged.files.iter().map(|f| f.rows()).sum();
    let inferred = match options.instruments {
        Some(_) => Vec::new(),
        None => instruments
            .iter()
            .filter(|i| {
                !first.files.iter().any(|f| {
                    f.declared()
                        .iter()
                        .any(|d| Rebuild::symbol_of(&options.symbol_map, &d.symbol) == i.symbol)
                })
            })
            .map(|i| i.symbol.clone())
            .collect(),
    };
    Ok(Imported {
        stats,
        instruments,
        inferred,
    })
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
