//! Two instances on one database, as behind a load balancer: the rate limits count across
//! both, a session started on one works on the other and ends on both at once, and the
//! housekeeping sweeps on one instance at a time.

use std::time::{Duration, Instant};

use serde_json::json;
use steward::config::Rate;
use steward::operations::housekeeping::{self, Settings};
use steward::storage;

use crate::helpers::{Backend, Client, NewKey, PASSWORD, Page, TestApp};
use crate::support::api::Api;

/// A first instance with `builder`'s options, and a second one beside it with the same.
async fn two_instances(builder: crate::helpers::TestAppBuilder, backend: Backend) -> (TestApp, TestApp) {
    let first = builder.clone().spawn(backend).await;
    let second = builder.beside(&first).spawn(backend).await;
    (first, second)
}

/// Stops the second instance, then the first, which owns the database.
async fn stop(first: TestApp, second: TestApp) {
    second.stop().await;
    first.stop().await;
}

/// The same browser (its cookies) talking to another instance.
fn same_browser_on(client: &Client, instance: &TestApp) -> Client {
    let mut copy = client.copy_of_cookies();
    copy.base = instance.base.clone();
    copy
}

fn assert_too_many(page: &Page, max: u64) {
    page.assert_status(429);
    let seconds: u64 = page.header("retry-after").and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!((1..=max).contains(&seconds), "Retry-After {seconds} not within 1..={max}");
}

async fn sign_in_attempts_through_either_instance_count_against_one_limit(backend: Backend) {
    let builder = TestApp::builder().limit_sign_in_per_email(Rate::per_hour(3));
    let (a, b) = two_instances(builder, backend).await;
    a.sign_up("ada@example.com", "Acme").await.0.sign_out().await;
    let (on_a, on_b) = (a.client(), b.client());
    on_a.sign_in("ada@example.com", "not-the-password").await.assert_status(422);
    on_a.sign_in("ada@example.com", "not-the-password").await.assert_status(422);
    on_b.sign_in("ada@example.com", "not-the-password").await.assert_status(422);
    // the fourth, on either instance, is over the email's limit, even with the right password
    assert_too_many(&on_a.sign_in("ada@example.com", PASSWORD).await, 1200);
    assert_too_many(&on_b.sign_in("ADA@example.com", PASSWORD).await, 1200);
    stop(a, b).await;
}

async fn invitations_through_either_instance_count_against_the_organizations_limit(backend: Backend) {
    let builder = TestApp::builder().limit_invitations_per_organization(Rate::per_hour(3));
    let (a, b) = two_instances(builder, backend).await;
    let (owner, org) = a.sign_up("ada@example.com", "Acme").await;
    let owner_on_b = same_browser_on(&owner, &b);
    owner.invite(org, "one@example.com", "viewer").await;
    owner_on_b.invite(org, "two@example.com", "viewer").await;
    owner.invite(org, "three@example.com", "viewer").await;
    let fields = [("email", "four@example.com"), ("role", "viewer")];
    assert_too_many(&owner_on_b.post(&format!("/orgs/{org}/invitations"), &fields).await, 1200);
    assert_too_many(&owner.post(&format!("/orgs/{org}/invitations"), &fields).await, 1200);
    assert_eq!(a.count("invitations").await, 3, "the refused invitations were not made");
    stop(a, b).await;
}

async fn an_api_keys_requests_through_either_instance_count_against_its_limit(backend: Backend) {
    let builder = TestApp::builder().limit_api_key_requests(Rate::per_hour(3));
    let (a, b) = two_instances(builder, backend).await;
    let (owner, org) = a.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named("ci-script")).await;
    let (via_a, via_b) = (Api::with_key(&a, &secret).await, Api::with_key(&b, &secret).await);
    via_a.get("/deployments").await.expect(200);
    via_b.get("/deployments").await.expect(200);
    via_a.get("/deployments").await.expect(200);
    let refused = via_b.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await;
    refused.expect_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| (1..=1200).contains(&s))));
    via_a.get("/deployments").await.expect_error(429, "rate_limited");
    assert_eq!(a.count("deployments").await, 0);
    stop(a, b).await;
}

