//! Server-side measures taken during a load run: CPU and resident memory
//! from `/proc/PID` (any server: tickwire or a peer), and tickwire's own
//! counters from its `/metrics`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::dial::Dialer;

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
    /// User + system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}

/// Reads `/proc/PID/stat` and `/proc/PID/status`; `pid` 0 is this process.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let dir = if pid == 0 {
        "/proc/self".to_string()
    } else {
        format!("/proc/{pid}")
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The command name (field 2) may hold spaces; count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS_PER_SEC;
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(ProcSample {
        cpu_seconds,
        rss_bytes: rss_kib * 1024,
    })
}

/// A value from a Prometheus text body (`name value` lines).
pub fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// `GET /metrics` from the server; None when it has none (a peer) or does
/// not answer within a second.
pub async fn fetch_metrics(server: SocketAddr) -> Option<String> {
    let get = async { get_metrics(TcpStream::connect(server).await.ok()?, server).await };
    tokio::time::timeout(Duration::from_secs(1), get)
        .await
        .ok()
        .flatten()
}

/// The same through the run's dialer (https for a `wss://` run).
pub(super) async fn fetch_metrics_via(dialer: &Dialer) -> Option<String> {
    let get = async {
        let source = dialer.target.ip();
        get_metrics(dialer.open(source).await.ok()?, dialer.target).await
    };
    tokio::time::timeout(Duration::from_secs(1), get)
        .await
        .ok()
        .flatten()
}

async fn get_metrics(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    server: SocketAddr,
) -> Option<String> {
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify: all was read.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(_) => return None,
    }
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample(0).expect("/proc/self");
        assert!(s.rss_bytes > 1 << 20, "{s:?}");
        assert!(s.cpu_seconds >= 0.0);
        assert_eq!(sample(u32::MAX), None, "no such process");
    }

    #[test]
    fn metrics_are_read_by_name() {
        let body = "# HELP x\ntickwire_connections 12\ntickwire_connections_opened_total 40\n";
        assert_eq!(metric(body, "tickwire_connections"), Some(12.0));
        assert_eq!(
            metric(body, "tickwire_connections_opened_total"),
            Some(40.0)
        );
        assert_eq!(metric(body, "tickwire_nope"), None);
    }
}
