//! Cluster mode (`docs/cluster.md`): one engine and many gateways over
//! NATS. The engine (`engine`) publishes every market-data message it
//! sends its own subscribers, once, on the symbol's stream subject, and
//! answers gateways' requests for a symbol's state and for the instruments;
//! a gateway (`follower`) runs, per symbol, a task that follows the
//! symbol's subjects while anyone is interested: a `Replica` of the state
//! (the replay's) and the same `Hub` as every other source, so connections
//! and dialects do not change. What travels is named in `crate::bus`.

pub mod binance;
pub mod engine;
pub mod follower;
pub mod private;
pub mod publisher;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::metrics::BusMetrics;

/// A NATS connection that keeps trying to reconnect (forever: a gateway
/// outlives the bus) and keeps `metrics` told whether it is up.
pub async fn connect(
    url: &str,
    name: &str,
    metrics: Arc<BusMetrics>,
) -> std::io::Result<async_nats::Client> {
    let events = metrics.clone();
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        // Every request has its own deadline (`tokio::time::timeout`), some
        // longer than the client's default of 10 s (`--state-timeout-ms`).
        .request_timeout(None)
        .event_callback(move |event| {
            let metrics = events.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        metrics.connected.store(1, Relaxed);
                        tracing::info!("connected to NATS");
                    }
                    async_nats::Event::Disconnected => {
                        metrics.connected.store(0, Relaxed);
                        metrics.disconnects.fetch_add(1, Relaxed);
                        tracing::warn!("lost the connection to NATS; reconnecting");
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        })
        .connect(url)
        .await
        .map_err(|e| std::io::Error::other(format!("cannot connect to NATS at {url}: {e}")))?;
    if client.connection_state() == async_nats::connection::State::Connected {
        metrics.connected.store(1, Relaxed);
    }
    Ok(client)
}

/// The engine's instruments, asked over the bus (a gateway starts with
/// them). Waits up to `wait` for NATS and the engine to be there.
pub async fn fetch_instruments(
    url: &str,
    wait: std::time::Duration,
) -> std::io::Result<crate::instrument::Instruments> {
    let deadline = tokio::time::Instant::now() + wait;
    let client = tokio::time::timeout(wait, connect(url, "tickwire gateway start", Arc::default()))
        .await
        .map_err(|_| std::io::Error::other(format!("no NATS at {url} within {wait:?}")))??;
    loop {
        let asked = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            client.request(crate::bus::subjects::INSTRUMENTS, bytes::Bytes::new()),
        )
        .await;
        match asked {
            Ok(Ok(answer)) => {
                return crate::bus::instruments::decode(&answer.payload)
                    .map_err(std::io::Error::other);
            }
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(std::io::Error::other(format!(
                    "no engine answered on {url} within {wait:?} (is `tickwire engine --nats {url}` running?)"
                )));
            }
            _ => {
                tracing::info!("waiting for the engine on the bus");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    }
}

/// `/healthz`: healthy, and the body. Cluster mode adds the bus: whether
/// NATS is connected and (a gateway) whether the engine answers; either
/// down is unhealthy (HTTP 503), so a load balancer sends clients
/// elsewhere.
pub async fn health(shared: &super::shared::Shared) -> (bool, String) {
    // Live engines that stopped beating (stopped, or fallen behind).
    let behind = super::metrics::engines_behind(
        shared.clock.uptime_ms(),
        &shared.metrics.engine_beat_ms,
        shared.instruments.iter().map(|i| i.symbol.as_str()),
    );
    let (Some(config), Some(client)) = (&shared.config.bus, &shared.bus) else {
        let healthy = behind.is_empty();
        return (
            healthy,
            crate::encode::health_of(healthy, &shared.mode, None, &behind),
        );
    };
    let connected = shared.metrics.bus.is_connected();
    let (role, engine) = match config.role {
        super::BusRole::Engine => ("engine", connected),
        super::BusRole::Gateway => (
            "gateway",
            connected
                && tokio::time::timeout(
                    std::time::Duration::from_secs(1),
                    client.request(crate::bus::subjects::INSTRUMENTS, bytes::Bytes::new()),
                )
                .await
                .is_ok_and(|answer| answer.is_ok()),
        ),
    };
    let healthy = connected && engine && behind.is_empty();
    let cluster = Some((role, connected, engine));
    (
        healthy,
        crate::encode::health_of(healthy, &shared.mode, cluster, &behind),
    )
}

/// A gateway says it is alive every second until `stop` (the engine takes
/// the connections of a silent one for gone: their cancel-on-disconnect
/// orders are canceled).
pub async fn gateway_alive(
    client: async_nats::Client,
    id: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {
                let _ = client
                    .publish(crate::bus::subjects::GATEWAY_ALIVE, id.clone().into())
                    .await;
            }
        }
    }
}

/// Counts the engine's starts heard on the bus (`engine.started`), for the
/// followers: each one fetches its symbol's state again at a new count.
pub fn engine_starts(client: async_nats::Client) -> tokio::sync::watch::Receiver<u64> {
    let (tx, rx) = tokio::sync::watch::channel(0u64);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let Ok(mut started) = client.subscribe(crate::bus::subjects::ENGINE_STARTED).await else {
            return;
        };
        while started.next().await.is_some() {
            tracing::info!("the engine (re)started: following symbols fetch their state again");
            tx.send_modify(|n| *n += 1);
        }
    });
    rx
}
