//! The Binance dialect's HTTP side (`docs/binance.md`): REST under
//! `/binance/api/v3/` and the market streams' WebSocket upgrade at
//! `/binance/ws[/<stream>]` and `/binance/stream?streams=a/b`. Reads about
//! one symbol are answered by its task (`BinanceQuery`), like the polling
//! API's. Every answer carries `X-MBX-USED-WEIGHT-1M`; errors are
//! Binance's `{"code","msg"}` with its HTTP statuses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::{mpsc, oneshot, watch};

use super::{Body, Dialect, response, upgrade};
use crate::binance::ApiError;
use crate::binance::names::{find_symbol, parse_stream};
use crate::gateway::binance::{signed, wall_ms};
use crate::gateway::commands::{BinanceQuery, PollQuery, StreamCommand, SymbolCommand};
use crate::gateway::shared::Shared;
use crate::protocol::{Channel, StreamId};
use crate::query;
use crate::stats::Interval;
use crate::types::SymbolId;

pub const PREFIX: &str = "/binance/";

use crate::bus::forward::BinanceRest;
use crate::bus::subjects;
use crate::gateway::bus::binance as bus;

type Answer = Result<String, ApiError>;

pub async fn route(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    stop_done: (watch::Receiver<bool>, mpsc::Sender<()>),
    peer: std::net::IpAddr,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let rest = &path[PREFIX.len() - 1..];
    // A cluster gateway serves the dialect's market data from its own
    // state and forwards the signed requests to the engine.
    let gateway = shared.config.is_cluster_gateway();
    if rest == "/ws-api/v3" {
        return upgrade(request, shared, stop_done, Dialect::BinanceApi, peer);
    }
    let method = request.method().as_str().to_string();
    let streams = rest == "/ws" || rest.starts_with("/ws/") || rest == "/stream";
    let endpoint = rest.strip_prefix("/api/v3/").unwrap_or("").to_string();
    // The weight is counted, and the limit applied, before anything is
    // done: a refused request changes nothing.
    let used = match charge(&shared, peer, weight(&method, &endpoint, &query)) {
        Ok(used) => used,
        Err((used, e)) => return answer(used, Err(e)),
    };
    if streams {
        return match stream_names(&shared, rest, &query) {
            Ok(dialect) => upgrade(request, shared, stop_done, dialect, peer),
            Err(e) => answer(used, Err(e)),
        };
    }
    if endpoint.is_empty() {
        return answer(used, Err(ApiError::unsupported(&path)));
    }
    if SIGNED.contains(&endpoint.as_str()) {
        let key = request
            .headers()
            .get("x-mbx-apikey")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match body_of(request).await {
            Ok(body) => body,
            Err(e) => return answer(used, Err(e)),
        };
        if gateway {
            let request = BinanceRest {
                method,
                endpoint,
                query,
                body,
                key,
            };
            return forwarded(used, &shared, request).await;
        }
        let result = match signed::check(&shared, key.as_deref(), &query, &body) {
            Ok(checked) => signed::serve(&shared, &method, &endpoint, checked).await,
            Err(e) => Err(e),
        };
        return answer(used, result);
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let what = format!("{method} {path}");
        return answer(used, Err(ApiError::unsupported(&what)));
    }
    answer(used, get(&shared, &endpoint, &query).await)
}

/// A request's weight (Binance's): by endpoint, and for `depth` by its
/// `limit`, for the tickers by whether one symbol is asked.
fn weight(method: &str, endpoint: &str, query: &str) -> u64 {
    let one_symbol = param(query, "symbol").is_ok_and(|s| s.is_some());
    match (method, endpoint) {
        (_, "exchangeInfo") => 20,
        (_, "depth") => match limit(query, 100, 5000).unwrap_or(1) {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        },
        (_, "trades") => 25,
        (_, "aggTrades") => 4,
        (_, "klines") => 2,
        (_, "ticker/24hr") if !one_symbol => 80,
        (_, "ticker/price" | "ticker/bookTicker") if !one_symbol => 4,
        (_, "ticker/24hr" | "ticker/price" | "ticker/bookTicker") => 2,
        ("GET", "order") => 4,
        ("GET", "openOrders") => 6,
        ("GET", "account" | "allOrders" | "myTrades") => 20,
        _ => 1,
    }
}

