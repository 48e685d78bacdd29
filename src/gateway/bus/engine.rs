//! The engine's answers to gateways: a symbol's state (`state.<symbol>`,
//! from the symbol's task at the point of its streams), the instruments
//! (`engine.instruments`), and its clients' trading requests
//! (`trade.<symbol>`, `account`), carried out by a socketless connection
//! of the account (`connection::forwarded`) so they meet every check, the
//! journal before the answer, and the same answers. Every private event of
//! every account goes out on `private.<account>`. The Binance dialect's
//! signed requests are answered by `binance`. Its market data goes out
//! through `publisher`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};

use super::binance;
use crate::bus::forward::{self, Forwarded};
use crate::bus::subjects;
use crate::gateway::commands::{StreamCommand, SymbolCommand};
use crate::gateway::connection::{forwarded as forwarded_request, forwarded_disconnect};
use crate::gateway::shared::Shared;

/// Answers gateways until `stop`: a symbol's state (from its task, at the
/// point of its streams) and the instruments.
pub async fn answer_requests(
    client: async_nats::Client,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let subscribed = async {
        Ok::<_, async_nats::SubscribeError>((
            client.subscribe("state.*").await?,
            client.subscribe(subjects::INSTRUMENTS).await?,
            client.subscribe("trade.*").await?,
            client.subscribe(subjects::ACCOUNT).await?,
            client.subscribe(subjects::BINANCE_REST).await?,
            client.subscribe(subjects::BINANCE_API).await?,
            client.subscribe(subjects::GATEWAY_ALIVE).await?,
            client.subscribe(subjects::GATEWAY_DISCONNECTED).await?,
        ))
    };
    let subscriptions = match subscribed.await {
        Ok(subscriptions) => subscriptions,
        Err(e) => {
            tracing::error!(error = %e, "cannot take gateways' requests");
            return;
        }
    };
    let (mut states, mut instruments, mut trades, mut accounts) = (
        subscriptions.0,
        subscriptions.1,
        subscriptions.2,
        subscriptions.3,
    );
    let (mut binance_rest, mut binance_api, mut alive, mut gone) = (
        subscriptions.4,
        subscriptions.5,
        subscriptions.6,
        subscriptions.7,
    );
    let users = Arc::new(binance::UserPublishers::new(
        client.clone(),
        stop.clone(),
        shared.accounts.len(),
    ));
    let instance = format!("{:016x}", rand::random::<u64>());
    let _ = client
        .publish(subjects::ENGINE_STARTED, Bytes::from(instance))
        .await;
    let origins = Arc::new(Origins::default());
    let mut silence = tokio::time::interval(std::time::Duration::from_secs(1));
    for account in 0..shared.accounts.len() {
        tokio::spawn(publish_private(
            client.clone(),
            shared.clone(),
            account,
            stop.clone(),
        ));
    }
    let listed = Bytes::from(crate::bus::instruments::encode(&shared.instruments));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            Some(request) = instruments.next() => {
                if let Some(reply) = request.reply {
                    let _ = client.publish(reply, listed.clone()).await;
                }
            }
            Some(request) = trades.next() => {
                let symbol = request.subject.as_str().strip_prefix("trade.").unwrap_or("");
                let symbol = shared.symbol_id(symbol);
                tokio::spawn(trade(client.clone(), shared.clone(), origins.clone(), request, symbol));
            }
            Some(request) = accounts.next() => {
                tokio::spawn(trade(client.clone(), shared.clone(), origins.clone(), request, None));
            }
            Some(alive) = alive.next() => {
                origins.alive(&String::from_utf8_lossy(&alive.payload));
            }
            Some(gone) = gone.next() => {
                let origin = String::from_utf8_lossy(&gone.payload).to_string();
                tokio::spawn(disconnect(shared.clone(), origins.forget(&origin)));
            }
            _ = silence.tick() => {
                for gone in origins.silent_gateways() {
                    tokio::spawn(disconnect(shared.clone(), Some(gone)));
                }
            }
            Some(request) = binance_rest.next() => {
                let (client, shared) = (client.clone(), shared.clone());
                tokio::spawn(async move {
                    let answer = binance::rest(&shared, &request.payload).await;
                    reply(&client, request.reply, answer).await;
                });
            }
            Some(request) = binance_api.next() => {
                let (client, shared, users) = (client.clone(), shared.clone(), users.clone());
                tokio::spawn(async move {
                    let answer = binance::api(&shared, &users, &request.payload).await;
                    reply(&client, request.reply, answer).await;
                });
            }
            Some(request) = states.next() => {
                let Some(reply) = request.reply else { continue };
                let symbol = request.subject.as_str().strip_prefix("state.").unwrap_or("");
                let Some(id) = shared.symbol_id(symbol) else { continue };
                let (client, shared) = (client.clone(), shared.clone());
                tokio::spawn(async move {
                    let (tx, rx) = oneshot::channel();
                    shared
                        .command(id, SymbolCommand::Streams(StreamCommand::State { reply: tx }))
                        .await;
                    if let Ok(state) = rx.await {
                        let _ = client.publish(reply, Bytes::from(state.encode())).await;
                    }
                });
            }
        }
    }
}

