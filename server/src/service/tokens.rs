//! The automation API's tokens: made and revoked by admins on the server's host, checked on
//! every request (straight from the database, so a revocation holds from the next request).

use std::time::{Duration, UNIX_EPOCH};

use super::{lock, Service};
use crate::error::{Invalid, Result};
use crate::store::StoredToken;
use crate::tokens::{self, Rejection, Scope};

impl Service {
    /// Makes a token; returns it (the only time its secret exists outside the caller's
    /// hands) with its stored record.
    pub fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
        expires_in: Option<Duration>,
    ) -> Result<(String, StoredToken)> {
        tokens::check_name(name).map_err(|why| Invalid::Token { why })?;
        if scopes.is_empty() {
            return Err(Invalid::Token {
                why: "a token needs at least one scope (read, devices, peers, policy, admin)"
                    .into(),
            }
            .into());
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        let now = self.unix_now();
        let expires_at = match expires_in {
            None => None,
            Some(d) => Some(now.checked_add(d.as_secs()).ok_or_else(|| Invalid::Token {
                why: "the expiry is too far in the future".into(),
            })?),
        };
        let (secret, hash) = tokens::new_secret();
        let stored = {
            let mut store = lock(&self.writer);
            store.set_audit_actor(&crate::audit::current().to_string(), self.now());
            store.insert_token(name, &hash, &names, now, expires_at)?
        };
        tracing::info!(token = %name, scopes = %names.join(","), "token created");
        Ok((tokens::token_text(stored.id, &secret), stored))
    }

    /// Revokes token `name`; returns whether it was still valid.
    pub fn revoke_token(&self, name: &str) -> Result<bool> {
        let now = self.unix_now();
        let changed = {
            let mut store = lock(&self.writer);
            store.set_audit_actor(&crate::audit::current().to_string(), self.now());
            match store.revoke_token(name, now) {
                Err(crate::store::StoreError::NotFound { .. }) => {
                    return Err(Invalid::Token {
                        why: format!(
                            "no token named {name:?}; `wiremesh-server list-tokens` lists them"
                        ),
                    }
                    .into())
                }
                other => other?,
            }
        };
        if changed {
            tracing::info!(token = %name, "token revoked");
        }
        Ok(changed)
    }

    /// Every token (never a secret).
    pub fn tokens(&self) -> Result<Vec<StoredToken>> {
        Ok(lock(&self.writer).tokens()?)
    }

    /// Checks a presented token (`None`: none was sent) for an operation that needs
    /// `needed`; returns the token's record.
    pub fn check_token(
        &self,
        presented: Option<&str>,
        needed: Scope,
    ) -> std::result::Result<StoredToken, TokenCheck> {
        let presented = presented.ok_or(Rejection::Missing)?;
        let (id, secret) = tokens::parse(presented).ok_or(Rejection::Malformed)?;
        let found = lock(&self.writer).token_secret(id)?;
        let Some((token, hash)) = found else {
            return Err(Rejection::Wrong.into());
        };
        if !tokens::secret_matches(secret, &hash) {
            return Err(Rejection::Wrong.into());
        }
        let name = token.name.clone();
        if token.revoked_at.is_some() {
            return Err(Rejection::Revoked { name }.into());
        }
        if token.expires_at.is_some_and(|at| at <= self.unix_now()) {
            return Err(Rejection::Expired { name }.into());
        }
        let held: Vec<Scope> = token.scopes.iter().filter_map(|s| s.parse().ok()).collect();
        if !needed.granted_by(&held) {
            return Err(Rejection::Scope {
                name,
                needed,
                held: token.scopes.join(", "),
            }
            .into());
        }
        Ok(token)
    }

    fn unix_now(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Why a token check failed: the token, or the database.
#[derive(Debug, thiserror::Error)]
pub enum TokenCheck {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
