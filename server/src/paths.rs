//! Where a network's files live, and reading and writing its config file.
//!
//! Layout (compat §3.2, with wiremesh's directory names): the config is
//! `<config-dir>/<network>.conf` (default `/etc/wiremesh-server`), the database
//! `<data-dir>/<network>.db` (default `/var/lib/wiremesh-server`). Both directories are created
//! with mode 0700; the config holds the server's private key and is always mode 0600: it is
//! created that way, and loading it narrows looser permissions again (with a notice).

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wiremesh_shared::config::{ConfigError, ServerConfig};
use wiremesh_shared::InterfaceName;

/// wiremesh-server's config directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/wiremesh-server";
/// wiremesh-server's data directory.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/wiremesh-server";
/// innernet-server's config directory (source of `import`).
pub const INNERNET_CONFIG_DIR: &str = "/etc/innernet-server";
/// innernet-server's data directory (source of `import`).
pub const INNERNET_DATA_DIR: &str = "/var/lib/innernet-server";

/// The mode of every file holding a private key.
const PRIVATE_MODE: u32 = privatefile::MODE;
/// The mode of the directories this module creates.
const DIR_MODE: u32 = 0o700;

/// Why a config file or directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("failed to {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "network {network} has no config file at {path}; create the network with \
         `wiremesh-server new`, or point -c/--config-dir at the right directory"
    )]
    MissingConfig { network: String, path: PathBuf },
    #[error(
        "network {network} has no database at {path}; create the network with \
         `wiremesh-server new`, or point -d/--data-dir at the right directory"
    )]
    MissingDatabase { network: String, path: PathBuf },
    #[error("failed to read config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    #[error("{path} already exists; remove it first or choose another name")]
    Exists { path: PathBuf },
}

impl From<privatefile::Error> for PathsError {
    fn from(error: privatefile::Error) -> Self {
        match error {
            privatefile::Error::Exists { path } => PathsError::Exists { path },
            privatefile::Error::Io {
                action,
                path,
                source,
            } => PathsError::Io {
                action,
                path,
                source,
            },
        }
    }
}

impl PathsError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| PathsError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The two directories of a wiremesh (or innernet) server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPaths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Default for ServerPaths {
    fn default() -> Self {
        Self {
            config_dir: DEFAULT_CONFIG_DIR.into(),
            data_dir: DEFAULT_DATA_DIR.into(),
        }
    }
}

impl ServerPaths {
    /// innernet-server's default directories.
    pub fn innernet() -> Self {
        Self {
            config_dir: INNERNET_CONFIG_DIR.into(),
            data_dir: INNERNET_DATA_DIR.into(),
        }
    }

    /// `<config-dir>/<network>.conf`.
    pub fn config_file(&self, network: &InterfaceName) -> PathBuf {
        self.config_dir.join(format!("{network}.conf"))
    }

    /// `<data-dir>/<network>.db`.
    pub fn database_file(&self, network: &InterfaceName) -> PathBuf {
        self.data_dir.join(format!("{network}.db"))
    }

    /// The record of the forwarding switches `serve` turned on for a hub's devices (what
    /// they were before, to put back).
    pub fn forwarding_record(&self, network: &InterfaceName) -> PathBuf {
        self.data_dir.join(format!("{network}.forwarding.json"))
    }

    /// Creates both directories (mode 0700) where missing; existing ones are left alone.
    pub fn create_dirs(&self) -> Result<(), PathsError> {
        for dir in [&self.config_dir, &self.data_dir] {
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(PathsError::io("create directory", dir))?;
        }
        Ok(())
    }

    /// The config of `network`, which must exist.
    pub fn load_config(&self, network: &InterfaceName) -> Result<ServerConfig, PathsError> {
        let path = self.config_file(network);
        // Only "not found" means missing: an unreadable directory is a permission problem.
        if !path.try_exists().map_err(PathsError::io("read", &path))? {
            return Err(PathsError::MissingConfig {
                network: network.to_string(),
                path,
            });
        }
        load_config(&path)
    }

    /// The database path of `network`, checked to exist.
    pub fn existing_database(&self, network: &InterfaceName) -> Result<PathBuf, PathsError> {
        let path = self.database_file(network);
        match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => Ok(path),
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(PathsError::io("read", &path)(error))
            }
            _ => Err(PathsError::MissingDatabase {
                network: network.to_string(),
                path,
            }),
        }
    }
}

/// Reads a server config, first narrowing its mode to 0600 if it was looser (innernet does
/// the same on every load; the file holds the server's private key).
pub fn load_config(path: &Path) -> Result<ServerConfig, PathsError> {
    let metadata = fs::metadata(path).map_err(PathsError::io("read", path))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode != PRIVATE_MODE {
        fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_MODE))
            .map_err(PathsError::io("restrict permissions of", path))?;
        tracing::warn!(
            path = %path.display(),
            "config file had mode {mode:o}; changed it to 600 because it holds a private key"
        );
    }
    read_config(path)
}

/// Reads a server config without touching its permissions (for files of another program).
pub fn read_config(path: &Path) -> Result<ServerConfig, PathsError> {
    let text = fs::read_to_string(path).map_err(PathsError::io("read", path))?;
    ServerConfig::from_toml_str(&text).map_err(|source| PathsError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `text` to a new file only its owner can read (mode 0600, whatever the umask);
/// refuses an existing path. A file that could not be completely written is removed again.
pub fn write_private_file(path: &Path, text: &str) -> Result<(), PathsError> {
    Ok(privatefile::write_new(path, text.as_bytes())?)
}

/// Writes a new server config file (mode 0600); refuses an existing one.
pub fn write_new_config(path: &Path, config: &ServerConfig) -> Result<(), PathsError> {
    write_private_file(path, &config.to_toml_string())
}

/// The files that make up the database at `path`: itself and SQLite's journal files.
pub fn database_files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

/// Removes a file; a missing one is fine. Returns whether a file was removed.
pub fn remove_if_exists(path: &Path) -> Result<bool, PathsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(source) => Err(PathsError::io("remove", path)(source)),
    }
}

/// Removes a file while cleaning up after another failure; a failure here is only logged.
pub(crate) fn remove_quietly(path: &Path) {
    if let Err(error) = remove_if_exists(path) {
        tracing::warn!("{error}; remove it by hand");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ServerConfig {
        ServerConfig {
            private_key: wireguard_control::PrivateKey::from_bytes([7; 32]),
            listen_port: 51820,
            address: "10.66.0.1".parse().unwrap(),
            network_cidr_prefix: 16,
        }
    }

    #[test]
    fn config_is_private_and_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.conf");
        write_new_config(&path, &config()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = write_new_config(&path, &config()).unwrap_err();
        assert!(matches!(again, PathsError::Exists { .. }), "{again}");
        assert_eq!(load_config(&path).unwrap(), config());
    }

    #[test]
    fn loading_narrows_loose_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.conf");
        fs::write(&path, config().to_toml_string()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        load_config(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn missing_files_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ServerPaths {
            config_dir: dir.path().into(),
            data_dir: dir.path().into(),
        };
        let net: InterfaceName = "evilcorp".parse().unwrap();
        let message = paths.load_config(&net).unwrap_err().to_string();
        assert!(message.contains("wiremesh-server new"), "{message}");
        let message = paths.existing_database(&net).unwrap_err().to_string();
        assert!(message.contains("-d/--data-dir"), "{message}");
    }
}
