//! Reading a message's `type`, `symbol`, `seq` and `ts` straight out of
//! the read buffer, without parsing the rest: the generator must read
//! millions of messages a second on one core.

use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem;

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memmem::find(hay, needle)
}

/// The number at `at`, up to the first byte that is not a digit.
fn u64_at(text: &[u8], at: usize) -> Option<u64> {
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in text.get(at..)? {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(value)
}

/// The string at `at`, up to the closing quote.
fn str_at(text: &[u8], at: usize) -> Option<&[u8]> {
    let rest = text.get(at..)?;
    memchr::memchr(b'"', rest).map(|end| &rest[..end])
}

/// The number after `key` (like `"seq":`), without parsing the rest.
pub fn field_u64(text: &[u8], key: &[u8]) -> Option<u64> {
    u64_at(text, find(text, key)? + key.len())
}

/// The string after `key` (like `"type":"`), up to the closing quote.
pub fn field_str<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    str_at(text, find(text, key)? + key.len())
}

/// A key read from every message, its searcher built once: building one
/// per search (what `memmem::find` does) was most of the generator's time.
pub struct Key(memmem::Finder<'static>);

impl Key {
    pub fn new(key: &'static [u8]) -> Key {
        Key(memmem::Finder::new(key))
    }

    /// As `field_u64`.
    pub fn u64_in(&self, text: &[u8]) -> Option<u64> {
        u64_at(text, self.0.find(text)? + self.0.needle().len())
    }

    /// As `field_str`.
    pub fn str_in<'a>(&self, text: &'a [u8]) -> Option<&'a [u8]> {
        str_at(text, self.0.find(text)? + self.0.needle().len())
    }
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
        let (seq, kind) = (Key::new(b"\"seq\":"), Key::new(b"\"type\":\""));
        assert_eq!(seq.u64_in(text), Some(42));
        assert_eq!(kind.str_in(text), Some(&b"book_update"[..]));
        assert_eq!(Key::new(b"\"nope\":").u64_in(text), None);
        assert_eq!(seq.u64_in(b"{\"seq\":"), None);
        assert_eq!(kind.str_in(b"{\"type\":\"unterminated"), None);
        assert_eq!(field_u64(b"{\"seq\":x}", b"\"seq\":"), None);
        assert_eq!(
            field_u64(b"{\"seq\":99999999999999999999999}", b"\"seq\":"),
            None
        );
    }
}
