//! The admin routes for CIDRs and associations.

use wiremesh_shared::cidr::{check_cidr_name, check_delete_cidr, check_new_cidr};
use wiremesh_shared::wire::{Association, AssociationContents, Cidr, CidrContents};
use wiremesh_shared::{AssociationId, CidrId};

use super::Service;
use crate::error::{Invalid, Result, ServiceError};

impl Service {
    pub fn cidrs(&self) -> Vec<Cidr> {
        self.model().cidrs().to_vec()
    }

    /// `POST /v1/admin/cidrs`.
    pub fn create_cidr(&self, contents: CidrContents) -> Result<Cidr> {
        self.write(|model, store| {
            check_new_cidr(model.cidrs(), model.peers(), &contents)?;
            let cidr = store.insert_cidr(&contents)?;
            let next = model.edited(|data| data.cidrs.push(cidr.clone()));
            tracing::info!(cidr = %cidr.cidr, name = %cidr.name, "CIDR created");
            Ok((cidr, Some(next)))
        })
    }

    /// `PUT /v1/admin/cidrs/{id}`: only the name changes.
    pub fn rename_cidr(&self, id: CidrId, name: String) -> Result<()> {
        self.write(|model, store| {
            let current = model.cidr(id).ok_or(ServiceError::NotFound {
                what: "CIDR",
                id: id.0,
            })?;
            check_cidr_name(&name)?;
            if current.name == name {
                return Ok(((), None));
            }
            if model.cidr_by_name(&name).is_some() {
                return Err(ServiceError::Conflict {
                    what: format!("a CIDR named {name:?}"),
                });
            }
            store.rename_cidr(id, &name)?;
            let next = model.edited(|data| {
                if let Some(cidr) = data.cidrs.iter_mut().find(|c| c.id == id) {
                    cidr.contents.name = name;
                }
            });
            Ok(((), Some(next)))
        })
    }

    /// `DELETE /v1/admin/cidrs/{id}`; a missing id is not an error (as innernet).
    pub fn delete_cidr(&self, id: CidrId) -> Result<()> {
        self.write(|model, store| {
            if model.cidr(id).is_none() {
                return Ok(((), None));
            }
            Self::check_cidr_unnamed(model, id)?;
            check_delete_cidr(
                model.cidrs(),
                model.peers(),
                model.associations(),
                &model.roles(),
                id,
            )?;
            store.delete_cidr(id)?;
            let next = model.edited(|data| data.cidrs.retain(|c| c.id != id));
            Ok(((), Some(next)))
        })
    }

    // ---- admin: associations ------------------------------------------------------------

    pub fn associations(&self) -> Vec<Association> {
        self.model().associations().to_vec()
    }

    /// `POST /v1/admin/associations`.
    pub fn create_association(&self, contents: AssociationContents) -> Result<Association> {
        self.write(|model, store| {
            let (a, b) = (contents.cidr_id_1, contents.cidr_id_2);
            if a == b {
                return Err(Invalid::SelfAssociation.into());
            }
            for id in [a, b] {
                if model.cidr(id).is_none() {
                    return Err(ServiceError::Invalid(Invalid::UnknownCidr { id: id.0 }));
                }
            }
            let exists = model.associations().iter().any(|x| {
                (x.cidr_id_1 == a && x.cidr_id_2 == b) || (x.cidr_id_1 == b && x.cidr_id_2 == a)
            });
            if exists {
                return Err(ServiceError::Conflict {
                    what: "an association between these CIDRs".into(),
                });
            }
            let association = store.insert_association(&contents)?;
            let next = model.edited(|data| data.associations.push(association.clone()));
            Ok((association, Some(next)))
        })
    }

    /// `DELETE /v1/admin/associations/{id}`; a missing id is not an error (as innernet).
    pub fn delete_association(&self, id: AssociationId) -> Result<()> {
        self.write(|model, store| {
            if !model.associations().iter().any(|a| a.id == id) {
                return Ok(((), None));
            }
            Self::check_association_unnamed(model, id)?;
            store.delete_association(id)?;
            let next = model.edited(|data| data.associations.retain(|a| a.id != id));
            Ok(((), Some(next)))
        })
    }
}
