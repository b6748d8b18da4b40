//! Tests of writing real files: creation, in-place replacement, no-op writes, errors.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use hostsfile::{Error, HostsBuilder, MarkerProblem, Tag, Written};

const SECTION: &str = "# DO NOT EDIT wiremesh wg0 BEGIN\n\
                       10.66.0.1 server.wg0.wg\n\
                       fd00::1 server.wg0.wg\n\
                       # DO NOT EDIT wiremesh wg0 END\n";

fn builder() -> HostsBuilder {
    let mut hosts = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
    hosts
        .add_hostname("fd00::1".parse().unwrap(), "server.wg0.wg")
        .unwrap()
        .add_hostname("10.66.0.1".parse().unwrap(), "server.wg0.wg")
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

#[test]
fn missing_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    assert_eq!(builder().write_to(&path).unwrap(), Written::Changed);
    assert_eq!(fs::read_to_string(&path).unwrap(), SECTION);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
    assert_eq!(entries(dir.path()), ["hosts"]);
}

#[test]
fn missing_file_with_empty_section_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    let empty = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
    assert_eq!(empty.write_to(&path).unwrap(), Written::Unchanged);
    assert!(!path.exists());
}

#[test]
fn replace_keeps_surrounding_bytes_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    let before = "127.0.0.1 localhost\n# comment  \n\n# DO NOT EDIT wiremesh wg0 BEGIN\n\
                  10.66.0.9 old.wg0.wg\n# DO NOT EDIT wiremesh wg0 END\n::1 localhost";
    fs::write(&path, before).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();

    assert_eq!(builder().write_to(&path).unwrap(), Written::Changed);

    let expected = format!("127.0.0.1 localhost\n# comment  \n\n{SECTION}::1 localhost");
    assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o604);
    assert_eq!(entries(dir.path()), ["hosts"], "no temp file left behind");
}

#[test]
fn unchanged_file_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    fs::write(&path, format!("127.0.0.1 localhost\n\n{SECTION}")).unwrap();
    let before = fs::metadata(&path).unwrap();
    sleep(Duration::from_millis(20));

    assert_eq!(builder().write_to(&path).unwrap(), Written::Unchanged);

    let after = fs::metadata(&path).unwrap();
    assert_eq!(after.ino(), before.ino());
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    assert_eq!(entries(dir.path()), ["hosts"]);
}

#[test]
fn second_write_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    fs::write(&path, "127.0.0.1 localhost\n").unwrap();
    assert_eq!(builder().write_to(&path).unwrap(), Written::Changed);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("127.0.0.1 localhost\n\n{SECTION}")
    );
    assert_eq!(builder().write_to(&path).unwrap(), Written::Unchanged);
}

#[test]
fn empty_section_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    fs::write(&path, format!("127.0.0.1 localhost\n{SECTION}# tail\n")).unwrap();
    let empty = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());

    assert_eq!(empty.write_to(&path).unwrap(), Written::Changed);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "127.0.0.1 localhost\n# tail\n"
    );
    assert_eq!(empty.write_to(&path).unwrap(), Written::Unchanged);
}

#[test]
fn one_marker_is_an_error_and_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    let before = "127.0.0.1 localhost\n# DO NOT EDIT wiremesh wg0 BEGIN\n10.0.0.1 x\n";
    fs::write(&path, before).unwrap();
    let inode = fs::metadata(&path).unwrap().ino();

    let err = builder().write_to(&path).unwrap_err();

    match &err {
        Error::Markers {
            path: Some(err_path),
            problem: MarkerProblem::MissingEnd { begin_line: 2 },
            ..
        } => assert_eq!(err_path, &path),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains(&format!("{path:?}")), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    assert_eq!(entries(dir.path()), ["hosts"]);
}

#[test]
fn directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = builder().write_to(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::IsDirectory { path } if path == dir.path()),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("it is a directory"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn root_and_empty_paths_are_refused() {
    for path in ["/", "", "..", "/tmp/.."] {
        let err = builder().write_to(path).unwrap_err();
        assert!(
            matches!(err, Error::InvalidPath { .. }),
            "{path:?}: {err:?}"
        );
    }
}

#[test]
fn special_file_is_refused() {
    let err = builder().write_to("/dev/null").unwrap_err();
    assert!(matches!(err, Error::NotRegularFile { .. }), "{err:?}");
}

#[test]
fn non_utf8_file_is_an_error_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    fs::write(&path, b"127.0.0.1 caf\xe9\n").unwrap();
    let err = builder().write_to(&path).unwrap_err();
    assert!(matches!(err, Error::NotUtf8 { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), b"127.0.0.1 caf\xe9\n");
}

#[test]
fn missing_directory_is_a_write_error_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere").join("hosts");
    let err = builder().write_to(&path).unwrap_err();
    assert!(
        matches!(&err, Error::Write { path: p, .. } if p == &path),
        "{err:?}"
    );
}

#[test]
fn symlink_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real-hosts");
    let link = dir.path().join("hosts");
    fs::write(&real, "127.0.0.1 localhost\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();

    assert_eq!(builder().write_to(&link).unwrap(), Written::Changed);

    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        format!("127.0.0.1 localhost\n\n{SECTION}")
    );
    assert_eq!(entries(dir.path()), ["hosts", "real-hosts"]);
}
