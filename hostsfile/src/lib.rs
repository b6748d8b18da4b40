//! Keep one marked section of a hosts file (normally `/etc/hosts`) up to date.
//!
//! A section is the block of lines between the exact marker lines
//! `# DO NOT EDIT <tag> BEGIN` and `# DO NOT EDIT <tag> END` (matched after trimming
//! whitespace). wiremesh uses the tag `wiremesh <iface>`; innernet uses `innernet <iface>`,
//! so both can share one file without touching each other's lines.
//!
//! ```no_run
//! use hostsfile::{HostsBuilder, Tag, Written, peer_hostname};
//! # fn main() -> Result<(), hostsfile::Error> {
//! let mut hosts = HostsBuilder::new(Tag::wiremesh("evilcorp")?);
//! hosts.add_hostname("10.66.0.1".parse().unwrap(), peer_hostname("server", "evilcorp", None))?;
//! match hosts.write_to("/etc/hosts")? {
//!     Written::Changed => println!("updated /etc/hosts"),
//!     Written::Unchanged => println!("/etc/hosts already up to date"),
//! }
//! # Ok(()) }
//! ```
//!
//! What it is not: a general hosts-file parser. Lines outside the section are kept byte for
//! byte and never interpreted; nothing here resolves names.
//!
//! Modules:
//! - [`section`]: tags, the [`HostsBuilder`], hostname helpers and the pure
//!   "old contents → new contents" update, which does no IO (and is what fuzzing targets).
//! - [`write`]: reading the file and replacing it atomically (temp file + rename, falling back
//!   to rewriting in place where a rename is impossible, e.g. a bind-mounted `/etc/hosts`).
//! - [`error`]: the crate's [`Error`].
//!
//! Unix only: permissions and ownership of the original file are carried over to the new one.

pub mod error;
pub mod section;
pub mod write;

pub use error::{Error, MarkerProblem, NameProblem};
pub use section::{peer_hostname, HostsBuilder, Tag, Update};
pub use write::{Written, DEFAULT_PATH};
