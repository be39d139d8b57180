//! The mail outbox: an email is saved with the change that sends it and delivered in the
//! background, once, whatever the mail server does meanwhile; a restart loses nothing; a sent
//! message keeps no body; a message whose link died is not sent; a resend replaces the message
//! not sent yet; the member list, the invitation history and the API say where an email stands.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, NewKey, TestApp};
use crate::support::api::Api;
use crate::support::smtp::SmtpServer;

/// How many messages the SMTP server accepted for `to`.
fn deliveries_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.delivered().iter().filter(|m| m.to.iter().any(|t| t == to)).count()
}

/// Waits until the SMTP server has accepted a message for `to` (retries wait up to 10 s).
async fn wait_for_delivery(smtp: &SmtpServer, to: &str) {
    let deadline = Instant::now() + Duration::from_secs(45);
    while deliveries_to(smtp, to) == 0 {
        assert!(Instant::now() < deadline, "no message for {to} was delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until an attempt to send the newest message to `to` has failed.
async fn wait_for_failed_attempt(app: &TestApp, to: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = app.outbox_rows(to).await;
        if rows.last().is_some_and(|m| m.attempts > 0) {
            return;
        }
        assert!(Instant::now() < deadline, "no failed attempt for {to}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Status cell of `email`'s row on the member list, and the title of its delivery badge.
async fn member_list_status(owner: &crate::helpers::Client, org: steward::domain::OrgId, email: &str) -> (String, Option<String>) {
    let page = owner.get(&format!("/orgs/{org}/members")).await;
    page.assert_status(200);
    let cell = page.texts(&format!("tr[data-email='{email}'] td:nth-child(2)")).pop().expect("the invitation's row");
    let selector = scraper::Selector::parse(&format!("tr[data-email='{email}'] .delivery")).expect("selector");
    let title = page.html().select(&selector).next().and_then(|e| e.value().attr("title").map(str::to_owned));
    (cell, title)
}

async fn an_invitation_is_saved_while_the_mail_server_refuses_and_delivered_once_it_is_back(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;

    // the invitation does not wait for the mail server
    owner.invite(org, "bob@example.com", "viewer").await;
    assert_eq!(app.count("invitations").await, 1);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);

    wait_for_failed_attempt(&app, "bob@example.com").await;
    let (cell, title) = member_list_status(&owner, org, "bob@example.com").await;
    assert_eq!(cell, "Pending Invitation Delivery failed, retrying");
    let title = title.expect("the failure on hover");
    assert!(title.contains("550"), "the mail server's answer: {title}");
    assert!(!title.contains("/invitations/"), "no link in the title: {title}");
    let history = owner.get(&format!("/orgs/{org}/invitations")).await;
    assert!(history.texts("tr[data-email='bob@example.com'] td:nth-child(3)")[0].starts_with("Pending Delivery failed, retrying"));
    let failed = app.outbox_rows("bob@example.com").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].sent_at.is_none() && failed[0].body.is_some() && failed[0].last_error.is_some());
    assert!(failed[0].next_attempt_at > failed[0].created_at, "the retry waits");

    smtp.refuse_all(false);
    wait_for_delivery(&smtp, "bob@example.com").await;
    let mail = smtp.wait_for_mail("bob@example.com", "/invitations/").await;
    let token = mail.invitation_token().expect("a link");
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);
    // a while longer: nothing is sent twice
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(deliveries_to(&smtp, "bob@example.com"), 1, "delivered exactly once");

    let sent = app.outbox_rows("bob@example.com").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].sent_at.is_some(), "marked sent");
    assert!(sent[0].body.is_none(), "the body, with its token, is gone once delivered");
    assert!(sent[0].claimed_until.is_none());
    let (cell, title) = member_list_status(&owner, org, "bob@example.com").await;
    assert_eq!((cell.as_str(), title), ("Pending Invitation", None), "nothing to say once sent");
    app.stop().await;
}

