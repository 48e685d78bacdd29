//! A connection's reader: parses each request (`protocol::parse`), applies
//! the request rate limit, answers the market-data requests here
//! (`subscribe`, `unsubscribe`, `instruments`, `ping`) and hands trading
//! requests to `trading`.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::Session;
use crate::encode;
use crate::error_code::ErrorCode;
use crate::fanout::CloseReason;
use crate::faults::{FaultPlan, FaultSpec};
use crate::gateway::commands::{StreamCommand, SymbolCommand};
use crate::protocol::{self, Channel, Request, RequestError, RequestId, StreamId, StreamSelection};
use crate::stats::Interval;

/// The close a read error calls for (RFC 6455 section 7.4.1): a frame
/// that breaks the protocol is 1002, a text message (or close reason)
/// that is not UTF-8 is 1007. `None`: the socket itself failed, and
/// nothing can be sent.
fn close_for(error: &WsError) -> Option<CloseReason> {
    use tokio_tungstenite::tungstenite::error::ProtocolError as P;
    let protocol = |reason| Some(CloseReason { code: 1002, reason });
    match error {
        WsError::Utf8(_) => Some(CloseReason {
            code: 1007,
            reason: "invalid UTF-8 in a text message",
        }),
        WsError::Protocol(p) => match p {
            P::UnmaskedFrameFromClient => protocol("an unmasked frame from a client"),
            P::NonZeroReservedBits => protocol("reserved bits set"),
            P::UnknownDataFrameType(_) | P::UnknownControlFrameType(_) | P::InvalidOpcode(_) => {
                protocol("a reserved opcode")
            }
            P::FragmentedControlFrame => protocol("a fragmented control frame"),
            P::ControlFrameTooBig => protocol("a control frame over 125 bytes"),
            P::UnexpectedContinueFrame => protocol("a continuation with nothing to continue"),
            P::ExpectedFragment(_) => protocol("a new message before the last one ended"),
            P::InvalidCloseSequence => protocol("a close frame of one byte"),
            P::ResetWithoutClosingHandshake => None,
            _ => protocol("protocol error"),
        },
        _ => None,
    }
}

/// Frames read (and dropped) from a flooder after its close, at most.
const FLOOD_DRAIN: u32 = 1000;

