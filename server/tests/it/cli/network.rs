//! The binary's network-level commands: `new`, `import`, `uninstall`, `completions`, and
//! what happens without a terminal.

use std::fs;

use wiremesh_shared::config::ServerConfig;

use crate::support::cli::{assert_contains, mode, Server};

fn check_new(root: &str, server_ip: &str, infra: &str) {
    let server = Server::new();
    let out = server.new_network("evilcorp", root);
    assert_contains(&out, &["created network evilcorp", server_ip]);
    let config_path = server.config_file("evilcorp");
    assert_eq!(mode(&config_path), 0o600);
    assert_eq!(mode(&server.config_dir()), 0o700);
    assert!(server.database_file("evilcorp").is_file());
    let config = ServerConfig::from_toml_str(&fs::read_to_string(&config_path).unwrap()).unwrap();
    assert_eq!(config.address.to_string(), server_ip);
    assert_eq!(config.network().to_string(), root);
    assert_eq!(config.listen_port, 51820);
    let expected = format!(
        "evilcorp {root}\n  innernet-server {infra}\n    - innernet-server {server_ip} (admin)\n"
    );
    assert_eq!(server.list("evilcorp"), expected);
}

#[test]
fn new_by_flags_v4() {
    check_new("10.66.0.0/16", "10.66.0.1", "10.66.0.1/32");
}

#[test]
fn new_by_flags_v6() {
    check_new("fd00:1337::/64", "fd00:1337::1", "fd00:1337::1/128");
}

#[test]
fn new_refuses_an_existing_network() {
    let server = Server::new();
    server.new_network("evilcorp", "10.66.0.0/16");
    let config = fs::read(server.config_file("evilcorp")).unwrap();
    let database = fs::read(server.database_file("evilcorp")).unwrap();
    let stderr = server.fails(
        &[
            "new",
            "--network-name",
            "evilcorp",
            "--network-cidr",
            "10.99.0.0/16",
            "--external-endpoint",
            "192.0.2.9:51820",
            "--listen-port",
            "51821",
        ],
        1,
    );
    assert_contains(&stderr, &["already exists", "uninstall"]);
    assert_eq!(fs::read(server.config_file("evilcorp")).unwrap(), config);
    assert_eq!(
        fs::read(server.database_file("evilcorp")).unwrap(),
        database
    );
}

#[test]
fn new_rejects_bad_values() {
    let server = Server::new();
    let cases: &[(&str, &str, &str)] = &[
        ("Evil", "10.66.0.0/16", "invalid network name"),
        ("evilcorp", "10.66.0.1/16", "did you mean 10.66.0.0/16"),
        ("evilcorp", "10.66.0.0/32", "too small"),
        ("evilcorp", "nonsense", "invalid network CIDR"),
    ];
    for (name, cidr, fragment) in cases {
        let stderr = server.fails(
            &[
                "new",
                "--network-name",
                name,
                "--network-cidr",
                cidr,
                "--external-endpoint",
                "192.0.2.1:51820",
                "--listen-port",
                "51820",
            ],
            1,
        );
        assert_contains(&stderr, &[fragment]);
    }
    assert!(!server.config_dir().join("evilcorp.conf").exists());
}

#[test]
fn missing_values_without_a_terminal_are_usage_errors() {
    let server = Server::new();
    let stderr = server.fails(&["new", "--network-name", "evilcorp"], 2);
    assert_contains(&stderr, &["--network-cidr", "not a terminal"]);
    let stderr = server.fails(
        &[
            "new",
            "--network-name",
            "evilcorp",
            "--network-cidr",
            "10.66.0.0/16",
            "--listen-port",
            "51820",
        ],
        2,
    );
    assert_contains(&stderr, &["--external-endpoint"]);
    assert!(!server.config_file("evilcorp").exists());

    server.new_network("evilcorp", "10.66.0.0/16");
    let stderr = server.fails(&["add-cidr", "evilcorp", "--cidr", "10.66.1.0/24"], 2);
    assert_contains(&stderr, &["--name"]);
    let stderr = server.fails(
        &[
            "add-cidr",
            "evilcorp",
            "--name",
            "humans",
            "--cidr",
            "10.66.1.0/24",
        ],
        2,
    );
    assert_contains(&stderr, &["--yes"]);
    let stderr = server.fails(&["disable-peer", "evilcorp"], 2);
    assert_contains(&stderr, &["--name"]);
    // clap's own usage errors exit 2 as well.
    server.fails(
        &["add-peer", "evilcorp", "--ip", "10.66.1.1", "--auto-ip"],
        2,
    );
}

