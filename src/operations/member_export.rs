//! The member list's CSV export: recorded when it starts, then read in slices of the list's
//! own order.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::domain::{OrgId, Permission};
use crate::operations::access::lock_and_authorize;
use crate::operations::members::{ListQuery, ListRow, RoleTag, with_role_tags};
use crate::operations::{Ctx, OpError};
use crate::storage::audit::{self, NewEvent};
pub use crate::storage::member_list::Position;
use crate::storage::{self, Db, member_list, roles};

/// Rows per slice of the export (so at most this many rows in memory, and per round trip).
pub const SLICE: i64 = 1_000;

/// Records `members.exported` with the filters, in its own transaction, before a byte of the
/// file is sent: an export that could not be recorded does not start. Answers the moment the
/// export reads the list at (whether an invitation has expired is decided once, for all slices).
pub fn start(db: &Db, ctx: &Ctx, org: OrgId, query: &ListQuery) -> Result<NaiveDateTime, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersRead, None)?;
        let now = storage::now();
        let filters = json!({
            "q": query.q,
            "status": query.status.map(|s| s.as_str()),
            "role": query.role.map(|r| r.value()),
            "sort": query.sort.as_str(),
        });
        audit::append(conn, org, &ctx.actor, &ctx.meta, NewEvent::new("members.exported").details(filters), now)?;
        Ok(now)
    })
}

/// Rows of the export, each with its custom roles (by name), and where the next slice starts.
pub type Slice = (Vec<(ListRow, Vec<RoleTag>)>, Option<Position>);

/// The rows of the list from `from` on (at most `SLICE`), each with its custom roles, and
/// where the next slice starts (None after the last).
pub fn slice(
    db: &Db,
    org: OrgId,
    query: &ListQuery,
    now: NaiveDateTime,
    from: &Position,
) -> Result<Slice, OpError> {
    let mut conn = db.conn()?;
    let (rows, next) = member_list::slice(&mut conn, org, query, now, from, SLICE)?;
    // read with each slice: a role made or renamed meanwhile reads as the list would show it
    let custom_roles = if rows.iter().any(|r| r.custom_role_ids().next().is_some()) { roles::tags(&mut conn, org)? } else { Vec::new() };
    Ok((with_role_tags(rows, &custom_roles), next))
}
