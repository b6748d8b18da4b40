//! The client's files: per-network configs (`<config-dir>/<iface>.conf`), peer caches
//! (`<data-dir>/<iface>.json`) and invitations (compat §3.1).
//!
//! Everything that holds a private key or pins is private: configs and caches are written
//! with mode 0600 (also on rewrites, unlike innernet), directories are created 0700, and
//! reading a file other users can access logs a warning. A new config is created
//! exclusively, so two installs can never overwrite each other; rewrites and caches go
//! through a temporary file and a rename, so a crash never leaves half a file.

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wireguard_control::{InterfaceName, PrivateKey};
use wiremesh_shared::config::{ClientConfig, InvitationConfig, PeerCache};
use wiremesh_shared::policy::HostRuleset;

use crate::context::Paths;
use crate::error::ClientError;

/// Mode of directories this module creates.
const PRIVATE_DIR: u32 = 0o700;

/// Reads and parses `<config-dir>/<iface>.conf`; a missing file is
/// [`ClientError::NotInstalled`].
pub fn load_config(paths: &Paths, iface: &InterfaceName) -> Result<ClientConfig, ClientError> {
    let path = paths.config_file(iface);
    let text = match read_private(&path) {
        Ok(text) => text,
        Err(ClientError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Err(ClientError::NotInstalled {
                iface: iface.clone(),
                path,
            });
        }
        Err(error) => return Err(error),
    };
    ClientConfig::from_toml_str(&text).map_err(|source| ClientError::Parse { path, source })
}

/// Creates `<config-dir>/<iface>.conf` for a new network: exclusive create, mode 0600.
/// An existing file is [`ClientError::AlreadyInstalled`] and is left alone.
pub fn create_config(
    paths: &Paths,
    iface: &InterfaceName,
    config: &ClientConfig,
) -> Result<PathBuf, ClientError> {
    ensure_dir(&paths.config_dir)?;
    let path = paths.config_file(iface);
    match privatefile::write_new(&path, config.to_toml_string().as_bytes()) {
        Ok(()) => Ok(path),
        Err(privatefile::Error::Exists { .. }) => Err(ClientError::AlreadyInstalled {
            iface: iface.clone(),
            path,
        }),
        Err(error) => Err(error.into()),
    }
}

/// Rewrites `<config-dir>/<iface>.conf` atomically with mode 0600 (for changed listen ports
/// and endpoint overrides).
pub fn save_config(
    paths: &Paths,
    iface: &InterfaceName,
    config: &ClientConfig,
) -> Result<PathBuf, ClientError> {
    ensure_dir(&paths.config_dir)?;
    let path = paths.config_file(iface);
    write_atomic(&path, config.to_toml_string().as_bytes())?;
    Ok(path)
}

/// Removes `<config-dir>/<iface>.conf`; a missing file is not an error.
pub fn remove_config(paths: &Paths, iface: &InterfaceName) -> Result<(), ClientError> {
    remove_if_present(paths.config_file(iface))
}

