//! `create-token`, `list-tokens`, `revoke-token`: the automation API's tokens.

use anyhow::Result;
use wiremesh_server::paths::ServerPaths;
use wiremesh_shared::timestring::format_utc;

use super::commands::open;
use super::{CreateTokenOpts, ListOpts, RevokeTokenOpts};

pub fn create_token(paths: &ServerPaths, opts: CreateTokenOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let (token, stored) = wiremesh_server::admin::create_token(
        &network,
        &opts.name,
        &opts.scopes,
        opts.expires.map(|t| t.as_duration()),
    )?;
    let expiry = stored.expires_at.map_or_else(
        || "until revoked".to_owned(),
        |at| format!("until {}", format_utc(at)),
    );
    eprintln!(
        "token {:?} made with scopes {}, valid {expiry}; it is shown only this once (only its \
         hash is kept): store it now",
        stored.name,
        stored.scopes.join(", ")
    );
    println!("{token}");
    Ok(())
}

pub fn list_tokens(paths: &ServerPaths, opts: ListOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let tokens = wiremesh_server::admin::tokens(&network)?;
    if opts.json {
        println!("{}", serde_json::json!({ "tokens": tokens }));
        return Ok(());
    }
    if tokens.is_empty() {
        println!("no tokens; `wiremesh-server create-token` makes one");
    }
    for token in &tokens {
        let state = match (token.revoked_at, token.expires_at) {
            (Some(at), _) => format!("revoked {}", format_utc(at)),
            (None, Some(at)) => format!("expires {}", format_utc(at)),
            (None, None) => "valid until revoked".to_owned(),
        };
        println!(
            "{}  scopes {}  made {}  {state}",
            token.name,
            token.scopes.join(","),
            format_utc(token.created_at)
        );
    }
    Ok(())
}

pub fn revoke_token(paths: &ServerPaths, opts: RevokeTokenOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    if wiremesh_server::admin::revoke_token(&network, &opts.name)? {
        println!(
            "token {:?} revoked: it is refused from the next request on",
            opts.name
        );
    } else {
        println!("token {:?} was revoked already; nothing changed", opts.name);
    }
    Ok(())
}
