//! Responses to requests and the connection-level notices (`lagged`,
//! `shutdown`): one connection's own messages, not shared market data.

use std::fmt::Write as _;

use tungstenite::Utf8Bytes;

use super::frame;
use crate::error_code::ErrorCode;
use crate::instrument::Instruments;
use crate::json;
use crate::protocol::{Channel, Mode, RequestId};
use crate::types::UnixNanos;

fn open(out: &mut String, kind: &str, id: &RequestId) {
    let _ = write!(out, "{{\"type\":\"{kind}\"");
    if let Some(id) = id {
        let _ = write!(out, ",\"id\":{id}");
    }
}

/// `{"channel":"book","symbol":"BTC-USD"}`, with `"interval"` for candles,
/// `"depth"` and `"interval"` for a view of the book.
fn push_stream(out: &mut String, channel: Channel, symbol: &str) {
    let _ = write!(
        out,
        "{{\"channel\":\"{}\",\"symbol\":\"{symbol}\"",
        channel.name()
    );
    match channel {
        Channel::Candles(interval) => {
            let _ = write!(out, ",\"interval\":\"{}\"", interval.as_str());
        }
        Channel::BookView(view) => {
            if let Some(depth) = view.depth {
                let _ = write!(out, ",\"depth\":{}", depth.levels());
            }
            if let Some(throttle) = view.throttle {
                let _ = write!(out, ",\"interval\":\"{}\"", throttle.as_str());
            }
        }
        _ => {}
    }
    out.push('}');
}

fn push_streams<'a>(out: &mut String, streams: impl IntoIterator<Item = (Channel, &'a str)>) {
    out.push('[');
    for (i, (channel, symbol)) in streams.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_stream(out, channel, symbol);
    }
    out.push(']');
}

/// `subscribed` or `unsubscribed` with the connection's whole set of
/// subscriptions afterwards.
pub fn subscriptions<'a>(
    kind: &str,
    id: &RequestId,
    streams: impl IntoIterator<Item = (Channel, &'a str)>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open(&mut out, kind, id);
    out.push_str(",\"subscriptions\":");
    push_streams(&mut out, streams);
    out.push('}');
    frame(out)
}

/// `error`; `op` is the request's op when it had a readable one.
pub fn error(
    id: &RequestId,
    op: Option<&str>,
    code: ErrorCode,
    message: &str,
    retry_after_ms: Option<u64>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(128 + message.len());
    open(&mut out, "error", id);
    out.push_str(",\"op\":");
    match op {
        Some(op) => json::push_str(&mut out, op),
        None => out.push_str("null"),
    }
    let _ = write!(out, ",\"code\":\"{code}\",\"message\":");
    json::push_str(&mut out, message);
    if let Some(ms) = retry_after_ms {
        let _ = write!(out, ",\"retry_after_ms\":{ms}");
    }
    out.push('}');
    frame(out)
}

fn push_mode(out: &mut String, mode: &Mode) {
    match mode {
        Mode::Live => out.push_str(",\"mode\":\"live\""),
        Mode::Replay { file, speed, paper } => {
            let mode = if *paper { "replay-paper" } else { "replay" };
            let _ = write!(out, ",\"mode\":\"{mode}\",\"file\":");
            json::push_str(out, file);
            out.push_str(",\"speed\":");
            json::push_str(out, speed);
        }
    }
}

/// The `instruments` response (also the body of `GET /api/instruments`,
/// without an id).
pub fn instruments(id: &RequestId, instruments: &Instruments, mode: &Mode) -> Utf8Bytes {
    let mut out = String::with_capacity(256 * (instruments.len() + 1));
    open(&mut out, "instruments", id);
    push_mode(&mut out, mode);
    out.push_str(",\"instruments\":[");
    for (i, ins) in instruments.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"symbol\":\"{}\",\"tick_size\":\"{}\",\"lot_size\":\"{}\",\"price_decimals\":{},\"qty_decimals\":{},\"max_qty\":\"{}\",\"band\":\"{}\"}}",
            ins.symbol,
            ins.tick_size,
            ins.lot_size,
            ins.price_decimals,
            ins.qty_decimals,
            ins.format_qty(ins.max_qty),
            ins.band
        );
    }
    out.push_str("]}");
    frame(out)
}

/// The `/healthz` body: `ok`, and the mode.
pub fn health(mode: &Mode) -> String {
    health_of(true, mode, None, &[])
}

/// The `/healthz` body: `ok` or `unhealthy`, the mode, and a cluster
/// process's role and whether it reaches the bus and the engine; the
/// symbols whose engine has stopped or fallen behind (`behind`).
pub fn health_of(
    healthy: bool,
    mode: &Mode,
    cluster: Option<(&str, bool, bool)>,
    behind: &[&str],
) -> String {
    let status = if healthy { "ok" } else { "unhealthy" };
    let mut out = format!("{{\"status\":\"{status}\"");
    push_mode(&mut out, mode);
    if let Some((role, bus, engine)) = cluster {
        let _ = write!(
            out,
            ",\"cluster\":{{\"role\":\"{role}\",\"bus\":{bus},\"engine\":{engine}}}"
        );
    }
    if !behind.is_empty() {
        out.push_str(",\"engines_behind\":[");
        for (i, symbol) in behind.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::push_str(&mut out, symbol);
        }
        out.push(']');
    }
    out.push('}');
    out
}

pub fn pong(id: &RequestId, ts: UnixNanos) -> Utf8Bytes {
    let mut out = String::with_capacity(64);
    open(&mut out, "pong", id);
    let _ = write!(out, ",\"ts\":{ts}}}");
    frame(out)
}

/// The answer to `faults`: the schedule now set (empty: none) and its
/// seed.
pub fn faults(id: &RequestId, spec: &str, seed: u64) -> Utf8Bytes {
    let mut out = String::with_capacity(64 + spec.len());
    open(&mut out, "faults", id);
    out.push_str(",\"spec\":");
    json::push_str(&mut out, spec);
    let _ = write!(out, ",\"seed\":{seed}}}");
    frame(out)
}

/// `lagged`: how many market-data messages were dropped, and from which
/// streams.
pub fn lagged<'a>(
    dropped: u64,
    streams: impl IntoIterator<Item = (Channel, &'a str)>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "{{\"type\":\"lagged\",\"dropped\":{dropped},\"streams\":"
    );
    push_streams(&mut out, streams);
    out.push('}');
    frame(out)
}

pub fn shutdown(ts: UnixNanos) -> Utf8Bytes {
    frame(format!("{{\"type\":\"shutdown\",\"ts\":{ts}}}"))
}
