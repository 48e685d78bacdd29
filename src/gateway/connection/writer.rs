//! A connection's writing duties beside its reader, in the same task.
//! Frames are written by whoever queues them (`fanout`); here only what a
//! full socket left behind is written, once it drains, and the
//! connection's end is seen through: a close gets the close limit to go
//! out (a client that does not read never lets it), and a shutdown sends
//! what is queued, the shutdown notice, then closes with 1001.
//!
//! Pings are not here: one task pings every connection (`ping_loop`), so
//! an idle connection carries no timer of its own.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::encode;
use crate::fanout::{CloseReason, Outbox, Written};
use crate::gateway::shared::Shared;

/// A ping frame with no payload.
const PING: &[u8] = &[0x89, 0];

/// Writes what a full socket left until the connection closes.
pub async fn write_loop(
    socket: &TcpStream,
    outbox: &Outbox,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
) {
    let deadline = loop {
        let written = outbox.write_queued();
        if written == Written::Closed {
            return;
        }
        if outbox.closing().is_some() && outbox.stalled_until().is_none() {
            break Instant::now() + shared.config.close_timeout;
        }
        // A `stall` fault: nothing is written until it is over.
        let stall = outbox.stalled_until().map(Instant::from_std);
        tokio::select! {
            _ = outbox.ready() => {}
            _ = sleep_until(stall.unwrap_or_else(Instant::now)), if stall.is_some() => {}
            drained = socket.writable(), if written == Written::Blocked => {
                if drained.is_err() {
                    return;
                }
            }
            _ = stop.changed() => {
                // What is queued may be private events: it goes first,
                // within the limit.
                outbox.shut_down(encode::shutdown(shared.clock.now()));
                break Instant::now() + shutdown_limit(shared);
            }
        }
    };
    // Boxed: an open connection does not carry the closing state.
    Box::pin(close(socket, outbox, shared, stop, deadline)).await;
}

/// Writes until the close frame is out, or `deadline`.
async fn close(
    socket: &TcpStream,
    outbox: &Outbox,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
    mut deadline: Instant,
) {
    let mut stopping = *stop.borrow();
    loop {
        let written = outbox.write_queued();
        if written == Written::Closed {
            return;
        }
        tokio::select! {
            _ = outbox.ready() => {}
            drained = socket.writable(), if written == Written::Blocked => {
                if drained.is_err() {
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                deadline = deadline.min(Instant::now() + shutdown_limit(shared));
            }
            _ = sleep_until(deadline) => return,
        }
    }
}

fn shutdown_limit(shared: &Shared) -> Duration {
    shared
        .config
        .close_timeout
        .min(shared.config.shutdown_grace)
}

/// Pings every connection each `ping_interval`, and closes the ones the
/// server has not heard from within `idle_timeout` (1008, "ping timeout").
pub async fn ping_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let config = &shared.config;
    let mut ticks = interval(config.ping_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    let idle_ms = config.idle_timeout.as_millis() as u64;
    let mut outboxes: Vec<Arc<Outbox>> = Vec::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        // Taken out first: the map's locks are not held while writing.
        outboxes.extend(shared.connections.iter().map(|c| c.value().clone()));
        let now = shared.clock.uptime_ms();
        for outbox in outboxes.drain(..) {
            if now.saturating_sub(outbox.last_heard_ms()) > idle_ms {
                outbox.close(CloseReason::PING_TIMEOUT);
            } else {
                outbox.push_raw(Bytes::from_static(PING));
            }
        }
    }
}
