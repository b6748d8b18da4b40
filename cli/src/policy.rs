//! The port and protocol policy as both binaries ask for it and show it: building a rule
//! from `add-rule`'s flags (and questions), plans (who gains and who loses access), the rule
//! listing with each host's enforcement, and `explain`'s verdict. The names and the scope are
//! decided by `wiremesh_shared::policy::spec`; this module only asks and lays out.

use std::fmt::Write;

use std::net::IpAddr;

use anyhow::{anyhow, Result};
use wiremesh_shared::acl::NetworkView;
use wiremesh_shared::policy::access::{AccessChange, Sender};
use wiremesh_shared::policy::spec::{destination, infer_scope_toward, source, Party, Probe};
use wiremesh_shared::policy::{
    format_ports, parse_ports, Destination, Protocol, Rule, RuleContents, Scope, Source, Transport,
};
use wiremesh_shared::wire::{
    Association, Cidr, Enforcement, Explanation, Peer, PolicyChange, PolicyListing,
};
use wiremesh_shared::{CidrId, PeerId};

use crate::args::AddRuleOpts;
use crate::style::Style;
use crate::Prompter;

/// The rule `add-rule` asks for: flags first, questions for what they left out.
///
/// `route_gateway` places a route destination: the CIDR of a gateway approved for it.
pub fn rule_from_opts(
    opts: &AddRuleOpts,
    prompter: &Prompter,
    view: &NetworkView<'_, impl std::borrow::Borrow<Peer>>,
    route_gateway: &dyn Fn(ipnet::IpNet) -> Option<CidrId>,
) -> Result<RuleContents> {
    let party = |text: &str| text.trim().parse::<Party>().map_err(anyhow::Error::from);
    let from = match &opts.from {
        Some(given) => given.clone(),
        None => prompter.ask(
            None,
            "--from",
            "Source (a CIDR or peer name, or any)",
            Some("any".to_owned()),
            party,
        )?,
    };
    let source = source(&from, view.cidrs, view.peers)?;
    let to = match &opts.to {
        Some(given) => given.clone(),
        None => prompter.ask(
            None,
            "--to",
            "Destination (a CIDR or peer name, or route:NET)",
            None,
            party,
        )?,
    };
    let destination = destination(&to, view.cidrs, view.peers)?;
    let protocol = prompter.input(
        opts.proto,
        "--proto",
        "Protocol (tcp, udp, icmp, any)",
        Some("tcp".to_owned()),
    )?;
    let ports = if protocol.has_ports() {
        match &opts.ports {
            Some(text) => parse_ports(text)?,
            None if !prompter.is_interactive() => Vec::new(),
            None => prompter.ask(
                None,
                "--ports",
                "Ports (22, 8000-8080, a list; empty for every port)",
                Some(String::new()),
                |text| {
                    if text.trim().is_empty() {
                        Ok(Vec::new())
                    } else {
                        parse_ports(text).map_err(anyhow::Error::from)
                    }
                },
            )?,
        }
    } else if let Some(text) = &opts.ports {
        return Err(anyhow!(
            "a {protocol} rule cannot name ports ({text}); ports belong to tcp and udp rules"
        ));
    } else {
        Vec::new()
    };
    let cidr_named = |name: &str| {
        view.cidrs
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id)
            .ok_or_else(|| anyhow!("no CIDR is named {name:?} (list-cidrs shows them)"))
    };
    let scope = if let Some(pair) = &opts.association {
        let (a, b) = pair
            .split_once(',')
            .ok_or_else(|| anyhow!("--association takes two CIDR names: CIDR1,CIDR2"))?;
        let (a, b) = (cidr_named(a.trim())?, cidr_named(b.trim())?);
        let found = view
            .associations
            .iter()
            .find(|x| (x.cidr_id_1, x.cidr_id_2) == (a, b) || (x.cidr_id_1, x.cidr_id_2) == (b, a));
        Scope::Association(
            found
                .ok_or_else(|| {
                    anyhow!("the CIDRs {pair} are not associated (add-association first)")
                })?
                .id,
        )
    } else if let Some(within) = &opts.within {
        Scope::Cidr(cidr_named(within)?)
    } else {
        let gateway = match destination {
            Destination::Route(net) => route_gateway(net),
            _ => None,
        };
        infer_scope_toward(view, source, destination, gateway)?
    };
    Ok(RuleContents {
        scope,
        source,
        destination,
        protocol,
        ports,
        note: opts.note.clone(),
    })
}

