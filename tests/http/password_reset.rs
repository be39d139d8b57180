//! Password reset: a mailed, single-use link that sets a new password and ends every session;
//! the same answer whether or not the address has an account.

use std::time::Duration;

use steward::config::Rate;

use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::support::smtp::SmtpServer;

async fn the_answer_is_the_same_whether_or_not_the_address_has_an_account(app: &TestApp) {
    app.sign_up("ada@example.com", "Acme").await.0.sign_out().await;
    let client = app.client();
    let form = client.get("/login").await;
    assert!(form.contains(r#"href="/password/forgot""#), "the sign-in page links to the reset");

    let known = client.post("/password/forgot", &[("email", " Ada@Example.com ")]).await;
    let unknown = client.post("/password/forgot", &[("email", "nobody@example.com")]).await;
    for answer in [&known, &unknown] {
        answer.assert_status(303);
        assert_eq!(answer.location.as_deref(), Some("/password/forgot"));
    }
    let page = client.get("/password/forgot").await;
    assert!(page.contains("If an account exists for"), "{}", page.body);

    app.wait_for_link("ada@example.com", "/password/reset/").await;
    assert!(app.outbox().await.iter().all(|m| !m.contains("nobody@example.com")), "no mail for an unknown address");

    let bad = client.post("/password/forgot", &[("email", "not an email")]).await;
    bad.assert_status(422);
    assert!(bad.contains("valid email address"));
}

async fn a_reset_link_sets_a_new_password_once_and_ends_every_session(app: &TestApp) {
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let elsewhere = app.client();
    elsewhere.sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    app.client().post("/password/forgot", &[("email", "ada@example.com")]).await.assert_status(303);
    let token = app.wait_for_link("ada@example.com", "/password/reset/").await;
    let stored: Vec<String> = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::account_tokens::dsl::*;
            account_tokens.filter(purpose.eq("reset_password")).select(token_hash).load(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    assert_eq!(stored, vec![steward::crypto::sha256_hex(token.as_bytes())], "stored only as a hash");

    let visitor = app.client();
    let form = visitor.get(&format!("/password/reset/{token}")).await;
    form.assert_status(200);
    assert!(form.contains("ada@example.com") && form.contains("Choose a new password"));
    let short = visitor.post(&format!("/password/reset/{token}"), &[("password", "short")]).await;
    short.assert_status(422);
    assert!(short.contains("at least 12 characters"));

    let done = visitor.post(&format!("/password/reset/{token}"), &[("password", "a-brand-new-password")]).await;
    done.assert_status(303);
    assert_eq!(done.location.as_deref(), Some("/login"));
    assert!(visitor.get("/login").await.contains("Your password has been reset"));

    // every session of the account is over
    for client in [&ada, &elsewhere] {
        let page = client.get("/profile").await;
        page.assert_status(303);
        assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/login")));
    }
    app.client().sign_in("ada@example.com", PASSWORD).await.assert_status(422);
    app.client().sign_in("ada@example.com", "a-brand-new-password").await.assert_status(303);

    // single use
    let reused = app.client().post(&format!("/password/reset/{token}"), &[("password", "yet-another-password")]).await;
    reused.assert_status(410);
    assert!(reused.contains("already been used"));
    app.client().sign_in("ada@example.com", "yet-another-password").await.assert_status(422);

    // the owner is told
    let notice = app.outbox().await.into_iter().find(|m| m.contains("Your Steward password was changed"));
    assert!(notice.is_some_and(|m| m.contains("was reset")));
}

async fn an_unknown_or_expired_link_gets_a_clear_page(backend: Backend) {
    let app = TestApp::builder().reset_ttl(Duration::from_secs(1)).spawn(backend).await;
    app.sign_up("ada@example.com", "Acme").await;
    let unknown = app.client().get(&format!("/password/reset/{}", "x".repeat(43))).await;
    unknown.assert_status(404);
    assert!(unknown.contains("This link is not valid") && unknown.contains("Forgot password?"));

    app.client().post("/password/forgot", &[("email", "ada@example.com")]).await.assert_status(303);
    let token = app.wait_for_link("ada@example.com", "/password/reset/").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = app.client().get(&format!("/password/reset/{token}")).await;
    expired.assert_status(410);
    assert!(expired.contains("This link has expired"));
    let refused = app.client().post(&format!("/password/reset/{token}"), &[("password", "a-brand-new-password")]).await;
    refused.assert_status(410);
    app.client().sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    app.stop().await;
}

async fn a_newer_link_replaces_the_older(app: &TestApp) {
    app.sign_up("ada@example.com", "Acme").await;
    app.client().post("/password/forgot", &[("email", "ada@example.com")]).await;
    let first = app.wait_for_link("ada@example.com", "/password/reset/").await;
    app.client().post("/password/forgot", &[("email", "ada@example.com")]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let second = loop {
        let newest = app.wait_for_link("ada@example.com", "/password/reset/").await;
        if newest != first {
            break newest;
        }
        assert!(std::time::Instant::now() < deadline, "no second link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    app.client().get(&format!("/password/reset/{first}")).await.assert_status(410);
    app.client().get(&format!("/password/reset/{second}")).await.assert_status(200);
}

async fn reset_requests_are_limited_per_address_and_per_email(backend: Backend) {
    let app = TestApp::builder()
        .limit_password_resets_per_email(Rate::per_hour(2))
        .limit_password_resets_per_address(Rate::per_hour(5))
        .spawn(backend)
        .await;
    let client = app.client();
    for _ in 0..2 {
        client.post("/password/forgot", &[("email", "ada@example.com")]).await.assert_status(303);
    }
    let refused = client.post("/password/forgot", &[("email", "ADA@example.com")]).await;
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    // another address typed still goes, until the client's own limit (the refused request
    // above counted against it too: the address is checked first)
    for i in 0..2 {
        client.post("/password/forgot", &[("email", &format!("other-{i}@example.com"))]).await.assert_status(303);
    }
    client.post("/password/forgot", &[("email", "last@example.com")]).await.assert_status(429);
    app.stop().await;
}

async fn the_reset_link_goes_out_over_smtp(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    app.sign_up("ada@example.com", "Acme").await;
    app.client().post("/password/forgot", &[("email", "ada@example.com")]).await.assert_status(303);
    let mail = smtp.wait_for_mail("ada@example.com", "/password/reset/").await;
    let text = mail.decoded();
    assert!(text.contains("Subject: Reset your Steward password"), "{text}");
    assert!(text.contains("http://127.0.0.1:8080/password/reset/"));
    app.stop().await;
}

crate::on_both_backends!(
    the_answer_is_the_same_whether_or_not_the_address_has_an_account,
    a_reset_link_sets_a_new_password_once_and_ends_every_session,
    an_unknown_or_expired_link_gets_a_clear_page(backend),
    a_newer_link_replaces_the_older,
    reset_requests_are_limited_per_address_and_per_email(backend),
    the_reset_link_goes_out_over_smtp(backend),
);
