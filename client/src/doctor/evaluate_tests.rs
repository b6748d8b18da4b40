//! Table tests of the verdicts in [`super`] on injected values only (no `/proc`, no files),
//! and the helpers the tests of `tunnel` share.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::*;

const ME: u32 = 1000;

pub(super) fn iface() -> InterfaceName {
    "meshb".parse().unwrap()
}

pub(super) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Asserts the status, and that detail and advice contain the fragments (no advice for `None`).
pub(super) fn assert_finding(
    finding: &Finding,
    status: Status,
    detail: &str,
    advice: Option<&str>,
) {
    assert_eq!(finding.status, status, "{finding:?}");
    assert!(
        finding.detail.contains(detail),
        "detail {:?} lacks {detail:?}",
        finding.detail
    );
    match (advice, &finding.advice) {
        (None, None) => {}
        (Some(fragment), Some(advice)) => {
            assert!(
                advice.contains(fragment),
                "advice {advice:?} lacks {fragment:?}"
            )
        }
        (want, got) => panic!("advice: expected {want:?}, got {got:?}"),
    }
}

// ---- permissions ---------------------------------------------------------------------------

/// What [`permissions`] should say: the description, or `(status, detail, advice)` fragments.
type Expected<'a> = Result<&'a str, (Status, &'a str, &'a str)>;

fn check_permissions(role: FileRole, mode: u32, uid: u32, expected: Expected) {
    let path = PathBuf::from("/etc/wiremesh/meshb.conf");
    let result = permissions(role, &path, FileFacts { mode, uid }, ME);
    match (expected, result) {
        (Ok(described), Ok(got)) => assert_eq!(got, described, "{role:?} {mode:o} {uid}"),
        (Err((status, detail, advice)), Err(finding)) => {
            assert_finding(&finding, status, detail, Some(advice))
        }
        (expected, got) => panic!("{role:?} {mode:o} {uid}: expected {expected:?}, got {got:?}"),
    }
}

#[test]
fn permissions_by_role() {
    use FileRole::*;
    let chmod600 = "`chmod 600 /etc/wiremesh/meshb.conf`";
    let chmod700 = "`chmod 700 /etc/wiremesh/meshb.conf`";
    let cases: &[(FileRole, u32, u32, Expected)] = &[
        (Config, 0o600, 0, Ok("mode 0600, owned by root")),
        (Config, 0o400, ME, Ok("mode 0400, owned by you (uid 1000)")),
        (
            Config,
            0o644,
            0,
            Err((
                Status::Fail,
                "mode 0644: other users can read its private key",
                chmod600,
            )),
        ),
        (
            Config,
            0o640,
            0,
            Err((
                Status::Fail,
                "other users can read its private key",
                chmod600,
            )),
        ),
        (
            Config,
            0o602,
            0,
            Err((
                Status::Fail,
                "mode 0602: other users have access to it",
                chmod600,
            )),
        ),
        (
            Config,
            0o600,
            1234,
            Err((
                Status::Fail,
                "owned by uid 1234, neither root nor you",
                "`chown root /etc",
            )),
        ),
        (Cache, 0o600, 0, Ok("mode 0600, owned by root")),
        (
            Cache,
            0o644,
            0,
            Err((
                Status::Warn,
                "other users can read the network's peers",
                chmod600,
            )),
        ),
        (
            Cache,
            0o600,
            1234,
            Err((Status::Warn, "owned by uid 1234", "chown root")),
        ),
        (ConfigDir, 0o700, 0, Ok("mode 0700, owned by root")),
        (ConfigDir, 0o755, 0, Ok("mode 0755, owned by root")),
        (
            ConfigDir,
            0o777,
            0,
            Err((
                Status::Fail,
                "mode 0777: other users can write to it",
                chmod700,
            )),
        ),
        (
            ConfigDir,
            0o1770,
            0,
            Err((Status::Fail, "mode 1770", chmod700)),
        ),
    ];
    for (role, mode, uid, expected) in cases {
        check_permissions(*role, *mode, *uid, *expected);
    }
}

#[test]
fn both_permission_problems_are_reported_with_both_fixes() {
    let path = PathBuf::from("/etc/wiremesh/meshb.conf");
    let finding = permissions(
        FileRole::Config,
        &path,
        FileFacts {
            mode: 0o644,
            uid: 7,
        },
        ME,
    )
    .unwrap_err();
    assert_eq!(
        finding.detail,
        "/etc/wiremesh/meshb.conf: mode 0644: other users can read its private key; owned by \
         uid 7, neither root nor you"
    );
    assert_eq!(
        finding.advice.as_deref(),
        Some("run `chmod 600 /etc/wiremesh/meshb.conf` and `chown root /etc/wiremesh/meshb.conf`")
    );
}

