//! The write-ahead journal and the snapshots of a data directory: what
//! makes an acknowledged order survive a crash (`docs/durability.md`).
//!
//! - `record`: what is journaled (client inputs, the simulator's turns);
//! - `frame`: records framed with a length and CRC-32C checksums, and the
//!   scan that tells a torn tail from corruption;
//! - `writer`: the journal lock, and the thread that group-commits (one
//!   `fdatasync` per batch) and publishes the durable position;
//! - `dir`: the data directory, its lock, segments and snapshots;
//! - `snapshot`: the snapshot file.
//!
//! Synchronous and free of the gateway: the live market decides what to
//! journal and how to rebuild from it.

pub mod dir;
pub mod frame;
pub mod record;
pub mod snapshot;
pub mod writer;

use std::path::PathBuf;

pub use dir::{DataDir, DirError};
pub use record::{ClientInput, Record};
pub use writer::{Journal, JournalGuard, Ticket};

/// Where reading the journal stopped.
#[derive(Debug)]
pub struct ReadEnd {
    /// The last segment read, and the length of its whole records (the
    /// writer continues there); `None` if there was no segment to read.
    pub segment: u64,
    pub valid_len: Option<u64>,
    /// A torn last record that was dropped: its file and offset.
    pub torn: Option<(PathBuf, usize)>,
    pub records: u64,
}

/// A journal that cannot be read as far as it goes.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Dir(#[from] DirError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: damaged at byte offset {offset}: {why}")]
    Corrupt {
        path: PathBuf,
        offset: usize,
        why: String,
    },
    #[error("journal segment {missing} is missing ({dir} has segments {found:?})")]
    Missing {
        dir: PathBuf,
        missing: u64,
        found: Vec<u64>,
    },
}

/// Reads every record of segments `from` onwards, in order, calling
/// `apply` on each. A torn tail is allowed only at the end of the last
/// segment; any other damage is an error naming the file and offset.
pub fn read(
    dir: &DataDir,
    from: u64,
    mut apply: impl FnMut(Record) -> Result<(), String>,
) -> Result<ReadEnd, ReadError> {
    let found = dir.segments()?;
    let segments: Vec<u64> = found.iter().copied().filter(|&n| n >= from).collect();
    let mut end = ReadEnd {
        segment: from,
        valid_len: None,
        torn: None,
        records: 0,
    };
    for (i, &n) in segments.iter().enumerate() {
        if n != from + i as u64 {
            return Err(ReadError::Missing {
                dir: dir.path().to_path_buf(),
                missing: from + i as u64,
                found,
            });
        }
        let path = dir.segment_path(n);
        let bytes = std::fs::read(&path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        let corrupt = |offset: usize, why: String| ReadError::Corrupt {
            path: path.clone(),
            offset,
            why,
        };
        match frame::check_header(&bytes) {
            Ok(index) if index == n => {}
            Ok(index) => return Err(corrupt(8, format!("the header says segment {index}"))),
            Err(why) => return Err(corrupt(0, why)),
        }
        let last = i + 1 == segments.len();
        let scanned = frame::scan(
            &bytes[frame::SEGMENT_HEADER..],
            frame::SEGMENT_HEADER,
            |_, payload| {
                end.records += 1;
                apply(Record::decode(payload)?)
            },
        );
        end.segment = n;
        end.valid_len = Some(bytes.len() as u64);
        match scanned {
            frame::End::Clean => {}
            frame::End::TornTail { offset } if last => {
                end.valid_len = Some(offset as u64);
                end.torn = Some((path.clone(), offset));
            }
            frame::End::TornTail { offset } => {
                return Err(corrupt(
                    offset,
                    "a record cut short before the last segment".into(),
                ));
            }
            frame::End::Corrupt { offset, why } => return Err(corrupt(offset, why)),
        }
    }
    Ok(end)
}
