//! A polling client (`loadgen --poll INTERVAL`): instead of subscribing,
//! it asks `GET /api/book?symbol=S&depth=N` and `GET /api/trades?symbol=S
//! &since=SEQ` every interval over one keep-alive HTTP/1.1 connection, as
//! a REST user does. It counts what a WebSocket client would count: updates
//! received (a book whose `seq` moved, each new trade), updates missed
//! between polls (book `seq`s it never saw, trade `seq` gaps), the bytes on
//! the wire both ways, and the latency from each update's `ts` to its read.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::RunContext;
use super::dial::{Dialer, Stream};
use super::fields::{field_u64, now_ns};

pub struct PollPlan {
    pub symbol: String,
    pub interval: Duration,
    pub depth: Option<u32>,
}

#[derive(Default)]
pub struct PollStats {
    pub connected: bool,
    pub disconnected: bool,
    pub polls: u64,
    /// Book states and trades received that the client had not seen.
    pub updates: u64,
    /// Book `seq`s skipped between two polls, and trade `seq` gaps.
    pub missed: u64,
    /// Request and response bytes, headers included.
    pub wire_bytes: u64,
    /// Answers other than 200.
    pub errors: u64,
    /// Updates read before their `ts` by this machine's clock (counted as
    /// 1 us).
    pub negative_latencies: u64,
}

/// One HTTP/1.1 keep-alive connection.
struct Http {
    stream: Stream,
    buf: Vec<u8>,
    host: String,
}

impl Http {
    async fn connect(dialer: &Dialer, source: IpAddr) -> std::io::Result<Http> {
        Ok(Http {
            stream: dialer.open(source).await?,
            buf: Vec::with_capacity(16 << 10),
            host: dialer.target.to_string(),
        })
    }

    /// GETs `path`; returns the status, the body's range in `self.buf`, and
    /// the bytes sent and read.
    async fn get(&mut self, path: &str) -> std::io::Result<(u16, std::ops::Range<usize>, u64)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.stream.write_all(request.as_bytes()).await?;
        self.buf.clear();
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let head_end = loop {
            if let Some(at) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head"))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| bad("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let wire = (request.len() + head_end + length) as u64;
        Ok((status, head_end..head_end + length, wire))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let start = self.buf.len();
        self.buf.resize(start + (16 << 10), 0);
        let n = self.stream.read(&mut self.buf[start..]).await?;
        self.buf.truncate(start + n);
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Each `"seq":N,"ts":T` pair of a trades answer, in order.
fn trades_of(body: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    let mut rest = body;
    std::iter::from_fn(move || {
        let at = memchr::memmem::find(rest, b"\"seq\":")?;
        rest = &rest[at..];
        let seq = field_u64(rest, b"\"seq\":")?;
        let ts = field_u64(rest, b"\"ts\":")?;
        rest = &rest[6..];
        Some((seq, ts))
    })
}

pub async fn poller(ctx: Arc<RunContext>, source: IpAddr, plan: PollPlan) -> PollStats {
    let mut stats = PollStats::default();
    let mut settled = false;
    let settle = |settled: &mut bool| {
        if !*settled {
            *settled = true;
            ctx.live.settled.fetch_add(1, Relaxed);
        }
    };
    let mut http = match Http::connect(&ctx.dialer, source).await {
        Ok(h) => h,
        Err(_) => {
            settle(&mut settled);
            return stats;
        }
    };
    stats.connected = true;
    ctx.live.connected.fetch_add(1, Relaxed);
    let depth = plan
        .depth
        .map(|d| format!("&depth={d}"))
        .unwrap_or_default();
    let book_path = format!("/api/book?symbol={}{depth}", plan.symbol);
    let mut book_seq: Option<u64> = None;
    let mut trade_seq: Option<u64> = None;
    let mut stop = ctx.stop.clone();
    let mut tick = tokio::time::interval(plan.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        let trades_path = match trade_seq {
            Some(seq) => format!("/api/trades?symbol={}&since={seq}", plan.symbol),
            None => format!("/api/trades?symbol={}", plan.symbol),
        };
        // What one poll brought: each new update's `ts` with the time its
        // answer was read, and the updates missed.
        let mut fresh: Vec<(u64, u64)> = Vec::new();
        let (mut missed, mut errors, mut wire) = (0u64, 0u64, 0u64);
        let mut failed = false;
        for (which, path) in [(0, &book_path), (1, &trades_path)] {
            let (status, body, bytes) = match http.get(path).await {
                Ok(answer) => answer,
                Err(_) => {
                    failed = true;
                    break;
                }
            };
            wire += bytes;
            let received = now_ns();
            if status != 200 {
                errors += 1;
                continue;
            }
            let body = &http.buf[body];
            if which == 0 {
                let (Some(seq), Some(ts)) =
                    (field_u64(body, b"\"seq\":"), field_u64(body, b"\"ts\":"))
                else {
                    errors += 1;
                    continue;
                };
                match book_seq {
                    Some(last) if seq > last => {
                        missed += seq - last - 1;
                        fresh.push((ts, received));
                    }
                    Some(_) => {}
                    None => fresh.push((ts, received)),
                }
                book_seq = Some(book_seq.map_or(seq, |last| last.max(seq)));
            } else {
                for (seq, ts) in trades_of(body) {
                    if let Some(last) = trade_seq {
                        if seq <= last {
                            continue;
                        }
                        missed += seq - last - 1;
                    }
                    fresh.push((ts, received));
                    trade_seq = Some(seq);
                }
            }
        }
        if failed {
            stats.disconnected = true;
            break;
        }
        settle(&mut settled);
        if !ctx.measuring(Instant::now()) {
            continue;
        }
        stats.polls += 1;
        stats.updates += fresh.len() as u64;
        stats.missed += missed;
        stats.errors += errors;
        stats.wire_bytes += wire;
        let mut latency = ctx
            .latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &(ts, received) in &fresh {
            stats.negative_latencies += u64::from(received < ts);
            let micros = received.saturating_sub(ts) / 1_000;
            let _ = latency.record(micros.clamp(1, 60_000_000));
        }
        drop(latency);
        ctx.live.messages.fetch_add(fresh.len() as u64, Relaxed);
    }
    settle(&mut settled);
    stats
}
