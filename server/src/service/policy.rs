//! The port and protocol policy: rules and isolation (admin), clients' reports of what they
//! enforce, the listing with each host's enforcement, dry-run plans and `explain`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use wiremesh_shared::policy::access::plan_change;
use wiremesh_shared::policy::{
    check_new_rule, decide, Destination, HostRole, HostRuleset, Packet, Policy, PolicyError, Rule,
    RuleContents, Scope, Source, Transport, Verdict,
};
use wiremesh_shared::wire::{
    ClientReport, Enforcement, Explanation, HostEnforcement, Peer, PolicyChange, PolicyListing,
    PolicyReport, MAX_REPORT_ERROR_BYTES,
};
use wiremesh_shared::{AssociationId, CidrId, PeerId, RuleId};

use super::{lock, Service};
use crate::error::{Invalid, Result, ServiceError};
use crate::model::Model;

/// Most receivers a warning names before it says "and N more".
const WARN_NAMES: usize = 10;

/// Reads the stored reports; one that no longer parses is dropped (its client reports again).
pub(super) fn parse_reports(stored: HashMap<PeerId, String>) -> HashMap<PeerId, ClientReport> {
    stored
        .into_iter()
        .filter_map(|(id, text)| match serde_json::from_str(&text) {
            Ok(report) => Some((id, report)),
            Err(error) => {
                tracing::warn!(peer = %id, %error, "dropping an unreadable client report");
                None
            }
        })
        .collect()
}

impl Service {
    /// The compiled ruleset of the server's own interface.
    pub fn server_ruleset(&self) -> Option<HostRuleset> {
        self.model().server_ruleset(self.options.api_port)
    }

    /// The role and ruleset the server compiles for `host` in `model`.
    fn host_ruleset(&self, model: &Model, host: &Peer) -> (HostRole, Arc<HostRuleset>) {
        if host.id == model.roles().server_peer {
            let role = HostRole::Server {
                api_port: self.options.api_port,
            };
            let ruleset = model
                .server_ruleset(self.options.api_port)
                .unwrap_or_else(|| HostRuleset::open(role));
            (role, Arc::new(ruleset))
        } else {
            (HostRole::Peer, model.peer_ruleset(host))
        }
    }

    /// Whether `host` enforces what the server compiles for it in `model`.
    fn enforcement(
        &self,
        model: &Model,
        host: &Peer,
        reports: &HashMap<PeerId, ClientReport>,
    ) -> Enforcement {
        let not = |reason: &str| Enforcement::NotEnforced {
            reason: reason.to_owned(),
        };
        match reports.get(&host.id).map(|r| &r.policy) {
            None => not("no report: an innernet client, an older wiremesh client, or one that has not synced yet"),
            Some(PolicyReport::Off) => not("enforcement is turned off on the host"),
            Some(PolicyReport::Failed { error, .. }) => not(&format!("programming the firewall failed: {error}")),
            Some(PolicyReport::Enforced { digest }) => {
                if *digest == self.host_ruleset(model, host).1.digest() {
                    Enforcement::Enforced
                } else {
                    Enforcement::Stale
                }
            }
        }
    }

    /// `GET /v2/admin/rules`.
    pub fn policy_listing(&self) -> PolicyListing {
        let model = self.model();
        let reports = lock(&self.reports).clone();
        let hosts = model
            .peers()
            .iter()
            .filter(|p| p.is_redeemed && !p.is_disabled)
            .map(|p| HostEnforcement {
                peer: p.id,
                enforcement: self.enforcement(&model, p, &reports),
                restricted: !self.host_ruleset(&model, p).1.is_open(),
            })
            .collect();
        PolicyListing {
            rules: model.policy().rules.clone(),
            isolated: model.policy().isolated.clone(),
            hosts,
        }
    }

    /// `POST /v2/user/report`: records what a client says about itself (stored only when it
    /// changed, so a daemon reporting after every sync costs nothing).
    pub fn record_report(&self, caller: &Peer, mut report: ClientReport) -> Result<()> {
        Self::require_user(caller)?;
        if let PolicyReport::Failed { error, .. } = &mut report.policy {
            if error.len() > MAX_REPORT_ERROR_BYTES {
                let mut cut = MAX_REPORT_ERROR_BYTES;
                while !error.is_char_boundary(cut) {
                    cut -= 1;
                }
                error.truncate(cut);
            }
        }
        report.features.truncate(64);
        report.version.truncate(64);
        if lock(&self.reports).get(&caller.id) == Some(&report) {
            return Ok(());
        }
        let text = serde_json::to_string(&report).expect("a report serializes");
        lock(&self.writer).save_report(caller.id, &text)?;
        tracing::info!(peer = %caller.name, policy = ?report.policy, "client report");
        lock(&self.reports).insert(caller.id, report);
        Ok(())
    }

