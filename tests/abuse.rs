//! Abuse a server on the internet meets, over real sockets: more
//! connections than the cap (HTTP 503) or than one address may have (429),
//! an address opening connections faster than its rate (429, Retry-After),
//! slow HTTP clients (slowloris: a request head sent a little at a time,
//! or nothing at all) dropped at the header timeout, and thousands of
//! connections opened and dropped in a loop leaving no connection or task
//! behind.

mod common;

use std::time::Duration;

use common::{Read, Server, config};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The status of a WebSocket upgrade's answer.
async fn upgrade_status(server: &Server) -> (u16, String) {
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Ok(_) => (101, String::new()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            (response.status().as_u16(), body)
        }
        Err(e) => panic!("upgrade: {e}"),
    }
}

#[tokio::test]
async fn the_connection_cap_answers_503_and_one_address_its_own_limit_429() {
    let mut cfg = config(0.01);
    cfg.max_connections = 3;
    cfg.max_connections_per_ip = 2;
    let server = Server::start(cfg).await;
    let a = server.client().await;
    let b = server.client().await;
    // 127.0.0.1 has its two.
    let (status, body) = upgrade_status(&server).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("too many connections from this address"),
        "{body}"
    );
    assert_eq!(
        server
            .metric("tickwire_connections_rejected_per_address_total")
            .await,
        1.0
    );
    // A connection closed gives its address's slot back.
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let _c = loop {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(server.ws_url()).await {
            break ws;
        }
        assert!(tokio::time::Instant::now() < deadline, "the slot came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(b);
    server.stop().await;

    // The server's cap, from addresses without a limit of their own.
    let mut cfg = config(0.01);
    cfg.max_connections = 2;
    let server = Server::start(cfg).await;
    let _a = server.client().await;
    let _b = server.client().await;
    let (status, body) = upgrade_status(&server).await;
    assert_eq!((status, body.as_str()), (503, "too many connections\n"));
    assert_eq!(
        server.metric("tickwire_connections_rejected_total").await,
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn an_address_opening_connections_too_fast_is_answered_429_with_retry_after() {
    let mut cfg = config(0.01);
    // One new connection every 10 s: a burst of one.
    cfg.connection_rate_per_ip = 0.1;
    let server = Server::start(cfg).await;
    let _first = server.client().await;
    let refused = match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response,
        other => panic!("the second connection within 10 s was let in: {other:?}"),
    };
    assert_eq!(refused.status().as_u16(), 429);
    let body = String::from_utf8_lossy(refused.body().as_deref().unwrap_or_default()).to_string();
    assert!(body.contains("too many new connections"), "{body}");
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        server
            .metric("tickwire_connections_rejected_connection_rate_total")
            .await,
        1.0
    );
    // Another address has its own bucket.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.2:0".parse().expect("an address"))
        .expect("bind 127.0.0.2");
    let stream = socket.connect(server.addr).await.expect("connect");
    let (_other, _) = tokio_tungstenite::client_async(server.ws_url(), stream)
        .await
        .expect("127.0.0.2 let in");
    server.stop().await;
}

/// Reads until the server closes the socket; how long that took.
async fn closed_within(socket: &mut TcpStream, limit: Duration) -> Duration {
    let start = tokio::time::Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(start + limit, socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {} // a 408 answer, then the close
            Err(_) => panic!("the socket was still open after {limit:?}"),
        }
    }
}

