//! Signed requests as Binance checks them: `signature` is the hex
//! HMAC-SHA256, keyed by the API secret, of the query string followed by
//! the body, as sent (without the `signature` parameter itself); the
//! request's `timestamp` must be within `recvWindow` (default 5,000 ms, at
//! most 60,000) before the server's time and less than 1,000 ms after it.
//! Pure code: the time is given.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ApiError;

pub const DEFAULT_RECV_WINDOW: u64 = 5_000;
pub const MAX_RECV_WINDOW: u64 = 60_000;

/// The signed text of a request and the signature it carries: the query
/// string and the body joined, with the `signature=...` pair taken out.
pub fn signed_text(query: &str, body: &str) -> Result<(String, String), ApiError> {
    let mut signature = None;
    let mut parts = Vec::new();
    for source in [query, body] {
        let kept: Vec<&str> = source
            .split('&')
            .filter(|pair| match pair.strip_prefix("signature=") {
                Some(value) => {
                    signature = Some(value.to_string());
                    false
                }
                None => true,
            })
            .collect();
        let kept = kept.join("&");
        if !kept.is_empty() {
            parts.push(kept);
        }
    }
    let signature = signature.ok_or_else(|| ApiError::missing("signature"))?;
    Ok((parts.concat(), signature))
}

/// The hex signature of `text` under `secret`.
pub fn sign(secret: &str, text: &str) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `signature` (hex, either case) signs `text` under `secret`,
/// compared in constant time.
pub fn verify(secret: &str, text: &str, signature: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(text.as_bytes());
    match hex(signature) {
        Some(bytes) => mac.verify_slice(&bytes).is_ok(),
        None => false,
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `timestamp` and `recvWindow` (as sent) against the server's
/// time `now`, all in ms.
pub fn check_time(
    timestamp: Option<&str>,
    recv_window: Option<&str>,
    now: u64,
) -> Result<(), ApiError> {
    let timestamp = timestamp.ok_or_else(|| ApiError::missing("timestamp"))?;
    let timestamp: u64 = timestamp
        .parse()
        .map_err(|_| ApiError::illegal("timestamp", "it must be milliseconds since the epoch"))?;
    let window = match recv_window {
        None => DEFAULT_RECV_WINDOW,
        Some(text) => match text.parse::<u64>() {
            Ok(w) if w <= MAX_RECV_WINDOW => w,
            _ => {
                return Err(ApiError::new(
                    400,
                    -1131,
                    format!("recvWindow must be less than {MAX_RECV_WINDOW}."),
                ));
            }
        },
    };
    if timestamp >= now + 1000 {
        return Err(ApiError::new(
            400,
            -1021,
            format!(
                "Timestamp for this request was 1000ms ahead of the server's time (timestamp {timestamp}, server {now})."
            ),
        ));
    }
    if now.saturating_sub(timestamp) > window {
        return Err(ApiError::new(
            400,
            -1021,
            format!(
                "Timestamp for this request is outside of the recvWindow (timestamp {timestamp}, server {now}, recvWindow {window})."
            ),
        ));
    }
    Ok(())
}

/// -1022.
pub fn bad_signature() -> ApiError {
    ApiError::new(400, -1022, "Signature for this request is not valid.")
}

/// -2014: no API key, or not one that could be.
pub fn bad_key_format() -> ApiError {
    ApiError::new(401, -2014, "API-key format invalid.")
}

/// -2015: an API key no account has.
pub fn unknown_key() -> ApiError {
    ApiError::new(
        401,
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Binance's documentation (SIGNED endpoint security).
    #[test]
    fn binance_documented_example_verifies() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let expected = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        assert_eq!(sign(secret, query), expected);
        let (text, signature) =
            signed_text(&format!("{query}&signature={expected}"), "").expect("signed");
        assert_eq!((text.as_str(), signature.as_str()), (query, expected));
        assert!(verify(secret, &text, &signature));
        assert!(verify(secret, &text, &expected.to_uppercase()));
        assert!(!verify(secret, &text, &expected.replace('c', "d")));
        assert!(!verify("other", &text, expected));
        assert!(!verify(secret, &text, "zz"));
        // Query and body are joined as sent.
        let (text, _) =
            signed_text("symbol=LTCBTC&side=BUY", "type=LIMIT&signature=ab").expect("signed");
        assert_eq!(text, "symbol=LTCBTC&side=BUYtype=LIMIT");
        assert_eq!(signed_text("a=1", "").map_err(|e| e.code), Err(-1102));
    }

    #[test]
    fn timestamps_must_be_inside_the_window() {
        let now = 1_000_000;
        assert!(check_time(Some("999000"), None, now).is_ok());
        assert_eq!(
            check_time(Some("994999"), None, now).map_err(|e| e.code),
            Err(-1021)
        );
        assert!(check_time(Some("950000"), Some("60000"), now).is_ok());
        assert_eq!(
            check_time(Some("1001000"), None, now).map_err(|e| e.code),
            Err(-1021)
        );
        assert_eq!(check_time(None, None, now).map_err(|e| e.code), Err(-1102));
        assert_eq!(
            check_time(Some("x"), None, now).map_err(|e| e.code),
            Err(-1100)
        );
        assert_eq!(
            check_time(Some("999000"), Some("70000"), now).map_err(|e| e.code),
            Err(-1131)
        );
    }
}
