//! API keys: an organization's credentials for scripts. The secret is stored only as a hash,
//! found through its public `lookup` part.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::{accounts, api_key_deployments, api_keys, deployments};
use crate::domain::ids::{ApiKeyId, DeploymentId};
use crate::domain::roles::{KEY_READ, KEY_WRITE};
use crate::domain::{AccountId, OrgId, PermissionSet};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub lookup: String,
    pub secret_hash: String,
    pub permissions: String,
    pub scope: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by: Option<AccountId>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// The permissions chosen one by one; None for the presets named by `permissions`.
    pub grants: Option<PermissionSet>,
}

impl ApiKey {
    /// What the key may do (its scope aside).
    pub fn permission_set(&self) -> PermissionSet {
        match (self.grants, self.permissions.as_str()) {
            (Some(grants), _) => grants,
            (None, "read") => KEY_READ,
            (None, "write") => KEY_WRITE,
            (None, "read_write") => KEY_READ.union(KEY_WRITE),
            (None, _) => PermissionSet::EMPTY,
        }
    }

    /// What the key stands for when a change it makes is weighed against what the change
    /// gives or touches (nobody gives or touches more than they hold). A key with chosen
    /// permissions stands for exactly those; a preset that may write stands for every
    /// permission but ownership, as it always has: its reads are withheld from its requests,
    /// not from its standing.
    pub fn authority(&self) -> PermissionSet {
        match (self.grants, self.permissions.as_str()) {
            (Some(grants), _) => grants,
            (None, "write" | "read_write") => KEY_READ.union(KEY_WRITE),
            _ => KEY_READ,
        }
    }

    /// `read`, `write`, `read_write`, or `custom` for a key whose permissions were chosen.
    pub fn preset(&self) -> &str {
        if self.grants.is_some() { "custom" } else { &self.permissions }
    }

    pub fn all_deployments(&self) -> bool {
        self.scope == "all"
    }

    /// Usable now: not revoked, not expired.
    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }

    pub fn status(&self, now: NaiveDateTime) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

pub fn insert(conn: &mut DbConn, row: &ApiKey, scoped: &[DeploymentId]) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(row).execute(conn)?;
    for d in scoped {
        diesel::insert_into(api_key_deployments::table)
            .values((api_key_deployments::api_key_id.eq(row.id), api_key_deployments::deployment_id.eq(d)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_by_lookup(conn: &mut DbConn, lookup: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table.filter(api_keys::lookup.eq(lookup)).select(ApiKey::as_select()).first(conn).optional()
}

pub fn find(conn: &mut DbConn, org: OrgId, id: ApiKeyId) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::org_id.eq(org))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

/// The keys of `org` made by `account` that still work at `now` (not revoked, not expired),
/// newest first.
pub fn live_created_by(conn: &mut DbConn, org: OrgId, account: AccountId, now: NaiveDateTime) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::org_id.eq(org))
        .filter(api_keys::created_by.eq(account))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .select(ApiKey::as_select())
        .load(conn)
}

/// The deployments a key scoped to `selected` may reach.
pub fn scoped_deployments(conn: &mut DbConn, key: ApiKeyId) -> QueryResult<Vec<DeploymentId>> {
    api_key_deployments::table
        .filter(api_key_deployments::api_key_id.eq(key))
        .select(api_key_deployments::deployment_id)
        .load(conn)
}

pub fn revoke(conn: &mut DbConn, id: ApiKeyId, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)
}

/// Records use; callers only do so when the stored value is more than a minute old.
pub fn touch(conn: &mut DbConn, id: ApiKeyId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id)).set(api_keys::last_used_at.eq(Some(at))).execute(conn).map(|_| ())
}

/// A key as the list shows it.
#[derive(Debug, Clone)]
pub struct ListedKey {
    pub key: ApiKey,
    pub created_by_email: Option<String>,
    pub deployments: Vec<String>,
    /// Whether the key holds a permission its creator no longer holds (set by the operations).
    pub exceeds_creator: bool,
}

pub fn list(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<ListedKey>> {
    let rows: Vec<(ApiKey, Option<String>)> = api_keys::table
        .left_join(accounts::table.on(api_keys::created_by.eq(accounts::id.nullable())))
        .filter(api_keys::org_id.eq(org))
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .select((ApiKey::as_select(), accounts::email.nullable()))
        .load(conn)?;
    let scoped: Vec<(ApiKeyId, String)> = api_key_deployments::table
        .inner_join(deployments::table)
        .filter(deployments::org_id.eq(org))
        .select((api_key_deployments::api_key_id, deployments::name))
        .order(deployments::name.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(key, created_by_email)| {
            let deployments = scoped.iter().filter(|(k, _)| *k == key.id).map(|(_, n)| n.clone()).collect();
            ListedKey { key, created_by_email, deployments, exceeds_creator: false }
        })
        .collect())
}
