//! Who may do what, checked inside the transaction of the change: a member through their
//! membership's role, an API key through its permissions, scope, expiry and revocation. The
//! HTML side and the JSON API both end here, so the rules are the same whichever face asks.

use crate::storage::DbConn;
use crate::domain::ids::DeploymentId;
use crate::domain::{AccountId, MembershipStatus, OrgId, Permission, PermissionSet};
use crate::operations::OpError;
use crate::domain::Actor;
use chrono::Duration;

use crate::operations::sessions::{self, Session};
use crate::storage::accounts::Account;
use crate::storage::members::{Membership, MembershipInOrg};
use crate::storage::{self, Db, api_keys, members, orgs, roles};

/// Permissions about one deployment (the rest are about the organization).
pub fn is_deployment_level(p: Permission) -> bool {
    matches!(p, Permission::DeploymentsRead | Permission::DeploymentsWrite)
}

/// Whether an API key with these properties may use `p`, on `deployment` when given.
/// Keys never hold `org.owner`: ownership is a person's.
pub fn key_allows(key: &api_keys::ApiKey, scoped: &[DeploymentId], p: Permission, deployment: Option<DeploymentId>) -> bool {
    if p == Permission::OrgOwner {
        return false;
    }
    let kind_ok = key.permission_set().contains(p);
    let scope_ok = key.all_deployments()
        || (is_deployment_level(p)
            && match deployment {
                Some(d) => scoped.contains(&d),
                // listing is allowed (it is filtered); creating is not
                None => p == Permission::DeploymentsRead,
            });
    kind_ok && scope_ok
}

/// Last active is kept to the minute: a member's row is written at most once a minute.
const LAST_ACTIVE_RESOLUTION: Duration = Duration::seconds(60);

/// What the door of an organization page reads in one trip to the database: the session's row
/// with its account (None once signed out, revoked, timed out or deleted), the membership with
/// the organization's name and whether it requires two-factor, and, for a page, the account's
/// organizations for the switcher.
pub struct Door {
    pub session: Option<(Session, Account)>,
    pub membership: Option<MembershipInOrg>,
    /// What the member may do: their base role and custom roles together.
    pub permissions: PermissionSet,
    pub switcher: Option<Vec<(OrgId, String)>>,
    /// The organization requires single sign-on of this member, and the session was not
    /// started through its connection.
    pub sso_required: bool,
}

impl Door {
    /// Whether an active member's organization requires two-factor and their account has not
    /// turned it on: such a member is sent to turn it on before anything else in the
    /// organization. (Anyone else is not let in at all.)
    pub fn two_factor_missing(&self) -> bool {
        let required = self.active().is_some() && self.membership.as_ref().is_some_and(|m| m.require_two_factor);
        required && !self.session.as_ref().is_some_and(|(_, a)| a.two_factor_on())
    }

    fn active(&self) -> Option<&Membership> {
        self.membership.as_ref().map(|m| &m.membership).filter(|m| m.status == MembershipStatus::Active)
    }
}

/// The session named by `hash` and its account, if the session still holds.
pub fn current_account(db: &Db, hash: &str) -> Result<Option<(Session, Account)>, OpError> {
    sessions::current(&mut *db.conn()?, hash)
}

/// The cheap check at the door of an organization's pages: the session, the account and its
/// membership, read once. It records the member's last activity (at most once a minute), unless
/// the organization turns them away for want of two-factor. The change a request makes is
/// authorized again inside its transaction by `lock_and_authorize`.
/// `sso_session` is whether the session was started through this organization's single
/// sign-on (else a connection requiring it turns the member away).
pub fn door(db: &Db, hash: &str, account_id: AccountId, org: OrgId, with_switcher: bool, sso_session: bool) -> Result<Door, OpError> {
    let mut conn = db.conn()?;
    let session = sessions::current(&mut conn, hash)?;
    if session.as_ref().is_none_or(|(_, a)| a.id != account_id) {
        return Ok(Door { session, membership: None, permissions: PermissionSet::EMPTY, switcher: None, sso_required: false });
    }
    let membership = members::find_with_org(&mut conn, org, account_id)?;
    let mut door = Door { session, membership, permissions: PermissionSet::EMPTY, switcher: None, sso_required: false };
    if door.two_factor_missing() {
        return Ok(door);
    }
    // a member the organization signs in through its provider does not use it with a password
    let password_refused = match (door.active(), door.session.as_ref()) {
        // the owner keeps their password, so that a broken provider cannot lock everyone out
        (Some(m), Some((_, account))) if !sso_session && m.role != crate::domain::Role::Owner => {
            crate::operations::sso::password_refused(&mut conn, org, &account.email)?
        }
        _ => false,
    };
    if password_refused {
        door.sso_required = true;
        return Ok(door);
    }
    if let Some(m) = door.active() {
        let custom = door.membership.as_ref().map_or(PermissionSet::EMPTY, |m| m.custom_permissions);
        let permissions = m.role.permissions().union(custom);
        let now = storage::now();
        if m.last_active_at.is_none_or(|t| now - t >= LAST_ACTIVE_RESOLUTION) {
            members::touch(&mut conn, org, account_id, now)?;
        }
        if with_switcher {
            door.switcher = Some(members::active_orgs_brief(&mut conn, account_id)?);
        }
        door.permissions = permissions;
    }
    Ok(door)
}