#[test]
fn commands_on_a_missing_network_say_what_to_do() {
    let server = Server::new();
    let stderr = server.fails(&["list", "nothere"], 1);
    assert_contains(&stderr, &["no config file", "wiremesh-server new"]);
}

#[test]
fn uninstall_removes_everything() {
    // A name no interface on this machine has (uninstall deletes an interface of this name).
    let network = format!("wmu{:06x}", std::process::id() & 0xff_ffff);
    let server = Server::new();
    server.new_network(&network, "10.66.0.0/16");
    let stderr = server.fails(&["uninstall", &network], 2);
    assert_contains(&stderr, &["--yes"]);
    assert!(server.config_file(&network).exists());

    let out = server.ok(&["uninstall", &network, "--yes"]);
    assert_contains(&out, &["uninstalled"]);
    assert!(!server.config_file(&network).exists());
    assert!(!server.database_file(&network).exists());
    let leftovers: Vec<_> = fs::read_dir(server.data_dir()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let stderr = server.fails(&["uninstall", &network, "--yes"], 1);
    assert_contains(&stderr, &["does not exist"]);
}

#[test]
fn completions_are_printed() {
    let server = Server::new();
    let out = server.ok(&["completions", "bash"]);
    assert_contains(&out, &["wiremesh-server", "add-peer", "--invite-expires"]);
}

/// An innernet-server 2.0.0 database (its exact schema and the rows of the `evilcorp`
/// fixture network) and its config file.
fn innernet_network(server: &Server) -> (std::path::PathBuf, std::path::PathBuf) {
    let db = server.path("innernet.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(include_str!("../../fixtures/innernet-2.0.0-schema.sql"))
        .unwrap();
    conn.execute_batch(include_str!("../../fixtures/innernet-2.0.0-rows.sql"))
        .unwrap();
    // An invitation that expired long ago, so the listing does not depend on today's date.
    conn.execute(
        "UPDATE peers SET invite_expires = 1000 WHERE name = 'robot1'",
        [],
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    let config = server.path("evilcorp.conf");
    fs::write(
        &config,
        "private-key = \"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo=\"\nlisten-port = 51820\n\
         address = \"10.66.0.1\"\nnetwork-cidr-prefix = 16\n",
    )
    .unwrap();
    (config, db)
}

#[test]
fn import_an_innernet_network() {
    let server = Server::new();
    let (config, db) = innernet_network(&server);
    let db_before = fs::read(&db).unwrap();
    let config_arg = config.to_str().unwrap();
    let db_arg = db.to_str().unwrap();
    let out = server.ok(&[
        "import",
        "--innernet-config",
        config_arg,
        "--innernet-db",
        db_arg,
    ]);
    assert_contains(&out, &["imported innernet network evilcorp"]);
    assert_eq!(mode(&server.config_file("evilcorp")), 0o600);
    assert_eq!(
        fs::read_to_string(server.config_file("evilcorp")).unwrap(),
        fs::read_to_string(&config).unwrap()
    );
    assert_eq!(
        fs::read(&db).unwrap(),
        db_before,
        "the innernet database was changed"
    );
    let expected = "\
evilcorp 10.66.0.0/16
  innernet-server 10.66.0.1/32
    - innernet-server 10.66.0.1 (admin)
  humans 10.66.1.0/24
    - admin 10.66.1.1 (admin)
  robots 10.66.2.0/24
    - robot1 10.66.2.1 (invite expired)
";
    assert_eq!(server.list("evilcorp"), expected);
    assert_eq!(
        server.ok(&["list-associations", "evilcorp"]),
        "1: humans <=> robots\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&server.ok(&["list", "evilcorp", "--json"])).unwrap();
    assert_eq!(json["network"], "evilcorp");
    let cidrs: Vec<&str> = json["cidrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cidrs, ["evilcorp", "innernet-server", "humans", "robots"]);
    let robot = &json["peers"][2];
    assert_eq!(robot["name"], "robot1");
    assert_eq!(robot["cidr"], "robots");
    assert_eq!(robot["invite"], "expired");
    let json: serde_json::Value =
        serde_json::from_str(&server.ok(&["list-associations", "evilcorp", "--json"])).unwrap();
    assert_eq!(json["associations"][0]["cidr_1"], "humans");
    assert_eq!(json["associations"][0]["cidr_2"], "robots");

    // A second import of the same network is refused and changes nothing.
    let stderr = server.fails(
        &[
            "import",
            "evilcorp",
            "--innernet-config",
            config_arg,
            "--innernet-db",
            db_arg,
        ],
        1,
    );
    assert_contains(&stderr, &["already exists"]);
    assert_eq!(server.list("evilcorp"), expected);
}

#[test]
fn backup_writes_a_private_consistent_copy_and_never_overwrites() {
    let server = Server::new();
    server.new_network("evilcorp", "10.66.0.0/16");
    let dest = server.dir.path().join("evilcorp-backup.db");
    let dest_arg = dest.to_str().unwrap();
    let out = server.ok(&["backup", "evilcorp", dest_arg]);
    assert_contains(
        &out,
        &["backed up network evilcorp", "2 CIDRs, 1 peers", dest_arg],
    );
    assert_eq!(mode(&dest), 0o600);

    // The copy is a whole network: a server pointed at it lists the same tree.
    let restored = Server::new();
    fs::create_dir_all(restored.config_dir()).unwrap();
    fs::copy(
        server.config_file("evilcorp"),
        restored.config_file("evilcorp"),
    )
    .unwrap();
    fs::create_dir_all(restored.data_dir()).unwrap();
    fs::copy(&dest, restored.database_file("evilcorp")).unwrap();
    assert_eq!(restored.list("evilcorp"), server.list("evilcorp"));

    // An existing destination is refused and left as it was.
    fs::write(&dest, b"precious").unwrap();
    let stderr = server.fails(&["backup", "evilcorp", dest_arg], 1);
    assert_contains(&stderr, &["already exists"]);
    assert_eq!(fs::read(&dest).unwrap(), b"precious");
    let stderr = server.fails(&["backup", "nothere", dest_arg], 1);
    assert_contains(&stderr, &["no config file"]);
}

#[test]
fn an_unprivileged_user_is_told_to_use_sudo() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to drop to another user");
        return;
    }
    let server = Server::new();
    server.new_network("evilcorp", "10.66.0.0/16");
    let mut command = std::process::Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_wiremesh-server"))
        .arg("-c")
        .arg(server.config_dir())
        .arg("-d")
        .arg(server.data_dir())
        .args(["list", "evilcorp"])
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    let output = command.output().expect("run setpriv");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_contains(
        &stderr,
        &["Permission denied", "hint: permission denied", "sudo"],
    );
}

/// `serve --api-listen` needs a certificate and a key, and refuses files it cannot use before
/// it touches anything (the network here does not even exist: the TLS check comes first).
#[test]
fn serve_refuses_a_tls_listener_it_cannot_use() {
    let server = Server::new();
    let stderr = server.fails(&["serve", "nothere", "--api-listen", "127.0.0.1:0"], 2);
    assert_contains(&stderr, &["--api-tls-cert", "--api-tls-key"]);
    let stderr = server.fails(&["serve", "nothere", "--api-tls-cert", "/x.crt"], 2);
    assert_contains(&stderr, &["--api-listen"]);

    let cert = server.path("api.crt");
    let key = server.path("api.key");
    let stderr = server.fails(
        &[
            "serve",
            "nothere",
            "--api-listen",
            "127.0.0.1:0",
            "--api-tls-cert",
            cert.to_str().unwrap(),
            "--api-tls-key",
            key.to_str().unwrap(),
        ],
        1,
    );
    assert_contains(
        &stderr,
        &[
            "--api-tls-cert",
            "failed to read the TLS certificate",
            "api.crt",
        ],
    );
    assert!(!server.data_dir().join("nothere.db").exists());
}
