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

/// However the proxy ends (its answer sent, or the HTTP request dropped
/// midway by a client that went away), it stops getting the account's
/// events: an outbox left attached would collect them for ever.
impl Drop for Proxy {
    fn drop(&mut self) {
        let id = self.session.outbox.id;
        self.session.shared.accounts[self.account].detach(id);
    }
}
