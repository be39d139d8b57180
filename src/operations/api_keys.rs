//! API keys: create (the secret shown once), revoke, and recognise a presented secret.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::crypto;
use crate::storage::{Db, DbConn};
use crate::domain::ids::{ApiKeyId, DeploymentId};
use crate::domain::{AccountId, Invalid, MembershipStatus, OrgId, Permission, PermissionSet, names};
use crate::operations::access::{lock_and_authorize, permissions_of};
use crate::operations::{Ctx, OpError, all_valid};
pub use crate::storage::api_keys::{ApiKey, ListedKey};
use crate::storage::api_keys;
use crate::storage::deployments::DeploymentListRow;
use crate::storage::audit::NewEvent;
use crate::storage::{self, audit, deployments, members};

/// Every secret starts with this, so that it is recognisable (and findable by scanners).
pub const PREFIX: &str = "stw_";
/// The longest lifetime a key can be given.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CreateInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub permissions: String,
    #[serde(default)]
    pub lifetime_days: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub deployments: Vec<String>,
    /// With `permissions = custom`: the permission names, repeated.
    #[serde(default)]
    pub grants: Vec<String>,
}

/// What a new key may do: a preset (`read`, `write`, `read_write`) or, with `custom`, the
/// chosen permissions. Answers the `permissions` column's value and the grants, if chosen.
fn parse_permissions(raw: &str, grants: &[String]) -> Result<(&'static str, Option<PermissionSet>), Invalid> {
    match raw.trim() {
        "read" => Ok(("read", None)),
        "write" => Ok(("write", None)),
        "read_write" => Ok(("read_write", None)),
        "custom" => {
            let set = PermissionSet::parse_names(grants.iter().map(String::as_str))
                .map_err(|name| Invalid::new("grants", format!("{name:?} is not a permission.")))?;
            if set.contains(Permission::OrgOwner) {
                return Err(Invalid::new("grants", "An API key never holds org.owner: ownership is a person's."));
            }
            if set.is_empty() {
                return Err(Invalid::new("grants", "Choose at least one permission for the key."));
            }
            // the column keeps which kinds of request the grants cover
            let (reads, writes) = (set.iter().any(Permission::is_read), set.iter().any(|p| !p.is_read()));
            let kind = match (reads, writes) {
                (true, false) => "read",
                (false, true) => "write",
                _ => "read_write",
            };
            Ok((kind, Some(set)))
        }
        _ => Err(Invalid::new("permissions", "Choose read, write, or read and write. Or choose custom, and the permissions one by one.")),
    }
}

fn parse_lifetime(raw: &str) -> Result<Option<i64>, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "never" {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(Invalid::new("lifetime_days", format!("Enter a number of days from 1 to {MAX_LIFETIME_DAYS}, or leave it empty for a key that never expires."))),
    }
}

fn parse_scope(raw: &str, selected: &[String]) -> Result<(&'static str, Vec<DeploymentId>), Invalid> {
    match raw.trim() {
        "all" | "" => Ok(("all", Vec::new())),
        "selected" => {
            let ids: Option<Vec<DeploymentId>> = selected.iter().map(|s| s.trim().parse().ok()).collect();
            // a deployment listed twice (a form posted twice over, a script) is scoped once
            let ids = ids.map(|mut ids| {
                let mut seen = std::collections::HashSet::new();
                ids.retain(|id| seen.insert(*id));
                ids
            });
            match ids {
                Some(ids) if !ids.is_empty() => Ok(("selected", ids)),
                Some(_) => Err(Invalid::new("deployments", "Choose at least one deployment, or give the key every deployment.")),
                None => Err(Invalid::new("deployments", "Choose deployments from the list.")),
            }
        }
        _ => Err(Invalid::new("scope", "Choose all deployments or selected ones.")),
    }
}

/// The secret of a new key: `stw_`, 16 hex characters that find the key, `_`, and 32 random
/// bytes in URL-safe base64.
fn new_secret() -> (String, String, String) {
    let lookup: String = crypto::random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
    let secret = crypto::random_token();
    let full = format!("{PREFIX}{lookup}_{secret}");
    let hash = crypto::sha256_hex(secret.as_bytes());
    (full, lookup, hash)
}

