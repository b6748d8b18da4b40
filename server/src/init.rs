//! Creating a network: `wiremesh-server new` from scratch and `import` from innernet-server.
//!
//! Both produce the same two files, a config (mode 0600) and a database, and leave nothing
//! half-written: if the second file cannot be made, the first is removed again.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use wireguard_control::PrivateKey;
use wiremesh_shared::alloc::{first_free_ip, AllocError};
use wiremesh_shared::config::ServerConfig;
use wiremesh_shared::{Endpoint, Hostname, HostnameError, InterfaceName, InterfaceNameError};

use crate::paths::{self, PathsError, ServerPaths};
use crate::store::sqlite::{NewNetwork, SqliteStore};
use crate::store::StoreError;

/// Name of the infra CIDR and of the server peer. innernet clients hide the CIDR with exactly
/// this name from their CIDR choices (and innernet-server creates both rows with it), so
/// wiremesh keeps it for networks that mix innernet and wiremesh tools.
pub const INFRA_NAME: &str = "innernet-server";

/// The WireGuard and API port offered when none is given.
pub const DEFAULT_LISTEN_PORT: u16 = 51820;

/// The root network offered when none is given.
pub const DEFAULT_NETWORK_CIDR: &str = "10.42.0.0/16";

/// Why a network could not be created or imported.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("invalid network name {name:?}: {source}")]
    NameNotInterface {
        name: String,
        #[source]
        source: InterfaceNameError,
    },
    #[error("invalid network name {name:?}: {source}")]
    NameNotHostname {
        name: String,
        #[source]
        source: HostnameError,
    },
    #[error("invalid network CIDR {cidr}: host bits are set, did you mean {network}?")]
    HostBitsSet { cidr: IpNet, network: IpNet },
    #[error(
        "network CIDR {cidr} is too small: it needs room for the server and at least one peer"
    )]
    TooSmall { cidr: IpNet },
    #[error("invalid listen port 0: choose a port between 1 and 65535")]
    ZeroPort,
    #[error(
        "failed to find this host's public IP address; pass --external-endpoint HOST:PORT instead"
    )]
    NoPublicIp,
    #[error("failed to create network {network}: {source}")]
    Files {
        network: String,
        #[source]
        source: PathsError,
    },
    #[error("failed to create the database of network {network}: {source}")]
    Database {
        network: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error(
        "network {network} already exists: {path} is there; remove the network with \
         `wiremesh-server uninstall {network}` first, or choose another name"
    )]
    Exists { network: String, path: PathBuf },
    #[error("failed to import innernet network {network}: {source}")]
    Import {
        network: String,
        #[source]
        source: Box<StoreError>,
    },
}

/// Everything `new` needs, already chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNetworkOptions {
    pub name: InterfaceName,
    /// The whole network, without host bits.
    pub root: IpNet,
    /// Where peers reach the server's WireGuard port from outside.
    pub external_endpoint: Endpoint,
    /// The WireGuard UDP port and the API's TCP port.
    pub listen_port: u16,
}

/// What `new` or `import` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedNetwork {
    pub name: InterfaceName,
    pub config_path: PathBuf,
    pub database_path: PathBuf,
    /// The server's WireGuard address and the API port.
    pub server_address: IpAddr,
    pub listen_port: u16,
}

/// Checks a network name: it becomes the interface name and part of every peer's hostname,
/// so it must satisfy both rules.
pub fn check_network_name(name: &str) -> Result<InterfaceName, InitError> {
    let iface: InterfaceName = name.parse().map_err(|source| InitError::NameNotInterface {
        name: name.to_owned(),
        source,
    })?;
    name.parse::<Hostname>()
        .map_err(|source| InitError::NameNotHostname {
            name: name.to_owned(),
            source,
        })?;
    Ok(iface)
}

/// Checks a root network and returns the server's address in it: its first assignable host.
pub fn server_address(root: IpNet) -> Result<IpAddr, InitError> {
    if root.trunc() != root {
        return Err(InitError::HostBitsSet {
            cidr: root,
            network: root.trunc(),
        });
    }
    let too_small = |_: AllocError| InitError::TooSmall { cidr: root };
    let server = first_free_ip(&root, &HashSet::new()).map_err(too_small)?;
    first_free_ip(&root, &HashSet::from([server])).map_err(too_small)?;
    Ok(server)
}

/// Checks a listen port.
pub fn check_listen_port(port: u16) -> Result<u16, InitError> {
    if port == 0 {
        Err(InitError::ZeroPort)
    } else {
        Ok(port)
    }
}

/// This host's public IP (IPv4 preferred), asking public DNS resolvers within `timeout`
/// each; `None` when it cannot be found.
pub fn discover_public_ip(timeout: Duration) -> Option<IpAddr> {
    publicip::get_any(publicip::Family::V4, timeout)
}

/// `--auto-external-endpoint`: this host's public IP with the listen port.
pub fn auto_external_endpoint(listen_port: u16, timeout: Duration) -> Result<Endpoint, InitError> {
    let ip = discover_public_ip(timeout).ok_or(InitError::NoPublicIp)?;
    Ok(Endpoint::from(std::net::SocketAddr::new(ip, listen_port)))
}

