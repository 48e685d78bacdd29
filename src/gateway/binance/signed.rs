//! The Binance dialect's signed endpoints (`docs/binance.md`): the API key
//! (`X-MBX-APIKEY`), the HMAC-SHA256 signature of query and body, and the
//! `timestamp`/`recvWindow` are checked as Binance does; orders then go
//! through a native `Proxy` of the account, so they meet every check,
//! journal write and answer of a native order, and are translated back.
//!
//! Served: `POST /order` (and `/order/test`), `DELETE /order`, `GET
//! /order`, `GET /openOrders`, `GET /allOrders`, `GET /account`, `GET
//! /myTrades`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::balances::{account, check_balance};
use super::wall_ms;
use crate::binance::ApiError;
use crate::binance::names::find_symbol;
use crate::binance::orders::{self, Response};
use crate::binance::sign;
use crate::gateway::connection::Proxy;
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::types::SymbolId;

type Answer = Result<String, ApiError>;

/// A signed request's checked parameters (query and body, decoded).
pub struct Signed {
    pub account: usize,
    params: Vec<(String, String)>,
}

impl Signed {
    pub fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    }
}

/// Checks the key, the signature and the time of a request.
pub fn check(
    shared: &Shared,
    key: Option<&str>,
    query: &str,
    body: &str,
) -> Result<Signed, ApiError> {
    let (account, secret) = account_of(shared, key)?;
    let (text, signature) = sign::signed_text(query, body)?;
    let mut params = crate::query::pairs(query).map_err(|e| ApiError::illegal("query", &e))?;
    params.extend(crate::query::pairs(body).map_err(|e| ApiError::illegal("body", &e))?);
    verified(account, secret, &text, &signature, params)
}

/// The account of an API key, and its secret.
fn account_of<'a>(shared: &'a Shared, key: Option<&str>) -> Result<(usize, &'a str), ApiError> {
    let key = key
        .filter(|k| !k.is_empty())
        .ok_or_else(sign::bad_key_format)?;
    shared
        .config
        .accounts
        .by_api_key(key)
        .ok_or_else(sign::unknown_key)
}

/// The request, once its signature and then its time are right.
fn verified(
    account: usize,
    secret: &str,
    text: &str,
    signature: &str,
    params: Vec<(String, String)>,
) -> Result<Signed, ApiError> {
    if !sign::verify(secret, text, signature) {
        return Err(sign::bad_signature());
    }
    let signed = Signed { account, params };
    sign::check_time(
        signed.param("timestamp").as_deref(),
        signed.param("recvWindow").as_deref(),
        wall_ms(),
    )?;
    Ok(signed)
}

/// Checks a WebSocket API request's signed `params`: the signature is of
/// every other parameter, sorted by name, written `name=value` and joined
/// with `&` (Binance's rule; `apiKey` is among them).
pub fn check_params(
    shared: &Shared,
    params: &serde_json::Map<String, Value>,
) -> Result<Signed, ApiError> {
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let key = params.get("apiKey").map(text_of);
    let (account, secret) = account_of(shared, key.as_deref())?;
    let signature = params
        .get("signature")
        .map(text_of)
        .ok_or_else(|| ApiError::missing("signature"))?;
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name.as_str() != "signature")
        .map(|(name, value)| (name.clone(), text_of(value)))
        .collect();
    pairs.sort();
    let text = pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    verified(account, secret, &text, &signature, pairs)
}

fn symbol_of(shared: &Shared, signed: &Signed) -> Result<(SymbolId, Instrument), ApiError> {
    let name = signed
        .param("symbol")
        .ok_or_else(|| ApiError::missing("symbol"))?;
    let id = find_symbol(&shared.instruments, &name).ok_or_else(|| ApiError::bad_symbol(&name))?;
    let instrument = shared
        .instrument(id)
        .cloned()
        .ok_or_else(|| ApiError::bad_symbol(&name))?;
    Ok((id, instrument))
}

