//! The admin commands of the port and protocol policy through the API: `add-rule`,
//! `delete-rule`, `list-rules`, `isolate-cidr`, `explain` (servers advertising `policy`).

use std::net::IpAddr;

use wiremesh_shared::policy::{RuleContents, Transport};
use wiremesh_shared::wire::{Explanation, PolicyChange, PolicyListing};
use wiremesh_shared::RuleId;

use super::{Admin, AdminError};
use crate::api::ApiError;

impl Admin {
    /// What the server answered, with "the server has no policy" for a 404.
    fn policy_call<T>(&self, action: &str, call: Result<T, ApiError>) -> Result<T, AdminError> {
        call.map_err(|source| match source.status() {
            Some(404) => AdminError::NoPolicy {
                iface: self.iface().clone(),
            },
            _ => AdminError::Api {
                iface: self.iface().clone(),
                action: action.to_owned(),
                source: Box::new(source),
            },
        })
    }

    pub fn policy_listing(&self) -> Result<PolicyListing, AdminError> {
        self.policy_call("list the rules", self.api.policy_listing())
    }

    /// `add-rule` (`plan`: a dry run).
    pub fn add_rule(&self, rule: &RuleContents, plan: bool) -> Result<PolicyChange, AdminError> {
        self.policy_call("add the rule", self.api.add_rule(rule, plan))
    }

    pub fn delete_rule(&self, id: RuleId, plan: bool) -> Result<PolicyChange, AdminError> {
        self.policy_call(&format!("delete rule {id}"), self.api.delete_rule(id, plan))
    }

    /// `isolate-cidr` for the CIDR `name`.
    pub fn set_isolation(
        &self,
        name: &str,
        isolated: bool,
        plan: bool,
    ) -> Result<PolicyChange, AdminError> {
        let cidrs = self.cidrs()?;
        let cidr = self.cidr_by_name(&cidrs, name)?;
        self.policy_call(
            "change the isolation",
            self.api.set_isolation(cidr.id, isolated, plan),
        )
    }

    pub fn explain(
        &self,
        src: IpAddr,
        dst: IpAddr,
        transport: Transport,
    ) -> Result<Explanation, AdminError> {
        self.policy_call("explain", self.api.explain(src, dst, transport))
    }
}
