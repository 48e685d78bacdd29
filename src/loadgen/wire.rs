//! The load generator's own WebSocket client: the handshake, then frames
//! parsed straight out of one read buffer, without a message allocation or
//! UTF-8 validation per message, so that one core can read millions of
//! messages per second and the generator measures the server, not itself.
//!
//! Reading is split in two so it can sit in a `select!`: `fill` (one read,
//! cancel-safe) and `parse` (synchronous). Control replies (pong, close) are
//! queued and written by `flush`, which callers run in a branch body.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::dial::{Dialer, Stream};

/// Largest message the client accepts (a book snapshot is a few KiB).
const MAX_MESSAGE: usize = 16 << 20;

pub struct WsClient {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A fragmented message being put together.
    fragments: Vec<u8>,
    fragmented: bool,
    /// Frames waiting to be written (pongs, the close reply, requests).
    out: Vec<u8>,
    mask_state: u32,
    closed: bool,
}

/// A server's WebSocket URL, taken apart.
#[derive(Debug, PartialEq)]
pub struct Url {
    pub addr: SocketAddr,
    pub path: String,
    /// `wss://`
    pub tls: bool,
}

/// `ws://IP:PORT/path` or `wss://IP:PORT/path`.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let (rest, tls) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => return Err(format!("{url:?}: the URL must start with ws:// or wss://")),
    };
    let (host, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let addr = host
        .parse::<SocketAddr>()
        .map_err(|_| format!("{url:?}: the host must be IP:PORT, like 127.0.0.1:8080"))?;
    Ok(Url {
        addr,
        path: path.to_string(),
        tls,
    })
}

impl WsClient {
    /// Connects from `source` (port chosen by the system) and upgrades.
    pub async fn connect(dialer: &Dialer, source: IpAddr, path: &str) -> io::Result<WsClient> {
        let target = dialer.target;
        let mut stream = dialer.open(source).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buf = vec![0u8; 8192];
        let mut end = 0;
        let header_end = loop {
            if end == buf.len() {
                return Err(io::Error::other("the upgrade response is too long"));
            }
            let n = stream.read(&mut buf[end..]).await?;
            if n == 0 {
                return Err(io::Error::other("closed during the upgrade"));
            }
            end += n;
            if let Some(at) = buf[..end].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let status = buf[..header_end]
            .split(|&b| b == b' ')
            .nth(1)
            .unwrap_or(b"");
        if status != b"101" {
            let line = String::from_utf8_lossy(&buf[..header_end]);
            let line = line.lines().next().unwrap_or("").to_string();
            return Err(io::Error::other(format!("upgrade refused: {line}")));
        }
        Ok(WsClient {
            stream,
            buf,
            start: header_end,
            end,
            fragments: Vec::new(),
            fragmented: false,
            out: Vec::new(),
            mask_state: 0x9E37_79B9 ^ target.port() as u32,
            closed: false,
        })
    }

    /// Reads once; `Ok(0)` means the peer closed the TCP connection.
    /// Cancel-safe: nothing is lost if the future is dropped.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() >= MAX_MESSAGE {
                return Err(io::Error::other("a message is larger than 16 MiB"));
            } else {
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Hands every complete text message in the buffer to `on_text`;
    /// answers pings and closes (queued for `flush`). Returns false once the
    /// server has closed the WebSocket.
    pub fn parse(&mut self, mut on_text: impl FnMut(&[u8])) -> io::Result<bool> {
        loop {
            let data = &self.buf[self.start..self.end];
            let Some((header, len, opcode, fin)) = frame_header(data)? else {
                break;
            };
            if data.len() < header + len {
                break;
            }
            let payload = &data[header..header + len];
            match opcode {
                0x0 => {
                    if self.fragments.len() + len > MAX_MESSAGE {
                        return Err(io::Error::other("a message is larger than 16 MiB"));
                    }
                    self.fragments.extend_from_slice(payload);
                    if fin {
                        if self.fragmented {
                            on_text(&self.fragments);
                        }
                        self.fragments.clear();
                    }
                }
                0x1 if fin => on_text(payload),
                0x1 | 0x2 => {
                    self.fragmented = opcode == 0x1;
                    self.fragments.clear();
                    self.fragments.extend_from_slice(payload);
                }
                0x8 if !self.closed => {
                    let code = payload.get(..2).unwrap_or(&[]).to_vec();
                    queue_frame(&mut self.out, &mut self.mask_state, 0x8, &code);
                    self.closed = true;
                }
                0x9 => {
                    let payload = payload.to_vec();
                    queue_frame(&mut self.out, &mut self.mask_state, 0xA, &payload);
                }
                _ => {} // binary, pong
            }
            self.start += header + len;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(!self.closed)
    }

    /// Queues a text frame (masked, as a client must).
    pub fn queue_text(&mut self, text: &[u8]) {
        queue_frame(&mut self.out, &mut self.mask_state, 0x1, text);
    }

    /// Writes every queued frame.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Sends a close frame (1000) and shuts the socket down.
    pub async fn close(mut self) {
        if !self.closed {
            queue_frame(
                &mut self.out,
                &mut self.mask_state,
                0x8,
                &1000u16.to_be_bytes(),
            );
        }
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }
}

/// The header length, payload length, opcode and FIN bit of the frame at
/// the start of `data`, or None until the header is complete.
fn frame_header(data: &[u8]) -> io::Result<Option<(usize, usize, u8, bool)>> {
    if data.len() < 2 {
        return Ok(None);
    }
    let (fin, opcode) = (data[0] & 0x80 != 0, data[0] & 0x0F);
    if data[1] & 0x80 != 0 {
        return Err(io::Error::other("the server sent a masked frame"));
    }
    let (header, len) = match data[1] & 0x7F {
        126 if data.len() >= 4 => (4, u16::from_be_bytes([data[2], data[3]]) as usize),
        127 if data.len() >= 10 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&data[2..10]);
            (10, u64::from_be_bytes(bytes) as usize)
        }
        126 | 127 => return Ok(None),
        len => (2, len as usize),
    };
    if len > MAX_MESSAGE {
        return Err(io::Error::other("a frame is larger than 16 MiB"));
    }
    Ok(Some((header, len, opcode, fin)))
}

