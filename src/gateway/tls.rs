//! TLS (`--tls-cert`, `--tls-key`): `https://` and `wss://` on the
//! listening port, with rustls. The handshake and the encryption happen
//! here; the plaintext goes to the same HTTP and WebSocket code as a plain
//! connection, over a loopback connection to an internal listener, so the
//! connections' zero-copy writes (`fanout::wire`, straight to a TCP socket)
//! stay as they are. That costs one copy and one loopback hop per byte of
//! a TLS connection (`docs/protocol.md`). The client's address is handed
//! over beside it (`Peers`), so per-address limits still see the client.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// A server's TLS set-up, read from PEM files: the certificate chain and
/// its private key.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no PEM certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: no PEM private key in it ({e})", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Which client each internal loopback connection carries, by the
/// internal connection's local port. Why shared: the terminating task
/// writes it before connecting, the internal accept loop reads it.
#[derive(Default)]
pub struct Peers {
    by_port: DashMap<u16, IpAddr>,
}

impl Peers {
    /// The client behind an accepted internal connection from `from`
    /// (itself if it is not one).
    pub fn client_of(&self, from: SocketAddr) -> IpAddr {
        self.by_port
            .remove(&from.port())
            .map_or(from.ip(), |(_, ip)| ip)
    }
}

/// Takes TLS connections on `public` until `stop`, each handed to the
/// plain server listening on `internal` (loopback).
pub async fn terminate(
    public: TcpListener,
    internal: SocketAddr,
    config: Arc<ServerConfig>,
    peers: Arc<Peers>,
    handshake_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let accepted = tokio::select! {
            accepted = public.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (socket, client) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, peers) = (acceptor.clone(), peers.clone());
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(socket)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    return tracing::debug!(%client, error = %e, "TLS handshake failed");
                }
                Err(_) => return tracing::debug!(%client, "TLS handshake too slow"),
            };
            let Ok(inner) = connect(internal, client.ip(), &peers).await else {
                return tracing::warn!(%client, "the internal listener refused a TLS client");
            };
            let (mut tls, mut inner) = (tls, inner);
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut inner).await;
        });
    }
}

/// A loopback connection to the internal listener, its client noted first.
async fn connect(
    internal: SocketAddr,
    client: IpAddr,
    peers: &Peers,
) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let port = socket.local_addr()?.port();
    peers.by_port.insert(port, client);
    let stream = socket.connect(internal).await;
    if stream.is_err() {
        peers.by_port.remove(&port);
    }
    let stream = stream?;
    stream.set_nodelay(true)?;
    Ok(stream)
}
