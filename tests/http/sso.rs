//! Single sign-on against a real OpenID provider (oidc-provider): the connection's settings,
//! sign-in, just-in-time members, links confirmed by an account's owner, "require SSO", and
//! every way a sign-in fails, each a clear page.

use steward::domain::{OrgId, Role, totp};
use steward::storage;

use crate::helpers::oidc::{CLIENT_ID, CLIENT_SECRET, OidcProvider};
use crate::helpers::{Backend, Client, PASSWORD, Page, TestApp};

/// An app, its provider, and an organization (owned by owner@owner.test) whose connection
/// covers acme.test.
struct Setup {
    app: TestApp,
    provider: OidcProvider,
    owner: Client,
    org: OrgId,
}

async fn setup(backend: Backend, require_sso: bool) -> Option<Setup> {
    let app = TestApp::builder().sso_provider_on_loopback().spawn(backend).await;
    let Some(provider) = OidcProvider::start(&app).await else {
        app.stop().await;
        return None;
    };
    let (owner, org) = app.sign_up("owner@owner.test", "Acme").await;
    configure(&owner, org, &provider.issuer, "acme.test", "viewer", require_sso).await.assert_status(303);
    Some(Setup { app, provider, owner, org })
}

impl Setup {
    async fn stop(self) {
        drop(self.provider);
        self.app.stop().await;
    }
}

async fn configure(owner: &Client, org: OrgId, issuer: &str, domains: &str, role: &str, require_sso: bool) -> Page {
    let mut fields = vec![
        ("issuer", issuer),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("domains", domains),
        ("base_role", role),
        ("action", "save"),
    ];
    if require_sso {
        fields.push(("require_sso", "on"));
    }
    owner.post(&format!("/orgs/{org}/settings/sso"), &fields).await
}

/// "Sign in with SSO" with `typed`: the page that sends the browser on, and the provider's
/// authorization URL it names.
async fn start(client: &Client, typed: &str) -> String {
    let page = client.post("/login/sso", &[("email", typed)]).await;
    page.assert_status(200);
    let html = page.html();
    let selector = scraper::Selector::parse("#sso-continue").expect("selector");
    html.select(&selector).next().and_then(|a| a.value().attr("href")).expect("a link to the provider").to_string()
}

/// Follows the provider's redirects from `url`, signs in on its login page as `at_provider`, and
/// follows on until the provider sends the browser back to Steward: that URL.
async fn through_provider(client: &Client, provider: &OidcProvider, url: &str, at_provider: &str) -> String {
    let absolute = |u: &str| if u.starts_with("http") { u.to_string() } else { format!("{}{u}", provider.issuer) };
    let mut url = absolute(url);
    let mut signed_in = false;
    for _ in 0..10 {
        if url.starts_with(&client.base) {
            return url;
        }
        let resp = client.http.get(&url).send().await.expect("provider GET");
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            url = absolute(resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("location"));
            continue;
        }
        assert_eq!(status, 200, "the provider answered {status} at {url}: {}", resp.text().await.unwrap_or_default());
        assert!(!signed_in, "the provider asked to sign in twice");
        let body = resp.text().await.expect("body");
        let html = scraper::Html::parse_document(&body);
        let form = scraper::Selector::parse("form").expect("selector");
        let action = html.select(&form).next().and_then(|f| f.value().attr("action")).expect("the provider's login form").to_string();
        let resp = client.http.post(absolute(&action)).form(&[("email", at_provider)]).send().await.expect("provider POST");
        assert_eq!(resp.status().as_u16(), 303, "the provider's login");
        url = absolute(resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("location"));
        signed_in = true;
    }
    panic!("the provider never sent the browser back");
}

/// The whole sign-in: typed address, provider sign-in, and Steward's answer to the callback.
async fn sso_sign_in(s: &Setup, client: &Client, typed: &str, at_provider: &str) -> Page {
    let url = start(client, typed).await;
    let back = through_provider(client, &s.provider, &url, at_provider).await;
    client.get(back.strip_prefix(&client.base).expect("back to Steward")).await
}

async fn signed_in_to(client: &Client, org: OrgId) -> bool {
    client.get(&format!("/orgs/{org}/deployments")).await.status == 200
}

