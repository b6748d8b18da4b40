//! placeholder: the netlink-request helper is written next.

use std::io;

/// Errors of a netlink exchange.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("netlink socket error: {0}")]
    Io(#[from] io::Error),
}
