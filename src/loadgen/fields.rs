//! Reading a message's `type`, `symbol`, `seq` and `ts` straight out of
//! the read buffer, without parsing the rest: the generator must read
//! millions of messages a second on one core.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The number after `key` (like `"seq":`), without parsing the rest.
pub fn field_u64(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(text, key)? + key.len();
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in &text[at..] {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(value)
}

/// The string after `key` (like `"type":"`), up to the closing quote.
pub fn field_str<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find(text, key)? + key.len();
    let rest = &text[at..];
    memchr::memchr(b'"', rest).map(|end| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_without_parsing() {
        let text =
            br#"{"type":"book_update","symbol":"BTC-USD","seq":42,"ts":1767225600000,"bids":[]}"#;
        assert_eq!(field_str(text, b"\"type\":\""), Some(&b"book_update"[..]));
        assert_eq!(field_str(text, b"\"symbol\":\""), Some(&b"BTC-USD"[..]));
        assert_eq!(field_u64(text, b"\"seq\":"), Some(42));
        assert_eq!(field_u64(text, b"\"ts\":"), Some(1_767_225_600_000));
        assert_eq!(field_u64(text, b"\"nope\":"), None);
        assert_eq!(field_u64(b"{\"seq\":x}", b"\"seq\":"), None);
        assert_eq!(
            field_u64(b"{\"seq\":99999999999999999999999}", b"\"seq\":"),
            None
        );
    }
}
