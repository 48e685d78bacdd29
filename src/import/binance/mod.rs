//! Binance's market data, as its public documentation defines it:
//!
//! - [`trades`]: the public data dumps (data.binance.vision) of `trades`
//!   and `aggTrades`, spot (no header) and futures (a header), CSV, plain
//!   or zipped as downloaded;
//! - [`depth`]: diff-depth streams captured as JSON lines (`depthUpdate`
//!   events with `U`/`u`, and `pu` on futures) with REST snapshot lines
//!   (`lastUpdateId`), synchronised by Binance's own rules for a local
//!   book, gaps reported.
//!
//! Which of them a file is comes from its first line.

pub mod depth;
pub mod trades;

use std::path::Path;

use super::input::{self, Lines};
use super::source::{ImportError, SourceFile};

/// Opens a Binance file of any of the kinds above; `symbol` names the
/// symbol of trade dumps whose file name does not (`SYMBOL-trades-...`).
pub fn open(path: &Path, symbol: Option<&str>) -> Result<Box<dyn SourceFile>, ImportError> {
    let name = path.display().to_string();
    let mut lines = Lines::new(&name, input::open(path)?);
    let first = match lines.next_line() {
        Some(line) => line?.to_string(),
        None => return Err(ImportError::new(&name, 1, "the file is empty")),
    };
    if first.trim_start().starts_with('{') {
        return Ok(Box::new(depth::DepthFile::new(lines, first)?));
    }
    let symbol = match symbol {
        Some(symbol) => symbol.to_string(),
        None => symbol_of_dump(path).ok_or_else(|| {
            ImportError::new(
                &name,
                0,
                "cannot tell the symbol: Binance dumps are named SYMBOL-trades-DATE or SYMBOL-aggTrades-DATE; rename the file or give --symbol",
            )
        })?,
    };
    Ok(Box::new(trades::TradesFile::new(lines, &first, symbol)?))
}

/// `BTCUSDT` of `BTCUSDT-trades-2026-01-01.zip` or
/// `BTCUSDT-aggTrades-2026-01.csv`.
fn symbol_of_dump(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let (symbol, rest) = name.split_once('-')?;
    let kind = rest.split(['-', '.']).next()?;
    (matches!(kind, "trades" | "aggTrades") && !symbol.is_empty()).then(|| symbol.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symbol_comes_from_the_dumps_name() {
        let of = |name: &str| symbol_of_dump(Path::new(name));
        assert_eq!(
            of("/data/BTCUSDT-trades-2026-01-01.zip").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            of("ETHUSDT-aggTrades-2026-01.csv").as_deref(),
            Some("ETHUSDT")
        );
        assert_eq!(of("trades.csv"), None);
        assert_eq!(of("BTCUSDT-bookTicker-2026-01-01.csv"), None);
    }
}
