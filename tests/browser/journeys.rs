//! What a person does in the console, click by click.

use crate::driver::Browser;
use crate::helpers::{Backend, Options, PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_land_on_members_sign_out_and_sign_in_again() {
    let app = TestApp::try_spawn(Backend::Sqlite, Options::default()).await.expect("app");
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();

    browser.goto(&format!("{base}/signup")).await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#organization", "Analytical Engines").await;
    browser.click("form button[type=submit]").await;

    let members = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    assert!(browser.text(".flash").await.contains("Your organization is ready"));
    assert!(browser.text("table").await.contains("ada@example.com"));
    browser.screenshot("members").await;

    // sign out through the account menu
    browser.click(".account-menu summary").await;
    browser.click(".account-menu button[type=submit]").await;
    browser.wait_for_path("the sign-in page", |p| p == "/login").await;

    // a protected page sends us to sign in, and back
    browser.goto(&format!("{base}{members}")).await;
    browser.wait_for_path("the sign-in page", |p| p == "/login").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "not-the-password").await;
    browser.click("form button[type=submit]").await;
    assert_eq!(browser.text(".alert-error").await, "The email or password is not correct.");
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    let back = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    assert_eq!(back, members);

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_accept_change_role_deactivate_and_remove_a_member() {
    let app = TestApp::try_spawn(Backend::Sqlite, Options::default()).await.expect("app");
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();
    let (_, org) = app.sign_up("ada@example.com", "Analytical Engines").await;

    // the owner signs in and invites Grace through the modal
    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.click(".page-actions a.btn-primary").await;
    browser.wait_for("dialog.modal[open] #invite-email").await;
    browser.screenshot("invite-modal").await;
    browser.fill("#invite-email", "grace@example.com").await;
    browser.choose("#invite-role", "editor").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Invitation sent to grace@example.com.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Pending Invitation").await;

    // Grace opens the emailed link in a fresh session and creates her account
    let token = app.outbox_token_for("grace@example.com");
    browser.client.delete_all_cookies().await.expect("cookies");
    browser.goto(&format!("{base}/invitations/{token}")).await;
    assert!(browser.text(".auth-card").await.contains("Analytical Engines"));
    browser.fill("#name", "Grace Hopper").await;
    browser.fill("#password", "grace-password-123").await;
    browser.click("form[action$='/accept'] button[type=submit]").await;
    browser.wait_for_path("the deployments", |p| p.ends_with("/deployments")).await;
    assert!(browser.text(".flash").await.contains("Welcome to Analytical Engines"));

    // back as the owner: change her role, deactivate, remove with the typed email
    browser.client.delete_all_cookies().await.expect("cookies");
    browser.goto(&format!("{base}/login?next=/orgs/{org}/members")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("tr[data-email='grace@example.com']").await;
    browser.click("tr[data-email='grace@example.com'] a[href$='/edit']").await;
    browser.wait_for("dialog.modal[open] #edit-role").await;
    browser.choose("#edit-role", "viewer").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member updated.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Viewer").await;

    browser.click("tr[data-email='grace@example.com'] form[action$='/deactivate'] button").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Inactive").await;

    browser.click("tr[data-email='grace@example.com'] a[href$='/remove']").await;
    browser.wait_for("dialog.modal[open] #confirm_email").await;
    let submit = browser.wait_for("dialog.modal button[type=submit]").await;
    assert_eq!(submit.attr("disabled").await.expect("attr").is_some(), true, "disabled until the email is typed");
    browser.fill("#confirm_email", "GRACE@example.com").await;
    browser.screenshot("remove-modal").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member removed.").await;
    assert!(!browser.text("table").await.contains("grace@example.com"));
    browser.screenshot("after-remove").await;

    let actions = app.actions(org).await;
    assert_eq!(
        actions,
        vec!["org.created", "member.invited", "invitation.accepted", "member.role_changed", "member.deactivated", "member.removed"]
    );
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_filters_the_log_and_downloads_it_as_csv() {
    let app = TestApp::try_spawn(Backend::Sqlite, Options::default()).await.expect("app");
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.post(&format!("/orgs/{org}/settings"), &[("name", "Acme Corp")]).await.assert_status(303);
    owner.invite(org, "bob@example.com", "viewer").await;

    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.click("a.nav-link[href$='/audit']").await;
    browser.wait_for("#audit-events").await;
    assert!(browser.text("#audit-events").await.contains("member.invited"));

    browser.choose("#action", "org.renamed").await;
    browser.click("form.toolbar button[type=submit]").await;
    browser.wait_for_path("the filtered log", |p| p.ends_with("/audit")).await;
    browser.wait_for_text("#audit-events", "org.renamed").await;
    let table = browser.text("#audit-events tbody").await;
    assert!(!table.contains("member.invited"), "{table}");
    browser.screenshot("audit").await;

    // the Export link carries the same filters; fetch it as the browser would download it
    let csv = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a[download]').href).then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .expect("download");
    let csv = csv.as_str().expect("text").to_string();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert_eq!(&rows[0][1], "org.renamed");
    assert_eq!(&rows[0][2], "ada@example.com");

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_fits_a_phone_screen() {
    let app = TestApp::try_spawn(Backend::Sqlite, Options::default()).await.expect("app");
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();
    let (owner, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    app.add_bulk_members(org, 12, steward::domain::Role::Editor).await;
    owner.invite(org, "grace@example.com", "viewer").await;
    browser.client.set_window_size(390, 844).await.expect("resize");

    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;

    for path in [format!("/orgs/{org}/members"), format!("/orgs/{org}/audit"), format!("/orgs/{org}/api-keys"), "/profile".to_string()] {
        browser.goto(&format!("{base}{path}")).await;
        browser.wait_for("main.content").await;
        let overflow = browser
            .client
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
            .await
            .expect("measure");
        assert!(overflow.as_i64().unwrap_or(1) <= 0, "{path} scrolls sideways by {overflow}px on a phone");
    }
    browser.goto(&format!("{base}/orgs/{org}/members")).await;
    browser.screenshot("phone-members").await;
    // the navigation is behind the menu button
    browser.click(".nav-toggle").await;
    let expanded = browser.wait_for(".nav-toggle").await.attr("aria-expanded").await.expect("attr");
    assert_eq!(expanded.as_deref(), Some("true"));
    browser.screenshot("phone-nav").await;

    browser.close().await;
    app.stop().await;
}
