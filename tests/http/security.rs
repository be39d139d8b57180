//! CSRF, session renewal, headers, caching, assets, health.

use crate::helpers::{NewKey, PASSWORD, TestApp};

async fn a_post_without_a_valid_csrf_token_is_refused(app: &TestApp) {
    let (client, _) = app.sign_up("ada@example.com", "Acme").await;
    let missing = client.post_raw("/orgs", &[("name", "Sneaky")]).await;
    missing.assert_status(403);
    assert!(missing.contains("This form has expired"));
    let wrong = client.post_raw("/orgs", &[("csrf_token", "not-the-token"), ("name", "Sneaky")]).await;
    wrong.assert_status(403);
    // signed out, the sign-in form is protected too
    app.client().post_raw("/login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await.assert_status(403);

    // htmx sends the token as a header
    let token = client.csrf().await;
    let resp = client
        .http
        .post(format!("{}/orgs", client.base))
        .header("X-CSRF-Token", token)
        .header("HX-Request", "true")
        .form(&[("name", "Via htmx")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("hx-redirect").is_some());
    let orgs = client.get("/orgs").await;
    assert_eq!(orgs.texts("td.cell-primary"), vec!["Acme", "Via htmx"]);
}

async fn signing_in_renews_the_session_and_its_token(app: &TestApp) {
    let (owner, _) = app.sign_up("ada@example.com", "Acme").await;
    owner.sign_out().await;
    let client = app.client();
    let before = client.csrf().await;
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    let after = client.get("/profile").await.csrf_token().unwrap();
    assert_ne!(before, after);
    // the token of the signed-out session no longer works
    client.post_raw("/profile", &[("csrf_token", &before), ("name", "X")]).await.assert_status(403);
}

async fn every_page_carries_the_security_headers(app: &TestApp) {
    let (client, org) = app.sign_up("ada@example.com", "Acme").await;
    for path in ["/login".to_string(), format!("/orgs/{org}/members"), "/nowhere".to_string()] {
        let page = client.get(&path).await;
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"));
        assert!(page.header("referrer-policy").is_some());
        assert!(!page.body.contains("<script>"), "no inline script on {path}");
        assert!(!page.body.contains("style=\""), "no inline style on {path}");
    }
}

async fn static_assets_are_served_with_a_long_cache_lifetime(app: &TestApp) {
    let page = app.client().get("/login").await;
    let html = page.html();
    let selector = scraper::Selector::parse("script[src], link[rel=stylesheet]").unwrap();
    let urls: Vec<String> = html
        .select(&selector)
        .filter_map(|e| e.value().attr("src").or(e.value().attr("href")).map(str::to_owned))
        .collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    for url in urls {
        let asset = app.client().get(&url).await;
        asset.assert_status(200);
        assert!(asset.header("cache-control").unwrap().contains("max-age=31536000"));
        assert!(!asset.body.is_empty());
    }
    app.client().get("/static/x/missing.js").await.assert_status(404);
}

async fn pages_are_never_stored_in_a_cache_but_assets_are(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let invitation = format!("/invitations/{}", app.outbox_token_for("bob@example.com").await);
    owner.create_api_key(org, NewKey::named("ci")).await;
    // the page that shows a new key's secret, once
    let key = [("name", "deploy"), ("permissions", "read"), ("scope", "all")];
    owner.post(&format!("/orgs/{org}/api-keys"), &key).await.assert_status(303);
    let with_secret = owner.get(&format!("/orgs/{org}/api-keys")).await;
    assert!(!with_secret.texts("code#secret").is_empty(), "the secret is on this page");
    let mut pages = vec![(format!("/orgs/{org}/api-keys"), with_secret)];
    for path in [format!("/orgs/{org}/members"), format!("/orgs/{org}/audit"), "/profile".to_string(), "/nowhere".to_string()] {
        pages.push((path.clone(), owner.get(&path).await));
    }
    let visitor = app.client();
    for path in ["/login".to_string(), "/signup".to_string(), invitation.clone()] {
        pages.push((path.clone(), visitor.get(&path).await));
    }
    // an htmx dialog and a refused form, too
    let dialog = owner.http.get(format!("{}/orgs/{org}/invitations/new", owner.base)).header("HX-Request", "true");
    let dialog = dialog.send().await.unwrap();
    assert_eq!(dialog.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    pages.push(("/login (refused)".to_string(), visitor.sign_in("ada@example.com", "not-the-password").await));
    for (path, page) in pages {
        assert!(page.header("content-type").unwrap_or_default().starts_with("text/html"), "{path} is a page");
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"), "{path}");
    }

    let page = visitor.get("/login").await;
    let selector = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
    let css = page.html().select(&selector).next().and_then(|e| e.value().attr("href").map(str::to_owned)).expect("a stylesheet");
    let asset = visitor.get(&css).await;
    assert_eq!(asset.header("cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(visitor.get("/healthz").await.header("cache-control"), None);
}

async fn the_health_check_reports_the_database(app: &TestApp) {
    let page = app.client().get("/healthz").await;
    page.assert_status(200);
    assert!(page.body.contains(r#""database":"ok""#));
}

async fn what_people_type_is_escaped_in_pages(app: &TestApp) {
    let (client, org) = app.sign_up("ada@example.com", "<script>alert(1)</script>").await;
    client.post("/profile", &[("name", "<img src=x onerror=alert(1)>")]).await.assert_status(303);
    let page = client.get(&format!("/orgs/{org}/members")).await;
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || page.body.contains("&#60;script&#62;"));
    assert!(!page.body.contains("<img src=x"));
}

crate::on_both_backends!(
    a_post_without_a_valid_csrf_token_is_refused,
    signing_in_renews_the_session_and_its_token,
    every_page_carries_the_security_headers,
    static_assets_are_served_with_a_long_cache_lifetime,
    pages_are_never_stored_in_a_cache_but_assets_are,
    the_health_check_reports_the_database,
    what_people_type_is_escaped_in_pages,
);
