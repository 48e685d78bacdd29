//! The engine's answers to gateways: a symbol's state (`state.<symbol>`,
//! from the symbol's task at the point of its streams) and the
//! instruments (`engine.instruments`). Its market data goes out through
//! `publisher`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};

use crate::bus::subjects;
use crate::gateway::commands::{StreamCommand, SymbolCommand};
use crate::gateway::shared::Shared;

/// Answers gateways until `stop`: a symbol's state (from its task, at the
/// point of its streams) and the instruments.
pub async fn answer_requests(
    client: async_nats::Client,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut states, mut instruments) = match (
        client.subscribe("state.*").await,
        client.subscribe(subjects::INSTRUMENTS).await,
    ) {
        (Ok(states), Ok(instruments)) => (states, instruments),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot take gateways' requests");
            return;
        }
    };
    let listed = Bytes::from(crate::bus::instruments::encode(&shared.instruments));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            Some(request) = instruments.next() => {
                if let Some(reply) = request.reply {
                    let _ = client.publish(reply, listed.clone()).await;
                }
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
