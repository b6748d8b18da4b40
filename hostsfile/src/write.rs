//! Reading a hosts file and replacing its contents atomically.
//!
//! The new contents go to a temp file next to the original (`<name>.tmp<unix-millis>`), which
//! gets the original's permissions and owner, is synced, and is renamed over the original.
//!
//! Where the rename is refused (`/etc/hosts` bind-mounted into a container gives `EBUSY`; other
//! setups give `EXDEV`, `EPERM`, `EACCES` or `EROFS`), the file is rewritten in place, which
//! cannot be atomic. So the synced temp file is first renamed to a journal,
//! `.<name>.wiremesh-journal`, next to the original (a rename inside the directory works
//! where one over the mount point does not); the original is then overwritten from the
//! start without being truncated first and cut to the new length; and the journal is
//! removed. A writer killed in between leaves the journal behind, and the next write
//! finishes the job from it before doing its own. (Where not even a temp file can be
//! created, the overwrite happens without a journal.)
//!
//! Writers — the server, the daemon and the CLI — take an exclusive `flock` on the
//! directory that holds the file for the whole read–modify–write, so none of them overwrites
//! a section another has just written. The directory is locked rather than the file because
//! the rename gives the file a new inode, and rather than a lock file so nothing is left
//! behind.

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::section::{HostsBuilder, Update};

/// The system hosts file.
pub const DEFAULT_PATH: &str = "/etc/hosts";

/// Mode of a hosts file created from nothing.
const NEW_FILE_MODE: u32 = 0o644;

/// How many temp file names to try before giving up.
const TEMP_NAME_ATTEMPTS: u32 = 16;

/// What [`HostsBuilder::write_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file was rewritten (or created).
    Changed,
    /// The file already held this section; nothing was written, not even its mtime changed.
    Unchanged,
}

/// How the new contents reached the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Renamed,
    InPlace,
}

impl HostsBuilder {
    /// Updates the section in [`DEFAULT_PATH`] (`/etc/hosts`).
    pub fn write(&self) -> Result<Written, Error> {
        self.write_to(DEFAULT_PATH)
    }

    /// Updates the section in the file at `path`, creating the file if it is missing.
    ///
    /// See [`HostsBuilder::apply`] for the rules; on any error the file is left untouched
    /// (a failed in-place fallback is the one exception, and is reported).
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<Written, Error> {
        write_with(self, path.as_ref(), &|from, to| fs::rename(from, to)).map(|method| match method
        {
            Some(_) => Written::Changed,
            None => Written::Unchanged,
        })
    }
}

/// The rename step, injectable so tests can make it fail like a bind mount does.
pub(crate) type Rename<'a> = &'a dyn Fn(&Path, &Path) -> io::Result<()>;

/// [`HostsBuilder::write_to`] with an injected rename; `None` means unchanged.
pub(crate) fn write_with(
    builder: &HostsBuilder,
    path: &Path,
    rename: Rename<'_>,
) -> Result<Option<Method>, Error> {
    if path.file_name().is_none() {
        return Err(Error::InvalidPath {
            path: path.to_owned(),
        });
    }
    let (target, _) = resolve(path)?;
    let _lock = DirLock::acquire(&target)?;
    finish_journal(&target)?;
    remove_leftover_temps(&target);
    // Read again under the lock: another writer may have replaced the file meanwhile.
    let (target, original) = resolve(&target)?;
    let existing = match &original {
        Some(_) => read_text(&target)?,
        None => String::new(),
    };
    match builder
        .apply(&existing)
        .map_err(|err| err.with_path(&target))?
    {
        Update::Unchanged => Ok(None),
        Update::Changed(contents) => {
            replace(&target, contents.as_bytes(), original.as_ref(), rename).map(Some)
        }
    }
}

/// The file to write (a symlink is followed, so the link itself survives) and its metadata,
/// `None` when it does not exist yet.
fn resolve(path: &Path) -> Result<(PathBuf, Option<Metadata>), Error> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok((path.to_owned(), None)),
        Err(err) => return Err(Error::read(path, err)),
    };
    if metadata.is_dir() {
        return Err(Error::IsDirectory {
            path: path.to_owned(),
        });
    }
    if !metadata.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_owned(),
        });
    }
    let is_link = fs::symlink_metadata(path)
        .map_err(|err| Error::read(path, err))?
        .file_type()
        .is_symlink();
    let target = if is_link {
        fs::canonicalize(path).map_err(|err| Error::read(path, err))?
    } else {
        path.to_owned()
    };
    Ok((target, Some(metadata)))
}

fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = fs::read(path).map_err(|err| Error::read(path, err))?;
    String::from_utf8(bytes).map_err(|_| Error::NotUtf8 {
        path: path.to_owned(),
    })
}

/// Puts `contents` into `path`: through a temp file and `rename`, or in place when the
/// directory or the rename refuses.
fn replace(
    path: &Path,
    contents: &[u8],
    original: Option<&Metadata>,
    rename: Rename<'_>,
) -> Result<Method, Error> {
    let (temp_path, temp_file) = match create_temp(path) {
        Ok(created) => created,
        Err(err) if rename_refused(&err) => {
            // No file can be created beside it, so there can be no journal either.
            overwrite(path, contents)?;
            return Ok(Method::InPlace);
        }
        Err(err) => return Err(Error::write(path, err)),
    };
    match fill_temp(temp_file, contents, original) {
        Ok(Owner::Kept) => {}
        Ok(Owner::Lost) => {
            // Renaming would hand the file to another owner: rewrite it in place instead.
            return write_in_place(path, &temp_path, contents).map(|()| Method::InPlace);
        }
        Err(err) => {
            remove_temp(&temp_path);
            return Err(Error::write(&temp_path, err));
        }
    }
    match rename(&temp_path, path) {
        Ok(()) => {
            sync_parent(path);
            Ok(Method::Renamed)
        }
        Err(err) if rename_refused(&err) => {
            write_in_place(path, &temp_path, contents).map(|()| Method::InPlace)
        }
        Err(err) => {
            remove_temp(&temp_path);
            Err(Error::write(path, err))
        }
    }
}

/// `<dir>/.<name>.wiremesh-journal`: the complete new contents while `path` is rewritten in
/// place.
fn journal_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.wiremesh-journal"))
}

/// Rewrites `path` in place with `contents`, which the synced temp file `temp_path` holds:
/// the temp file becomes the journal, the file is overwritten, the journal goes.
fn write_in_place(path: &Path, temp_path: &Path, contents: &[u8]) -> Result<(), Error> {
    let journal = journal_path(path);
    match fs::rename(temp_path, &journal) {
        Ok(()) => {
            sync_parent(&journal);
            overwrite(path, contents)?;
            remove_temp(&journal);
            sync_parent(&journal);
        }
        Err(_) => {
            remove_temp(temp_path);
            overwrite(path, contents)?;
        }
    }
    Ok(())
}

/// Finishes an in-place rewrite a killed writer left half done: the journal holds what the
/// file was to become.
fn finish_journal(path: &Path) -> Result<(), Error> {
    let journal = journal_path(path);
    let contents = match fs::read(&journal) {
        Ok(contents) => contents,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(Error::read(&journal, err)),
    };
    overwrite(path, &contents)?;
    fs::remove_file(&journal).map_err(|err| Error::write(&journal, err))?;
    sync_parent(&journal);
    Ok(())
}

/// An exclusive `flock` on the directory holding a hosts file, released when dropped (the
/// descriptor is kept only to hold the lock).
struct DirLock(#[allow(dead_code)] File);

impl DirLock {
    fn acquire(path: &Path) -> Result<Self, Error> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // Errors name the hosts file: that is what the caller could not write.
        let file = File::open(dir).map_err(|err| Error::write(path, err))?;
        loop {
            // SAFETY: `flock` only reads the descriptor, which `file` keeps open.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Self(file));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(Error::write(path, err));
            }
        }
    }
}

/// Errors after which rewriting in place is both needed and safe (the data is not at risk).
fn rename_refused(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ResourceBusy
            | io::ErrorKind::CrossesDevices
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Removes old `<name>.tmp<unix-millis>[-<n>]` files beside `path`: what a writer killed
/// between creating its temporary file and renaming it leaves behind (see
/// [`privatefile::remove_leftovers`] for the age rule, which also spares other programs'
/// writes in progress: innernet names its temporary files the same way).
fn remove_leftover_temps(path: &Path) {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return;
    };
    let prefix = format!("{name}.tmp");
    privatefile::remove_leftovers(path, |file| {
        file.strip_prefix(&prefix).is_some_and(|rest| {
            rest.starts_with(|c: char| c.is_ascii_digit())
                && rest.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        })
    });
}

