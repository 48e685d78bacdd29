//! `tickwire loadgen`: many WebSocket connections that subscribe and read,
//! measuring delivered messages and bytes, publish-to-receive latency from
//! each message's `ts`, `seq` gaps, `lagged` notices and disconnects.
//!
//! Open loop: the connections only read, as fast as they can; they never
//! make the server wait on them. Each connection scans its messages for
//! `type`, `symbol`, `seq` and `ts` without building a JSON tree, so the
//! generator stays cheap; its own CPU time is reported, so a run that the
//! generator (not the server) limited says so.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpSocket;
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub url: String,
    pub connections: usize,
    pub symbols: Vec<String>,
    pub channels: Vec<String>,
    pub duration: Duration,
    /// Connections are opened evenly over this time.
    pub ramp: Duration,
}

/// What one run measured.
#[derive(Debug)]
pub struct LoadReport {
    pub connections: usize,
    pub connected: usize,
    pub seconds: f64,
    pub messages: u64,
    pub bytes: u64,
    pub gaps: u64,
    pub lagged: u64,
    pub disconnects: u64,
    /// Publish-to-receive latency, microseconds.
    pub latency: Histogram<u64>,
    /// CPU seconds the generator itself used.
    pub cpu_seconds: f64,
}

impl LoadReport {
    pub fn messages_per_sec(&self) -> f64 {
        self.messages as f64 / self.seconds.max(1e-9)
    }

    /// The generator's CPU use, in cores.
    pub fn cpu_cores(&self) -> f64 {
        self.cpu_seconds / self.seconds.max(1e-9)
    }

    pub fn to_json(&self) -> String {
        let q = |p: f64| self.latency.value_at_quantile(p);
        format!(
            "{{\"connections\":{},\"connected\":{},\"seconds\":{:.3},\"messages\":{},\"bytes\":{},\"messages_per_sec\":{:.0},\"bytes_per_sec\":{:.0},\"messages_per_sec_per_connection\":{:.1},\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{}}},\"seq_gaps\":{},\"lagged\":{},\"disconnects\":{},\"loadgen_cpu_cores\":{:.2}}}",
            self.connections,
            self.connected,
            self.seconds,
            self.messages,
            self.bytes,
            self.messages_per_sec(),
            self.bytes as f64 / self.seconds.max(1e-9),
            self.messages_per_sec() / self.connected.max(1) as f64,
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            self.latency.max(),
            self.gaps,
            self.lagged,
            self.disconnects,
            self.cpu_cores()
        )
    }

