//! The book's views of one symbol (PROTOCOL.md v1.1): the top 10, 25 or
//! 100 levels, at every change or at most once per 100 ms or 1 s. Each
//! view is a stream of its own with its own `seq`, encoded once per update
//! and shared by its subscribers.
//!
//! The views follow the published book stream, not the market: a live
//! market may be ahead of what was sent (effects wait for the journal), so
//! they keep an `L2Book` in step with every published `book_update`, built
//! when the first view gets a subscriber (subscriptions are handled when
//! the market and its stream agree) and dropped when the last one leaves.
//! Each view remembers what its subscribers have (`sent`): a new
//! subscriber's snapshot is that, so a throttled view's snapshot and its
//! next update always join up. A view's `seq` survives its last subscriber.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::subscribers::Subscribers;
use crate::book::Book;
use crate::book::l2::{self, L2Book, Levels};
use crate::encode::{self, ViewMessage};
use crate::engine::LevelChange;
use crate::fanout::{ConnId, Outbox, Unflushed};
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::protocol::{BookView, Channel, StreamId};
use crate::types::{Side, SymbolId, UnixNanos};

/// One view: its subscribers, its stream position and what they have.
#[derive(Default)]
struct View {
    subscribers: Subscribers,
    seq: u64,
    ts: UnixNanos,
    /// Bids and asks as the subscribers have them, best first.
    sent: [Levels; 2],
    /// A throttled view: the book changed since its last update.
    dirty: bool,
    /// A throttled view: ticks since its last update.
    ticks: u32,
}

pub struct Views {
    symbol: SymbolId,
    views: [View; BookView::ALL.len()],
    /// The published book, while any view has a subscriber.
    book: Option<L2Book>,
    /// The `ts` of the last published book message.
    ts: UnixNanos,
    scratch: [Levels; 2],
    changes: [Levels; 2],
    text: String,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

const SIDES: [Side; 2] = [Side::Buy, Side::Sell];

impl Views {
    pub fn new(symbol: SymbolId) -> Views {
        Views {
            symbol,
            views: Default::default(),
            book: None,
            ts: 0,
            scratch: Default::default(),
            changes: Default::default(),
            text: String::new(),
        }
    }

    /// Whether any view has a subscriber (the L2 copy exists then).
    pub fn active(&self) -> bool {
        self.book.is_some()
    }

    fn with_subscribers(&self) -> impl Iterator<Item = (BookView, &View)> {
        BookView::ALL
            .into_iter()
            .zip(&self.views)
            .filter(|(_, v)| !v.subscribers.is_empty())
    }

    pub fn subscribers(&self, view: BookView) -> &[Arc<Outbox>] {
        self.views[view.index()].subscribers.as_slice()
    }

    /// Adds a subscriber (false if it was there); the view's snapshot is
    /// then `snapshot(view)`. `book` and `ts` are the market's book and time
    /// now, which match its stream when subscriptions are handled.
    pub fn add(
        &mut self,
        view: BookView,
        outbox: &Arc<Outbox>,
        book: &Book,
        ts: UnixNanos,
    ) -> bool {
        if self.book.is_none() {
            self.book = Some(L2Book::from_book(book));
            self.ts = ts;
        }
        let fresh = self.views[view.index()].subscribers.is_empty();
        if fresh {
            // Nobody has this view: it starts from the book as it is.
            self.reset(view);
        }
        self.views[view.index()].subscribers.add(outbox)
    }

    /// The view's state becomes the book now, without an update (nobody
    /// has it, or everybody gets a snapshot next).
    fn reset(&mut self, view: BookView) {
        let Some(book) = &self.book else { return };
        let v = &mut self.views[view.index()];
        for side in SIDES {
            book.top(
                side,
                view.depth.map(|d| d.levels()),
                &mut v.sent[side_index(side)],
            );
        }
        v.ts = self.ts;
        v.dirty = false;
        v.ticks = 0;
    }

    /// Removes a subscriber; false if it was not there.
    pub fn remove(&mut self, view: BookView, conn: ConnId) -> bool {
        let removed = self.views[view.index()].subscribers.remove(conn);
        if removed && self.with_subscribers().next().is_none() {
            self.book = None;
        }
        removed
    }

    /// The view's snapshot: what its subscribers have, at its `seq`.
    pub fn snapshot(&mut self, instrument: &Instrument, view: BookView) -> Utf8Bytes {
        let v = &self.views[view.index()];
        encode_view(
            instrument,
            "book_snapshot",
            view,
            v,
            &v.sent,
            &mut self.text,
        )
    }

