//! How the load generator reaches the server: a TCP connection from a
//! chosen source address, then, for `wss://`, TLS trusting the certificate
//! given with `--tls-ca` (a load generator is pointed at test and staging
//! servers, whose certificates are usually self-signed: there is no system
//! root store to fall back on, by design).
//!
//! The WebSocket client and the HTTP poller read and write a `Stream`,
//! plain or TLS alike; one virtual call per read of a whole buffer costs
//! nothing next to the read.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpSocket;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A connection to the server, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type Stream = Box<dyn Io>;

/// The server's address and, for `wss://`, the TLS client set-up.
pub struct Dialer {
    pub target: SocketAddr,
    tls: Option<TlsConnector>,
}

impl Dialer {
    pub fn plain(target: SocketAddr) -> Dialer {
        Dialer { target, tls: None }
    }

    /// TLS to `target`, trusting the PEM certificates in `ca` (the
    /// server's own, or the authority that signed it). The certificate
    /// must name the target's IP address (the URL's host is an address).
    pub fn tls(target: SocketAddr, ca: &Path) -> Result<Dialer, String> {
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("--tls-ca {}: {e}", ca.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("--tls-ca {}: {e}", ca.display()))?;
        if certificates.is_empty() {
            return Err(format!(
                "--tls-ca {}: no PEM certificate in it",
                ca.display()
            ));
        }
        let mut roots = RootCertStore::empty();
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| format!("--tls-ca {}: {e}", ca.display()))?;
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Dialer {
            target,
            tls: Some(TlsConnector::from(Arc::new(config))),
        })
    }

    /// Connects from `source` (port chosen by the system; ignored when its
    /// family differs from the target's), with Nagle off, then TLS if set.
    pub async fn open(&self, source: IpAddr) -> io::Result<Stream> {
        let socket = if self.target.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if source.is_ipv4() == self.target.is_ipv4() {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(self.target).await?;
        stream.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Box::new(stream)),
            Some(connector) => {
                let name = ServerName::IpAddress(self.target.ip().into());
                Ok(Box::new(connector.connect(name, stream).await?))
            }
        }
    }
}
