//! A connection's writer: drains the `Outbox` (responses and private events
//! first), feeds every ready frame and flushes once per batch; pings the
//! client and closes a silent one; sends the close frame, with a limit for
//! clients that do not read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, interval_at, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::encode;
use crate::fanout::{Batch, CloseReason, Outbox};
use crate::gateway::shared::Shared;

/// Frames taken from the outbox per write; the rest waits its turn, so the
/// bytes held by the writer stay small next to the queue's budget.
const MAX_BATCH_FRAMES: usize = 256;

type Sink<S> = SplitSink<WebSocketStream<S>, Message>;

/// Writes one batch: feed every frame, then one flush.
async fn write_batch<S>(sink: &mut Sink<S>, frames: &mut Vec<Utf8Bytes>) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for frame in frames.drain(..) {
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}

/// Sends a close frame, giving up after `limit` (a client that does not read
/// never gets it; the connection is dropped anyway).
async fn send_close<S>(sink: &mut Sink<S>, reason: CloseReason, limit: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(reason.code),
        reason: reason.reason.into(),
    };
    let _ = timeout(limit, sink.send(Message::Close(Some(frame)))).await;
}

pub async fn write_loop<S>(
    mut sink: Sink<S>,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    opened: Instant,
    last_heard: Arc<AtomicU64>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = &shared.config;
    let mut ping = interval_at(
        (Instant::now() + config.ping_interval).into(),
        config.ping_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Batch::default();
    loop {
        tokio::select! {
            _ = outbox.ready() => {}
            _ = stop.changed() => {
                shutdown(&mut sink, &outbox, &shared).await;
                return;
            }
            _ = ping.tick() => {
                let silent = opened.elapsed().saturating_sub(Duration::from_millis(last_heard.load(Relaxed)));
                if silent > config.idle_timeout {
                    outbox.close(CloseReason::PING_TIMEOUT);
                } else if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
        loop {
            outbox.drain(MAX_BATCH_FRAMES, &mut batch);
            if batch.frames.is_empty() && batch.close.is_none() {
                break;
            }
            let (count, bytes) = (batch.frames.len() as u64, batch.bytes as u64);
            // A slow client can block the write; a close or a shutdown must
            // not wait for it.
            let written = {
                let write = write_batch(&mut sink, &mut batch.frames);
                tokio::pin!(write);
                // Most writes finish at once (the socket takes the bytes):
                // then there is nothing to race, and no timer or other
                // future is set up for them.
                if let Poll::Ready(result) = futures_util::poll!(write.as_mut()) {
                    Some(result)
                } else {
                    // Once a close is asked for, the write in progress gets the
                    // close timeout to finish (a client that does not read
                    // never lets it).
                    let mut deadline: Option<tokio::time::Instant> = None;
                    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
                    loop {
                        tokio::select! {
                            result = &mut write => break Some(result),
                            _ = outbox.ready(), if deadline.is_none() => {
                                if outbox.closing().is_some() {
                                    deadline = Some(tokio::time::Instant::now() + config.close_timeout);
                                }
                            }
                            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => break None,
                            // A shutdown lets the write finish (what it holds
                            // may be private events), within the close limit.
                            _ = stop.changed(), if deadline.is_none() => {
                                deadline = Some(tokio::time::Instant::now() + shutdown_limit(&shared));
                            }
                        }
                    }
                }
            };
            match written {
                Some(Ok(())) => {
                    shared.metrics.messages_sent.fetch_add(count, Relaxed);
                    shared.metrics.bytes_sent.fetch_add(bytes, Relaxed);
                    if *stop.borrow() {
                        shutdown(&mut sink, &outbox, &shared).await;
                        return;
                    }
                }
                Some(Err(_)) => return,
                None if *stop.borrow() => {
                    shutdown(&mut sink, &outbox, &shared).await;
                    return;
                }
                None => {
                    if let Some(reason) = outbox.closing() {
                        send_close(&mut sink, reason, config.close_timeout).await;
                    }
                    return;
                }
            }
            if let Some(reason) = batch.close.take() {
                send_close(&mut sink, reason, config.close_timeout).await;
                return;
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

/// Sends what is still queued (responses and private events first, then
/// market data), tells the client the server is going away, then closes
/// with 1001; a client that does not read gets the close limit, no more.
async fn shutdown<S>(sink: &mut Sink<S>, outbox: &Outbox, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limit = shutdown_limit(shared);
    let deadline = tokio::time::Instant::now() + limit;
    let mut batch = Batch::default();
    loop {
        outbox.drain(MAX_BATCH_FRAMES, &mut batch);
        if batch.frames.is_empty() {
            break;
        }
        let count = batch.frames.len() as u64;
        match tokio::time::timeout_at(deadline, write_batch(sink, &mut batch.frames)).await {
            Ok(Ok(())) => {
                shared.metrics.messages_sent.fetch_add(count, Relaxed);
            }
            _ => return,
        }
    }
    let notice = Message::Text(encode::shutdown(shared.clock.now()));
    if tokio::time::timeout_at(deadline, sink.feed(notice))
        .await
        .is_ok()
    {
        send_close(sink, CloseReason::SHUTDOWN, limit).await;
    }
}