async fn connection_of(app: &TestApp, org: OrgId) -> Option<storage::sso::Connection> {
    app.with_db(move |db| storage::sso::find(&mut db.conn().expect("conn"), org).expect("query")).await
}

async fn role_of(app: &TestApp, org: OrgId, email: &str) -> Option<Role> {
    let account = app.account_id(email).await;
    app.with_db(move |db| storage::members::find(&mut db.conn().expect("conn"), org, account).expect("query").map(|m| m.role)).await
}

// ------------------------------------------------------------------------------ settings

async fn the_connection_is_tested_then_saved_with_its_secret_sealed(backend: Backend) {
    let app = TestApp::builder().sso_provider_on_loopback().spawn(backend).await;
    let Some(provider) = OidcProvider::start(&app).await else { return app.stop().await };
    let (owner, org) = app.sign_up("owner@owner.test", "Acme").await;
    let path = format!("/orgs/{org}/settings/sso");
    owner.get(&path).await.assert_status(200);

    let fields = [
        ("issuer", provider.issuer.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("domains", "acme.test, Acme.Example"),
        ("base_role", "editor"),
        ("action", "test"),
    ];
    let tested = owner.post(&path, &fields).await;
    tested.assert_status(200);
    assert!(tested.texts("#sso-tested")[0].contains("Connection works"), "{}", tested.body);
    assert!(connection_of(&app, org).await.is_none(), "a test saves nothing");

    configure(&owner, org, &provider.issuer, "acme.test, Acme.Example", "editor", false).await.assert_status(303);
    let saved = connection_of(&app, org).await.expect("saved");
    assert_eq!(saved.base_role, Role::Editor);
    assert!(!saved.client_secret_sealed.contains(CLIENT_SECRET), "the secret is sealed at rest");
    let page = owner.get(&path).await;
    assert!(!page.contains(CLIENT_SECRET), "the secret is never shown again");
    assert!(page.contains("acme.example, acme.test"), "the domains, lower-cased");
    assert!(page.contains(&format!("{}/login/sso/callback", app.base)), "the redirect URI to register");

    // saved again with the secret left empty: the secret stays
    let again = [
        ("issuer", provider.issuer.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", ""),
        ("domains", "acme.test"),
        ("base_role", "viewer"),
        ("action", "save"),
    ];
    owner.post(&path, &again).await.assert_status(303);
    assert_eq!(connection_of(&app, org).await.expect("saved").client_secret_sealed, saved.client_secret_sealed);
    let events = app.events(org).await;
    let configured: Vec<_> = events.iter().filter(|e| e.body.action == "sso.configured").collect();
    assert_eq!(configured.len(), 2);
    assert!(!serde_json::to_string(&configured[0].body.details).expect("json").contains(CLIENT_SECRET));
    drop(provider);
    app.stop().await;
}

async fn removing_the_connection_is_audited_and_ends_sso_sign_in(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    s.owner.post(&format!("/orgs/{}/settings/sso/remove", s.org), &[]).await.assert_status(303);
    assert!(connection_of(&s.app, s.org).await.is_none());
    assert!(s.app.actions(s.org).await.contains(&"sso.removed".to_string()));
    let page = s.app.client().post("/login/sso", &[("email", "alice@acme.test")]).await;
    page.assert_status(422);
    assert!(page.contains("No organization signs in acme.test addresses"));
    s.stop().await;
}

async fn an_issuer_on_loopback_or_over_http_is_refused_unless_the_operator_allows_it(backend: Backend) {
    let app = TestApp::builder().spawn(backend).await;
    let (owner, org) = app.sign_up("owner@owner.test", "Acme").await;
    for (issuer, says) in [
        ("http://idp.example.com", "https"),
        ("https://127.0.0.1:8443", "loopback, private or reserved"),
        ("https://localhost", "loopback"),
        ("https://10.0.0.7", "loopback, private or reserved"),
    ] {
        let page = configure(&owner, org, issuer, "acme.test", "viewer", false).await;
        page.assert_status(422);
        assert!(page.texts("#issuer-error")[0].contains(says), "{issuer}: {}", page.body);
    }
    assert!(connection_of(&app, org).await.is_none());
    app.stop().await;
}

async fn an_unreachable_provider_or_an_invalid_discovery_is_refused_when_saving(backend: Backend) {
    let app = TestApp::builder().sso_provider_on_loopback().spawn(backend).await;
    let Some(provider) = OidcProvider::start(&app).await else { return app.stop().await };
    let (owner, org) = app.sign_up("owner@owner.test", "Acme").await;
    let page = configure(&owner, org, "http://127.0.0.1:1", "acme.test", "viewer", false).await;
    page.assert_status(422);
    assert!(page.texts("#issuer-error")[0].contains("could not be reached"), "{}", page.body);
    let broken = format!("{}/broken", provider.issuer);
    let page = configure(&owner, org, &broken, "acme.test", "viewer", false).await;
    page.assert_status(422);
    assert!(page.texts("#issuer-error")[0].contains("discovery document is not valid"), "{}", page.body);
    assert!(connection_of(&app, org).await.is_none());
    drop(provider);
    app.stop().await;
}

async fn a_domain_covered_by_another_organization_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let (other, other_org) = s.app.sign_up("owner@other.test", "Other").await;
    let page = configure(&other, other_org, &s.provider.issuer, "ACME.test", "viewer", false).await;
    page.assert_status(422);
    assert!(page.texts("#domains-error")[0].contains("acme.test"));
    s.stop().await;
}

// -------------------------------------------------------------------------------- sign-in

async fn a_new_person_joins_with_the_base_role_at_their_first_sso_sign_in(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let alice = s.app.client();
    let page = sso_sign_in(&s, &alice, "alice@acme.test", "alice@acme.test").await;
    page.assert_status(303);
    assert_eq!(page.location.as_deref(), Some(format!("/orgs/{}", s.org).as_str()));
    assert!(signed_in_to(&alice, s.org).await);
    assert_eq!(role_of(&s.app, s.org, "alice@acme.test").await, Some(Role::Viewer));
    let id = s.app.account_id("alice@acme.test").await;
    let account = s.app.with_db(move |db| storage::accounts::find(&mut db.conn().expect("conn"), id).expect("q").expect("account")).await;
    assert!(account.email_verified_at.is_some(), "the provider verified the address");
    let events = s.app.events(s.org).await;
    let joined = events.iter().find(|e| e.body.action == "member.joined_via_sso").expect("member.joined_via_sso");
    assert_eq!(joined.body.target_email.as_deref(), Some("alice@acme.test"));
    let log = alice.get("/profile/security").await;
    assert!(log.contains("Signed in with single sign-on"), "{}", log.body);
    // the member list names the provider
    let host = s.provider.issuer.trim_start_matches("http://").to_string();
    let list = s.owner.get(&format!("/orgs/{}/members", s.org)).await;
    let row = list.texts(r#"tr[data-email="alice@acme.test"]"#);
    assert!(row[0].contains(&format!("SSO ({host})")), "{row:?}");
    // and so does the export, for her and only her
    let csv = s.owner.get(&format!("/orgs/{}/members.csv", s.org)).await;
    csv.assert_status(200);
    let auth_of = |email: &str| {
        let line = csv.body.lines().find(|l| l.starts_with(email)).unwrap_or_else(|| panic!("{email} in the export:\n{}", csv.body));
        line.rsplit(',').next().unwrap_or_default().to_string()
    };
    assert_eq!(auth_of("alice@acme.test"), format!("SSO ({host})"));
    assert_eq!(auth_of("owner@owner.test"), "Password");

    // the next time, the same account signs in (no second account, no second join)
    let again = s.app.client();
    sso_sign_in(&s, &again, "alice@acme.test", "alice@acme.test").await.assert_status(303);
    assert!(signed_in_to(&again, s.org).await);
    let joins = s.app.actions(s.org).await.iter().filter(|a| *a == "member.joined_via_sso").count();
    assert_eq!(joins, 1);
    s.stop().await;
}

async fn an_existing_account_is_never_opened_by_the_providers_word_alone(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    // Bob has an account (and an organization of his own) before Acme's connection claims his domain
    let (bob_password, bob_org) = s.app.sign_up("bob@acme.test", "Bob's").await;
    let attacker = s.app.client();
    let page = sso_sign_in(&s, &attacker, "bob@acme.test", "bob@acme.test").await;
    page.assert_status(409);
    assert!(page.contains("exists already"), "{}", page.body);
    assert!(!signed_in_to(&attacker, bob_org).await, "Bob's other organizations stay closed");
    assert!(!signed_in_to(&attacker, s.org).await);
    assert_eq!(s.app.count("sso_links").await, 0);
    assert_eq!(role_of(&s.app, s.org, "bob@acme.test").await, None);

    // Bob, signed in with his password, confirms the link, then signs in at the provider
    let link = bob_password.get("/profile/sso").await;
    link.assert_status(200);
    assert!(link.contains("Link my account"));
    let page = bob_password.post("/profile/sso", &[]).await;
    page.assert_status(200);
    let url = page.html().select(&scraper::Selector::parse("#sso-continue").expect("s")).next().and_then(|a| a.value().attr("href")).expect("link").to_string();
    let back = through_provider(&bob_password, &s.provider, &url, "bob@acme.test").await;
    let done = bob_password.get(back.strip_prefix(&bob_password.base).expect("back")).await;
    done.assert_status(303);
    assert_eq!(s.app.count("sso_links").await, 1);
    assert_eq!(role_of(&s.app, s.org, "bob@acme.test").await, Some(Role::Viewer));

    // from now on SSO opens his account
    let later = s.app.client();
    sso_sign_in(&s, &later, "bob@acme.test", "bob@acme.test").await.assert_status(303);
    assert!(signed_in_to(&later, s.org).await);
    assert!(signed_in_to(&later, bob_org).await);
    s.stop().await;
}

async fn a_link_needs_the_same_address_at_the_provider(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let (bob, _) = s.app.sign_up("bob@acme.test", "Bob's").await;
    let page = bob.post("/profile/sso", &[]).await;
    let url = page.html().select(&scraper::Selector::parse("#sso-continue").expect("s")).next().and_then(|a| a.value().attr("href")).expect("link").to_string();
    let back = through_provider(&bob, &s.provider, &url, "mallory@acme.test").await;
    let done = bob.get(back.strip_prefix(&bob.base).expect("back")).await;
    done.assert_status(403);
    assert!(done.contains("Sign in there as bob@acme.test"));
    assert_eq!(s.app.count("sso_links").await, 0);
    s.stop().await;
}

async fn an_address_the_provider_has_not_verified_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let client = s.app.client();
    let page = sso_sign_in(&s, &client, "unverified.carol@acme.test", "unverified.carol@acme.test").await;
    page.assert_status(403);
    assert!(page.contains("has not verified the address"), "{}", page.body);
    assert_eq!(s.app.count("accounts").await, 1, "no account was made");
    s.stop().await;
}

async fn a_domain_no_connection_covers_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let client = s.app.client();
    let page = client.post("/login/sso", &[("email", "dave@other.test")]).await;
    page.assert_status(422);
    assert!(page.texts("#sso-error")[0].contains("No organization signs in other.test addresses"));
    // typed in a covered domain, but the provider vouches for an address outside it
    let page = sso_sign_in(&s, &client, "dave@acme.test", "dave@other.test").await;
    page.assert_status(403);
    assert!(page.contains("does not cover other.test"), "{}", page.body);
    assert_eq!(s.app.count("accounts").await, 1);
    s.stop().await;
}

