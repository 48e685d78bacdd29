//! Engine time on a live server: the wall clock, read through the monotonic
//! clock from a fixed start, so it never goes back.
//!
//! The monotonic clock is tokio's: the same as the standard one when the
//! server runs, and one a test can pause, so the simulated market then
//! advances only when every task (the test's readers included) is idle,
//! whatever the machine's load (`tests/gateway_flow.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::types::UnixNanos;

/// Maps the monotonic clock onto Unix nanoseconds, fixed at start-up, so
/// engine time follows the clock without ever going back.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    started: Instant,
    started_unix: UnixNanos,
}

impl Clock {
    pub fn start() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Clock {
            started: Instant::now(),
            started_unix: unix,
        }
    }

    pub fn now(&self) -> UnixNanos {
        self.started_unix + self.started.elapsed().as_nanos() as u64
    }

    /// Milliseconds since start (when a client was last heard from).
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn instant_of(&self, ts: UnixNanos) -> Instant {
        self.started + Duration::from_nanos(ts.saturating_sub(self.started_unix))
    }
}