/// A client that keeps sending past its request rate is closed (1008) at
/// the hundredth refusal within 10 s; until then each gets
/// `rate_limited`, and another client is answered all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_requests_is_closed_and_the_others_are_not() {
    let mut cfg = config(0.01);
    cfg.requests_per_sec = 1.0;
    cfg.request_burst = 10.0;
    let server = Server::start(cfg).await;
    let mut flooder = server.client().await;
    let mut other = server.client().await;
    for id in 0..300 {
        flooder.send(json!({"op":"ping","id":id})).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    let close = loop {
        match flooder.read().await {
            Read::Text(t) if t.contains("\"pong\"") => pongs += 1,
            Read::Text(t) if t.contains("\"rate_limited\"") => limited += 1,
            Read::Text(t) => panic!("unexpected {t}"),
            Read::Close(frame) => break frame,
            Read::Ended => panic!("ended without a close frame"),
        }
    };
    let close = close.expect("a close frame");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1008, "rate limit exceeded")
    );
    // The burst's ten (a token may come back meanwhile), then refusals
    // up to the hundredth.
    assert!((10..=12).contains(&pongs), "{pongs} pongs");
    assert_eq!(limited, 100);
    assert_eq!(other.request(json!({"op":"ping"}), 1).await["type"], "pong");
    assert_eq!(
        server.metric("tickwire_rate_limit_disconnects_total").await,
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn slow_http_clients_are_dropped_at_the_header_timeout() {
    let mut cfg = config(0.01);
    cfg.header_timeout = Duration::from_millis(500);
    let server = Server::start(cfg).await;
    // A request head trickled a byte at a time (about 5 s of it, never
    // finished), until the server stops taking it.
    let mut head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec();
    head.extend([b'a'; 200]);
    let mut trickle = TcpStream::connect(server.addr).await.expect("connect");
    let mut written = 0;
    for byte in &head {
        if trickle.write_all(&[*byte]).await.is_err() {
            break;
        }
        written += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Cut off while the head was still coming: the header timeout, not
    // the end of the trickle, ended it.
    assert!(written < head.len(), "the whole trickled head was taken");
    closed_within(&mut trickle, Duration::from_secs(5)).await;
    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    closed_within(&mut silent, Duration::from_secs(5)).await;
    // Meanwhile a client that sends its request at once is answered.
    assert_eq!(server.http_get("/healthz").await.0, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_opened_and_dropped_in_a_loop_leave_nothing_behind() {
    let server = Server::start(config(0.2)).await;
    // Warm up: one round, so what the server keeps for good (worker
    // threads' buffers, the symbols' tasks) is there before counting.
    churn(&server, 100).await;
    let tasks_before = settled_tasks(&server).await;
    let rss_before = server.metric("process_resident_memory_bytes").await;
    churn(&server, 3_000).await;
    let tasks_after = settled_tasks(&server).await;
    let rss_after = server.metric("process_resident_memory_bytes").await;
    assert_eq!(server.metric("tickwire_connections").await, 0.0);
    assert!(
        server.metric("tickwire_connections_closed_total").await >= 3_100.0,
        "every connection closed and counted"
    );
    assert_eq!(
        tasks_after, tasks_before,
        "tasks alive before and after 3,000 connections"
    );
    eprintln!(
        "resident memory: {:.1} MiB before, {:.1} MiB after 3,000 connections",
        rss_before / 1048576.0,
        rss_after / 1048576.0
    );
    server.stop().await;
}

/// Opens `count` connections, 100 at a time, each subscribing to a stream
/// and reading its snapshot, or dropping at once, or closing properly.
async fn churn(server: &Server, count: usize) {
    for round in 0..count / 100 {
        let mut opened = Vec::new();
        for i in 0..100 {
            let url = server.ws_url();
            opened.push(tokio::spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
                use futures_util::SinkExt;
                match (round + i) % 3 {
                    0 => drop(ws),
                    1 => {
                        let subscribe = r#"{"op":"subscribe","id":1,"channels":["book"],"symbols":["BTC-USD"]}"#;
                        let _ = ws.send(subscribe.into()).await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
                        drop(ws);
                    }
                    _ => {
                        let _ = ws.close(None).await;
                        while let Ok(Some(Ok(_))) =
                            tokio::time::timeout(Duration::from_secs(5), ws.next()).await
                        {}
                    }
                }
            }));
        }
        for task in opened {
            task.await.expect("a client");
        }
    }
}

/// `tickwire_tasks` once every connection is gone and it stops moving.
async fn settled_tasks(server: &Server) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = f64::NAN;
    loop {
        let open = server.metric("tickwire_connections").await;
        let tasks = server.metric("tickwire_tasks").await;
        if open == 0.0 && tasks == last {
            return tasks;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "connections {open}, tasks {tasks}: not settling"
        );
        last = tasks;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
