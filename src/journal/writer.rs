//! The journal's writer: symbol tasks append records to a shared buffer
//! under the journal lock; one thread writes what has gathered and makes it
//! durable with one `fdatasync` per batch (group commit), then publishes the
//! durable position, which the tasks await before they answer or publish
//! what depends on it.
//!
//! Positions ("tickets") count the record bytes ever appended, across
//! segments, so "durable ≥ ticket" is all a task needs to know.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};

use super::dir::DataDir;
use super::frame;
use super::record::Record;

/// How long records nobody waits for (the simulator's turns) may stay
/// written but not synced.
const LAZY_SYNC: Duration = Duration::from_millis(50);

/// A position in the journal: the record bytes appended before it.
pub type Ticket = u64;

/// What the symbol tasks share with the writer thread, under the journal
/// lock: the bytes not yet written and the requests for the thread.
pub struct Appender {
    buf: Vec<u8>,
    scratch: Vec<u8>,
    /// Ticket of the end of the last record appended.
    end: Ticket,
    records: u64,
    /// Someone awaits a record in `buf`: sync as soon as it is written.
    urgent: bool,
    /// The writer thread is asleep on the condvar (not writing or
    /// syncing): only then does an urgent append need to wake it, which
    /// saves a futex call per order while a batch is being synced.
    writer_asleep: bool,
    rotate: Option<(u64, oneshot::Sender<io::Result<()>>)>,
    closing: bool,
}

impl Appender {
    /// Appends a record; returns the ticket its durability is measured by.
    pub fn append(&mut self, record: &Record) -> Ticket {
        self.scratch.clear();
        record.encode(&mut self.scratch);
        frame::put(&mut self.buf, &self.scratch);
        self.end += (frame::FRAME_HEADER + self.scratch.len()) as u64;
        self.records += 1;
        self.end
    }

    /// Marks the records appended so far as awaited: the writer syncs them
    /// without waiting for more to gather.
    pub fn urge(&mut self) {
        self.urgent = true;
    }
}

/// Counters of the group commit, for `/metrics` and the benches.
#[derive(Default)]
pub struct JournalStats {
    pub fsyncs: AtomicU64,
    pub records: AtomicU64,
    pub bytes: AtomicU64,
    /// Records made durable by each fsync.
    pub batches: Mutex<Option<Histogram<u64>>>,
}

impl JournalStats {
    pub fn batch_sizes(&self) -> Option<Histogram<u64>> {
        self.batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub struct Journal {
    /// The journal lock. Held while a task applies an input's bookings and
    /// appends its record, so file order is booking order (see `Record`).
    appender: Mutex<Appender>,
    wake: Condvar,
    durable: watch::Sender<Ticket>,
    pub stats: JournalStats,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Journal {
    /// Starts writing a new segment, number `segment` (every start and
    /// every snapshot begins one).
    pub fn start(dir: &DataDir, segment: u64) -> io::Result<Arc<Journal>> {
        let file = create_segment(dir.path(), segment)?;
        let (durable, _) = watch::channel(0);
        let journal = Arc::new(Journal {
            appender: Mutex::new(Appender {
                buf: Vec::with_capacity(64 * 1024),
                scratch: Vec::with_capacity(256),
                end: 0,
                records: 0,
                urgent: false,
                writer_asleep: false,
                rotate: None,
                closing: false,
            }),
            wake: Condvar::new(),
            durable,
            stats: JournalStats::default(),
            thread: Mutex::new(None),
        });
        let writer = Writer {
            journal: journal.clone(),
            file,
            dir: dir.path().to_path_buf(),
        };
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run())?;
        *journal.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(journal)
    }

    /// Takes the journal lock.
    pub fn lock(&self) -> JournalGuard<'_> {
        JournalGuard {
            journal: self,
            appender: self.appender.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// The durable position, to await.
    pub fn durable(&self) -> watch::Receiver<Ticket> {
        self.durable.subscribe()
    }

    /// Finishes the current segment (written and synced) and starts
    /// segment `next`. Called with every symbol task paused, so the
    /// snapshot taken meanwhile is the state at the start of `next`.
    pub fn rotate(&self, next: u64) -> oneshot::Receiver<io::Result<()>> {
        let (tx, rx) = oneshot::channel();
        let mut appender = self.appender.lock().unwrap_or_else(|p| p.into_inner());
        appender.rotate = Some((next, tx));
        drop(appender);
        self.wake.notify_one();
        rx
    }

    /// Writes and syncs everything appended, then stops the thread.
    pub fn close(&self) {
        self.appender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closing = true;
        self.wake.notify_one();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// The journal lock, held.
pub struct JournalGuard<'a> {
    journal: &'a Journal,
    appender: MutexGuard<'a, Appender>,
}

impl std::ops::Deref for JournalGuard<'_> {
    type Target = Appender;
    fn deref(&self) -> &Appender {
        &self.appender
    }
}

impl std::ops::DerefMut for JournalGuard<'_> {
    fn deref_mut(&mut self) -> &mut Appender {
        &mut self.appender
    }
}

impl Drop for JournalGuard<'_> {
    fn drop(&mut self) {
        let wake = self.appender.writer_asleep
            && (self.appender.urgent || self.appender.buf.len() >= 256 * 1024);
        if wake {
            self.journal.wake.notify_one();
        }
    }
}

/// Creates segment `index` with its header, whole or not at all: a crash
/// between a file's creation and its header's write left a segment too
/// short to be one, which the next start refused as damage (the crash
/// test under CPU load caught a `kill -9` there).
fn create_segment(dir: &std::path::Path, index: u64) -> io::Result<File> {
    let path = super::dir::segment_file(dir, index);
    if path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists already", path.display()),
        ));
    }
    // One temporary name for every segment: what a crash left there is
    // overwritten by the next creation, not left behind.
    let tmp = dir.join("journal-new.tmp");
    super::dir::write_whole(dir, &tmp, &path, &frame::segment_header(index))
}

