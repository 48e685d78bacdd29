//! The accounts as the running server holds them: each account's orders,
//! ledger and order rate, and the connections authenticated as it (every
//! one of which gets its private events).

use std::sync::{Arc, Mutex, MutexGuard};

use super::rate::RateLimit;
use crate::encode;
use crate::fanout::{ConnId, Outbox};
use crate::instrument::Instrument;
use crate::trading::{AccountConfig, AccountOrders, Ledger, PrivateLog};
use crate::types::{Owner, Qty, Side, SymbolId};

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
        // At least one order can be saved up: a rate under one a second
        // (0.5: one every 2 s) would otherwise never reach a whole token.
        let limit = RateLimit::new(config.orders_per_sec, config.orders_per_sec.max(1.0));
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
    /// The position limit: the position plus every open order on the same
    /// side plus `extra` lots, as if all filled. A message if over.
    pub fn over_position_limit(
        &self,
        instrument: &Instrument,
        symbol: SymbolId,
        side: Side,
        extra: Qty,
    ) -> Option<String> {
        let state = self.state();
        let (open_buy, open_sell) = state.orders.exposure(symbol);
        let position = state.ledger.position(symbol);
        let limit = instrument.qty_to_decimal(self.config.position_limits[symbol.index()]);
        let worst = match side {
            Side::Buy => position + instrument.qty_to_decimal(open_buy + extra),
            Side::Sell => -(position - instrument.qty_to_decimal(open_sell + extra)),
        };
        (worst > limit).then(|| {
            format!(
                "this order could make the {} position {}{} with the open orders, over the limit of {}",
                instrument.symbol,
                if side == Side::Buy { "" } else { "-" },
                encode::fixed(worst, instrument.qty_decimals),
                encode::fixed(limit, instrument.qty_decimals)
            )
        })
    }

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
