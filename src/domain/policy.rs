//! The rules about who may act on whom, as plain functions over plain data.

use super::{AccountId, Role};

/// The member an action is about.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub account: AccountId,
    pub role: Role,
}

/// Why a member action is refused; the message is shown to the person who tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TargetIsOwner,
    TargetIsSelf,
    OwnerOnlyByTransfer,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::TargetIsOwner => {
                "The owner cannot be changed, deactivated or removed. The owner can transfer ownership in Settings."
            }
            Refusal::TargetIsSelf => "You cannot do this to yourself. To leave the organization, use Leave organization.",
            Refusal::OwnerOnlyByTransfer => "The owner role is only given by transferring ownership.",
        }
    }
}

/// Rules shared by changing the role of, deactivating, activating and removing a member:
/// nobody acts on the owner, nor on themselves. `actor` is None for an API key.
pub fn can_act_on(actor: Option<AccountId>, target: Target) -> Result<(), Refusal> {
    if target.role == Role::Owner {
        return Err(Refusal::TargetIsOwner);
    }
    if actor == Some(target.account) {
        return Err(Refusal::TargetIsSelf);
    }
    Ok(())
}

pub fn can_change_role(actor: Option<AccountId>, target: Target, new_role: Role) -> Result<(), Refusal> {
    can_act_on(actor, target)?;
    can_grant(new_role)
}

/// An invitation or a role change can give `admin`, `editor` or `viewer`, never `owner`.
pub fn can_grant(role: Role) -> Result<(), Refusal> {
    if Role::GRANTABLE.contains(&role) { Ok(()) } else { Err(Refusal::OwnerOnlyByTransfer) }
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

    fn target(role: Role) -> Target {
        Target { account: AccountId::new(), role }
    }

    #[test]
    fn nobody_acts_on_the_owner() {
        let actor = Some(AccountId::new());
        assert_eq!(can_act_on(actor, target(Role::Owner)), Err(Refusal::TargetIsOwner));
        assert_eq!(can_change_role(actor, target(Role::Owner), Role::Viewer), Err(Refusal::TargetIsOwner));
        assert_eq!(can_act_on(None, target(Role::Owner)), Err(Refusal::TargetIsOwner), "nor does a key");
    }

    #[test]
    fn nobody_acts_on_themselves() {
        let actor = AccountId::new();
        let me = Target { account: actor, role: Role::Admin };
        assert_eq!(can_act_on(Some(actor), me), Err(Refusal::TargetIsSelf));
        assert_eq!(can_change_role(Some(actor), me, Role::Viewer), Err(Refusal::TargetIsSelf));
    }

    #[test]
    fn owner_is_never_granted_by_role_change_or_invitation() {
        let actor = Some(AccountId::new());
        assert_eq!(can_change_role(actor, target(Role::Viewer), Role::Owner), Err(Refusal::OwnerOnlyByTransfer));
        assert_eq!(can_grant(Role::Owner), Err(Refusal::OwnerOnlyByTransfer));
        for role in Role::GRANTABLE {
            assert_eq!(can_change_role(actor, target(Role::Editor), role), Ok(()));
        }
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