async fn a_deactivated_member_stays_out(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let alice = s.app.client();
    sso_sign_in(&s, &alice, "alice@acme.test", "alice@acme.test").await.assert_status(303);
    let id = s.app.account_id("alice@acme.test").await;
    s.owner.deactivate(s.org, id).await;
    let again = s.app.client();
    let page = sso_sign_in(&s, &again, "alice@acme.test", "alice@acme.test").await;
    page.assert_status(403);
    assert!(page.contains("is deactivated"), "{}", page.body);
    assert!(!signed_in_to(&again, s.org).await);
    s.stop().await;
}

async fn require_sso_turns_away_password_sessions_of_covered_members(backend: Backend) {
    let Some(s) = setup(backend, true).await else { return };
    // Erin joined before, with a password, and her address is in the covered domain
    let (_, erin_password) = s.app.add_member(s.org, "erin@acme.test", Role::Editor).await;
    let page = erin_password.get(&format!("/orgs/{}/deployments", s.org)).await;
    page.assert_status(403);
    assert!(page.contains("requires single sign-on"));
    // the owner (another domain, and the owner) keeps their password session
    assert!(signed_in_to(&s.owner, s.org).await);
    // Erin links her account, and her SSO session gets in
    let link = erin_password.post("/profile/sso", &[]).await;
    let url = link.html().select(&scraper::Selector::parse("#sso-continue").expect("s")).next().and_then(|a| a.value().attr("href")).expect("link").to_string();
    let back = through_provider(&erin_password, &s.provider, &url, "erin@acme.test").await;
    erin_password.get(back.strip_prefix(&erin_password.base).expect("back")).await.assert_status(303);
    let erin = s.app.client();
    sso_sign_in(&s, &erin, "erin@acme.test", "erin@acme.test").await.assert_status(303);
    assert!(signed_in_to(&erin, s.org).await);
    // a password sign-in of hers still works elsewhere, but not here
    let password_again = s.app.client();
    password_again.sign_in("erin@acme.test", PASSWORD).await.assert_status(303);
    assert_eq!(password_again.get(&format!("/orgs/{}/deployments", s.org)).await.status, 403);
    s.stop().await;
}