/// The lookup and secret parts of a presented key, if it has the shape of one.
fn split_secret(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (lookup, secret) = rest.split_once('_')?;
    (lookup.len() == 16 && lookup.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43).then_some((lookup, secret))
}

/// Creates a key; returns it and its secret, which is never stored and never shown again.
pub fn create(db: &Db, ctx: &Ctx, org: OrgId, input: &CreateInput) -> Result<(ApiKey, String), OpError> {
    let name = names::parse_name("name", &input.name, 100);
    let permissions = parse_permissions(&input.permissions, &input.grants);
    let lifetime = parse_lifetime(&input.lifetime_days);
    let scope = parse_scope(&input.scope, &input.deployments);
    all_valid([
        name.as_ref().map(|_| ()).map_err(Clone::clone),
        permissions.as_ref().map(|_| ()).map_err(Clone::clone),
        lifetime.as_ref().map(|_| ()).map_err(Clone::clone),
        scope.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    let (name, (permissions, grants), lifetime, (scope, scoped)) = (name?, permissions?, lifetime?, scope?);
    let (secret, lookup, hash) = new_secret();
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::ApiKeysManage, None)?;
        let mut names_of_scoped = Vec::with_capacity(scoped.len());
        for d in &scoped {
            let found = deployments::find(conn, org, *d)?
                .ok_or_else(|| Invalid::new("deployments", "Choose deployments of this organization."))?;
            names_of_scoped.push(found.name);
        }
        let now = storage::now();
        let row = ApiKey {
            id: ApiKeyId::new(),
            org_id: org,
            name: name.clone(),
            lookup: lookup.clone(),
            secret_hash: hash.clone(),
            permissions: permissions.to_string(),
            scope: scope.to_string(),
            expires_at: lifetime.map(|d| now + Duration::days(d)),
            created_by: ctx.actor.account(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            grants,
        };
        // a key never holds more than its creator
        let lacking = held.lacking(row.permission_set());
        if !lacking.is_empty() {
            let names = lacking.essential().map(Permission::as_str).collect::<Vec<_>>().join(", ");
            let field = if grants.is_some() { "grants" } else { "permissions" };
            return Err(Invalid::new(field, format!("A key cannot hold permissions you do not hold yourself: {names}.")).into());
        }
        api_keys::insert(conn, &row, &scoped)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("api_key.created").target(name.clone()).details(json!({
                "name": name,
                "prefix": format!("{PREFIX}{lookup}"),
                "permissions": row.preset(),
                "grants": row.permission_set().essential().map(Permission::as_str).collect::<Vec<_>>(),
                "scope": scope,
                "deployments": names_of_scoped,
                "expires_at": row.expires_at.map(|e| e.and_utc().to_rfc3339()),
            })),
            now,
        )?;
        Ok((row, secret.clone()))
    })
}

pub fn revoke(db: &Db, ctx: &Ctx, org: OrgId, id: ApiKeyId) -> Result<String, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::ApiKeysManage, None)?;
        let key = api_keys::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        if key.revoked_at.is_some() {
            return Err(OpError::Conflict("This key was already revoked.".into()));
        }
        revoke_within(conn, ctx, org, &key, storage::now())?;
        Ok(key.name)
    })
}

/// Revokes `key` and records `api_key.revoked`, inside the caller's transaction (which has
/// authorized the actor and checked the key).
pub(crate) fn revoke_within(conn: &mut DbConn, ctx: &Ctx, org: OrgId, key: &ApiKey, now: NaiveDateTime) -> Result<(), OpError> {
    api_keys::revoke(conn, key.id, now)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("api_key.revoked")
            .target(key.name.clone())
            .details(json!({ "name": key.name, "prefix": format!("{PREFIX}{}", key.lookup) })),
        now,
    )?;
    Ok(())
}

/// A key that presented a valid secret.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub key: ApiKey,
    /// The deployments of a key scoped to selected ones.
    pub deployments: Vec<DeploymentId>,
}

/// Why a presented key is refused (all answered 401, with these words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Unknown,
    Revoked,
    Expired,
}

