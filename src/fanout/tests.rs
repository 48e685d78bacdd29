use super::*;
use crate::types::SymbolId;

fn outbox(budget: usize) -> Outbox {
    let policy = LagPolicy {
        budget,
        ..LagPolicy::default()
    };
    Outbox::new(1, policy, Arc::new(Instruments::embedded_default()))
}

const BOOK: StreamId = StreamId {
    symbol: SymbolId(0),
    channel: Channel::Book,
};
const TRADES: StreamId = StreamId {
    symbol: SymbolId(0),
    channel: Channel::Trades,
};
const ETH_TRADES: StreamId = StreamId {
    symbol: SymbolId(1),
    channel: Channel::Trades,
};

fn frame(text: &str) -> Utf8Bytes {
    Utf8Bytes::from(text.to_string())
}

fn drained(o: &Outbox) -> Vec<String> {
    let mut batch = Batch::default();
    o.drain(usize::MAX, &mut batch);
    batch.frames.iter().map(|f| f.to_string()).collect()
}

#[test]
fn only_subscribed_streams_are_queued_and_priority_goes_first() {
    let o = outbox(1000);
    assert_eq!(o.push_market(BOOK, &frame("b1")), Push::Ignored);
    o.subscribe(&[BOOK]);
    assert_eq!(o.push_market(BOOK, &frame("b2")), Push::Queued);
    o.push_priority(frame("resp"));
    assert_eq!(o.queued_bytes(), 2);
    assert_eq!(drained(&o), vec!["resp", "b2"]);
    assert_eq!(o.queued_bytes(), 0);
}

#[test]
fn the_same_bytes_are_shared_not_copied() {
    let (a, b) = (outbox(1000), outbox(1000));
    a.subscribe(&[BOOK]);
    b.subscribe(&[BOOK]);
    let message = frame("shared");
    a.push_market(BOOK, &message);
    b.push_market(BOOK, &message);
    let (mut x, mut y) = (Batch::default(), Batch::default());
    a.drain(10, &mut x);
    b.drain(10, &mut y);
    let ptr = |f: &Utf8Bytes| f.as_str().as_ptr();
    assert_eq!(ptr(&x.frames[0]), ptr(&message));
    assert_eq!(ptr(&y.frames[0]), ptr(&message));
}

#[test]
fn overflow_drops_queued_data_sends_lagged_and_asks_for_resyncs() {
    let o = outbox(250);
    o.subscribe(&[BOOK, TRADES, ETH_TRADES]);
    let big = "x".repeat(100);
    assert_eq!(o.push_market(TRADES, &frame(&big)), Push::Queued);
    assert_eq!(o.push_market(ETH_TRADES, &frame(&big)), Push::Queued);
    assert_eq!(
        o.push_market(BOOK, &frame(&big)),
        Push::Lagged(vec![SymbolId(0)]),
        "BTC-USD has a book to resync"
    );
    assert_eq!(o.dropped(), 3);
    // While the resync is on its way the book is dropped; trades go on.
    assert_eq!(o.push_market(BOOK, &frame("b2")), Push::Ignored);
    assert_eq!(o.push_market(TRADES, &frame("t2")), Push::Queued);
    assert_eq!(
        o.push_resync(SymbolId(0), &[(BOOK, frame("snap"))]),
        Push::Queued
    );
    assert_eq!(
        o.push_resync(SymbolId(0), &[(BOOK, frame("twice"))]),
        Push::Ignored
    );
    assert_eq!(o.push_market(BOOK, &frame("b3")), Push::Queued);
    assert_eq!(
        drained(&o),
        vec![
            r#"{"type":"lagged","dropped":3,"streams":[{"channel":"book","symbol":"BTC-USD"},{"channel":"trades","symbol":"BTC-USD"},{"channel":"trades","symbol":"ETH-USD"}]}"#,
            "t2",
            "snap",
            "b3"
        ]
    );
}

#[test]
fn the_third_lag_within_the_window_closes_with_1008() {
    let o = outbox(200);
    o.subscribe(&[TRADES]);
    let big = "x".repeat(150);
    for lag in 1..=3 {
        o.push_market(TRADES, &frame(&big));
        let result = o.push_market(TRADES, &frame(&big));
        if lag < 3 {
            assert_eq!(result, Push::Lagged(vec![]));
            drained(&o);
        } else {
            assert_eq!(result, Push::SlowConsumer);
        }
    }
    let mut batch = Batch::default();
    o.drain(10, &mut batch);
    assert_eq!(batch.close, Some(CloseReason::SLOW_CONSUMER));
    assert_eq!(o.push_market(TRADES, &frame("x")), Push::Ignored);
}

#[test]
fn a_lag_that_drops_an_undelivered_notice_reports_both_losses() {
    let o = outbox(250);
    o.subscribe(&[TRADES, ETH_TRADES]);
    let big = "x".repeat(200);
    o.push_market(TRADES, &frame(&big));
    assert_eq!(o.push_market(TRADES, &frame(&big)), Push::Lagged(vec![]));
    assert_eq!(
        o.push_market(ETH_TRADES, &frame(&big)),
        Push::Lagged(vec![]),
        "the notice itself fills the budget"
    );
    let frames = drained(&o);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0],
        r#"{"type":"lagged","dropped":3,"streams":[{"channel":"trades","symbol":"BTC-USD"},{"channel":"trades","symbol":"ETH-USD"}]}"#
    );
}

