//! One live symbol's market as its task holds it: the engine, simulator and
//! statistics (`crate::market::Market`), the latest ticker and candles, and
//! the publishing of each input's output: private events first, then the
//! market data, encoded once and handed to the hub and the recorder.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::private;
use crate::encode;
use crate::engine::Output;
use crate::gateway::commands::RequestContext;
use crate::gateway::shared::Shared;
use crate::gateway::streams::{Hub, Latest, MarketState};
use crate::market::Market;
use crate::protocol::{Channel, StreamId};
use crate::stats::Interval;
use crate::types::SymbolId;

pub struct LiveSymbol {
    pub symbol: SymbolId,
    pub market: Market,
    /// The events of the input being applied (reused between inputs).
    pub out: Output,
    /// The client request whose input is being applied, if any.
    pub request: Option<RequestContext>,
    /// Reused between inputs: the encoded messages of one input.
    frames: Vec<(Channel, u64, Utf8Bytes)>,
    scratch: String,
    latest: Latest,
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
}

impl LiveSymbol {
    pub fn new(symbol: SymbolId, market: Market) -> LiveSymbol {
        LiveSymbol {
            symbol,
            market,
            out: Output::with_capacity(256),
            request: None,
            frames: Vec::with_capacity(16),
            scratch: String::with_capacity(512),
            latest: Latest::default(),
        }
    }

    pub fn stream(&self, channel: Channel) -> StreamId {
        StreamId {
            symbol: self.symbol,
            channel,
        }
    }

    /// Sends the private events of the current output, then encodes and
    /// fans out its market data.
    pub fn publish_output(&mut self, shared: &Shared, hub: &Hub) {
        private::send_events(
            self.symbol,
            &self.market,
            &self.out,
            self.request.as_ref(),
            shared,
        );
        let mut frames = std::mem::take(&mut self.frames);
        encode::market_data(
            &self.market,
            &self.out,
            &mut self.scratch,
            |channel, ts, frame| frames.push((channel, ts, frame)),
        );
        for (channel, ts, frame) in frames.drain(..) {
            self.latest.remember(channel, &frame);
            hub.publish(shared, channel, &frame);
            self.record(shared, channel, ts, &frame);
        }
        self.frames = frames;
    }

    /// Hands a published message to the recorder, if the server records.
    pub fn record(&self, shared: &Shared, channel: Channel, ts: u64, frame: &Utf8Bytes) {
        if let Some(recorder) = &shared.recorder {
            recorder.message(ts, self.stream(channel), frame);
        }
    }

    /// A book snapshot into the recording (its start, and every few
    /// seconds), so a replay can start from any point.
    pub fn record_snapshot(&mut self, shared: &Shared) {
        if let Some(recorder) = &shared.recorder {
            let snapshot = encode::market_book_snapshot(&self.market, &mut self.scratch);
            recorder.snapshot(
                self.market.engine().now(),
                self.stream(Channel::Book),
                &snapshot,
            );
        }
    }
}
