//! Replay throughput at `--max-speed`: a simulated recording replayed into 1
//! subscriber and into 100 (each subscribed to every stream of every
//! symbol), in market-data messages delivered per second (responses not
//! counted; a subscriber that lags fails the run); and `simulate` itself,
//! in events per second.
//!
//! ```text
//! cargo bench --bench replay
//! ```
//!
//! Server and clients share this process and the machine's cores.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tickwire::gateway::{self, Config, ReplayOptions};
use tickwire::instrument::Instruments;
use tickwire::record::{self, RecordWriter, SimulateOptions};
use tickwire::types::NANOS_PER_SEC;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const SECONDS: u64 = 60;
const SCALE: f64 = 10.0;

fn main() {
    let dir = std::env::temp_dir().join(format!("tickwire-bench-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bench.jsonl.zst");
    let instruments = Instruments::embedded_default()
        .with_rate_scale(SCALE)
        .expect("scale");
    let options = SimulateOptions {
        scenario: None,
        instruments: instruments.clone(),
        seed: 1,
        duration_ns: SECONDS * NANOS_PER_SEC,
        start: 1_767_225_600 * NANOS_PER_SEC,
        snapshot_every_s: 10,
    };
    let mut writer = RecordWriter::create(&file).expect("create");
    let started = Instant::now();
    let stats = record::simulate(&options, &mut writer, |_| {}).expect("simulate");
    drop(writer);
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "simulate: {} events ({} messages, {SECONDS} simulated s at rate scale {SCALE}) in {elapsed:.2} s = {:.0} events/s",
        stats.events,
        stats.messages,
        stats.events as f64 / elapsed
    );
    for subscribers in [1usize, 100] {
        let delivered = replay_into(&file, &instruments, subscribers);
        println!(
            "replay --max-speed into {subscribers} subscriber(s): {} messages in {:.2} s = {:.0} delivered/s ({:.0} replayed/s)",
            delivered.0,
            delivered.1,
            delivered.0 as f64 / delivered.1,
            delivered.0 as f64 / delivered.1 / subscribers as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replays the file into `n` subscribers; returns messages received in all
/// and the seconds from the start to the last `replay_end`.
fn replay_into(file: &std::path::Path, instruments: &Instruments, n: usize) -> (u64, f64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut config = Config::new(instruments.clone(), 0);
        config.lag.budget = 64 << 20;
        config.replay = Some(ReplayOptions {
            file: file.to_path_buf(),
            speed: None,
            from: None,
            to: None,
            paper: false,
        repeat: false,
            wait_for: n,
            opened: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(gateway::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        let mut clients = Vec::new();
        for _ in 0..n {
            let (mut ws, _) = connect_async(url.as_str()).await.expect("connect");
            let subscribe = r#"{"op":"subscribe","channels":["book","trades","ticker","candles","heartbeat"],"symbols":["BTC-USD","ETH-USD","SOL-USD","AAPL"]}"#;
            ws.send(Message::Text(subscribe.into())).await.expect("send");
            clients.push(ws);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for mut ws in clients {
            tasks.push(tokio::spawn(async move {
                // Market data only (the `subscribed` answer is not a
                // delivered message); a `lagged` notice means the figure
                // counts a replay that dropped data, so the run fails.
                let (mut count, mut lagged) = (0u64, 0u64);
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        if text.starts_with("{\"type\":\"replay_end\"") {
                            break;
                        }
                        if text.starts_with("{\"type\":\"lagged\"") {
                            lagged += 1;
                        } else if text.contains("\"seq\":") && !text.starts_with("{\"type\":\"subscribed\"") {
                            count += 1;
                        }
                    }
                }
                (count, lagged)
            }));
        }
        let (mut total, mut lagged) = (0, 0);
        for task in tasks {
            let (count, lags) = task.await.expect("client");
            total += count;
            lagged += lags;
        }
        assert_eq!(lagged, 0, "a subscriber lagged: the replay dropped data, so no figure");
        let elapsed = started.elapsed().as_secs_f64();
        let _ = stop.send(());
        let _ = server.await;
        (total, elapsed)
    })
}
