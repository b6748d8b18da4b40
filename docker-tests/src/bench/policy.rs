//! `wiremesh-bench policy [--peers 10000] [--rules 1000] [--json policy-results.json]`: the
//! cost of the port and protocol policy at scale, in process (issue 16's figures): compiling
//! one host's ruleset, every host's (one by one, and once per ruleset key as the server's
//! cache does), the plan a rule change shows, the digest, and the size of a host's nftables
//! table. The network: 100 leaf CIDRs of `peers / 100` peers, 200 associations, `rules`
//! rules (association rules between CIDRs, some naming single peers), 10 isolated CIDRs.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;
use wiremesh_firewall::{Firewall, Nft};
use wiremesh_shared::acl::{NetworkRoles, NetworkView};
use wiremesh_shared::policy::access::plan_change;
use wiremesh_shared::policy::{
    compile, Destination, HostRole, Policy, PortRange, Protocol, Rule, RuleContents, Scope, Source,
};
use wiremesh_shared::wire::{Association, AssociationContents, Cidr, CidrContents, Peer};
use wiremesh_shared::{AssociationId, CidrId, PeerId, RuleId};

const CIDRS: usize = 100;

#[derive(Serialize)]
struct Figures {
    peers: usize,
    rules: usize,
    compile_one_host_us: f64,
    compile_all_hosts_one_by_one_ms: f64,
    ruleset_keys: usize,
    compile_all_keys_ms: f64,
    plan_one_rule_ms: f64,
    digest_us: f64,
    host_restricted_prefixes: usize,
    host_allow_lines: usize,
    host_nft_rules: usize,
    host_nft_transaction_bytes: usize,
}

fn network(peers_total: usize) -> (Vec<Cidr>, Vec<Peer>, Vec<Association>) {
    let cidr = |id: i64, name: String, net: &str, parent: Option<i64>| Cidr {
        id: CidrId(id),
        contents: CidrContents {
            name,
            cidr: net.parse().expect("network"),
            parent: parent.map(CidrId),
        },
    };
    let mut cidrs = vec![
        cidr(1, "root".into(), "10.0.0.0/8", None),
        cidr(2, "infra".into(), "10.0.0.1/32", Some(1)),
    ];
    for i in 0..CIDRS {
        cidrs.push(cidr(
            3 + i as i64,
            format!("c{i}"),
            &format!("10.{}.0.0/16", i + 1),
            Some(1),
        ));
    }
    let template = wiremesh_shared::fixture::Fixture::new(wiremesh_shared::fixture::Family::V4)
        .peers[1]
        .clone();
    let mut peers = Vec::with_capacity(peers_total + 1);
    let mut add = |id: i64, ip: String, cidr: i64| {
        let mut peer = template.clone();
        peer.id = PeerId(id);
        peer.contents.name = format!("p{id}").parse().expect("name");
        peer.contents.ip = ip.parse().expect("address");
        peer.contents.cidr_id = CidrId(cidr);
        peer.contents.public_key = wiremesh_shared::fixture::key_for(PeerId(id));
        peers.push(peer);
    };
    add(1, "10.0.0.1".into(), 2);
    let per_cidr = peers_total.div_ceil(CIDRS);
    for n in 0..peers_total {
        let (c, k) = (n / per_cidr, n % per_cidr + 1);
        add(
            2 + n as i64,
            format!("10.{}.{}.{}", c + 1, k / 250, k % 250 + 1),
            3 + c as i64,
        );
    }
    let mut associations = Vec::new();
    for i in 0..CIDRS {
        for step in [1, 7] {
            associations.push(Association {
                id: AssociationId(associations.len() as i64 + 1),
                contents: AssociationContents {
                    cidr_id_1: CidrId(3 + i as i64),
                    cidr_id_2: CidrId(3 + ((i + step) % CIDRS) as i64),
                },
            });
        }
    }
    (cidrs, peers, associations)
}

