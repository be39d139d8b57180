//! Changes racing each other: the rules hold, the chain never forks, nothing answers 500.

use std::time::{Duration, Instant};

use steward::domain::Role;

use crate::helpers::{Backend, TestApp};

/// Two admins remove each other while the owner deactivates one and transfers ownership to
/// the other, all at the same moment, many times over.
async fn racing_admins_and_owner_never_leave_the_organization_without_its_owner(app: &TestApp) {
    for round in 0..6 {
        let (owner, org) = app.sign_up(&format!("owner{round}@example.com"), "Race").await;
        let (a_email, b_email) = (format!("a{round}@example.com"), format!("b{round}@example.com"));
        let (a_id, a) = app.add_member(org, &a_email, Role::Admin).await;
        let (b_id, b) = app.add_member(org, &b_email, Role::Admin).await;
        let (a_tok, b_tok, o_tok) = (a.csrf().await, b.csrf().await, owner.csrf().await);
        let remove = |c: &crate::helpers::Client, target: steward::domain::AccountId, email: String, token: String| {
            let req = c
                .http
                .post(format!("{}/orgs/{org}/members/{target}/remove", c.base))
                .form(&[("csrf_token", token), ("confirm_email", email)]);
            async move { req.send().await.unwrap().status().as_u16() }
        };
        let deactivate = owner
            .http
            .post(format!("{}/orgs/{org}/members/{a_id}/deactivate", owner.base))
            .form(&[("csrf_token", o_tok.clone())]);
        let transfer = owner
            .http
            .post(format!("{}/orgs/{org}/transfer", owner.base))
            .form(&[("csrf_token", o_tok), ("account", b_id.to_string())]);
        let (s1, s2, s3, s4) = tokio::join!(
            remove(&a, b_id, b_email.clone(), a_tok),
            remove(&b, a_id, a_email.clone(), b_tok),
            async { deactivate.send().await.unwrap().status().as_u16() },
            async { transfer.send().await.unwrap().status().as_u16() },
        );
        for s in [s1, s2, s3, s4] {
            assert!(s < 500, "round {round}: a request answered {s}");
        }
        let (owners, events_ok) = app
            .with_db(move |db| {
                use diesel::prelude::*;
                use steward::storage::schema::memberships::dsl::*;
                let mut conn = db.conn().unwrap();
                let n: i64 = memberships.filter(org_id.eq(org.to_string())).filter(role.eq("owner")).count().get_result(&mut conn).unwrap();
                let events = steward::storage::audit::all_of_org(&mut conn, org).unwrap();
                let ok = events.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1 && e.hash == e.compute_hash())
                    && events.windows(2).all(|w| w[1].prev_hash == w[0].hash);
                (n, ok)
            })
            .await;
        assert_eq!(owners, 1, "round {round}: exactly one owner");
        assert!(events_ok, "round {round}: the audit chain is intact and unforked");
        // at most one of the two admins removed the other
        assert!(!(s1 == 303 && s2 == 303), "round {round}: both admins removed each other");
    }
}

/// Holds the organization's write lock from another connection (as a long change would) for
/// `held`, on a blocking thread: answers when it let go.
fn hold_the_organization(app: &TestApp, org: steward::domain::OrgId, held: Duration) -> tokio::task::JoinHandle<Instant> {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.conn().expect("a connection");
        steward::storage::write_tx(&mut conn, |c| {
            steward::storage::orgs::lock(c, org)?;
            std::thread::sleep(held);
            Ok::<_, diesel::result::Error>(())
        })
        .expect("the lock is held, then released");
        Instant::now()
    })
}

async fn a_write_waits_for_another_writer_instead_of_failing(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let token = owner.csrf().await;
    let released = hold_the_organization(app, org, Duration::from_millis(1500));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = owner
        .http
        .post(format!("{}/orgs/{org}/deployments", owner.base))
        .form(&[("csrf_token", token.as_str()), ("name", "web"), ("region", "eu-west-1")])
        .send()
        .await
        .expect("POST");
    let answered = Instant::now();
    assert_eq!(answer.status().as_u16(), 303, "the write waited its turn");
    assert!(answered >= released.await.expect("holder"), "it was answered only once the lock was let go");
    assert_eq!(app.count("deployments").await, 1);
}

/// SQLite only: PostgreSQL waits for a row lock as long as it is held, SQLite up to its busy
/// timeout (5 seconds), after which the request is told to come back.
async fn a_lock_held_past_the_busy_timeout_answers_503_and_changes_nothing(backend: Backend) {
    let app = TestApp::builder().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let token = owner.csrf().await;
    let released = hold_the_organization(&app, org, Duration::from_millis(6500));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let page = owner.post_raw(&format!("/orgs/{org}/deployments"), &[("csrf_token", &token), ("name", "web"), ("region", "eu-west-1")]).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert_eq!(page.header("retry-after").as_deref(), Some("5"));
    released.await.expect("holder");
    assert_eq!(app.count("deployments").await, 0);
    app.stop().await;
}

crate::on_both_backends!(
    racing_admins_and_owner_never_leave_the_organization_without_its_owner,
    a_write_waits_for_another_writer_instead_of_failing,
);

mod sqlite_only {
    crate::backend_test!(Sqlite, a_lock_held_past_the_busy_timeout_answers_503_and_changes_nothing(backend));
}
