//! The server's recorder: symbol tasks hand it each published message (a
//! reference-counted clone, no copy) through a bounded queue; a thread of
//! its own writes them. A full queue never blocks a symbol task: the
//! message is counted as dropped, and the loss is logged (at most once a
//! second) and shown in `/metrics`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tungstenite::Utf8Bytes;

use super::{Header, RecordWriter, stream_name};
use crate::instrument::Instruments;
use crate::protocol::StreamId;
use crate::types::UnixNanos;

/// Messages the queue holds before it drops.
pub const QUEUE: usize = 1 << 16;

enum Item {
    Entry {
        ts: UnixNanos,
        stream: StreamId,
        frame: Utf8Bytes,
        snapshot: bool,
    },
    /// Everything before it is written: finish the file.
    Stop,
}

pub struct Recorder {
    queue: SyncSender<Item>,
    pub snapshot_every_s: u64,
    /// Messages the recorder could not keep up with.
    pub dropped: Arc<AtomicU64>,
    pub written: Arc<AtomicU64>,
    last_warning: std::sync::Mutex<Option<Instant>>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Recorder {
    /// Creates the file, writes the header and starts the writing thread.
    pub fn start(path: &Path, header: Header) -> std::io::Result<Recorder> {
        let mut writer = RecordWriter::create(path)?;
        writer.write_header(&header)?;
        let (queue, items) = sync_channel(QUEUE);
        let written = Arc::new(AtomicU64::new(0));
        let names = stream_names(&header.instruments);
        let count = written.clone();
        let file = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("recorder".to_string())
            .spawn(move || write_all(writer, items, names, count, file))?;
        Ok(Recorder {
            queue,
            snapshot_every_s: header.snapshot_every_s,
            dropped: Arc::new(AtomicU64::new(0)),
            written,
            last_warning: std::sync::Mutex::new(None),
            writer: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn push(&self, item: Item) {
        match self.queue.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let dropped = self.dropped.fetch_add(1, Relaxed) + 1;
                let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
                if last.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                    *last = Some(Instant::now());
                    tracing::error!(
                        dropped,
                        "the recorder cannot keep up: messages are missing from the recording"
                    );
                }
            }
        }
    }

    pub fn message(&self, ts: UnixNanos, stream: StreamId, frame: &Utf8Bytes) {
        self.push(Item::Entry {
            ts,
            stream,
            frame: frame.clone(),
            snapshot: false,
        });
    }

    pub fn snapshot(&self, ts: UnixNanos, stream: StreamId, frame: &Utf8Bytes) {
        self.push(Item::Entry {
            ts,
            stream,
            frame: frame.clone(),
            snapshot: true,
        });
    }

    /// Writes what is queued, finishes the file and stops the thread;
    /// later messages are dropped.
    pub fn finish(&self) {
        let _ = self.queue.send(Item::Stop);
        if let Some(thread) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// Stream names by symbol index and channel index.
fn stream_names(instruments: &Instruments) -> Vec<[String; 6]> {
    instruments
        .iter()
        .map(|i| crate::protocol::Channel::ALL.map(|c| stream_name(c, &i.symbol)))
        .collect()
}

fn write_all(
    mut writer: RecordWriter,
    items: Receiver<Item>,
    names: Vec<[String; 6]>,
    written: Arc<AtomicU64>,
    file: String,
) {
    let mut failed = false;
    let mut since_flush = 0;
    while let Ok(Item::Entry {
        ts,
        stream,
        frame,
        snapshot,
    }) = items.recv()
    {
        if failed {
            continue;
        }
        let name = &names[stream.symbol.index()][stream.channel.index()];
        let result = if snapshot {
            writer.write_snapshot(ts, name, frame.as_bytes())
        } else {
            writer.write_message(ts, name, frame.as_bytes())
        };
        match result {
            Ok(()) => {
                written.fetch_add(1, Relaxed);
                since_flush += 1;
                if since_flush >= 4096 {
                    since_flush = 0;
                    let _ = writer.flush();
                }
            }
            Err(e) => {
                tracing::error!(file = %file, error = %e, "cannot write the recording; recording stops");
                failed = true;
            }
        }
    }
    if let Err(e) = writer.flush() {
        tracing::error!(file = %file, error = %e, "cannot finish the recording");
    }
}