fn number(signed: &Signed, name: &str) -> Result<Option<u64>, ApiError> {
    signed
        .param(name)
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::illegal(name, &format!("{v:?} is not a whole number")))
        })
        .transpose()
}

/// A signed endpoint's answer (`docs/binance.md` has their weights).
pub async fn serve(
    shared: &std::sync::Arc<Shared>,
    method: &str,
    endpoint: &str,
    signed: Signed,
) -> Answer {
    match (method, endpoint) {
        ("POST", "order") => new_order(shared, &signed, false).await,
        ("POST", "order/test") => new_order(shared, &signed, true).await,
        ("DELETE", "order") => cancel(shared, &signed).await,
        ("GET", "order") => query_order(shared, &signed).await,
        ("GET", "openOrders") => open_orders(shared, &signed).await,
        ("GET", "account") => Ok(account(shared, signed.account).to_string()),
        ("GET", "allOrders") => all_orders(shared, &signed).await,
        ("GET", "myTrades") => my_trades(shared, &signed).await,
        _ => Err(ApiError::unsupported(&format!(
            "{method} /api/v3/{endpoint}"
        ))),
    }
}

/// A native answer that is an error, as Binance's.
fn refused(answer: Option<Value>, missing: i32) -> Result<Value, ApiError> {
    match answer {
        None => Err(ApiError::new(
            503,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )),
        Some(a) if a["type"] == "error" => Err(orders::error_of(&a, missing)),
        Some(a) => Ok(a),
    }
}

/// The `order_id` a kept `fill` frame names, read without parsing it all.
fn order_id_of(frame: &str) -> Option<&str> {
    let start = frame.find("\"order_id\":\"")? + "\"order_id\":\"".len();
    let len = frame[start..].find('"')?;
    Some(&frame[start..start + len])
}

/// The account's kept fills of `symbol` (native `fill`s, as sent) whose
/// order id `wanted` accepts and then whose parsed frame `accept` accepts,
/// oldest first: at most `limit`, the oldest ones when `from_start`, else the
/// newest. Read from the account's private log, which keeps 24 hours of
/// fills (at most 100,000), so a busy account's recent fills are never cut
/// off by a page limit.
fn kept_fills(
    shared: &Shared,
    account: usize,
    symbol: SymbolId,
    window: (usize, bool),
    wanted: impl Fn(&str) -> bool,
    accept: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let (limit, from_start) = window;
    let state = shared.accounts[account].state();
    let parse = |f: &crate::trading::SentFill| {
        if !order_id_of(&f.frame).is_some_and(&wanted) {
            return None;
        }
        let value = serde_json::from_str::<Value>(&f.frame).ok()?;
        accept(&value).then_some(value)
    };
    let fills = state.log.kept_fills(symbol);
    if from_start {
        fills.filter_map(parse).take(limit).collect()
    } else {
        let mut newest: Vec<Value> = fills.rev().filter_map(parse).take(limit).collect();
        newest.reverse();
        newest
    }
}

/// The fills of the given native orders (their quote quantities).
fn fills_of_orders(
    shared: &Shared,
    account: usize,
    symbol: SymbolId,
    orders: &[&Value],
) -> Vec<Value> {
    let ids: std::collections::BTreeSet<&str> = orders
        .iter()
        .filter_map(|o| o["order_id"].as_str())
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    kept_fills(
        shared,
        account,
        symbol,
        (usize::MAX, true),
        |id| ids.contains(id),
        |_| true,
    )
}

/// Binance's order object of a native order, its quote quantity from the
/// account's fills.
fn object(instrument: &Instrument, order: &Value, fills: &[Value]) -> Value {
    let id = &order["order_id"];
    let quote = orders::quote_of(fills.iter().filter(|f| &f["order_id"] == id));
    let zero = instrument.format_price(crate::types::Price(0));
    orders::order_object(&instrument.binance_symbol(), order, quote, &zero)
}