/// Creates `<dir>/<name>.tmp<unix-millis>` (with `-<n>` appended on a clash).
fn create_temp(path: &Path) -> io::Result<(PathBuf, File)> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or(0);
    let mut base = path.as_os_str().to_owned();
    base.push(format!(".tmp{millis}"));
    let mut last_err = None;
    for attempt in 0..TEMP_NAME_ATTEMPTS {
        let mut name = base.clone();
        if attempt > 0 {
            name.push(format!("-{attempt}"));
        }
        let temp_path = PathBuf::from(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_err = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Whether the temp file ended up with the original's owner.
enum Owner {
    Kept,
    Lost,
}

/// Writes the contents, copies the original's mode and owner, and syncs.
fn fill_temp(mut file: File, contents: &[u8], original: Option<&Metadata>) -> io::Result<Owner> {
    file.write_all(contents)?;
    let mode = original.map_or(NEW_FILE_MODE, |metadata| metadata.mode() & 0o7777);
    file.set_permissions(Permissions::from_mode(mode))?;
    let mut owner = Owner::Kept;
    if let Some(original) = original {
        let temp = file.metadata()?;
        if (temp.uid(), temp.gid()) != (original.uid(), original.gid())
            && std::os::unix::fs::fchown(&file, Some(original.uid()), Some(original.gid())).is_err()
        {
            owner = Owner::Lost;
        }
    }
    file.sync_all()?;
    Ok(owner)
}

/// Writes `contents` over `path` from the start and then cuts it to their length, keeping
/// its inode, mode and owner. It is never truncated first: a writer stopped halfway leaves
/// the new contents' beginning over the old ones' rest, never an empty file.
fn overwrite(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(NEW_FILE_MODE)
        .open(path)
        .map_err(|err| Error::write(path, err))?;
    file.write_all(contents)
        .and_then(|()| file.set_len(contents.len() as u64))
        .and_then(|()| file.sync_all())
        .map_err(|err| Error::write(path, err))
}

/// Best effort: the temp file is ours and must not linger, but failing to remove it does not
/// change the outcome for the hosts file.
fn remove_temp(temp_path: &Path) {
    let _ = fs::remove_file(temp_path);
}

/// Best effort: makes the rename durable; a failure only weakens crash safety.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::section::Tag;

    fn builder() -> HostsBuilder {
        let mut hosts = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
        hosts
            .add_hostname("10.0.0.1".parse().unwrap(), "a.wg0.wg")
            .unwrap();
        hosts
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn check_fallback(kind: io::ErrorKind) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "127.0.0.1 localhost\n").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();

        let refuse = |_: &Path, _: &Path| Err(io::Error::from(kind));
        let method = write_with(&builder(), &path, &refuse).unwrap();

        assert_eq!(method, Some(Method::InPlace), "{kind:?}");
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.ino(), inode, "rewritten in place");
        assert_eq!(metadata.mode() & 0o777, 0o640);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "127.0.0.1 localhost\n\n\
             # DO NOT EDIT wiremesh wg0 BEGIN\n10.0.0.1 a.wg0.wg\n# DO NOT EDIT wiremesh wg0 END\n"
        );
        assert_eq!(entries(dir.path()), ["hosts"], "temp file cleaned up");
    }

    #[test]
    fn refused_rename_falls_back_to_in_place() {
        for kind in [
            io::ErrorKind::ResourceBusy,
            io::ErrorKind::CrossesDevices,
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::ReadOnlyFilesystem,
        ] {
            check_fallback(kind);
        }
    }

    /// A writer killed between creating its temporary file and renaming it leaves the file
    /// behind; the next write removes it once it is old enough to be nobody's write in
    /// progress.
    #[test]
    fn old_temporary_files_of_killed_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "127.0.0.1 localhost\n").unwrap();
        let old = std::time::SystemTime::now()
            - privatefile::LEFTOVER_AGE
            - std::time::Duration::from_secs(1);
        for (name, modified) in [
            ("hosts.tmp1700000000000", old),
            ("hosts.tmp1700000000000-1", old),
            ("hosts.tmp1800000000000", std::time::SystemTime::now()),
            ("hosts.tmpfile", old),
            ("other.tmp1700000000000", old),
        ] {
            fs::write(dir.path().join(name), "10.0.0.9 stale\n").unwrap();
            File::options()
                .write(true)
                .open(dir.path().join(name))
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
        builder().write_to(&path).unwrap();
        assert_eq!(
            entries(dir.path()),
            [
                "hosts",
                "hosts.tmp1800000000000",
                "hosts.tmpfile",
                "other.tmp1700000000000"
            ]
        );
    }

    #[test]
    fn other_rename_error_is_reported_and_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "keep me\n").unwrap();

        let fail = |_: &Path, _: &Path| Err(io::Error::other("disk on fire"));
        let err = write_with(&builder(), &path, &fail).unwrap_err();

        assert!(
            matches!(&err, Error::Write { path: p, .. } if p == &path),
            "{err:?}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "keep me\n");
        assert_eq!(entries(dir.path()), ["hosts"], "temp file cleaned up");
    }

    #[test]
    fn rename_replaces_inode_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();

        let rename = |from: &Path, to: &Path| fs::rename(from, to);
        let method = write_with(&builder(), &path, &rename).unwrap();

        assert_eq!(method, Some(Method::Renamed));
        let metadata = fs::metadata(&path).unwrap();
        assert_ne!(metadata.ino(), inode);
        assert_eq!(metadata.mode() & 0o777, 0o600);
        assert_eq!(entries(dir.path()), ["hosts"]);
    }

    /// A writer killed while rewriting in place leaves the journal; the next write first
    /// finishes that rewrite from it, then makes its own change.
    #[test]
    fn a_journal_left_behind_is_finished_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        let intended = "127.0.0.1 localhost\n::1 ip6-localhost\n";
        fs::write(&path, "127.0.0.1 localhost\n::1 ip6-lo").unwrap();
        fs::write(journal_path(&path), intended).unwrap();

        let refuse = |_: &Path, _: &Path| Err(io::Error::from(io::ErrorKind::ResourceBusy));
        write_with(&builder(), &path, &refuse).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!(
                "{intended}\n# DO NOT EDIT wiremesh wg0 BEGIN\n10.0.0.1 a.wg0.wg\n\
                 # DO NOT EDIT wiremesh wg0 END\n"
            )
        );
        assert_eq!(entries(dir.path()), ["hosts"], "journal removed");
    }

    /// Rewriting in place shortens the file to the new contents (it is not truncated first).
    #[test]
    fn an_in_place_rewrite_cuts_the_old_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        let long = format!("127.0.0.1 localhost\n{}", "# padding\n".repeat(50));
        fs::write(&path, &long).unwrap();
        overwrite(&path, b"127.0.0.1 localhost\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "127.0.0.1 localhost\n");
    }

    /// Writers of different sections never lose each other's lines, whether the file is
    /// renamed over or rewritten in place.
    #[test]
    fn concurrent_writers_keep_each_others_sections() {
        for in_place in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("hosts");
            fs::write(&path, "127.0.0.1 localhost\n").unwrap();
            let writers: Vec<_> = (0..4)
                .map(|n| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        for round in 0..25 {
                            let mut hosts =
                                HostsBuilder::new(Tag::wiremesh(&format!("wg{n}")).unwrap());
                            hosts
                                .add_hostname(
                                    format!("10.0.{n}.{round}").parse().unwrap(),
                                    format!("p{round}.wg{n}.wg"),
                                )
                                .unwrap();
                            let rename = |from: &Path, to: &Path| {
                                if in_place {
                                    Err(io::Error::from(io::ErrorKind::ResourceBusy))
                                } else {
                                    fs::rename(from, to)
                                }
                            };
                            write_with(&hosts, &path, &rename).unwrap();
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.join().unwrap();
            }
            let text = fs::read_to_string(&path).unwrap();
            for n in 0..4 {
                assert!(
                    text.contains(&format!("10.0.{n}.24 p24.wg{n}.wg\n")),
                    "in place: {in_place}\n{text}"
                );
            }
            assert!(text.starts_with("127.0.0.1 localhost\n"), "{text}");
            assert_eq!(entries(dir.path()), ["hosts"]);
        }
    }

    #[test]
    fn permission_errors_carry_the_path() {
        let path = Path::new("/some/hosts");
        let err = Error::write(path, io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(&err, Error::PermissionDenied { path: p, .. } if p == path));
        let message = err.to_string();
        assert!(
            message.starts_with("failed to access \"/some/hosts\": "),
            "{message}"
        );
    }
}