const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// The key behind a presented secret: one indexed lookup by its public part, then a
/// constant-time comparison of the secret's hash. Revocation and expiry take effect at once.
pub fn authenticate(db: &Db, presented: &str) -> Result<Result<Authenticated, Refused>, OpError> {
    let Some((lookup, secret)) = split_secret(presented.trim()) else { return Ok(Err(Refused::Malformed)) };
    let mut conn = db.conn()?;
    let Some(key) = api_keys::find_by_lookup(&mut conn, lookup)? else { return Ok(Err(Refused::Unknown)) };
    if !crypto::constant_time_eq(crypto::sha256_hex(secret.as_bytes()).as_bytes(), key.secret_hash.as_bytes()) {
        return Ok(Err(Refused::Unknown));
    }
    let now = storage::now();
    if key.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    if key.expires_at.is_some_and(|e| e <= now) {
        return Ok(Err(Refused::Expired));
    }
    if key.last_used_at.is_none_or(|t| now - t >= LAST_USED_RESOLUTION) {
        api_keys::touch(&mut conn, key.id, now)?;
    }
    let deployments = if key.all_deployments() { Vec::new() } else { api_keys::scoped_deployments(&mut conn, key.id)? };
    Ok(Ok(Authenticated { key, deployments }))
}


/// What the API keys page shows: the organization's keys, and the deployments a new key can
/// be scoped to (the first 500 by name).
pub fn page(db: &Db, org: OrgId) -> Result<(Vec<ListedKey>, Vec<DeploymentListRow>), OpError> {
    let mut conn = db.conn()?;
    let mut keys = api_keys::list(&mut conn, org)?;
    // what each creator may do now: a key holding more (after a demotion, a removal) is flagged
    let mut creators: Vec<(AccountId, PermissionSet)> = Vec::new();
    for listed in &mut keys {
        let Some(creator) = listed.key.created_by else { continue };
        let now_held = match creators.iter().find(|(a, _)| *a == creator) {
            Some((_, held)) => *held,
            None => {
                let held = match members::find(&mut conn, org, creator)? {
                    Some(m) if m.status == MembershipStatus::Active => permissions_of(&mut conn, &m)?,
                    _ => PermissionSet::EMPTY,
                };
                creators.push((creator, held));
                held
            }
        };
        listed.exceeds_creator = !now_held.covers(listed.key.permission_set());
    }
    Ok((keys, deployments::list(&mut conn, org, 500, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_split_back() {
        let (secret, lookup, hash) = new_secret();
        assert!(secret.starts_with("stw_"));
        assert!(secret.len() >= 4 + 16 + 1 + 43);
        let (l, s) = split_secret(&secret).unwrap();
        assert_eq!(l, lookup);
        assert_eq!(crypto::sha256_hex(s.as_bytes()), hash);
        for bad in ["", "stw_", "sk_live_x", &secret[..secret.len() - 1], &secret.replace("stw_", "stx_")] {
            assert!(split_secret(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(parse_lifetime("").unwrap(), None);
        assert_eq!(parse_lifetime("30").unwrap(), Some(30));
        assert!(parse_lifetime("0").is_err() && parse_lifetime("-3").is_err() && parse_lifetime("x").is_err());
        assert!(parse_permissions("admin", &[]).is_err());
        assert_eq!(parse_permissions("read", &[]).unwrap(), ("read", None));
        let members = PermissionSet::of(&[Permission::MembersRead]);
        assert_eq!(parse_permissions("custom", &["members.read".into()]).unwrap(), ("read", Some(members)));
        assert_eq!(parse_permissions("custom", &["members.read".into(), "deployments.write".into()]).unwrap().0, "read_write");
        assert!(parse_permissions("custom", &[]).is_err(), "custom needs grants");
        assert!(parse_permissions("custom", &["org.owner".into()]).is_err());
        assert!(parse_permissions("custom", &["sudo".into()]).is_err());
        assert!(parse_scope("selected", &[]).is_err());
        assert!(parse_scope("selected", &["nope".into()]).is_err());
        assert!(parse_scope("some", &[]).is_err());
    }

    #[test]
    fn a_deployment_selected_twice_is_scoped_once() {
        let (a, b) = (DeploymentId::new(), DeploymentId::new());
        let typed = [a.to_string(), format!(" {b} "), a.to_string(), b.to_string()];
        assert_eq!(parse_scope("selected", &typed).unwrap(), ("selected", vec![a, b]));
    }
}
