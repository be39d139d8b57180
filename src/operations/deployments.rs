//! Deployments: list, create, rename and delete an organization's deployments.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

use crate::storage::Db;
use crate::domain::ids::DeploymentId;
use crate::domain::{Invalid, OrgId, Permission};
use crate::operations::access::lock_and_authorize;
use crate::operations::{Ctx, OpError, all_valid};
use crate::storage::audit::NewEvent;
pub use crate::storage::deployments::{Deployment, DeploymentListRow};
use crate::storage::deployments;
use crate::storage::{self, audit};

/// The longest deployment name: a DNS label, so that a name can become part of a host name.
pub const MAX_NAME: usize = 63;

/// The regions a deployment can run in: code and label.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-west-2", "US West (Oregon)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
];

/// Deployments shown per page of the list.
pub const PAGE_SIZE: i64 = 50;

const NAME_TAKEN: &str = "A deployment with this name already exists.";

/// A deployment name as a cloud resource name: trimmed, 1 to 63 lowercase letters, digits and
/// hyphens, starting with a letter.
pub fn parse_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::new("name", "This field is required."));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Invalid::new("name", format!("Use at most {MAX_NAME} characters.")));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Invalid::new("name", "Start the name with a lowercase letter."));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(Invalid::new("name", "Use only lowercase letters, digits and hyphens."));
    }
    Ok(name.to_string())
}

/// One of `REGIONS`, by its code.
pub fn parse_region(raw: &str) -> Result<&'static str, Invalid> {
    let code = raw.trim();
    if code.is_empty() {
        return Err(Invalid::new("region", "Choose a region."));
    }
    REGIONS
        .iter()
        .map(|(c, _)| *c)
        .find(|c| *c == code)
        .ok_or_else(|| Invalid::new("region", "Choose one of the listed regions."))
}

/// The label of a region code, for display.
pub fn region_label(code: &str) -> &'static str {
    REGIONS.iter().find(|(c, _)| *c == code).map_or("", |(_, label)| label)
}

/// The page (from 1) a `page` query asks for: anything unreadable is the first page, and the
/// number is bounded so that the offset cannot overflow.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(1).clamp(1, 1_000_000)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CreateInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region: String,
}

/// One page of an organization's deployments.
#[derive(Debug, Clone)]
pub struct DeploymentPage {
    pub rows: Vec<DeploymentListRow>,
    pub total: i64,
    pub page: i64,
}

impl DeploymentPage {
    pub fn page_count(&self) -> i64 {
        ((self.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
    }
}

/// The page `page` of the list, by name.
pub fn list(db: &Db, org: OrgId, page: i64) -> Result<DeploymentPage, OpError> {
    let mut conn = db.conn()?;
    let page = page.max(1);
    let rows = deployments::list(&mut conn, org, PAGE_SIZE, (page - 1) * PAGE_SIZE)?;
    let total = deployments::count(&mut conn, org)?;
    Ok(DeploymentPage { rows, total, page })
}

/// The page of the list where deployment `id` stands, so that a form about it can be shown
/// again in place. None if it is not one of the organization's.
pub fn page_of(db: &Db, org: OrgId, id: DeploymentId) -> Result<Option<i64>, OpError> {
    let mut conn = db.conn()?;
    let Some(deployment) = deployments::find(&mut conn, org, id)? else { return Ok(None) };
    Ok(Some(deployments::rank(&mut conn, org, &deployment.name)? / PAGE_SIZE + 1))
}



/// A unique violation on (org_id, name) is a name another writer took first.
fn name_conflict(e: DieselError) -> OpError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Invalid::new("name", NAME_TAKEN).into(),
        other => other.into(),
    }
}

/// Creates a deployment, with `deployment.created`.
pub fn create(db: &Db, ctx: &Ctx, org: OrgId, input: &CreateInput) -> Result<Deployment, OpError> {
    let name = parse_name(&input.name);
    let region = parse_region(&input.region);
    all_valid([name.as_ref().map(|_| ()).map_err(Clone::clone), region.as_ref().map(|_| ()).map_err(Clone::clone)])?;
    let (name, region) = (name?, region?);
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::DeploymentsWrite, None)?;
        if deployments::name_taken(conn, org, &name, None)? {
            return Err(Invalid::new("name", NAME_TAKEN).into());
        }
        let at = storage::now();
        let deployment = Deployment {
            id: DeploymentId::new(),
            org_id: org,
            name: name.clone(),
            region: region.to_string(),
            created_by: ctx.actor.account(),
            created_at: at,
            updated_at: at,
        };
        deployments::insert(conn, &deployment).map_err(name_conflict)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("deployment.created").target(&name).details(json!({ "name": name, "region": region })),
            at,
        )?;
        Ok(deployment)
    })
}