    /// The book was rebuilt (a replay's new pass, its recorded snapshot):
    /// every view starts again from it; `restart` callers send snapshots.
    pub fn reload(&mut self, book: &Book, ts: UnixNanos) {
        if self.book.is_none() {
            return;
        }
        self.book = Some(L2Book::from_book(book));
        self.ts = ts;
        for view in BookView::ALL {
            if !self.views[view.index()].subscribers.is_empty() {
                self.reset(view);
            }
        }
    }

    /// Follows one published book message: the views at every change send
    /// their update now, the throttled ones wait for their tick.
    pub fn follow(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        instrument: &Instrument,
        changes: &[LevelChange],
        ts: UnixNanos,
    ) {
        match &mut self.book {
            Some(book) => {
                for c in changes {
                    book.set(c.side, c.price, c.qty);
                }
            }
            None => return,
        }
        self.ts = ts;
        for view in BookView::ALL {
            let v = &mut self.views[view.index()];
            if v.subscribers.is_empty() {
                continue;
            }
            if view.throttle.is_some() {
                v.dirty = true;
                continue;
            }
            let depth = view.depth.map_or(usize::MAX, |d| d.levels());
            let touched = changes
                .iter()
                .any(|c| l2::touches(c.side, &v.sent[side_index(c.side)], depth, c.price));
            if touched {
                self.update(shared, unflushed, instrument, view);
            }
        }
    }

    /// One tick of the throttle clock (every `Throttle::TICK_MS`): each
    /// throttled view whose period is up sends the net change, if any.
    pub fn tick(&mut self, shared: &Shared, unflushed: &mut Unflushed, instrument: &Instrument) {
        if self.book.is_none() {
            return;
        }
        for view in BookView::ALL {
            let Some(throttle) = view.throttle else {
                continue;
            };
            let v = &mut self.views[view.index()];
            if v.subscribers.is_empty() {
                continue;
            }
            v.ticks += 1;
            if v.ticks < throttle.ticks() {
                continue;
            }
            v.ticks = 0;
            if std::mem::take(&mut v.dirty) {
                self.update(shared, unflushed, instrument, view);
            }
        }
    }

    /// Sends the view's update from what its subscribers have to the book
    /// now, if anything changed.
    fn update(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        instrument: &Instrument,
        view: BookView,
    ) {
        let Some(book) = &self.book else { return };
        let v = &mut self.views[view.index()];
        let mut changed = false;
        for side in SIDES {
            let i = side_index(side);
            book.top(side, view.depth.map(|d| d.levels()), &mut self.scratch[i]);
            l2::diff(side, &v.sent[i], &self.scratch[i], &mut self.changes[i]);
            changed |= !self.changes[i].is_empty();
        }
        if !changed {
            return;
        }
        std::mem::swap(&mut v.sent, &mut self.scratch);
        v.seq += 1;
        v.ts = self.ts;
        let frame = encode_view(
            instrument,
            "book_update",
            view,
            v,
            &self.changes,
            &mut self.text,
        );
        let stream = StreamId {
            symbol: self.symbol,
            channel: Channel::BookView(view),
        };
        for outbox in v.subscribers.as_slice() {
            shared.after_push(outbox, unflushed.push(outbox, stream, &frame));
        }
    }

    /// A heartbeat with the `seq` of every view that has subscribers added
    /// to its `last_seq` (`"book_10_100ms":7`); the same bytes without any.
    pub fn heartbeat(&self, frame: &Utf8Bytes) -> Utf8Bytes {
        let text = frame.as_str();
        if !self.active() || !text.ends_with("}}") {
            return frame.clone();
        }
        let mut out = String::with_capacity(text.len() + 64);
        out.push_str(&text[..text.len() - 2]);
        for (view, v) in self.with_subscribers() {
            out.push_str(",\"");
            view.heartbeat_key(&mut out);
            out.push_str("\":");
            out.push_str(&v.seq.to_string());
        }
        out.push_str("}}");
        encode::frame(out)
    }
}

/// A view's message at its `seq` and `ts` carrying `levels` (all it has,
/// or the changes), with the checksum of what it has after.
fn encode_view(
    instrument: &Instrument,
    kind: &'static str,
    view: BookView,
    v: &View,
    levels: &[Levels; 2],
    text: &mut String,
) -> Utf8Bytes {
    let checksum = encode::levels_checksum(
        instrument,
        v.sent[0].iter().copied(),
        v.sent[1].iter().copied(),
        text,
    );
    encode::book_view(
        instrument,
        &ViewMessage {
            kind,
            view,
            seq: v.seq,
            ts: v.ts,
            bids: &levels[0],
            asks: &levels[1],
            checksum,
        },
    )
}
