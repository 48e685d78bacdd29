//! The subscribers of one stream. Adding and removing are O(1) (a position
//! index beside the list; removal swaps the last subscriber into the gap),
//! so a storm of 100,000 clients onto one stream costs 100,000 steps, not
//! 5 x 10^9; publishing stays one pass over a plain slice, with no lock and
//! no allocation. Only the stream's symbol task touches it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::fanout::{ConnId, Outbox};

#[derive(Default)]
pub struct Subscribers {
    list: Vec<Arc<Outbox>>,
    /// Where each connection is in `list`.
    at: FxHashMap<ConnId, usize>,
}

impl Subscribers {
    /// Adds a subscriber; false if it was already there.
    pub fn add(&mut self, outbox: &Arc<Outbox>) -> bool {
        if self.at.contains_key(&outbox.id) {
            return false;
        }
        self.at.insert(outbox.id, self.list.len());
        self.list.push(outbox.clone());
        true
    }

    /// Removes a subscriber; false if it was not there.
    pub fn remove(&mut self, conn: ConnId) -> bool {
        let Some(i) = self.at.remove(&conn) else {
            return false;
        };
        self.list.swap_remove(i);
        if let Some(moved) = self.list.get(i) {
            self.at.insert(moved.id, i);
        }
        true
    }

    pub fn as_slice(&self) -> &[Arc<Outbox>] {
        &self.list
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fanout::LagPolicy;
    use crate::instrument::Instruments;

    fn outbox(id: ConnId) -> Arc<Outbox> {
        let instruments = Arc::new(Instruments::embedded_default());
        Arc::new(Outbox::new(id, LagPolicy::default(), instruments))
    }

    #[test]
    fn adds_and_removes_in_any_order_keep_the_index_right() {
        let mut subscribers = Subscribers::default();
        let boxes: Vec<_> = (1..=5).map(outbox).collect();
        for b in &boxes {
            assert!(subscribers.add(b));
        }
        assert!(!subscribers.add(&boxes[2]), "already there");
        assert!(subscribers.remove(1));
        assert!(!subscribers.remove(1), "already gone");
        assert!(subscribers.remove(4));
        assert!(subscribers.remove(5));
        let mut ids: Vec<ConnId> = subscribers.as_slice().iter().map(|o| o.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3]);
        for (i, o) in subscribers.as_slice().iter().enumerate() {
            assert_eq!(subscribers.at[&o.id], i);
        }
        assert!(subscribers.add(&boxes[0]));
        assert_eq!(subscribers.len(), 3);
        for id in [2, 3, 1] {
            assert!(subscribers.remove(id));
        }
        assert!(subscribers.is_empty());
    }
}
