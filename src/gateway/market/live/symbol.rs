//! One live symbol's market as its task holds it: the engine, simulator and
//! statistics (`crate::market::Market`), the heartbeat's `seq`, the latest
//! ticker and candles, and the effects of each input: private events
//! booked, market data encoded once, all queued (`effects`) until the
//! journal lets them go, then handed to the hub, the connections and the
//! recorder.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::encode;
use crate::engine::Output;
use crate::gateway::commands::RequestContext;
use crate::gateway::market::effects::{Effect, Effects};
use crate::gateway::market::private;
use crate::gateway::shared::Shared;
use crate::gateway::streams::{BookAt, Hub, Latest, MarketState};
use crate::instrument::Instrument;
use crate::journal::Journal;
use crate::market::Market;
use crate::protocol::{Channel, StreamId};
use crate::stats::Interval;
use crate::types::SymbolId;

pub struct LiveSymbol {
    pub symbol: SymbolId,
    pub market: Market,
    /// `seq` of the symbol's last heartbeat.
    pub heartbeat_seq: u64,
    /// The events of the input being applied (reused between inputs).
    pub out: Output,
    /// The client request whose input is being applied, if any.
    pub request: Option<RequestContext>,
    /// What the inputs applied send, in order, until it may go.
    pub effects: Effects,
    /// The data directory's journal (`None`: an ephemeral server, or the
    /// journal being replayed at start).
    pub journal: Option<Arc<Journal>>,
    scratch: String,
    latest: Latest,
    /// The hub has book views, which follow each book update's level
    /// changes: queue them with the update. Set when subscriptions are
    /// handled (with nothing queued), so every update queued while views
    /// exist carries its changes.
    pub keep_changes: bool,
}

impl MarketState for LiveSymbol {
    fn book_snapshot(&mut self) -> Utf8Bytes {
        encode::market_book_snapshot(&self.market, &mut self.scratch)
    }

    fn candles_snapshot(&mut self, interval: Interval) -> Utf8Bytes {
        encode::series_snapshot(
            self.market.instrument(),
            self.market.candles(interval),
            self.market.engine().now(),
        )
    }

    fn latest(&self) -> &Latest {
        &self.latest
    }

    fn instrument(&self) -> &Instrument {
        self.market.instrument()
    }

    fn book(&self) -> BookAt<'_> {
        let engine = self.market.engine();
        BookAt {
            book: engine.book(),
            seq: engine.book_seq(),
            ts: engine.now(),
        }
    }
}

impl LiveSymbol {
    pub fn new(symbol: SymbolId, market: Market, heartbeat_seq: u64) -> LiveSymbol {
        LiveSymbol {
            symbol,
            market,
            heartbeat_seq,
            out: Output::with_capacity(256),
            request: None,
            effects: Effects::default(),
            journal: None,
            scratch: String::with_capacity(512),
            latest: Latest::default(),
            keep_changes: false,
        }
    }

    pub fn stream(&self, channel: Channel) -> StreamId {
        StreamId {
            symbol: self.symbol,
            channel,
        }
    }

    /// Books the private events of the current output and queues them,
    /// then encodes its market data and queues it. True if the output
    /// concerned an account (so it must be durable before it is sent).
    pub fn queue_output(&mut self, shared: &Shared) -> bool {
        let private = self.book_only(shared);
        let effects = &mut self.effects;
        let keep_changes = self.keep_changes;
        encode::market_data(
            &self.market,
            &self.out,
            &mut self.scratch,
            |channel, ts, frame, changes| {
                effects.push(Effect::Market {
                    channel,
                    ts,
                    frame,
                    // Copied only while the book's views follow them.
                    changes: if keep_changes {
                        changes.to_vec()
                    } else {
                        Vec::new()
                    },
                })
            },
        );
        private
    }

    /// Books the private events of the current output, if any (true if
    /// there were), and encodes nothing: alone, for inputs applied where
    /// nobody is connected (the warm-up, the journal's replay).
    pub fn book_only(&mut self, shared: &Shared) -> bool {
        let private = private::concerns_an_account(&self.out);
        if private {
            private::book_events_of(
                self.symbol,
                self.market.instrument(),
                private::Trades::Public,
                &self.out,
                self.request.as_ref(),
                shared,
                &mut self.effects,
            );
        }
        private
    }

    /// Sends what is queued and may go now that `durable` is durable.
    pub fn send_ready(&mut self, shared: &Shared, hub: &mut Hub, durable: u64) {
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.ready(durable) {
            match effect {
                Effect::Market {
                    channel,
                    ts,
                    frame,
                    changes,
                } => {
                    self.latest.remember(channel, &frame);
                    if channel == Channel::Book {
                        hub.publish_book(shared, self.market.instrument(), &frame, &changes, ts);
                    } else {
                        hub.publish(shared, self.market.instrument(), channel, &frame);
                    }
                    self.record(shared, channel, ts, &frame);
                }
                Effect::RecordSnapshot { ts, frame } => {
                    if let Some(recorder) = &shared.recorder {
                        recorder.snapshot(ts, self.stream(Channel::Book), &frame);
                    }
                }
                Effect::Reply { outbox, frame } => outbox.push_priority(frame),
                Effect::Count { reply, count } => {
                    let _ = reply.send(count);
                }
                private @ Effect::Private { .. } => private::send(shared, private),
            }
        }
        self.effects = effects;
    }

    /// Hands a published message to the recorder, if the server records,
    /// and to the bus, if it is a cluster's engine.
    fn record(&self, shared: &Shared, channel: Channel, ts: u64, frame: &Utf8Bytes) {
        if let Some(recorder) = &shared.recorder {
            recorder.message(ts, self.stream(channel), frame);
        }
        if let Some(bus) = &shared.bus_publisher {
            bus.publish(self.symbol, channel, frame);
        }
    }

    /// Queues a book snapshot for the recording (its start, and every few
    /// seconds), so a replay can start from any point.
    pub fn record_snapshot(&mut self, shared: &Shared) {
        if shared.recorder.is_some() {
            let frame = encode::market_book_snapshot(&self.market, &mut self.scratch);
            let ts = self.market.engine().now();
            self.effects.push(Effect::RecordSnapshot { ts, frame });
        }
    }
}
