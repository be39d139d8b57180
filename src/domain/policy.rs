//! The rules about who may act on whom, as plain functions over plain data.

use super::{AccountId, PermissionSet, Role};

/// The member an action is about: their base role and everything they may do.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub account: AccountId,
    pub role: Role,
    /// The union of their base role and custom roles.
    pub permissions: PermissionSet,
}

/// Why a member or role action is refused; the message is shown to the person who tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TargetIsOwner,
    TargetIsSelf,
    OwnerOnlyByTransfer,
    /// The member holds permissions the actor does not: these.
    TargetHoldsMore(PermissionSet),
    /// The role holds permissions the actor does not: these.
    RoleHoldsMore(PermissionSet),
}

impl Refusal {
    pub fn message(self) -> String {
        let names = |set: PermissionSet| set.essential().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
        match self {
            Refusal::TargetIsOwner => {
                "The owner cannot be changed, deactivated or removed. The owner can transfer ownership in Settings.".into()
            }
            Refusal::TargetIsSelf => "You cannot do this to yourself. To leave the organization, use Leave organization.".into(),
            Refusal::OwnerOnlyByTransfer => "The owner role is only given by transferring ownership.".into(),
            Refusal::TargetHoldsMore(lacking) => format!(
                "This member holds permissions you do not hold ({}), so you cannot change, deactivate, sign out or remove them.",
                names(lacking)
            ),
            Refusal::RoleHoldsMore(lacking) => format!(
                "This role holds permissions you do not hold ({}): only someone who holds all of them can create, change, give or take it.",
                names(lacking)
            ),
        }
    }
}

/// Rules shared by changing the roles of, deactivating, activating, signing out and removing a
/// member: nobody acts on the owner, nor on themselves, nor on someone who holds a permission
/// they do not. `actor` is None for an API key; `held` is what the actor may do.
pub fn can_act_on(actor: Option<AccountId>, held: PermissionSet, target: Target) -> Result<(), Refusal> {
    if target.role == Role::Owner {
        return Err(Refusal::TargetIsOwner);
    }
    if actor == Some(target.account) {
        return Err(Refusal::TargetIsSelf);
    }
    if !held.covers(target.permissions) {
        return Err(Refusal::TargetHoldsMore(held.lacking(target.permissions)));
    }
    Ok(())
}

/// Giving or taking a base role: `admin`, `editor` or `viewer`, never `owner`, and only by
/// someone who holds everything the role allows.
pub fn can_change_role(actor: Option<AccountId>, held: PermissionSet, target: Target, new_role: Role) -> Result<(), Refusal> {
    can_act_on(actor, held, target)?;
    can_grant(held, new_role)
}

/// An invitation or a role change can give `admin`, `editor` or `viewer`, never `owner`, and
/// only what the actor holds.
pub fn can_grant(held: PermissionSet, role: Role) -> Result<(), Refusal> {
    if !Role::GRANTABLE.contains(&role) {
        return Err(Refusal::OwnerOnlyByTransfer);
    }
    can_handle_role(held, role.permissions())
}

/// Creating, changing, deleting, giving or taking a role holding `permissions`: only someone
/// who holds every one of them may.
pub fn can_handle_role(held: PermissionSet, permissions: PermissionSet) -> Result<(), Refusal> {
    if held.covers(permissions) { Ok(()) } else { Err(Refusal::RoleHoldsMore(held.lacking(permissions))) }
}

/// Why an ownership transfer is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRefusal {
    ToSelf,
    NotAnActiveMember,
}

/// Ownership goes from the owner to another active member.
pub fn can_transfer(owner: AccountId, to: AccountId, to_is_active_member: bool) -> Result<(), TransferRefusal> {
    if owner == to {
        return Err(TransferRefusal::ToSelf);
    }
    if !to_is_active_member {
        return Err(TransferRefusal::NotAnActiveMember);
    }
    Ok(())
}

