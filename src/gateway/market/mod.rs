//! The market side of the seam: sources that own a market's state and
//! publish its encoded messages through each symbol's `streams::Hub`.
//!
//! - `live`: the engine and simulator of each symbol, one task per symbol;
//! - `replay`: a recording played back, one task for every symbol.
//!
//! A source takes `commands::SymbolCommand`s from the connections, in
//! order with what it publishes. The cluster's bus (a gateway without an
//! engine) is the next source: a replica per symbol fed from the bus,
//! behind the same hub.

pub mod live;
pub mod replay;
