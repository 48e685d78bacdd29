//! The market side of the seam: sources that own a market's state and
//! publish its encoded messages through each symbol's `streams::Hub`.
//!
//! - `live`: the engine and simulator of each symbol, one task per symbol;
//! - `replay`: a recording played back, one task for every symbol, with
//!   paper trading against it (`--paper`);
//! - `private` and `effects`: what both do with the engine's events of
//!   clients' orders (book them in the accounts, send the private events,
//!   in order with everything else).
//!
//! A source takes `commands::SymbolCommand`s from the connections, in
//! order with what it publishes. The cluster's bus (a gateway without an
//! engine) is the next source: a replica per symbol fed from the bus,
//! behind the same hub.

pub mod effects;
pub mod live;
pub mod orders;
pub mod private;
pub mod replay;