/// Names for a network's ids, for listings.
pub struct Names<'a> {
    pub cidrs: &'a [Cidr],
    pub peers: &'a [Peer],
    pub associations: &'a [Association],
}

impl Names<'_> {
    pub fn cidr(&self, id: CidrId) -> String {
        self.cidrs
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("CIDR {id}"), |c| c.name.clone())
    }

    pub fn peer(&self, id: PeerId) -> String {
        self.peers
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("peer {id}"), |p| p.name.to_string())
    }

    pub fn scope(&self, scope: Scope) -> String {
        match scope {
            Scope::Cidr(c) => format!("within {}", self.cidr(c)),
            Scope::Association(a) => match self.associations.iter().find(|x| x.id == a) {
                Some(x) => format!("{} <=> {}", self.cidr(x.cidr_id_1), self.cidr(x.cidr_id_2)),
                None => format!("association {a}"),
            },
        }
    }

    fn source(&self, source: Source) -> String {
        match source {
            Source::Any => "any".to_owned(),
            Source::Cidr(c) => self.cidr(c),
            Source::Peer(p) => format!("peer:{}", self.peer(p)),
        }
    }

    fn destination(&self, destination: Destination) -> String {
        match destination {
            Destination::Cidr(c) => self.cidr(c),
            Destination::Peer(p) => format!("peer:{}", self.peer(p)),
            Destination::Route(net) => format!("route:{net}"),
        }
    }

    /// `humans -> servers tcp 22 [humans <=> servers] (why)`.
    pub fn rule(&self, rule: &RuleContents) -> String {
        let what = match (rule.protocol, rule.ports.is_empty()) {
            (Protocol::Tcp | Protocol::Udp, false) => {
                format!("{} {}", rule.protocol, format_ports(&rule.ports))
            }
            (protocol, _) => protocol.to_string(),
        };
        let mut out = format!(
            "{} -> {} {what} [{}]",
            self.source(rule.source),
            self.destination(rule.destination),
            self.scope(rule.scope)
        );
        if let Some(note) = &rule.note {
            let _ = write!(out, " ({note})");
        }
        out
    }

    fn sender(&self, sender: Sender) -> String {
        match sender {
            Sender::Cidr(c) => self.cidr(c),
            Sender::Peer(p) => format!("peer:{}", self.peer(p)),
        }
    }

    fn receivers(&self, ids: &[PeerId]) -> String {
        const SHOWN: usize = 5;
        let mut names: Vec<String> = ids.iter().take(SHOWN).map(|id| self.peer(*id)).collect();
        if ids.len() > SHOWN {
            names.push(format!("{} more", ids.len() - SHOWN));
        }
        names.join(", ")
    }
}

/// A plan: one line per (sender, receivers) whose access changes, then warnings.
pub fn render_change(change: &PolicyChange, names: &Names<'_>, style: Style) -> String {
    let mut out = String::new();
    if let Some(rule) = &change.rule {
        let verb = if change.committed {
            "rule"
        } else {
            "would be rule"
        };
        let _ = writeln!(out, "{verb} {}: {}", rule.id, names.rule(&rule.contents));
    }
    if change.plan.is_empty() {
        let _ = writeln!(out, "nobody gains or loses access");
    }
    for line in &change.plan {
        let AccessChange {
            sender,
            receivers,
            before,
            after,
        } = line;
        let _ = writeln!(
            out,
            "  {} -> {}: {} => {}",
            names.sender(*sender),
            names.receivers(receivers),
            before,
            style.bold(&after.to_string())
        );
    }
    for warning in &change.warnings {
        let _ = writeln!(out, "{} {warning}", style.yellow("warning:"));
    }
    if !change.committed {
        let _ = writeln!(out, "(plan only: nothing changed)");
    }
    out
}