/// Appends one masked frame to `out`.
fn queue_frame(out: &mut Vec<u8>, mask_state: &mut u32, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    // xorshift: masks need not be secret for a load generator.
    let mut x = *mask_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *mask_state = x;
    let mask = x.to_be_bytes();
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_each_length_form() {
        assert_eq!(frame_header(&[0x81]).unwrap(), None);
        assert_eq!(frame_header(&[0x81, 5]).unwrap(), Some((2, 5, 1, true)));
        assert_eq!(frame_header(&[0x01, 126, 1]).unwrap(), None);
        assert_eq!(
            frame_header(&[0x81, 126, 1, 0]).unwrap(),
            Some((4, 256, 1, true))
        );
        let mut long = vec![0x82, 127];
        long.extend_from_slice(&70_000u64.to_be_bytes());
        assert_eq!(frame_header(&long).unwrap(), Some((10, 70_000, 2, true)));
        assert!(frame_header(&[0x81, 0x85]).is_err(), "masked from a server");
    }

    #[test]
    fn queued_frames_are_masked_and_unmask_back() {
        let mut out = Vec::new();
        let mut state = 7;
        queue_frame(&mut out, &mut state, 1, b"hello");
        assert_eq!(out[0], 0x81);
        assert_eq!(out[1], 0x80 | 5);
        let mask = &out[2..6];
        let text: Vec<u8> = out[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(text, b"hello");
    }

    #[test]
    fn urls_are_checked() {
        let url = parse_url("ws://127.0.0.1:9000/ws").unwrap();
        assert_eq!(
            (url.addr.port(), url.path.as_str(), url.tls),
            (9000, "/ws", false)
        );
        let url = parse_url("wss://127.0.0.1:9443").unwrap();
        assert_eq!(
            (url.addr.port(), url.path.as_str(), url.tls),
            (9443, "/", true)
        );
        assert!(parse_url("http://127.0.0.1:9000/ws").is_err());
        assert!(parse_url("ws://localhost:9000/ws").is_err());
    }
}
