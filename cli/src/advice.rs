//! The one-line error report of both binaries: the error and its causes, then advice for the
//! failures whose cause says more than the message (no permission, no WireGuard module).
//! Messages themselves already say what failed and why; this adds what to do when the root
//! cause is the host rather than wiremesh.

use std::error::Error;
use std::io;

/// `EOPNOTSUPP`: what the kernel answers when asked for a link of an unknown kind, such as
/// `wireguard` without the module.
const EOPNOTSUPP: i32 = 95;

/// The error and its causes joined by ": " (a cause whose text is already in the message is
/// skipped: library errors repeat their source), then advice in a sentence of its own where
/// a cause calls for it. `bin` is the binary's name, for the advice.
pub fn describe<'a>(
    chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>,
    bin: &str,
) -> String {
    let mut message = String::new();
    let mut advice: Vec<String> = Vec::new();
    for cause in chain {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        if let Some(hint) = cause.downcast_ref::<io::Error>().and_then(|e| hint(e, bin)) {
            if !advice.contains(&hint) {
                advice.push(hint);
            }
        }
    }
    for hint in advice {
        message.push_str("\n  hint: ");
        message.push_str(&hint);
    }
    message
}

fn hint(error: &io::Error, bin: &str) -> Option<String> {
    if error.kind() == io::ErrorKind::PermissionDenied {
        return Some(format!(
            "permission denied: {bin} reads private keys and changes network interfaces, which \
             needs root; run it with sudo"
        ));
    }
    if error.raw_os_error() == Some(EOPNOTSUPP) {
        return Some(
            "the kernel does not support WireGuard interfaces: load the module with `modprobe \
             wireguard`, or pass `--backend userspace` to use wireguard-go"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to read /etc/wiremesh/x.conf: {source}")]
    struct ReadFailed {
        #[source]
        source: io::Error,
    }

    fn chain(error: &'static (dyn Error + 'static)) -> Vec<&'static (dyn Error + 'static)> {
        let mut all = Vec::new();
        let mut next = Some(error);
        while let Some(cause) = next {
            all.push(cause);
            next = cause.source();
        }
        all
    }

    fn leak(error: ReadFailed) -> &'static (dyn Error + 'static) {
        Box::leak(Box::new(error))
    }

    #[test]
    fn repeated_causes_are_skipped() {
        let error = ReadFailed {
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            describe(chain(leak(error)), "wiremesh"),
            "failed to read /etc/wiremesh/x.conf: no such file"
        );
    }

    #[test]
    fn permission_denied_suggests_sudo() {
        let error = ReadFailed {
            source: io::Error::from_raw_os_error(13),
        };
        let text = describe(chain(leak(error)), "wiremesh-server");
        assert!(
            text.starts_with("failed to read /etc/wiremesh/x.conf: Permission denied"),
            "{text}"
        );
        assert!(
            text.contains("\n  hint: permission denied: wiremesh-server"),
            "{text}"
        );
        assert!(text.contains("sudo"), "{text}");
    }

    #[test]
    fn a_missing_module_suggests_userspace() {
        let error = ReadFailed {
            source: io::Error::from_raw_os_error(EOPNOTSUPP),
        };
        let text = describe(chain(leak(error)), "wiremesh");
        assert!(text.contains("modprobe wireguard"), "{text}");
        assert!(text.contains("--backend userspace"), "{text}");
    }
}
