//! The HTTP side of the port: the accept loop, the routes, and the upgrade
//! of `GET /ws` into a WebSocket.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::{Shared, connection, metrics};
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
        let (shared, mut stop, done) = (shared.clone(), stop.clone(), done.clone());
        tokio::spawn(async move {
            let service = {
                let (shared, stop, done) = (shared.clone(), stop.clone(), done.clone());
                service_fn(move |request| {
                    route(request, shared.clone(), stop.clone(), done.clone())
                })
            };
            let conn = http1::Builder::new()
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
) -> Result<Response<Body>, Infallible> {
    if request.method() != Method::GET {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET is served here\n",
        ));
    }
    Ok(match request.uri().path() {
        "/ws" => upgrade(request, shared, stop, done),
        "/healthz" => response(
            StatusCode::OK,
            "application/json",
            encode::health(&shared.mode),
        ),
        "/metrics" => response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics::render(&shared),
        ),
        "/api/instruments" => {
            let body = encode::instruments(&None, &shared.instruments, &shared.mode);
            response(
                StatusCode::OK,
                "application/json",
                Bytes::from(body.as_str().to_string()),
            )
        }
        "/" | "/index.html" => index(&shared).await,
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
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
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) -> Response<Body> {
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
    let Ok(permit) = shared.connection_slots.clone().try_acquire_owned() else {
        shared.metrics.rejected_connections.fetch_add(1, Relaxed);
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many connections\n");
    };
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return text(StatusCode::BAD_REQUEST, "bad Sec-WebSocket-Key\n");
    };
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => {
                let config = ws_config(&shared);
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                connection::run(ws, shared, stop, permit, done).await;
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
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

/// Sized for many connections: a small read buffer (512 B holds an order or
/// two; requests are small;
/// a bigger one is reserved only while a bigger message arrives; each
/// connection keeps its read buffer resident, so 4 KiB here would be half
/// an idle connection's memory), a write buffer that batches frames into
/// few syscalls, and PROTOCOL.md's message limit.
fn ws_config(shared: &Shared) -> WebSocketConfig {
    let max = shared.config.max_message_bytes;
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(32 << 10)
        .max_write_buffer_size(32 << 10 | 4 << 20)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// The web UI if it is built, else a page that says how to connect.
async fn index(shared: &Shared) -> Response<Body> {
    if let Some(dir) = &shared.config.web_dir
        && let Ok(page) = tokio::fs::read(dir.join("index.html")).await
    {
        return response(StatusCode::OK, "text/html; charset=utf-8", page);
    }
    let mut rows = String::new();
    for i in shared.instruments.iter() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.symbol,
            i.tick_size,
            i.lot_size,
            i.format_qty(i.max_qty)
        ));
    }
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tickwire</title></head><body>\
         <h1>tickwire</h1><p>A simulated exchange feed. Connect a WebSocket to <code>/ws</code> on this host and port, \
         for example:</p><pre>websocat ws://HOST/ws\n{{\"op\":\"subscribe\",\"id\":1,\"channels\":[\"book\",\"trades\"],\"symbols\":[\"BTC-USD\"]}}</pre>\
         <h2>Instruments</h2><table><tr><th>symbol</th><th>tick</th><th>lot</th><th>max qty</th></tr>{rows}</table>\
         <p>Also: <a href=\"/api/instruments\">/api/instruments</a>, <a href=\"/healthz\">/healthz</a>, \
         <a href=\"/metrics\">/metrics</a>.</p></body></html>"
    );
    response(StatusCode::OK, "text/html; charset=utf-8", page)
}
