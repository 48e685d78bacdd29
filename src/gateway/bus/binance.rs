//! The Binance dialect's trading in a cluster. A gateway forwards each
//! signed request, REST (`binance.rest`) or WebSocket API (`binance.api`),
//! as the client wrote it, and the engine checks the key, the signature
//! and the time and carries it out as `serve` does (`gateway::binance`),
//! answering the status and body. A user data stream subscription is
//! checked by the engine the same way; the engine then makes the
//! account's Binance events (`executionReport`, `outboundAccountPosition`)
//! from its private events with the balances it alone knows, and publishes
//! them on `binance.user.<account>`, which the gateway relays.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::binance::ApiError;
use crate::bus::forward::{BinanceAnswer, BinanceApi, BinanceRest};
use crate::bus::subjects;
use crate::gateway::binance::signed;
use crate::gateway::binance::user::Translator;
use crate::gateway::shared::Shared;

/// How long a gateway waits for the engine's answer.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Binance's own answer when the backend's is lost: the request may or may
/// not have been carried out.
pub fn status_unknown() -> ApiError {
    ApiError::new(
        503,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    )
}

/// A gateway's side: asks the engine on `subject` and waits for its
/// answer; a lost answer is `status_unknown`.
pub async fn ask(
    shared: &Shared,
    subject: &'static str,
    payload: String,
) -> Result<BinanceAnswer, ApiError> {
    let client = shared.bus.as_ref().ok_or_else(status_unknown)?;
    let asked = tokio::time::timeout(ANSWER_WAIT, client.request(subject, payload.into())).await;
    match asked {
        Ok(Ok(message)) => BinanceAnswer::decode(&message.payload).map_err(|_| status_unknown()),
        _ => {
            shared
                .metrics
                .bus
                .request_timeouts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(status_unknown())
        }
    }
}

/// The engine's side of one forwarded signed REST request.
pub async fn rest(shared: &Arc<Shared>, payload: &[u8]) -> BinanceAnswer {
    let result = match BinanceRest::decode(payload) {
        Ok(r) => match signed::check(shared, r.key.as_deref(), &r.query, &r.body) {
            Ok(checked) => signed::serve(shared, &r.method, &r.endpoint, checked).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(ApiError::new(400, -1000, e)),
    };
    answer_of(result)
}

/// The engine's side of one forwarded WebSocket API request: a trading
/// method carried out (its `result` as the body), or a user data stream
/// subscription checked (`{"account":<name>}`, the account's events from
/// now on on `binance.user.<name>`).
pub async fn api(shared: &Arc<Shared>, users: &UserPublishers, payload: &[u8]) -> BinanceAnswer {
    let result = async {
        let request = BinanceApi::decode(payload).map_err(|e| ApiError::new(400, -1000, e))?;
        if request.method == crate::binance::SUBSCRIBE_USER_DATA {
            let checked = signed::check_params(shared, &request.params)?;
            users.ensure(shared, checked.account);
            let name = &shared.accounts[checked.account].config.name;
            return Ok(json!({ "account": name }).to_string());
        }
        let Some((method, endpoint)) = crate::binance::rest_of_method(&request.method) else {
            return Err(ApiError::unsupported(&format!(
                "method {:?}",
                request.method
            )));
        };
        let checked = signed::check_params(shared, &request.params)?;
        signed::serve(shared, method, endpoint, checked).await
    }
    .await;
    answer_of(result)
}

fn answer_of(result: Result<String, ApiError>) -> BinanceAnswer {
    match result {
        Ok(body) => BinanceAnswer { status: 200, body },
        Err(e) => BinanceAnswer {
            status: e.status,
            body: e.body(),
        },
    }
}

/// The engine's user data streams: one task per account, started by the
/// account's first subscription (from any gateway) and kept until the
/// engine stops, so a subscription made later still knows the orders the
/// account placed meanwhile. Why shared: each forwarded request runs on a
/// task of its own.
pub struct UserPublishers {
    client: async_nats::Client,
    stop: watch::Receiver<bool>,
    /// One flag per account, in the accounts' order; held while a task's
    /// outbox is attached, so a second subscriber is answered only after.
    started: Mutex<Vec<bool>>,
}

impl UserPublishers {
    pub fn new(
        client: async_nats::Client,
        stop: watch::Receiver<bool>,
        accounts: usize,
    ) -> UserPublishers {
        UserPublishers {
            client,
            stop,
            started: Mutex::new(vec![false; accounts]),
        }
    }

    /// The account's events are published from now on (the task's outbox
    /// is attached before this returns).
    fn ensure(&self, shared: &Arc<Shared>, account: usize) {
        let mut started = self
            .started
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match started.get_mut(account) {
            Some(flag) if !*flag => *flag = true,
            _ => return,
        }
        let events = shared.account_outbox(account);
        let subject = subjects::binance_user(&shared.accounts[account].config.name);
        let (client, shared, mut stop) = (self.client.clone(), shared.clone(), self.stop.clone());
        tokio::spawn(async move {
            let mut translator = Translator::default();
            let mut batch = crate::fanout::Batch::default();
            loop {
                events.drain(usize::MAX, &mut batch);
                for frame in batch.frames.drain(..) {
                    for out in translator.translate(&shared, account, frame.as_str()) {
                        let text = Value::to_string(&out);
                        let _ = client.publish(subject.clone(), Bytes::from(text)).await;
                    }
                }
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = events.ready() => {}
                }
            }
            shared.accounts[account].detach(events.id);
        });
    }
}
