//! `steward seed`: a synthetic organization the console, the audit chain and a second run accept.

use diesel::prelude::*;
use steward::storage::schema::{accounts, invitations, memberships};
use steward::domain::OrgId;
use steward::seed::{Options, Report};
use steward::storage::audit::{ACTIONS, GENESIS_HASH};

use crate::helpers::{PASSWORD, TestApp};

/// Seeds an organization of `members` and `events` on the app's database; the owner's
/// password is the test password unless `password` is None (then one is generated).
async fn seed(app: &TestApp, members: usize, events: usize, password: Option<&str>) -> Report {
    let options = Options {
        members,
        events,
        org_name: "Seeded Org".into(),
        owner_password: password.map(str::to_owned),
    };
    app.with_db(move |db| steward::seed::run(db, &options).expect("seed")).await
}

fn org_of(report: &Report) -> OrgId {
    report.org_id.parse().expect("the report names the organization")
}

/// Role and status of every membership of `org`.
async fn memberships_of(app: &TestApp, org: OrgId) -> Vec<(String, String)> {
    app.with_db(move |db| {
        memberships::table
            .filter(memberships::org_id.eq(org.to_string()))
            .select((memberships::role, memberships::status))
            .load(&mut *db.conn().unwrap())
            .unwrap()
    })
    .await
}

/// Walks the organization's chain as `steward audit verify` does; returns its actions.
async fn valid_chain(app: &TestApp, org: OrgId) -> Vec<steward::storage::audit::Event> {
    let events = app.events(org).await;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut prev_time = None;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "the chain has no gaps");
        assert_eq!(e.prev_hash, prev_hash, "event {} links to the one before", e.seq);
        assert_eq!(e.hash, e.compute_hash(), "event {} matches its hash", e.seq);
        assert!(prev_time <= Some(e.body.occurred_at), "event {} is not older than the one before", e.seq);
        prev_hash = e.hash.clone();
        prev_time = Some(e.body.occurred_at);
    }
    events
}

async fn seeding_makes_one_organization_of_the_requested_size(app: &TestApp) {
    let report = seed(app, 300, 2_000, Some(PASSWORD)).await;
    let org = org_of(&report);
    assert_eq!((report.members, report.events), (300, 2_000));
    assert_eq!(report.owner_email, "seed-owner@example.com");
    assert_eq!(report.generated_password, None);

    let members = memberships_of(app, org).await;
    assert_eq!(members.len(), 300);
    let count = |role: &str| members.iter().filter(|(r, _)| r == role).count();
    assert_eq!(count("owner"), 1, "exactly one owner");
    assert!(count("admin") >= 1 && count("admin") < count("editor"), "{members:?}");
    assert!(count("editor") < count("viewer"));
    let inactive = members.iter().filter(|(_, s)| s == "inactive").count();
    assert!((1..60).contains(&inactive), "about 8% inactive, got {inactive}");
    assert_eq!(app.count("audit_events").await, 2_000);

    let (copies_match, invitations, distinct_emails) = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            // the member list's copies of email and name are the account's
            let copies_match: i64 = memberships::table
                .inner_join(accounts::table)
                .filter(memberships::org_id.eq(org.to_string()))
                .filter(memberships::email.eq(accounts::email))
                .filter(memberships::name.eq(accounts::name))
                .count()
                .get_result(&mut conn)
                .unwrap();
            let invitations: Vec<(String, String)> = invitations::table
                .filter(invitations::org_id.eq(org.to_string()))
                .select((invitations::status, invitations::token_hash))
                .load(&mut conn)
                .unwrap();
            let emails: Vec<String> = accounts::table.select(accounts::email).load(&mut conn).unwrap();
            let distinct_emails = emails.iter().collect::<std::collections::HashSet<_>>().len();
            (copies_match, invitations, distinct_emails)
        })
        .await;
    assert_eq!(copies_match, 300);
    assert_eq!(distinct_emails, 300);
    assert_eq!(invitations.len(), report.invitations);
    assert!(invitations.len() >= 2, "a few invitations");
    assert!(invitations.iter().all(|(status, hash)| status == "pending" && hash.len() == 64));
}