async fn new_order(shared: &std::sync::Arc<Shared>, signed: &Signed, test: bool) -> Answer {
    let (symbol, instrument) = symbol_of(shared, signed)?;
    let order = orders::new_order(&|name| signed.param(name))?;
    if test {
        return Ok("{}".into());
    }
    check_balance(shared, signed.account, symbol, &instrument, &order)?;
    let mut proxy = Proxy::new(shared.clone(), signed.account);
    place(&mut proxy, symbol, &instrument, &order).await
}

async fn place(
    proxy: &mut Proxy,
    symbol: SymbolId,
    instrument: &Instrument,
    order: &orders::NewOrder,
) -> Answer {
    let request = orders::native_request(&instrument.symbol, order);
    let accepted = refused(proxy.ask(request).await, -2013)?;
    let order_id = accepted["order_id"].clone();
    let transact = accepted["ts"]
        .as_u64()
        .map_or(0, crate::binance::events::ms);
    let number = order_id.as_str().and_then(orders::order_number);
    if order.response == Response::Ack {
        return Ok(json!({
            "symbol": instrument.binance_symbol(),
            "orderId": number,
            "orderListId": -1,
            "clientOrderId": accepted["client_order_id"].as_str().unwrap_or(""),
            "transactTime": transact,
        })
        .to_string());
    }
    // Every event of the order's own input is sent once the market has
    // settled it.
    let events = proxy.settle(symbol).await;
    let own_fills: Vec<Value> = events
        .into_iter()
        .filter(|e| e["type"] == "fill" && e["order_id"] == order_id)
        .collect();
    let status = proxy
        .ask(json!({"op":"order_status","symbol":instrument.symbol,"order_id":order_id}))
        .await;
    let native = refused(status, -2013)?;
    let mut object = object(instrument, &native["order"], &own_fills);
    object["transactTime"] = json!(transact);
    if order.response == Response::Full {
        let quote = instrument.quote_asset();
        object["fills"] = Value::Array(
            own_fills
                .iter()
                .map(|f| orders::fill_entry(f, quote))
                .collect(),
        );
    }
    Ok(object.to_string())
}

/// The native order a request names (`orderId` or `origClientOrderId`).
fn order_ref(signed: &Signed, instrument: &Instrument) -> Result<Value, ApiError> {
    match (
        number(signed, "orderId")?,
        signed.param("origClientOrderId"),
    ) {
        (Some(id), _) => Ok(json!({"order_id": format!("{}:{id}", instrument.symbol)})),
        (None, Some(client)) => Ok(json!({"client_order_id": client})),
        (None, None) => Err(ApiError::new(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )),
    }
}

async fn with_order(shared: &std::sync::Arc<Shared>, signed: &Signed, cancel: bool) -> Answer {
    let (symbol, instrument) = symbol_of(shared, signed)?;
    let reference = order_ref(signed, &instrument)?;
    let mut proxy = Proxy::new(shared.clone(), signed.account);
    let mut status_request = json!({"op":"order_status","symbol":instrument.symbol});
    let mut cancel_request = json!({"op":"cancel","symbol":instrument.symbol});
    for (name, value) in reference.as_object().into_iter().flatten() {
        status_request[name] = value.clone();
        cancel_request[name] = value.clone();
    }
    if cancel {
        refused(proxy.ask(cancel_request).await, -2011)?;
    }
    let native = refused(
        proxy.ask(status_request).await,
        if cancel { -2011 } else { -2013 },
    )?;
    let fills = fills_of_orders(shared, signed.account, symbol, &[&native["order"]]);
    Ok(object(&instrument, &native["order"], &fills).to_string())
}

async fn cancel(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    with_order(shared, signed, true).await
}

async fn query_order(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    with_order(shared, signed, false).await
}

