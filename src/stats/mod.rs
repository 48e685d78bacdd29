//! Market statistics derived from trades and the top of the book: candles
//! (OHLCV bars) and the ticker with its rolling 24-hour figures. Pure code,
//! driven with engine time.

mod candles;
mod ticker;

pub use candles::{Candle, CandleSeries, Interval, MAX_BARS};
pub use ticker::{Rolling24h, Ticker, TickerState, WindowStats};
