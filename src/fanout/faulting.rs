//! Faults on demand in a connection's queue (`crate::faults`): the plan,
//! what it left in progress (a held message, a stall, an abort), and what
//! each action does to the queue. `queue_market` calls `fault` for each
//! market message when a plan is set; the writers ask `stalled_until`.

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{CloseReason, Outbox, State};
use crate::faults::{Action, FaultPlan};
use crate::protocol::StreamId;

/// A connection's fault schedule and what it left in progress.
pub(super) struct Faulting {
    pub(super) plan: FaultPlan,
    pub(super) since: Instant,
    /// A message held back by `reorder`, sent after its stream's next.
    pub(super) held: Option<(StreamId, Utf8Bytes)>,
    /// Nothing is written before this (`stall`).
    pub(super) stalled_until: Option<Instant>,
    /// Closed without a close frame (`close:abrupt`).
    pub(super) abort: bool,
}

/// A `book_snapshot` or `candles_snapshot` (the encoders put `type` first).
pub(super) fn is_snapshot(frame: &Utf8Bytes) -> bool {
    let text = frame.as_str();
    text.starts_with("{\"type\":\"book_snapshot\"")
        || text.starts_with("{\"type\":\"candles_snapshot\"")
}

/// Until when a `stall` fault holds writes back (cleared once over).
pub(super) fn stalled(state: &mut State) -> Option<Instant> {
    let f = state.faults.as_mut()?;
    match f.stalled_until {
        Some(until) if Instant::now() < until => Some(until),
        Some(_) => {
            f.stalled_until = None;
            None
        }
        None => None,
    }
}

impl Outbox {
    /// Applies the connection's fault schedule to a market message of
    /// `stream`: what the caller must still do, the rest done here.
    pub(super) fn fault(&self, state: &mut State, stream: StreamId, frame: &Utf8Bytes) -> Action {
        let Some(f) = &mut state.faults else {
            return Action::Deliver;
        };
        let elapsed = if f.plan.spec().timed() {
            f.since.elapsed()
        } else {
            Duration::ZERO
        };
        let action = f.plan.on_message(stream.channel, elapsed);
        match action {
            Action::Reorder => f.held = Some((stream, frame.clone())),
            Action::Stall(d) => f.stalled_until = Some(Instant::now() + d),
            Action::Close(None) => f.abort = true,
            Action::Close(Some(code)) => {
                state.close.get_or_insert(CloseReason {
                    code,
                    reason: "closed by a fault",
                });
                state.drain_first = false;
                state.market.clear();
                state.market_bytes = 0;
                state.pending_notice = None;
            }
            Action::Shutdown => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                if state.queue_notice(crate::encode::shutdown(now)) {
                    state.close = Some(CloseReason::SHUTDOWN);
                    state.drain_first = true;
                }
            }
            _ => {}
        }
        action
    }

    /// Sets (or with `None` clears) the connection's fault schedule.
    pub fn set_faults(&self, plan: Option<FaultPlan>) {
        self.lock().faults = plan.map(|plan| {
            Box::new(Faulting {
                plan,
                since: Instant::now(),
                held: None,
                stalled_until: None,
                abort: false,
            })
        });
    }

    /// Until when a `stall` fault holds every write back, if it does.
    pub fn stalled_until(&self) -> Option<Instant> {
        let mut state = self.lock();
        stalled(&mut state)
    }

    /// Whether a fault closed the connection without a close frame.
    pub fn aborted(&self) -> bool {
        self.lock().faults.as_ref().is_some_and(|f| f.abort)
    }
}
