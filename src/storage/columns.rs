//! Typed columns: ids, emails, roles and statuses are TEXT on both backends and are read back
//! as their own types, so a malformed value is an error, never silently another value.

use std::borrow::Cow;
use std::io::Write;

use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use crate::domain::ids::{AccountId, ApiKeyId, DeploymentId, InvitationId, OrgId, RoleId, SessionId};
use crate::domain::links::LinkPurpose;
use crate::domain::security_log::SecurityEvent;
use crate::domain::{Email, InvitationStatus, MembershipStatus, PermissionSet, Role};
use crate::storage::MultiBackend;

/// A value kept in a TEXT column.
trait TextColumn: Sized {
    fn to_text(&self) -> Cow<'_, str>;
    fn from_text(text: String) -> Result<Self, String>;
}

macro_rules! id_column {
    ($($ty:ty),*) => {$(
        impl TextColumn for $ty {
            fn to_text(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
            fn from_text(text: String) -> Result<Self, String> {
                text.parse().map_err(|e| format!("malformed id {text:?} in the database: {e}"))
            }
        }
    )*};
}

id_column!(AccountId, OrgId, InvitationId, DeploymentId, ApiKeyId, SessionId, RoleId);

macro_rules! enum_column {
    ($($ty:ty),*) => {$(
        impl TextColumn for $ty {
            fn to_text(&self) -> Cow<'_, str> {
                Cow::Borrowed(self.as_str())
            }
            fn from_text(text: String) -> Result<Self, String> {
                <$ty>::parse(&text).ok_or_else(|| format!("unknown {} {text:?} in the database", stringify!($ty)))
            }
        }
    )*};
}

enum_column!(Role, MembershipStatus, InvitationStatus, LinkPurpose, SecurityEvent);

impl TextColumn for Email {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
    /// Stored emails were normalised when they were made.
    fn from_text(text: String) -> Result<Self, String> {
        Ok(Email::from_db(text))
    }
}

/// A set of permissions is kept as its names, space-separated.
impl TextColumn for PermissionSet {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.names())
    }
    fn from_text(text: String) -> Result<Self, String> {
        PermissionSet::parse_names([text.as_str()]).map_err(|name| format!("unknown permission {name:?} in the database"))
    }
}

macro_rules! text_sql {
    ($($ty:ty),*) => {$(
        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                match self.to_text() {
                    Cow::Borrowed(s) => out.set_value(s),
                    Cow::Owned(s) => out.set_value(s),
                }
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.to_text().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(value: <Sqlite as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
                <$ty as TextColumn>::from_text(text).map_err(Into::into)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: <Pg as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(value)?;
                <$ty as TextColumn>::from_text(text).map_err(Into::into)
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                value.from_sql::<Self, Text>()
            }
        }
    )*};
}

text_sql!(AccountId, OrgId, InvitationId, DeploymentId, ApiKeyId, SessionId, RoleId, PermissionSet, Role, MembershipStatus, InvitationStatus, LinkPurpose, SecurityEvent, Email);
