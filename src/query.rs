//! URL query strings (`a=1&b=2`), percent-decoded: the polling API's and
//! the Binance dialect's parameters. Pure code.

/// The value of `name` in a query string, percent-decoded (the first, if
/// it is there more than once).
pub fn param(query: &str, name: &str) -> Result<Option<String>, String> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name {
            return decode(value).map(Some);
        }
    }
    Ok(None)
}

/// Every `(name, value)` pair in order, percent-decoded; empty pieces
/// (`a=1&&b=2`) are skipped.
pub fn pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

/// Percent-decoding (`+` is a space), checked: a bad escape or bytes that
/// are not UTF-8 once decoded are errors.
pub fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent-encoding in {text:?}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_found_and_decoded() {
        assert_eq!(
            param("symbol=BTC-USD&depth=10", "depth"),
            Ok(Some("10".into()))
        );
        assert_eq!(
            param("symbol=BTC%2DUSD", "symbol"),
            Ok(Some("BTC-USD".into()))
        );
        assert_eq!(param("depth=10", "symbol"), Ok(None));
        assert!(param("symbol=%G1", "symbol").is_err());
        assert!(param("symbol=%FF", "symbol").is_err());
        assert_eq!(
            pairs("a=1&&b=x+y&c"),
            Ok(vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new())
            ])
        );
    }
}
