//! tickwire: a simulated exchange feed.
//!
//! # Layout
//!
//! The core is pure, synchronous and deterministic (no tokio, no clock, no
//! hashing order in any output); async code lives only at the edges.
//!
//! - [`types`]: `Price` and `Qty` as integer ticks and lots, ids, sides.
//! - [`instrument`]: instruments from `feeds/*.toml`; the only place decimals
//!   are parsed and formatted.
//! - [`book`]: the limit order book (sorted levels, FIFO queues in a slab, an
//!   id index).
//! - [`engine`]: validation and price-time matching for one symbol; turns
//!   each `Input` into `Event`s with per-stream sequence numbers.
//! - [`sim`]: seeded order flow (fair value, market makers, Poisson limit
//!   orders, cancels and market orders) that keeps a realistic book.
//! - [`stats`]: candles (1s, 1m) and the ticker with rolling 24h figures.
//! - [`market`]: one symbol's engine, simulator and stats driven together.
//! - [`scenario`]: scripted market scenarios (trends, jumps, volatility,
//!   liquidity, halts, flash crashes) applied to the simulation in time.
//! - [`paper`]: paper orders filled against a replayed book and its trades
//!   (a queue-position model), for `replay --paper`.
//!
//! The edges (tokio):
//!
//! - [`gateway`]: the server (HTTP, the embedded web UI, WebSocket
//!   connections, symbol tasks, trading, replay), over [`fanout`] and
//!   [`encode`].
//! - [`import`] (files, synchronous): market data recorded elsewhere
//!   (Tardis CSV, Binance dumps and depth captures, captures of tickwire's
//!   protocol), read into events with errors that name the file and line.
//! - [`watch`]: `tickwire watch`, the terminal viewer; [`client`]: the
//!   command-line trading client; [`loadgen`]: the load generator.
//! - [`signal`]: waiting for Ctrl-C or SIGTERM.
//! - [`binance`] (pure): the Binance spot dialect's names, events, REST
//!   bodies and errors, made from the native streams; [`query`]: URL query
//!   strings.
//! - [`faults`] (pure): fault schedules for a connection's market data,
//!   applied by [`fanout`], so clients can prove they recover.
//!
//! The edges that need tokio (`gateway`, `fanout`, `journal`, `client`,
//! `loadgen`, `watch`, `signal`) and the binary are the `server` feature,
//! on by default. Without it the core builds alone: the fuzz crate
//! (`fuzz/`) builds it so, which keeps its sanitizer build small.

pub mod binance;
pub mod book;
pub mod bus;
#[cfg(feature = "server")]
pub mod client;
pub mod config_file;
pub mod encode;
pub mod engine;
pub mod error_code;
#[cfg(feature = "server")]
pub mod fanout;
pub mod faults;
#[cfg(feature = "server")]
pub mod gateway;
pub mod import;
pub mod instrument;
#[cfg(feature = "server")]
pub mod journal;
pub mod json;
pub mod latency;
#[cfg(feature = "server")]
pub mod loadgen;
pub mod market;
pub mod paper;
pub mod protocol;
pub mod query;
pub mod record;
pub mod scenario;
#[cfg(feature = "server")]
pub mod signal;
pub mod sim;
pub mod stats;
pub mod summary;
pub mod trading;
pub mod types;
#[cfg(feature = "server")]
pub mod watch;
