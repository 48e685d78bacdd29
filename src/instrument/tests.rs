use super::*;

fn btc() -> Instrument {
    Instruments::embedded_default()
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD in default.toml")
}

#[test]
fn embedded_default_has_at_least_four_symbols() {
    let all = Instruments::embedded_default();
    assert!(all.len() >= 4);
    for symbol in ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL"] {
        assert!(all.get(symbol).is_some(), "{symbol} missing");
    }
}

#[test]
fn prices_parse_exactly_and_format_with_the_instrument_decimals() {
    let i = btc();
    assert_eq!(i.parse_price("64000.50"), Ok(Price(6_400_050)));
    assert_eq!(i.parse_price("64000.5"), Ok(Price(6_400_050)));
    assert_eq!(i.format_price(Price(6_400_050)), "64000.50");
    assert_eq!(i.format_price(Price(1)), "0.01");
    assert_eq!(i.parse_qty("0.25"), Ok(Qty(2_500)));
    assert_eq!(i.format_qty(Qty(2_500)), "0.2500");
    assert_eq!(i.format_qty(Qty(1_000_000)), "100.0000");
    assert_eq!(i.price_to_decimal(Price(6_400_050)).to_string(), "64000.50");
    assert_eq!(i.qty_to_decimal(Qty(2_500)).to_string(), "0.2500");
}

#[test]
fn values_off_the_grid_are_errors_never_rounded() {
    let i = btc();
    let err = i.parse_price("64000.005").unwrap_err();
    assert_eq!(
        err.to_string(),
        "price 64000.005 is not a multiple of the tick size 0.01"
    );
    assert!(matches!(
        i.parse_qty("0.00001"),
        Err(ValueError::NotMultiple { .. })
    ));
    assert!(matches!(
        i.parse_price("0"),
        Err(ValueError::NotPositive { .. })
    ));
    assert!(matches!(
        i.parse_price("-5.00"),
        Err(ValueError::NotPositive { .. })
    ));
    for bad in ["", "1e5", "+1", "1_000", " 1", "1.", ".5", "abc", "1.2.3"] {
        assert!(
            matches!(i.parse_price(bad), Err(ValueError::NotDecimal { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        i.parse_price("99999999999999999999999.00"),
        Err(ValueError::OutOfRange { .. })
    ));
}

#[test]
fn coarse_ticks_must_be_whole_multiples() {
    let i = Instrument::new(
        "X",
        Decimal::new(5, 2),
        Decimal::new(1, 0),
        2,
        0,
        Decimal::new(100, 0),
        Decimal::new(1, 1),
        Decimal::new(1000, 2),
        0.01,
        10.0,
    )
    .expect("valid");
    assert_eq!(i.parse_price("10.05"), Ok(Price(201)));
    assert!(matches!(
        i.parse_price("10.03"),
        Err(ValueError::NotMultiple { .. })
    ));
    assert_eq!(i.format_price(Price(201)), "10.05");
}

#[test]
fn rate_scale_multiplies_every_rate_within_the_limits() {
    let all = Instruments::embedded_default();
    let scaled = all.with_rate_scale(10.0).expect("valid");
    for (a, b) in all.iter().zip(scaled.iter()) {
        assert_eq!(b.event_rate, a.event_rate * 10.0);
    }
    assert!(all.with_rate_scale(1e9).unwrap_err().contains("outside"));
    assert!(all.with_rate_scale(0.0).is_err());
    assert!(all.with_rate_scale(f64::NAN).is_err());
}

#[test]
fn band_ticks_scale_with_the_reference() {
    let i = btc();
    assert_eq!(i.band_ticks(Price(6_400_000)), 640_000);
    assert_eq!(i.band_ticks(Price(1)), 1);
}

const GOOD: &str = r#"
[[instrument]]
symbol = "BTC-USD"
tick_size = "0.01"
lot_size = "0.0001"
price_decimals = 2
qty_decimals = 4
max_qty = "100"
start_price = "64000"
volatility = 0.01
event_rate = 100
"#;

fn error_of(text: &str) -> String {
    Instruments::parse("test.toml", text)
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_the_file_the_line_and_the_field() {
    assert!(Instruments::parse("test.toml", GOOD).is_ok());
    assert_eq!(
        error_of(&GOOD.replace("\"0.01\"", "\"0.001\"")),
        "test.toml:4: tick_size: 0.001 has more decimals than price_decimals (2)"
    );
    assert_eq!(
        error_of(&GOOD.replace("\"100\"", "\"100.00001\"")),
        "test.toml:8: max_qty: qty 100.00001 is not a multiple of the lot size 0.0001"
    );
    assert_eq!(
        error_of(&GOOD.replace("event_rate = 100", "event_rate = 0")),
        "test.toml:11: event_rate: 0 must be between 0.001 and 10000000 events per second"
    );
    assert_eq!(
        error_of(&GOOD.replace("\"BTC-USD\"", "\"btc.usd\"")),
        "test.toml:3: symbol: \"btc.usd\" must be 1 to 20 characters of A-Z, 0-9 and '-'"
    );
    assert_eq!(
        error_of(&GOOD.replace("\"64000\"", "\"abc\"")),
        "test.toml:9: start_price: \"abc\" is not a decimal number"
    );
    let twice = format!("{GOOD}{GOOD}");
    assert_eq!(
        error_of(&twice),
        "test.toml:14: symbol: BTC-USD is defined twice"
    );
    let unknown = error_of(&GOOD.replace("volatility", "volatilty"));
    assert!(
        unknown.starts_with("test.toml:10: toml: unknown field `volatilty`"),
        "{unknown}"
    );
    let missing = error_of(&GOOD.replace("lot_size = \"0.0001\"\n", ""));
    assert!(missing.contains("missing field `lot_size`"), "{missing}");
    let syntax = error_of("[[instrument]]\nsymbol = \n");
    assert!(syntax.starts_with("test.toml:2: toml:"), "{syntax}");
    assert_eq!(
        error_of("title = 1\n"),
        "test.toml:1: toml: unknown field `title`, expected `instrument`"
    );
}

proptest::proptest! {
    /// The hand-written digits agree with Rust's formatting of the same
    /// value, every sign, size and number of decimals.
    #[test]
    fn units_are_written_as_formatting_writes_them(units in proptest::num::i64::ANY, decimals in 0u32..=MAX_DECIMALS) {
        let mut written = String::new();
        write_units(units, decimals, &mut written);
        let scale = 10u64.pow(decimals);
        let magnitude = units.unsigned_abs();
        let sign = if units < 0 { "-" } else { "" };
        let expected = if decimals == 0 {
            format!("{sign}{magnitude}")
        } else {
            format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale, width = decimals as usize)
        };
        proptest::prop_assert_eq!(written, expected);
    }
}

#[test]
fn units_at_the_edges() {
    let written = |units, decimals| {
        let mut out = String::new();
        write_units(units, decimals, &mut out);
        out
    };
    assert_eq!(written(0, 0), "0");
    assert_eq!(written(0, 2), "0.00");
    assert_eq!(written(5, 2), "0.05");
    assert_eq!(written(-5, 9), "-0.000000005");
    assert_eq!(written(6400050, 2), "64000.50");
    assert_eq!(written(i64::MIN, 9), "-9223372036.854775808");
    assert_eq!(written(i64::MAX, 0), "9223372036854775807");
}