struct Writer {
    journal: Arc<Journal>,
    file: File,
    dir: std::path::PathBuf,
}

impl Writer {
    fn run(mut self) {
        let mut pending = Vec::with_capacity(64 * 1024);
        let mut unsynced_since: Option<Instant> = None;
        let mut unsynced_records = 0u64;
        loop {
            let (rotate, closing, records, written_end) = {
                let mut a = self
                    .journal
                    .appender
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                loop {
                    let lazy_due = unsynced_since.is_some_and(|t| t.elapsed() >= LAZY_SYNC);
                    if a.urgent || a.rotate.is_some() || a.closing || lazy_due {
                        break;
                    }
                    if !a.buf.is_empty() && unsynced_since.is_none() {
                        unsynced_since = Some(Instant::now());
                    }
                    let wait = match unsynced_since {
                        Some(t) => LAZY_SYNC.saturating_sub(t.elapsed()),
                        None => LAZY_SYNC,
                    };
                    a.writer_asleep = true;
                    a = match self.journal.wake.wait_timeout(a, wait) {
                        Ok((a, _)) => a,
                        Err(p) => p.into_inner().0,
                    };
                    a.writer_asleep = false;
                }
                std::mem::swap(&mut pending, &mut a.buf);
                let written_end = a.end;
                let records = std::mem::take(&mut a.records);
                a.urgent = false;
                (a.rotate.take(), a.closing, records, written_end)
            };
            unsynced_records += records;
            if let Err(e) = self.write_and_sync(&pending) {
                fail(&e);
            }
            self.count(unsynced_records, pending.len() as u64);
            pending.clear();
            unsynced_records = 0;
            unsynced_since = None;
            let _ = self.journal.durable.send(written_end);
            if let Some((next, done)) = rotate {
                let result = self.start_segment(next);
                if let Err(e) = &result {
                    fail(e);
                }
                let _ = done.send(result);
            }
            if closing {
                return;
            }
        }
    }

    fn write_and_sync(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !bytes.is_empty() {
            self.file.write_all(bytes)?;
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn count(&self, records: u64, bytes: u64) {
        if records == 0 {
            return;
        }
        let stats = &self.journal.stats;
        stats.fsyncs.fetch_add(1, Relaxed);
        stats.records.fetch_add(records, Relaxed);
        stats.bytes.fetch_add(bytes, Relaxed);
        let mut batches = stats.batches.lock().unwrap_or_else(|p| p.into_inner());
        if batches.is_none() {
            *batches = Histogram::new(3).ok();
        }
        if let Some(h) = batches.as_mut() {
            let _ = h.record(records);
        }
    }

    fn start_segment(&mut self, next: u64) -> io::Result<()> {
        self.file = create_segment(&self.dir, next)?;
        Ok(())
    }
}

/// A journal that cannot be written cannot keep its promise: nothing more
/// may be acknowledged. The process stops at once, before any task sees
/// the records as durable; a restart recovers what was synced (the
/// approach PostgreSQL took after "fsyncgate").
fn fail(e: &io::Error) -> ! {
    tracing::error!(error = %e, "the journal cannot be written: stopping");
    eprintln!(
        "tickwire: the journal cannot be written ({e}); stopping so that nothing unsaved is acknowledged"
    );
    std::process::exit(74)
}