/// What a rename did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub old_name: String,
    pub new_name: String,
}

impl Renamed {
    pub fn changed(&self) -> bool {
        self.old_name != self.new_name
    }
}

/// Renames a deployment, with `deployment.updated`. The same name again changes nothing and
/// records nothing.
pub fn rename(db: &Db, ctx: &Ctx, org: OrgId, id: DeploymentId, raw_name: &str) -> Result<Renamed, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::DeploymentsWrite, Some(id))?;
        // an unknown deployment is not found whatever the name, so it is looked up first
        let deployment = deployments::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        let renamed = Renamed { old_name: deployment.name, new_name: parse_name(raw_name)? };
        if !renamed.changed() {
            return Ok(renamed);
        }
        if deployments::name_taken(conn, org, &renamed.new_name, Some(id))? {
            return Err(Invalid::new("name", NAME_TAKEN).into());
        }
        let at = storage::now();
        deployments::rename(conn, org, id, &renamed.new_name, at).map_err(name_conflict)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("deployment.updated")
                .target(&renamed.new_name)
                .details(json!({ "old_name": renamed.old_name, "new_name": renamed.new_name })),
            at,
        )?;
        Ok(renamed)
    })
}

/// Deletes a deployment (API keys scoped to it lose it), with `deployment.deleted`.
pub fn delete(db: &Db, ctx: &Ctx, org: OrgId, id: DeploymentId) -> Result<Deployment, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::DeploymentsWrite, Some(id))?;
        let deployment = deployments::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        deployments::delete(conn, org, id)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("deployment.deleted")
                .target(&deployment.name)
                .details(json!({ "name": deployment.name, "region": deployment.region })),
            storage::now(),
        )?;
        Ok(deployment)
    })
}

/// Deployments by name after `after` (a keyset cursor), only `within` when given (a scoped
/// API key's deployments), for the API.
pub fn page_by_name(
    db: &Db,
    org: OrgId,
    within: Option<&[DeploymentId]>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DeploymentListRow>, OpError> {
    Ok(deployments::page_by_name(&mut *db.conn()?, org, within, after, limit)?)
}

/// One deployment with its creator's email, for the API.
pub fn listed(db: &Db, org: OrgId, id: DeploymentId) -> Result<Option<DeploymentListRow>, OpError> {
    Ok(deployments::listed(&mut *db.conn()?, org, id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_lowercase_resource_names() {
        assert_eq!(parse_name("  web-1 ").unwrap(), "web-1");
        assert_eq!(parse_name("a").unwrap(), "a");
        assert_eq!(parse_name(&"a".repeat(63)).unwrap(), "a".repeat(63));
        for (bad, message) in [
            ("", "This field is required."),
            ("   ", "This field is required."),
            (&"a".repeat(64), "Use at most 63 characters."),
            ("1web", "Start the name with a lowercase letter."),
            ("-web", "Start the name with a lowercase letter."),
            ("Web", "Start the name with a lowercase letter."),
            ("wEb", "Use only lowercase letters, digits and hyphens."),
            ("web_1", "Use only lowercase letters, digits and hyphens."),
            ("web 1", "Use only lowercase letters, digits and hyphens."),
            ("wéb", "Use only lowercase letters, digits and hyphens."),
            ("web\u{0}", "Use only lowercase letters, digits and hyphens."),
        ] {
            let e = parse_name(bad).unwrap_err();
            assert_eq!((e.field, e.message.as_str()), ("name", message), "{bad:?}");
        }
    }

    #[test]
    fn regions_come_from_the_fixed_list() {
        assert_eq!(parse_region("eu-west-1").unwrap(), "eu-west-1");
        assert_eq!(parse_region(" us-east-1 ").unwrap(), "us-east-1");
        assert_eq!(parse_region("").unwrap_err().message, "Choose a region.");
        for bad in ["mars-north-1", "US-EAST-1", "us-east-1x"] {
            assert_eq!(parse_region(bad).unwrap_err().field, "region", "{bad:?}");
        }
        assert_eq!(region_label("ap-northeast-1"), "Asia Pacific (Tokyo)");
        assert_eq!(region_label("nowhere"), "");
    }

    #[test]
    fn the_page_number_is_read_leniently_and_bounded() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("-4")), 1);
        assert_eq!(page_number(Some("abc")), 1);
        assert_eq!(page_number(Some("99999999999999999999")), 1);
        assert_eq!(page_number(Some("9223372036854775807")), 1_000_000);
    }

    #[test]
    fn a_page_count_is_at_least_one() {
        let page = |total| DeploymentPage { rows: Vec::new(), total, page: 1 }.page_count();
        assert_eq!(page(0), 1);
        assert_eq!(page(50), 1);
        assert_eq!(page(51), 2);
    }
}