/// Counts `weight` for the client's address this minute: the weight used
/// so far, or (past the limit) that and the refusal.
fn charge(shared: &Shared, peer: std::net::IpAddr, weight: u64) -> Result<u64, (u64, ApiError)> {
    let minute = shared.clock.uptime_ms() / 60_000;
    let used = shared.binance_weights.add(peer, minute, weight);
    let limit = shared.config.binance_weight_per_minute;
    if limit > 0 && used > limit {
        let message = format!(
            "Too much request weight used; current limit is {limit} request weight per 1 MINUTE (used {used})."
        );
        return Err((used, ApiError::too_many(message)));
    }
    Ok(used)
}

/// The endpoints that need a signature.
const SIGNED: [&str; 6] = [
    "order",
    "order/test",
    "openOrders",
    "allOrders",
    "account",
    "myTrades",
];

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// A request's body as text (form parameters), at most `MAX_BODY` bytes.
async fn body_of(request: Request<Incoming>) -> Result<String, ApiError> {
    use http_body_util::BodyExt;
    let limited = http_body_util::Limited::new(request.into_body(), MAX_BODY);
    let bytes = limited
        .collect()
        .await
        .map_err(|_| {
            ApiError::new(
                400,
                -1100,
                format!("The request body could not be read (at most {MAX_BODY} bytes)."),
            )
        })?
        .to_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::illegal("body", "it is not UTF-8"))
}

/// A cluster gateway's signed request, carried out by the engine.
async fn forwarded(used: u64, shared: &Shared, request: BinanceRest) -> Response<Body> {
    match bus::ask(shared, subjects::BINANCE_REST, request.encode()).await {
        Ok(a) => {
            let mut response = answer(used, Ok(a.body));
            *response.status_mut() =
                StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_REQUEST);
            response
        }
        Err(e) => answer(used, Err(e)),
    }
}

/// The answer, with the weight `used` this minute.
fn answer(used: u64, result: Answer) -> Response<Body> {
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.body(),
        ),
    };
    let mut response = response(status, "application/json;charset=UTF-8", Bytes::from(body));
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&used.to_string()) {
        headers.insert("x-mbx-used-weight", v.clone());
        headers.insert("x-mbx-used-weight-1m", v);
    }
    response
}

/// The streams a WebSocket URL names: `/ws/<name>` (raw; a last part that
/// is not a stream name, such as ccxt's `/ws/0`, names none), or
/// `/stream?streams=a/b` (combined).
fn stream_names(shared: &Shared, rest: &str, query: &str) -> Result<Dialect, ApiError> {
    let (combined, names) = if rest == "/stream" {
        let names = query::param(query, "streams")
            .map_err(|e| ApiError::illegal("streams", &e))?
            .unwrap_or_default();
        (true, names)
    } else {
        (false, rest.strip_prefix("/ws/").unwrap_or("").to_string())
    };
    let mut streams = Vec::new();
    for name in names.split('/').filter(|n| !n.is_empty()) {
        if !combined && !name.contains('@') {
            continue;
        }
        let (symbol, stream) = parse_stream(&shared.instruments, name)
            .map_err(|e| ApiError::new(400, -1121, format!("Invalid stream: {e}.")))?;
        streams.push(StreamId {
            symbol,
            channel: Channel::Binance(crate::binance::Framed { stream, combined }),
        });
    }
    streams.sort_unstable();
    streams.dedup();
    Ok(Dialect::Binance { combined, streams })
}