impl Session {
    pub(super) async fn read_loop<S>(&mut self, stream: &mut WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut drained = 0u32;
        while let Some(message) = stream.next().await {
            self.outbox.heard(self.shared.clock.uptime_ms());
            // A flooder being closed: what it still sends is read but not
            // handled (no parsing, no answers), up to `FLOOD_DRAIN` frames
            // so that a client that stops gets its close frame rather than
            // a reset; past them the socket is dropped. Reading a flood to
            // its end cost the other clients a p99 5 times the one of
            // dropping it (benches/flood.rs).
            if self.outbox.closing() == Some(CloseReason::RATE_LIMIT) {
                drained += 1;
                match message {
                    Ok(Message::Close(_)) | Err(_) => break,
                    _ if drained > FLOOD_DRAIN => break,
                    _ => continue,
                }
            }
            match message {
                // Boxed: the request's future (subscribe, order...) is the
                // largest part of a connection's state, and an idle
                // connection should not carry it between requests.
                Ok(Message::Text(text)) => match (self.binance, &self.api) {
                    (Some(combined), _) => Box::pin(self.binance_request(&text, combined)).await,
                    (None, Some(_)) => Box::pin(self.binance_api_request(&text)).await,
                    (None, None) => Box::pin(self.request(&text)).await,
                },
                Ok(Message::Binary(_)) if self.binance.is_some() || self.api.is_some() => {
                    self.outbox.push_priority(
                        "{\"code\":3,\"msg\":\"Invalid JSON: binary frames are not read; send JSON text frames\",\"id\":null}".into(),
                    );
                }
                Ok(Message::Binary(_)) => self.reply_error(
                    &None,
                    None,
                    &RequestError::new(
                        ErrorCode::UnsupportedFrame,
                        "binary frames are not supported: send JSON text frames",
                    ),
                ),
                Ok(Message::Close(_)) => break,
                Ok(_) => {} // ping (answered by tungstenite), pong
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                    tracing::info!(conn = self.outbox.id, size, max_size, "message too big");
                    self.outbox.close(CloseReason::TOO_BIG);
                    break;
                }
                Err(e) => {
                    tracing::debug!(conn = self.outbox.id, error = %e, "read error");
                    if let Some(reason) = close_for(&e) {
                        self.outbox.close(reason);
                    }
                    break;
                }
            }
        }
    }

    /// A cluster gateway forwards account requests to the engine.
    fn forwards(&self) -> bool {
        self.shared.config.is_cluster_gateway()
    }

    pub(super) fn reply_error(&self, id: &RequestId, op: Option<&str>, error: &RequestError) {
        self.outbox
            .push_priority(encode::error(id, op, error.code, &error.message, None));
    }

    /// A refusal for the rate; past `MAX_RATE_LIMITED` within the window
    /// the connection is closed: a flood costs the others otherwise.
    fn count_rate_limited(&mut self) {
        use crate::gateway::config::defaults::{MAX_RATE_LIMITED, RATE_LIMITED_WINDOW_S};
        let window = Duration::from_secs(RATE_LIMITED_WINDOW_S);
        if self.rate_limited_since.elapsed() > window {
            self.rate_limited = 0;
            self.rate_limited_since = Instant::now();
        }
        self.rate_limited += 1;
        if self.rate_limited == MAX_RATE_LIMITED {
            tracing::info!(
                conn = self.outbox.id,
                "closing a connection that floods requests"
            );
            self.shared
                .metrics
                .rate_limit_disconnects
                .fetch_add(1, Relaxed);
            self.outbox.close(CloseReason::RATE_LIMIT);
        }
    }

    pub(super) async fn request(&mut self, text: &str) {
        if self.shared.config.panic_trigger.as_deref() == Some(text) {
            panic!("the test panic of connection {}", self.outbox.id);
        }
        let parsed = protocol::parse(text, &mut self.scratch);
        let (id, op) = (&parsed.id, parsed.op.as_deref());
        if let Err(retry_after_ms) = self.limit.take() {
            let message = format!(
                "more than {} requests per second (burst {}); retry after {retry_after_ms} ms",
                self.shared.config.requests_per_sec, self.shared.config.request_burst
            );
            self.outbox.push_priority(encode::error(
                id,
                op,
                ErrorCode::RateLimited,
                &message,
                Some(retry_after_ms),
            ));
            self.count_rate_limited();
            return;
        }
        let request = match parsed.request {
            Ok(r) => r,
            Err(e) => return self.reply_error(id, op, &e),
        };
        if self.forwards() && super::remote::is_forwarded(&request) {
            let (id, op) = (id.clone(), op.map(str::to_string));
            return self.forward(text, &id, op.as_deref(), &request).await;
        }
        let result = match request {
            Request::Subscribe(selection) => self.subscribe(id, &selection).await,
            Request::Unsubscribe(selection) => self.unsubscribe(id, &selection).await,
            Request::Instruments => {
                let frame = encode::instruments(id, &self.shared.instruments, &self.shared.mode);
                self.outbox.push_priority(frame);
                Ok(())
            }
            Request::Ping => {
                self.outbox
                    .push_priority(encode::pong(id, self.shared.clock.now()));
                Ok(())
            }
            Request::Auth {
                token,
                cancel_on_disconnect,
            } => self.auth(id, &token, cancel_on_disconnect),
            Request::Order(order) => self.order(id, order).await,
            Request::Cancel { symbol, order } => self.cancel(id, &symbol, order).await,
            Request::CancelAll { symbol } => self.cancel_all(id, symbol.as_deref()).await,
            Request::OpenOrders { symbol } => self.open_orders(id, symbol.as_deref()),
            Request::Account => self.account(id),
            Request::Amend(amend) => self.amend(id, amend).await,
            Request::OrderStatus { symbol, order } => self.order_status(id, &symbol, &order),
            Request::Fills(fills) => self.fills(id, &fills),
            Request::Faults { spec } => self.faults(id, &spec),
        };
        if let Err(e) = result {
            self.reply_error(id, op, &e);
        }
    }

    /// The streams a selection names; every name must be known.
    fn streams(
        &self,
        selection: &StreamSelection,
        subscribing: bool,
    ) -> Result<Vec<StreamId>, RequestError> {
        let mut symbols = Vec::with_capacity(selection.symbols.len());
        for name in &selection.symbols {
            let id = self.shared.symbol_id(name).ok_or_else(|| {
                RequestError::new(
                    ErrorCode::UnknownSymbol,
                    format!("unknown symbol {name:?}; the instruments request lists them"),
                )
            })?;
            symbols.push(id);
        }
        // `subscribe` to candles without an interval means 1m; `unsubscribe`
        // without one means every interval.
        let interval = match (selection.interval, subscribing) {
            (None, true) => Some(Interval::OneMinute),
            (interval, _) => interval,
        };
        let mut channels = Vec::with_capacity(selection.channels.len() + 1);
        for name in &selection.channels {
            if name == "book" {
                // One book stream per (depth, interval), named exactly in
                // `subscribe` and `unsubscribe` alike.
                channels.push(selection.book_channel());
                continue;
            }
            let named = Channel::named(name, interval).ok_or_else(|| {
                RequestError::new(
                    ErrorCode::UnknownChannel,
                    format!(
                        "unknown channel {name:?}; channels are book, trades, ticker, candles and heartbeat"
                    ),
                )
            })?;
            channels.extend(named);
        }
        let mut streams: Vec<StreamId> = symbols
            .iter()
            .flat_map(|&symbol| {
                channels
                    .iter()
                    .map(move |&channel| StreamId { symbol, channel })
            })
            .collect();
        streams.sort_unstable();
        streams.dedup();
        Ok(streams)
    }

    fn subscription_list(&self, kind: &str, id: &RequestId) -> Utf8Bytes {
        let shared = &self.shared;
        encode::subscriptions(
            kind,
            id,
            self.subscriptions
                .iter()
                .map(|s| (s.channel, shared.symbol_name(s.symbol))),
        )
    }

    async fn subscribe(
        &mut self,
        id: &RequestId,
        selection: &StreamSelection,
    ) -> Result<(), RequestError> {
        let streams = self.streams(selection, true)?;
        let new: Vec<StreamId> = streams
            .iter()
            .filter(|s| !self.subscriptions.contains(s))
            .copied()
            .collect();
        let limit = self.shared.config.max_subscriptions;
        if self.subscriptions.len() + new.len() > limit {
            return Err(RequestError::new(
                ErrorCode::TooManySubscriptions,
                format!(
                    "this would make {} subscriptions; a connection may have at most {limit}",
                    self.subscriptions.len() + new.len()
                ),
            ));
        }
        self.subscriptions.extend(new.iter().copied());
        self.outbox.subscribe(&new);
        self.await_followed(&new).await;
        self.outbox
            .push_priority(self.subscription_list("subscribed", id));
        self.register(&streams).await;
        Ok(())
    }

    /// On a cluster gateway, waits until what the symbols of `streams`
    /// publish from now on reaches this gateway (`StreamCommand::Follow`),
    /// so that the subscription's answer, sent next, promises every
    /// message after it: a client that trades once it has `subscribed`
    /// sees its trade, as on `serve`. An idle symbol costs one request to
    /// the engine; elsewhere this is nothing.
    pub(super) async fn await_followed(&self, streams: &[StreamId]) {
        if !self.shared.config.is_cluster_gateway() {
            return;
        }
        let mut answers = Vec::new();
        for symbol in streams.iter().map(|s| s.symbol).collect::<BTreeSet<_>>() {
            let (ready, answer) = oneshot::channel();
            let command = SymbolCommand::Streams(StreamCommand::Follow { ready });
            self.shared.command(symbol, command).await;
            answers.push(answer);
        }
        for answer in answers {
            // A symbol's task that is gone drops its sender: nothing to
            // wait for.
            let _ = answer.await;
        }
    }

    /// Has each symbol's task register `streams` (subscribed in the outbox
    /// already) and queue their initial state (again, for streams already
    /// subscribed: that is the resync).
    pub(super) async fn register(&self, streams: &[StreamId]) {
        for symbol in streams.iter().map(|s| s.symbol).collect::<BTreeSet<_>>() {
            let channels = streams
                .iter()
                .filter(|s| s.symbol == symbol)
                .map(|s| s.channel)
                .collect();
            let command = StreamCommand::Subscribe {
                outbox: self.outbox.clone(),
                channels,
            };
            let command = SymbolCommand::Streams(command);
            self.shared.command(symbol, command).await;
        }
    }

    async fn unsubscribe(
        &mut self,
        id: &RequestId,
        selection: &StreamSelection,
    ) -> Result<(), RequestError> {
        let streams = self.streams(selection, false)?;
        let gone: Vec<StreamId> = streams
            .iter()
            .filter(|s| self.subscriptions.contains(s))
            .copied()
            .collect();
        self.unregister(&gone).await;
        self.outbox
            .push_priority(self.subscription_list("unsubscribed", id));
        Ok(())
    }

    /// Ends subscriptions the connection has: nothing of them is sent after
    /// this, and their symbols' tasks forget them.
    pub(super) async fn unregister(&mut self, gone: &[StreamId]) {
        for stream in gone {
            self.subscriptions.remove(stream);
        }
        self.outbox.unsubscribe(gone);
        for symbol in gone.iter().map(|s| s.symbol).collect::<BTreeSet<_>>() {
            let channels = gone
                .iter()
                .filter(|s| s.symbol == symbol)
                .map(|s| s.channel)
                .collect();
            let command = StreamCommand::Unsubscribe {
                conn: self.outbox.id,
                channels,
            };
            let command = SymbolCommand::Streams(command);
            self.shared.command(symbol, command).await;
        }
    }

    /// `faults`: this connection's fault schedule, replaced (an empty spec
    /// clears it), on a server started with `--allow-fault-requests`.
    fn faults(&self, id: &RequestId, spec: &str) -> Result<(), RequestError> {
        if !self.shared.config.allow_fault_requests {
            return Err(RequestError::new(
                ErrorCode::Unauthorized,
                "fault requests are off: they are for testing clients, on a server started with --allow-fault-requests",
            ));
        }
        let spec = FaultSpec::parse(spec)
            .map_err(|e| RequestError::new(ErrorCode::BadRequest, format!("spec: {e}")))?;
        let answer = encode::faults(id, &spec.text, spec.seed);
        let plan = (!spec.is_empty()).then(|| FaultPlan::new(spec));
        // The answer goes before any fault it sets acts.
        self.outbox.push_priority(answer);
        self.outbox.set_faults(plan);
        Ok(())
    }
}
