//! The processes of an end-to-end run: servers (tickwire and its peers),
//! pinned to core 0, and the load generator, pinned to core 1 (or, in
//! scenario 7, a server given two cores: see `Placement`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The servers compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tickwire,
    NodeWs,
    /// The chat example's shape, stamping and encoding once per message.
    NaiveRust,
    /// The same, encoding once per subscriber (a first version).
    NaivePerSubscriber,
}

impl Kind {
    /// The servers of every comparison.
    pub const ALL: [Kind; 3] = [Kind::Tickwire, Kind::NodeWs, Kind::NaiveRust];
    /// With the encode-per-subscriber variant (scenario 1 only).
    pub const EVERY: [Kind; 4] = [
        Kind::Tickwire,
        Kind::NodeWs,
        Kind::NaiveRust,
        Kind::NaivePerSubscriber,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Tickwire => "tickwire",
            Kind::NodeWs => "Node ws",
            Kind::NaiveRust => "naive Rust",
            Kind::NaivePerSubscriber => "naive Rust, encode per subscriber",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Kind::Tickwire => "tickwire",
            Kind::NodeWs => "node-ws",
            Kind::NaiveRust => "naive-rust",
            Kind::NaivePerSubscriber => "naive-rust-per-subscriber",
        }
    }
}

/// Which cores the server and the generator run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The server on core 0, the generator on core 1.
    OneCore,
    /// The server on cores 0 and 1; the generator on the cores after them,
    /// or, on a machine of two cores, on the same two (then they compete).
    TwoCores,
}

impl Placement {
    fn cores(self) -> (String, String) {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        match self {
            Placement::OneCore => ("0".into(), "1".into()),
            Placement::TwoCores if count >= 3 => ("0,1".into(), format!("2-{}", count - 1)),
            Placement::TwoCores => ("0,1".into(), "0,1".into()),
        }
    }

    /// Says where each runs, for the report.
    pub fn describe(self) -> String {
        let (server, generator) = self.cores();
        let cores = |list: &str| {
            let word = if list.contains([',', '-']) {
                "cores"
            } else {
                "core"
            };
            format!("{word} {list}")
        };
        format!(
            "server on {}, generator on {}",
            cores(&server),
            cores(&generator)
        )
    }
}

/// Where things are: binaries, the Node peer, the output directory.
pub struct Paths {
    pub tickwire: PathBuf,
    pub naive_peer: PathBuf,
    pub node_peer: PathBuf,
    pub out: PathBuf,
    /// Pin with taskset (two or more cores and taskset present).
    pub pin: bool,
}