    /// Records what the server's own interface enforces (its maintenance loop calls this
    /// after programming the table), so listings show the server like any host.
    pub fn record_own_enforcement(&self, policy: PolicyReport) -> Result<()> {
        let model = self.model();
        let Some(server) = model.server_peer().cloned() else {
            return Ok(());
        };
        let report = ClientReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            features: vec![wiremesh_shared::wire::POLICY_FEATURE.to_owned()],
            policy,
        };
        if lock(&self.reports).get(&server.id) == Some(&report) {
            return Ok(());
        }
        let text = serde_json::to_string(&report).expect("a report serializes");
        lock(&self.writer).save_report(server.id, &text)?;
        lock(&self.reports).insert(server.id, report);
        Ok(())
    }

    /// A policy change: checked on the model, planned (who gains, who loses), committed
    /// unless `dry_run`.
    fn change_policy(
        &self,
        dry_run: bool,
        change: impl FnOnce(&Model) -> Result<Policy>,
        commit: impl FnOnce(&mut dyn crate::store::Store) -> Result<Option<Rule>>,
    ) -> Result<(Option<Rule>, PolicyChange)> {
        self.write(|model, store| {
            let after = change(model)?;
            let plan = plan_change(&model.view(), model.policy(), &after);
            let warnings = self.warnings(model, &plan);
            if dry_run {
                let change = PolicyChange {
                    rule: None,
                    committed: false,
                    plan,
                    warnings,
                };
                return Ok(((None, change), None));
            }
            let rule = commit(store)?;
            let next = model.edited(|data| data.policy = Arc::new(after));
            let change = PolicyChange {
                rule: rule.clone(),
                committed: true,
                plan,
                warnings,
            };
            Ok(((rule, change), Some(next)))
        })
    }

    /// Warnings about receivers a change concerns that do not enforce rules.
    fn warnings(
        &self,
        model: &Model,
        plan: &[wiremesh_shared::policy::access::AccessChange],
    ) -> Vec<String> {
        let reports = lock(&self.reports).clone();
        let mut ids: Vec<PeerId> = plan
            .iter()
            .flat_map(|c| c.receivers.iter().copied())
            .collect();
        ids.sort();
        ids.dedup();
        let mut names = Vec::new();
        for id in ids {
            let Some(peer) = model.peer(id) else { continue };
            let enforces = matches!(
                reports.get(&id).map(|r| &r.policy),
                Some(PolicyReport::Enforced { .. })
            );
            if !enforces {
                names.push(peer.name.to_string());
            }
        }
        if names.is_empty() {
            return Vec::new();
        }
        let count = names.len();
        let shown: Vec<String> = names.iter().take(WARN_NAMES).cloned().collect();
        let more = if count > WARN_NAMES {
            format!(" and {} more", count - WARN_NAMES)
        } else {
            String::new()
        };
        vec![format!(
            "{count} receiver(s) this change concerns do not enforce rules (innernet or older wiremesh clients, \
             nft missing or failing, or enforcement turned off): {}{more}",
            shown.join(", ")
        )]
    }

    /// `POST /v2/admin/rules` (`dry_run`: `?plan=true`).
    pub fn add_rule(&self, contents: RuleContents, dry_run: bool) -> Result<PolicyChange> {
        let mut contents = contents;
        contents.ports = wiremesh_shared::policy::normalize_ports(contents.ports);
        let stored = contents.clone();
        let (_, change) = self.change_policy(
            dry_run,
            |model| {
                check_new_rule(&model.view(), model.policy(), &contents)?;
                if let wiremesh_shared::policy::Destination::Route(net) = contents.destination {
                    // A rule toward a network nobody offers would open nothing, silently.
                    if !model.routes().routes.iter().any(|r| r.contents.net == net) {
                        return Err(wiremesh_shared::policy::PolicyError::BadParty {
                            given: format!("route:{net}"),
                            reason: "no gateway offers this network (list-routes shows the routes)"
                                .to_owned(),
                        }
                        .into());
                    }
                }
                let mut after = (**model.policy()).clone();
                // The id is the store's; for planning any unused one will do.
                let next_id = after.rules.iter().map(|r| r.id.0).max().unwrap_or(0) + 1;
                after.rules.push(Rule {
                    id: RuleId(next_id),
                    contents: contents.clone(),
                });
                Ok(after)
            },
            |store| Ok(Some(store.insert_rule(&stored)?)),
        )?;
        if let Some(rule) = &change.rule {
            // The plan numbered the rule itself; the store's id is the one that counts.
            tracing::info!(rule = %rule.id, "policy rule added");
        }
        Ok(change)
    }

    /// `DELETE /v2/admin/rules/{id}`.
    pub fn delete_rule(&self, id: RuleId, dry_run: bool) -> Result<PolicyChange> {
        let mut deleted = None;
        let (_, mut change) = self.change_policy(
            dry_run,
            |model| {
                let mut after = (**model.policy()).clone();
                let found = after
                    .rules
                    .iter()
                    .position(|r| r.id == id)
                    .ok_or(PolicyError::RuleNotFound { id })?;
                deleted = Some(after.rules.remove(found));
                Ok(after)
            },
            |store| {
                store.delete_rule(id)?;
                Ok(None)
            },
        )?;
        change.rule = deleted;
        if change.committed {
            tracing::info!(rule = %id, "policy rule deleted");
        }
        Ok(change)
    }

    /// `PUT /v2/admin/cidrs/{id}/isolation`.
    pub fn set_isolation(&self, id: CidrId, isolated: bool, dry_run: bool) -> Result<PolicyChange> {
        let (_, change) = self.change_policy(
            dry_run,
            |model| {
                if model.cidr(id).is_none() {
                    return Err(ServiceError::NotFound {
                        what: "CIDR",
                        id: id.0,
                    });
                }
                let mut after = (**model.policy()).clone();
                after.isolated.retain(|c| *c != id);
                if isolated {
                    after.isolated.push(id);
                    after.isolated.sort();
                }
                Ok(after)
            },
            |store| {
                store.set_isolated(id, isolated)?;
                Ok(None)
            },
        )?;
        if change.committed {
            tracing::info!(cidr = %id, isolated, "CIDR isolation changed");
        }
        Ok(change)
    }

    /// `GET /v2/admin/explain`: the policy's verdict on a packet from `src` opening a
    /// connection to `dst`.
    pub fn explain(&self, src: IpAddr, dst: IpAddr, transport: Transport) -> Result<Explanation> {
        let model = self.model();
        let host = model
            .peer_by_ip(dst)
            .cloned()
            .ok_or(Invalid::NoPeerAt { address: dst })?;
        let sender = model.peer_by_ip(src).map(|p| p.id);
        let role = if host.id == model.roles().server_peer {
            HostRole::Server {
                api_port: self.options.api_port,
            }
        } else {
            HostRole::Peer
        };
        let packet = Packet {
            src,
            dst,
            transport,
        };
        let verdict = decide(&model.view(), model.policy(), &host, role, &packet);
        let reports = lock(&self.reports).clone();
        let enforcement = self.enforcement(&model, &host, &reports);
        let find = |id: RuleId| model.policy().rules.iter().find(|r| r.id == id).cloned();
        let (reason, rule, restricted_by) = match verdict {
            Verdict::AlwaysAllowed => ("always", None, Vec::new()),
            Verdict::Unrestricted => ("unrestricted", None, Vec::new()),
            Verdict::Rule(id) => ("rule", find(id), Vec::new()),
            Verdict::Denied { restricted } => ("denied", None, restricted),
        };
        Ok(Explanation {
            host: host.id,
            sender,
            allowed: reason != "denied",
            reason: reason.to_owned(),
            rule,
            restricted_by,
            enforcement,
        })
    }

    /// Refuses to delete an association that rules are attached to.
    pub(super) fn check_association_unnamed(model: &Model, id: AssociationId) -> Result<()> {
        let ids: Vec<RuleId> = model
            .policy()
            .rules
            .iter()
            .filter(|r| r.contents.scope == Scope::Association(id))
            .map(|r| r.id)
            .collect();
        named_by(format!("association {id}"), &ids)
    }

    /// Refuses to delete a peer that rules name (as source or destination).
    pub(super) fn check_peer_unnamed(model: &Model, id: PeerId, name: &str) -> Result<()> {
        let ids: Vec<RuleId> = model
            .policy()
            .rules
            .iter()
            .filter(|r| {
                r.contents.source == Source::Peer(id)
                    || r.contents.destination == Destination::Peer(id)
            })
            .map(|r| r.id)
            .collect();
        named_by(format!("peer {name:?}"), &ids)
    }

    /// Refuses to delete a CIDR that rules name or that is isolated.
    pub(super) fn check_cidr_unnamed(model: &Model, id: CidrId) -> Result<()> {
        let ids: Vec<RuleId> = model
            .policy()
            .rules
            .iter()
            .filter(|r| {
                let c = &r.contents;
                c.scope == Scope::Cidr(id)
                    || c.source == Source::Cidr(id)
                    || c.destination == Destination::Cidr(id)
            })
            .map(|r| r.id)
            .collect();
        named_by(format!("CIDR {id}"), &ids)?;
        if model.policy().isolated.contains(&id) {
            return Err(Invalid::IsolatedCidr { id: id.0 }.into());
        }
        Ok(())
    }
}

fn named_by(what: String, ids: &[RuleId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Err(Invalid::NamedByRules {
        what,
        rules: ids.len(),
        ids: ids
            .iter()
            .map(|id| format!("rule {id}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
    .into())
}