#[test]
fn read_failures_say_what_to_do() {
    let path = PathBuf::from("/etc/wiremesh/meshb.conf");
    let cases = [
        (
            FileRole::Config,
            io::ErrorKind::NotFound,
            "meshb.conf does not exist: meshb is not installed",
            Some("wiremesh install <invitation>"),
        ),
        (
            FileRole::ConfigDir,
            io::ErrorKind::NotFound,
            "does not exist: no network is installed",
            Some("join a network"),
        ),
        (
            FileRole::Cache,
            io::ErrorKind::PermissionDenied,
            "cannot read /etc/wiremesh/meshb.conf: permission denied",
            Some("sudo wiremesh doctor"),
        ),
        (
            FileRole::Config,
            io::ErrorKind::InvalidData,
            "failed to read",
            None,
        ),
    ];
    for (role, kind, detail, advice) in cases {
        let error = io::Error::from(kind);
        let finding = read_failure(role, &path, Some(&iface()), &error);
        assert_finding(&finding, Status::Fail, detail, advice);
    }
}

// ---- rp_filter -----------------------------------------------------------------------------

fn check_rp_filter(
    all: Result<u8, &str>,
    own: Result<u8, &str>,
    status: Status,
    detail: &str,
    advice: Option<&str>,
) {
    let interfaces = [(iface().to_string(), own.map_err(str::to_owned))];
    let finding = rp_filter(all.map_err(str::to_owned), &interfaces);
    assert_finding(&finding, status, detail, advice);
    if let Some(advice) = advice {
        assert_eq!(
            finding.advice.as_deref(),
            Some(format!("run {advice} (and make it permanent in /etc/sysctl.d/)").as_str())
        );
    }
}

#[test]
fn rp_filter_strict_passes_and_the_higher_value_applies() {
    let all1 = "`sysctl -w net.ipv4.conf.all.rp_filter=1`";
    let own1 = "`sysctl -w net.ipv4.conf.meshb.rp_filter=1`";
    check_rp_filter(Ok(1), Ok(1), Status::Pass, "strict on meshb (", None);
    check_rp_filter(Ok(1), Ok(0), Status::Pass, "strict on meshb", None);
    check_rp_filter(
        Ok(0),
        Ok(1),
        Status::Pass,
        "strict on meshb (net.ipv4.conf.all.rp_filter=0, net.ipv4.conf.meshb.rp_filter=1; an interface gets the higher of `all` and its own, in this network namespace)",
        None,
    );
    check_rp_filter(
        Ok(0),
        Ok(0),
        Status::Warn,
        "not strict on meshb (off)",
        Some(all1),
    );
    check_rp_filter(Ok(2), Ok(0), Status::Warn, "meshb (loose)", Some(all1));
    // "all" = 1 does not help while the interface's own value is loose.
    check_rp_filter(Ok(1), Ok(2), Status::Warn, "meshb (loose)", Some(own1));
    check_rp_filter(
        Ok(2),
        Ok(2),
        Status::Warn,
        "loose",
        Some(&format!("{all1} and {own1}")),
    );
    // One unreadable value: the other decides.
    check_rp_filter(
        Err("gone"),
        Ok(1),
        Status::Pass,
        "all.rp_filter unreadable (gone)",
        None,
    );
    check_rp_filter(Ok(0), Err("gone"), Status::Warn, "off", Some(all1));
    check_rp_filter(
        Err("a"),
        Err("b"),
        Status::Warn,
        "could not read rp_filter",
        None,
    );
}

#[test]
fn rp_filter_of_every_interface_counts() {
    // Strict on the tunnel but loose on the uplink: forged mesh sources get in there.
    let interfaces = [
        ("meshb".to_owned(), Ok(1)),
        ("eth0".to_owned(), Ok(2)),
        ("eth1".to_owned(), Ok(0)),
    ];
    let finding = rp_filter(Ok(0), &interfaces);
    assert_finding(
        &finding,
        Status::Warn,
        "not strict on eth0 (loose), eth1 (off): packets with forged mesh source addresses",
        Some("`sysctl -w net.ipv4.conf.all.rp_filter=1` and `sysctl -w net.ipv4.conf.eth0.rp_filter=1`"),
    );
    let strict = [("meshb".to_owned(), Ok(0)), ("eth0".to_owned(), Ok(1))];
    let finding = rp_filter(Ok(1), &strict);
    assert_finding(&finding, Status::Pass, "strict on meshb, eth0", None);
}

#[test]
fn rp_filter_values_parse() {
    assert_eq!(parse_rp_filter("1\n"), Ok(1));
    assert_eq!(parse_rp_filter(" 2 "), Ok(2));
    assert_eq!(parse_rp_filter("0"), Ok(0));
    assert!(parse_rp_filter("3").is_err());
    assert!(parse_rp_filter("").is_err());
}

#[test]
fn permission_errors_are_found_in_the_cause_chain() {
    let denied = wireguard_control::Error::Socket {
        path: "/var/run/wireguard/meshb.sock".into(),
        action: "connect to",
        source: io::Error::from(io::ErrorKind::PermissionDenied),
    };
    assert!(is_permission_denied(&denied));
    let finding = backend_error(&iface(), "look up WireGuard interface", &denied);
    assert_finding(
        &finding,
        Status::Fail,
        "failed to look up WireGuard interface meshb",
        Some("sudo"),
    );
    let eperm = wireguard_control::Error::Io {
        iface: iface(),
        action: "read",
        source: io::Error::from_raw_os_error(libc::EPERM),
    };
    assert!(is_permission_denied(&eperm));
    let other = wireguard_control::Error::NotFound { iface: iface() };
    assert!(!is_permission_denied(&other));
    assert_eq!(backend_error(&iface(), "read", &other).advice, None);
}
