//! TLS: with a certificate generated here (self-signed, for `localhost`
//! and 127.0.0.1), the server answers `https://` and `wss://` on its port,
//! a browser-like client that trusts only that certificate verifies it,
//! plaintext on the port gets nothing, bad certificate or key files
//! are refused with errors naming them, and the load generator speaks
//! `wss://` trusting the certificate it is given (and only that one).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Server;
use futures_util::{SinkExt, StreamExt};
use tickwire::gateway::tls;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;

struct Certificate {
    dir: std::path::PathBuf,
    der: rustls_pki_types::CertificateDer<'static>,
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed certificate and its key, written as PEM files.
fn certificate(name: &str) -> Certificate {
    let dir = std::env::temp_dir().join(format!("tickwire-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("a certificate");
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).expect("cert");
    std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).expect("key");
    Certificate {
        dir,
        der: generated.cert.der().clone(),
    }
}

/// A TLS connection to the server that trusts only `cert`.
async fn connect(
    server: &Server,
    cert: &Certificate,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(cert.der.clone()).expect("a root");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let socket = TcpStream::connect(server.addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("a name");
    TlsConnector::from(Arc::new(config))
        .connect(name, socket)
        .await
        .expect("a verified TLS handshake")
}

#[tokio::test]
async fn https_and_wss_are_served_on_the_port() {
    let cert = certificate("serve");
    let mut config = common::config(1.0);
    config.tls =
        Some(tls::load(&cert.dir.join("cert.pem"), &cert.dir.join("key.pem")).expect("tls"));
    let server = Server::start(config).await;

    // https: GET /healthz.
    let mut https = connect(&server, &cert).await;
    https
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    https.read_to_string(&mut answer).await.ok();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");

    // wss: subscribe and get the book.
    let stream = connect(&server, &cert).await;
    let (mut ws, _) = tokio_tungstenite::client_async("wss://localhost/ws", stream)
        .await
        .expect("a wss handshake");
    let subscribe = r#"{"op":"subscribe","id":1,"channels":["book"],"symbols":["BTC-USD"]}"#;
    ws.send(Message::Text(subscribe.into()))
        .await
        .expect("send");
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: serde_json::Value = serde_json::from_str(&t).expect("JSON");
                kinds.push(v["type"].as_str().unwrap_or("").to_string());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(kinds, ["subscribed", "book_snapshot", "book_update"]);

    // Plaintext on the TLS port is not HTTP to it.
    let mut plain = TcpStream::connect(server.addr).await.expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut bytes)).await;
    assert!(
        !String::from_utf8_lossy(&bytes).contains("200 OK"),
        "plaintext was answered"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_load_generator_speaks_wss_trusting_the_certificate_given() {
    let cert = certificate("loadgen");
    let other = certificate("loadgen-other");
    let mut config = common::config(1.0);
    config.tls =
        Some(tls::load(&cert.dir.join("cert.pem"), &cert.dir.join("key.pem")).expect("tls"));
    let server = Server::start(config).await;
    let url = format!("wss://{}/ws", server.addr);
    let options = |ca: Option<&Certificate>| {
        let mut options = tickwire::loadgen::LoadOptions::new(&url);
        options.tls_ca = ca.map(|c| c.dir.join("cert.pem"));
        options.connections = 4;
        options.duration = Duration::from_millis(800);
        options.ramp = Duration::from_millis(100);
        options.settle_timeout = Duration::from_secs(10);
        options.server_pid = Some(std::process::id());
        options
    };

    let report = tickwire::loadgen::run(options(Some(&cert)))
        .await
        .expect("a run");
    assert_eq!((report.connected, report.subscribed), (4, 4));
    assert!(report.messages > 0, "nothing received over wss");
    assert_eq!((report.gaps, report.disconnects), (0, 0));
    // The server's counters were read over https too.
    let server_report = report.server.expect("a server report");
    assert!(server_report.sent_per_sec.is_some(), "/metrics not read");

    // Another self-signed certificate is not the server's: nothing opens.
    let report = tickwire::loadgen::run(options(Some(&other)))
        .await
        .expect("a run");
    assert_eq!(report.connected, 0);

    // wss:// without a certificate to trust, a certificate for ws://.
    let error = tickwire::loadgen::run(options(None))
        .await
        .expect_err("no --tls-ca");
    assert!(error.contains("--tls-ca"), "{error}");
    let mut plain = options(Some(&cert));
    plain.url = format!("ws://{}/ws", server.addr);
    let error = tickwire::loadgen::run(plain)
        .await
        .expect_err("ws:// with --tls-ca");
    assert!(error.contains("wss://"), "{error}");
    let mut missing = options(Some(&cert));
    missing.tls_ca = Some(cert.dir.join("missing.pem"));
    let error = tickwire::loadgen::run(missing).await.expect_err("no file");
    assert!(error.contains("missing.pem"), "{error}");
    server.stop().await;
}

#[test]
fn bad_certificate_and_key_files_are_refused_naming_them() {
    let cert = certificate("bad");
    let (cert_file, key_file) = (cert.dir.join("cert.pem"), cert.dir.join("key.pem"));
    let missing = cert.dir.join("missing.pem");
    let error = tls::load(&missing, &key_file).expect_err("no file");
    assert!(error.contains("missing.pem"), "{error}");
    let error = tls::load(&key_file, &key_file).expect_err("a key is not a certificate");
    assert!(
        error.contains("key.pem") && error.contains("no PEM certificate"),
        "{error}"
    );
    let error = tls::load(&cert_file, &cert_file).expect_err("a certificate is not a key");
    assert!(
        error.contains("cert.pem") && error.contains("private key"),
        "{error}"
    );
    let other = certificate("other");
    let error = tls::load(&cert_file, &other.dir.join("key.pem")).expect_err("another key");
    assert!(error.contains("do not go together"), "{error}");
}
