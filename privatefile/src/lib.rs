//! `privatefile`: files that hold secrets (private keys, invitations, configs, peer caches).
//!
//! What it is: three ways to write such a file so that no other user can ever read it and a
//! failure never leaves half of it behind:
//! - [`reserve`] creates a new file exclusively (an existing path is [`Error::Exists`] and is
//!   left alone) with mode 0600 whatever the umask, and returns a [`Reserved`] handle; the
//!   caller does whatever must happen first (create the peer the invitation is for) and then
//!   [`Reserved::fill`]s it. A handle dropped unfilled removes its file again;
//! - [`write_new`] is `reserve` and `fill` in one;
//! - [`replace`] rewrites a file atomically: a private temporary file beside it, synced, then
//!   renamed over it, so a crash leaves either the old or the new contents.
//!
//! Every write also syncs the directory, so that the new name survives a crash as well.
//!
//! What it is not: it knows nothing of what the files hold, and never reads them.
//!
//! ```no_run
//! let reserved = privatefile::reserve("/etc/wiremesh/alice.toml".as_ref())?;
//! // … create the peer the invitation is for …
//! reserved.fill(b"[interface]\n")?;
//! # Ok::<(), privatefile::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The only mode these files ever have: read and write for the owner.
pub const MODE: u32 = 0o600;

/// Why a private file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// [`reserve`] and [`write_new`] never overwrite.
    #[error("{} exists already", path.display())]
    Exists { path: PathBuf },
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// What failed: `create`, `restrict permissions of`, `write`, `replace`, `sync the
        /// directory of`.
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Error {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The underlying I/O error (an `AlreadyExists` one for [`Error::Exists`]), for callers
    /// whose own message already names the file.
    pub fn into_io(self) -> io::Error {
        match self {
            Error::Exists { .. } => io::Error::from(ErrorKind::AlreadyExists),
            Error::Io { source, .. } => source,
        }
    }

    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            Error::Exists { path } | Error::Io { path, .. } => path,
        }
    }
}

/// A new, empty private file, waiting for its contents. Dropped unfilled, it removes the
/// file.
#[derive(Debug)]
pub struct Reserved {
    path: PathBuf,
    /// `None` once filled (or when the file is gone).
    file: Option<File>,
}

/// Creates `path` empty, exclusively, with mode [`MODE`].
pub fn reserve(path: &Path) -> Result<Reserved, Error> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .open(path)
        .map_err(|source| {
            if source.kind() == ErrorKind::AlreadyExists {
                Error::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                Error::io("create", path)(source)
            }
        })?;
    let reserved = Reserved {
        path: path.to_path_buf(),
        file: Some(file),
    };
    // The umask may have taken bits away, never added them; make the mode exact anyway.
    if let Some(file) = &reserved.file {
        file.set_permissions(fs::Permissions::from_mode(MODE))
            .map_err(Error::io("restrict permissions of", path))?;
    }
    Ok(reserved)
}

