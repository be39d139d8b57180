//! Deployments: the resources roles and API keys govern.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::{accounts, deployments};
use crate::domain::ids::DeploymentId;
use crate::domain::{AccountId, OrgId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deployments)]
pub struct Deployment {
    pub id: DeploymentId,
    pub org_id: OrgId,
    pub name: String,
    pub region: String,
    pub created_by: Option<AccountId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A deployment as the list shows it, with its creator's email (None once that account is gone,
/// or when an API key created it).
#[derive(Debug, Clone)]
pub struct DeploymentListRow {
    pub deployment: Deployment,
    pub created_by_email: Option<String>,
}

pub fn insert(conn: &mut DbConn, deployment: &Deployment) -> QueryResult<()> {
    diesel::insert_into(deployments::table).values(deployment).execute(conn).map(|_| ())
}

/// The deployment `id` of `org`: one of another organization is not found, like a missing one.
pub fn find(conn: &mut DbConn, org: OrgId, id: DeploymentId) -> QueryResult<Option<Deployment>> {
    deployments::table
        .filter(deployments::id.eq(id))
        .filter(deployments::org_id.eq(org))
        .select(Deployment::as_select())
        .first(conn)
        .optional()
}

/// Whether another deployment of `org` (not `except`) already has `name`.
pub fn name_taken(conn: &mut DbConn, org: OrgId, name: &str, except: Option<DeploymentId>) -> QueryResult<bool> {
    let same_name = deployments::table.filter(deployments::org_id.eq(org)).filter(deployments::name.eq(name));
    match except {
        Some(id) => {
            diesel::select(diesel::dsl::exists(same_name.filter(deployments::id.ne(id)))).get_result(conn)
        }
        None => diesel::select(diesel::dsl::exists(same_name)).get_result(conn),
    }
}

pub fn rename(conn: &mut DbConn, org: OrgId, id: DeploymentId, name: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        deployments::table.filter(deployments::id.eq(id)).filter(deployments::org_id.eq(org)),
    )
    .set((deployments::name.eq(name), deployments::updated_at.eq(at)))
    .execute(conn)
}

/// Deletes the deployment; the database drops its API key scopes with it (ON DELETE CASCADE).
pub fn delete(conn: &mut DbConn, org: OrgId, id: DeploymentId) -> QueryResult<usize> {
    diesel::delete(
        deployments::table.filter(deployments::id.eq(id)).filter(deployments::org_id.eq(org)),
    )
    .execute(conn)
}

pub fn count(conn: &mut DbConn, org: OrgId) -> QueryResult<i64> {
    deployments::table.filter(deployments::org_id.eq(org)).count().get_result(conn)
}

/// How many deployments of `org` sort before `name`: where it stands in the list.
pub fn rank(conn: &mut DbConn, org: OrgId, name: &str) -> QueryResult<i64> {
    deployments::table
        .filter(deployments::org_id.eq(org))
        .filter(deployments::name.lt(name))
        .count()
        .get_result(conn)
}

/// One page of the organization's deployments by name, walking the (org_id, name) index.
pub fn list(conn: &mut DbConn, org: OrgId, limit: i64, offset: i64) -> QueryResult<Vec<DeploymentListRow>> {
    let rows: Vec<(Deployment, Option<String>)> = deployments::table
        .left_join(accounts::table.on(accounts::id.nullable().eq(deployments::created_by)))
        .filter(deployments::org_id.eq(org))
        .order(deployments::name.asc())
        .limit(limit)
        .offset(offset)
        .select((Deployment::as_select(), accounts::email.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, email)| DeploymentListRow { deployment: row, created_by_email: email })
        .collect())
}

/// Deployments by name after `after` (a keyset cursor), only `within` when given (a scoped
/// API key's deployments), for the API.
pub fn page_by_name(
    conn: &mut DbConn,
    org: OrgId,
    within: Option<&[DeploymentId]>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeploymentListRow>> {
    let mut q = deployments::table
        .left_join(accounts::table.on(accounts::id.nullable().eq(deployments::created_by)))
        .filter(deployments::org_id.eq(org))
        .order(deployments::name.asc())
        .limit(limit)
        .select((Deployment::as_select(), accounts::email.nullable()))
        .into_boxed();
    if let Some(ids) = within {
        q = q.filter(deployments::id.eq_any(ids.to_vec()));
    }
    if let Some(after) = after {
        q = q.filter(deployments::name.gt(after.to_string()));
    }
    let rows: Vec<(Deployment, Option<String>)> = q.load(conn)?;
    Ok(rows.into_iter().map(|(row, email)| DeploymentListRow { deployment: row, created_by_email: email }).collect())
}

/// One deployment with its creator's email.
pub fn listed(conn: &mut DbConn, org: OrgId, id: DeploymentId) -> QueryResult<Option<DeploymentListRow>> {
    let row: Option<(Deployment, Option<String>)> = deployments::table
        .left_join(accounts::table.on(accounts::id.nullable().eq(deployments::created_by)))
        .filter(deployments::org_id.eq(org))
        .filter(deployments::id.eq(id))
        .select((Deployment::as_select(), accounts::email.nullable()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(row, email)| DeploymentListRow { deployment: row, created_by_email: email }))
}