    pub fn to_table(&self) -> String {
        let q = |p: f64| self.latency.value_at_quantile(p);
        let mut text = String::new();
        text.push_str(&format!(
            "connections          {} of {}\n",
            self.connected, self.connections
        ));
        text.push_str(&format!("duration             {:.2} s\n", self.seconds));
        text.push_str(&format!(
            "delivered            {:.0} msgs/s ({:.1} per connection), {:.1} MB/s\n",
            self.messages_per_sec(),
            self.messages_per_sec() / self.connected.max(1) as f64,
            self.bytes as f64 / self.seconds.max(1e-9) / 1e6
        ));
        text.push_str(&format!(
            "latency (ts to read) p50 {} us, p90 {} us, p99 {} us, p99.9 {} us, max {} us\n",
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            self.latency.max()
        ));
        text.push_str(&format!(
            "integrity            {} seq gaps, {} lagged notices, {} disconnects\n",
            self.gaps, self.lagged, self.disconnects
        ));
        let limited = if self.cpu_cores() > 0.9 {
            " (the generator was busy: it may be the bottleneck)"
        } else {
            ""
        };
        text.push_str(&format!(
            "loadgen CPU          {:.2} cores{limited}\n",
            self.cpu_cores()
        ));
        text
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The number after `"key":` in a message, without parsing the rest.
fn field_u64(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The string after `"key":"` in a message.
fn field_str<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let rest = &text[at..];
    rest.find('"').map(|end| &rest[..end])
}

/// This process's CPU seconds so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct ConnectionResult {
    connected: bool,
    messages: u64,
    bytes: u64,
    gaps: u64,
    lagged: u64,
    disconnected: bool,
    latency: Histogram<u64>,
}

/// Opens one connection from `source`, subscribes, and reads until `end`.
async fn one_connection(options: &LoadOptions, source: IpAddr, end: Instant) -> ConnectionResult {
    let mut result = ConnectionResult {
        connected: false,
        messages: 0,
        bytes: 0,
        gaps: 0,
        lagged: 0,
        disconnected: false,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
    };
    let Some(target) = options
        .url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
    else {
        return result;
    };
    let Ok(target) = target.parse::<SocketAddr>() else {
        return result;
    };
    let Ok(socket) = TcpSocket::new_v4() else {
        return result;
    };
    if socket.bind(SocketAddr::new(source, 0)).is_err() {
        return result;
    }
    let Ok(stream) = socket.connect(target).await else {
        return result;
    };
    let _ = stream.set_nodelay(true);
    let Ok((mut ws, _)) = client_async(options.url.as_str(), stream).await else {
        return result;
    };
    result.connected = true;
    let channels: Vec<String> = options
        .channels
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    let symbols: Vec<String> = options.symbols.iter().map(|s| format!("\"{s}\"")).collect();
    let request = format!(
        "{{\"op\":\"subscribe\",\"channels\":[{}],\"symbols\":[{}]}}",
        channels.join(","),
        symbols.join(",")
    );
    if ws.send(Message::Text(request.into())).await.is_err() {
        result.disconnected = true;
        return result;
    }
    let mut last_seq: HashMap<(String, String), u64> = HashMap::new();
    loop {
        let next = tokio::time::timeout_at(end.into(), ws.next()).await;
        let message = match next {
            Err(_) => break,
            Ok(Some(Ok(message))) => message,
            Ok(_) => {
                result.disconnected = true;
                break;
            }
        };
        let Message::Text(text) = message else {
            continue;
        };
        let received = now_ns();
        let text = text.as_str();
        let Some(kind) = field_str(text, "\"type\":\"") else {
            continue;
        };
        if kind == "lagged" {
            result.lagged += 1;
            continue;
        }
        let (Some(seq), Some(ts)) = (field_u64(text, "\"seq\":"), field_u64(text, "\"ts\":"))
        else {
            continue;
        };
        result.messages += 1;
        result.bytes += text.len() as u64;
        let stream = match kind {
            "book_snapshot" | "book_update" => "book",
            "candles_snapshot" | "candle" => "candle",
            other => other,
        };
        let symbol = field_str(text, "\"symbol\":\"").unwrap_or("");
        let interval = field_str(text, "\"interval\":\"").unwrap_or("");
        let key = (format!("{stream}{interval}"), symbol.to_string());
        let snapshot = kind.ends_with("snapshot");
        if let Some(previous) = last_seq.insert(key, seq)
            && !snapshot
            && seq != previous + 1
            && !(stream == "ticker" && seq == previous)
        {
            result.gaps += 1;
        }
        if !snapshot {
            let micros = received.saturating_sub(ts) / 1_000;
            let _ = result.latency.record(micros.clamp(1, 60_000_000));
        }
    }
    result
}

/// Runs the load and reports what it saw.
pub async fn run(options: LoadOptions) -> LoadReport {
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let end = started + options.ramp + options.duration;
    let mut tasks = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        // Source addresses 127.0.0.1 to 127.0.0.250, so that many
        // connections do not run out of ephemeral ports.
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8));
        let delay = options
            .ramp
            .mul_f64(i as f64 / options.connections.max(1) as f64);
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            one_connection(&options, source, end).await
        }));
    }
    let mut report = LoadReport {
        connections: options.connections,
        connected: 0,
        seconds: 0.0,
        messages: 0,
        bytes: 0,
        gaps: 0,
        lagged: 0,
        disconnects: 0,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
        cpu_seconds: 0.0,
    };
    for task in tasks {
        let Ok(result) = task.await else { continue };
        report.connected += usize::from(result.connected);
        report.messages += result.messages;
        report.bytes += result.bytes;
        report.gaps += result.gaps;
        report.lagged += result.lagged;
        report.disconnects += u64::from(result.disconnected);
        let _ = report.latency.add(&result.latency);
    }
    report.seconds = started.elapsed().as_secs_f64() - options.ramp.as_secs_f64() / 2.0;
    report.cpu_seconds = cpu_seconds() - cpu_before;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_without_parsing() {
        let text =
            r#"{"type":"book_update","symbol":"BTC-USD","seq":42,"ts":1767225600000,"bids":[]}"#;
        assert_eq!(field_str(text, "\"type\":\""), Some("book_update"));
        assert_eq!(field_str(text, "\"symbol\":\""), Some("BTC-USD"));
        assert_eq!(field_u64(text, "\"seq\":"), Some(42));
        assert_eq!(field_u64(text, "\"ts\":"), Some(1_767_225_600_000));
        assert_eq!(field_u64(text, "\"nope\":"), None);
    }
}
