//! The recording reader on any bytes, plain or zstd: the header, every
//! entry and the warnings. A recording is a file a user hands to
//! `tickwire replay`; none of it may panic the reader, and an error must
//! name the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire::record::{self, RecordingError};

fuzz_target!(|data: &[u8]| {
    let reader = std::io::Cursor::new(data.to_vec());
    let mut recording = match record::read("fuzz".to_string(), reader) {
        Ok(recording) => recording,
        Err(e) => return check(&e),
    };
    let mut last_line = 1;
    loop {
        match recording.next_entry() {
            Ok(Some(entry)) => {
                assert!(entry.line > last_line, "lines go forward");
                last_line = entry.line;
                assert!(
                    usize::from(entry.symbol) < recording.header.instruments.len(),
                    "an entry's symbol is one of the header's"
                );
            }
            Ok(None) => break,
            Err(e) => {
                check(&e);
                break;
            }
        }
        let _ = recording.take_warnings();
    }
});

fn check(e: &RecordingError) {
    if let RecordingError::Invalid { line, message, .. } = e {
        assert!(*line >= 1 && !message.is_empty(), "{e}");
    }
}
