//! What `tickwire replay` asks for.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::record::Recording;
use crate::types::UnixNanos;

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub file: PathBuf,
    /// `None`: as fast as the clients read.
    pub speed: Option<f64>,
    /// Engine-time bounds of what is published (inclusive).
    pub from: Option<UnixNanos>,
    pub to: Option<UnixNanos>,
    pub repeat: bool,
    /// Orders are taken and filled against the replayed market
    /// (`replay::paper`).
    pub paper: bool,
    /// At max speed, the replay starts once this many connections have
    /// subscribed to something (with no reader, "as fast as the clients
    /// read" is not at all).
    pub wait_for: usize,
    /// The recording, already opened (its header read) by whoever chose
    /// the instruments from it; `None`: the server opens `file` itself.
    /// Either way each pass reads the file once.
    pub opened: Option<OpenedRecording>,
}

/// A recording opened once and handed on to the replay's first pass.
#[derive(Clone)]
pub struct OpenedRecording(Arc<Mutex<Option<Recording>>>);

impl OpenedRecording {
    pub fn new(recording: Recording) -> OpenedRecording {
        OpenedRecording(Arc::new(Mutex::new(Some(recording))))
    }

    /// The recording, the first time only.
    pub fn take(&self) -> Option<Recording> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl fmt::Debug for OpenedRecording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenedRecording")
    }
}
