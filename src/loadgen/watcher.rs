//! A watcher: one connection that subscribes and reads as fast as it can,
//! counting messages, latency from `ts`, `seq` gaps per stream, `lagged`
//! notices and disconnects.

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHasher};

use super::fields::{Key, now_ns};
use super::wire::WsClient;
use super::{LoadOptions, RunContext};

/// What one watching connection saw.
pub struct WatchStats {
    pub connected: bool,
    pub disconnected: bool,
    pub messages: u64,
    pub bytes: u64,
    pub gaps: u64,
    pub lagged: u64,
    /// `error` answers from the server.
    pub errors: u64,
    /// Got its `subscribed` answer.
    pub subscribed: bool,
    /// Market data on the wire: payloads and WebSocket frame headers.
    pub wire_bytes: u64,
    /// Messages read before their `ts` by this machine's wall clock (the
    /// server's clock and the generator's disagree; counted as 1 us).
    pub negative_latencies: u64,
}

/// Per-connection sequence checking: last seq per stream.
#[derive(Default)]
struct SeqCheck {
    last: FxHashMap<u64, u64>,
}

/// What a watcher reads from each message.
struct Keys {
    kind: Key,
    symbol: Key,
    interval: Key,
    depth: Key,
    seq: Key,
    ts: Key,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    kind: Key::new(b"\"type\":\""),
    symbol: Key::new(b"\"symbol\":\""),
    interval: Key::new(b"\"interval\":\""),
    depth: Key::new(b"\"depth\":"),
    seq: Key::new(b"\"seq\":"),
    ts: Key::new(b"\"ts\":"),
});

impl SeqCheck {
    /// Records one market-data message; true if it skipped some seqs.
    fn gap(&mut self, kind: &[u8], text: &[u8], seq: u64) -> bool {
        let stream: &[u8] = match kind {
            b"book_snapshot" | b"book_update" => b"book",
            b"candles_snapshot" | b"candle" => b"candle",
            other => other,
        };
        let mut h = FxHasher::default();
        h.write(stream);
        h.write(KEYS.symbol.str_in(text).unwrap_or(b""));
        h.write(KEYS.interval.str_in(text).unwrap_or(b""));
        // A book view's depth (its interval is written above).
        h.write_u64(KEYS.depth.u64_in(text).unwrap_or(0));
        let snapshot = kind.ends_with(b"snapshot");
        match self.last.insert(h.finish(), seq) {
            // A ticker or candle may be sent again with the same seq.
            Some(previous) => !snapshot && seq != previous + 1 && seq != previous,
            None => false,
        }
    }

    /// After a `lagged` notice the streams restart from fresh state.
    fn reset(&mut self) {
        self.last.clear();
    }
}