async fn two_factor_is_still_asked_after_the_provider(backend: Backend) {
    let Some(s) = setup(backend, true).await else { return };
    let alice = s.app.client();
    sso_sign_in(&s, &alice, "alice@acme.test", "alice@acme.test").await.assert_status(303);
    let page = alice.get("/profile/two-factor").await;
    page.assert_status(200);
    let secret = totp::decode_secret(&page.texts("#totp-secret")[0]).expect("a base32 secret");
    let step = totp::step_at(chrono::Utc::now().timestamp());
    alice.post("/profile/two-factor", &[("code", &totp::code(&secret, step))]).await.assert_status(200);

    let again = s.app.client();
    let page = sso_sign_in(&s, &again, "alice@acme.test", "alice@acme.test").await;
    page.assert_status(303);
    assert_eq!(page.location.as_deref(), Some("/login/two-factor"), "the provider alone does not sign in");
    assert!(!signed_in_to(&again, s.org).await);
    // the second step's page (its session, and so its form's token, is new), then the next
    // step's code (the current one was used turning it on)
    again.get("/login/two-factor").await.assert_status(200);
    again.post("/login/two-factor", &[("code", &totp::code(&secret, step + 1))]).await.assert_status(303);
    assert!(signed_in_to(&again, s.org).await, "the session started through SSO passes Require SSO");
    let log = again.get("/profile/security").await;
    let sso_sign_ins = log.texts("#security-log td.cell-primary").iter().filter(|t| t.contains("single sign-on")).count();
    assert_eq!(sso_sign_ins, 2, "both sign-ins went through the provider");
    s.stop().await;
}

