//! The accounts as the running server holds them: each account's orders,
//! ledger and order rate, and the connections authenticated as it (every
//! one of which gets its private events).

use std::sync::{Arc, Mutex, MutexGuard};

use super::rate::RateLimit;
use crate::fanout::{ConnId, Outbox};
use crate::trading::{AccountConfig, AccountOrders, Ledger, PrivateLog};
use crate::types::Owner;

/// What the server keeps of one account's trading.
pub struct AccountState {
    pub orders: AccountOrders,
    pub ledger: Ledger,
    /// Private `seq` and the fills sent, for `fills`.
    pub log: PrivateLog,
    /// Orders per second, over all the account's connections.
    pub order_limit: RateLimit,
}

pub struct Account {
    pub config: AccountConfig,
    /// Changed by the symbol tasks (fills, order states) and the
    /// connections (client order id reservations); held only briefly.
    state: Mutex<AccountState>,
    /// The connections authenticated as this account: every one of them
    /// gets the account's private events.
    connections: Mutex<Vec<Arc<Outbox>>>,
}

impl Account {
    pub fn new(config: AccountConfig) -> Account {
        let limit = RateLimit::new(config.orders_per_sec, config.orders_per_sec);
        Account {
            config,
            state: Mutex::new(AccountState {
                orders: AccountOrders::default(),
                ledger: Ledger::default(),
                log: PrivateLog::default(),
                order_limit: limit,
            }),
            connections: Mutex::new(Vec::new()),
        }
    }

    /// A panic elsewhere cannot leave the state half-updated in a way that
    /// matters more than losing the account, so a poisoned lock is used.
    pub fn state(&self) -> MutexGuard<'_, AccountState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connections authenticated as this account, now.
    pub fn connections(&self) -> Vec<Arc<Outbox>> {
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn attach(&self, outbox: &Arc<Outbox>) {
        let mut list = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|o| o.id == outbox.id) {
            list.push(outbox.clone());
        }
    }

    pub fn detach(&self, conn: ConnId) {
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|o| o.id != conn);
    }
}

/// The account index of an engine owner (`None` for the simulated crowd).
pub fn account_of(owner: Owner) -> Option<usize> {
    (owner != Owner::SIM).then(|| owner.0 as usize - 1)
}