async fn a_sent_message_keeps_no_body(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    app.outbox_token_for("bob@example.com").await;
    let rows = app.outbox_rows("bob@example.com").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, "invitation");
    assert!(rows[0].sent_at.is_some() && rows[0].body.is_none() && rows[0].attempts == 0);
    assert!(rows[0].expires_at.is_some(), "it carries the invitation's expiry");
    // the verification link of the sign-up too
    let ada = app.outbox_rows("ada@example.com").await;
    assert_eq!(ada.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(), vec!["verification"]);
    assert!(ada.iter().all(|m| m.sent_at.is_some() && m.body.is_none()));

    // the housekeeping deletes sent rows once they are old enough, not before
    let prune = |before: chrono::NaiveDateTime| {
        app.with_db(move |db| steward::storage::outbox::delete_finished_before(&mut db.conn().expect("conn"), before).expect("prune"))
    };
    let now = steward::storage::now();
    assert_eq!(prune(now - steward::storage::outbox::FINISHED_RETENTION).await, 0);
    assert_eq!(prune(now + chrono::Duration::minutes(1)).await, 2);
    assert_eq!(app.count("outbox").await, 0);
}

async fn a_queued_message_goes_out_after_a_restart(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let mut first = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = first.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    wait_for_failed_attempt(&first, "bob@example.com").await;
    first.stop_server().await;

    // a new server on the same database finds the message and sends it
    smtp.refuse_all(false);
    let app = TestApp::builder().smtp(&smtp.url()).beside(&first).spawn(backend).await;
    wait_for_delivery(&smtp, "bob@example.com").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(deliveries_to(&smtp, "bob@example.com"), 1);
    let rows = app.outbox_rows("bob@example.com").await;
    assert!(rows[0].sent_at.is_some() && rows[0].body.is_none());
    app.stop().await;
    first.stop().await;
}

async fn a_message_whose_link_expired_undelivered_is_not_sent_and_its_body_is_deleted(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named("script").permissions("read_write")).await;
    let api = Api::with_key(&app, &secret).await;
    owner.invite(org, "bob@example.com", "viewer").await;
    wait_for_failed_attempt(&app, "bob@example.com").await;
    let listed = api.get("/invitations").await;
    listed.expect(200);
    assert_eq!(listed.data()[0]["delivery"], "retrying");

    // its link expires before the mail server is back
    app.with_db(|db| {
        use diesel::prelude::*;
        use steward::storage::schema::outbox as o;
        let past = steward::storage::now() - chrono::Duration::minutes(1);
        diesel::update(o::table.filter(o::recipient.eq("bob@example.com")))
            .set(o::expires_at.eq(Some(past)))
            .execute(&mut *db.conn().expect("conn"))
            .expect("expire the message");
    })
    .await;
    smtp.refuse_all(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.outbox_rows("bob@example.com").await[0].expired_at.is_none() {
        assert!(Instant::now() < deadline, "the message was not expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(deliveries_to(&smtp, "bob@example.com"), 0, "a dead link is not mailed");
    let rows = app.outbox_rows("bob@example.com").await;
    assert!(rows[0].sent_at.is_none() && rows[0].body.is_none(), "its body is deleted");
    assert_eq!(api.get("/invitations").await.expect(200).data()[0]["delivery"], "expired");
    let (cell, _) = member_list_status(&owner, org, "bob@example.com").await;
    assert_eq!(cell, "Pending Invitation Email not delivered");

    // the sweep the housekeeping calls finds nothing more to do
    let swept = app
        .with_db(|db| steward::storage::outbox::expire_overdue(&mut db.conn().expect("conn"), steward::storage::now()).expect("sweep"))
        .await;
    assert_eq!(swept, 0);
    app.stop().await;
}

async fn a_resend_replaces_the_message_not_sent_yet(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    wait_for_failed_attempt(&app, "bob@example.com").await;
    let old = app.outbox_rows("bob@example.com").await;

    let id = app.invitation_id(org, "bob@example.com").await;
    owner.post(&format!("/orgs/{org}/invitations/{id}/resend"), &[]).await.assert_status(303);
    let rows = app.outbox_rows("bob@example.com").await;
    assert_eq!(rows.len(), 1, "the old message is gone");
    assert_ne!(rows[0].id, old[0].id);

    smtp.refuse_all(false);
    wait_for_delivery(&smtp, "bob@example.com").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let delivered: Vec<_> = smtp.delivered().into_iter().filter(|m| m.to.iter().any(|t| t == "bob@example.com")).collect();
    assert_eq!(delivered.len(), 1, "only the new link is mailed");
    let token = delivered[0].invitation_token().expect("a link");
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);
    app.stop().await;
}

async fn a_cancelled_invitation_is_not_mailed_any_more(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    wait_for_failed_attempt(&app, "bob@example.com").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(303);
    assert!(app.outbox_rows("bob@example.com").await.is_empty(), "the unsent message is dropped with its link");
    smtp.refuse_all(false);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(deliveries_to(&smtp, "bob@example.com"), 0);
    app.stop().await;
}

async fn a_message_waiting_for_its_first_attempt_reads_email_queued(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named("script").permissions("read_write")).await;
    let api = Api::with_key(app, &secret).await;
    let created = api.post("/invitations", &json!({ "email": "bob@example.com", "role": "viewer" })).await;
    created.expect(201);
    app.mail_settled().await;
    assert_eq!(api.get("/invitations").await.expect(200).data()[0]["delivery"], "sent");

    // a message not tried yet (held back here, as a busy worker would)
    owner.invite(org, "carl@example.com", "viewer").await;
    app.mail_settled().await;
    app.with_db(|db| {
        use diesel::prelude::*;
        use steward::storage::schema::outbox as o;
        let later = steward::storage::now() + chrono::Duration::hours(1);
        diesel::update(o::table.filter(o::recipient.eq("carl@example.com")))
            .set((o::sent_at.eq(None::<chrono::NaiveDateTime>), o::next_attempt_at.eq(later)))
            .execute(&mut *db.conn().expect("conn"))
            .expect("hold the message back");
    })
    .await;
    let (cell, title) = member_list_status(&owner, org, "carl@example.com").await;
    assert_eq!(cell, "Pending Invitation Email queued");
    assert_eq!(title.as_deref(), Some("Waiting to be sent"));
    let listed = api.get("/invitations").await;
    let carl = listed.data().iter().find(|i| i["email"] == "carl@example.com").expect("carl's invitation").clone();
    assert_eq!(carl["delivery"], "queued");
    let (cell, _) = member_list_status(&owner, org, "bob@example.com").await;
    assert_eq!(cell, "Pending Invitation", "a sent one says nothing");
}