/// One forwarded trading request: carried out, and its frames answered.
async fn trade(
    client: async_nats::Client,
    shared: Arc<Shared>,
    origins: Arc<Origins>,
    request: async_nats::Message,
    symbol: Option<crate::types::SymbolId>,
) {
    let Some(reply) = request.reply else { return };
    let frames = match Forwarded::decode(&request.payload) {
        Ok(forwarded) => {
            let account = match &forwarded.account {
                None => Ok(None),
                Some(name) => shared
                    .accounts
                    .iter()
                    .position(|a| &a.config.name == name)
                    .map(Some)
                    .ok_or_else(|| format!("no account {name:?} on the engine")),
            };
            match account {
                Ok(account) => {
                    let conn = forwarded
                        .origin
                        .as_deref()
                        .map(|o| origins.conn_of(&shared, o));
                    let carried = forwarded_request(
                        shared.clone(),
                        account,
                        &forwarded.request,
                        symbol,
                        conn,
                    )
                    .await;
                    if let Some(origin) = &forwarded.origin {
                        // An `auth` sets it; other requests carry the
                        // gateway's word (the engine may have restarted).
                        let cancel = match forwarded.account {
                            None => carried.cancel_on_disconnect,
                            Some(_) => forwarded.cancel_on_disconnect,
                        };
                        origins.note(origin, carried.account, cancel);
                    }
                    carried
                        .frames
                        .iter()
                        .map(|f| f.as_str().to_string())
                        .collect()
                }
                Err(e) => vec![error_frame(&e)],
            }
        }
        Err(e) => vec![error_frame(&e)],
    };
    let _ = client
        .publish(reply, Bytes::from(forward::encode_answer(&frames)))
        .await;
}

/// Answers a forwarded Binance request.
async fn reply(
    client: &async_nats::Client,
    to: Option<async_nats::Subject>,
    answer: crate::bus::forward::BinanceAnswer,
) {
    if let Some(to) = to {
        let _ = client.publish(to, Bytes::from(answer.encode())).await;
    }
}

fn error_frame(message: &str) -> String {
    crate::encode::error(
        &None,
        None,
        crate::error_code::ErrorCode::Internal,
        message,
        None,
    )
    .as_str()
    .to_string()
}

/// Every private event of `account`, as a connection of it without a
/// request is sent them, onto `private.<account>` in order.
async fn publish_private(
    client: async_nats::Client,
    shared: Arc<Shared>,
    account: usize,
    mut stop: watch::Receiver<bool>,
) {
    let outbox = shared.account_outbox(account);
    let subject =
        async_nats::Subject::from(subjects::private(&shared.accounts[account].config.name));
    let mut batch = crate::fanout::Batch::default();
    loop {
        outbox.drain(usize::MAX, &mut batch);
        for frame in batch.frames.drain(..) {
            let _ = client.publish(subject.clone(), Bytes::from(frame)).await;
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = outbox.ready() => {}
        }
    }
    shared.accounts[account].detach(outbox.id);
}

