//! What can go wrong running a command, each with a message that says what
//! to do.

use std::net::SocketAddr;
use std::path::PathBuf;

use tickwire::config_file::FileError;
use tickwire::record::RecordingError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An instruments or accounts file (the message names its line).
    #[error("{0}")]
    ConfigFile(#[from] FileError),
    #[error("TICKWIRE_ACCOUNTS: {0} (write it as name=token,name2=token2)")]
    AccountsVariable(String),
    #[error("{flag}: {message}")]
    Option { flag: &'static str, message: String },
    #[error("{0}")]
    Recording(#[from] RecordingError),
    #[error("cannot listen on {address}: {source}; choose another address with --listen")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the server stopped with an error: {0}")]
    Server(std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A client command (order, cancel, watch, loadgen) failed; the message
    /// says why (unreachable server, refused request).
    #[error("{0}")]
    Client(String),
    /// An import's source file or line, or its output (named in the message).
    #[error("{0}")]
    Import(#[from] tickwire::import::ImportError),
}

impl CliError {
    pub fn option(flag: &'static str, message: impl Into<String>) -> CliError {
        CliError::Option {
            flag,
            message: message.into(),
        }
    }
}
