//! What a person does in the console, click by click.
//!
//! Each check waits for the page to show what it expects (see driver.rs): the page is read
//! while the browser may still be rendering the result of the previous step.

use steward::domain::totp;

use crate::driver::Browser;
use crate::helpers::{Backend, PASSWORD, TestApp};

/// A new app on SQLite and a browser; None (the app stopped) when no browser can run here and
/// the test command did not ask for one.
async fn app_and_browser() -> Option<(TestApp, Browser)> {
    let app = TestApp::builder().spawn(Backend::Sqlite).await;
    match Browser::start().await {
        Some(browser) => Some((app, browser)),
        None => {
            app.stop().await;
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_land_on_members_sign_out_and_sign_in_again() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();

    browser.goto(&format!("{base}/signup")).await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#organization", "Analytical Engines").await;
    browser.click("form button[type=submit]").await;

    let members = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.wait_for_text(".flash", "Your organization is ready").await;
    browser.wait_for_text("table", "ada@example.com").await;
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
    browser.wait_for_exact_text(".alert-error", "The email or password is not correct.").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    let back = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    assert_eq!(back, members);

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_accept_change_role_deactivate_and_remove_a_member() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();
    let (_, org) = app.sign_up("ada@example.com", "Analytical Engines").await;

    // the owner signs in and invites Grace through the modal
    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.click(".page-actions a.btn-primary").await;
    browser.wait_for_element("dialog.modal[open] #invite-email").await;
    browser.screenshot("invite-modal").await;
    browser.fill("#invite-email", "grace@example.com").await;
    browser.choose("#invite-role", "editor").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Invitation sent to grace@example.com.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Pending Invitation").await;

    // Grace opens the emailed link in a fresh session and creates her account
    let token = app.outbox_token_for("grace@example.com").await;
    browser.client.delete_all_cookies().await.expect("cookies");
    browser.goto(&format!("{base}/invitations/{token}")).await;
    browser.wait_for_text(".auth-card", "Analytical Engines").await;
    browser.fill("#name", "Grace Hopper").await;
    browser.fill("#password", "grace-password-123").await;
    browser.click("form[action$='/accept'] button[type=submit]").await;
    browser.wait_for_path("the deployments", |p| p.ends_with("/deployments")).await;
    browser.wait_for_text(".flash", "Welcome to Analytical Engines").await;

    // back as the owner: change her role, deactivate, remove with the typed email
    browser.client.delete_all_cookies().await.expect("cookies");
    browser.goto(&format!("{base}/login?next=/orgs/{org}/members")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_element("tr[data-email='grace@example.com']").await;
    browser.click("tr[data-email='grace@example.com'] .row-menu > summary").await;
    browser.click("tr[data-email='grace@example.com'] a[href$='/edit']").await;
    browser.wait_for_element("dialog.modal[open] #edit-role").await;
    browser.choose("#edit-role", "viewer").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member updated.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Viewer").await;

    browser.click("tr[data-email='grace@example.com'] .row-menu > summary").await;
    browser.click("tr[data-email='grace@example.com'] a[href$='/deactivate']").await;
    browser.wait_for_element("dialog.modal[open] form[action$='/deactivate']").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member deactivated.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Inactive").await;

    browser.click("tr[data-email='grace@example.com'] .row-menu > summary").await;
    browser.click("tr[data-email='grace@example.com'] a[href$='/remove']").await;
    browser.wait_for_element("dialog.modal[open] #confirm_email").await;
    // app.js disables the button once the swapped-in form is initialised
    browser
        .wait_for_attribute("dialog.modal button[type=submit]", "disabled", "be set until the email is typed", |v| v.is_some())
        .await;
    browser.fill("#confirm_email", "GRACE@example.com").await;
    browser.screenshot("remove-modal").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member removed.").await;
    browser.wait_for_text_without("table", "grace@example.com").await;
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
    let Some((app, browser)) = app_and_browser().await else { return };
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
    browser.wait_for_element("#audit-events").await;
    browser.wait_for_text("#audit-events", "member.invited").await;

    browser.choose("#action", "org.renamed").await;
    browser.click("form.toolbar button[type=submit]").await;
    browser.wait_for_path("the filtered log", |p| p.ends_with("/audit")).await;
    // the path does not change with the filter, and the unfiltered page shows org.renamed
    // too: only both conditions at once tell the filtered page apart
    browser
        .wait_for_text_matching("#audit-events tbody", "show org.renamed and not member.invited", |t| {
            t.contains("org.renamed") && !t.contains("member.invited")
        })
        .await;
    browser.screenshot("audit").await;

    // the Export link carries the same filters; fetch it as the browser would download it
    let csv = browser.download("a[download]").await;
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
    let Some((app, browser)) = app_and_browser().await else { return };
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
        browser.wait_for_element("main.content").await;
        browser
            .wait_for_script(
                &format!("{path} not to scroll sideways on a phone (seen: overflow in px)"),
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                |overflow| overflow.as_i64().unwrap_or(1) <= 0,
            )
            .await;
    }
    browser.goto(&format!("{base}/orgs/{org}/members")).await;
    browser.wait_for_element("main.content").await;
    browser.screenshot("phone-members").await;
    // the navigation is behind the menu button
    browser.click(".nav-toggle").await;
    browser.wait_for_attribute(".nav-toggle", "aria-expanded", "be \"true\"", |v| v == Some("true")).await;
    browser.screenshot("phone-nav").await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_the_password_reset_it_from_the_email_and_sign_in_with_two_factor() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();
    let (ada, _) = app.sign_up("ada@example.com", "Analytical Engines").await;
    // two-factor on, from the profile, with the authenticator's code of this 30-second step
    let setup = ada.get("/profile/two-factor").await;
    let secret = setup.texts("#totp-secret").into_iter().next().expect("the secret on the page");
    let secret = totp::decode_secret(&secret).expect("base32");
    let now = chrono::Utc::now().timestamp();
    ada.post("/profile/two-factor", &[("code", &totp::code(&secret, totp::step_at(now)))]).await.assert_status(200);

    browser.goto(&format!("{base}/login")).await;
    browser.click("a[href='/password/forgot']").await;
    browser.wait_for_path("the reset request", |p| p == "/password/forgot").await;
    browser.fill("#email", "ada@example.com").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_text(".flash", "If an account exists for ada@example.com").await;
    browser.screenshot("forgot").await;

    let token = app.wait_for_link("ada@example.com", "/password/reset/").await;
    browser.goto(&format!("{base}/password/reset/{token}")).await;
    browser.wait_for_text("h1", "Choose a new password").await;
    browser.fill("#password", "short").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_text(".field-error", "at least 12 characters").await;
    browser.fill("#password", "a-brand-new-password").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the sign-in page", |p| p == "/login").await;
    browser.wait_for_text(".flash", "Your password has been reset").await;

    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "a-brand-new-password").await;
    browser.click("form button[type=submit]").await;
    // the new password is not enough: the second step asks for the authenticator's code (the
    // next step's: each step's code is accepted once, and the enrolment used this one)
    browser.wait_for_path("the second step", |p| p == "/login/two-factor").await;
    browser.screenshot("second-step").await;
    browser.fill("#code", &totp::code(&secret, totp::step_at(now) + 1)).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.wait_for_text("table", "ada@example.com").await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_after_the_account_sessions_and_security_log() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();
    app.sign_up("ada@example.com", "Analytical Engines").await;
    // another browser's session, to sign out from this one
    let other = app.client();
    other.sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;

    browser.goto(&format!("{base}/profile")).await;
    browser.wait_for_text("#email-hint", "Not verified").await;
    browser.screenshot("profile").await;
    browser.click("a[href='/profile/sessions']").await;
    browser.wait_for_path("the sessions", |p| p == "/profile/sessions").await;
    browser.wait_for_text("#sessions", "This session").await;
    browser.screenshot("sessions").await;
    browser.click("form[action='/profile/sessions/revoke-others'] button").await;
    browser.wait_for_text(".flash", "other session").await;
    other.get("/profile").await.assert_status(303);

    browser.goto(&format!("{base}/profile/security")).await;
    browser.wait_for_text("#security-log", "Signed out everywhere else").await;
    browser.screenshot("security").await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_role_invite_someone_into_it_and_they_can_do_exactly_what_it_allows() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();
    let (_, org) = app.sign_up("ada@example.com", "Analytical Engines").await;

    browser.goto(&format!("{base}/login?next=/orgs/{org}/roles")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the roles", |p| p.ends_with("/roles")).await;
    browser.wait_for_text("#builtin-roles", "Transfer ownership and delete the organization").await;

    // a role from the permission reference, in the modal
    browser.click(".page-actions a.btn-primary").await;
    browser.wait_for_element("dialog.modal[open] #role-name").await;
    browser.fill("#role-name", "Auditors").await;
    browser.fill("#role-description", "Read the audit log and the member list").await;
    browser.click("dialog.modal input[name=permissions][value='audit.view']").await;
    browser.click("dialog.modal input[name=permissions][value='members.read']").await;
    browser.screenshot("role-form").await;
    browser.click("dialog.modal button[type=submit]").await;
    let role_page = browser.wait_for_path("the role's page", |p| p.contains("/roles/") && !p.ends_with("/new")).await;
    browser.wait_for_text(".flash", "Role “Auditors” created.").await;
    browser.wait_for_text("main", "View the audit log in the console, without exporting it.").await;

    // invited straight into the role from its page
    browser.click(".page-actions a[href*='/invitations/new?roles=']").await;
    browser.wait_for_element("dialog.modal[open] #invite-email").await;
    browser
        .wait_for_script("the role to be chosen", "return document.querySelector('dialog.modal input[name=roles]').checked", |v| {
            v.as_bool() == Some(true)
        })
        .await;
    browser.fill("#invite-email", "grace@example.com").await;
    browser.choose("#invite-role", "viewer").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Invitation sent to grace@example.com.").await;
    browser.goto(&format!("{base}{role_page}")).await;
    browser.wait_for_text("#role-invitations", "grace@example.com").await;
    browser.screenshot("role-page").await;

    // a dialog opened as its own page (a bookmark, no JavaScript) is a page of the console
    browser.goto(&format!("{base}{role_page}/delete")).await;
    browser.wait_for_element(".dialog-page dialog.modal #confirm_name").await;
    browser.wait_for_text("nav[aria-label=Organization]", "Roles").await;
    let script = "var d = document.querySelector('.dialog-page dialog.modal'), r = d.getBoundingClientRect(), \
        m = document.querySelector('main').getBoundingClientRect(); \
        return !d.matches(':modal') && r.left > m.left + 40 && Math.abs((r.left - m.left) - (m.right - r.right)) < 40;";
    browser.wait_for_script("the dialog page to be a centred card in the page, not a modal", script, |v| v.as_bool() == Some(true)).await;
    browser.screenshot("role-delete-page").await;

    // Grace accepts and lands where her roles let her: the member list
    let token = app.outbox_token_for("grace@example.com").await;
    browser.client.delete_all_cookies().await.expect("cookies");
    browser.goto(&format!("{base}/invitations/{token}")).await;
    browser.wait_for_text(".auth-card", "Analytical Engines").await;
    browser.fill("#name", "Grace Hopper").await;
    browser.fill("#password", "grace-password-123").await;
    browser.click("form[action$='/accept'] button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Auditors").await;
    browser.screenshot("members-with-roles").await;

    // exactly what the role allows: the audit log without its export, no settings, no keys
    browser.goto(&format!("{base}/orgs/{org}/audit")).await;
    browser.wait_for_text("h1", "Audit log").await;
    browser.wait_for_text("table", "invitation.accepted").await;
    browser.wait_for_script("no export", "return document.querySelector('a[href*=\"audit.csv\"]') === null", |v| v.as_bool() == Some(true)).await;
    browser.wait_for_text_without("nav[aria-label=Organization]", "Settings").await;
    browser.goto(&format!("{base}/orgs/{org}/settings")).await;
    browser.wait_for_text("main", "do not allow this action").await;
    browser.goto(&format!("{base}/profile")).await;
    browser.wait_for_text("#my-access", "Auditors").await;
    browser.wait_for_text("#my-access", "Invited by ada (ada@example.com)").await;
    browser.screenshot("my-access").await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_several_people_from_a_csv_file_without_javascript_dialogs() {
    let Some((app, browser)) = app_and_browser().await else { return };
    let base = app.base.clone();
    let (_, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "email,role\r\ngrace@example.com,editor\r\nnot-an-email,viewer\r\nada@example.com,viewer\r\n").expect("the CSV file");

    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;

    // the member list leads to the page; the browser posts the file as multipart, token inside
    browser.click("#bulk-invite").await;
    browser.wait_for_path("the bulk page", |p| p == format!("/orgs/{org}/invitations/bulk")).await;
    browser.choose_file("#bulk-file", &csv).await;
    browser.click("#bulk-form button[type=submit]").await;
    browser.wait_for_exact_text("#preview-counts", "1 to invite, 2 not invited.").await;
    browser.wait_for_text("tr[data-line='3']", "Enter a valid email address").await;
    browser.wait_for_text("tr[data-line='4']", "Already a member").await;
    browser.wait_for_text("#rate-limit", "through now").await;
    browser.screenshot("bulk-preview").await;
    assert_eq!(app.count("invitations").await, 0, "the preview sends nothing");

    browser.click("form#confirm button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    browser.wait_for_text(".flash", "1 invitation sent.").await;
    browser.wait_for_text("tr[data-email='grace@example.com']", "Pending Invitation").await;
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);

    browser.close().await;
    app.stop().await;
}
