//! Who is acting: every change is recorded in the audit log with its actor.
//!
//! The actor is set around a call (the CLI around its command, the HTTP layer around each
//! request's service call) with [`acting_as`], and read by the one write path
//! (`Service::write`), which hands it to the store with the change. It lives in a thread-local
//! because every service call runs on one thread from start to commit (async callers use
//! `spawn_blocking`, which [`acting_as`] is called inside). Writes nobody asked for (expired
//! invitations, ephemeral peers, catching up with another process) are the server's own.

use std::cell::RefCell;
use std::fmt;
use std::net::IpAddr;

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The server's own housekeeping.
    Server,
    /// A user of `wiremesh-server` on the server's host.
    Cli { uid: u32, user: Option<String> },
    /// A peer through the API (itself, or an admin acting on others).
    Peer {
        name: String,
        ip: IpAddr,
        admin: bool,
    },
    /// An automation token.
    Token { name: String },
}

impl Actor {
    /// The user running this process.
    pub fn cli_user() -> Actor {
        // SAFETY: getuid cannot fail and touches no memory.
        let uid = unsafe { libc::getuid() };
        Actor::Cli {
            uid,
            user: user_name(uid),
        }
    }

    /// A peer calling the API.
    pub fn peer(peer: &wiremesh_shared::wire::Peer) -> Actor {
        Actor::Peer {
            name: peer.name.to_string(),
            ip: peer.ip,
            admin: peer.is_admin,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Server => f.write_str("server"),
            Actor::Cli {
                uid,
                user: Some(user),
            } => write!(f, "cli uid {uid} ({user})"),
            Actor::Cli { uid, user: None } => write!(f, "cli uid {uid}"),
            Actor::Peer { name, ip, admin } => {
                let role = if *admin { "admin peer" } else { "peer" };
                write!(f, "{role} {name} ({ip})")
            }
            Actor::Token { name } => write!(f, "token {name}"),
        }
    }
}

thread_local! {
    static ACTOR: RefCell<Option<Actor>> = const { RefCell::new(None) };
}

/// Runs `f` with `actor` as the author of every change it makes (on this thread).
pub fn acting_as<T>(actor: Actor, f: impl FnOnce() -> T) -> T {
    let previous = ACTOR.with(|slot| slot.replace(Some(actor)));
    // Restored even when `f` unwinds.
    struct Restore(Option<Actor>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACTOR.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// The actor of the current call: the server itself unless someone else is acting.
pub fn current() -> Actor {
    ACTOR.with(|slot| slot.borrow().clone().unwrap_or(Actor::Server))
}

/// The login name of `uid`, from the password database.
fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; the buffer outlives the use of `entry`.
    let code = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut result,
        )
    };
    if code != 0 || result.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string in `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_set_around_a_call_and_restored() {
        assert_eq!(current(), Actor::Server);
        let peer = Actor::Peer {
            name: "alice".into(),
            ip: "10.66.1.1".parse().unwrap(),
            admin: true,
        };
        acting_as(peer.clone(), || {
            assert_eq!(current().to_string(), "admin peer alice (10.66.1.1)");
            acting_as(Actor::Token { name: "ci".into() }, || {
                assert_eq!(current().to_string(), "token ci");
            });
            assert_eq!(current(), peer);
        });
        assert_eq!(current(), Actor::Server);
        let root = Actor::Cli {
            uid: 0,
            user: user_name(0),
        };
        assert_eq!(root.to_string(), "cli uid 0 (root)");
    }
}
