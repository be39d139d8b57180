//! Two-factor authentication: turning it on (QR code, secret, recovery codes shown once and
//! stored hashed), the second step of signing in, codes accepted once, recovery codes, the
//! rate limit, turning it off, an organization that requires it, the member list and the
//! notices mailed.

use std::sync::Mutex;
use std::time::Duration;

use steward::config::Rate;
use steward::domain::{OrgId, Role, totp};

use crate::helpers::{Backend, Client, NewKey, PASSWORD, Page, TestApp};
use crate::support::api::Api;

/// The authenticator app of a test: the secret read from the page, and the last step whose code
/// it gave, since the server accepts each step's code once.
struct Authenticator {
    secret: Vec<u8>,
    last_step: Mutex<i64>,
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Authenticator {
    fn new(secret_base32: &str) -> Authenticator {
        let secret = totp::decode_secret(secret_base32).unwrap_or_else(|| panic!("the secret is base32: {secret_base32:?}"));
        assert_eq!(secret.len(), totp::SECRET_BYTES, "a 160-bit secret");
        Authenticator { secret, last_step: Mutex::new(i64::MIN) }
    }

    /// A code the server has not seen: the current step's, or the next one's; past both, it
    /// waits for the clock.
    async fn fresh_code(&self) -> String {
        loop {
            let now = totp::step_at(unix_now());
            {
                let mut last = self.last_step.lock().expect("lock");
                let step = now.max(*last + 1);
                if step <= now + 1 {
                    *last = step;
                    return totp::code(&self.secret, step);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// A six-digit code that is none of the codes the server would accept around now.
    fn wrong_code(&self) -> String {
        let now = totp::step_at(unix_now());
        let accepted: Vec<String> = (now - 2..=now + 3).map(|step| totp::code(&self.secret, step)).collect();
        (0..).map(|n: u32| format!("{:06}", n * 7919 % 1_000_000)).find(|c| !accepted.contains(c)).expect("a wrong code")
    }

    /// The code the app shows now, without counting it as given (for a request that must be
    /// refused before its code is looked at).
    fn current_code(&self) -> String {
        totp::code_at(&self.secret, unix_now())
    }

    /// The code it gave last, for a replay.
    fn last_code(&self) -> String {
        totp::code(&self.secret, *self.last_step.lock().expect("lock"))
    }
}

/// The secret on the page, as the `#totp-secret` element shows it.
fn secret_on(page: &Page) -> String {
    page.texts("#totp-secret").into_iter().next().unwrap_or_else(|| panic!("no #totp-secret on the page:\n{}", page.body))
}

/// The recovery codes on the page, one per line of `#recovery-codes`.
fn recovery_codes_on(page: &Page) -> Vec<String> {
    let selector = scraper::Selector::parse("#recovery-codes").expect("selector");
    let html = page.html();
    let element = html.select(&selector).next().unwrap_or_else(|| panic!("no #recovery-codes on the page:\n{}", page.body));
    element.text().collect::<String>().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// `client` turns two-factor on from its profile: returns its authenticator and the recovery
/// codes it was shown.
async fn turn_on(client: &Client) -> (Authenticator, Vec<String>) {
    let page = client.get("/profile/two-factor").await;
    page.assert_status(200);
    let app = Authenticator::new(&secret_on(&page));
    let code = app.fresh_code().await;
    let done = client.post("/profile/two-factor", &[("code", &code)]).await;
    done.assert_status(200);
    let codes = recovery_codes_on(&done);
    (app, codes)
}

/// Signs in with the password: the answer sends to the second step.
async fn first_step(client: &Client, email: &str, next: Option<&str>) {
    let mut fields = vec![("email", email), ("password", PASSWORD)];
    if let Some(next) = next {
        fields.push(("next", next));
    }
    let answer = client.post("/login", &fields).await;
    answer.assert_status(303);
    assert_eq!(answer.location.as_deref(), Some("/login/two-factor"), "the password alone does not sign in");
}

async fn second_step(client: &Client, code: &str) -> Page {
    client.post("/login/two-factor", &[("code", code)]).await
}

/// Ada, owning Acme, with two-factor on, signed out: her authenticator and recovery codes.
async fn ada_with_two_factor(app: &TestApp) -> (Client, OrgId, Authenticator, Vec<String>) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    let (authenticator, codes) = turn_on(&ada).await;
    ada.sign_out().await;
    (ada, org, authenticator, codes)
}

/// When the account of `email` last signed in.
async fn last_login(app: &TestApp, email: &str) -> Option<chrono::NaiveDateTime> {
    let email = steward::domain::Email::parse(email).expect("email");
    app.with_db(move |db| steward::storage::accounts::find_by_email(&mut db.conn().expect("conn"), &email).expect("query").expect("account"))
        .await
        .last_login_at
}

/// The notice mailed to `email` whose subject says `subject`, its body's soft line breaks undone.
async fn notice(app: &TestApp, email: &str, subject: &str) -> Option<String> {
    app.outbox().await
        .into_iter()
        .filter(|m| m.contains(&format!("To: {email}")) && m.contains(subject))
        .map(|m| m.replace("=\r\n", "").replace("=\n", "").replace("\r\n", "\n"))
        .last()
}

/// Whether an element matching `css` is on the page.
fn has(page: &Page, css: &str) -> bool {
    let selector = scraper::Selector::parse(css).expect("selector");
    page.html().select(&selector).next().is_some()
}

/// Whether the account of `email` has two-factor on, as stored, and its recovery code rows:
/// (hash, used).
async fn stored(app: &TestApp, email: &str) -> (bool, Option<i64>, Vec<(String, bool)>) {
    let account = app.account_id(email).await;
    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::storage::schema::{accounts as a, recovery_codes as r};
        let mut conn = db.conn().expect("conn");
        let (enabled, last_step): (Option<chrono::NaiveDateTime>, Option<i64>) = a::table
            .filter(a::id.eq(account.to_string()))
            .select((a::totp_enabled_at, a::totp_last_step))
            .first(&mut *conn)
            .expect("account");
        let codes: Vec<(String, Option<chrono::NaiveDateTime>)> = r::table
            .filter(r::account_id.eq(account.to_string()))
            .select((r::code_hash, r::used_at))
            .load(&mut *conn)
            .expect("codes");
        (enabled.is_some(), last_step, codes.into_iter().map(|(h, used)| (h, used.is_some())).collect())
    })
    .await
}

async fn turning_it_on_shows_a_qr_code_then_the_recovery_codes_once_stored_hashed(app: &TestApp) {
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let page = ada.get("/profile/two-factor").await;
    page.assert_status(200);
    let secret = secret_on(&page);
    assert!(page.contains("<svg") && page.contains(r#"class="qr-code""#), "a QR code drawn on the server");
    assert!(
        page.contains(&format!("otpauth://totp/Steward:ada@example.com?secret={secret}&issuer=Steward")),
        "the URI the QR code carries:\n{}",
        page.body
    );
    let again = ada.get("/profile/two-factor").await;
    assert_ne!(secret_on(&again), secret, "each visit offers a new secret");
    let authenticator = Authenticator::new(&secret_on(&again));

    // a secret sent back by the browser is never used: only the one offered in the session
    let mine = Authenticator::new(&secret);
    let code = mine.fresh_code().await;
    let refused = ada.post("/profile/two-factor", &[("code", code.as_str()), ("secret", secret.as_str())]).await;
    refused.assert_status(422);
    assert!(refused.contains("That code is not correct"), "{}", refused.body);
    assert_eq!(secret_on(&refused), secret_on(&again), "the same secret is offered again after a mistake");
    let malformed = ada.post("/profile/two-factor", &[("code", "12ab")]).await;
    malformed.assert_status(422);
    assert!(malformed.contains("6-digit code"));
    assert!(!stored(app, "ada@example.com").await.0, "still off");

    let code = authenticator.fresh_code().await;
    let done = ada.post("/profile/two-factor", &[("code", &code)]).await;
    done.assert_status(200);
    let codes = recovery_codes_on(&done);
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10, "all different");

    let (on, last_step, rows) = stored(app, "ada@example.com").await;
    assert!(on);
    assert!(last_step.is_some(), "the enrolment code's step is used");
    let mut hashes: Vec<String> = rows.iter().map(|(h, _)| h.clone()).collect();
    hashes.sort();
    let mut expected: Vec<String> = codes.iter().map(|c| steward::crypto::sha256_hex(c.replace('-', "").as_bytes())).collect();
    expected.sort();
    assert_eq!(hashes, expected, "stored only as their SHA-256");
    assert!(rows.iter().all(|(_, used)| !used));

    let after = ada.get("/profile/two-factor").await;
    after.assert_status(200);
    assert!(after.texts("#recovery-codes").is_empty() && !codes.iter().any(|c| after.contains(c)), "shown once");
    assert!(after.texts("#totp-secret").is_empty(), "no new secret while it is on");
    assert!(after.contains("10 of 10 unused"), "{}", after.body);
    assert!(ada.get("/profile").await.contains("Password + 2FA"));

    // turning it on again is not possible while it is on
    let twice = ada.post("/profile/two-factor", &[("code", &authenticator.fresh_code().await)]).await;
    twice.assert_status(303);
    assert_eq!(stored(app, "ada@example.com").await.2.len(), 10, "the codes stay as they were");

    let mail = notice(app, "ada@example.com", "Subject: Two-factor authentication is on").await.expect("the owner is told it was turned on");
    assert!(mail.contains("was turned on for your Steward account ada@example.com"), "{mail}");
}

async fn signing_in_takes_the_second_step_and_nothing_is_reachable_before_it(app: &TestApp) {
    let (ada, org, authenticator, _) = ada_with_two_factor(app).await;
    let before = last_login(app, "ada@example.com").await;

    // no second step without a first one
    let lost = ada.get("/login/two-factor").await;
    lost.assert_status(303);
    assert!(lost.location.as_deref().is_some_and(|l| l.starts_with("/login")));
    let wrong_password = ada.post("/login", &[("email", "ada@example.com"), ("password", "not-the-password")]).await;
    wrong_password.assert_status(422);

    first_step(&ada, "ada@example.com", None).await;
    for path in ["/profile", "/orgs", &format!("/orgs/{org}/members"), &format!("/orgs/{org}/settings"), "/profile/two-factor"] {
        let page = ada.get(path).await;
        page.assert_status(303);
        assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/login")), "{path} answers {:?}", page.location);
    }
    let posted = ada.post(&format!("/orgs/{org}/settings"), &[("name", "Hijacked")]).await;
    posted.assert_status(303);
    assert_eq!(last_login(app, "ada@example.com").await, before, "not signed in yet");

    let form = ada.get("/login/two-factor").await;
    form.assert_status(200);
    assert!(form.contains(r#"name="code""#) && form.contains(r#"<label for="code">"#), "{}", form.body);
    let wrong = second_step(&ada, &authenticator.wrong_code()).await;
    wrong.assert_status(422);
    assert!(wrong.contains("That code is not correct"));
    assert!(second_step(&ada, "not a code").await.status == 422);

    let code = authenticator.fresh_code().await;
    let done = second_step(&ada, &code).await;
    done.assert_status(303);
    assert_eq!(done.location, Some(format!("/orgs/{org}/members")), "the landing page, as sign-in gives");
    ada.get("/profile").await.assert_status(200);
    ada.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    assert_ne!(last_login(app, "ada@example.com").await, before, "the sign-in is recorded at its second step");
    // the renewed session's forms work
    ada.post("/profile", &[("name", "Ada L")]).await.assert_status(303);
    // and the second step is over: someone signed in is sent to the console
    let over = ada.get("/login/two-factor").await;
    assert_eq!((over.status, over.location.as_deref()), (303, Some("/")));
}

async fn the_second_step_follows_next_as_the_first_would_have(app: &TestApp) {
    let (ada, org, authenticator, _) = ada_with_two_factor(app).await;
    let next = format!("/orgs/{org}/audit?action=org.created");
    first_step(&ada, "ada@example.com", Some(&next)).await;
    let done = second_step(&ada, &authenticator.fresh_code().await).await;
    done.assert_status(303);
    assert_eq!(done.location, Some(next));
    ada.sign_out().await;

    first_step(&ada, "ada@example.com", Some("https://evil.example/steal")).await;
    let done = second_step(&ada, &authenticator.fresh_code().await).await;
    done.assert_status(303);
    assert_eq!(done.location, Some(format!("/orgs/{org}/members")), "never another site");
}

async fn a_code_is_accepted_once(app: &TestApp) {
    let (ada, _, authenticator, _) = ada_with_two_factor(app).await;
    first_step(&ada, "ada@example.com", None).await;
    second_step(&ada, &authenticator.fresh_code().await).await.assert_status(303);
    ada.sign_out().await;

    first_step(&ada, "ada@example.com", None).await;
    let replayed = second_step(&ada, &authenticator.last_code()).await;
    replayed.assert_status(422);
    assert!(replayed.contains("used already"), "{}", replayed.body);
    second_step(&ada, &authenticator.fresh_code().await).await.assert_status(303);
}

async fn a_recovery_code_signs_in_once(app: &TestApp) {
    let (ada, org, _, codes) = ada_with_two_factor(app).await;
    first_step(&ada, "ada@example.com", None).await;
    // typed without its hyphens, in capitals
    let done = second_step(&ada, &codes[3].replace('-', "").to_uppercase()).await;
    done.assert_status(303);
    assert_eq!(done.location, Some(format!("/orgs/{org}/members")));
    assert!(ada.get(&format!("/orgs/{org}/members")).await.contains("9 are left"), "the person is told how many are left");
    let rows = stored(app, "ada@example.com").await.2;
    assert_eq!(rows.iter().filter(|(_, used)| *used).count(), 1, "marked used");
    ada.sign_out().await;

    first_step(&ada, "ada@example.com", None).await;
    second_step(&ada, &codes[3]).await.assert_status(422);
    second_step(&ada, &codes[4]).await.assert_status(303);
}

async fn wrong_codes_are_rate_limited_per_account(backend: Backend) {
    let app = TestApp::builder().limit_two_factor_attempts(Rate::per_minute(3)).spawn(backend).await;
    let (ada, _, authenticator, _) = ada_with_two_factor(&app).await;
    let (bob, _) = app.sign_up("bob@example.com", "Bobs").await;
    let (bob_authenticator, _) = turn_on(&bob).await;
    bob.sign_out().await;

    first_step(&ada, "ada@example.com", None).await;
    for _ in 0..3 {
        let wrong = second_step(&ada, "not-a-code").await;
        wrong.assert_status(422);
    }
    let limited = second_step(&ada, &authenticator.current_code()).await;
    limited.assert_status(429);
    assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // from another browser too: the limit is the account's
    let elsewhere = app.client();
    first_step(&elsewhere, "ada@example.com", None).await;
    second_step(&elsewhere, &authenticator.current_code()).await.assert_status(429);
    // another account has its own
    first_step(&bob, "bob@example.com", None).await;
    second_step(&bob, &bob_authenticator.fresh_code().await).await.assert_status(303);
    app.stop().await;
}

async fn turning_it_off_takes_the_password_and_a_code(app: &TestApp) {
    let (ada, _, authenticator, codes) = ada_with_two_factor(app).await;
    first_step(&ada, "ada@example.com", None).await;
    second_step(&ada, &authenticator.fresh_code().await).await.assert_status(303);

    let wrong_password = ada.post("/profile/two-factor/disable", &[("password", "not-my-password"), ("code", &codes[0])]).await;
    wrong_password.assert_status(422);
    assert!(wrong_password.contains("The password is not correct"));
    let wrong_code = ada.post("/profile/two-factor/disable", &[("password", PASSWORD), ("code", &authenticator.wrong_code())]).await;
    wrong_code.assert_status(422);
    assert!(wrong_code.contains("That code is not correct"));
    let missing = ada.post("/profile/two-factor/disable", &[("password", PASSWORD)]).await;
    missing.assert_status(422);
    assert!(stored(app, "ada@example.com").await.0, "still on");
    assert_eq!(stored(app, "ada@example.com").await.2.iter().filter(|(_, used)| *used).count(), 0, "no code was spent");

    let off = ada.post("/profile/two-factor/disable", &[("password", PASSWORD), ("code", &codes[0])]).await;
    off.assert_status(303);
    assert_eq!(off.location.as_deref(), Some("/profile/two-factor"));
    let (on, last_step, rows) = stored(app, "ada@example.com").await;
    assert!(!on && last_step.is_none() && rows.is_empty(), "the secret and the recovery codes are gone");
    let page = ada.get("/profile/two-factor").await;
    assert!(page.contains("Two-factor authentication is off"), "the flash says so");
    assert!(!page.texts("#totp-secret").is_empty(), "set-up is offered again");

    let mail = notice(app, "ada@example.com", "Subject: Two-factor authentication is off").await.expect("the owner is told it was turned off");
    assert!(mail.contains("was turned off for your Steward account ada@example.com"), "{mail}");

    ada.sign_out().await;
    let answer = ada.sign_in("ada@example.com", PASSWORD).await;
    answer.assert_status(303);
    assert_ne!(answer.location.as_deref(), Some("/login/two-factor"), "the password alone signs in again");
}

async fn an_organization_can_require_two_factor_of_every_member(app: &TestApp) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    turn_on(&ada).await;
    let (_, bob) = app.add_member(org, "bob@example.com", Role::Admin).await;
    let (_, cy) = app.add_member(org, "cy@example.com", Role::Viewer).await;
    let key = ada.create_api_key(org, NewKey::named("ci")).await;

    let settings = ada.get(&format!("/orgs/{org}/settings")).await;
    assert!(has(&settings, "input#require-two-factor[name=required]:not([checked])"), "the toggle, off");
    let bad = ada.post(&format!("/orgs/{org}/settings/two-factor"), &[("required", "maybe")]).await;
    bad.assert_status(422);
    cy.post(&format!("/orgs/{org}/settings/two-factor"), &[("required", "on")]).await.assert_status(403);

    ada.post(&format!("/orgs/{org}/settings/two-factor"), &[("required", "on")]).await.assert_status(303);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("org.two_factor_required"));
    let settings = ada.get(&format!("/orgs/{org}/settings")).await;
    settings.assert_status(200);
    assert!(has(&settings, "input#require-two-factor[checked]"), "the toggle, on");
    // saving it as it is records nothing
    ada.post(&format!("/orgs/{org}/settings/two-factor"), &[("required", "on")]).await.assert_status(303);
    assert_eq!(app.actions(org).await.iter().filter(|a| *a == "org.two_factor_required").count(), 1);

    let pages = [
        format!("/orgs/{org}"),
        format!("/orgs/{org}/members"),
        format!("/orgs/{org}/members?status=active"),
        format!("/orgs/{org}/deployments"),
        format!("/orgs/{org}/audit"),
        format!("/orgs/{org}/audit.csv"),
        format!("/orgs/{org}/api-keys"),
        format!("/orgs/{org}/settings"),
        format!("/orgs/{org}/invitations/new"),
    ];
    for page in &pages {
        let answer = bob.get(page).await;
        answer.assert_status(303);
        assert_eq!(answer.location.as_deref(), Some("/profile/two-factor"), "{page}");
    }
    let posted = bob.post(&format!("/orgs/{org}/deployments"), &[("name", "web-1"), ("region", "eu-west-1")]).await;
    assert_eq!((posted.status, posted.location.as_deref()), (303, Some("/profile/two-factor")));
    assert!(app.deployments(org).await.is_empty(), "nothing was done");
    let asked = bob.get("/profile/two-factor").await;
    asked.assert_status(200);
    assert!(asked.contains("Acme requires two-factor authentication"), "{}", asked.body);
    // their account's own pages stay open
    bob.get("/profile").await.assert_status(200);
    bob.get("/orgs").await.assert_status(200);
    // the members who have it, and API keys, go on as before
    ada.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    Api::with_key(app, &key).await.get("/members").await.expect(200);

    // once Bob turns it on, the organization opens
    bob.post("/profile/two-factor", &[("code", &Authenticator::new(&secret_on(&asked)).fresh_code().await)]).await.assert_status(200);
    for page in &pages {
        assert_ne!(bob.get(page).await.location.as_deref(), Some("/profile/two-factor"), "{page}");
    }
    bob.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    cy.get(&format!("/orgs/{org}/deployments")).await.assert_status(303);

    ada.post(&format!("/orgs/{org}/settings/two-factor"), &[]).await.assert_status(303);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("org.two_factor_optional"));
    cy.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
}

async fn the_member_list_says_who_signs_in_with_two_factor(app: &TestApp) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_member(org, "bob@example.com", Role::Editor).await;
    ada.invite(org, "cy@example.com", "viewer").await;
    turn_on(&ada).await;
    for sort in ["email", "-created", "last_active"] {
        let page = ada.get(&format!("/orgs/{org}/members?sort={sort}")).await;
        page.assert_status(200);
        let rows: Vec<(String, String)> = page
            .texts("tbody td:nth-child(1)")
            .into_iter()
            .map(|e| e.split_whitespace().next().unwrap_or_default().to_string())
            .zip(page.texts("tbody td:nth-child(6)"))
            .collect();
        let method = |email: &str| rows.iter().find(|(e, _)| e == email).map(|(_, m)| m.clone());
        assert_eq!(method("ada@example.com").as_deref(), Some("Password + 2FA"), "{sort}: {rows:?}");
        assert_eq!(method("bob@example.com").as_deref(), Some("Password"), "{sort}");
        assert_eq!(method("cy@example.com").as_deref(), Some("—"), "{sort}: an invitation");
    }
    let viewed = ada.get(&format!("/orgs/{org}/members?status=pending")).await;
    assert_eq!(viewed.texts("tbody td:nth-child(6)"), vec!["—"]);
    let members = ada.get(&format!("/orgs/{org}/members?status=active&role=owner")).await;
    assert_eq!(members.texts("tbody td:nth-child(6)"), vec!["Password + 2FA"]);
}

crate::on_both_backends!(
    turning_it_on_shows_a_qr_code_then_the_recovery_codes_once_stored_hashed,
    signing_in_takes_the_second_step_and_nothing_is_reachable_before_it,
    the_second_step_follows_next_as_the_first_would_have,
    a_code_is_accepted_once,
    a_recovery_code_signs_in_once,
    wrong_codes_are_rate_limited_per_account(backend),
    turning_it_off_takes_the_password_and_a_code,
    an_organization_can_require_two_factor_of_every_member,
    the_member_list_says_who_signs_in_with_two_factor,
);