/// A GET of `/binance/api/v3/<endpoint>`.
async fn get(shared: &Shared, endpoint: &str, query: &str) -> Answer {
    match endpoint {
        "ping" => Ok("{}".into()),
        "time" => Ok(format!("{{\"serverTime\":{}}}", wall_ms())),
        "exchangeInfo" => exchange_info(shared, query),
        "depth" => {
            let limit = limit(query, 100, 5000)?;
            one(shared, query, BinanceQuery::Depth { limit }).await
        }
        "trades" => {
            let limit = limit(query, 500, 1000)?;
            one(shared, query, BinanceQuery::Trades { limit }).await
        }
        "aggTrades" => agg_trades(shared, query).await,
        "klines" => klines(shared, query).await,
        "ticker/24hr" => many(shared, query, BinanceQuery::Ticker24h).await,
        "ticker/price" => many(shared, query, BinanceQuery::Price).await,
        "ticker/bookTicker" => many(shared, query, BinanceQuery::BookTicker).await,
        other => Err(ApiError::unsupported(&format!("/api/v3/{other}"))),
    }
}

fn param(query: &str, name: &str) -> Result<Option<String>, ApiError> {
    query::param(query, name)
        .map(|v| v.filter(|v| !v.is_empty()))
        .map_err(|e| ApiError::illegal(name, &e))
}

fn number(query: &str, name: &str) -> Result<Option<u64>, ApiError> {
    match param(query, name)? {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::illegal(name, &format!("{v:?} is not a whole number"))),
    }
}

/// `limit`, `default` when absent, at most `max` (more is `max`, as on
/// Binance); zero is refused.
fn limit(query: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    match number(query, "limit")? {
        None => Ok(default),
        Some(0) => Err(ApiError::invalid("limit", "it must be at least 1")),
        Some(n) => Ok((n as usize).min(max)),
    }
}

fn symbol(shared: &Shared, query: &str) -> Result<SymbolId, ApiError> {
    let name = param(query, "symbol")?.ok_or_else(|| ApiError::missing("symbol"))?;
    find_symbol(&shared.instruments, &name).ok_or_else(|| ApiError::bad_symbol(&name))
}

/// Asks a symbol's task.
async fn ask(shared: &Shared, symbol: SymbolId, query: BinanceQuery) -> Answer {
    let (reply, answer) = oneshot::channel();
    let poll = PollQuery::Binance(query);
    let command = SymbolCommand::Streams(StreamCommand::Poll { query: poll, reply });
    shared.command(symbol, command).await;
    match tokio::time::timeout(Duration::from_secs(5), answer).await {
        Ok(Ok(Some(body))) => Ok(body),
        _ => Err(ApiError::new(
            503,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )),
    }
}

/// A read of the `symbol` parameter's market.
async fn one(shared: &Shared, query: &str, read: BinanceQuery) -> Answer {
    let id = symbol(shared, query)?;
    ask(shared, id, read).await
}

/// A read of one symbol (`symbol`), several (`symbols=["A","B"]`) or all
/// (neither): an object for one, an array otherwise.
async fn many(shared: &Shared, query: &str, read: BinanceQuery) -> Answer {
    let symbols = match (param(query, "symbol")?, param(query, "symbols")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                400,
                -1101,
                "Combination of optional parameters invalid: send symbol or symbols, not both.",
            ));
        }
        (Some(_), None) => return one(shared, query, read).await,
        (None, Some(list)) => symbol_list(shared, &list)?,
        (None, None) => shared.instruments.ids().collect(),
    };
    let mut out = String::from("[");
    for (i, id) in symbols.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&ask(shared, id, read).await?);
    }
    out.push(']');
    Ok(out)
}

/// `symbols=["BTCUSD","ETHUSD"]`.
fn symbol_list(shared: &Shared, list: &str) -> Result<Vec<SymbolId>, ApiError> {
    let names: Vec<String> = serde_json::from_str(list).map_err(|_| {
        ApiError::illegal(
            "symbols",
            "it must be a JSON array of symbols, [\"BTCUSD\"]",
        )
    })?;
    if names.is_empty() {
        return Err(ApiError::missing("symbols"));
    }
    names
        .iter()
        .map(|n| find_symbol(&shared.instruments, n).ok_or_else(|| ApiError::bad_symbol(n)))
        .collect()
}

