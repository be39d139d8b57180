//! What a departing member leaves behind in an organization (the API keys they made that still
//! work, the invitations they sent that are still pending), and revoking and cancelling the
//! ones chosen inside the transaction that deactivates or removes them.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::domain::ids::{ApiKeyId, InvitationId};
use crate::domain::{AccountId, Invalid, InvitationStatus, OrgId, Permission};
use crate::operations::access::lock_and_authorize;
use crate::operations::{Ctx, OpError, all_valid, api_keys as keys_op, invitations as invitations_op};
use crate::storage::api_keys::ApiKey;
use crate::storage::invitations::Invitation;
use crate::storage::members::Membership;
use crate::storage::{self, Db, DbConn, api_keys, invitations};

/// The ids chosen on the deactivate or remove dialog, as posted (`revoke_keys`,
/// `cancel_invitations`, each repeated). None chosen: nothing is revoked or cancelled.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    pub revoke_keys: Vec<String>,
    pub cancel_invitations: Vec<String>,
}

impl Chosen {
    /// How many distinct keys and invitations were chosen (ids that do not parse left out),
    /// for the message after the change.
    pub fn counts(&self) -> (usize, usize) {
        (distinct::<ApiKeyId>(&self.revoke_keys), distinct::<InvitationId>(&self.cancel_invitations))
    }
}

fn distinct<T: FromStr + Eq + std::hash::Hash>(raw: &[String]) -> usize {
    raw.iter().filter_map(|r| r.trim().parse::<T>().ok()).collect::<HashSet<T>>().len()
}

/// What a member leaves behind in an organization, or the part of it chosen to go.
#[derive(Debug, Clone, Default)]
pub struct Leftovers {
    /// Keys they made that still work (not revoked, not expired), newest first.
    pub keys: Vec<ApiKey>,
    /// Invitations they sent that are still pending (expired ones included), newest first.
    pub invitations: Vec<Invitation>,
}

/// What `account` leaves behind in `org`, as the dialogs list it.
pub fn left_behind(db: &Db, org: OrgId, account: AccountId) -> Result<Leftovers, OpError> {
    let mut conn = db.conn()?;
    Ok(Leftovers {
        keys: api_keys::live_created_by(&mut conn, org, account, storage::now())?,
        invitations: invitations::pending_sent_by(&mut conn, org, account)?,
    })
}

/// The ids of one field, each once; a value that is not an id refuses the field.
fn parse_ids<T: FromStr + Eq + std::hash::Hash + Copy>(field: &'static str, raw: &[String], what: &str) -> Result<Vec<T>, Invalid> {
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        let id: T = r.trim().parse().map_err(|_| Invalid::new(field, format!("Choose {what} from the list: one of the values sent is not an id.")))?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The chosen keys and invitations, each checked against what `member` left behind in `org`:
/// a key must be theirs and still work, an invitation theirs and still pending. Anything else
/// (an unknown id, another organization's, someone else's, one already revoked, cancelled or
/// answered) refuses the whole change with 422, before anything is written. Revoking keys also
/// needs `api_keys.manage`. Runs inside the change's transaction, after its authorization.
pub(crate) fn resolve(
    conn: &mut DbConn,
    ctx: &Ctx,
    org: OrgId,
    member: &Membership,
    chosen: &Chosen,
    now: NaiveDateTime,
) -> Result<Leftovers, OpError> {
    let key_ids = parse_ids::<ApiKeyId>("revoke_keys", &chosen.revoke_keys, "API keys");
    let invitation_ids = parse_ids::<InvitationId>("cancel_invitations", &chosen.cancel_invitations, "invitations");
    all_valid([
        key_ids.as_ref().map(|_| ()).map_err(Clone::clone),
        invitation_ids.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    let (key_ids, invitation_ids) = (key_ids?, invitation_ids?);
    if !key_ids.is_empty() {
        lock_and_authorize(conn, org, &ctx.actor, Permission::ApiKeysManage, None)?;
    }
    let mut left = Leftovers::default();
    for id in key_ids {
        let key = api_keys::find(conn, org, id)?
            .filter(|k| k.created_by == Some(member.account_id) && k.is_live(now))
            .ok_or_else(|| {
                Invalid::new("revoke_keys", format!("Choose among the working API keys {} made in this organization: {id} is not one of them.", member.email))
            })?;
        left.keys.push(key);
    }
    for id in invitation_ids {
        let inv = invitations::find(conn, org, id)?
            .filter(|i| i.invited_by == Some(member.account_id) && i.status == InvitationStatus::Pending)
            .ok_or_else(|| {
                Invalid::new(
                    "cancel_invitations",
                    format!("Choose among the pending invitations {} sent in this organization: {id} is not one of them.", member.email),
                )
            })?;
        left.invitations.push(inv);
    }
    Ok(left)
}

/// Revokes and cancels what `resolve` returned, each with its usual audit event, inside the
/// same transaction.
pub(crate) fn clear(conn: &mut DbConn, ctx: &Ctx, org: OrgId, left: &Leftovers, now: NaiveDateTime) -> Result<(), OpError> {
    for key in &left.keys {
        keys_op::revoke_within(conn, ctx, org, key, now)?;
    }
    for inv in &left.invitations {
        invitations_op::cancel_within(conn, ctx, org, inv, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_parsed_once_each_and_anything_else_refused() {
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let raw = [a.to_string(), format!(" {b} "), a.to_string()];
        assert_eq!(parse_ids::<ApiKeyId>("revoke_keys", &raw, "API keys").unwrap(), vec![a, b]);
        assert!(parse_ids::<ApiKeyId>("revoke_keys", &[], "API keys").unwrap().is_empty());
        for bad in ["", "nope", "1234", &format!("{a}x")] {
            let e = parse_ids::<InvitationId>("cancel_invitations", &[bad.to_string()], "invitations").unwrap_err();
            assert_eq!(e.field, "cancel_invitations", "{bad:?}");
        }
    }
}
