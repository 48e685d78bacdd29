//! A connection without a socket, authenticated as an account, that
//! speaks tickwire's own protocol on behalf of the Binance dialect's
//! signed requests: the dialect's orders go through exactly the checks,
//! the journal and the answers of a native `order`, and are translated
//! back (`crate::binance::orders`). Its outbox collects what a socket
//! would have been sent: the answers to its requests, and (attached to the
//! account) every private event of the account meanwhile.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::Session;
use crate::fanout::Batch;
use crate::gateway::commands::{BinanceQuery, PollQuery, StreamCommand, SymbolCommand};
use crate::gateway::shared::Shared;
use crate::types::SymbolId;

/// How long an answer may take (the journal's group commit is far less).
const WAIT: Duration = Duration::from_secs(5);

pub struct Proxy {
    session: Session,
    account: usize,
    next_id: u64,
    /// Private events read while waiting for answers, in order.
    events: Vec<Value>,
    batch: Batch,
}

impl Proxy {
    /// A proxy of `account`, getting its private events from now on.
    pub fn new(shared: Arc<Shared>, account: usize) -> Proxy {
        let outbox = shared.account_outbox(account);
        let mut session = Session::new(shared, outbox);
        session.account = Some(account);
        Proxy {
            session,
            account,
            next_id: 1,
            events: Vec::new(),
            batch: Batch::default(),
        }
    }

    /// Sends a native request (its `id` is set here) and waits for its
    /// answer; `None` if none came in time.
    pub async fn ask(&mut self, mut request: Value) -> Option<Value> {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = Value::from(id);
        let text = request.to_string();
        Box::pin(self.session.request(&text)).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            self.session.outbox.drain(usize::MAX, &mut self.batch);
            let mut answer = None;
            for frame in self.batch.frames.drain(..) {
                let Ok(value) = serde_json::from_str::<Value>(frame.as_str()) else {
                    continue;
                };
                if answer.is_none() && value.get("id").and_then(Value::as_u64) == Some(id) {
                    answer = Some(value);
                } else {
                    self.events.push(value);
                }
            }
            if answer.is_some() {
                return answer;
            }
            let ready = self.session.outbox.ready();
            if tokio::time::timeout_at(deadline, ready).await.is_err() {
                return None;
            }
        }
    }

    /// Waits until the symbol's task has sent everything it queued before
    /// now (its reads wait for that), then takes the events that came.
    pub async fn settle(&mut self, symbol: SymbolId) -> Vec<Value> {
        let (reply, answer) = oneshot::channel();
        let query = PollQuery::Binance(BinanceQuery::Price);
        let command = SymbolCommand::Streams(StreamCommand::Poll { query, reply });
        self.session.shared.command(symbol, command).await;
        let _ = tokio::time::timeout(WAIT, answer).await;
        self.session.outbox.drain(usize::MAX, &mut self.batch);
        for frame in self.batch.frames.drain(..) {
            if let Ok(value) = serde_json::from_str::<Value>(frame.as_str()) {
                self.events.push(value);
            }
        }
        std::mem::take(&mut self.events)
    }
}

/// A native request of `account` (`None`: an `auth`) sent by a cluster
/// gateway for one of its connections, carried out here as that
/// connection's would be: every frame answering it (those with its `id`,
/// exactly as a socket would have been sent them), including the events
/// of its input once the symbol's task has sent them all.
pub async fn forwarded(
    shared: Arc<Shared>,
    account: Option<usize>,
    text: &str,
    symbol: Option<SymbolId>,
    conn: Option<crate::fanout::ConnId>,
) -> Forwarded {
    // A request without an `id` gets one here, so its answer is told from
    // the account's other events, and loses it again in every frame (as a
    // socket's answers to it would have none).
    const STAND_IN: &str = "tickwire-forwarded";
    let mut parsed = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let stand_in = parsed.is_object() && parsed.get("id").is_none();
    if stand_in {
        parsed["id"] = Value::from(STAND_IN);
    }
    let id = parsed.get("id").cloned().unwrap_or(Value::Null);
    let text = if stand_in {
        parsed.to_string()
    } else {
        text.to_string()
    };
    let conn = conn.unwrap_or_else(|| shared.new_conn_id());
    let outbox = shared.account_outbox_as(account.unwrap_or(usize::MAX), conn);
    let mut session = Session::new(shared.clone(), outbox);
    session.account = account;
    Box::pin(session.request(&text)).await;
    // Everything the connection is sent meanwhile: the answers (with the
    // request's `id`), and the account's private events, which a socket of
    // the account gets too (a `fill` has no `id`, even for its requester).
    // The gateway's gate skips what its connection already has by `seq`.
    let mut answer = Vec::new();
    let mut answered = false;
    let mut batch = Batch::default();
    let mut answers = |batch: &mut Batch, answer: &mut Vec<_>| {
        for frame in batch.frames.drain(..) {
            answered |= serde_json::from_str::<Value>(frame.as_str())
                .is_ok_and(|v| v.get("id") == Some(&id));
            answer.push(frame);
        }
        answered
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        session.outbox.drain(usize::MAX, &mut batch);
        if answers(&mut batch, &mut answer)
            || tokio::time::timeout_at(deadline, session.outbox.ready())
                .await
                .is_err()
        {
            break;
        }
    }
    if let Some(symbol) = symbol {
        // The rest of the input's events, once its task sent them.
        let (reply, settled) = oneshot::channel();
        let query = PollQuery::Binance(BinanceQuery::Price);
        let command = SymbolCommand::Streams(StreamCommand::Poll { query, reply });
        shared.command(symbol, command).await;
        let _ = tokio::time::timeout(WAIT, settled).await;
        session.outbox.drain(usize::MAX, &mut batch);
        answers(&mut batch, &mut answer);
    }
    // An `auth` attached the outbox to the account it named.
    if let Some(account) = session.account {
        shared.accounts[account].detach(session.outbox.id);
    }
    if stand_in {
        let field = format!(",\"id\":\"{STAND_IN}\"");
        for frame in &mut answer {
            if frame.as_str().contains(&field) {
                *frame = frame.as_str().replacen(&field, "", 1).into();
            }
        }
    }
    Forwarded {
        frames: answer,
        account: session.account,
        cancel_on_disconnect: session.cancel_on_disconnect,
    }
}

/// What a forwarded request gave: its frames, and the connection's account
/// and cancel-on-disconnect after it (an `auth` sets them).
pub struct Forwarded {
    pub frames: Vec<tokio_tungstenite::tungstenite::Utf8Bytes>,
    pub account: Option<usize>,
    pub cancel_on_disconnect: bool,
}

/// A cluster gateway's connection `conn` of `account` is gone: its orders
/// are canceled if it asked for that (`cancel_on_disconnect`), as a socket
/// of the engine's own would have them.
pub async fn forwarded_disconnect(
    shared: Arc<Shared>,
    account: usize,
    conn: crate::fanout::ConnId,
) {
    let outbox = Arc::new(crate::fanout::Outbox::new(
        conn,
        shared.config.lag,
        shared.instruments.clone(),
    ));
    let mut session = Session::new(shared, outbox);
    session.account = Some(account);
    session.cancel_on_disconnect = true;
    Box::pin(session.disconnected()).await;
}

/// However the proxy ends (its answer sent, or the HTTP request dropped
/// midway by a client that went away), it stops getting the account's
/// events: an outbox left attached would collect them for ever.
impl Drop for Proxy {
    fn drop(&mut self) {
        let id = self.session.outbox.id;
        self.session.shared.accounts[self.account].detach(id);
    }
}