fn policy(rules: usize, peers: &[Peer], associations: &[Association]) -> Policy {
    let peer_in = |cidr: CidrId, n: usize| {
        let members: Vec<&Peer> = peers.iter().filter(|p| p.cidr_id == cidr).collect();
        members[n % members.len()].id
    };
    let rules = (0..rules)
        .map(|r| {
            let a = &associations[r % associations.len()];
            let source = if r % 5 == 0 {
                Source::Peer(peer_in(a.cidr_id_1, r))
            } else {
                Source::Cidr(a.cidr_id_1)
            };
            let destination = if r % 10 == 0 {
                Destination::Peer(peer_in(a.cidr_id_2, r))
            } else {
                Destination::Cidr(a.cidr_id_2)
            };
            let port = 1 + (r % 1000) as u16;
            Rule {
                id: RuleId(r as i64 + 1),
                contents: RuleContents {
                    scope: Scope::Association(a.id),
                    source,
                    destination,
                    protocol: if r % 3 == 0 {
                        Protocol::Udp
                    } else {
                        Protocol::Tcp
                    },
                    ports: vec![
                        PortRange::single(port).expect("port"),
                        PortRange::new(8000 + port % 50, 8100 + port % 50).expect("range"),
                    ],
                    note: None,
                },
            }
        })
        .collect();
    Policy {
        rules,
        isolated: (0..10).map(|i| CidrId(3 + i * 10)).collect(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn policy_command(args: &[String]) -> Result<()> {
    let (mut peers_total, mut rules_total, mut json) =
        (10_000usize, 1_000usize, "policy-results.json".to_owned());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match arg.as_str() {
            "--peers" => peers_total = value().parse()?,
            "--rules" => rules_total = value().parse()?,
            "--json" => json = value(),
            other => bail!("unknown option {other}"),
        }
    }
    let (cidrs, peers, associations) = network(peers_total);
    let policy = policy(rules_total, &peers, &associations);
    let view = NetworkView {
        cidrs: &cidrs,
        associations: &associations,
        peers: &peers,
        roles: NetworkRoles::CREATED_BY_NEW,
    };
    // A host in the middle of the network, named by rules as a destination.
    let host = peers
        .iter()
        .find(|p| {
            policy
                .rules
                .iter()
                .any(|r| r.contents.destination == Destination::Peer(p.id))
        })
        .expect("a named host");
    let one: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(compile(&view, &policy, host, HostRole::Peer));
            start.elapsed()
        })
        .collect();
    let compile_one = median(one);

    let start = Instant::now();
    for peer in &peers[1..] {
        std::hint::black_box(compile(&view, &policy, peer, HostRole::Peer));
    }
    let all_one_by_one = start.elapsed();

    let named: HashSet<PeerId> = policy
        .rules
        .iter()
        .filter_map(|r| match r.contents.destination {
            Destination::Peer(p) => Some(p),
            Destination::Cidr(_) | Destination::Route(_) => None,
        })
        .collect();
    let mut keys = HashSet::new();
    let start = Instant::now();
    for peer in &peers[1..] {
        let key = (peer.cidr_id, named.contains(&peer.id).then_some(peer.id));
        if keys.insert(key) {
            std::hint::black_box(compile(&view, &policy, peer, HostRole::Peer));
        }
    }
    let all_keys = start.elapsed();

    let mut after = policy.clone();
    let mut extra = after.rules[0].clone();
    extra.id = RuleId(rules_total as i64 + 1);
    extra.contents.ports = vec![PortRange::single(4242).expect("port")];
    after.rules.push(extra);
    let start = Instant::now();
    let plan = plan_change(&view, &policy, &after);
    let plan_time = start.elapsed();

    let ruleset = compile(&view, &policy, host, HostRole::Peer);
    let digests: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(ruleset.digest());
            start.elapsed()
        })
        .collect();
    let firewall = Firewall::new(Nft::system(), "wmbench");
    let transaction = firewall.transaction_json(&ruleset);
    let image = firewall.expected_image(&ruleset);
    let nft_rules: usize = image.chains.values().map(|c| c.rules.len()).sum();

    let figures = Figures {
        peers: peers_total,
        rules: rules_total,
        compile_one_host_us: compile_one.as_secs_f64() * 1e6,
        compile_all_hosts_one_by_one_ms: all_one_by_one.as_secs_f64() * 1e3,
        ruleset_keys: keys.len(),
        compile_all_keys_ms: all_keys.as_secs_f64() * 1e3,
        plan_one_rule_ms: plan_time.as_secs_f64() * 1e3,
        digest_us: median(digests).as_secs_f64() * 1e6,
        host_restricted_prefixes: ruleset.restricted.len(),
        host_allow_lines: ruleset.allows.len(),
        host_nft_rules: nft_rules,
        host_nft_transaction_bytes: transaction.len(),
    };
    println!(
        "policy at {peers_total} peers, {rules_total} rules ({} plan lines for one more rule)",
        plan.len()
    );
    println!(
        "  compile one host (median of 50)      {:>10.1} µs",
        figures.compile_one_host_us
    );
    println!(
        "  compile every host one by one        {:>10.1} ms",
        figures.compile_all_hosts_one_by_one_ms
    );
    println!(
        "  compile every ruleset key ({:>5})    {:>10.1} ms",
        figures.ruleset_keys, figures.compile_all_keys_ms
    );
    println!(
        "  plan of adding one rule              {:>10.1} ms",
        figures.plan_one_rule_ms
    );
    println!(
        "  digest of a ruleset                  {:>10.1} µs",
        figures.digest_us
    );
    println!(
        "  one host's table: {} restricted prefixes, {} allow lines, {} nft rules, {} bytes of transaction",
        figures.host_restricted_prefixes, figures.host_allow_lines, figures.host_nft_rules, figures.host_nft_transaction_bytes
    );
    std::fs::write(&json, serde_json::to_string_pretty(&figures)?)?;
    println!("figures written to {json}");
    Ok(())
}