impl Paths {
    pub fn find() -> Result<Paths, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/<profile>/deps/e2e-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("cannot locate the target directory")?;
        let target = profile_dir.parent().ok_or("cannot locate target/")?;
        let paths = Paths {
            tickwire: PathBuf::from(env!("CARGO_BIN_EXE_tickwire")),
            naive_peer: profile_dir.join("examples").join("naive-peer"),
            node_peer: root.join("benches/peers/node-ws"),
            out: target.join("bench"),
            pin: std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
                && Command::new("taskset")
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success()),
        };
        if !paths.naive_peer.exists() {
            // target/<dir>: the dev profile's directory is `debug`.
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => "dev",
                Some(name) => name,
                None => "release",
            };
            return Err(format!(
                "{} is missing: build it with `cargo build --profile {profile} --example naive-peer` (benches/run.sh and .ci/test do)",
                paths.naive_peer.display()
            ));
        }
        if !paths.node_peer.join("node_modules/ws").exists() {
            return Err(
                "the Node peer's `ws` package is missing: run `npm ci --prefix benches/peers/node-ws` (benches/run.sh and .ci/test do)"
                    .into(),
            );
        }
        std::fs::create_dir_all(paths.out.join("logs")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(paths.out.join("feeds")).map_err(|e| e.to_string())?;
        Ok(paths)
    }

    fn pinned(&self, cores: &str, program: &Path) -> Command {
        if self.pin {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cores).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn log(&self, name: &str) -> Stdio {
        std::fs::File::create(self.out.join("logs").join(format!("{name}.log")))
            .map_or(Stdio::null(), Stdio::from)
    }

    /// A recording for the peers to play: `tickwire simulate` at `scale`.
    pub fn feed(&self, scale: f64, seconds: u64) -> Result<PathBuf, String> {
        let file = self
            .out
            .join("feeds")
            .join(format!("seed42-x{scale}-{seconds}s.jsonl"));
        if file.exists() {
            return Ok(file);
        }
        let status = Command::new(&self.tickwire)
            .args(["simulate", "--seed", "42", "--rate-scale"])
            .arg(scale.to_string())
            .arg("--duration")
            .arg(format!("{seconds}s"))
            .arg("--out")
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("tickwire simulate failed for scale {scale}"));
        }
        Ok(file)
    }

    /// Starts a server on 127.0.0.1:0, pinned as `placement` says.
    pub fn start(
        &self,
        kind: Kind,
        scale: f64,
        feed: &Path,
        (extra, placement): (&[String], Placement),
        log: &str,
    ) -> Result<Server, String> {
        let cores = placement.cores().0;
        let mut command = match kind {
            Kind::Tickwire => {
                let mut c = self.pinned(&cores, &self.tickwire);
                // The peers keep nothing either: the fan-out is compared,
                // not the journal (the orders bench measures that).
                c.args([
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--seed",
                    "42",
                    "--ephemeral",
                ])
                .arg("--rate-scale")
                .arg(scale.to_string())
                .args(["--max-connections", "30000"])
                .args(["--requests-per-sec", "100000", "--request-burst", "100000"])
                .args(extra)
                .env("RUST_LOG", "warn");
                c
            }
            Kind::NodeWs => {
                let node = which("node").ok_or("node is not installed")?;
                let mut c = self.pinned(&cores, &node);
                c.arg(self.node_peer.join("server.js"))
                    .arg("--feed")
                    .arg(feed)
                    .args(["--listen", "127.0.0.1:0"]);
                c
            }
            Kind::NaiveRust | Kind::NaivePerSubscriber => {
                let mut c = self.pinned(&cores, &self.naive_peer);
                c.arg("--feed").arg(feed).args(["--listen", "127.0.0.1:0"]);
                if kind == Kind::NaivePerSubscriber {
                    c.arg("--encode-per-subscriber");
                }
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(self.log(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut server = Server {
            child,
            pid,
            addr: String::new(),
        };
        // The address is on stdout; keep draining it afterwards.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let addr = line
                    .split("ws://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .or_else(|| line.strip_prefix("listening on "));
                if let Some(addr) = addr {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        server.addr = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| format!("{} did not say where it listens", kind.name()))?;
        Ok(server)
    }

    /// When a peer said its feed ran out (Unix ns), from its log.
    pub fn feed_ran_out(&self, log: &str) -> Option<u64> {
        let text =
            std::fs::read_to_string(self.out.join("logs").join(format!("{log}.log"))).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("the feed ran out at "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Runs the load generator (pinned as `placement` says) and returns its
    /// JSON report.
    pub fn loadgen(
        &self,
        server: &Server,
        (args, placement): (&[String], Placement),
        log: &str,
    ) -> Result<Load, String> {
        let mut command = self.pinned(&placement.cores().1, &self.tickwire);
        command
            .arg("loadgen")
            .arg("--url")
            .arg(format!("ws://{}/ws", server.addr))
            .args(["--json", "--quiet", "--server-pid"])
            .arg(server.pid.to_string())
            .args(args)
            .env("RUST_LOG", "warn");
        let output = command
            .stderr(self.log(log))
            .output()
            .map_err(|e| format!("cannot run the load generator: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!("loadgen failed ({}): {text}", output.status));
        }
        let json = serde_json::from_str(text.trim())
            .map_err(|e| format!("loadgen printed no JSON ({e}): {text}"))?;
        Ok(Load { json })
    }
}

/// Messages per second a recording offers one connection subscribed to
/// `channels` of `symbols` (comma-separated).
pub fn offered_rate(feed: &Path, symbols: &str, channels: &str) -> Result<f64, String> {
    let wanted: std::collections::HashSet<String> = channels
        .split(',')
        .flat_map(|c| symbols.split(',').map(move |s| format!("{c}:{s}")))
        .collect();
    let file = std::fs::File::open(feed).map_err(|e| format!("{}: {e}", feed.display()))?;
    let (mut count, mut first, mut last) = (0u64, None, 0u64);
    // Entries are `{"ts":N,"stream":"S","msg":...}` (or "snapshot").
    for line in BufReader::new(file).lines().skip(1) {
        let line = line.map_err(|e| format!("{}: {e}", feed.display()))?;
        let Some(rest) = line.strip_prefix("{\"ts\":") else {
            continue;
        };
        let Some((ts, rest)) = rest.split_once(",\"stream\":\"") else {
            continue;
        };
        if let Ok(ts) = ts.parse::<u64>() {
            first.get_or_insert(ts);
            last = ts;
        }
        if let Some((stream, rest)) = rest.split_once('"')
            && rest.starts_with(",\"msg\"")
            && wanted.contains(stream)
        {
            count += 1;
        }
    }
    let seconds = last.saturating_sub(first.unwrap_or(last)) as f64 / 1e9;
    Ok(count as f64 / seconds.max(1e-9))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: String,
}

impl Server {
    /// The server's exit status if it has stopped (a peer whose feed ran
    /// out exits with 3).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One load generator report.
#[derive(Clone, Debug)]
pub struct Load {
    pub json: serde_json::Value,
}

impl Load {
    pub fn f(&self, path: &[&str]) -> f64 {
        let mut v = &self.json;
        for key in path {
            v = &v[*key];
        }
        v.as_f64().unwrap_or(f64::NAN)
    }

    pub fn delivered(&self) -> f64 {
        self.f(&["messages_per_sec"])
    }

    /// Latency percentile in milliseconds ("p50", "p99", ...).
    pub fn latency_ms(&self, p: &str) -> f64 {
        self.f(&["latency_us", p]) / 1000.0
    }

    pub fn problems(&self) -> u64 {
        (self.f(&["seq_gaps"]) + self.f(&["lagged"]) + self.f(&["disconnects"])) as u64
    }

    /// Connections that never got an answer, or got an error.
    pub fn unanswered(&self) -> u64 {
        (self.f(&["unsettled"]) + self.f(&["errors"])) as u64
    }

    pub fn loadgen_bound(&self) -> bool {
        self.json["loadgen_bound"].as_bool().unwrap_or(false)
    }
}

/// The open-file limit (soft) of this process, which children inherit.
pub fn open_file_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

/// The CPU model, for the table's heading.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
