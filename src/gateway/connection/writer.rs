//! A connection's writer task. Frames are written by whoever queues them
//! (`fanout`); this task writes only what a full socket left behind, once
//! it drains, and sees the connection's end through: it pings the client
//! and closes a silent one, gives a close the close limit to get out (a
//! client that does not read never lets it), and on shutdown sends what is
//! queued, the shutdown notice, then closes with 1001.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, interval_at, sleep_until};

use crate::encode;
use crate::fanout::{CloseReason, Outbox, Written};
use crate::gateway::shared::Shared;

/// A ping frame with no payload.
const PING: &[u8] = &[0x89, 0];

pub async fn write_loop(
    socket: Arc<TcpStream>,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    opened: Instant,
    last_heard: Arc<AtomicU64>,
) {
    let config = &shared.config;
    let mut ping = interval_at(
        (Instant::now() + config.ping_interval).into(),
        config.ping_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    // Set once the connection is closing: the close gets this long to go.
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut stopping = false;
    loop {
        let written = outbox.write_queued();
        if written == Written::Closed {
            return;
        }
        if deadline.is_none() && outbox.closing().is_some() {
            deadline = Some(tokio::time::Instant::now() + config.close_timeout);
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
                // What is queued may be private events: it goes first,
                // within the limit.
                outbox.shut_down(encode::shutdown(shared.clock.now()));
                let limit = tokio::time::Instant::now() + shutdown_limit(&shared);
                deadline = Some(deadline.map_or(limit, |d| d.min(limit)));
            }
            _ = sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => return,
            _ = ping.tick() => {
                let silent = opened.elapsed().saturating_sub(Duration::from_millis(last_heard.load(Relaxed)));
                if silent > config.idle_timeout {
                    outbox.close(CloseReason::PING_TIMEOUT);
                } else {
                    outbox.push_raw(Bytes::from_static(PING));
                }
            }
        }
    }
}

fn shutdown_limit(shared: &Shared) -> Duration {
    shared
        .config
        .close_timeout
        .min(shared.config.shutdown_grace)
}
