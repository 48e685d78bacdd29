//! The follower's side of the engine's state: asking for it, and taking
//! it when it comes (a fresh replica and `seq`s, the trades a resync owes
//! its subscribers, and the subscriptions that waited for it).

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Follower, Phase, RETRY, Waiting};
use crate::bus::{self, Interruption, StreamSeqs, SymbolState, subjects};
use crate::gateway::commands::StreamCommand;
use crate::gateway::market::replay::replica::Replica;
use crate::gateway::streams::MarketState;
use crate::protocol::{Channel, StreamId};

impl Follower {
    /// Asks the engine for the symbol's state; messages wait for it.
    pub(super) fn fetch(&mut self, interrupted: Option<Interruption>) {
        self.generation += 1;
        let generation = self.generation;
        let kept = match &mut self.phase {
            Phase::Fetching { interrupted: i, .. } => i.take(),
            _ => None,
        };
        self.phase = Phase::Fetching {
            generation,
            buffer: Vec::new(),
            interrupted: interrupted.or(kept),
        };
        self.retry_at = None;
        self.shared.metrics.bus.state_fetches.fetch_add(1, Relaxed);
        let (client, states) = (self.client.clone(), self.states.clone());
        let subject = subjects::state(&self.name);
        let timeout = self
            .shared
            .config
            .bus
            .as_ref()
            .map_or(Duration::from_secs(2), |b| b.state_timeout);
        let metrics = self.shared.metrics.bus.clone();
        tokio::spawn(async move {
            let answer =
                tokio::time::timeout(timeout, client.request(subject, bytes::Bytes::new())).await;
            let state = match answer {
                Ok(Ok(message)) => SymbolState::decode(&message.payload),
                Ok(Err(e)) => Err(format!("the engine did not answer: {e}")),
                Err(_) => {
                    metrics.request_timeouts.fetch_add(1, Relaxed);
                    Err(format!("the engine did not answer in {timeout:?}"))
                }
            };
            let _ = states.send((generation, state));
        });
    }

    pub(super) fn on_state(&mut self, generation: u64, state: Result<SymbolState, String>) {
        let wanted = self.is_wanted();
        let Phase::Fetching {
            generation: asked,
            buffer,
            interrupted,
        } = &mut self.phase
        else {
            return;
        };
        if *asked != generation {
            return; // an older request's answer
        }
        let state = match state {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(symbol = %self.name, error = %e, "no state from the engine; asking again");
                // Subscribers waiting for a first state are told too:
                // they had `subscribed` (`release_readies`).
                if interrupted.is_none() && wanted {
                    *interrupted = Some(Interruption::Engine);
                    let notice =
                        bus::interrupted(&self.name, Interruption::Engine, self.shared.clock.now());
                    self.notify_all(&Utf8Bytes::from(notice));
                }
                self.retry_at = Some(Instant::now() + RETRY);
                self.release_readies();
                return;
            }
        };
        let buffer = std::mem::take(buffer);
        let resumed = interrupted.take();
        let was_serving = self.hub.has_subscribers();
        let missed = match self.load(&state) {
            Ok(missed) => missed,
            Err(e) => {
                tracing::warn!(symbol = %self.name, error = %e, "the engine's state cannot be read; asking again");
                self.retry_at = Some(Instant::now() + RETRY);
                self.release_readies();
                return;
            }
        };
        self.phase = Phase::Live;
        if let Some(_why) = resumed {
            // Those waiting were told of the interruption too.
            let notice = bus::resumed(&self.name, self.shared.clock.now());
            self.notify_all(&Utf8Bytes::from(notice));
        }
        // The trades made while the streams were interrupted (or past a
        // gap) that the state still holds: a log, not a state, so the
        // subscribers get each one they missed, in order, rather than a
        // `seq` gap (only trades older than what the state keeps are
        // lost, and show as one). Nobody subscribed: kept for polls.
        for trade in &missed {
            if was_serving {
                let instrument = self.replica.instrument();
                self.hub
                    .publish(&self.shared, instrument, Channel::Trades, trade);
            } else {
                self.hub.remember_trade(trade);
            }
        }
        if was_serving {
            // A resync: every subscriber starts again from fresh state.
            self.hub.restart(&self.shared, &mut self.replica);
        } else {
            self.hub.reload_book(&self.replica);
        }
        // Those who asked meanwhile start at the state's point, as the
        // hub's own subscribers do, so every message after it reaches
        // them; and a trade the state already holds but that reached this
        // gateway after one asked is theirs too (on `serve` they would
        // have had it: their subscription came first).
        let traded_to = self.seqs.last(Channel::Trades).unwrap_or(0);
        let held: Vec<bool> = buffer
            .iter()
            .map(|(c, frame)| {
                *c == Channel::Trades
                    && bus::number_field(frame.as_str(), "seq").is_some_and(|seq| seq <= traded_to)
            })
            .collect();
        while let Some(waiting) = self.waiting.pop_front() {
            match waiting {
                Waiting::Streams(command, at) => {
                    let late = match &command {
                        StreamCommand::Subscribe { outbox, channels }
                            if channels.contains(&Channel::Trades) =>
                        {
                            Some(outbox.clone())
                        }
                        _ => None,
                    };
                    self.hub.handle(&self.shared, &mut self.replica, command);
                    if let Some(outbox) = late {
                        let stream = StreamId {
                            symbol: self.id,
                            channel: Channel::Trades,
                        };
                        for ((_, frame), _) in
                            buffer.iter().zip(&held).skip(at).filter(|(_, held)| **held)
                        {
                            outbox.push_market(stream, frame);
                        }
                    }
                }
                Waiting::Resync(outbox) => {
                    self.hub.resync(&self.shared, &mut self.replica, &outbox)
                }
            }
        }
        for (channel, frame) in buffer {
            if !matches!(self.phase, Phase::Live) {
                break; // a gap in the buffer: fetching again
            }
            self.take(channel, frame);
        }
        if matches!(self.phase, Phase::Live) {
            self.note_interest();
        }
        self.release_readies();
    }

    /// A fresh replica and `seq`s from the engine's state; returns the
    /// state's trades newer than any this gateway published or kept,
    /// oldest first.
    fn load(&mut self, state: &SymbolState) -> Result<Vec<Utf8Bytes>, String> {
        let mut replica = Replica::new(self.replica.instrument().clone());
        let mut seqs = StreamSeqs::default();
        let mut missed = Vec::new();
        let had = self.hub.last_trade_seq();
        for (channel, message) in &state.messages {
            let ts = bus::number_field(message, "ts").unwrap_or(0);
            replica.apply_message(*channel, ts, message)?;
            let seq = bus::number_field(message, "seq").ok_or("a message without seq")?;
            seqs.advance(*channel, seq);
            if *channel == Channel::Trades && had.is_none_or(|had| seq > had) {
                missed.push(Utf8Bytes::from(message.clone()));
            }
        }
        self.replica = replica;
        self.seqs = seqs;
        Ok(missed)
    }
}
