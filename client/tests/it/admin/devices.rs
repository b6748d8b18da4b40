//! The device commands end to end through the binary against the in-process server: an
//! admin adds a device (its configuration and QR image written here, mode 0600), lists it,
//! reissues it (a new identity for a server-generated key), and a refusal leaves no file.

use std::os::unix::fs::PermissionsExt;

use crate::support::admin::{setup, Family};
use crate::support::cli::check;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn add_list_and_export_a_device() {
    let (net, host) = setup(Family::V4);
    let config = host.path("phone.conf");
    let out = check(
        &host.run_line(&format!(
            "add-device @ --name phone --cidr robots --auto-ip --psk --qr --save-config {} --yes",
            config.display()
        )),
        0,
        &[],
    );
    assert!(
        out.contains("created device phone") && out.contains('█'),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("PrivateKey = ") && text.contains("PresharedKey = "),
        "{text}"
    );
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&config.with_extension("png")), 0o600);
    assert_eq!(net.service.device_listing().len(), 1);

    let listed = check(&host.run_line("list-devices @"), 0, &[]);
    assert!(
        listed.contains("phone via") && listed.contains("generated key, psk"),
        "{listed}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&check(&host.run_line("list-devices @ --json"), 0, &[])).unwrap();
    assert_eq!(json["devices"][0]["stale"], false);

    // A refusal (the name is taken) leaves no file behind.
    let other = host.path("other.conf");
    check(
        &host.run_line(&format!(
            "add-device @ --name worker --cidr robots --auto-ip --save-config {} --yes",
            other.display()
        )),
        1,
        &["worker"],
    );
    assert!(!other.exists());

    // Reissued: a server-generated key makes a new identity.
    let again = host.path("phone-2.conf");
    check(
        &host.run_line(&format!(
            "export-device @ --name phone --save-config {} --yes",
            again.display()
        )),
        0,
        &[],
    );
    let second = std::fs::read_to_string(&again).unwrap();
    let address = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Address"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(address(&second), address(&text));
    let devices = net.service.device_listing();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.peer.is_disabled).count(), 1);
    check(
        &host.run_line(&format!(
            "export-device @ --name nobody --save-config {} --yes",
            host.path("x.conf").display()
        )),
        1,
        &["no device named"],
    );
}