async fn open_orders(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    let only = match signed.param("symbol") {
        Some(_) => Some(symbol_of(shared, signed)?.1),
        None => None,
    };
    let mut proxy = Proxy::new(shared.clone(), signed.account);
    let mut request = json!({"op":"open_orders"});
    if let Some(i) = &only {
        request["symbol"] = json!(i.symbol);
    }
    let answer = refused(proxy.ask(request).await, -2013)?;
    let natives: Vec<&Value> = answer["orders"].as_array().into_iter().flatten().collect();
    // Each symbol's kept fills are read once, for all its open orders.
    let mut by_symbol: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for order in &natives {
        by_symbol
            .entry(order["symbol"].as_str().unwrap_or(""))
            .or_default()
            .push(order);
    }
    let mut fills = BTreeMap::new();
    for (name, orders) in &by_symbol {
        if let Some(id) = shared.symbol_id(name) {
            fills.insert(*name, fills_of_orders(shared, signed.account, id, orders));
        }
    }
    let out: Vec<Value> = natives
        .iter()
        .filter_map(|order| {
            let name = order["symbol"].as_str().unwrap_or("");
            let instrument = shared
                .symbol_id(name)
                .and_then(|id| shared.instrument(id))?;
            Some(object(instrument, order, fills.get(name)?))
        })
        .collect();
    Ok(Value::Array(out).to_string())
}

/// `allOrders`: the symbol's orders open now or done within 24 hours (the
/// account keeps them that long), oldest first.
async fn all_orders(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    let (symbol, instrument) = symbol_of(shared, signed)?;
    let limit = number(signed, "limit")?.unwrap_or(500).clamp(1, 1000) as usize;
    let from = number(signed, "orderId")?;
    let (start, end) = (number(signed, "startTime")?, number(signed, "endTime")?);
    let natives: Vec<Value> = {
        let state = shared.accounts[signed.account].state();
        state
            .orders
            .all(symbol)
            .into_iter()
            .filter(|s| from.is_none_or(|f| s.order.order_id.0 >= f))
            .filter(|s| start.is_none_or(|t| crate::binance::events::ms(s.order.ts) >= t))
            .filter(|s| end.is_none_or(|t| crate::binance::events::ms(s.order.ts) <= t))
            .map(|s| crate::encode::order_status(&None, &instrument, s.order, s.status.as_str()))
            .filter_map(|frame| serde_json::from_str::<Value>(frame.as_str()).ok())
            .map(|answer| answer["order"].clone())
            .collect()
    };
    let from_start = from.is_some() || start.is_some();
    let skip = crate::binance::first_answered(natives.len(), limit, from_start);
    let page: Vec<&Value> = natives.iter().skip(skip).take(limit).collect();
    let fills = fills_of_orders(shared, signed.account, symbol, &page);
    let objects: Vec<Value> = page
        .into_iter()
        .map(|order| object(&instrument, order, &fills))
        .collect();
    Ok(Value::Array(objects).to_string())
}

/// `myTrades`: the account's fills of a symbol, the newest `limit` unless
/// the request says where to start (`fromId`, `startTime`).
async fn my_trades(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    let (symbol, instrument) = symbol_of(shared, signed)?;
    let limit = number(signed, "limit")?.unwrap_or(500).clamp(1, 1000) as usize;
    let order = number(signed, "orderId")?.map(|o| format!("{}:{o}", instrument.symbol));
    let from = number(signed, "fromId")?;
    let (start, end) = (number(signed, "startTime")?, number(signed, "endTime")?);
    let quote = instrument.quote_asset();
    let binance = instrument.binance_symbol();
    let trade = |f: &Value| orders::my_trade(&binance, f, quote);
    let fills = kept_fills(
        shared,
        signed.account,
        symbol,
        (limit, from.is_some() || start.is_some()),
        |id| order.as_deref().is_none_or(|o| o == id),
        |f| {
            let t = trade(f);
            let (id, time) = (t["id"].as_u64(), t["time"].as_u64());
            from.is_none_or(|f| id.is_some_and(|id| id >= f))
                && start.is_none_or(|s| time.is_some_and(|time| time >= s))
                && end.is_none_or(|e| time.is_some_and(|time| time <= e))
        },
    );
    Ok(Value::Array(fills.iter().map(trade).collect()).to_string())
}
