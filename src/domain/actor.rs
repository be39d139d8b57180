//! Who makes a change, and from where: what every audited operation records.

use super::Email;
use super::ids::{AccountId, ApiKeyId};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Account { id: AccountId, email: Email },
    /// A person acting through an invitation link without an account session (declining).
    Invitee { email: Email },
    ApiKey { id: ApiKeyId, name: String },
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Account { .. } | Actor::Invitee { .. } => "account",
            Actor::ApiKey { .. } => "api_key",
            Actor::System => "system",
        }
    }

    /// The account behind the actor, when it is a person signed in.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Actor::Account { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Where a request came from, as recorded with its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_signed_in_person_is_an_account() {
        let id = AccountId::new();
        let email = Email::parse("a@example.com").expect("valid");
        assert_eq!(Actor::Account { id, email: email.clone() }.account(), Some(id));
        assert_eq!(Actor::Invitee { email }.account(), None);
        assert_eq!(Actor::ApiKey { id: ApiKeyId::new(), name: "ci".into() }.account(), None);
        assert_eq!(Actor::System.account(), None);
    }
}
