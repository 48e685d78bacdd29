//! Positions, cash and realised P&L of one account, by average cost.
//!
//! Amounts are `Decimal`s in the quote currency, exact for every fill: cash
//! moves by `price × qty` of each fill; a fill that reduces a position
//! realises `(price − average price) × closed qty` (signed by the
//! position's direction); a fill that crosses zero closes the old position
//! and opens a new one at the fill price.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::types::{Side, SymbolId};

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Signed: positive long, negative short, in the instrument's units.
    #[serde(with = "crate::types::decimal_serde")]
    pub qty: Decimal,
    /// Signed cost of the open position (`qty × average price`).
    #[serde(with = "crate::types::decimal_serde")]
    pub cost: Decimal,
    #[serde(with = "crate::types::decimal_serde")]
    pub realized_pnl: Decimal,
}

impl Position {
    /// Average entry price of the open position (zero when flat).
    pub fn avg_price(&self) -> Decimal {
        if self.qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cost / self.qty
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    #[serde(with = "crate::types::decimal_serde")]
    pub cash: Decimal,
    /// By symbol index; only symbols the account has traded.
    pub positions: BTreeMap<SymbolId, Position>,
}

impl Ledger {
    /// Books one fill; returns the position in the symbol afterwards.
    pub fn fill(&mut self, symbol: SymbolId, side: Side, price: Decimal, qty: Decimal) -> Decimal {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        self.cash -= signed * price;
        let p = self.positions.entry(symbol).or_default();
        if p.qty.is_zero() || p.qty.is_sign_positive() == signed.is_sign_positive() {
            p.qty += signed;
            p.cost += signed * price;
        } else {
            let closing = qty.min(p.qty.abs());
            let avg = p.avg_price();
            let direction = if p.qty.is_sign_positive() {
                Decimal::ONE
            } else {
                -Decimal::ONE
            };
            p.realized_pnl += (price - avg) * closing * direction;
            let remaining = qty - closing;
            if remaining.is_zero() {
                p.qty += signed;
                p.cost = if p.qty.is_zero() {
                    Decimal::ZERO
                } else {
                    avg * p.qty
                };
            } else {
                p.qty = if signed.is_sign_positive() {
                    remaining
                } else {
                    -remaining
                };
                p.cost = p.qty * price;
            }
        }
        p.qty
    }

    pub fn position(&self, symbol: SymbolId) -> Decimal {
        self.positions.get(&symbol).map_or(Decimal::ZERO, |p| p.qty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn average_cost_realises_on_reduction_and_flips() {
        let mut l = Ledger::default();
        assert_eq!(l.fill(SymbolId(0), Side::Buy, d("100"), d("2")), d("2"));
        assert_eq!(l.fill(SymbolId(0), Side::Buy, d("103"), d("1")), d("3"));
        assert_eq!(l.positions[&SymbolId(0)].avg_price(), d("101"));
        assert_eq!(l.fill(SymbolId(0), Side::Sell, d("105"), d("1")), d("2"));
        assert_eq!(l.positions[&SymbolId(0)].realized_pnl, d("4"));
        assert_eq!(
            l.positions[&SymbolId(0)].avg_price(),
            d("101"),
            "a reduction keeps the average"
        );
        // Sell 5: closes 2 at +4 each, opens short 3 at 109.
        assert_eq!(l.fill(SymbolId(0), Side::Sell, d("109"), d("5")), d("-3"));
        assert_eq!(l.positions[&SymbolId(0)].realized_pnl, d("20"));
        assert_eq!(l.positions[&SymbolId(0)].avg_price(), d("109"));
        // Cover at 100: a short gains when the price falls.
        assert_eq!(l.fill(SymbolId(0), Side::Buy, d("100"), d("3")), d("0"));
        assert_eq!(l.positions[&SymbolId(0)].realized_pnl, d("47"));
        assert_eq!(l.positions[&SymbolId(0)].avg_price(), d("0"));
        // Cash: -200 -103 +105 +545 -300 = 47, equal to the P&L when flat.
        assert_eq!(l.cash, d("47"));
    }

    #[test]
    fn cash_is_exact() {
        let mut l = Ledger::default();
        l.fill(SymbolId(0), Side::Buy, d("64000.50"), d("0.1000"));
        assert_eq!(l.cash, d("-6400.05"));
        l.fill(SymbolId(1), Side::Buy, d("64000.01"), d("0.0001"));
        assert_eq!(l.cash, d("-6406.450001"));
    }
}