/// The gateways' connections the engine has seen requests from: each one's
/// connection id here (the same for all its requests, so its orders are
/// its own) and whether it asked for cancel-on-disconnect; and when each
/// gateway was last heard from. Why shared: each request runs on a task of
/// its own, and the request loop reads gateways' liveness.
#[derive(Default)]
pub struct Origins {
    state: std::sync::Mutex<OriginsState>,
}

#[derive(Default)]
struct OriginsState {
    /// By origin (`<gateway>.<connection>`).
    connections: std::collections::BTreeMap<String, Origin>,
    /// Gateway id -> when it was last heard from.
    gateways: std::collections::BTreeMap<String, tokio::time::Instant>,
}

struct Origin {
    conn: crate::fanout::ConnId,
    account: Option<usize>,
    cancel_on_disconnect: bool,
}

/// A gateway connection gone: what to cancel (account, connection id).
pub type Gone = (usize, crate::fanout::ConnId);

fn gateway_of(origin: &str) -> &str {
    origin.split('.').next().unwrap_or("")
}

impl Origins {
    fn lock(&self) -> std::sync::MutexGuard<'_, OriginsState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The engine's connection id of a gateway's connection.
    fn conn_of(&self, shared: &Shared, origin: &str) -> crate::fanout::ConnId {
        let mut state = self.lock();
        let now = tokio::time::Instant::now();
        state.gateways.insert(gateway_of(origin).to_string(), now);
        state
            .connections
            .entry(origin.to_string())
            .or_insert_with(|| Origin {
                conn: shared.new_conn_id(),
                account: None,
                cancel_on_disconnect: false,
            })
            .conn
    }

    /// The connection's account and cancel-on-disconnect after a request.
    fn note(&self, origin: &str, account: Option<usize>, cancel_on_disconnect: bool) {
        if let Some(o) = self.lock().connections.get_mut(origin) {
            o.account = account;
            o.cancel_on_disconnect = cancel_on_disconnect;
        }
    }

    fn alive(&self, gateway: &str) {
        let mut state = self.lock();
        if let Some(seen) = state.gateways.get_mut(gateway) {
            *seen = tokio::time::Instant::now();
        }
    }

    /// A connection ended: what to cancel, if it asked for that.
    fn forget(&self, origin: &str) -> Option<Gone> {
        let o = self.lock().connections.remove(origin)?;
        match (o.account, o.cancel_on_disconnect) {
            (Some(account), true) => Some((account, o.conn)),
            _ => None,
        }
    }

    /// The connections of gateways silent for `GATEWAY_SILENT_MS`, forgotten
    /// with them: what to cancel.
    fn silent_gateways(&self) -> Vec<Gone> {
        let mut state = self.lock();
        let limit = std::time::Duration::from_millis(subjects::GATEWAY_SILENT_MS);
        let silent: Vec<String> = state
            .gateways
            .iter()
            .filter(|(_, seen)| seen.elapsed() > limit)
            .map(|(g, _)| g.clone())
            .collect();
        let mut gone = Vec::new();
        for gateway in silent {
            tracing::warn!(%gateway, "a gateway went silent: its connections are gone");
            state.gateways.remove(&gateway);
            let origins: Vec<String> = state
                .connections
                .keys()
                .filter(|o| gateway_of(o) == gateway)
                .cloned()
                .collect();
            for origin in origins {
                if let Some(o) = state.connections.remove(&origin)
                    && let (Some(account), true) = (o.account, o.cancel_on_disconnect)
                {
                    gone.push((account, o.conn));
                }
            }
        }
        gone
    }
}

/// Cancels a gone connection's orders (it asked for cancel-on-disconnect).
async fn disconnect(shared: Arc<Shared>, gone: Option<Gone>) {
    if let Some((account, conn)) = gone {
        forwarded_disconnect(shared, account, conn).await;
    }
}
