//! Trading: accounts and tokens, the book-keeping of each account's orders
//! and client order ids, and positions with P&L. Pure code; the gateway
//! calls it from the symbol tasks (which own the fills) and the connections
//! (which own the requests).

pub mod account_orders;
pub mod accounts;
pub mod ledger;
pub mod private_log;

pub use account_orders::{AccountOrders, ClientOrderStatus, DoneOrder, OpenOrder, OrderState};
pub use accounts::{AccountConfig, Accounts};
pub use ledger::{Ledger, Position};
pub use private_log::{PrivateLog, SentFill};
