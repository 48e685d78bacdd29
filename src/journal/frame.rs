//! The framing of journal records, and the scan that finds where a segment's
//! whole records end. Pure: bytes in, records and a verdict out.
//!
//! A segment is a 16-byte header (`TWJOURN1`, then the segment's number as a
//! little-endian u64) followed by frames:
//!
//! ```text
//! [len: u32 LE][crc32c(len): u32 LE][crc32c(payload): u32 LE][payload: len bytes]
//! ```
//!
//! The length has its own checksum, so a damaged length is told apart from
//! a record cut short by a crash: a frame whose header is whole and right
//! but whose payload runs past the end of the file, or a frame cut inside
//! its header, is a **torn tail** (the write a crash interrupted); anything
//! else that fails a checksum is **corruption**, reported with its offset.

/// The first bytes of every segment.
pub const MAGIC: &[u8; 8] = b"TWJOURN1";
/// Segment header: magic and segment number.
pub const SEGMENT_HEADER: usize = 16;
/// Frame header: length, its checksum, the payload's checksum.
pub const FRAME_HEADER: usize = 12;
/// No record is larger (a record is one input; the largest is a few hundred
/// bytes), so a length above this is damage, not data.
pub const MAX_RECORD: usize = 1 << 20;

/// Appends one framed record to `out`.
pub fn put(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32c::crc32c(&len).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The header of segment number `index`.
pub fn segment_header(index: u64) -> [u8; SEGMENT_HEADER] {
    let mut header = [0u8; SEGMENT_HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&index.to_le_bytes());
    header
}

/// How a scan of a segment ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Every byte belongs to a whole record.
    Clean,
    /// The last record was cut short at `offset` (where the whole records
    /// end): a write a crash interrupted.
    TornTail { offset: usize },
    /// A record at `offset` is damaged and is not the last thing in the
    /// file: acknowledged records may follow, so this is an error.
    Corrupt { offset: usize, why: String },
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Checks a segment's header; returns its number.
pub fn check_header(bytes: &[u8]) -> Result<u64, String> {
    if bytes.len() < SEGMENT_HEADER {
        return Err(format!(
            "{} bytes, shorter than a segment header ({SEGMENT_HEADER})",
            bytes.len()
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a tickwire journal segment (wrong magic)".to_string());
    }
    let mut index = [0u8; 8];
    index.copy_from_slice(&bytes[8..16]);
    Ok(u64::from_le_bytes(index))
}

/// Walks the frames of a segment's body (after its header), calling
/// `record(offset, payload)` for each whole one, in order. `base` is the
/// body's offset in the file, for the offsets reported.
pub fn scan(
    body: &[u8],
    base: usize,
    mut record: impl FnMut(usize, &[u8]) -> Result<(), String>,
) -> End {
    let mut at = 0;
    while at < body.len() {
        let rest = &body[at..];
        let offset = base + at;
        // Zeros to the end: space a crash left allocated but unwritten.
        if rest.iter().all(|&b| b == 0) {
            return End::TornTail { offset };
        }
        if rest.len() < FRAME_HEADER {
            return End::TornTail { offset };
        }
        let len = u32_at(rest, 0);
        if crc32c::crc32c(&rest[..4]) != u32_at(rest, 4) {
            return End::Corrupt {
                offset,
                why: "the record's length fails its checksum".to_string(),
            };
        }
        let len = len as usize;
        if len == 0 || len > MAX_RECORD {
            return End::Corrupt {
                offset,
                why: format!("a record length of {len} bytes"),
            };
        }
        let end = FRAME_HEADER + len;
        if rest.len() < end {
            return End::TornTail { offset };
        }
        let payload = &rest[FRAME_HEADER..end];
        if crc32c::crc32c(payload) != u32_at(rest, 8) {
            // A checksum failure in the very last record is the write a
            // crash tore (its sectors reached the disk in part).
            if rest.len() == end {
                return End::TornTail { offset };
            }
            return End::Corrupt {
                offset,
                why: "the record fails its checksum".to_string(),
            };
        }
        if let Err(why) = record(offset, payload) {
            return End::Corrupt { offset, why };
        }
        at += end;
    }
    End::Clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(records: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            put(&mut out, r);
        }
        out
    }

    fn collect(bytes: &[u8]) -> (Vec<Vec<u8>>, End) {
        let mut seen = Vec::new();
        let end = scan(bytes, 0, |_, p| {
            seen.push(p.to_vec());
            Ok(())
        });
        (seen, end)
    }

    #[test]
    fn whole_records_scan_clean() {
        let bytes = body(&[b"one", b"two", b"three"]);
        let (seen, end) = collect(&bytes);
        assert_eq!(
            seen,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(end, End::Clean);
    }

    #[test]
    fn a_cut_at_every_offset_of_the_last_record_keeps_the_others() {
        let bytes = body(&[b"first record", b"second record", b"the last one"]);
        let last_start = bytes.len() - (FRAME_HEADER + b"the last one".len());
        for cut in last_start..bytes.len() {
            let (seen, end) = collect(&bytes[..cut]);
            assert_eq!(seen.len(), 2, "cut at {cut}");
            if cut == last_start {
                assert_eq!(end, End::Clean);
            } else {
                assert_eq!(end, End::TornTail { offset: last_start }, "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_flipped_byte_before_the_tail_is_corruption_with_its_offset() {
        let bytes = body(&[b"first record", b"second record", b"third"]);
        let second = FRAME_HEADER + b"first record".len();
        for flip in second..second + FRAME_HEADER + b"second record".len() {
            let mut damaged = bytes.clone();
            damaged[flip] ^= 0x40;
            let (seen, end) = collect(&damaged);
            assert_eq!(seen.len(), 1, "flip at {flip}");
            assert!(
                matches!(end, End::Corrupt { offset, .. } if offset == second),
                "flip at {flip}: {end:?}"
            );
        }
    }

    #[test]
    fn zeros_after_the_records_are_a_torn_tail() {
        let mut bytes = body(&[b"a", b"b"]);
        let whole = bytes.len();
        bytes.extend_from_slice(&[0u8; 100]);
        let (seen, end) = collect(&bytes);
        assert_eq!(seen.len(), 2);
        assert_eq!(end, End::TornTail { offset: whole });
    }

    #[test]
    fn headers_name_their_segment() {
        let header = segment_header(42);
        assert_eq!(check_header(&header), Ok(42));
        assert!(check_header(b"TWJOURN2........").is_err());
        assert!(check_header(b"short").is_err());
    }
}