/// The organizations where the account is an active member, for the switcher.
pub fn switcher(db: &Db, account: AccountId) -> Result<Vec<(OrgId, String)>, OpError> {
    Ok(members::active_orgs_brief(&mut *db.conn()?, account)?)
}

/// What a member may do in the organization: their base role and custom roles together.
pub fn permissions_of(conn: &mut DbConn, member: &Membership) -> Result<PermissionSet, OpError> {
    let custom = roles::permissions_of_member(conn, member.org_id, member.account_id)?;
    Ok(member.role.permissions().union(custom))
}

/// Takes the organization's lock and checks that `actor` may still use `permission` (on
/// `deployment`, when the action is about one). A member who is no longer active, or a key
/// revoked a moment ago, is refused here even if the request was allowed in. Answers what the
/// actor holds, against which a change checks that nobody gives or touches more than that.
pub fn lock_and_authorize(
    conn: &mut DbConn,
    org: OrgId,
    actor: &Actor,
    permission: Permission,
    deployment: Option<DeploymentId>,
) -> Result<PermissionSet, OpError> {
    if !orgs::lock(conn, org)? {
        return Err(OpError::NotFound);
    }
    match actor {
        Actor::Account { id, .. } => {
            let me = members::find(conn, org, *id)?
                .filter(|m| m.status == MembershipStatus::Active)
                .ok_or(OpError::NotFound)?;
            let held = permissions_of(conn, &me)?;
            if !held.contains(permission) {
                return Err(OpError::Forbidden(String::new()));
            }
            Ok(held)
        }
        Actor::ApiKey { id, .. } => {
            let key = api_keys::find(conn, org, *id)?.ok_or(OpError::NotFound)?;
            if !key.is_live(storage::now()) {
                return Err(OpError::Forbidden("This API key has been revoked or has expired.".into()));
            }
            let scoped = if key.all_deployments() { Vec::new() } else { api_keys::scoped_deployments(conn, key.id)? };
            if !key_allows(&key, &scoped, permission, deployment) {
                return Err(OpError::Forbidden("This API key's permissions or scope do not allow this.".into()));
            }
            Ok(key.authority())
        }
        Actor::Invitee { .. } | Actor::System => Err(OpError::Forbidden(String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ApiKeyId;

    fn key(permissions: &str, scope: &str) -> api_keys::ApiKey {
        api_keys::ApiKey {
            id: ApiKeyId::new(),
            org_id: OrgId::new(),
            name: "ci".into(),
            lookup: "l".into(),
            secret_hash: "h".into(),
            permissions: permissions.into(),
            scope: scope.into(),
            expires_at: None,
            created_by: None,
            created_at: storage::now(),
            last_used_at: None,
            revoked_at: None,
            grants: None,
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
    fn keys_with_grants_hold_exactly_those() {
        let mut k = key("read", "all");
        k.grants = Some(PermissionSet::of(&[Permission::MembersRead, Permission::AuditView]));
        assert!(key_allows(&k, &[], Permission::MembersRead, None));
        assert!(key_allows(&k, &[], Permission::AuditView, None));
        assert!(!key_allows(&k, &[], Permission::AuditRead, None), "viewing is not exporting");
        assert!(!key_allows(&k, &[], Permission::DeploymentsRead, None));
    }

    #[test]
    fn scoped_keys_reach_only_their_deployments() {
        let d = DeploymentId::new();
        let scoped = vec![d];
        let k = key("read_write", "selected");
        assert!(key_allows(&k, &scoped, Permission::DeploymentsWrite, Some(d)));
        assert!(!key_allows(&k, &scoped, Permission::DeploymentsWrite, Some(DeploymentId::new())));
        assert!(!key_allows(&k, &scoped, Permission::DeploymentsWrite, None), "cannot create");
        assert!(key_allows(&k, &scoped, Permission::DeploymentsRead, None), "lists its own");
        assert!(!key_allows(&k, &scoped, Permission::MembersRead, None), "organization endpoints need scope all");
        assert!(!key_allows(&k, &scoped, Permission::AuditRead, None));
    }
}