/// The owner must transfer ownership before leaving.
pub fn can_leave(role: Role) -> bool {
    role != Role::Owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Permission;

    fn target(role: Role) -> Target {
        Target { account: AccountId::new(), role, permissions: role.permissions() }
    }

    const ADMIN: PermissionSet = Role::Admin.permissions();

    #[test]
    fn nobody_acts_on_the_owner() {
        let actor = Some(AccountId::new());
        let all = Role::Owner.permissions();
        assert_eq!(can_act_on(actor, all, target(Role::Owner)), Err(Refusal::TargetIsOwner));
        assert_eq!(can_change_role(actor, all, target(Role::Owner), Role::Viewer), Err(Refusal::TargetIsOwner));
        assert_eq!(can_act_on(None, all, target(Role::Owner)), Err(Refusal::TargetIsOwner), "nor does a key");
    }

    #[test]
    fn nobody_acts_on_themselves() {
        let actor = AccountId::new();
        let me = Target { account: actor, role: Role::Admin, permissions: ADMIN };
        assert_eq!(can_act_on(Some(actor), ADMIN, me), Err(Refusal::TargetIsSelf));
        assert_eq!(can_change_role(Some(actor), ADMIN, me, Role::Viewer), Err(Refusal::TargetIsSelf));
    }

    #[test]
    fn owner_is_never_granted_by_role_change_or_invitation() {
        let actor = Some(AccountId::new());
        assert_eq!(can_change_role(actor, ADMIN, target(Role::Viewer), Role::Owner), Err(Refusal::OwnerOnlyByTransfer));
        assert_eq!(can_grant(Role::Owner.permissions(), Role::Owner), Err(Refusal::OwnerOnlyByTransfer));
        for role in Role::GRANTABLE {
            assert_eq!(can_change_role(actor, ADMIN, target(Role::Editor), role), Ok(()));
        }
    }

    #[test]
    fn nobody_acts_on_a_member_who_holds_more_than_they_do() {
        let actor = Some(AccountId::new());
        let inviter = PermissionSet::of(&[Permission::MembersRead, Permission::MembersManage, Permission::DeploymentsRead]);
        assert_eq!(can_act_on(actor, inviter, target(Role::Viewer)), Ok(()));
        let editor = target(Role::Editor);
        assert_eq!(
            can_act_on(actor, inviter, editor),
            Err(Refusal::TargetHoldsMore(PermissionSet::of(&[Permission::DeploymentsWrite, Permission::AuditRead])))
        );
        let boosted = Target { permissions: Role::Viewer.permissions().union(PermissionSet::of(&[Permission::OrgManage])), ..target(Role::Viewer) };
        assert!(matches!(can_act_on(actor, inviter, boosted), Err(Refusal::TargetHoldsMore(_))), "custom roles count");
        assert_eq!(can_act_on(actor, ADMIN, boosted), Ok(()));
    }

    #[test]
    fn nobody_gives_or_defines_a_role_holding_more_than_they_do() {
        let inviter = PermissionSet::of(&[Permission::MembersManage, Permission::DeploymentsRead]);
        assert_eq!(can_grant(inviter, Role::Viewer), Ok(()));
        assert!(matches!(can_grant(inviter, Role::Editor), Err(Refusal::RoleHoldsMore(_))));
        assert!(matches!(can_grant(inviter, Role::Admin), Err(Refusal::RoleHoldsMore(_))));
        assert_eq!(can_handle_role(ADMIN, PermissionSet::of(&[Permission::AuditRead])), Ok(()));
        let msg = can_handle_role(inviter, PermissionSet::of(&[Permission::AuditRead])).unwrap_err().message();
        assert!(msg.contains("audit.read") && !msg.contains("audit.view"), "names what is lacking, once: {msg}");
    }

    #[test]
    fn ownership_goes_to_another_active_member() {
        let owner = AccountId::new();
        assert_eq!(can_transfer(owner, owner, true), Err(TransferRefusal::ToSelf));
        assert_eq!(can_transfer(owner, AccountId::new(), false), Err(TransferRefusal::NotAnActiveMember));
        assert_eq!(can_transfer(owner, AccountId::new(), true), Ok(()));
        assert!(!can_leave(Role::Owner));
        assert!(can_leave(Role::Viewer));
    }
}
