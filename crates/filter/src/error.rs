//! The crate's error type.
//!
//! One enum, [`Error`], for everything that can fail in this crate: I/O while reading lists
//! or writing/mapping the database, a database file that fails validation, and compile
//! problems. Rejections of a single name by [`crate::normalise_domain`] are a separate small
//! `Copy` enum, [`crate::NameError`], because list readers count them per line instead of
//! failing; it converts into [`Error::Name`] where a caller wants a single type.

use std::path::PathBuf;

use crate::name::NameError;

/// Errors of the filter crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A database file failed validation at open: wrong magic, unknown version, section
    /// out of bounds, checksum mismatch, unsorted entries, offsets out of range, ...
    #[error("corrupt filter database: {0}")]
    Corrupt(String),
    /// The database was written by a different format version.
    #[error(
        "unsupported filter database version {found} (this build reads {expected}); \
         recompile the lists with this build"
    )]
    Version {
        /// Version in the file.
        found: u32,
        /// Version this build understands.
        expected: u32,
    },
    /// A name was rejected by normalisation.
    #[error("invalid domain name: {0}")]
    Name(#[from] NameError),
    /// The sources cannot be compiled (e.g. too many categories, empty category name).
    #[error("cannot compile: {0}")]
    Compile(String),
    /// A list update cannot go ahead: no or bad sources, an unsafe or oversized archive,
    /// a new file failing its checks. The message names the source or file.
    #[error("cannot update the lists: {0}")]
    Update(String),
    /// A taxonomy, mapping or policy file (or policy built in code) is invalid; the message
    /// names the file part, policy and field.
    #[error("invalid policy configuration: {0}")]
    Policy(String),
}

/// Errors of [`crate::Database::open`]; the same type as [`Error`].
pub type DbError = Error;

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(msg: impl Into<String>) -> Self {
        Self::Corrupt(msg.into())
    }
}