pub async fn watcher(ctx: Arc<RunContext>, source: IpAddr, request: Arc<str>) -> WatchStats {
    let mut stats = WatchStats {
        connected: false,
        disconnected: false,
        messages: 0,
        bytes: 0,
        gaps: 0,
        lagged: 0,
        errors: 0,
        subscribed: false,
        negative_latencies: 0,
        wire_bytes: 0,
    };
    let mut settled = false;
    let settle = |settled: &mut bool| {
        if !*settled {
            *settled = true;
            ctx.live.settled.fetch_add(1, Relaxed);
        }
    };
    let mut client = match WsClient::connect(&ctx.dialer, source, &ctx.path).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "connection failed");
            settle(&mut settled);
            return stats;
        }
    };
    stats.connected = true;
    ctx.live.connected.fetch_add(1, Relaxed);
    client.queue_text(request.as_bytes());
    let mut stop = ctx.stop.clone();
    let mut seqs = SeqCheck::default();
    let mut open = true;
    while open {
        if client.flush().await.is_err() {
            stats.disconnected = true;
            break;
        }
        let read = tokio::select! {
            biased;
            _ = stop.changed() => break,
            read = client.fill() => read,
        };
        match read {
            Ok(n) if n > 0 => {}
            _ => {
                stats.disconnected = true;
                break;
            }
        }
        let now = Instant::now();
        let measuring = ctx.measuring(now);
        let received = now_ns();
        let (before, gaps_before, lagged_before) = (stats.messages, stats.gaps, stats.lagged);
        // One thread runs the generator, so this lock is not contended.
        let mut latency = ctx
            .latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let parsed = client.parse(|text| {
            let Some(kind) = KEYS.kind.str_in(text) else {
                return;
            };
            match kind {
                b"lagged" => {
                    stats.lagged += u64::from(measuring);
                    seqs.reset();
                    return;
                }
                b"subscribed" => {
                    stats.subscribed = true;
                    settle(&mut settled);
                }
                // A refused subscription (a limit, a bad name) counts, and
                // the window does not wait for it.
                b"error" => {
                    stats.errors += 1;
                    settle(&mut settled);
                }
                _ => {}
            }
            let (Some(seq), Some(ts)) = (KEYS.seq.u64_in(text), KEYS.ts.u64_in(text)) else {
                return;
            };
            let gap = seqs.gap(kind, text, seq);
            if !measuring {
                return;
            }
            stats.gaps += u64::from(gap);
            stats.messages += 1;
            stats.bytes += text.len() as u64;
            // A server frame's header: 2 bytes, 4 from 126 bytes, 10 from 64 KiB.
            let header = match text.len() {
                0..126 => 2,
                126..65536 => 4,
                _ => 10,
            };
            stats.wire_bytes += (text.len() + header) as u64;
            if !kind.ends_with(b"snapshot") {
                stats.negative_latencies += u64::from(received < ts);
                let micros = received.saturating_sub(ts) / 1_000;
                let _ = latency.record(micros.clamp(1, 60_000_000));
            }
        });
        drop(latency);
        match parsed {
            Ok(still_open) => open = still_open,
            Err(e) => {
                tracing::debug!(error = %e, "bad frame");
                open = false;
            }
        }
        let live = &ctx.live;
        live.messages.fetch_add(stats.messages - before, Relaxed);
        live.gaps.fetch_add(stats.gaps - gaps_before, Relaxed);
        live.lagged.fetch_add(stats.lagged - lagged_before, Relaxed);
        if !open {
            stats.disconnected = true;
        }
    }
    settle(&mut settled);
    if stats.disconnected {
        ctx.live.disconnects.fetch_add(1, Relaxed);
    } else {
        client.close().await;
    }
    stats
}

pub fn subscribe_request(options: &LoadOptions, symbols: &[String]) -> String {
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut view = String::new();
    if let Some(depth) = options.book_depth {
        view.push_str(&format!(",\"depth\":{depth}"));
    }
    if let Some(interval) = &options.book_interval {
        view.push_str(&format!(",\"interval\":\"{interval}\""));
    }
    format!(
        "{{\"op\":\"subscribe\",\"id\":\"load\",\"channels\":[{}],\"symbols\":[{}]{view}}}",
        quoted(&options.channels),
        quoted(symbols)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_gaps_are_per_stream() {
        let mut seqs = SeqCheck::default();
        let msg = |kind: &str, symbol: &str| format!(r#"{{"type":"{kind}","symbol":"{symbol}"}}"#);
        let (b, e) = (msg("book_update", "BTC-USD"), msg("book_update", "ETH-USD"));
        assert!(!seqs.gap(
            b"book_snapshot",
            msg("book_snapshot", "BTC-USD").as_bytes(),
            10
        ));
        assert!(!seqs.gap(b"book_update", b.as_bytes(), 11));
        assert!(
            !seqs.gap(b"book_update", e.as_bytes(), 500),
            "first of its stream"
        );
        assert!(seqs.gap(b"book_update", b.as_bytes(), 13), "12 was skipped");
        let t = msg("ticker", "BTC-USD");
        assert!(!seqs.gap(b"ticker", t.as_bytes(), 3));
        assert!(!seqs.gap(b"ticker", t.as_bytes(), 3), "a resent ticker");
        seqs.reset();
        assert!(!seqs.gap(b"book_update", b.as_bytes(), 90), "after lagged");
    }
}
