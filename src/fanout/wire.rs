//! Writing a connection's queued frames to its socket. A server's WebSocket
//! frames are not masked, so a frame is a 2 to 10 byte header and the
//! message's shared bytes, and one call takes many frames: copied into one
//! buffer up to 64 KiB (`write_gathered`: cheaper for the kernel than an
//! iovec per piece), as a `writev` of the headers beside the shared bytes
//! beyond. A frame the socket took only part of is finished before
//! anything else.
//!
//! Called with the outbox's lock held, by whichever task queued (the
//! socket is non-blocking: a full one answers at once), so frames from two
//! tasks never interleave.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use tokio::net::TcpStream;

use super::{CloseReason, Out, Queued, State};
use crate::latency::LatencyHistogram;

/// Frames given to one write (two slices each; Linux's `writev` takes 1,024).
const FRAMES_PER_WRITE: usize = 64;

const FIN_TEXT: u8 = 0x81;
const FIN_CLOSE: u8 = 0x88;
const OPCODE_CLOSE: u8 = 0x8;

/// Messages and payload bytes written, over all connections (`/metrics`).
#[derive(Default)]
pub struct Sent {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    /// How long market data waited in a connection's queue before the
    /// write that emptied it (the oldest message's wait), on the sampled
    /// connections (`super::PUBLISH_SAMPLE`).
    pub publish_to_write: LatencyHistogram,
}

/// A connection's socket and the counters its writes add to.
pub struct Wire {
    pub socket: Arc<TcpStream>,
    pub sent: Arc<Sent>,
}

/// What a write left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Everything queued is written.
    Idle,
    /// The socket is full; the rest waits until it drains.
    Blocked,
    /// The close frame is written, or the socket failed: the connection's
    /// writing is over.
    Closed,
}

/// A frame's header: FIN, the opcode, the length (a server never masks).
fn header(first: u8, len: usize) -> ([u8; 10], u8) {
    let mut head = [0u8; 10];
    head[0] = first;
    if len < 126 {
        head[1] = len as u8;
        (head, 2)
    } else if len <= u16::MAX as usize {
        head[1] = 126;
        head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        (head, 4)
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (head, 10)
    }
}

/// A close frame with its code and reason.
fn close_frame(reason: CloseReason) -> Bytes {
    let text = reason.reason.as_bytes();
    let (head, head_len) = header(FIN_CLOSE, 2 + text.len());
    let mut frame = Vec::with_capacity(head_len as usize + 2 + text.len());
    frame.extend_from_slice(&head[..head_len as usize]);
    frame.extend_from_slice(&reason.code.to_be_bytes());
    frame.extend_from_slice(text);
    Bytes::from(frame)
}