/// The rules, the isolated CIDRs and each host's enforcement.
pub fn render_listing(listing: &PolicyListing, names: &Names<'_>, style: Style) -> String {
    let mut out = String::new();
    if listing.rules.is_empty() && listing.isolated.is_empty() {
        let _ = writeln!(
            out,
            "no rules: every visible peer may open anything (as without a policy)"
        );
    }
    for Rule { id, contents } in &listing.rules {
        let _ = writeln!(out, "{id}: {}", names.rule(contents));
    }
    for cidr in &listing.isolated {
        let _ = writeln!(out, "isolated: {}", names.cidr(*cidr));
    }
    let restricted: Vec<_> = listing.hosts.iter().filter(|h| h.restricted).collect();
    let (mut enforced, mut stale, mut not) = (0, Vec::new(), Vec::new());
    for host in &restricted {
        match &host.enforcement {
            Enforcement::Enforced => enforced += 1,
            Enforcement::Stale => stale.push(names.peer(host.peer)),
            Enforcement::NotEnforced { reason } => {
                not.push(format!("{} ({reason})", names.peer(host.peer)))
            }
        }
    }
    if !restricted.is_empty() {
        let _ = writeln!(
            out,
            "receivers with restrictions: {} enforced, {} stale, {} not enforced",
            enforced,
            stale.len(),
            not.len()
        );
        if !stale.is_empty() {
            let _ = writeln!(out, "  {} {}", style.yellow("stale:"), stale.join(", "));
        }
        for host in not {
            let _ = writeln!(out, "  {} {host}", style.red("not enforced:"));
        }
    }
    out
}

/// `explain`'s verdict in one or two lines.
pub fn render_explanation(explanation: &Explanation, names: &Names<'_>, style: Style) -> String {
    let verdict = if explanation.allowed {
        style.green("allowed")
    } else {
        style.red("denied")
    };
    let why = match explanation.reason.as_str() {
        "always" => "always allowed (essential ICMP, or the server's API and pings)".to_owned(),
        "unrestricted" => {
            "no rule restricts this pair (without rules everything is allowed)".to_owned()
        }
        "rule" => match &explanation.rule {
            Some(rule) => format!("by rule {}: {}", rule.id, names.rule(&rule.contents)),
            None => "by a rule".to_owned(),
        },
        _ => {
            let scopes: Vec<String> = explanation
                .restricted_by
                .iter()
                .map(|s| names.scope(*s))
                .collect();
            format!(
                "by default: rules restrict this pair ({}) and none of them allows it",
                scopes.join("; ")
            )
        }
    };
    let enforcement = match &explanation.enforcement {
        Enforcement::Enforced => "the receiver enforces its ruleset".to_owned(),
        Enforcement::Stale => "the receiver enforces an older ruleset (not synced yet)".to_owned(),
        Enforcement::NotEnforced { reason } => {
            format!("the receiver does NOT enforce rules: {reason}")
        }
    };
    format!("{verdict} {why}\n{enforcement}\n")
}

/// A peer's address from its name, or an address as given.
pub fn address_of(peers: &[Peer], text: &str) -> Result<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    peers
        .iter()
        .find(|p| p.name.as_str() == text)
        .map(|p| p.ip)
        .ok_or_else(|| anyhow!("no peer is named {text:?} (and it is not an address)"))
}

/// The packet `explain` asks about.
pub fn transport_of(probe: &Probe, src: IpAddr) -> Transport {
    match (probe.protocol, probe.port) {
        (Protocol::Udp, Some(port)) => Transport::Udp { port },
        (_, Some(port)) => Transport::Tcp { port },
        _ => Transport::Icmp {
            kind: if src.is_ipv6() { 128 } else { 8 },
        },
    }
}

/// Plans a policy change (`change(true)`, a dry run), shows the plan, asks (unless `yes`),
/// then commits it (`change(false)`) and says what was done. `plan_only` stops after the
/// plan.
pub fn plan_then_commit(
    names: &Names<'_>,
    prompter: &Prompter,
    plan_only: bool,
    yes: bool,
    change: impl Fn(bool) -> Result<PolicyChange>,
) -> Result<()> {
    let style = Style::for_stdout();
    let plan = change(true)?;
    print!("{}", render_change(&plan, names, style));
    if plan_only {
        return Ok(());
    }
    if !prompter.confirm(yes, "Apply this change?")? {
        return crate::cancelled();
    }
    let done = change(false)?;
    match &done.rule {
        Some(rule) => println!("rule {}: {}", rule.id, names.rule(&rule.contents)),
        None => println!("done"),
    }
    Ok(())
}

/// The id `delete-rule` acts on: given, else asked.
pub fn rule_id(prompter: &Prompter, given: Option<i64>) -> Result<i64> {
    prompter.ask(
        given.map(|id| id.to_string()).as_deref(),
        "ID",
        "Rule id (list-rules shows them)",
        None,
        |text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| anyhow!("a rule id is a number (list-rules shows them)"))
        },
    )
}