fn remove_if_present(path: PathBuf) -> Result<(), ClientError> {
    match fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(ClientError::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// The first line of a `<iface>.redeem` file; the invitation's private key follows.
const REDEEM_HEADER: &str =
    "# wiremesh: the invitation's private key, kept until the server's answer to \
                             redeeming it is known; `wiremesh install` or `wiremesh up` settles it";

/// Records, before redeeming, the invitation's private key in `<config-dir>/<iface>.redeem`
/// (mode 0600, replacing a leftover of an earlier install whose config is gone): if the
/// answer is lost, the next `install` or `up` needs it to find out whether the redemption
/// happened and to finish it.
pub fn save_pending_redeem(
    paths: &Paths,
    iface: &InterfaceName,
    invitation_key: &PrivateKey,
) -> Result<PathBuf, ClientError> {
    ensure_dir(&paths.config_dir)?;
    let path = paths.redeem_file(iface);
    let text = format!("{REDEEM_HEADER}\n{}\n", invitation_key.to_base64());
    privatefile::replace(&path, text.as_bytes())?;
    Ok(path)
}

/// The invitation key of a redemption whose outcome is not known yet, if there is one.
pub fn load_pending_redeem(
    paths: &Paths,
    iface: &InterfaceName,
) -> Result<Option<PrivateKey>, ClientError> {
    let path = paths.redeem_file(iface);
    let text = match read_private(&path) {
        Ok(text) => text,
        Err(ClientError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(error) => return Err(error),
    };
    let key = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .and_then(|line| PrivateKey::from_base64(line).ok());
    match key {
        Some(key) => Ok(Some(key)),
        None => Err(ClientError::BadRedeemFile { path }),
    }
}

/// Removes `<config-dir>/<iface>.redeem`; a missing file is not an error.
pub fn remove_pending_redeem(paths: &Paths, iface: &InterfaceName) -> Result<(), ClientError> {
    remove_if_present(paths.redeem_file(iface))
}

/// Reads and parses an invitation file, warning when other users can read it.
pub fn load_invitation(path: &Path) -> Result<InvitationConfig, ClientError> {
    let text = read_private(path)?;
    parse_invitation(&text, path)
}

/// Parses an invitation read from `origin` (a file, or `-` for standard input).
pub fn parse_invitation(text: &str, origin: &Path) -> Result<InvitationConfig, ClientError> {
    InvitationConfig::from_toml_str(text).map_err(|source| ClientError::Parse {
        path: origin.to_owned(),
        source,
    })
}

/// Reads `<data-dir>/<iface>.json`: `Ok(None)` when there is none yet,
/// [`ClientError::CacheUnreadable`] when it cannot be read and
/// [`ClientError::CorruptCache`] when it does not parse.
pub fn load_cache(paths: &Paths, iface: &InterfaceName) -> Result<Option<PeerCache>, ClientError> {
    let path = paths.cache_file(iface);
    let text = match read_private(&path) {
        Ok(text) => text,
        Err(ClientError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(ClientError::Io { source, .. }) => {
            return Err(ClientError::CacheUnreadable {
                iface: iface.clone(),
                path,
                source,
            })
        }
        Err(error) => return Err(error),
    };
    PeerCache::from_json_str(&text)
        .map(Some)
        .map_err(|source| ClientError::CorruptCache {
            iface: iface.clone(),
            path,
            source,
        })
}

/// How long ago the server last confirmed the cache: the age of `<data-dir>/<iface>.json`,
/// which every sync the server answers rewrites. `None` when there is no cache or its time
/// cannot be read; a time in the future (a clock set back since) counts as now.
pub fn cache_age(paths: &Paths, iface: &InterfaceName, now: SystemTime) -> Option<Duration> {
    let modified = fs::metadata(paths.cache_file(iface))
        .ok()?
        .modified()
        .ok()?;
    Some(now.duration_since(modified).unwrap_or_default())
}

/// Moves the cache aside to `<iface>.json.corrupt-<unix-secs>` (kept for inspection) and
/// returns where it went; `Ok(None)` when there is no cache.
pub fn set_cache_aside(
    paths: &Paths,
    iface: &InterfaceName,
) -> Result<Option<PathBuf>, ClientError> {
    let path = paths.cache_file(iface);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut target = path.clone().into_os_string();
    target.push(format!(".corrupt-{secs}"));
    let target = PathBuf::from(target);
    match fs::rename(&path, &target) {
        Ok(()) => Ok(Some(target)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ClientError::io("move aside", &path)(error)),
    }
}

/// Writes `<data-dir>/<iface>.json` atomically with mode 0600.
pub fn save_cache(
    paths: &Paths,
    iface: &InterfaceName,
    cache: &PeerCache,
) -> Result<PathBuf, ClientError> {
    ensure_dir(&paths.data_dir)?;
    let path = paths.cache_file(iface);
    let text = cache
        .to_json_string()
        .map_err(|source| ClientError::Encode {
            path: path.clone(),
            source,
        })?;
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Reads a file as text, warning when other users may access it (mode & 0o007).
fn read_private(path: &Path) -> Result<String, ClientError> {
    let text = fs::read_to_string(path).map_err(ClientError::io("read", path))?;
    if let Ok(metadata) = fs::metadata(path) {
        if metadata.permissions().mode() & 0o007 != 0 {
            tracing::warn!(
                path = %path.display(),
                "{} is accessible to other users although it holds secrets; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(text)
}

/// Creates `dir` (and its parents) with mode 0700 when missing.
fn ensure_dir(dir: &Path) -> Result<(), ClientError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(dir)
        .map_err(ClientError::io("create directory", dir))
}

/// Writes `<data-dir>/<iface>.policy.json`, the ruleset last applied.
pub fn save_policy(
    paths: &Paths,
    iface: &InterfaceName,
    ruleset: &HostRuleset,
) -> Result<(), ClientError> {
    save_json(paths, &paths.policy_file(iface), ruleset)
}

/// Reads `<data-dir>/<iface>.policy.json`; `None` when there is none or it does not parse
/// (it is only a fallback for a boot without the server: the next sync rewrites it).
pub fn load_policy(paths: &Paths, iface: &InterfaceName) -> Option<HostRuleset> {
    load_json(iface, &paths.policy_file(iface))
}

/// Removes `<data-dir>/<iface>.policy.json` if it exists.
pub fn remove_policy(paths: &Paths, iface: &InterfaceName) -> Result<(), ClientError> {
    remove_if_there(paths.policy_file(iface))
}

/// Writes `<data-dir>/<iface>.routes.json`.
pub fn save_routes(
    paths: &Paths,
    iface: &InterfaceName,
    record: &crate::routing::RouteRecord,
) -> Result<(), ClientError> {
    save_json(paths, &paths.routes_file(iface), record)
}

/// Reads `<data-dir>/<iface>.routes.json`; an empty record when there is none or it does
/// not parse (a warning: what it recorded is then unknown).
pub fn load_routes(paths: &Paths, iface: &InterfaceName) -> crate::routing::RouteRecord {
    load_json(iface, &paths.routes_file(iface)).unwrap_or_default()
}

/// Removes `<data-dir>/<iface>.routes.json` if it exists.
pub fn remove_routes(paths: &Paths, iface: &InterfaceName) -> Result<(), ClientError> {
    remove_if_there(paths.routes_file(iface))
}

fn save_json<T: serde::Serialize>(
    paths: &Paths,
    path: &Path,
    value: &T,
) -> Result<(), ClientError> {
    ensure_dir(&paths.data_dir)?;
    let text = serde_json::to_vec(value).expect("a record serializes");
    write_atomic(path, &text)
}

fn load_json<T: serde::de::DeserializeOwned>(iface: &InterfaceName, path: &Path) -> Option<T> {
    let text = fs::read(path).ok()?;
    match serde_json::from_slice(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(%iface, "ignoring {}: {error}", path.display());
            None
        }
    }
}

fn remove_if_there(path: PathBuf) -> Result<(), ClientError> {
    match fs::remove_file(&path) {
        Err(source) if source.kind() != ErrorKind::NotFound => Err(ClientError::Io {
            path,
            action: "remove",
            source,
        }),
        _ => Ok(()),
    }
}

fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ClientError> {
    Ok(privatefile::replace(path, contents)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }
}
