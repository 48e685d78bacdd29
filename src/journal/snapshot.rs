//! The snapshot file: the whole state of a server at the start of a journal
//! segment, so recovery replays only the records after it.
//!
//! ```text
//! [b"TWSNAP01"][len: u64 LE][crc32c(payload): u32 LE][payload: postcard]
//! ```
//!
//! Written to a temporary file, synced, then renamed (`DataDir`), so a
//! snapshot is whole or absent; the checksum catches damage at rest.

use serde::Serialize;
use serde::de::DeserializeOwned;

const MAGIC: &[u8; 8] = b"TWSNAP01";
const HEADER: usize = 20;

pub fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, String> {
    let payload = postcard::to_stdvec(state).map_err(|e| format!("cannot encode: {e}"))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a tickwire snapshot (wrong magic or too short)".to_string());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[8..16]);
    let len = u64::from_le_bytes(len);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[16..20]);
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(format!(
            "the header says {len} bytes of state, the file has {}",
            payload.len()
        ));
    }
    if crc32c::crc32c(payload) != u32::from_le_bytes(crc) {
        return Err("the state fails its checksum".to_string());
    }
    postcard::from_bytes(payload).map_err(|e| format!("the state cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let state = (7u64, "BTC-USD".to_string(), vec![1i64, -2, 3]);
        let bytes = encode(&state).expect("encode");
        assert_eq!(decode::<(u64, String, Vec<i64>)>(&bytes), Ok(state));
        for at in [0, 9, 17, HEADER + 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(
                decode::<(u64, String, Vec<i64>)>(&damaged).is_err(),
                "flip at {at}"
            );
        }
        assert!(decode::<(u64, String, Vec<i64>)>(&bytes[..bytes.len() - 1]).is_err());
    }
}
