//! Fixed-point and identifier types shared by every layer.
//!
//! Prices and quantities are integers (`i64`) counted in the instrument's
//! ticks and lots. Only `instrument` converts them to and from decimals, so the
//! book and the matcher never see a float or a `Decimal`.

use std::fmt;

/// A price in whole ticks of its instrument (`64000.50` with tick `0.01` is
/// `Price(6_400_050)`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Price(pub i64);

/// A quantity in whole lots of its instrument (`0.2500` with lot `0.0001` is
/// `Qty(2_500)`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Qty(pub i64);

impl Qty {
    pub const ZERO: Qty = Qty(0);

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Add for Qty {
    type Output = Qty;
    fn add(self, rhs: Qty) -> Qty {
        Qty(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Qty {
    type Output = Qty;
    fn sub(self, rhs: Qty) -> Qty {
        Qty(self.0 - rhs.0)
    }
}

impl std::ops::AddAssign for Qty {
    fn add_assign(&mut self, rhs: Qty) {
        self.0 += rhs.0;
    }
}

impl std::ops::SubAssign for Qty {
    fn sub_assign(&mut self, rhs: Qty) {
        self.0 -= rhs.0;
    }
}

/// Engine time: nanoseconds since the Unix epoch. Always injected by the
/// caller (simulated clock, wall clock at the edge, or a recording), never read
/// inside the core.
pub type UnixNanos = u64;

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A symbol by its place in the server's instruments (and so in every
/// listing): how streams, orders and positions name a symbol inside the
/// server. `Instruments::by_id` finds the instrument in O(1).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SymbolId(pub u16);

impl SymbolId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An order id, assigned by a symbol's engine in sequence from 1.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who owns an order. `Owner::SIM` is the simulated crowd: its orders trade
/// with each other (they stand for many anonymous participants), so
/// self-trade prevention applies only between orders of the same real account.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Owner(pub u32);

impl Owner {
    pub const SIM: Owner = Owner(0);

    /// Whether two orders of these owners must not trade with each other.
    pub fn prevents_trade_with(self, other: Owner) -> bool {
        self == other && self != Owner::SIM
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Time in force of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests on the book.
    Gtc,
    /// Immediate or cancel: fills what it can, the rest expires.
    Ioc,
    /// Fill or kill: fills entirely at once or not at all.
    Fok,
}

impl TimeInForce {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "gtc",
            TimeInForce::Ioc => "ioc",
            TimeInForce::Fok => "fok",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OrderType {
    Limit,
    Market,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "limit",
            OrderType::Market => "market",
        }
    }
}

/// Decimals in snapshots, as exact strings read back with
/// `deserialize_str` (the compact binary format cannot guess a type, which
/// `Decimal`'s own `Deserialize` asks it to).
pub mod decimal_serde {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Hash maps in snapshots, written in key order, so a snapshot's bytes
/// depend on the state alone, never on a map's insertion history.
pub mod sorted_map {
    use std::collections::{BTreeMap, HashMap};
    use std::hash::BuildHasher;

    use serde::{Serialize, Serializer};

    pub fn serialize<K, V, H, S>(map: &HashMap<K, V, H>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        H: BuildHasher,
        S: Serializer,
    {
        map.iter().collect::<BTreeMap<_, _>>().serialize(s)
    }
}
