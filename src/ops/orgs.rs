//! Organizations: create one.

use serde_json::json;

use crate::db::{Db, DbConn};
use crate::domain::{AccountId, OrgId, Role, names};
use crate::ops::{Ctx, OpError};
use crate::store::audit::NewEvent;
use crate::store::{self, audit, members, orgs};

/// Creates an organization owned by `owner`, inside the caller's transaction.
pub(crate) fn insert_owned_org(
    conn: &mut DbConn,
    ctx: &Ctx,
    owner: AccountId,
    name: &str,
) -> Result<OrgId, OpError> {
    let at = store::now();
    let org = OrgId::new();
    orgs::insert(conn, org, name, at)?;
    members::insert(conn, org, owner, Role::Owner, at)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("org.created").target(name).details(json!({ "name": name })),
        at,
    )?;
    Ok(org)
}

/// Another organization for a signed-in account, which becomes its owner.
pub fn create(db: &Db, ctx: &Ctx, owner: AccountId, raw_name: &str) -> Result<OrgId, OpError> {
    let name = names::org_name("name", raw_name)?;
    db.write(|conn| insert_owned_org(conn, ctx, owner, &name))
}
