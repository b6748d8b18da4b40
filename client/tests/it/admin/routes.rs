//! The route commands end to end through the binary against the in-process server: this
//! host offers routes for itself (no admin rights needed for that), an admin approves and
//! lists them, a refused offer says why, `--withdraw` takes everything back.

use crate::support::admin::{setup, Family};
use crate::support::cli::check;

#[test]
fn offer_approve_list_and_withdraw() {
    let (net, host) = setup(Family::V4);
    let out = check(
        &host.run_line("advertise-routes @ --routes 192.168.10.0/24 --exit-node"),
        0,
        &[],
    );
    assert!(
        out.contains("192.168.10.0/24: waiting for approval") && out.contains("approve-routes"),
        "{out}"
    );
    let book = net.service.route_book();
    assert_eq!(book.routes.len(), 2);
    assert!(book.routes.iter().all(|r| !r.approved));

    check(
        &host.run_line("approve-routes @ --peer boss --routes 192.168.10.0/24"),
        0,
        &[],
    );
    let listed = check(&host.run_line("list-routes @"), 0, &[]);
    assert!(
        listed.contains("192.168.10.0/24: approved")
            && listed.contains("0.0.0.0/0 (exit node): waiting for approval"),
        "{listed}"
    );

    let refused = host.run_line("advertise-routes @ --routes 10.66.200.0/24");
    check(&refused, 1, &["overlaps the mesh"]);
    assert_eq!(net.service.route_book().routes.len(), 2);
    check(
        &host.run_line("approve-routes @ --peer nobody"),
        1,
        &["no peer named \"nobody\""],
    );

    check(&host.run_line("advertise-routes @ --withdraw"), 0, &[]);
    assert!(net.service.route_book().routes.is_empty());
}