/// Whether framed bytes (unmasked frames, as a server writes them) hold a
/// close frame.
pub(super) fn has_close(mut frames: &[u8]) -> bool {
    while let [first, second, rest @ ..] = frames {
        if first & 0x0f == OPCODE_CLOSE {
            return true;
        }
        let (extra, len): (usize, Option<usize>) = match second & 0x7f {
            126 => (
                2,
                rest.get(..2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize),
            ),
            127 => (
                8,
                rest.get(..8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(|b| u64::from_be_bytes(b) as usize),
            ),
            n => (0, Some(n as usize)),
        };
        let Some(len) = len else { return false };
        frames = rest.get(extra.saturating_add(len)..).unwrap_or(&[]);
    }
    false
}

/// A frame on its way: its header and payload, `done` bytes of them
/// written.
pub(super) struct Partial {
    head: [u8; 10],
    head_len: u8,
    body: Bytes,
    /// A message (counted in `Sent` once whole), not a control frame.
    message: bool,
    done: usize,
}

impl Partial {
    fn len(&self) -> usize {
        self.head_len as usize + self.body.len()
    }

    /// The slices still to write.
    fn rest(&self) -> [IoSlice<'_>; 2] {
        let head_len = self.head_len as usize;
        let head = &self.head[self.done.min(head_len)..head_len];
        let body = &self.body[self.done.saturating_sub(head_len)..];
        [IoSlice::new(head), IoSlice::new(body)]
    }
}

/// Writes what is queued until everything is written or the socket is
/// full; the close frame follows the last frame before it.
pub(super) fn write(state: &mut State) -> Written {
    if state.faults.as_ref().is_some_and(|f| f.abort) {
        state.close = Some(CloseReason::ABRUPT);
        return lost(state);
    }
    loop {
        queue_close_frame(state);
        let Some(wire) = &state.wire else {
            return Written::Idle;
        };
        let mut heads = [([0u8; 10], 0u8); FRAMES_PER_WRITE];
        let mut count = 0;
        for (i, (message, body)) in queued(state).enumerate() {
            if message {
                heads[i] = header(FIN_TEXT, body.len());
            }
            count += 1;
        }
        if state.partial.is_none() && count == 0 {
            return if state.close_sent && state.close.is_some() {
                Written::Closed
            } else {
                Written::Idle
            };
        }
        let result = {
            let mut slices = [IoSlice::new(&[]); 2 + 2 * FRAMES_PER_WRITE];
            let mut used = 0;
            if let Some(partial) = &state.partial {
                for slice in partial.rest() {
                    slices[used] = slice;
                    used += 1;
                }
            }
            for ((head, head_len), (_, body)) in heads.iter().zip(queued(state)) {
                slices[used] = IoSlice::new(&head[..*head_len as usize]);
                slices[used + 1] = IoSlice::new(body);
                used += 2;
            }
            write_gathered(&wire.socket, &slices[..used])
        };
        match result {
            Ok(0) => return lost(state),
            Ok(n) => consume(state, n, &heads[..count]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                state.blocked = true;
                return Written::Blocked;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return lost(state),
        }
        if state.partial.is_some() {
            state.blocked = true;
            return Written::Blocked;
        }
    }
}

/// Up to this many bytes, the frames of a write are copied into one buffer
/// and written with a plain `write`; larger writes (a snapshot) go as
/// `writev`. The kernel copies each iovec on its own (an import, a check
/// and a copy per segment, two segments per frame): at 2.9 M msgs/s that
/// cost the server 0.95 to 1.0 of its core against 0.78 to 0.85 gathered
/// (2026-11-28, README), while the copy here is one `memcpy` per frame.
const GATHER_BYTES: usize = 64 * 1024;

fn write_gathered(socket: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    let total: usize = slices.iter().map(|s| s.len()).sum();
    if total > GATHER_BYTES {
        return socket.try_write_vectored(slices);
    }
    // One per thread: writes happen under an outbox's lock, never nested,
    // and the buffer is empty again before the borrow ends.
    thread_local! {
        static GATHER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    GATHER.with_borrow_mut(|buffer| {
        buffer.clear();
        for slice in slices {
            buffer.extend_from_slice(slice);
        }
        let written = socket.try_write(buffer);
        buffer.clear();
        written
    })
}

/// Whether market data goes now: not once closing, unless draining first.
fn market_goes(state: &State) -> bool {
    state.close.is_none() || state.drain_first
}

/// The next frames to go, in order (priority first), with whether each is
/// a message to frame as text (else it is framed already).
fn queued(state: &State) -> impl Iterator<Item = (bool, &[u8])> {
    let priority = state.priority.iter().map(|out| match out {
        Out::Text(text) => (true, text.as_str().as_bytes()),
        Out::Raw(raw) => (false, &raw[..]),
    });
    let market_len = if market_goes(state) {
        state.market.len()
    } else {
        0
    };
    let market = state
        .market
        .iter()
        .take(market_len)
        .map(|(_, frame)| (true, frame.as_str().as_bytes()));
    priority.chain(market).take(FRAMES_PER_WRITE)
}

/// Once everything that goes before it is written, the close frame.
fn queue_close_frame(state: &mut State) {
    let Some(reason) = state.close else { return };
    let before_done = state.partial.is_none()
        && state.priority.is_empty()
        && (!state.drain_first || state.market.is_empty());
    if before_done && !state.close_sent {
        state.close_sent = true;
        state.priority.push_back(Out::Raw(close_frame(reason)));
    }
}

/// The socket took `n` bytes: the partial frame and the queued frames they
/// cover are done (counted in `Sent`); the first they do not cover becomes
/// the partial frame. `heads` are the headers written, in queue order.
fn consume(state: &mut State, mut n: usize, heads: &[([u8; 10], u8)]) {
    let (mut messages, mut bytes) = (0u64, 0u64);
    if let Some(partial) = &mut state.partial {
        let rest = partial.len() - partial.done;
        if n < rest {
            partial.done += n;
            return;
        }
        n -= rest;
        if partial.message {
            messages += 1;
            bytes += partial.body.len() as u64;
        }
        state.partial = None;
    }
    for &(head, head_len) in heads {
        if n == 0 {
            break;
        }
        let (message, body) = if let Some(out) = state.priority.pop_front() {
            match out {
                Out::Text(text) => (true, Bytes::from(text)),
                Out::Raw(raw) => (false, raw),
            }
        } else if let Some((queued, frame)) = state.market.pop_front() {
            if queued == Queued::LagNotice {
                state.pending_notice = None;
            }
            state.market_bytes -= frame.len();
            (true, Bytes::from(frame))
        } else {
            break;
        };
        let len = head_len as usize + body.len();
        if n < len {
            // Boxed: rare, and an idle connection's outbox stays small.
            state.partial = Some(Box::new(Partial {
                head,
                head_len,
                body,
                message,
                done: n,
            }));
            break;
        }
        n -= len;
        if message {
            messages += 1;
            bytes += body.len() as u64;
        }
    }
    if let Some(wire) = &state.wire {
        wire.sent.messages.fetch_add(messages, Relaxed);
        wire.sent.bytes.fetch_add(bytes, Relaxed);
        if state.market.is_empty()
            && let Some(since) = state.market_since.take()
        {
            wire.sent.publish_to_write.observe(since.elapsed());
        }
    }
}

/// The socket failed: nothing more is sent; the connection is over.
fn lost(state: &mut State) -> Written {
    state.close.get_or_insert(CloseReason::LOST);
    state.close_sent = true;
    state.drain_first = false;
    state.partial = None;
    state.priority.clear();
    state.market.clear();
    state.market_since = None;
    state.market_bytes = 0;
    Written::Closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_take_the_shortest_length_form() {
        assert_eq!(&header(FIN_TEXT, 5).0[..2], &[0x81, 5]);
        let (head, len) = header(FIN_TEXT, 300);
        assert_eq!(&head[..len as usize], &[0x81, 126, 1, 44]);
        let (head, len) = header(FIN_TEXT, 70_000);
        assert_eq!(
            &head[..len as usize],
            &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }

    #[test]
    fn close_frames_are_found_behind_other_frames() {
        let pong = [0x8a, 2, b'h', b'i'];
        let close = close_frame(CloseReason::SHUTDOWN);
        assert_eq!(&close[..4], &[0x88, 22, 0x03, 0xe9]);
        assert!(!has_close(&pong));
        assert!(has_close(&close));
        let both: Vec<u8> = pong.iter().chain(close.iter()).copied().collect();
        assert!(has_close(&both));
        // A length that runs past the end is not a close frame.
        assert!(!has_close(&[0x8a, 127, 0, 0]));
    }
}
