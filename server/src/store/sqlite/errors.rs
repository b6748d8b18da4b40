//! Turning rusqlite and IO failures into [`StoreError`]s: which constraint a write violated,
//! and the context (path, action) every other failure carries.

use std::io;
use std::path::Path;

use rusqlite::ffi;

use crate::store::StoreError;

/// The kind of constraint a failed statement violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Violation<'e> {
    /// A UNIQUE or PRIMARY KEY constraint, with SQLite's column list (`peers.name`,
    /// `cidrs.ip, cidrs.prefix`).
    Unique(&'e str),
    /// A FOREIGN KEY constraint (SQLite does not say which one).
    ForeignKey,
}

/// Which constraint `error` reports, if it is a constraint violation this module understands.
pub(super) fn violation(error: &rusqlite::Error) -> Option<Violation<'_>> {
    let rusqlite::Error::SqliteFailure(failure, message) = error else {
        return None;
    };
    if failure.code != rusqlite::ErrorCode::ConstraintViolation {
        return None;
    }
    let message = message.as_deref().unwrap_or_default();
    match failure.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            let columns = message
                .split_once("constraint failed: ")
                .map_or("", |(_, columns)| columns);
            Some(Violation::Unique(columns.trim()))
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
        // A RESTRICT action fires like a trigger (SQLITE_CONSTRAINT_TRIGGER); only the message
        // tells it apart from a real trigger's.
        _ if message.starts_with("FOREIGN KEY constraint failed") => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// Wraps a rusqlite error with the database path and what was being done.
pub(super) fn sqlite(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Sqlite {
        path,
        action,
        source: Box::new(source),
    }
}

/// Like [`sqlite`], but an error saying the file is not a database becomes
/// [`StoreError::NotANetwork`].
pub(super) fn sqlite_or_not_a_database(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            StoreError::NotANetwork {
                path,
                detail: "it is not an SQLite database".to_owned(),
            }
        } else {
            StoreError::Sqlite {
                path,
                action,
                source: Box::new(source),
            }
        }
    }
}

/// An IO failure on the database file itself (creating it, checking it exists).
///
/// [`StoreError`] has no IO variant, so the failure travels as SQLite's "cannot open" with the
/// operating system's message, which is what the person needs to read.
pub(super) fn io(path: &Path, action: &'static str, error: &io::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        action,
        source: Box::new(rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_CANTOPEN),
            Some(error.to_string()),
        )),
    }
}

/// A row that cannot be turned into its domain type.
pub(super) fn corrupt(path: &Path, what: &'static str, id: i64, detail: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        what,
        id,
        detail,
    }
}
