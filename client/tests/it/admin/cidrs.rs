//! The CIDR and association admin commands end to end (`add-cidr`, `rename-cidr`,
//! `delete-cidr`, `add-association`, `delete-association`, `list-associations`) against the
//! in-process server; the server's model is checked after every command.

use crate::support::admin::{cidr, root_name, setup, Family};
use crate::support::cli::check;

#[test]
fn rename_and_delete_cidr() {
    let (net, host) = setup(Family::V4);
    let root = root_name(&net);
    let line = format!("add-cidr @ --name spare --cidr 10.66.9.0/24 --parent {root} --yes");
    check(&host.run_line(&line), 0, &[]);
    check(
        &host.run_line("rename-cidr @ --name spare --new-name extra --yes"),
        0,
        &[],
    );
    assert!(cidr(&net, "spare").is_none());
    assert_eq!(
        cidr(&net, "extra").unwrap().cidr.to_string(),
        "10.66.9.0/24"
    );
    let output = host.run_line("rename-cidr @ --name spare --new-name y --yes");
    check(&output, 1, &["no CIDR named \"spare\""]);
    let output = host.run_line("rename-cidr @ --name extra --new-name robots --yes");
    check(&output, 1, &["already exists"]);
    let out = check(
        &host.run_line("rename-cidr @ --name extra --new-name extra --yes"),
        0,
        &[],
    );
    assert!(out.contains("no change"), "{out}");

    check(
        &host.run_line("delete-cidr @ --name robots --yes"),
        1,
        &["still holds"],
    );
    assert!(cidr(&net, "robots").is_some());
    check(
        &host.run_line(&format!("delete-cidr @ --name {root} --yes")),
        1,
        &["root"],
    );
    let output = host.run_line("delete-cidr @ --name innernet-server --yes");
    check(&output, 1, &["infra CIDR"]);
    check(&host.run_line("delete-cidr @ --name extra --yes"), 0, &[]);
    assert!(cidr(&net, "extra").is_none());
    let output = host.run_line("delete-cidr @ --name extra --yes");
    check(&output, 1, &["no CIDR named \"extra\""]);

    let line = format!("add-cidr @ --name bad --cidr 10.66.9.5/24 --parent {root} --yes");
    check(&host.run_line(&line), 1, &["host bits", "10.66.9.0/24"]);
    let line = "add-cidr @ --name bad --cidr 10.66.9.0/24 --parent nowhere --yes";
    check(&host.run_line(line), 1, &["no CIDR named \"nowhere\""]);
    let line = format!("add-cidr @ --name bad --cidr 10.66.2.128/25 --parent {root} --yes");
    check(&host.run_line(line.as_str()), 1, &["robots"]);
    assert!(cidr(&net, "bad").is_none());
}

#[test]
fn associations() {
    let (net, host) = setup(Family::V4);
    check(&host.run_line("add-association @ humans robots"), 0, &[]);
    let associations = net.service.associations();
    assert_eq!(associations.len(), 1);
    let id = associations[0].id;
    let out = check(&host.run_line("list-associations @"), 0, &[]);
    assert_eq!(out, format!("{id}: humans <=> robots\n"));
    let out = check(&host.run_line("list-associations @ --json"), 0, &[]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("list-associations --json");
    assert_eq!(json["associations"][0]["id"], id.0);
    assert_eq!(json["associations"][0]["cidr_1"], "humans");
    assert_eq!(json["associations"][0]["cidr_2"], "robots");

    let output = host.run_line("add-association @ robots humans");
    check(&output, 1, &["already associated"]);
    check(
        &host.run_line("add-association @ robots robots"),
        1,
        &["itself"],
    );
    let output = host.run_line("add-association @ robots martians");
    check(&output, 1, &["no CIDR named \"martians\""]);
    check(&host.run_line("add-association @ humans"), 2, &["CIDR2"]);

    check(
        &host.run_line("delete-association @ robots humans"),
        2,
        &["--yes"],
    );
    check(
        &host.run_line("delete-association @ robots humans --yes"),
        0,
        &[],
    );
    assert!(net.service.associations().is_empty());
    assert_eq!(check(&host.run_line("list-associations @"), 0, &[]), "");
    let output = host.run_line("delete-association @ robots humans --yes");
    check(&output, 1, &["not associated", "list-associations"]);
}