async fn the_seeded_audit_log_is_a_valid_chain_of_product_actions(app: &TestApp) {
    let report = seed(app, 300, 2_000, Some(PASSWORD)).await;
    let events = valid_chain(app, org_of(&report)).await;
    assert_eq!(events.len(), 2_000);
    assert_eq!(events[0].body.action, "org.created");
    assert_eq!(events[0].body.actor_email.as_deref(), Some("seed-owner@example.com"));
    assert!(events.iter().all(|e| ACTIONS.contains(&e.body.action.as_str())), "only the product's audit actions");
    assert!(events.iter().all(|e| serde_json::from_str::<serde_json::Value>(&e.body.details).is_ok()));
    for action in ["member.invited", "invitation.accepted", "member.role_changed", "deployment.created"] {
        assert!(events.iter().any(|e| e.body.action == action), "a realistic mix includes {action}");
    }
    let role_change = events.iter().find(|e| e.body.action == "member.role_changed").unwrap();
    let details: serde_json::Value = serde_json::from_str(&role_change.body.details).unwrap();
    assert!(details["old_role"].is_string() && details["new_role"].is_string());
    assert_ne!(details["old_role"], details["new_role"]);
    assert!(role_change.body.target_email.as_deref().is_some_and(|e| e.ends_with("@seed.example")));
    assert!(events.iter().any(|e| e.body.actor_kind == "api_key"));
    assert!(events.iter().all(|e| e.body.ip.is_some() && e.body.user_agent.is_some()));

    let verified = app.with_db(|db| steward::operations::audit::verify(db).expect("verify")).await;
    assert!(verified.is_intact(), "{verified}");
}

async fn the_seeded_owner_signs_in_and_sees_the_organization(app: &TestApp) {
    let report = seed(app, 300, 2_000, Some(PASSWORD)).await;
    let org = org_of(&report);
    let client = app.client();
    let signed_in = client.sign_in(&report.owner_email, PASSWORD).await;
    signed_in.assert_status(303);
    assert_eq!(signed_in.location.as_deref(), Some(format!("/orgs/{org}/members").as_str()));

    let members = client.get(&format!("/orgs/{org}/members")).await;
    members.assert_status(200);
    // the 300 members and the pending or expired invitations, 50 a page
    assert_eq!(members.texts(".pagination .muted"), vec![format!("1–50 of {}", 300 + report.invitations)]);
    client.get(&format!("/orgs/{org}/audit")).await.assert_status(200);
    client.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
}

async fn seeding_again_makes_another_organization_with_the_next_owner(app: &TestApp) {
    let first = seed(app, 50, 100, Some(PASSWORD)).await;
    let second = seed(app, 50, 100, None).await;
    assert_ne!(first.org_id, second.org_id);
    assert_eq!(first.owner_email, "seed-owner@example.com");
    assert_eq!(second.owner_email, "seed-owner+2@example.com");
    assert_eq!(app.count("accounts").await, 100, "no account is shared between runs");
    for report in [&first, &second] {
        assert_eq!(memberships_of(app, org_of(report)).await.len(), 50);
        assert_eq!(valid_chain(app, org_of(report)).await.len(), 100);
    }
    let verified = app.with_db(|db| steward::operations::audit::verify(db).expect("verify")).await;
    assert!(verified.is_intact(), "{verified}");

    // the generated password is reported once, and it works
    let password = second.generated_password.clone().expect("a generated password");
    let client = app.client();
    client.sign_in(&second.owner_email, &password).await.assert_status(303);
    client.get(&format!("/orgs/{}/members", second.org_id)).await.assert_status(200);
}

async fn the_smallest_seed_is_an_owner_and_the_creation_of_the_organization(app: &TestApp) {
    let report = seed(app, 0, 0, Some(PASSWORD)).await;
    assert_eq!((report.members, report.invitations, report.events), (1, 0, 1));
    let events = valid_chain(app, org_of(&report)).await;
    assert_eq!(events.iter().map(|e| e.body.action.as_str()).collect::<Vec<_>>(), ["org.created"]);
    assert_eq!(memberships_of(app, org_of(&report)).await, vec![("owner".to_string(), "active".to_string())]);
    assert_eq!(app.count("audit_events").await, 1);
}

async fn seeding_refuses_a_weak_owner_password_and_writes_nothing(app: &TestApp) {
    let options =
        Options { members: 10, events: 10, org_name: "Seeded Org".into(), owner_password: Some("short".into()) };
    let error = app.with_db(move |db| steward::seed::run(db, &options).map(|_| ())).await.unwrap_err();
    assert!(error.to_string().contains("at least 12 characters"), "{error}");
    assert_eq!(app.count("organizations").await, 0);
    assert_eq!(app.count("accounts").await, 0);
}

crate::on_both_backends!(
    seeding_makes_one_organization_of_the_requested_size,
    the_seeded_audit_log_is_a_valid_chain_of_product_actions,
    the_seeded_owner_signs_in_and_sees_the_organization,
    seeding_again_makes_another_organization_with_the_next_owner,
    the_smallest_seed_is_an_owner_and_the_creation_of_the_organization,
    seeding_refuses_a_weak_owner_password_and_writes_nothing,
);