impl Reserved {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` and syncs them to disk. On failure the file is removed.
    pub fn fill(mut self, contents: &[u8]) -> Result<(), Error> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        let written = file.write_all(contents).and_then(|()| file.sync_all());
        drop(file);
        if let Err(source) = written {
            remove_quietly(&self.path);
            return Err(Error::io("write", &self.path)(source));
        }
        sync_dir_of(&self.path)
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            remove_quietly(&self.path);
        }
    }
}

/// Writes `contents` to a new private file at `path`; an existing path is [`Error::Exists`].
/// A file that could not be completely written is removed again.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
    reserve(path)?.fill(contents)
}

/// Replaces `path` (existing or not) with a private file holding `contents`, atomically.
pub fn replace(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let prefix = format!(".{name}.tmp");
    remove_leftovers(path, |file| {
        file.strip_prefix(&prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        })
    });
    let tmp = path.with_file_name(format!("{prefix}{}-{nanos}", std::process::id()));
    let reserved = reserve(&tmp)?;
    reserved.fill(contents)?;
    fs::rename(&tmp, path).map_err(|source| {
        remove_quietly(&tmp);
        Error::io("replace", path)(source)
    })?;
    sync_dir_of(path)
}

/// Syncs the directory holding `path`, so that the file's creation or rename survives a
/// crash too (syncing the file makes only its contents durable). A file system that cannot
/// sync directories (`EINVAL`) is not an error.
fn sync_dir_of(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match File::open(dir).and_then(|dir| dir.sync_all()) {
        Err(error) if error.kind() != ErrorKind::InvalidInput => {
            Err(Error::io("sync the directory of", path)(error))
        }
        _ => Ok(()),
    }
}

/// How old a leftover temporary file must be before a later write removes it: far longer
/// than any write takes, so that a write in progress in another process is never disturbed.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(600);

/// Removes the regular files beside `path` whose names `is_leftover` accepts and that were
/// last modified at least [`LEFTOVER_AGE`] ago: the temporary files of writes that were
/// killed before they could rename or remove them. Best effort (a leftover that cannot be
/// removed waits for the next write); returns how many it removed.
pub fn remove_leftovers(path: &Path, is_leftover: impl Fn(&str) -> bool) -> usize {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(&is_leftover) {
            continue;
        }
        // `DirEntry::metadata` does not follow symbolic links: only regular files go.
        let stale = entry
            .metadata()
            .ok()
            .filter(|meta| meta.is_file())
            .and_then(|meta| {
                let age = now.duration_since(meta.modified().ok()?).ok()?;
                Some(age >= LEFTOVER_AGE)
            });
        if stale == Some(true) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes a file while cleaning up after another failure; there is nothing better to do
/// with an error here.
fn remove_quietly(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_private_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.toml");
        write_new(&path, b"key = 1\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "key = 1\n");
        assert_eq!(mode(&path), 0o600);
        let error = write_new(&path, b"other").unwrap_err();
        assert!(matches!(error, Error::Exists { .. }), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "key = 1\n");
    }

    #[test]
    fn a_reserved_file_dropped_unfilled_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invitation.toml");
        let reserved = reserve(&path).unwrap();
        assert!(path.exists());
        assert_eq!(fs::read(&path).unwrap(), b"");
        drop(reserved);
        assert!(!path.exists());

        let reserved = reserve(&path).unwrap();
        reserved.fill(b"filled").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"filled");
    }

    #[test]
    fn replace_is_private_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["cache.json"]);
    }

    /// A kill between creating the temporary file and renaming it leaves the temporary
    /// file behind; the next replace of the same file removes it once it is old enough to
    /// be nobody's write in progress, and touches nothing else.
    #[test]
    fn replace_removes_old_leftovers_of_killed_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let old = SystemTime::now() - LEFTOVER_AGE - Duration::from_secs(1);
        let file = |name: &str, modified: SystemTime| {
            let leftover = dir.path().join(name);
            fs::write(&leftover, "secret").unwrap();
            File::options()
                .write(true)
                .open(&leftover)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        };
        file(".cache.json.tmp4242-1700000000000000000", old);
        file(".cache.json.tmp4243-1", SystemTime::now());
        file(".cache.json.tmp-not-ours", old);
        file(".other.json.tmp4242-17", old);
        file("cache.json.tmp4242-17", old);
        replace(&path, b"new").unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".cache.json.tmp-not-ours",
                ".cache.json.tmp4243-1",
                ".other.json.tmp4242-17",
                "cache.json",
                "cache.json.tmp4242-17",
            ]
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("file");
        let error = write_new(&path, b"x").unwrap_err();
        assert_eq!(error.path(), path);
        assert!(
            error.to_string().starts_with("failed to create "),
            "{error}"
        );
        let error = replace(&path, b"x").unwrap_err();
        assert!(
            matches!(
                error,
                Error::Io {
                    action: "create",
                    ..
                }
            ),
            "{error}"
        );
    }
}
