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

/// The account's fills of `symbol` (native `fill`s, oldest first, the
/// last 1,000 the account keeps).
async fn fills(proxy: &mut Proxy, symbol: &str) -> Vec<Value> {
    let answer = proxy.ask(json!({"op":"fills","since":0})).await;
    answer
        .and_then(|a| a["fills"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["symbol"] == symbol)
        .collect()
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
    let (_, instrument) = symbol_of(shared, signed)?;
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
    let fills = fills(&mut proxy, &instrument.symbol).await;
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
    let answer = refused(proxy.ask(request).await, -2013);
    let mut all_fills = BTreeMap::new();
    let mut out = Vec::new();
    if let Ok(answer) = &answer {
        for order in answer["orders"].as_array().into_iter().flatten() {
            let name = order["symbol"].as_str().unwrap_or("").to_string();
            let Some(instrument) = shared.symbol_id(&name).and_then(|id| shared.instrument(id))
            else {
                continue;
            };
            if !all_fills.contains_key(&name) {
                let f = fills(&mut proxy, &name).await;
                all_fills.insert(name.clone(), f);
            }
            out.push(object(instrument, order, &all_fills[&name]));
        }
    }
    answer.map(|_| Value::Array(out).to_string())
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
    let mut proxy = Proxy::new(shared.clone(), signed.account);
    let fills = fills(&mut proxy, &instrument.symbol).await;
    let from_start = from.is_some() || start.is_some();
    let skip = crate::binance::first_answered(natives.len(), limit, from_start);
    let objects: Vec<Value> = natives
        .iter()
        .skip(skip)
        .take(limit)
        .map(|order| object(&instrument, order, &fills))
        .collect();
    Ok(Value::Array(objects).to_string())
}

async fn my_trades(shared: &std::sync::Arc<Shared>, signed: &Signed) -> Answer {
    let (_, instrument) = symbol_of(shared, signed)?;
    let limit = number(signed, "limit")?.unwrap_or(500).clamp(1, 1000) as usize;
    let order = number(signed, "orderId")?;
    let from = number(signed, "fromId")?;
    let (start, end) = (number(signed, "startTime")?, number(signed, "endTime")?);
    let mut proxy = Proxy::new(shared.clone(), signed.account);
    let fills = fills(&mut proxy, &instrument.symbol).await;
    let quote = instrument.quote_asset();
    let trades: Vec<Value> = fills
        .iter()
        .map(|f| orders::my_trade(&instrument.binance_symbol(), f, quote))
        .filter(|t| order.is_none_or(|o| t["orderId"].as_u64() == Some(o)))
        .filter(|t| from.is_none_or(|f| t["id"].as_u64().is_some_and(|id| id >= f)))
        .filter(|t| start.is_none_or(|s| t["time"].as_u64().is_some_and(|time| time >= s)))
        .filter(|t| end.is_none_or(|e| t["time"].as_u64().is_some_and(|time| time <= e)))
        .collect();
    let from_start = from.is_some() || start.is_some();
    let skip = crate::binance::first_answered(trades.len(), limit, from_start);
    Ok(Value::Array(trades.into_iter().skip(skip).take(limit).collect()).to_string())
}
