//! Bad input on every form is refused with a 4xx, never a 500, and changes nothing.
//!
//! Malformed emails, roles that cannot be granted, 10 KB fields, malformed ids in every
//! position, 300 KB bodies.

use steward::domain::Role;

use crate::helpers::{Client, TestApp};

use super::{Post, Request, id_routes, org_routes, owned, send, snapshot, summary};

/// Rows in each table a refused request must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    accounts: i64,
    organizations: i64,
    memberships: i64,
    invitations: i64,
    deployments: i64,
    audit_events: i64,
}

async fn counts(app: &TestApp) -> Counts {
    Counts {
        accounts: app.count("accounts").await,
        organizations: app.count("organizations").await,
        memberships: app.count("memberships").await,
        invitations: app.count("invitations").await,
        deployments: app.count("deployments").await,
        audit_events: app.count("audit_events").await,
    }
}

async fn bad_input_gets_422_or_404_and_changes_nothing(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let target = app.add_member_who_never_signs_in(org, "target@example.com", Role::Viewer).await;
    owner.invite(org, "invitee@example.com", "viewer").await;
    let invitation = app.invitation_id(org, "invitee@example.com").await;
    owner.create_deployment(org, "web-1", "eu-west-1").await;
    let deployment = app.deployment_id(org, "web-1").await;
    let before = counts(app).await;
    let before_snapshot = snapshot(app, org).await;

    let ten_kb = "n".repeat(10 * 1024);
    let huge = "x".repeat(300 * 1024);
    let too_big: &'static [u16] = &[400, 413, 422];
    let long_email = format!("{}@example.com", "x".repeat(300));
    let ten_kb_email = format!("{}@example.com", "x".repeat(10 * 1024));

    // (method, path, fields, the statuses that are right)
    let mut attempts: Vec<(Request, &'static [u16])> = Vec::new();
    let unprocessable: &'static [u16] = &[422];
    let not_found: &'static [u16] = &[404];

    // malformed emails
    let bad_emails = [
        "",
        "   ",
        "no-at",
        "a@b",
        long_email.as_str(),
        "a b@example.com",
        "@example.com",
        "a@@example.com",
        "a@.com",
        "<a@example.com>",
        "a@example.com,b@example.com",
        ten_kb_email.as_str(),
    ];
    for email in bad_emails {
        attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", email), ("role", "viewer")])), unprocessable));
    }
    // unknown or ungrantable roles
    for (i, role) in ["owner", "superuser", "", "OWNER", "Admin", " root ", ten_kb.as_str()].into_iter().enumerate() {
        let email = format!("new-{i}@example.com");
        attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", &email), ("role", role)])), unprocessable));
    }
    attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", "new@example.com")])), unprocessable));
    // role changes to what cannot be granted
    for role in ["owner", "root", "", "OWNER", ten_kb.as_str()] {
        attempts.push(((Post, format!("/orgs/{org}/members/{target}"), owned(&[("role", role)])), unprocessable));
    }
    // 10 KB fields
    attempts.extend([
        ((Post, format!("/orgs/{org}/settings"), owned(&[("name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/settings"), owned(&[("name", "   ")])), unprocessable),
        ((Post, format!("/orgs/{org}/settings/two-factor"), owned(&[("required", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/settings/two-factor"), owned(&[("required", "yes please")])), unprocessable),
        ((Post, "/profile/two-factor".to_string(), owned(&[("code", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments"), owned(&[("name", &ten_kb), ("region", "eu-west-1")])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments"), owned(&[("name", "web-2"), ("region", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments/{deployment}"), owned(&[("name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/members/{target}/remove"), owned(&[("confirm_email", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/delete"), owned(&[("confirm_name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", "not-a-uuid")])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", "")])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", &uuid::Uuid::new_v4().to_string())])), unprocessable),
        ((Post, "/profile".to_string(), owned(&[("name", &ten_kb)])), unprocessable),
    ]);
    // 300 KB bodies are tried below, outside this list: they need their own client call
    let big_bodies: Vec<(String, &str)> = vec![
        (format!("/orgs/{org}/settings"), "name"),
        (format!("/orgs/{org}/settings/two-factor"), "required"),
        ("/profile/two-factor".to_string(), "code"),
        (format!("/orgs/{org}/invitations"), "email"),
        (format!("/orgs/{org}/deployments"), "name"),
        (format!("/orgs/{org}/deployments/{deployment}"), "name"),
        (format!("/orgs/{org}/members/{target}"), "role"),
        (format!("/orgs/{org}/members/{target}/remove"), "confirm_email"),
        (format!("/orgs/{org}/transfer"), "account"),
        (format!("/orgs/{org}/delete"), "confirm_name"),
        ("/profile".to_string(), "name"),
    ];

    // malformed (and unknown) UUIDs in every id position
    let bad_ids = [
        "not-a-uuid".to_string(),
        "1".to_string(),
        "00000000-0000-0000-0000-00000000000g".to_string(),
        format!("{}0", uuid::Uuid::new_v4()),
        "%27%3B%20DROP%20TABLE%20memberships%3B--".to_string(),
        "%00".to_string(),
        "x".repeat(1000),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::nil().to_string(),
    ];
    let (org_s, target_s, invitation_s, deployment_s) =
        (org.to_string(), target.to_string(), invitation.to_string(), deployment.to_string());
    for bad in &bad_ids {
        // in the {org} position
        for request in org_routes(bad, &target_s, "Acme") {
            attempts.push((request, not_found));
        }
        for request in id_routes(bad, &target_s, "target@example.com", &invitation_s, &deployment_s) {
            attempts.push((request, not_found));
        }
        // in the {account} and {id} positions of a real organization
        for request in id_routes(&org_s, bad, "target@example.com", bad, bad) {
            attempts.push((request, not_found));
        }
        attempts.push(((Post, format!("/profile/invitations/{bad}/accept"), vec![]), not_found));
        attempts.push(((Post, format!("/profile/invitations/{bad}/decline"), vec![]), not_found));
    }

    let mut mismatches = Vec::new();
    let mut server_errors = Vec::new();
    for ((method, path, fields), right) in &attempts {
        let page = send(&owner, *method, path, fields).await;
        let shown_path: String = path.chars().take(120).collect();
        let shown_fields: Vec<(String, String)> =
            fields.iter().map(|(k, v)| (k.clone(), if v.len() > 60 { format!("<{} bytes>", v.len()) } else { v.clone() })).collect();
        if page.status >= 500 {
            server_errors.push(format!("{method:?} {shown_path} {shown_fields:?}: {}", summary(&page)));
        }
        if !right.contains(&page.status) {
            mismatches.push(format!("{method:?} {shown_path} {shown_fields:?}: expected one of {right:?}, got {}", summary(&page)));
        }
    }
    // a 10 KB search is cut short or refused by the HTTP layer, never a 500
    let page = owner.get(&format!("/orgs/{org}/members?q={ten_kb}&status=nope&role=root&sort=x&page=-1")).await;
    if ![200, 400, 414, 431].contains(&page.status) {
        mismatches.push(format!("GET members with a 10 KB q: got {}", summary(&page)));
    }
    let page = owner.get(&format!("/orgs/{org}/deployments?page=99999999999999999999")).await;
    if page.status != 200 {
        mismatches.push(format!("GET deployments with a huge page: got {}", summary(&page)));
    }
    assert!(server_errors.is_empty(), "500s:\n{}", server_errors.join("\n"));
    assert!(mismatches.is_empty(), "{} of {} mismatches:\n{}", mismatches.len(), attempts.len(), mismatches.join("\n"));

    assert_eq!(counts(app).await, before, "bad input changed nothing");
    assert_eq!(snapshot(app, org).await, before_snapshot, "bad input changed nothing");
    // and the session still works
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    // 300 KB bodies, with the token in the form (the CSRF check reads at most 256 KB) and in
    // the htmx header (the form extractor's limit applies). Last, because the server may leave
    // such a connection unusable (see `oversized_bodies_are_answered_with_connection_close`).
    let mut big_mismatches = Vec::new();
    for (path, field) in &big_bodies {
        for header_token in [false, true] {
            let what = format!("POST {path} with a 300 KB {field} (token in header: {header_token})");
            match post_big(&owner, path, field, &huge, header_token).await {
                Ok((status, _)) if !too_big.contains(&status) => {
                    big_mismatches.push(format!("{what}: expected one of {too_big:?}, got {status}"));
                }
                Ok(_) => {}
                Err(e) => big_mismatches.push(format!("{what}: no answer: {e}")),
            }
        }
    }
    assert_eq!(counts(app).await, before, "oversized bodies changed nothing");
    assert!(big_mismatches.is_empty(), "{} oversized-body mismatches:\n{}", big_mismatches.len(), big_mismatches.join("\n"));
}

/// An answer sent before the body was read must close the connection and say so.
///
/// A form body over 256 KB is answered 413 at once (by the CSRF check when the token is in the
/// form, by the form extractor's limit when it is in the `X-CSRF-Token` header), leaving the
/// rest of the body unread. Without `Connection: close` a client reusing the connection (a
/// pool, a browser's keep-alive) got a reset on its next request, about one in six under load:
/// a server that does not read the whole request must close the connection, and should say so
/// first. The answer now closes the connection and says so.
async fn oversized_bodies_are_answered_with_connection_close(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let huge = "x".repeat(300 * 1024);
    let mut mismatches = Vec::new();
    let routes = [
        (format!("/orgs/{org}/settings"), "name"),
        (format!("/orgs/{org}/deployments"), "name"),
        ("/profile".to_string(), "name"),
    ];
    for (path, field) in routes {
        for header_token in [false, true] {
            let what = format!("POST {path} with a 300 KB {field} (token in header: {header_token})");
            match post_big(&owner, &path, field, &huge, header_token).await {
                Ok((status, _)) if ![400, 413].contains(&status) => {
                    mismatches.push(format!("{what}: expected 400 or 413, got {status}"));
                }
                Ok((_, false)) => {
                    mismatches.push(format!("{what}: answered before reading the body, without `Connection: close`"));
                }
                Ok(_) => {}
                Err(e) => mismatches.push(format!("{what}: no answer: {e}")),
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Posts one oversized field; returns the answer's status and whether it says
/// `Connection: close`.
///
/// The server answers as soon as the body passes its limit, without reading the rest of it, and
/// drops the connection: now and then the client is still sending (or reuses the pooled
/// connection) when it goes, and gets a reset instead of an answer. A reset is retried a few
/// times (a fresh connection each time); every answer that does arrive must be right.
async fn post_big(client: &Client, path: &str, field: &str, value: &str, header_token: bool) -> Result<(u16, bool), String> {
    let token = client.csrf().await;
    let mut last_error = String::new();
    for _ in 0..5 {
        let request = client.http.post(format!("{}{path}", client.base));
        let request = if header_token {
            request.header("X-CSRF-Token", token.as_str()).form(&[(field, value)])
        } else {
            request.form(&[("csrf_token", token.as_str()), (field, value)])
        };
        match request.send().await {
            Ok(response) => {
                let closes = response
                    .headers()
                    .get("connection")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                return Ok((response.status().as_u16(), closes));
            }
            Err(e) => last_error = format!("{e:?}"),
        }
    }
    Err(last_error)
}

crate::on_both_backends!(
    bad_input_gets_422_or_404_and_changes_nothing,
    oversized_bodies_are_answered_with_connection_close,
);
