//! An account's user data stream on a WebSocket API connection: a
//! socketless outbox attached to the account takes its native private
//! events (exactly what a native connection of the account is sent), and
//! a task turns each into Binance's `executionReport`, followed after a
//! fill by `outboundAccountPosition` with the two assets' balances, and
//! queues it on the connection as `{"subscriptionId":N,"event":{...}}`.
//! It stops when the connection closes or the subscription is dropped.
//!
//! On a cluster gateway the account's events are the engine's: it makes
//! them with the same `Translator` and publishes them on
//! `binance.user.<account>` (`gateway::bus::binance`), and the
//! subscription relays them.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::balances::balances;
use crate::binance::user::{OrderInfo, execution_report};
use crate::fanout::{Batch, Outbox};
use crate::gateway::shared::Shared;

/// The user data subscriptions of one WebSocket API connection, by id;
/// dropping them (the connection ends) stops their streams.
#[derive(Default)]
pub struct UserStreams {
    streams: Vec<(u64, UserStream)>,
    next: u64,
}

impl UserStreams {
    /// Streams `account`'s events to `connection`; the subscription's id.
    pub fn subscribe(&mut self, source: Source, connection: Arc<Outbox>) -> u64 {
        let id = self.next;
        self.next += 1;
        let task = match source {
            Source::Local { shared, account } => {
                let events = shared.account_outbox(account);
                tokio::spawn(run(shared, account, events, connection, id))
            }
            Source::Bus(events) => tokio::spawn(relay(events, connection, id)),
        };
        self.streams.push((id, UserStream { task }));
        id
    }

    /// Stops one subscription (false if there is none of that id), or
    /// every one.
    pub fn unsubscribe(&mut self, id: Option<u64>) -> bool {
        let before = self.streams.len();
        match id {
            Some(id) => self.streams.retain(|(s, _)| *s != id),
            None => self.streams.clear(),
        }
        id.is_none() || self.streams.len() < before
    }
}

/// Where a subscription's events come from.
pub enum Source {
    /// The account's private events in this process, translated here.
    Local { shared: Arc<Shared>, account: usize },
    /// The engine's translated events (a cluster gateway's subscription
    /// to `binance.user.<account>`).
    Bus(async_nats::Subscriber),
}

/// A running subscription: dropping it stops the stream.
struct UserStream {
    task: JoinHandle<()>,
}

impl Drop for UserStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Detaches the events' outbox however the task ends (finished or
/// aborted).
struct Attached {
    shared: Arc<Shared>,
    account: usize,
    events: Arc<Outbox>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.shared.accounts[self.account].detach(self.events.id);
    }
}

async fn run(
    shared: Arc<Shared>,
    account: usize,
    events: Arc<Outbox>,
    connection: Arc<Outbox>,
    subscription: u64,
) {
    let attached = Attached {
        shared,
        account,
        events,
    };
    let mut translator = Translator::default();
    let mut batch = Batch::default();
    while connection.closing().is_none() {
        attached.events.ready().await;
        attached.events.drain(usize::MAX, &mut batch);
        for frame in batch.frames.drain(..) {
            for out in translator.translate(&attached.shared, account, frame.as_str()) {
                push(&connection, subscription, &out);
            }
        }
    }
}

/// The engine's events of the account, as they come off the bus.
async fn relay(mut events: async_nats::Subscriber, connection: Arc<Outbox>, subscription: u64) {
    use futures_util::StreamExt;
    while connection.closing().is_none() {
        let Some(message) = events.next().await else {
            return;
        };
        if let Ok(out) = serde_json::from_slice::<Value>(&message.payload) {
            push(&connection, subscription, &out);
        }
    }
}

fn push(connection: &Outbox, subscription: u64, event: &Value) {
    let wrapped = json!({"subscriptionId": subscription, "event": event});
    connection.push_priority(wrapped.to_string().into());
}

/// Makes an account's Binance events from its native private events, one
/// at a time, in order: it remembers what each open order's reports need
/// (its side, type, quantities) from the event that made it.
#[derive(Default)]
pub struct Translator {
    orders: HashMap<String, OrderInfo>,
}

impl Translator {
    /// The Binance events of one native private event (its frame's text;
    /// none for anything that is not an order's event).
    pub fn translate(&mut self, shared: &Shared, account: usize, frame: &str) -> Vec<Value> {
        let Ok(event) = serde_json::from_str::<Value>(frame) else {
            return Vec::new();
        };
        translate(shared, account, &mut self.orders, &event)
    }
}

/// The Binance events of one native private event.
fn translate(
    shared: &Shared,
    account: usize,
    orders: &mut HashMap<String, OrderInfo>,
    event: &Value,
) -> Vec<Value> {
    let Some(order_id) = event["order_id"].as_str() else {
        return Vec::new();
    };
    let Some(instrument) = event["symbol"]
        .as_str()
        .and_then(|s| shared.symbol_id(s))
        .and_then(|id| shared.instrument(id))
    else {
        return Vec::new();
    };
    let symbol = instrument.binance_symbol();
    let zero = instrument.format_price(crate::types::Price(0));
    let info = orders.entry(order_id.to_string()).or_insert_with(|| {
        // An order placed before the subscription: what the account
        // remembers of it, else what the event says.
        let known = shared.accounts[account]
            .state()
            .orders
            .open(None)
            .find(|o| crate::encode::order_id(&instrument.symbol, o.order_id) == order_id)
            .map(|o| {
                json!({
                    "client_order_id": o.client_order_id,
                    "side": o.side.as_str(),
                    "order_type": if o.price.is_some() { "limit" } else { "market" },
                    "post_only": o.post_only,
                    "tif": format!("{:?}", o.tif).to_ascii_lowercase(),
                    "qty": instrument.format_qty(o.qty),
                    "leaves_qty": instrument.format_qty(o.leaves),
                    "price": o.price.map(|p| instrument.format_price(p)),
                    "ts": o.ts,
                })
            });
        OrderInfo::of(
            &symbol,
            known.as_ref().unwrap_or(event),
            &zero,
            instrument.quote_asset(),
        )
    });
    let mut out = Vec::new();
    if let Some(report) = execution_report(info, event) {
        out.push(report);
    }
    if event["type"] == "order_done" {
        orders.remove(order_id);
    }
    if event["type"] == "fill" {
        let all = balances(shared, account);
        let assets = [instrument.base_asset(), instrument.quote_asset()];
        let listed: Vec<Value> = assets
            .iter()
            .filter_map(|a| all.get(*a).map(|b| (a, b)))
            .map(|(a, b)| json!({"a": a, "f": b.free().normalize().to_string(), "l": b.locked.normalize().to_string()}))
            .collect();
        let time = event["ts"].as_u64().map_or(0, crate::binance::events::ms);
        out.push(json!({"e": "outboundAccountPosition", "E": time, "u": time, "B": listed}));
    }
    out
}
