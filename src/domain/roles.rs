//! Roles and permissions. A role is data: a set of permissions. Handlers ask for a permission,
//! never for a role name. The four built-in roles are fixed here; an organization's custom roles
//! are rows holding a `PermissionSet`, and what a member may do is the union of their base role
//! and their custom roles.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    DeploymentsRead,
    DeploymentsWrite,
    AuditView,
    AuditRead,
    MembersRead,
    MembersInvite,
    MembersManage,
    RolesManage,
    ApiKeysRead,
    ApiKeysManage,
    OrgManage,
    OrgOwner,
}

/// The part of the product a permission is about, for grouping the permission reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Deployments,
    Members,
    Roles,
    AuditLog,
    ApiKeys,
    Organization,
}

impl Area {
    pub const ALL: [Area; 6] = [Area::Deployments, Area::Members, Area::Roles, Area::AuditLog, Area::ApiKeys, Area::Organization];

    pub fn label(self) -> &'static str {
        match self {
            Area::Deployments => "Deployments",
            Area::Members => "Members and invitations",
            Area::Roles => "Roles",
            Area::AuditLog => "Audit log",
            Area::ApiKeys => "API keys",
            Area::Organization => "Organization",
        }
    }
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::DeploymentsRead,
        Permission::DeploymentsWrite,
        Permission::AuditView,
        Permission::AuditRead,
        Permission::MembersRead,
        Permission::MembersInvite,
        Permission::MembersManage,
        Permission::RolesManage,
        Permission::ApiKeysRead,
        Permission::ApiKeysManage,
        Permission::OrgManage,
        Permission::OrgOwner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::DeploymentsRead => "deployments.read",
            Permission::DeploymentsWrite => "deployments.write",
            Permission::AuditView => "audit.view",
            Permission::AuditRead => "audit.read",
            Permission::MembersRead => "members.read",
            Permission::MembersInvite => "members.invite",
            Permission::MembersManage => "members.manage",
            Permission::RolesManage => "roles.manage",
            Permission::ApiKeysRead => "api_keys.read",
            Permission::ApiKeysManage => "api_keys.manage",
            Permission::OrgManage => "org.manage",
            Permission::OrgOwner => "org.owner",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }

    pub fn area(self) -> Area {
        match self {
            Permission::DeploymentsRead | Permission::DeploymentsWrite => Area::Deployments,
            Permission::AuditView | Permission::AuditRead => Area::AuditLog,
            Permission::MembersRead | Permission::MembersInvite | Permission::MembersManage => Area::Members,
            Permission::RolesManage => Area::Roles,
            Permission::ApiKeysRead | Permission::ApiKeysManage => Area::ApiKeys,
            Permission::OrgManage | Permission::OrgOwner => Area::Organization,
        }
    }

    /// What the permission lets its holder do, in one line of plain words.
    pub fn explanation(self) -> &'static str {
        match self {
            Permission::DeploymentsRead => "See the organization's deployments.",
            Permission::DeploymentsWrite => "Create, rename and delete deployments.",
            Permission::AuditView => "View the audit log in the console, without exporting it.",
            Permission::AuditRead => "View the audit log and export it as CSV.",
            Permission::MembersRead => "See the member list, the invitations and the roles.",
            Permission::MembersInvite => "Invite people, resend and cancel invitations.",
            Permission::MembersManage => {
                "Invite people, change members' roles, deactivate, activate, sign out and remove members."
            }
            Permission::RolesManage => "Create, edit and delete custom roles.",
            Permission::ApiKeysRead => "See the organization's API keys (never their secrets).",
            Permission::ApiKeysManage => "Create, list and revoke API keys.",
            Permission::OrgManage => "Rename the organization and change its security settings.",
            Permission::OrgOwner => "Transfer ownership and delete the organization. Only the owner holds it.",
        }
    }

    /// Whether the permission only reads (what a `read` API key holds).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Permission::DeploymentsRead
                | Permission::AuditView
                | Permission::AuditRead
                | Permission::MembersRead
                | Permission::ApiKeysRead
        )
    }

    /// The finer permissions a broader one includes: who may manage members may invite, who may
    /// export the audit log may view it, who may manage API keys may list them.
    const fn includes(self) -> Option<Permission> {
        match self {
            Permission::MembersManage => Some(Permission::MembersInvite),
            Permission::AuditRead => Some(Permission::AuditView),
            Permission::ApiKeysManage => Some(Permission::ApiKeysRead),
            _ => None,
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions, always holding the finer permissions its broader ones include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub const fn of(perms: &[Permission]) -> PermissionSet {
        let mut bits = 0;
        let mut i = 0;
        while i < perms.len() {
            bits |= perms[i].bit();
            if let Some(finer) = perms[i].includes() {
                bits |= finer.bit();
            }
            i += 1;
        }
        PermissionSet(bits)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every permission of `other` is in this set.
    pub fn covers(self, other: PermissionSet) -> bool {
        other.0 & !self.0 == 0
    }

    /// The permissions of `other` missing from this set.
    pub fn lacking(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(other.0 & !self.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Without the finer permissions that a broader one in the set already includes: what a
    /// person chose, for showing and storing.
    pub fn essential(self) -> impl Iterator<Item = Permission> {
        self.iter()
            .filter(move |p| !Permission::ALL.iter().any(|b| b.includes() == Some(*p) && self.contains(*b)))
    }

    /// The names, space-separated: how a set is stored.
    pub fn names(self) -> String {
        self.iter().map(Permission::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Reads names separated by spaces or commas; an unknown name is refused with it.
    pub fn parse_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<PermissionSet, String> {
        let mut perms = Vec::new();
        for name in names.into_iter().flat_map(|n| n.split([' ', ','])).filter(|n| !n.trim().is_empty()) {
            perms.push(Permission::parse(name).ok_or_else(|| name.trim().to_string())?);
        }
        Ok(PermissionSet::of(&perms))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> PermissionSet {
        PermissionSet::of(&iter.into_iter().collect::<Vec<_>>())
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

/// Every permission a custom role may hold: all but `org.owner`, which is the owner's alone.
pub const CUSTOM_ROLE_PERMISSIONS: PermissionSet = PermissionSet(PermissionSet::of(&Permission::ALL).0 & !OrgOwner.bit());

/// What an API key made with the `read` preset may do: every permission that only reads.
pub const KEY_READ: PermissionSet = PermissionSet::of(&[DeploymentsRead, AuditView, AuditRead, MembersRead, ApiKeysRead]);
/// What an API key made with the `write` preset may do: every permission that changes
/// something, but ownership.
pub const KEY_WRITE: PermissionSet = PermissionSet(CUSTOM_ROLE_PERMISSIONS.0 & !KEY_READ.0);

/// The built-in roles and what each may do.
const ROLE_PERMISSIONS: [(Role, PermissionSet); 4] = [
    (Role::Owner, PermissionSet::of(&Permission::ALL)),
    (Role::Admin, CUSTOM_ROLE_PERMISSIONS),
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

    /// Whether a name would be taken for a built-in role (custom roles may not borrow them).
    pub fn is_builtin_name(name: &str) -> bool {
        Role::ALL.into_iter().any(|r| r.as_str().eq_ignore_ascii_case(name.trim()))
    }

    pub const fn permissions(self) -> PermissionSet {
        ROLE_PERMISSIONS[self as usize].1
    }

    /// What the role is for, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Role::Owner => "Everything, including transferring ownership and deleting the organization. Exactly one member holds it.",
            Role::Admin => "Manages members, roles, API keys and settings, and works with deployments and the audit log.",
            Role::Editor => "Works with deployments and reads the audit log.",
            Role::Viewer => "Sees deployments.",
        }
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

    /// The permission table of the built-in roles, row by row: owner, admin, editor, viewer. The
    /// first eight rows are the original table and must never change; the finer permissions
    /// below them are held exactly where a broader one already allowed the same thing.
    #[test]
    fn roles_grant_the_permissions_of_the_spec() {
        let table: [(Permission, [bool; 4]); 12] = [
            (DeploymentsRead, [true, true, true, true]),
            (DeploymentsWrite, [true, true, true, false]),
            (AuditRead, [true, true, true, false]),
            (MembersRead, [true, true, false, false]),
            (MembersManage, [true, true, false, false]),
            (ApiKeysManage, [true, true, false, false]),
            (OrgManage, [true, true, false, false]),
            (OrgOwner, [true, false, false, false]),
            (RolesManage, [true, true, false, false]),
            (MembersInvite, [true, true, false, false]),
            (AuditView, [true, true, true, false]),
            (ApiKeysRead, [true, true, false, false]),
        ];
        for (perm, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(role.can(perm), want, "{role} {}", perm.as_str());
            }
        }
    }

    #[test]
    fn broader_permissions_include_their_finer_ones() {
        let set = PermissionSet::of(&[MembersManage, AuditRead, ApiKeysManage]);
        assert!(set.contains(MembersInvite) && set.contains(AuditView) && set.contains(ApiKeysRead));
        assert!(!PermissionSet::of(&[MembersInvite]).contains(MembersManage), "but not the other way");
        assert_eq!(set.essential().collect::<Vec<_>>(), vec![AuditRead, MembersManage, ApiKeysManage]);
    }

    #[test]
    fn sets_compare_and_round_trip_through_their_names() {
        let editor = Role::Editor.permissions();
        assert!(Role::Admin.permissions().covers(editor));
        assert!(!editor.covers(Role::Admin.permissions()));
        assert_eq!(editor.lacking(PermissionSet::of(&[MembersRead, DeploymentsRead])), PermissionSet::of(&[MembersRead]));
        for role in Role::ALL {
            let set = role.permissions();
            assert_eq!(PermissionSet::parse_names([set.names().as_str()]), Ok(set));
        }
        assert_eq!(PermissionSet::parse_names(["members.read", "deployments.read"]), Ok(PermissionSet::of(&[MembersRead, DeploymentsRead])));
        assert_eq!(PermissionSet::parse_names(["members.read", "root"]), Err("root".to_string()));
        assert!(!CUSTOM_ROLE_PERMISSIONS.contains(OrgOwner), "no custom role holds org.owner");
        assert!(KEY_READ.iter().all(Permission::is_read) && !KEY_WRITE.iter().any(Permission::is_read));
        assert_eq!(KEY_READ.union(KEY_WRITE), CUSTOM_ROLE_PERMISSIONS);
    }

    #[test]
    fn built_in_roles_are_listed_in_their_own_order() {
        for (i, (role, _)) in ROLE_PERMISSIONS.iter().enumerate() {
            assert_eq!(*role as usize, i, "permissions() indexes the table by the role");
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
