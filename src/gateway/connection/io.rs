//! The socket as tungstenite sees it: it reads the client's frames from
//! the socket itself, and whatever it writes on its own (pongs, the answer
//! to a client's close) goes into the connection's outbox as frames framed
//! already, so every byte the connection sends is written in one place, in
//! order (`fanout::wire`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::fanout::Outbox;
use crate::gateway::shared::Shared;

pub struct SocketIo {
    pub socket: Arc<TcpStream>,
    pub outbox: Arc<Outbox>,
}

impl AsyncRead for SocketIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.socket.poll_read_ready(cx))?;
            // `try_read` clears the readiness when it would block, so the
            // next `poll_read_ready` waits for real.
            match self.socket.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for SocketIo {
    /// Takes the whole buffer at once: tungstenite hands over whole frames
    /// per write, and the outbox never splits what it is given.
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.outbox.push_raw(Bytes::copy_from_slice(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Sized for many connections: a small read buffer (512 B holds an order
/// or two; requests are small; a bigger one is reserved only while a bigger
/// message arrives; each connection keeps its read buffer resident, so
/// 4 KiB here would be half an idle connection's memory), and PROTOCOL.md's
/// message limit. Writes do not go through tungstenite's buffer but
/// straight to the socket (`fanout::wire`).
pub fn ws_config(shared: &Shared) -> WebSocketConfig {
    let max = shared.config.max_message_bytes;
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}
