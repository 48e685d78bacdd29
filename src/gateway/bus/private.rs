//! A gateway's private events: for each account with a connection here,
//! one subscription to `private.<account>` (made on the first `auth`,
//! dropped with the last connection), each event handed to every
//! connection of the account through its `bus::gate::Gate`, so the
//! requester of an order gets its answer once and every event in `seq`
//! order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::bus::gate::{Gate, private_seq};
use crate::bus::subjects;
use crate::fanout::{ConnId, Outbox};

/// One connection's gate (shared by its reader, which sends requests, and
/// the account's subscription task, which brings the broadcast).
pub type ConnGate = Arc<Mutex<Gate<Utf8Bytes>>>;

struct Member {
    conn: ConnId,
    outbox: Arc<Outbox>,
    gate: ConnGate,
}

struct Followed {
    members: Arc<Mutex<Vec<Member>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Why: connections come and go on their own tasks, and each account's
/// subscription task reads the member list; one lock per account list.
pub struct PrivateRouter {
    /// This gateway among the engine's gateways (random at start).
    id: String,
    accounts: Mutex<BTreeMap<String, Followed>>,
}

impl Default for PrivateRouter {
    fn default() -> PrivateRouter {
        PrivateRouter {
            id: format!("{:016x}", rand::random::<u64>()),
            accounts: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection's gate, locked (held only for a pure step, never across
/// an await).
pub fn lock_gate(gate: &ConnGate) -> std::sync::MutexGuard<'_, Gate<Utf8Bytes>> {
    lock(gate)
}

impl PrivateRouter {
    /// This gateway's id on the bus (`gateway.alive`, origins).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The connection gets `account`'s private events from now on (the
    /// subscription is in place when this returns).
    pub async fn attach(
        &self,
        client: &async_nats::Client,
        account: &str,
        outbox: &Arc<Outbox>,
    ) -> Result<ConnGate, String> {
        let gate = ConnGate::default();
        let member = Member {
            conn: outbox.id,
            outbox: outbox.clone(),
            gate: gate.clone(),
        };
        if let Some(followed) = lock(&self.accounts).get(account) {
            lock(&followed.members).push(member);
            return Ok(gate);
        }
        let mut subscription = client
            .subscribe(subjects::private(account))
            .await
            .map_err(|e| format!("cannot follow the account's events: {e}"))?;
        let mut accounts = lock(&self.accounts);
        if let Some(followed) = accounts.get(account) {
            // Another connection of the account got there first.
            lock(&followed.members).push(member);
            return Ok(gate);
        }
        let members = Arc::new(Mutex::new(vec![member]));
        let readers = members.clone();
        let task = tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let Ok(frame) = Utf8Bytes::try_from(message.payload) else {
                    continue;
                };
                let Some(seq) = private_seq(frame.as_str()) else {
                    continue;
                };
                for member in lock(&readers).iter() {
                    for out in lock(&member.gate).broadcast(seq, frame.clone()) {
                        member.outbox.push_priority(out);
                    }
                }
            }
        });
        accounts.insert(account.to_string(), Followed { members, task });
        Ok(gate)
    }

    /// The connection no longer gets `account`'s events; the last one
    /// gone ends the subscription.
    pub fn detach(&self, account: &str, conn: ConnId) {
        let mut accounts = lock(&self.accounts);
        let empty = accounts.get(account).is_some_and(|followed| {
            let mut members = lock(&followed.members);
            members.retain(|m| m.conn != conn);
            members.is_empty()
        });
        if empty && let Some(followed) = accounts.remove(account) {
            followed.task.abort();
        }
    }
}
