//! Roles and permissions. A role is data: a set of permissions. Handlers ask for a
//! permission, never for a role name, so custom roles only need a new row in `ROLE_PERMISSIONS`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    DeploymentsRead,
    DeploymentsWrite,
    AuditRead,
    MembersRead,
    MembersManage,
    ApiKeysManage,
    OrgManage,
    OrgOwner,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::DeploymentsRead,
        Permission::DeploymentsWrite,
        Permission::AuditRead,
        Permission::MembersRead,
        Permission::MembersManage,
        Permission::ApiKeysManage,
        Permission::OrgManage,
        Permission::OrgOwner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::DeploymentsRead => "deployments.read",
            Permission::DeploymentsWrite => "deployments.write",
            Permission::AuditRead => "audit.read",
            Permission::MembersRead => "members.read",
            Permission::MembersManage => "members.manage",
            Permission::ApiKeysManage => "api_keys.manage",
            Permission::OrgManage => "org.manage",
            Permission::OrgOwner => "org.owner",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u16);

impl PermissionSet {
    pub const fn of(perms: &[Permission]) -> PermissionSet {
        let mut bits = 0;
        let mut i = 0;
        while i < perms.len() {
            bits |= perms[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Viewer,
}

use Permission::*;

/// The built-in roles and what each may do.
const ROLE_PERMISSIONS: [(Role, PermissionSet); 4] = [
    (Role::Owner, PermissionSet::of(&Permission::ALL)),
    (
        Role::Admin,
        PermissionSet::of(&[DeploymentsRead, DeploymentsWrite, AuditRead, MembersRead, MembersManage, ApiKeysManage, OrgManage]),
    ),
    (Role::Editor, PermissionSet::of(&[DeploymentsRead, DeploymentsWrite, AuditRead])),
    (Role::Viewer, PermissionSet::of(&[DeploymentsRead])),
];

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Editor, Role::Viewer];
    /// The roles an invitation or a role change can give: `owner` only comes by transfer.
    pub const GRANTABLE: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn permissions(self) -> PermissionSet {
        ROLE_PERMISSIONS.iter().find(|(r, _)| *r == self).map(|(_, p)| *p).unwrap_or_default()
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(p)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permission table of the built-in roles, row by row: owner, admin, editor, viewer.
    #[test]
    fn roles_grant_the_permissions_of_the_spec() {
        let table: [(Permission, [bool; 4]); 8] = [
            (DeploymentsRead, [true, true, true, true]),
            (DeploymentsWrite, [true, true, true, false]),
            (AuditRead, [true, true, true, false]),
            (MembersRead, [true, true, false, false]),
            (MembersManage, [true, true, false, false]),
            (ApiKeysManage, [true, true, false, false]),
            (OrgManage, [true, true, false, false]),
            (OrgOwner, [true, false, false, false]),
        ];
        for (perm, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(role.can(perm), want, "{role} {}", perm.as_str());
            }
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("superuser"), None);
        assert!(!Role::GRANTABLE.contains(&Role::Owner));
    }
}
