//! Authorization on every route of the console's pages.
//!
//! Each role gets what its permissions allow, a member without the permission gets 403 and
//! anyone else 404; the ids of another organization lead nowhere; bad input is refused (never
//! with a 500) and changes nothing.
//!
//! Here: the requests the files share, and what an organization holds (`snapshot`), to compare
//! before and after.

mod bad_input;
mod every_route;
mod member_actions;
mod other_organization;

use diesel::prelude::*;
use steward::domain::{InvitationStatus, MembershipStatus, OrgId, Role};
use steward::storage;

use crate::helpers::{Client, Page, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

use Method::{Get, Post};

type Fields = Vec<(String, String)>;

/// A request to try: method, path, form fields.
type Request = (Method, String, Fields);

/// Sends `method path` with `fields` (a POST carries the session's CSRF token).
async fn send(client: &Client, method: Method, path: &str, fields: &[(String, String)]) -> Page {
    match method {
        Get => client.get(path).await,
        Post => {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            client.post(path, &fields).await
        }
    }
}

fn owned(fields: &[(&str, &str)]) -> Fields {
    fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A short description of a response, for failure messages.
fn summary(page: &Page) -> String {
    let heading = page.texts("h1").join(" | ");
    let errors = page.texts(".field-error, .invalid-feedback, .alert").join(" | ");
    format!("{} (h1: {heading:?}; errors: {errors:?})", page.status)
}

/// What organization B holds, to compare before and after.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    name: String,
    members: Vec<(String, Role, MembershipStatus)>,
    invitations: Vec<(String, InvitationStatus)>,
    deployments: Vec<(String, String)>,
    events: Vec<(String, String)>,
}

async fn snapshot(app: &TestApp, org: OrgId) -> Snapshot {
    app.with_db(move |db| {
        use steward::storage::schema::{invitations, memberships};
        let mut conn = db.conn().unwrap();
        let conn = &mut *conn;
        let name = storage::orgs::find(conn, org).unwrap().unwrap().name;
        let mut members: Vec<(String, Role, MembershipStatus)> = memberships::table
            .filter(memberships::org_id.eq(org.to_string()))
            .select(memberships::account_id)
            .load::<String>(conn)
            .unwrap()
            .into_iter()
            .map(|id| {
                let m = storage::members::find(conn, org, id.parse().unwrap()).unwrap().unwrap();
                (m.email.to_string(), m.role, m.status)
            })
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut invitations: Vec<(String, InvitationStatus)> = invitations::table
            .filter(invitations::org_id.eq(org.to_string()))
            .select(invitations::id)
            .load::<String>(conn)
            .unwrap()
            .into_iter()
            .map(|id| {
                let i = storage::invitations::find(conn, org, id.parse().unwrap()).unwrap().unwrap();
                (i.email.to_string(), i.status)
            })
            .collect();
        invitations.sort_by(|a, b| a.0.cmp(&b.0));
        let deployments = storage::deployments::list(conn, org, 10_000, 0)
            .unwrap()
            .into_iter()
            .map(|r| (r.deployment.id.to_string(), r.deployment.name))
            .collect();
        let events = storage::audit::all_of_org(conn, org).unwrap().into_iter().map(|e| (e.body.action, e.hash)).collect();
        Snapshot { name, members, invitations, deployments, events }
    })
    .await
}

/// Every GET and POST route that names an id, with these ids (which need not be UUIDs).
fn id_routes(org: &str, member: &str, member_email: &str, invitation: &str, deployment: &str) -> Vec<Request> {
    let m = format!("/orgs/{org}/members/{member}");
    vec![
        (Get, format!("/orgs/{org}/invitations/{invitation}/resend"), vec![]),
        (Post, format!("/orgs/{org}/invitations/{invitation}/resend"), vec![]),
        (Post, format!("/orgs/{org}/invitations/{invitation}/cancel"), vec![]),
        (Get, format!("{m}/edit"), vec![]),
        (Post, m.clone(), owned(&[("role", "admin")])),
        (Post, m.clone(), owned(&[("role", "viewer")])),
        (Get, format!("{m}/deactivate"), vec![]),
        (Post, format!("{m}/deactivate"), vec![]),
        (Post, format!("{m}/activate"), vec![]),
        (Get, format!("{m}/remove"), vec![]),
        (Post, format!("{m}/remove"), owned(&[("confirm_email", member_email)])),
        (Post, format!("/orgs/{org}/deployments/{deployment}"), owned(&[("name", "hijacked")])),
        (Post, format!("/orgs/{org}/deployments/{deployment}/delete"), vec![]),
    ]
}

/// Every route in an organization's own path that names no id (`org` need not be a UUID).
fn org_routes(org: &str, member: &str, org_name: &str) -> Vec<Request> {
    vec![
        (Get, format!("/orgs/{org}"), vec![]),
        (Get, format!("/orgs/{org}/members"), vec![]),
        (Get, format!("/orgs/{org}/invitations"), vec![]),
        (Get, format!("/orgs/{org}/invitations/new"), vec![]),
        (Post, format!("/orgs/{org}/invitations"), owned(&[("email", "mole@example.com"), ("role", "admin")])),
        (Get, format!("/orgs/{org}/invitations/bulk"), vec![]),
        (Post, format!("/orgs/{org}/invitations/bulk"), owned(&[("rows", "mole@example.com,admin")])),
        (Post, format!("/orgs/{org}/invitations/bulk/send"), owned(&[("email", "mole@example.com"), ("role", "admin")])),
        (Get, format!("/orgs/{org}/settings"), vec![]),
        (Post, format!("/orgs/{org}/settings"), owned(&[("name", "Hijacked")])),
        (Post, format!("/orgs/{org}/settings/two-factor"), owned(&[("required", "on")])),
        (Post, format!("/orgs/{org}/transfer"), owned(&[("account", member)])),
        (Post, format!("/orgs/{org}/leave"), vec![]),
        (Post, format!("/orgs/{org}/delete"), owned(&[("confirm_name", org_name)])),
        (Get, format!("/orgs/{org}/deployments"), vec![]),
        (Post, format!("/orgs/{org}/deployments"), owned(&[("name", "intruder"), ("region", "eu-west-1")])),
    ]
}