async fn two_workers_never_claim_the_same_message(app: &TestApp) {
    use steward::storage::outbox::{self, Kind, NewMessage};
    // queued an hour ahead, so that the app's own worker leaves them alone
    let later = steward::storage::now() + chrono::Duration::hours(1);
    app.with_db(move |db| {
        let mut conn = db.conn().expect("conn");
        for i in 0..20 {
            let m = NewMessage {
                kind: Kind::SecurityNotice,
                recipient: format!("user{i}@example.com"),
                envelope_from: Some("steward@localhost".into()),
                body: b"Subject: hello\r\n\r\nhello\r\n".to_vec(),
                invitation: None,
                expires_at: None,
            };
            outbox::queue(&mut conn, &m, later).expect("queue");
        }
    })
    .await;
    let claimer = || {
        let db = app.db.clone();
        tokio::task::spawn_blocking(move || {
            let now = steward::storage::now() + chrono::Duration::hours(2);
            let mut mine = Vec::new();
            loop {
                let claimed = db
                    .write(|conn| outbox::claim_due(conn, now, now + chrono::Duration::minutes(15), 3).map_err(steward::storage::DbError::from))
                    .expect("claim");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|m| m.id));
            }
        })
    };
    let (a, b) = (claimer(), claimer());
    let (a, b) = (a.await.expect("claimer"), b.await.expect("claimer"));
    let mut all: Vec<String> = a.iter().chain(b.iter()).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), a.len() + b.len(), "no message claimed twice");
    assert_eq!(all.len(), 20, "every message claimed once");
}

crate::on_both_backends!(
    two_workers_never_claim_the_same_message,
    a_sent_message_keeps_no_body,
    a_message_waiting_for_its_first_attempt_reads_email_queued,
    an_invitation_is_saved_while_the_mail_server_refuses_and_delivered_once_it_is_back(backend),
    a_queued_message_goes_out_after_a_restart(backend),
    a_message_whose_link_expired_undelivered_is_not_sent_and_its_body_is_deleted(backend),
    a_resend_replaces_the_message_not_sent_yet(backend),
    a_cancelled_invitation_is_not_mailed_any_more(backend),
);
