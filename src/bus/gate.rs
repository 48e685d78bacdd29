//! A gateway connection's private events, in order and once. An account's
//! private events reach a gateway two ways: the answers to a connection's
//! own request (the engine's reply, carrying the request's `id`) and every
//! event of the account (`private.<account>`, without an `id`), which the
//! requester must not get a second time. Each event carries the account's
//! gap-free private `seq`, so the gate holds broadcast events while the
//! connection has a request in flight and, when its answer comes, sends
//! what came before it, the answer, then the rest, skipping every `seq`
//! already sent. Pure: frames in, frames to send out.

/// The private `seq` of an event (`order_accepted`, `order_amended`,
/// `fill`, `order_done`); `None` for other messages (answers such as
/// `open_orders`, errors).
pub fn private_seq(frame: &str) -> Option<u64> {
    let private = ["order_accepted", "order_amended", "fill", "order_done"]
        .iter()
        .any(|kind| frame.starts_with(&format!("{{\"type\":\"{kind}\"")));
    if !private {
        return None;
    }
    // Parsed whole: a client's request `id` comes before `seq` and may
    // hold any text. Private events are few; this is not the market data.
    serde_json::from_str::<serde_json::Value>(frame)
        .ok()?
        .get("seq")?
        .as_u64()
}

#[derive(Debug, Default)]
pub struct Gate<F> {
    in_flight: usize,
    /// Broadcast events held while requests are in flight, by `seq`.
    held: std::collections::BTreeMap<u64, F>,
    /// The highest `seq` sent.
    sent: u64,
}

impl<F: AsRef<str>> Gate<F> {
    /// A request of the connection leaves for the engine.
    pub fn start(&mut self) {
        self.in_flight += 1;
    }

    /// An event of the account from the broadcast: what to send now.
    pub fn broadcast(&mut self, seq: u64, frame: F) -> Vec<F> {
        if seq <= self.sent {
            return Vec::new();
        }
        if self.in_flight > 0 {
            self.held.insert(seq, frame);
            return Vec::new();
        }
        self.sent = seq;
        vec![frame]
    }

    /// A request's answer (its frames as the engine sent them, or an error
    /// made here): what to send now, in order.
    pub fn finish(&mut self, answer: Vec<F>) -> Vec<F> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let first = answer.iter().filter_map(|f| private_seq(f.as_ref())).min();
        let mut out = Vec::new();
        if let Some(first) = first {
            let later = self.held.split_off(&first);
            for (seq, frame) in std::mem::replace(&mut self.held, later) {
                if seq > self.sent {
                    self.sent = seq;
                    out.push(frame);
                }
            }
        }
        for frame in answer {
            match private_seq(frame.as_ref()) {
                Some(seq) if seq <= self.sent => {}
                Some(seq) => {
                    self.sent = seq;
                    self.held.remove(&seq);
                    out.push(frame);
                }
                None => out.push(frame),
            }
        }
        if self.in_flight == 0 {
            for (seq, frame) in std::mem::take(&mut self.held) {
                if seq > self.sent {
                    self.sent = seq;
                    out.push(frame);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, seq: u64, id: Option<u64>) -> String {
        match id {
            Some(id) => format!("{{\"type\":\"{kind}\",\"id\":{id},\"seq\":{seq}}}"),
            None => format!("{{\"type\":\"{kind}\",\"seq\":{seq}}}"),
        }
    }

    #[test]
    fn the_requester_gets_its_answer_once_and_everything_in_seq_order() {
        let mut gate = Gate::<String>::default();
        // A fill of an earlier order comes while idle.
        assert_eq!(gate.broadcast(1, event("fill", 1, None)).len(), 1);
        gate.start();
        // The broadcast copies of the answer, and a later fill, come first.
        assert!(
            gate.broadcast(2, event("order_accepted", 2, None))
                .is_empty()
        );
        assert!(gate.broadcast(3, event("fill", 3, None)).is_empty());
        assert!(gate.broadcast(4, event("fill", 4, None)).is_empty());
        let out = gate.finish(vec![
            event("order_accepted", 2, Some(9)),
            event("fill", 3, Some(9)),
        ]);
        assert_eq!(
            out,
            vec![
                event("order_accepted", 2, Some(9)),
                event("fill", 3, Some(9)),
                event("fill", 4, None),
            ]
        );
        // Late copies are skipped.
        assert!(gate.broadcast(3, event("fill", 3, None)).is_empty());
        assert_eq!(gate.broadcast(5, event("order_done", 5, None)).len(), 1);
    }

    #[test]
    fn held_events_before_the_answer_go_first_and_errors_pass() {
        let mut gate = Gate::<String>::default();
        gate.start();
        assert!(gate.broadcast(7, event("fill", 7, None)).is_empty());
        let out = gate.finish(vec![event("order_accepted", 8, Some(1))]);
        assert_eq!(
            out,
            vec![event("fill", 7, None), event("order_accepted", 8, Some(1))]
        );
        gate.start();
        gate.start();
        assert!(gate.broadcast(9, event("fill", 9, None)).is_empty());
        let error = "{\"type\":\"error\",\"id\":2,\"code\":\"internal\"}".to_string();
        assert_eq!(
            gate.finish(vec![error.clone()]),
            vec![error],
            "still one in flight"
        );
        assert_eq!(gate.finish(vec![]), vec![event("fill", 9, None)]);
        let tricky = r#"{"type":"fill","id":"\"seq\":1","seq":4}"#;
        assert_eq!(private_seq(tricky), Some(4), "an id that looks like a seq");
        assert_eq!(
            private_seq("{\"type\":\"fills\",\"fills\":[{\"seq\":3}]}"),
            None
        );
    }
}
