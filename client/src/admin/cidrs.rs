//! CIDR and association admin commands: `add-cidr`, `rename-cidr`, `delete-cidr`,
//! `add-association`, `delete-association`, `list-associations`.
//!
//! CIDRs are named by name; the rules of `wiremesh_shared::cidr` are checked before anything
//! is sent, so a mistake is explained instead of answered with a bare 400.

use std::fmt;

use ipnet::IpNet;
use wiremesh_shared::acl::NetworkRoles;
use wiremesh_shared::cidr::{check_cidr_name, check_delete_cidr, check_new_cidr};
use wiremesh_shared::wire::{AssociationContents, Cidr, CidrContents};
use wiremesh_shared::AssociationId;

use super::{Admin, AdminError};

/// A CIDR to add, every choice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCidrOptions {
    pub name: String,
    /// Without host bits, e.g. `10.42.1.0/24`.
    pub cidr: IpNet,
    /// Name of the parent CIDR: the closest existing CIDR containing `cidr`.
    pub parent: String,
}

/// An association with its CIDRs' names; displays as `<id>: <name1> <=> <name2>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationView {
    pub id: AssociationId,
    pub first: String,
    pub second: String,
}

impl fmt::Display for AssociationView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} <=> {}", self.id, self.first, self.second)
    }
}

/// Whether a rename changed anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrRenameOutcome {
    Unchanged(Cidr),
    Renamed(Cidr),
}

impl Admin {
    /// `add-cidr`.
    pub fn add_cidr(&self, options: &AddCidrOptions) -> Result<Cidr, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let parent = self.cidr_by_name(&cidrs, &options.parent)?;
        let contents = CidrContents {
            name: options.name.clone(),
            cidr: options.cidr,
            parent: Some(parent.id),
        };
        let action = format!("add CIDR {:?} ({})", options.name, options.cidr);
        check_new_cidr(&cidrs, &peers, &contents).map_err(|source| AdminError::Cidr {
            action: action.clone(),
            source,
        })?;
        self.api
            .create_cidr(&contents)
            .map_err(self.api_error(action))
    }

    /// `rename-cidr`.
    pub fn rename_cidr(&self, name: &str, new_name: &str) -> Result<CidrRenameOutcome, AdminError> {
        let cidrs = self.cidrs()?;
        let mut cidr = self.cidr_by_name(&cidrs, name)?.clone();
        if cidr.name == new_name {
            return Ok(CidrRenameOutcome::Unchanged(cidr));
        }
        let action = format!("rename CIDR {name:?} to {new_name:?}");
        check_cidr_name(new_name).map_err(|source| AdminError::Cidr {
            action: action.clone(),
            source,
        })?;
        if cidrs.iter().any(|c| c.name == new_name) {
            let source = wiremesh_shared::cidr::CidrError::DuplicateName {
                name: new_name.to_owned(),
            };
            return Err(AdminError::Cidr { action, source });
        }
        cidr.contents.name = new_name.to_owned();
        self.api
            .update_cidr(cidr.id, &cidr.contents)
            .map_err(self.api_error(action))?;
        Ok(CidrRenameOutcome::Renamed(cidr))
    }

    /// `delete-cidr`: only a CIDR without peers (disabled and invited ones count), children
    /// or associations, and never the root or the server's CIDR.
    pub fn delete_cidr(&self, name: &str) -> Result<Cidr, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let associations = self.associations()?;
        let cidr = self.cidr_by_name(&cidrs, name)?.clone();
        let server_ip = self.server_ip();
        let defaults = NetworkRoles::CREATED_BY_NEW;
        let roles = NetworkRoles {
            infra_cidr: self
                .infra_cidr(&cidrs, &peers)
                .unwrap_or(defaults.infra_cidr),
            server_peer: peers
                .iter()
                .find(|p| p.ip == server_ip)
                .map_or(defaults.server_peer, |p| p.id),
        };
        let action = format!("delete CIDR {name:?}");
        check_delete_cidr(&cidrs, &peers, &associations, &roles, cidr.id).map_err(|source| {
            AdminError::Cidr {
                action: action.clone(),
                source,
            }
        })?;
        self.api
            .delete_cidr(cidr.id)
            .map_err(self.api_error(action))?;
        Ok(cidr)
    }

    /// `add-association`: lets the peers of the CIDRs `first` and `second` (and of their
    /// descendants) see each other.
    pub fn add_association(&self, first: &str, second: &str) -> Result<(), AdminError> {
        let cidrs = self.cidrs()?;
        let a = self.cidr_by_name(&cidrs, first)?;
        let b = self.cidr_by_name(&cidrs, second)?;
        if a.id == b.id {
            return Err(AdminError::SameCidr {
                name: a.name.clone(),
            });
        }
        let associations = self.associations()?;
        let exists = associations.iter().any(|assoc| {
            (assoc.cidr_id_1, assoc.cidr_id_2) == (a.id, b.id)
                || (assoc.cidr_id_1, assoc.cidr_id_2) == (b.id, a.id)
        });
        if exists {
            return Err(AdminError::AlreadyAssociated {
                first: a.name.clone(),
                second: b.name.clone(),
            });
        }
        let contents = AssociationContents {
            cidr_id_1: a.id,
            cidr_id_2: b.id,
        };
        self.api
            .create_association(&contents)
            .map_err(self.api_error(format!("associate CIDRs {first:?} and {second:?}")))
    }

    /// `delete-association`: removes the association between `first` and `second` (in either
    /// order) and returns it.
    pub fn delete_association(
        &self,
        first: &str,
        second: &str,
    ) -> Result<AssociationView, AdminError> {
        let cidrs = self.cidrs()?;
        let a = self.cidr_by_name(&cidrs, first)?;
        let b = self.cidr_by_name(&cidrs, second)?;
        let associations = self.associations()?;
        let found = associations.iter().find(|assoc| {
            (assoc.cidr_id_1, assoc.cidr_id_2) == (a.id, b.id)
                || (assoc.cidr_id_1, assoc.cidr_id_2) == (b.id, a.id)
        });
        let Some(association) = found else {
            return Err(AdminError::NotAssociated {
                iface: self.iface.clone(),
                first: a.name.clone(),
                second: b.name.clone(),
            });
        };
        self.api
            .delete_association(association.id)
            .map_err(self.api_error(format!(
                "delete the association of {first:?} and {second:?}"
            )))?;
        Ok(AssociationView {
            id: association.id,
            first: a.name.clone(),
            second: b.name.clone(),
        })
    }

    /// `list-associations`, by id.
    pub fn list_associations(&self) -> Result<Vec<AssociationView>, AdminError> {
        let cidrs = self.cidrs()?;
        let mut associations = self.associations()?;
        associations.sort_by_key(|assoc| assoc.id);
        let name = |id| {
            cidrs
                .iter()
                .find(|c| c.id == id)
                .map_or_else(|| format!("#{id}"), |c| c.name.clone())
        };
        Ok(associations
            .iter()
            .map(|assoc| AssociationView {
                id: assoc.id,
                first: name(assoc.cidr_id_1),
                second: name(assoc.cidr_id_2),
            })
            .collect())
    }
}
