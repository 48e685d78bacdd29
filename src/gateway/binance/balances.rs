//! Spot balances of an account in the Binance dialect: the configured
//! start plus every fill since, less what open orders lock; `GET account`
//! and the balance check of a new order (Binance's -2010).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::binance::ApiError;
use crate::binance::orders;
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::types::{Side, SymbolId};

/// One asset's balance.
#[derive(Default)]
pub struct Balance {
    pub total: Decimal,
    pub locked: Decimal,
}

impl Balance {
    pub fn free(&self) -> Decimal {
        self.total - self.locked
    }
}

/// Spot balances: the configured start, every fill since (a symbol's
/// position moves its base asset, its cash its quote asset), and what
/// open orders lock (a sell its quantity of the base, a buy its price
/// times quantity of the quote).
pub fn balances(shared: &Shared, account: usize) -> BTreeMap<String, Balance> {
    let mut out: BTreeMap<String, Balance> = BTreeMap::new();
    let config = &shared.accounts[account].config;
    for (asset, amount) in &config.balances {
        out.entry(asset.clone()).or_default().total += *amount;
    }
    for instrument in shared.instruments.iter() {
        out.entry(instrument.base_asset().to_string()).or_default();
        out.entry(instrument.quote_asset().to_string()).or_default();
    }
    let state = shared.accounts[account].state();
    for (symbol, position) in &state.ledger.positions {
        let Some(instrument) = shared.instrument(*symbol) else {
            continue;
        };
        out.entry(instrument.base_asset().to_string())
            .or_default()
            .total += position.qty;
        out.entry(instrument.quote_asset().to_string())
            .or_default()
            .total += position.realized_pnl - position.cost;
    }
    for order in state.orders.open(None) {
        let Some(instrument) = shared.instrument(order.symbol) else {
            continue;
        };
        let leaves = instrument.qty_to_decimal(order.leaves);
        match (order.side, order.price) {
            (Side::Sell, _) => {
                out.entry(instrument.base_asset().to_string())
                    .or_default()
                    .locked += leaves;
            }
            (Side::Buy, Some(price)) => {
                out.entry(instrument.quote_asset().to_string())
                    .or_default()
                    .locked += leaves * instrument.price_to_decimal(price);
            }
            (Side::Buy, None) => {}
        }
    }
    out
}

/// `GET /account`.
pub fn account(shared: &Shared, account: usize) -> Value {
    let balances: Vec<Value> = balances(shared, account)
        .into_iter()
        .map(|(asset, b)| {
            json!({
                "asset": asset,
                "free": (b.total - b.locked).normalize().to_string(),
                "locked": b.locked.normalize().to_string(),
            })
        })
        .collect();
    json!({
        "makerCommission": 0, "takerCommission": 0, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
        "canTrade": true, "canWithdraw": false, "canDeposit": false, "brokered": false,
        "requireSelfTradePrevention": false, "preventSor": false,
        "updateTime": 0, "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": account,
    })
}

/// A spot account cannot sell more than it has free, nor buy at a limit
/// price for more quote than it has free (Binance's -2010). Market buys
/// are checked by the engine's band only.
pub fn check_balance(
    shared: &Shared,
    account: usize,
    _symbol: SymbolId,
    instrument: &Instrument,
    order: &orders::NewOrder,
) -> Result<(), ApiError> {
    let qty: Decimal = order
        .quantity
        .parse()
        .map_err(|_| ApiError::illegal("quantity", "it must be a decimal number"))?;
    let balances = balances(shared, account);
    let free = |asset: &str| {
        balances
            .get(asset)
            .map_or(Decimal::ZERO, |b| b.total - b.locked)
    };
    let (asset, needed) = if order.buy {
        let price: Option<Decimal> = order.price.as_deref().and_then(|p| p.parse().ok());
        match price {
            Some(price) => (instrument.quote_asset(), price * qty),
            None => return Ok(()),
        }
    } else {
        (instrument.base_asset(), qty)
    };
    if needed > free(asset) {
        // Binance's exact message (clients map it to their errors).
        return Err(ApiError::new(
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        ));
    }
    Ok(())
}