// ------------------------------------------------------------------------------- failures

async fn forged(backend: Backend, mode: &str, says: &str) {
    let Some(s) = setup(backend, false).await else { return };
    s.provider.tamper(mode).await;
    let client = s.app.client();
    let page = sso_sign_in(&s, &client, "alice@acme.test", "alice@acme.test").await;
    page.assert_status(400);
    assert!(page.contains(says), "{mode}: {}", page.body);
    assert!(!signed_in_to(&client, s.org).await);
    assert_eq!(s.app.count("accounts").await, 1, "{mode}: no account was made");
    s.stop().await;
}

async fn a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(backend: Backend) {
    forged(backend, "foreign_key", "signature is not one of the identity provider").await;
}

async fn a_token_for_another_audience_is_refused(backend: Backend) {
    forged(backend, "wrong_audience", "issued for another application").await;
}

async fn an_expired_token_is_refused(backend: Backend) {
    forged(backend, "expired", "has expired").await;
}

async fn a_token_with_another_nonce_is_refused(backend: Backend) {
    forged(backend, "nonce", "does not belong to this sign-in").await;
}

async fn a_key_the_provider_rotated_in_during_the_sign_in_is_used(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    s.provider.tamper("rotated").await;
    let client = s.app.client();
    sso_sign_in(&s, &client, "alice@acme.test", "alice@acme.test").await.assert_status(303);
    assert!(signed_in_to(&client, s.org).await);
    s.stop().await;
}

