//! A cluster gateway's trading requests: every request of an account
//! (`auth` included) goes to the engine as the client wrote it
//! (`bus::forward`), and the engine's answering frames come back to the
//! client exactly as the engine's own sockets would send them. The shape
//! was checked here already (a malformed request never leaves the
//! gateway). The account's other private events come by the gateway's
//! `PrivateRouter`, through this connection's gate, so the answer is never
//! doubled and everything stays in `seq` order.
//!
//! A request the engine does not answer in time (the bus or the engine
//! went away with it) is answered `internal`, saying that it may or may
//! not have been carried out and to check with `order_status`: never a
//! silent success, and never sent twice by the gateway.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Session;
use super::trading::AUTH_FAILED;
use crate::bus::forward::{self, Forwarded};
use crate::bus::subjects;
use crate::encode;
use crate::error_code::ErrorCode;
use crate::gateway::bus::private::{ConnGate, lock_gate};
use crate::protocol::{Request, RequestId};

/// How long the engine may take to answer a forwarded request (its own
/// wait for the journal and the symbol's task is 5 s at most).
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// The account a gateway's connection is authenticated as, on the engine.
pub struct Remote {
    pub account: String,
    pub gate: ConnGate,
}

/// Whether a request is an account's (forwarded by a cluster gateway).
pub fn is_forwarded(request: &Request) -> bool {
    !matches!(
        request,
        Request::Subscribe(_)
            | Request::Unsubscribe(_)
            | Request::Instruments
            | Request::Ping
            | Request::Faults { .. }
    )
}

/// The subject a request goes on: its symbol's, or the accounts'.
fn subject_of(request: &Request) -> String {
    match request {
        Request::Order(order) => subjects::trade(&order.symbol),
        Request::Amend(amend) => subjects::trade(&amend.symbol),
        Request::Cancel { symbol, .. }
        | Request::OrderStatus { symbol, .. }
        | Request::CancelAll {
            symbol: Some(symbol),
        } => subjects::trade(symbol),
        _ => subjects::ACCOUNT.to_string(),
    }
}

impl Session {
    pub(super) async fn forward(
        &mut self,
        text: &str,
        id: &RequestId,
        op: Option<&str>,
        request: &Request,
    ) {
        let Some(client) = self.shared.bus.clone() else {
            return;
        };
        let auth = matches!(request, Request::Auth { .. });
        let account = match (&self.remote, auth) {
            (_, true) => None,
            (Some(remote), false) => Some(remote.account.clone()),
            (None, false) => {
                let message = "trading requests need an auth request with a valid token first";
                self.outbox.push_priority(encode::error(
                    id,
                    op,
                    ErrorCode::NotAuthenticated,
                    message,
                    None,
                ));
                return;
            }
        };
        let gate = self
            .remote
            .as_ref()
            .map(|r| r.gate.clone())
            .filter(|_| !auth);
        if let Some(gate) = &gate {
            lock_gate(gate).start();
        }
        self.known_to_engine = true;
        let payload = Forwarded {
            account,
            request: text.to_string(),
            origin: Some(self.origin()),
            cancel_on_disconnect: self.cancel_on_disconnect,
        }
        .encode();
        let asked = tokio::time::timeout(
            ANSWER_WAIT,
            client.request(subject_of(request), payload.into()),
        )
        .await;
        let frames: Vec<Utf8Bytes> = match asked {
            Ok(Ok(answer)) => match forward::decode_answer(&answer.payload) {
                Ok(frames) => frames.into_iter().map(Utf8Bytes::from).collect(),
                Err(e) => vec![encode::error(id, op, ErrorCode::Internal, &e, None)],
            },
            _ => {
                self.shared
                    .metrics
                    .bus
                    .request_timeouts
                    .fetch_add(1, Relaxed);
                let message = "the engine did not answer in time: the request may or may not have been carried out; check with order_status (by client_order_id) before sending it again";
                vec![encode::error(id, op, ErrorCode::Internal, message, None)]
            }
        };
        if auth {
            let asked = matches!(
                request,
                Request::Auth {
                    cancel_on_disconnect: true,
                    ..
                }
            );
            return self.authenticated_remotely(frames, asked).await;
        }
        let out = match &gate {
            Some(gate) => lock_gate(gate).finish(frames),
            None => frames,
        };
        for frame in out {
            self.outbox.push_priority(frame);
        }
    }

    /// The engine's answer to `auth`: on success the connection follows the
    /// account's events here; failures count towards the close.
    async fn authenticated_remotely(&mut self, frames: Vec<Utf8Bytes>, cancel_on_disconnect: bool) {
        let first = frames
            .first()
            .and_then(|f| serde_json::from_str::<serde_json::Value>(f.as_str()).ok());
        let name = first
            .as_ref()
            .filter(|v| v["type"] == "authenticated")
            .and_then(|v| v["account"].as_str())
            .map(str::to_string);
        let unauthorized = first
            .as_ref()
            .is_some_and(|v| v["type"] == "error" && v["code"] == "unauthorized");
        if let Some(name) = &name {
            self.leave_account();
            if let Some(client) = &self.shared.bus {
                match self
                    .shared
                    .bus_private
                    .attach(client, name, &self.outbox)
                    .await
                {
                    Ok(gate) => {
                        self.remote = Some(Remote {
                            account: name.clone(),
                            gate,
                        });
                        self.cancel_on_disconnect = cancel_on_disconnect;
                    }
                    Err(e) => {
                        tracing::warn!(account = %name, error = %e, "private events will not reach this connection")
                    }
                }
            }
        }
        for frame in frames {
            self.outbox.push_priority(frame);
        }
        if unauthorized {
            self.auth_failures += 1;
            if self.auth_failures >= self.shared.config.max_auth_failures {
                self.outbox.close(AUTH_FAILED);
            }
        }
    }

    /// This connection on the engine: the gateway's id and its own.
    fn origin(&self) -> String {
        format!("{}.{}", self.shared.bus_private.id(), self.outbox.id)
    }

    /// Stops following the account's events (another `auth`, the end).
    pub(super) fn leave_account(&mut self) {
        if let Some(remote) = self.remote.take() {
            self.shared
                .bus_private
                .detach(&remote.account, self.outbox.id);
        }
    }

    /// The connection ended: the engine is told, so it forgets it and
    /// cancels its orders if it asked for that.
    pub(super) async fn remote_disconnected(&mut self) {
        if self.known_to_engine
            && let Some(client) = &self.shared.bus
        {
            let origin = self.origin();
            let _ = client
                .publish(subjects::GATEWAY_DISCONNECTED, origin.into())
                .await;
        }
        self.leave_account();
    }
}