async fn agg_trades(shared: &Shared, query: &str) -> Answer {
    let limit = limit(query, 500, 1000)?;
    let read = BinanceQuery::AggTrades {
        limit,
        from_id: number(query, "fromId")?,
        start: number(query, "startTime")?,
        end: number(query, "endTime")?,
    };
    one(shared, query, read).await
}

async fn klines(shared: &Shared, query: &str) -> Answer {
    let name = param(query, "interval")?.ok_or_else(|| ApiError::missing("interval"))?;
    let interval = Interval::parse(&name).ok_or_else(|| ApiError::bad_interval(&name))?;
    let read = BinanceQuery::Klines {
        interval,
        limit: limit(query, 500, 1000)?,
        start: number(query, "startTime")?,
        end: number(query, "endTime")?,
    };
    one(shared, query, read).await
}

/// `exchangeInfo`: every symbol (or those of `symbol`/`symbols`), with
/// its filters from the instrument.
fn exchange_info(shared: &Shared, query: &str) -> Answer {
    let ids: Vec<SymbolId> = match (param(query, "symbol")?, param(query, "symbols")?) {
        (Some(name), _) => vec![
            find_symbol(&shared.instruments, &name).ok_or_else(|| ApiError::bad_symbol(&name))?,
        ],
        (None, Some(list)) => symbol_list(shared, &list)?,
        (None, None) => shared.instruments.ids().collect(),
    };
    let mut out = format!(
        "{{\"timezone\":\"UTC\",\"serverTime\":{},\"rateLimits\":[{{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":{}}}],\"exchangeFilters\":[],\"symbols\":[",
        wall_ms(),
        shared.config.binance_weight_per_minute
    );
    for (n, id) in ids.into_iter().enumerate() {
        let Some(i) = shared.instrument(id) else {
            continue;
        };
        if n > 0 {
            out.push(',');
        }
        let zero_price = i.format_price(crate::types::Price(0));
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "{{\"symbol\":\"{sym}\",\"status\":\"TRADING\",\"baseAsset\":\"{base}\",\"baseAssetPrecision\":{qd},\"quoteAsset\":\"{quote}\",\"quotePrecision\":{pd},\"quoteAssetPrecision\":{pd},\"baseCommissionPrecision\":{qd},\"quoteCommissionPrecision\":{pd},\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\"],\"icebergAllowed\":false,\"ocoAllowed\":false,\"otoAllowed\":false,\"quoteOrderQtyMarketAllowed\":false,\"allowTrailingStop\":false,\"cancelReplaceAllowed\":false,\"amendAllowed\":false,\"isSpotTradingAllowed\":true,\"isMarginTradingAllowed\":false,\"filters\":[{{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"{tick}\",\"maxPrice\":\"{zero_price}\",\"tickSize\":\"{tick}\"}},{{\"filterType\":\"LOT_SIZE\",\"minQty\":\"{lot}\",\"maxQty\":\"{max}\",\"stepSize\":\"{lot}\"}},{{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"{lot}\",\"maxQty\":\"{max}\",\"stepSize\":\"{lot}\"}},{{\"filterType\":\"NOTIONAL\",\"minNotional\":\"{zero_price}\",\"applyMinToMarket\":false,\"maxNotional\":\"{zero_price}\",\"applyMaxToMarket\":false,\"avgPriceMins\":0}}],\"permissions\":[],\"permissionSets\":[[\"SPOT\"]],\"defaultSelfTradePreventionMode\":\"EXPIRE_TAKER\",\"allowedSelfTradePreventionModes\":[\"EXPIRE_TAKER\"]}}",
                sym = i.binance_symbol(),
                base = i.base_asset(),
                quote = i.quote_asset(),
                qd = i.qty_decimals,
                pd = i.price_decimals,
                tick = i.format_price(i.price_from_decimal(i.tick_size).unwrap_or_default()),
                lot = i.format_qty(i.qty_from_decimal(i.lot_size).unwrap_or_default()),
                max = i.format_qty(i.max_qty),
            ),
        );
    }
    out.push_str("]}");
    Ok(out)
}
