//! RFC 6455 to the letter, over a raw TCP socket that writes frames by
//! hand (a WebSocket library would refuse to send most of them): each
//! violation gets the close code the RFC names (1002 protocol error, 1007
//! invalid data), a close frame with a code a client may not send is
//! answered 1002, and what is allowed (fragments split inside a character,
//! pings with payloads, a close with an application code) works.

mod common;

use std::time::Duration;

use common::{Server, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);
/// A close frame without a code (the answer to one without a code).
const EMPTY: u16 = 0;
/// The socket ended without a close frame.
const ENDED: u16 = 1;

/// A WebSocket client that writes whatever bytes it is told.
struct Raw {
    socket: TcpStream,
    buffer: Vec<u8>,
}

/// One frame as read from the server.
#[derive(Debug)]
struct Frame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

impl Raw {
    async fn connect(server: &Server) -> Raw {
        let mut socket = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.addr
        );
        socket.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Raw {
            socket,
            buffer: Vec::new(),
        };
        let end = loop {
            if let Some(at) = raw.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(raw.fill().await, "the handshake's answer");
        };
        let head = String::from_utf8_lossy(&raw.buffer[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.buffer.drain(..end);
        raw
    }

    /// Reads more; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(WAIT, self.socket.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("nothing from the server in {WAIT:?}"),
        }
    }

    /// Writes one frame: `first` is FIN, RSV and opcode as sent; masked
    /// unless told otherwise.
    async fn frame(&mut self, first: u8, payload: &[u8], masked: bool) {
        let mut out = vec![first];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n <= 0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let key = [0x37, 0xfa, 0x21, 0x3d];
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        // The server may close before reading all of it: a broken pipe is
        // part of what is tested.
        let _ = self.socket.write_all(&out).await;
    }

    async fn text(&mut self, text: &[u8]) {
        self.frame(0x81, text, true).await;
    }

    /// The next frame from the server, or None when the socket ended.
    async fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse(&self.buffer) {
                self.buffer.drain(..used);
                return Some(frame);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Frames until the server's close: its code (`EMPTY` for a close
    /// frame without one, `ENDED` if the socket ended without a close
    /// frame) and reason.
    async fn close_code(&mut self) -> (u16, String) {
        while let Some(frame) = self.read_frame().await {
            if frame.opcode == 0x8 {
                let code = match frame.payload.get(..2) {
                    Some(&[a, b]) => u16::from_be_bytes([a, b]),
                    _ => EMPTY,
                };
                let reason = String::from_utf8_lossy(frame.payload.get(2..).unwrap_or(&[]));
                return (code, reason.to_string());
            }
        }
        (ENDED, String::new())
    }

    /// The next text frame (pongs and pings skipped).
    async fn next_text(&mut self) -> String {
        loop {
            let frame = self.read_frame().await.expect("a frame");
            match frame.opcode {
                0x1 => return String::from_utf8(frame.payload).expect("UTF-8 from the server"),
                0x8 => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }
}

/// A server frame at the start of `buffer` (servers never mask), and the
/// bytes it took.
fn parse(buffer: &[u8]) -> Option<(Frame, usize)> {
    let (first, second) = (*buffer.first()?, *buffer.get(1)?);
    let (len, at) = match second & 0x7F {
        126 => (
            u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?]) as usize,
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buffer.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = buffer.get(at..at + len)?.to_vec();
    let frame = Frame {
        fin: first & 0x80 != 0,
        opcode: first & 0x0F,
        payload,
    };
    Some((frame, at + len))
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

/// What a client does, and the close code it must get.
struct Case {
    name: &'static str,
    frames: Vec<(u8, Vec<u8>, bool)>,
    code: u16,
}

fn case(name: &'static str, frames: Vec<(u8, Vec<u8>, bool)>, code: u16) -> Case {
    Case { name, frames, code }
}

#[tokio::test]
async fn each_violation_gets_the_close_code_the_rfc_names() {
    let server = Server::start(config(1.0)).await;
    let ping = br#"{"op":"ping","id":1}"#.to_vec();
    let cases = [
        case(
            "invalid UTF-8 in a text frame",
            vec![(0x81, b"{\"op\":\"\xff\"}".to_vec(), true)],
            1007,
        ),
        case(
            "invalid UTF-8 across fragments",
            vec![
                (0x01, b"{\"op\":\"\xe2\x82".to_vec(), true),
                (0x80, b"\xff\"}".to_vec(), true),
            ],
            1007,
        ),
        case(
            "a truncated character at the end of a message",
            vec![(0x81, b"abc\xe2\x82".to_vec(), true)],
            1007,
        ),
        case(
            "an unmasked client frame",
            vec![(0x81, ping.clone(), false)],
            1002,
        ),
        case(
            "RSV1 set without an extension",
            vec![(0xC1, ping.clone(), true)],
            1002,
        ),
        case("RSV2 set", vec![(0xA1, ping.clone(), true)], 1002),
        case("RSV3 set", vec![(0x91, ping.clone(), true)], 1002),
        case(
            "a reserved data opcode (3)",
            vec![(0x83, ping.clone(), true)],
            1002,
        ),
        case(
            "a reserved control opcode (0xB)",
            vec![(0x8B, Vec::new(), true)],
            1002,
        ),
        case(
            "a fragmented ping",
            vec![(0x09, b"ab".to_vec(), true)],
            1002,
        ),
        case(
            "a ping of 126 bytes",
            vec![(0x89, vec![b'a'; 126], true)],
            1002,
        ),
        case(
            "a continuation with nothing to continue",
            vec![(0x80, ping.clone(), true)],
            1002,
        ),
        case(
            "a new message before the last one ended",
            vec![
                (0x01, b"{\"op\":".to_vec(), true),
                (0x81, ping.clone(), true),
            ],
            1002,
        ),
        case("a close of one byte", vec![(0x88, vec![3], true)], 1002),
        case(
            "close code 1005 (never sent)",
            vec![(0x88, close_payload(1005, b""), true)],
            1002,
        ),
        case(
            "close code 1006 (never sent)",
            vec![(0x88, close_payload(1006, b""), true)],
            1002,
        ),
        case(
            "close code 1015 (never sent)",
            vec![(0x88, close_payload(1015, b""), true)],
            1002,
        ),
        case(
            "close code 999",
            vec![(0x88, close_payload(999, b""), true)],
            1002,
        ),
        case(
            "close code 1004 (reserved)",
            vec![(0x88, close_payload(1004, b""), true)],
            1002,
        ),
        case(
            "close code 2999 (reserved)",
            vec![(0x88, close_payload(2999, b""), true)],
            1002,
        ),
        case(
            "close code 5000",
            vec![(0x88, close_payload(5000, b""), true)],
            1002,
        ),
        case(
            "a close reason that is not UTF-8",
            vec![(0x88, close_payload(1000, b"\xff\xfe"), true)],
            1007,
        ),
        case(
            "a close 1000",
            vec![(0x88, close_payload(1000, b"bye"), true)],
            1000,
        ),
        case(
            "a close 1001",
            vec![(0x88, close_payload(1001, b""), true)],
            1001,
        ),
        case(
            "an application close code (3000)",
            vec![(0x88, close_payload(3000, b""), true)],
            3000,
        ),
        case(
            "a private close code (4999)",
            vec![(0x88, close_payload(4999, b""), true)],
            4999,
        ),
        case(
            "a close without a code",
            vec![(0x88, Vec::new(), true)],
            EMPTY,
        ),
    ];
    let mut wrong = Vec::new();
    for case in cases {
        let mut raw = Raw::connect(&server).await;
        for (first, payload, masked) in &case.frames {
            raw.frame(*first, payload, *masked).await;
        }
        let (code, reason) = raw.close_code().await;
        if code != case.code {
            wrong.push(format!(
                "{}: got {code} {reason:?}, want {}",
                case.name, case.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The server is still well.
    let mut raw = Raw::connect(&server).await;
    raw.text(br#"{"op":"ping","id":"after"}"#).await;
    assert!(raw.next_text().await.contains("\"pong\""));
    server.stop().await;
}

#[tokio::test]
async fn what_the_rfc_allows_works() {
    let server = Server::start(config(1.0)).await;
    let mut raw = Raw::connect(&server).await;
    // A message in three fragments, split inside a character ("é" is
    // C3 A9), with a ping between the fragments.
    raw.frame(0x01, b"{\"op\":\"ping\",\"id\":\"caf\xc3", true)
        .await;
    raw.frame(0x89, b"between", true).await;
    raw.frame(0x00, b"\xa9", true).await;
    raw.frame(0x80, b"\"}", true).await;
    let mut pong = None;
    let mut answer = None;
    while pong.is_none() || answer.is_none() {
        let frame = raw.read_frame().await.expect("a frame");
        assert!(frame.fin, "the server sends whole frames");
        match frame.opcode {
            0xA => pong = Some(frame.payload),
            0x1 => answer = Some(String::from_utf8(frame.payload).expect("UTF-8")),
            0x8 => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
    assert_eq!(
        pong.as_deref(),
        Some(&b"between"[..]),
        "a ping's payload comes back in its pong"
    );
    let answer = answer.unwrap_or_default();
    assert!(
        answer.contains("\"pong\"") && answer.contains("café"),
        "{answer}"
    );
    // A ping of 125 bytes (the most a control frame may carry).
    raw.frame(0x89, &[b'x'; 125], true).await;
    let pong = loop {
        let frame = raw.read_frame().await.expect("a frame");
        if frame.opcode == 0xA {
            break frame.payload;
        }
    };
    assert_eq!(pong.len(), 125);
    // An empty text message is a malformed request, not a protocol error.
    raw.text(b"").await;
    assert!(raw.next_text().await.contains("\"error\""));
    // The connection is still usable.
    raw.text(br#"{"op":"ping","id":2}"#).await;
    assert!(raw.next_text().await.contains("\"pong\""));
    server.stop().await;
}