/// Creates the config and database of a new network. Refuses when either file exists.
pub fn create_network(
    paths: &ServerPaths,
    options: &NewNetworkOptions,
) -> Result<CreatedNetwork, InitError> {
    let network = options.name.to_string();
    let server_ip = server_address(options.root)?;
    check_listen_port(options.listen_port)?;
    let server_name: Hostname =
        INFRA_NAME
            .parse()
            .map_err(|source| InitError::NameNotHostname {
                name: INFRA_NAME.to_owned(),
                source,
            })?;
    let (config_path, database_path) = fresh_paths(paths, &options.name)?;

    let private_key = PrivateKey::generate();
    let config = ServerConfig {
        private_key: private_key.clone(),
        listen_port: options.listen_port,
        address: server_ip,
        network_cidr_prefix: options.root.prefix_len(),
    };
    paths::write_new_config(&config_path, &config).map_err(|source| InitError::Files {
        network: network.clone(),
        source,
    })?;
    let created = SqliteStore::create(
        &database_path,
        NewNetwork {
            name: network.clone(),
            root: options.root,
            infra_name: INFRA_NAME.to_owned(),
            server_name,
            server_ip,
            server_key: private_key.public_key(),
            external_endpoint: options.external_endpoint.clone(),
        },
    );
    if let Err(source) = created {
        paths::remove_quietly(&config_path);
        return Err(InitError::Database {
            network,
            source: Box::new(source),
        });
    }
    tracing::info!(%network, root = %options.root, "network created");
    Ok(CreatedNetwork {
        name: options.name.clone(),
        config_path,
        database_path,
        server_address: server_ip,
        listen_port: options.listen_port,
    })
}

/// Where an innernet network's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnernetSource {
    pub config: PathBuf,
    pub database: PathBuf,
}

impl InnernetSource {
    /// innernet-server's default files for `network`.
    pub fn default_for(network: &InterfaceName) -> Self {
        let innernet = ServerPaths::innernet();
        Self {
            config: innernet.config_file(network),
            database: innernet.database_file(network),
        }
    }
}

/// Copies an innernet-server network into wiremesh: its config (written mode 0600) and a
/// migrated copy of its database. The innernet files are only read.
pub fn import_innernet(
    paths: &ServerPaths,
    name: &InterfaceName,
    source: &InnernetSource,
) -> Result<CreatedNetwork, InitError> {
    let network = name.to_string();
    let files = |source| InitError::Files {
        network: network.clone(),
        source,
    };
    let config = paths::read_config(&source.config).map_err(files)?;
    let (config_path, database_path) = fresh_paths(paths, name)?;
    paths::write_new_config(&config_path, &config).map_err(files)?;
    if let Err(error) = SqliteStore::import_innernet(&source.database, &database_path) {
        paths::remove_quietly(&config_path);
        return Err(InitError::Import {
            network,
            source: Box::new(error),
        });
    }
    tracing::info!(%network, from = %source.database.display(), "innernet network imported");
    Ok(CreatedNetwork {
        name: name.clone(),
        config_path,
        database_path,
        server_address: config.address,
        listen_port: config.listen_port,
    })
}

/// Both file paths of a new network, after checking that neither exists and creating the
/// directories.
fn fresh_paths(paths: &ServerPaths, name: &InterfaceName) -> Result<(PathBuf, PathBuf), InitError> {
    let config_path = paths.config_file(name);
    let database_path = paths.database_file(name);
    for path in [&config_path, &database_path] {
        if exists(path) {
            return Err(InitError::Exists {
                network: name.to_string(),
                path: path.clone(),
            });
        }
    }
    paths.create_dirs().map_err(|source| InitError::Files {
        network: name.to_string(),
        source,
    })?;
    Ok((config_path, database_path))
}

/// Whether anything (even a dangling symlink) is at `path`.
fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_root(root: &str, expected: Result<&str, &str>) {
        let got = server_address(root.parse().unwrap());
        match (got, expected) {
            (Ok(ip), Ok(want)) => assert_eq!(ip.to_string(), want),
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
            (got, expected) => panic!("{root}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn server_address_is_first_host() {
        check_root("10.66.0.0/16", Ok("10.66.0.1"));
        check_root("fd00:1337::/64", Ok("fd00:1337::1"));
        check_root("10.66.0.0/31", Ok("10.66.0.0"));
        check_root("10.66.0.1/16", Err("did you mean 10.66.0.0/16"));
        check_root("10.66.0.1/32", Err("too small"));
    }

    fn check_name(name: &str, ok: bool) {
        assert_eq!(check_network_name(name).is_ok(), ok, "{name}");
    }

    #[test]
    fn network_names() {
        check_name("evilcorp", true);
        check_name("wg-0", true);
        check_name("Evilcorp", false);
        check_name("a.b", false);
        check_name("sixteen-chars-xx", false);
        check_name("", false);
    }

    #[test]
    fn new_refuses_existing_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let options = NewNetworkOptions {
            name: "evilcorp".parse().unwrap(),
            root: "10.66.0.0/16".parse().unwrap(),
            external_endpoint: "192.0.2.1:51820".parse().unwrap(),
            listen_port: 51820,
        };
        // A data directory where no file can be created, not even by root: the config is
        // written first and must be removed again when the database cannot be made.
        let broken = ServerPaths {
            config_dir: dir.path().join("etc"),
            data_dir: "/proc/self".into(),
        };
        let error = create_network(&broken, &options).unwrap_err();
        assert!(matches!(error, InitError::Database { .. }), "{error}");
        assert!(broken.config_dir.is_dir());
        assert!(!broken.config_file(&options.name).exists());

        let paths = ServerPaths {
            config_dir: dir.path().join("etc"),
            data_dir: dir.path().join("lib"),
        };
        let created = create_network(&paths, &options).unwrap();
        assert_eq!(created.server_address.to_string(), "10.66.0.1");
        let error = create_network(&paths, &options).unwrap_err();
        assert!(matches!(error, InitError::Exists { .. }), "{error}");
    }
}
