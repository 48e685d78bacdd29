//! What the TOML configuration files (instruments, accounts) share: an
//! error that names the file, the line and the field.

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {field}: {message}")]
    Invalid {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The text of one configuration file, for errors that point into it.
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of the file, about `field`.
    pub fn invalid(&self, offset: usize, field: &str, message: String) -> FileError {
        FileError::Invalid {
            file: self.file.to_string(),
            line: line_of(self.text, offset),
            field: field.to_string(),
            message,
        }
    }

    /// The file as TOML; a syntax or shape error names its line.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(self.text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            self.invalid(offset, "toml", e.message().trim().to_string())
        })
    }
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &std::path::Path) -> Result<(String, String), FileError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((file, text)),
        Err(source) => Err(FileError::Io { file, source }),
    }
}
