//! What makes a valid custom role: its name, description and permissions, checked before any
//! database is asked.

use super::names::parse_name;
use super::roles::CUSTOM_ROLE_PERMISSIONS;
use super::{Invalid, Permission, PermissionSet, Role};

pub const MAX_ROLE_NAME: usize = 60;
pub const MAX_ROLE_DESCRIPTION: usize = 300;

/// A custom role's definition as a person submitted it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
}

/// The name compared for uniqueness within an organization: trimmed, lower case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

pub fn parse_role_name(raw: &str) -> Result<String, Invalid> {
    let name = parse_name("name", raw, MAX_ROLE_NAME)?;
    if Role::is_builtin_name(&name) {
        return Err(Invalid::new("name", format!("{name} is a built-in role. Choose another name.")));
    }
    Ok(name)
}

pub fn parse_description(raw: &str) -> Result<String, Invalid> {
    let description = raw.trim();
    if description.chars().count() > MAX_ROLE_DESCRIPTION {
        return Err(Invalid::new("description", format!("Use at most {MAX_ROLE_DESCRIPTION} characters.")));
    }
    if description.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(Invalid::new("description", "Remove the control characters."));
    }
    Ok(description.to_string())
}

/// Permission names as submitted (repeated fields): known, at least one, never `org.owner`.
pub fn parse_permissions<S: AsRef<str>>(raw: &[S]) -> Result<PermissionSet, Invalid> {
    let set = PermissionSet::parse_names(raw.iter().map(AsRef::as_ref))
        .map_err(|name| Invalid::new("permissions", format!("{name:?} is not a permission.")))?;
    if set.contains(Permission::OrgOwner) {
        return Err(Invalid::new("permissions", "Only the owner holds org.owner; no custom role can hold it."));
    }
    debug_assert!(CUSTOM_ROLE_PERMISSIONS.covers(set));
    if set.is_empty() {
        return Err(Invalid::new("permissions", "Choose at least one permission."));
    }
    Ok(set)
}

pub fn parse_definition<S: AsRef<str>>(name: &str, description: &str, permissions: &[S]) -> Result<Definition, Vec<Invalid>> {
    let (name, description, permissions) = (parse_role_name(name), parse_description(description), parse_permissions(permissions));
    match (name, description, permissions) {
        (Ok(name), Ok(description), Ok(permissions)) => Ok(Definition { name, description, permissions }),
        (name, description, permissions) => {
            Err([name.err(), description.err(), permissions.err()].into_iter().flatten().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_needs_a_free_name_and_a_permission() {
        let ok = parse_definition(" Support ", "Answers tickets", &["members.read", "deployments.read"]).unwrap();
        assert_eq!(ok.name, "Support");
        assert!(ok.permissions.contains(Permission::MembersRead));
        let errors = parse_definition("Admin", &"x".repeat(301), &[] as &[&str]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["name", "description", "permissions"]);
    }

    #[test]
    fn no_custom_role_holds_org_owner_or_an_unknown_permission() {
        assert_eq!(parse_permissions(&["org.owner"]).unwrap_err().field, "permissions");
        assert!(parse_permissions(&["members.read", "sudo"]).unwrap_err().message.contains("sudo"));
        assert_eq!(name_key(" SRE Team "), "sre team");
    }
}