#[test]
fn fresh_state_that_does_not_fit_is_another_lag() {
    let o = outbox(300);
    o.subscribe(&[BOOK]);
    o.push_market(BOOK, &frame(&"x".repeat(250)));
    assert_eq!(
        o.push_market(BOOK, &frame(&"x".repeat(250))),
        Push::Lagged(vec![SymbolId(0)])
    );
    assert_eq!(
        o.push_resync(SymbolId(0), &[(BOOK, frame(&"s".repeat(250)))]),
        Push::Lagged(vec![SymbolId(0)])
    );
    assert!(o.queued_bytes() <= 300);
}

#[test]
fn unsubscribe_purges_queued_messages_of_the_stream() {
    let o = outbox(1000);
    o.subscribe(&[BOOK, TRADES]);
    o.push_market(BOOK, &frame("b"));
    o.push_market(TRADES, &frame("t"));
    o.unsubscribe(&[BOOK]);
    assert_eq!(o.queued_bytes(), 1);
    assert_eq!(drained(&o), vec!["t"]);
    assert_eq!(o.streams_of(SymbolId(0)), vec![TRADES]);
}

#[test]
fn close_sends_pending_responses_first() {
    let o = outbox(1000);
    o.subscribe(&[TRADES]);
    o.push_market(TRADES, &frame("t"));
    o.push_priority(frame("error"));
    o.close(CloseReason::TOO_BIG);
    let mut batch = Batch::default();
    o.drain(10, &mut batch);
    assert_eq!(batch.frames, vec![frame("error")]);
    assert_eq!(batch.close, Some(CloseReason::TOO_BIG));
}

/// Reads unmasked frames off `bytes`: (opcode, payload) each, and what is
/// left of an unfinished frame.
fn frames_of(mut bytes: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    let mut out = Vec::new();
    while let [first, second, rest @ ..] = bytes {
        let (len, rest) = match *second {
            126 if rest.len() >= 2 => (u16::from_be_bytes([rest[0], rest[1]]) as usize, &rest[2..]),
            n if n < 126 => (n as usize, rest),
            _ => break,
        };
        if rest.len() < len {
            break;
        }
        out.push((*first, rest[..len].to_vec()));
        bytes = &rest[len..];
    }
    (out, bytes.len())
}

/// A real socket pair: the socket fills, frames are cut in the middle,
/// and the reader still gets every frame whole, in order, the answer
/// queued last going before the market data still queued, never inside a
/// frame, and the close frame last. Small frames are written gathered
/// into one buffer; large ones (a write over 64 KiB) as a `writev`.
#[tokio::test]
async fn a_full_socket_gets_every_frame_whole_and_in_order() {
    full_socket(300).await;
}

#[tokio::test]
async fn a_full_socket_gets_every_large_frame_whole_and_in_order() {
    full_socket(30_000).await;
}

async fn full_socket(size: usize) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (mut client, server) = (client.unwrap(), Arc::new(server.unwrap().0));
    let sent = Arc::new(Sent::default());
    let o = outbox(64 << 20);
    o.attach(Wire {
        socket: server.clone(),
        sent: sent.clone(),
    });
    o.subscribe(&[BOOK]);
    // Messages of `size` bytes until the socket is full.
    let body = |i: usize| format!("{i:06}{}", "x".repeat(size - 6));
    // Eight at a time, so a write takes several frames (with large ones,
    // more than 64 KiB).
    let mut queued = 0;
    loop {
        for _ in 0..8 {
            assert_eq!(
                o.queue_market(BOOK, &frame(&body(queued))).push,
                Push::Queued
            );
            queued += 1;
        }
        o.flush();
        if o.write_queued() == Written::Blocked && queued * size > 30_000 {
            break;
        }
    }
    o.push_priority(frame("answer"));
    o.close(CloseReason::SHUTDOWN);
    // The writer's part: write what is left whenever the socket drains.
    let writing = async {
        loop {
            match o.write_queued() {
                Written::Closed => break,
                Written::Blocked => server.writable().await.unwrap(),
                Written::Idle => tokio::task::yield_now().await,
            }
        }
    };
    let reading = async {
        let mut received = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        while frames_of(&received).0.last().is_none_or(|f| f.0 != 0x88) {
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "the socket closed before the close frame");
            received.extend_from_slice(&buf[..n]);
        }
        received
    };
    let ((), received) = tokio::join!(writing, reading);
    let (frames, left) = frames_of(&received);
    assert_eq!(left, 0, "no frame cut off");
    let texts: Vec<String> = frames
        .iter()
        .filter(|f| f.0 == 0x81)
        .map(|f| String::from_utf8(f.1.clone()).unwrap())
        .collect();
    let answer = texts.iter().position(|t| t == "answer").unwrap();
    let market: Vec<&String> = texts.iter().filter(|t| *t != "answer").collect();
    for (i, text) in market.iter().enumerate() {
        assert_eq!(**text, body(i));
    }
    // The answer follows what the socket had taken (a frame it took part
    // of finished first); a close drops market data not yet taken, so
    // nothing follows the answer but the close.
    assert_eq!(answer, texts.len() - 1);
    assert!(market.len() <= queued);
    assert_eq!(sent.messages.load(Relaxed) as usize, texts.len());
    let close = frames.last().unwrap();
    assert_eq!(close.0, 0x88);
    assert_eq!(&close.1[..2], &1001u16.to_be_bytes());
}

#[test]
fn a_shutdown_sends_queued_market_data_then_its_notice_then_closes() {
    let o = outbox(1000);
    o.subscribe(&[TRADES]);
    o.push_market(TRADES, &frame("t"));
    o.push_priority(frame("fill"));
    o.shut_down(frame("bye"));
    o.push_priority(frame("late"));
    let mut batch = Batch::default();
    o.drain(10, &mut batch);
    assert_eq!(batch.frames, vec![frame("fill"), frame("t"), frame("bye")]);
    assert_eq!(batch.close, Some(CloseReason::SHUTDOWN));
}
