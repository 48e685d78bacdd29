//! The HTTP side of the port: the accept loop, the routes (the web UI, health,
//! metrics, `/api/*` with CORS), and the upgrade of `GET /ws` into a
//! WebSocket.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HeaderValue,
    RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

mod binance;
mod poll;
mod prometheus;
mod web;

pub(super) use web::embedded;

use super::connection::{self, Dialect};
use super::shared::Shared;
use crate::encode;

type Body = Full<Bytes>;

/// Accepts connections until `shutdown` completes.
pub async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => return,
        };
        let (socket, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        // Behind TLS, the client is the one the terminating task names.
        let client = match shared.config.tls {
            Some(_) => shared.tls_peers.client_of(peer),
            None => peer.ip(),
        };
        let (shared, mut stop, done) = (shared.clone(), stop.clone(), done.clone());
        tokio::spawn(async move {
            let service = {
                let (shared, stop, done) = (shared.clone(), stop.clone(), done.clone());
                service_fn(move |request| {
                    route(request, shared.clone(), stop.clone(), done.clone(), client)
                })
            };
            let conn = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(shared.config.header_timeout)
                .serve_connection(TokioIo::new(socket), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "http connection error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(done);
        });
    }
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", body)
}

async fn route(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
    peer: std::net::IpAddr,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path();
    if path.starts_with(binance::PREFIX) {
        return Ok(binance::route(request, shared, (stop, done), peer).await);
    }
    let api = path.starts_with("/api/");
    let method = request.method();
    if method == Method::OPTIONS && api {
        return Ok(cors(preflight()));
    }
    if method != Method::GET && method != Method::HEAD {
        let mut refused = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served here\n",
        );
        let allow = if api {
            "GET, HEAD, OPTIONS"
        } else {
            "GET, HEAD"
        };
        refused
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return Ok(if api { cors(refused) } else { refused });
    }
    let response = match path {
        "/ws" => upgrade(request, shared, (stop, done), Dialect::Native, peer),
        "/healthz" => {
            let (healthy, body) = crate::gateway::bus::health(&shared).await;
            response(
                if healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                },
                "application/json",
                body,
            )
        }
        "/metrics" => response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            prometheus::render(&shared),
        ),
        "/api/instruments" => {
            let body = encode::instruments(&None, &shared.instruments, &shared.mode);
            response(
                StatusCode::OK,
                "application/json",
                Bytes::from(body.as_str().to_string()),
            )
        }
        _ if poll::serves(path) => {
            let query = request.uri().query().unwrap_or("").to_string();
            let (status, body) = poll::answer(&shared, path, &query).await;
            response(status, "application/json", body)
        }
        _ if api => text(StatusCode::NOT_FOUND, "not found\n"),
        _ => web_file(&shared, path).await,
    };
    Ok(if api { cors(response) } else { response })
}

/// `/api/*` may be read from pages of other origins (a Vite dev server on
/// another port, a notebook): the data is public.
fn cors(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The answer to a CORS preflight (`OPTIONS`) on `/api/*`.
fn preflight() -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    response
}

/// A file of the web UI (embedded, or from `--web-dir`), with its content
/// type and cache policy; `/` is the UI's page, or a placeholder when the
/// binary was built without one.
async fn web_file(shared: &Shared, path: &str) -> Response<Body> {
    let dir = shared.config.web_dir.as_deref();
    match web::file(dir, path).await {
        Some(file) => {
            let mut ok = response(StatusCode::OK, file.content_type, file.body);
            ok.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static(file.cache_control));
            ok
        }
        None if (path == "/" || path == "/index.html") && dir.is_none() => response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            web::placeholder(&shared.instruments),
        ),
        None => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn header_has(request: &Request<Incoming>, name: hyper::header::HeaderName, token: &str) -> bool {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}

/// Answers the WebSocket handshake and hands the upgraded connection to a
/// connection task.
fn upgrade(
    mut request: Request<Incoming>,
    shared: Arc<Shared>,
    (stop, done): (watch::Receiver<bool>, mpsc::Sender<()>),
    dialect: Dialect,
    peer: std::net::IpAddr,
) -> Response<Body> {
    if shared
        .config
        .bus
        .as_ref()
        .is_some_and(|b| b.role == crate::gateway::BusRole::Engine)
    {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "this is a cluster engine: WebSocket clients connect to its gateways\n",
        );
    }
    let key = request
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()));
    let version_ok = request
        .headers()
        .get("sec-websocket-version")
        .is_some_and(|v| v == "13");
    let Some(accept) = key.filter(|_| {
        version_ok
            && header_has(&request, UPGRADE, "websocket")
            && header_has(&request, CONNECTION, "upgrade")
    }) else {
        return text(
            StatusCode::UPGRADE_REQUIRED,
            "GET /ws is a WebSocket endpoint (version 13)\n",
        );
    };
    if let Err(wait_ms) = shared
        .new_connections
        .take(peer, shared.config.connection_rate_per_ip)
    {
        shared
            .metrics
            .rejected_connection_rate
            .fetch_add(1, Relaxed);
        let mut refused = text(
            StatusCode::TOO_MANY_REQUESTS,
            "too many new connections from this address: wait as Retry-After says\n",
        );
        refused
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(wait_ms.div_ceil(1000)));
        return refused;
    }
    let Some(address_slot) = shared
        .per_address
        .take(peer, shared.config.max_connections_per_ip)
    else {
        shared.metrics.rejected_per_address.fetch_add(1, Relaxed);
        return text(
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        );
    };
    let Ok(permit) = shared.connection_slots.clone().try_acquire_owned() else {
        shared.metrics.rejected_connections.fetch_add(1, Relaxed);
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many connections\n");
    };
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return text(StatusCode::BAD_REQUEST, "bad Sec-WebSocket-Key\n");
    };
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match upgrading.await {
            Ok(upgraded) => upgraded,
            Err(e) => return tracing::debug!(error = %e, "upgrade failed"),
        };
        // The connection writes to the socket itself (`fanout::wire`):
        // take it back from hyper, with what hyper read past the request.
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            // A task of its own: the upgrade's state (5.5 KB of future,
            // measured) is freed now instead of living as long as the
            // connection inside this one.
            Ok(parts) => {
                let socket = parts.io.into_inner();
                tokio::spawn(connection::run(
                    socket,
                    parts.read_buf,
                    shared,
                    stop,
                    (permit, address_slot, done),
                    dialect,
                ));
            }
            Err(_) => tracing::error!("an upgraded connection is not a TCP socket"),
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    response
}
