//! Plain types and rules of the product: no HTTP, no SQL.

pub mod actor;
pub mod audit_chain;
pub mod bulk_invitations;
pub mod custom_roles;
pub mod delivery;
pub mod email;
pub mod ids;
pub mod links;
pub mod member_list;
pub mod names;
pub mod password;
pub mod policy;
pub mod roles;
pub mod security_log;
pub mod sso;
pub mod sessions;
pub mod status;
pub mod time;
pub mod totp;
pub mod two_factor;

pub use actor::{Actor, RequestMeta};
pub use email::Email;
pub use ids::{AccountId, OrgId, RoleId};
pub use roles::{Permission, PermissionSet, Role};
pub use time::now;
pub use status::{InvitationState, InvitationStatus, MembershipStatus};

/// A rule of the product said no; the message is meant for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The form field the message belongs to.
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Invalid {
        Invalid { field, message: message.into() }
    }
}

