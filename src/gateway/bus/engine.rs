//! The engine's answers to gateways: a symbol's state (`state.<symbol>`,
//! from the symbol's task at the point of its streams), the instruments
//! (`engine.instruments`), and its clients' trading requests
//! (`trade.<symbol>`, `account`), carried out by a socketless connection
//! of the account (`connection::forwarded`) so they meet every check, the
//! journal before the answer, and the same answers. Every private event of
//! every account goes out on `private.<account>`. Its market data goes out
//! through `publisher`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};

use crate::bus::forward::{self, BinanceAnswer, BinanceRest, Forwarded};
use crate::bus::subjects;
use crate::gateway::binance::signed;
use crate::gateway::commands::{StreamCommand, SymbolCommand};
use crate::gateway::connection::forwarded as forwarded_request;
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
        ))
    };
    let (mut states, mut instruments, mut trades, mut accounts, mut binance) =
        match subscribed.await {
            Ok(subscriptions) => subscriptions,
            Err(e) => {
                tracing::error!(error = %e, "cannot take gateways' requests");
                return;
            }
        };
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
                tokio::spawn(trade(client.clone(), shared.clone(), request, symbol));
            }
            Some(request) = accounts.next() => {
                tokio::spawn(trade(client.clone(), shared.clone(), request, None));
            }
            Some(request) = binance.next() => {
                tokio::spawn(binance_rest(client.clone(), shared.clone(), request));
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
                    forwarded_request(shared.clone(), account, &forwarded.request, symbol)
                        .await
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

/// One forwarded signed request of the Binance dialect: checked and carried
/// out as `serve` does, its status and body answered.
async fn binance_rest(
    client: async_nats::Client,
    shared: Arc<Shared>,
    request: async_nats::Message,
) {
    let Some(reply) = request.reply else { return };
    let answer = match BinanceRest::decode(&request.payload) {
        Ok(r) => {
            let result = match signed::check(&shared, r.key.as_deref(), &r.query, &r.body) {
                Ok(checked) => signed::serve(&shared, &r.method, &r.endpoint, checked).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(body) => BinanceAnswer { status: 200, body },
                Err(e) => BinanceAnswer {
                    status: e.status,
                    body: e.body(),
                },
            }
        }
        Err(e) => {
            let e = crate::binance::ApiError::new(400, -1000, e);
            BinanceAnswer {
                status: e.status,
                body: e.body(),
            }
        }
    };
    let _ = client.publish(reply, Bytes::from(answer.encode())).await;
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
