//! Who may do what, checked inside the transaction of the change: a member through their
//! membership's role, an API key through its permissions, scope, expiry and revocation. The
//! HTML side and the JSON API both end here, so the rules are the same whichever face asks.

use crate::db::DbConn;
use crate::domain::ids::DeploymentId;
use crate::domain::{AccountId, MembershipStatus, OrgId, Permission};
use crate::ops::OpError;
use crate::store::audit::Actor;
use crate::store::{self, api_keys, members, orgs};

/// Permissions that only read.
pub fn is_read(p: Permission) -> bool {
    matches!(p, Permission::DeploymentsRead | Permission::AuditRead | Permission::MembersRead)
}

/// Permissions about one deployment (the rest are about the organization).
pub fn is_deployment_level(p: Permission) -> bool {
    matches!(p, Permission::DeploymentsRead | Permission::DeploymentsWrite)
}

/// Whether an API key with these properties may use `p`, on `deployment` when given.
/// Keys never hold `org.owner`: ownership is a person's.
pub fn key_allows(key: &api_keys::ApiKeyRow, scoped: &[String], p: Permission, deployment: Option<DeploymentId>) -> bool {
    if p == Permission::OrgOwner {
        return false;
    }
    let kind_ok = if is_read(p) { key.can_read() } else { key.can_write() };
    let scope_ok = key.all_deployments()
        || (is_deployment_level(p)
            && match deployment {
                Some(d) => scoped.contains(&d.to_db()),
                // listing is allowed (it is filtered); creating is not
                None => p == Permission::DeploymentsRead,
            });
    kind_ok && scope_ok
}

/// The account behind an actor, when it is a person.
pub fn account_of(actor: &Actor) -> Option<AccountId> {
    match actor {
        Actor::Account { id, .. } => id.parse().ok(),
        _ => None,
    }
}

/// Takes the organization's lock and checks that `actor` may still use `permission` (on
/// `deployment`, when the action is about one). A member who is no longer active, or a key
/// revoked a moment ago, is refused here even if the request was allowed in.
pub fn lock_and_authorize(
    conn: &mut DbConn,
    org: OrgId,
    actor: &Actor,
    permission: Permission,
    deployment: Option<DeploymentId>,
) -> Result<(), OpError> {
    if !orgs::lock(conn, org)? {
        return Err(OpError::NotFound);
    }
    match actor {
        Actor::Account { id, .. } => {
            let account: AccountId = id.parse().map_err(|_| OpError::NotFound)?;
            let me = members::find(conn, org, account)?
                .filter(|m| m.status == MembershipStatus::Active)
                .ok_or(OpError::NotFound)?;
            if !me.role.can(permission) {
                return Err(OpError::Forbidden(String::new()));
            }
        }
        Actor::ApiKey { id, .. } => {
            let key = api_keys::find(conn, org, id.parse().map_err(|_| OpError::NotFound)?)?.ok_or(OpError::NotFound)?;
            if !key.is_live(store::now()) {
                return Err(OpError::Forbidden("This API key has been revoked or has expired.".into()));
            }
            let scoped = if key.all_deployments() { Vec::new() } else { api_keys::scoped_deployments(conn, &key.id)? };
            if !key_allows(&key, &scoped, permission, deployment) {
                return Err(OpError::Forbidden("This API key's permissions or scope do not allow this.".into()));
            }
        }
        Actor::Invitee { .. } | Actor::System => return Err(OpError::Forbidden(String::new())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(permissions: &str, scope: &str) -> api_keys::ApiKeyRow {
        api_keys::ApiKeyRow {
            id: "k".into(),
            org_id: "o".into(),
            name: "ci".into(),
            lookup: "l".into(),
            secret_hash: "h".into(),
            permissions: permissions.into(),
            scope: scope.into(),
            expires_at: None,
            created_by: None,
            created_at: store::now(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn read_keys_read_and_write_keys_write() {
        let read = key("read", "all");
        assert!(key_allows(&read, &[], Permission::MembersRead, None));
        assert!(!key_allows(&read, &[], Permission::MembersManage, None));
        let write = key("write", "all");
        assert!(!key_allows(&write, &[], Permission::AuditRead, None));
        assert!(key_allows(&write, &[], Permission::MembersManage, None));
        assert!(!key_allows(&key("read_write", "all"), &[], Permission::OrgOwner, None));
    }

    #[test]
    fn scoped_keys_reach_only_their_deployments() {
        let d = DeploymentId::new();
        let scoped = vec![d.to_db()];
        let k = key("read_write", "selected");
        assert!(key_allows(&k, &scoped, Permission::DeploymentsWrite, Some(d)));
        assert!(!key_allows(&k, &scoped, Permission::DeploymentsWrite, Some(DeploymentId::new())));
        assert!(!key_allows(&k, &scoped, Permission::DeploymentsWrite, None), "cannot create");
        assert!(key_allows(&k, &scoped, Permission::DeploymentsRead, None), "lists its own");
        assert!(!key_allows(&k, &scoped, Permission::MembersRead, None), "organization endpoints need scope all");
        assert!(!key_allows(&k, &scoped, Permission::AuditRead, None));
    }
}