async fn a_session_started_on_one_instance_works_on_the_other_and_signing_out_there_ends_it(backend: Backend) {
    let (a, b) = two_instances(TestApp::builder(), backend).await;
    let (on_a, org) = a.sign_up("ada@example.com", "Acme").await;
    let on_b = same_browser_on(&on_a, &b);
    on_b.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    on_a.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    on_b.sign_out().await.assert_status(303);
    // the copy the browser held for the other instance is worthless at once
    let refused = on_a.get(&format!("/orgs/{org}/members")).await;
    refused.assert_status(303);
    assert!(refused.location.as_deref().is_some_and(|l| l.starts_with("/login")));
    assert_eq!(a.count("sessions").await, 0);
    stop(a, b).await;
}

async fn a_session_revoked_from_the_profile_on_one_instance_ends_on_the_other(backend: Backend) {
    let (a, b) = two_instances(TestApp::builder(), backend).await;
    let (laptop, _) = a.sign_up("ada@example.com", "Acme").await;
    let phone = b.client();
    phone.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    phone.get("/profile").await.assert_status(200);

    let phone_session = a
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::sessions::dsl::*;
            sessions.order(created_at.desc()).select(id).first::<String>(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    laptop.post(&format!("/profile/sessions/{phone_session}/revoke"), &[]).await.assert_status(303);
    phone.get("/profile").await.assert_status(303);
    laptop.get("/profile").await.assert_status(200);
    stop(a, b).await;
}

/// The housekeeping's settings as the test app has them.
fn settings() -> Settings {
    Settings { interval: Duration::from_secs(600), security_log_retention: Duration::from_secs(365 * 86_400) }
}

async fn a_housekeeping_round_sweeps_spent_buckets_and_timed_out_sessions(app: &TestApp) {
    let (_ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.sign_up("bob@example.com", "Globex").await;
    bob.sign_out().await;
    app.client().sign_in("bob@example.com", PASSWORD).await.assert_status(303);
    assert_eq!(app.count("sessions").await, 2);
    assert!(app.count("rate_limits").await > 0, "sign-up and sign-in took from their buckets");

    // now: the sessions hold, and so do buckets that are still recovering
    let now = storage::now();
    let swept = app.with_db(move |db| housekeeping::round(db, &settings(), "test", now).expect("round")).await;
    let swept = swept.expect("the lease was free");
    assert!(swept.iter().all(|(_, r)| r.is_ok()), "{swept:?}");
    assert_eq!(app.count("sessions").await, 2);

    // half a day later: every session has timed out, every bucket has recovered
    let later = now + chrono::Duration::hours(13);
    let swept = app.with_db(move |db| housekeeping::round(db, &settings(), "test", later).expect("round")).await;
    let swept: Vec<(&str, usize)> = swept.expect("still this holder's").into_iter().map(|(n, r)| (n, r.expect("sweep"))).collect();
    assert!(swept.contains(&("sessions", 2)), "{swept:?}");
    assert_eq!(app.count("sessions").await, 0);
    assert_eq!(app.count("rate_limits").await, 0);
}

async fn only_one_holder_gets_the_housekeeping_lease_until_it_expires(app: &TestApp) {
    let start = storage::now();
    let round = |holder: &'static str, at: chrono::Duration| async move {
        app.with_db(move |db| housekeeping::round(db, &settings(), holder, start + at).expect("round").is_some()).await
    };
    assert!(round("a", chrono::Duration::zero()).await, "the lease is free at first");
    assert!(!round("b", chrono::Duration::zero()).await, "a holds it");
    assert!(!round("b", chrono::Duration::minutes(9)).await, "a still holds it");
    assert!(round("a", chrono::Duration::minutes(9)).await, "its holder takes it again, for another interval");
    assert!(!round("b", chrono::Duration::minutes(18)).await, "a holds it until minute 19");
    assert!(round("b", chrono::Duration::minutes(20)).await, "expired, b takes it");
    assert!(!round("a", chrono::Duration::minutes(21)).await, "now b holds it");
}

async fn both_instances_run_the_housekeeping_and_one_of_them_sweeps(backend: Backend) {
    let (a, b) = two_instances(TestApp::builder().housekeeping_every(Duration::from_millis(100)), backend).await;
    a.sign_up("ada@example.com", "Acme").await;
    // the test's limits are generous: their buckets recover within a millisecond
    let deadline = Instant::now() + Duration::from_secs(20);
    while a.count("rate_limits").await > 0 {
        assert!(Instant::now() < deadline, "no round swept the recovered buckets");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(a.count("leases").await, 1, "one lease, held by one instance");
    stop(a, b).await;
}

/// Both instances write to one organization at once, through the console and the API: every
/// change is there once, with its event, in one unforked chain that `audit verify` accepts.
async fn concurrent_changes_through_both_instances_keep_one_audit_chain(backend: Backend) {
    let (a, b) = two_instances(TestApp::builder(), backend).await;
    let (owner, org) = a.sign_up("ada@example.com", "Acme").await;
    let key = owner.create_api_key(org, NewKey::named("deployer")).await;
    let owner_on_b = same_browser_on(&owner, &b);
    let mut writers = Vec::new();
    for (instance, app) in [("a", &a), ("b", &b)] {
        let api = std::sync::Arc::new(Api::with_key(app, &key).await);
        for round in 0..10 {
            let (api, name) = (api.clone(), format!("{instance}-api-{round}"));
            writers.push(tokio::spawn(async move {
                api.post("/deployments", &json!({ "name": name, "region": "us-east-1" })).await.status
            }));
        }
    }
    let path = format!("/orgs/{org}/invitations");
    let emails: Vec<String> = (0..10).map(|round| format!("person{round}@example.com")).collect();
    let console = emails.iter().enumerate().map(|(round, email)| {
        let (browser, path) = (if round % 2 == 0 { &owner } else { &owner_on_b }, &path);
        async move { browser.post(path, &[("email", email.as_str()), ("role", "viewer")]).await }
    });
    for page in futures_util::future::join_all(console).await {
        page.assert_status(303);
    }
    for writer in writers {
        assert_eq!(writer.await.expect("writer"), 201);
    }
    assert_eq!(a.count("deployments").await, 20);
    assert_eq!(a.count("invitations").await, 10);
    let report = a.with_db(|db| steward::operations::audit::verify(db).expect("verify")).await;
    assert!(report.is_intact(), "{report}");
    let events = a.events(org).await;
    assert_eq!(events.iter().filter(|e| e.body.action == "deployment.created").count(), 20);
    assert_eq!(events.iter().filter(|e| e.body.action == "member.invited").count(), 10);
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1), "one chain, no gap, no fork");
    stop(a, b).await;
}

crate::on_both_backends!(
    concurrent_changes_through_both_instances_keep_one_audit_chain(backend),
    sign_in_attempts_through_either_instance_count_against_one_limit(backend),
    invitations_through_either_instance_count_against_the_organizations_limit(backend),
    an_api_keys_requests_through_either_instance_count_against_its_limit(backend),
    a_session_started_on_one_instance_works_on_the_other_and_signing_out_there_ends_it(backend),
    a_session_revoked_from_the_profile_on_one_instance_ends_on_the_other(backend),
    a_housekeeping_round_sweeps_spent_buckets_and_timed_out_sessions,
    only_one_holder_gets_the_housekeeping_lease_until_it_expires,
    both_instances_run_the_housekeeping_and_one_of_them_sweeps(backend),
);