async fn a_tampered_state_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let client = s.app.client();
    let url = start(&client, "alice@acme.test").await;
    let back = through_provider(&client, &s.provider, &url, "alice@acme.test").await;
    let (path, query) = back.strip_prefix(&client.base).expect("back").split_once('?').expect("query");
    let tampered: String = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("state", v)) => format!("state={}x", v),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    let page = client.get(&format!("{path}?{tampered}")).await;
    page.assert_status(400);
    assert!(page.contains("This sign-in cannot be completed"));
    assert!(!signed_in_to(&client, s.org).await);
    s.stop().await;
}

async fn a_replayed_callback_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let client = s.app.client();
    let url = start(&client, "alice@acme.test").await;
    let back = through_provider(&client, &s.provider, &url, "alice@acme.test").await;
    let path = back.strip_prefix(&client.base).expect("back").to_string();
    client.get(&path).await.assert_status(303);
    // the same callback again, from a copy of the browser before it came back
    let page = client.get(&path).await;
    page.assert_status(400);
    // and a code used once, brought back with a fresh sign-in's state: the provider refuses it
    let fresh = s.app.client();
    let url = start(&fresh, "alice@acme.test").await;
    let state = url.split(['?', '&']).find_map(|kv| kv.strip_prefix("state=")).expect("state").to_string();
    let code = path.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).expect("code").to_string();
    let page = fresh.get(&format!("/login/sso/callback?code={code}&state={state}")).await;
    page.assert_status(400);
    assert!(page.contains("refused the sign-in"), "{}", page.body);
    assert!(!signed_in_to(&fresh, s.org).await);
    s.stop().await;
}

async fn a_callback_from_another_browser_is_refused(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let victim = s.app.client();
    let url = start(&victim, "alice@acme.test").await;
    let back = through_provider(&victim, &s.provider, &url, "alice@acme.test").await;
    let other = s.app.client();
    let page = other.get(back.strip_prefix(&other.base).expect("back")).await;
    page.assert_status(400);
    assert!(!signed_in_to(&other, s.org).await);
    s.stop().await;
}

async fn an_unreachable_provider_at_sign_in_is_a_clear_page(backend: Backend) {
    let Some(s) = setup(backend, false).await else { return };
    let Setup { app, provider, owner, org } = s;
    drop(provider);
    let client = app.client();
    let page = client.post("/login/sso", &[("email", "alice@acme.test")]).await;
    page.assert_status(502);
    assert!(page.contains("could not be reached"), "{}", page.body);
    drop(owner);
    let _ = org;
    app.stop().await;
}

crate::on_both_backends!(
    the_connection_is_tested_then_saved_with_its_secret_sealed(backend),
    removing_the_connection_is_audited_and_ends_sso_sign_in(backend),
    an_issuer_on_loopback_or_over_http_is_refused_unless_the_operator_allows_it(backend),
    an_unreachable_provider_or_an_invalid_discovery_is_refused_when_saving(backend),
    a_domain_covered_by_another_organization_is_refused(backend),
    a_new_person_joins_with_the_base_role_at_their_first_sso_sign_in(backend),
    an_existing_account_is_never_opened_by_the_providers_word_alone(backend),
    a_link_needs_the_same_address_at_the_provider(backend),
    an_address_the_provider_has_not_verified_is_refused(backend),
    a_domain_no_connection_covers_is_refused(backend),
    a_deactivated_member_stays_out(backend),
    require_sso_turns_away_password_sessions_of_covered_members(backend),
    two_factor_is_still_asked_after_the_provider(backend),
    a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(backend),
    a_token_for_another_audience_is_refused(backend),
    an_expired_token_is_refused(backend),
    a_token_with_another_nonce_is_refused(backend),
    a_key_the_provider_rotated_in_during_the_sign_in_is_used(backend),
    a_tampered_state_is_refused(backend),
    a_replayed_callback_is_refused(backend),
    a_callback_from_another_browser_is_refused(backend),
    an_unreachable_provider_at_sign_in_is_a_clear_page(backend),
);
