//! Reads (and decompresses) a recording on a thread of its own, ahead of
//! the replay task, again from the start for each pass of a `--loop`.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::record::{self, Entry, Recording};

/// What the reading thread hands over.
pub enum Feed {
    Entry(Entry),
    /// A warning recorded in the file (by an import), in its place.
    Warning(String),
    /// The file ended (with a warning if its tail was cut short).
    End(Option<String>),
    Failed(String),
}

/// Starts the thread; `first` is the recording already open for the first
/// pass (else the thread opens `file`).
pub fn start(file: PathBuf, first: Option<Recording>, repeat: bool) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(4096);
    std::thread::spawn(move || {
        let mut opened = first;
        loop {
            let mut recording = match opened.take().map_or_else(|| record::open(&file), Ok) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Feed::Failed(e.to_string()));
                    return;
                }
            };
            loop {
                let entry = recording.next_entry().transpose();
                for warning in recording.take_warnings() {
                    if tx.blocking_send(Feed::Warning(warning)).is_err() {
                        return;
                    }
                }
                let item = match entry {
                    Some(Ok(entry)) => Feed::Entry(entry),
                    Some(Err(e)) => Feed::Failed(e.to_string()),
                    None => break,
                };
                let failed = matches!(item, Feed::Failed(_));
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
            if tx
                .blocking_send(Feed::End(recording.truncated.take()))
                .is_err()
                || !repeat
            {
                return;
            }
        }
    });
    rx
}
