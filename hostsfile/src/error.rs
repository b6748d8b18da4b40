//! The error type of the `hostsfile` crate and the small enums that describe what was wrong.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while updating a hosts file section.
///
/// An up-to-date file is not an error: see [`Written::Unchanged`](crate::Written::Unchanged).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The section tag would not make a well-formed marker line.
    #[error("failed to use {tag:?} as a hosts section tag: {problem}")]
    InvalidTag { tag: String, problem: NameProblem },

    /// A hostname would break the line structure of the hosts file.
    #[error("failed to add hostname {name:?} for {ip}: {problem}")]
    InvalidHostname {
        ip: IpAddr,
        name: String,
        problem: NameProblem,
    },

    /// The markers of the section are not one BEGIN line followed by one END line.
    /// The file was left untouched.
    #[error(
        "failed to update the {tag:?} section of {}: {problem}; \
         fix or delete the marker lines by hand",
        Where(path.as_deref())
    )]
    Markers {
        /// The file the contents came from, when known.
        path: Option<PathBuf>,
        tag: String,
        problem: MarkerProblem,
    },

    /// The path has no file name (`/`, `..`, an empty path).
    #[error("failed to use {path:?} as a hosts file: it does not name a file")]
    InvalidPath { path: PathBuf },

    /// The path is a directory.
    #[error("failed to use {path:?} as a hosts file: it is a directory")]
    IsDirectory { path: PathBuf },

    /// The path exists but is neither a regular file nor a directory (a device, a socket…).
    #[error("failed to use {path:?} as a hosts file: it is not a regular file")]
    NotRegularFile { path: PathBuf },

    /// The existing file is not UTF-8 text.
    #[error("failed to read {path:?}: it is not UTF-8 text")]
    NotUtf8 { path: PathBuf },

    /// The process may not read or write the file (or its directory).
    #[error("failed to access {path:?}: {source}; run as root or pick a hosts file you may write")]
    PermissionDenied { path: PathBuf, source: io::Error },

    /// Reading the existing file failed.
    #[error("failed to read {path:?}: {source}")]
    Read { path: PathBuf, source: io::Error },

    /// Writing the new contents failed; `path` is the file being written (maybe the temp file).
    #[error("failed to write {path:?}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl Error {
    /// A read error for `path`, with permission problems singled out.
    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => Error::PermissionDenied {
                path: path.to_owned(),
                source,
            },
            io::ErrorKind::IsADirectory => Error::IsDirectory {
                path: path.to_owned(),
            },
            _ => Error::Read {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// A write error for `path`, with permission problems singled out.
    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => Error::PermissionDenied {
                path: path.to_owned(),
                source,
            },
            io::ErrorKind::IsADirectory => Error::IsDirectory {
                path: path.to_owned(),
            },
            _ => Error::Write {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// Attaches the file path to an error from the pure update, which does not know it.
    pub(crate) fn with_path(self, file: &Path) -> Self {
        match self {
            Error::Markers {
                path: None,
                tag,
                problem,
            } => Error::Markers {
                path: Some(file.to_owned()),
                tag,
                problem,
            },
            other => other,
        }
    }
}

/// Where a marker problem was found, for messages.
struct Where<'a>(Option<&'a Path>);

impl fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{path:?}"),
            None => f.write_str("the hosts file"),
        }
    }
}

/// How the marker lines of a section are malformed. Line numbers count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerProblem {
    /// A BEGIN line without any END line.
    MissingEnd { begin_line: usize },
    /// An END line without any BEGIN line.
    MissingBegin { end_line: usize },
    /// The END line comes before the BEGIN line.
    EndBeforeBegin { begin_line: usize, end_line: usize },
    /// More than one BEGIN line.
    DuplicateBegin {
        first_line: usize,
        second_line: usize,
    },
    /// More than one END line.
    DuplicateEnd {
        first_line: usize,
        second_line: usize,
    },
}

impl fmt::Display for MarkerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MarkerProblem::MissingEnd { begin_line } => {
                write!(f, "the BEGIN marker on line {begin_line} has no END marker")
            }
            MarkerProblem::MissingBegin { end_line } => {
                write!(f, "the END marker on line {end_line} has no BEGIN marker")
            }
            MarkerProblem::EndBeforeBegin {
                begin_line,
                end_line,
            } => write!(
                f,
                "the END marker on line {end_line} comes before the BEGIN marker on line {begin_line}"
            ),
            MarkerProblem::DuplicateBegin {
                first_line,
                second_line,
            } => write!(
                f,
                "BEGIN markers appear twice, on lines {first_line} and {second_line}"
            ),
            MarkerProblem::DuplicateEnd {
                first_line,
                second_line,
            } => write!(
                f,
                "END markers appear twice, on lines {first_line} and {second_line}"
            ),
        }
    }
}

/// Why a tag or hostname was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// It is empty.
    Empty,
    /// It is longer than the limit (253 bytes for hostnames, 200 for tags).
    TooLong { len: usize, max: usize },
    /// It contains a whitespace character where none is allowed.
    Whitespace,
    /// It starts or ends with whitespace.
    SurroundingWhitespace,
    /// It contains a control character (a line break would split the file's lines).
    ControlCharacter,
    /// It contains `#`, which starts a comment in a hosts file.
    Hash,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameProblem::Empty => f.write_str("it is empty"),
            NameProblem::TooLong { len, max } => {
                write!(f, "it is {len} bytes long, more than {max}")
            }
            NameProblem::Whitespace => f.write_str("it contains whitespace"),
            NameProblem::SurroundingWhitespace => f.write_str("it starts or ends with whitespace"),
            NameProblem::ControlCharacter => f.write_str("it contains a control character"),
            NameProblem::Hash => f.write_str("it contains '#', which starts a comment"),
        }
    }
}
