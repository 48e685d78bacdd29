//! A source file's text, whatever it was packed in: plain, gzip (Tardis's
//! downloads) or a zip archive of one file (Binance's public data dumps),
//! told apart by the first bytes, never by the name.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::source::ImportError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZIP_MAGIC: [u8; 4] = [b'P', b'K', 0x03, 0x04];

/// The text of `path`, unpacked; errors name the file.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, ImportError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| ImportError::new(&name, 0, e.to_string()))?;
    unpack(&name, file)
}

/// The text of `reader`'s bytes, unpacked; `name` names it in errors.
pub fn unpack(name: &str, reader: impl Read + 'static) -> Result<Box<dyn BufRead>, ImportError> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let head = buffered
        .fill_buf()
        .map_err(|e| ImportError::new(name, 0, e.to_string()))?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(buffered),
        )))
    } else if head.starts_with(&ZIP_MAGIC) {
        unzip(name, buffered)
    } else {
        Ok(Box::new(buffered))
    }
}

/// The one file of a zip archive, read into memory (an archive is read
/// from its end, so it cannot be streamed; a day of one symbol's trades
/// is tens of megabytes).
fn unzip(name: &str, mut reader: impl Read) -> Result<Box<dyn BufRead>, ImportError> {
    let error = |message: String| ImportError::new(name, 0, message);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| error(format!("not a readable zip archive: {e}")))?;
    let files: Vec<usize> = (0..archive.len())
        .filter(|&i| archive.by_index(i).is_ok_and(|f| f.is_file()))
        .collect();
    let [only] = files[..] else {
        return Err(error(format!(
            "a zip archive must hold exactly one file (this one holds {}): unpack it and import the files you want",
            files.len()
        )));
    };
    let mut entry = archive
        .by_index(only)
        .map_err(|e| error(format!("cannot read the archive's file: {e}")))?;
    let mut text = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 30));
    entry
        .read_to_end(&mut text)
        .map_err(|e| error(format!("cannot unpack {:?}: {e}", entry.name())))?;
    Ok(Box::new(Cursor::new(text)))
}

/// Lines of a source file with their numbers (1-based), without `\r\n` or
/// `\n`; a line that is not UTF-8 is an error naming it.
pub struct Lines {
    pub name: String,
    input: Box<dyn BufRead>,
    /// The number of the line last read.
    pub line: u64,
    buffer: String,
}

impl Lines {
    pub fn new(name: &str, input: Box<dyn BufRead>) -> Lines {
        Lines {
            name: name.to_string(),
            input,
            line: 0,
            buffer: String::with_capacity(256),
        }
    }

    /// The next line that is not blank, or None at the end.
    pub fn next_line(&mut self) -> Option<Result<&str, ImportError>> {
        loop {
            self.buffer.clear();
            match self.input.read_line(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line += 1;
                    if self.buffer.trim().is_empty() {
                        continue;
                    }
                    return Some(Ok(self.buffer.trim_end_matches(['\n', '\r'])));
                }
                Err(e) => {
                    self.line += 1;
                    return Some(Err(self.error(format!("cannot read: {e}"))));
                }
            }
        }
    }

    /// An error at the line last read.
    pub fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(&self.name, self.line, message)
    }
}

/// A time since the epoch in seconds, milliseconds, microseconds or
/// nanoseconds, told apart by its size (Binance's dumps switched from
/// milliseconds to microseconds in 2025), as nanoseconds.
pub fn epoch_nanos(value: u64) -> Option<u64> {
    let factor = match value {
        0..100_000_000_000 => 1_000_000_000, // seconds until the year 5138
        100_000_000_000..100_000_000_000_000 => 1_000_000,
        100_000_000_000_000..100_000_000_000_000_000 => 1_000,
        _ => 1,
    };
    value.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_units_by_size() {
        let nanos = 1_767_225_600_000_000_000; // 2026-01-01
        assert_eq!(epoch_nanos(1_767_225_600), Some(nanos));
        assert_eq!(epoch_nanos(1_767_225_600_000), Some(nanos));
        assert_eq!(epoch_nanos(1_767_225_600_000_000), Some(nanos));
        assert_eq!(epoch_nanos(nanos), Some(nanos));
    }

    fn text(input: Box<dyn BufRead>) -> String {
        let mut lines = Lines::new("x", input);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line() {
            let line = line.unwrap().to_string();
            out.push(format!("{}:{line}", lines.line));
        }
        out.join("|")
    }

    #[test]
    fn plain_gzip_and_zip_read_alike() {
        let plain = "a,b\r\n\n1,2\n";
        let want = "1:a,b|3:1,2";
        assert_eq!(text(unpack("p", Cursor::new(plain)).unwrap()), want);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, plain.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(text(unpack("g", Cursor::new(gz)).unwrap()), want);

        let zipped = |files: &[&str]| {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            for name in files {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                std::io::Write::write_all(&mut zip, plain.as_bytes()).unwrap();
            }
            zip.finish().unwrap().into_inner()
        };
        let one = zipped(&["BTCUSDT-trades-2026-01-01.csv"]);
        assert_eq!(text(unpack("z", Cursor::new(one)).unwrap()), want);
        let Err(two) = unpack("z", Cursor::new(zipped(&["a.csv", "b.csv"]))) else {
            panic!("two files accepted");
        };
        assert!(two.message.contains("exactly one file"), "{two}");
    }
}
