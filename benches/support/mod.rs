//! What the process-level benches share: processes pinned to a core and
//! killed when dropped, free ports, waiting for a listener, and the p99
//! of a server histogram between two readings of `/metrics`, the median
//! of repeated measures.
// Each bench uses part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed when dropped (also when the bench fails).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `program` on `core` (taskset), quiet.
pub fn pinned(core: &str, program: &str, args: &[String]) -> Proc {
    let child = Command::new("taskset")
        .args(["-c", core, program])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskset (util-linux) and the program");
    Proc(child)
}

/// A histogram's cumulative buckets: (upper bound in s, count).
pub fn buckets(body: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    body.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The p99 (upper bound of its bucket, ms) of what was observed between
/// two readings of a histogram.
pub fn interval_p99(before: &[(f64, f64)], now: &[(f64, f64)]) -> f64 {
    let delta: Vec<(f64, f64)> = now
        .iter()
        .enumerate()
        .map(|(i, &(le, n))| (le, n - before.get(i).map_or(0.0, |b| b.1)))
        .collect();
    let Some(&(_, total)) = delta.last() else {
        return 0.0;
    };
    if total <= 0.0 {
        return 0.0;
    }
    let want = total * 0.99;
    delta
        .iter()
        .find(|(_, n)| *n >= want)
        .map_or(
            0.0,
            |(le, _)| if le.is_finite() { le * 1e3 } else { f64::NAN },
        )
}

/// The median of a bench's repeated measures (the upper one of an even
/// count; NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
