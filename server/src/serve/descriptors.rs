//! The descriptor limit: `serve` raises its soft `RLIMIT_NOFILE` to the hard limit at start,
//! since every connected daemon holds a descriptor (systemd's default soft limit of 1024
//! would cap a network at about a thousand daemons; the unit sets `LimitNOFILE`).

use std::io;

/// The soft descriptor limit before and after [`raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: u64,
    pub now: u64,
}

/// Where the kernel caps descriptors per process when the hard limit is "unlimited".
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// Raises the soft descriptor limit to the hard limit (or, when that is unlimited, to the
/// kernel's `fs.nr_open`).
pub fn raise() -> io::Result<Raised> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid, exclusively borrowed `limit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    let target = if limit.rlim_max == libc::RLIM_INFINITY {
        std::fs::read_to_string(NR_OPEN)
            .ok()
            .and_then(|text| text.trim().parse::<libc::rlim_t>().ok())
            .unwrap_or(1 << 20)
    } else {
        limit.rlim_max
    };
    if target <= before {
        return Ok(Raised {
            before,
            now: before,
        });
    }
    limit.rlim_cur = target;
    // SAFETY: setrlimit reads one valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Raised {
        before,
        now: target,
    })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// Set in the child that [`raises_a_soft_limit_of_1024`] starts.
    const CHILD: &str = "WIREMESH_TEST_DESCRIPTOR_CHILD";

    /// Runs this test binary's [`child`] under `prlimit --nofile=1024:4096` and checks that
    /// it found 1024 and raised it to 4096.
    #[test]
    fn raises_a_soft_limit_of_1024() {
        let binary = std::env::current_exe().expect("test binary");
        let output = match Command::new("prlimit")
            .arg("--nofile=1024:4096")
            .arg(binary)
            .args(["--exact", "serve::descriptors::tests::child", "--nocapture"])
            .env(CHILD, "1")
            .output()
        {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                // util-linux is part of every Debian system; be loud if it is not here.
                panic!("prlimit (util-linux) is needed by this test");
            }
            Err(error) => panic!("prlimit: {error}"),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("raised 1024 -> 4096; now 4096"), "{stdout}");
    }

    /// In the child: raises the limit and prints what it found and what the kernel says now.
    #[test]
    fn child() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let raised = super::raise().expect("raise");
        let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
        let now = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .and_then(|line| line.split_whitespace().nth(3))
            .expect("Max open files line");
        println!("raised {} -> {}; now {now}", raised.before, raised.now);
    }
}
