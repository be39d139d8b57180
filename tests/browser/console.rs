//! The console as a whole: its tables fit a laptop and a phone, every page and dialog passes
//! axe-core in the light and in the dark, and a dialog opened from the keyboard keeps the focus
//! and gives it back.
//!
//! Pages are grouped into a few tests, one browser each, rather than one browser per page: the
//! suite runs on two cores.

use fantoccini::key::Key;
use steward::domain::{OrgId, Role};

use crate::driver::{Browser, Scheme};
use crate::helpers::{Backend, NewKey, PASSWORD, TestApp};

const LONG_EMAIL: &str = "maximiliana.wolfeschlegelsteinhausen-bergerdorff@research.analytical-engines.example.com";
const LONG_ROLE: &str = "Deployment reviewers and on-call incident responders (EU)";
const LONG_KEY: &str = "Nightly backup verification job for the production databases in eu-west-1";
/// As long as a deployment's name may be.
const LONG_DEPLOYMENT: &str = "web-production-eu-west-1-primary-cluster-blue-green-canary-0001";

/// An organization with what makes tables wide: long emails and names, custom roles beside the
/// built-in ones, pending invitations, an inactive member, several API keys (one revoked, one
/// with chosen permissions) and an audit log whose details run long.
async fn a_busy_organization(scheme: Scheme) -> Option<(TestApp, Browser, OrgId)> {
    let app = TestApp::builder().spawn(Backend::Sqlite).await;
    let Some(browser) = Browser::start_in(scheme).await else {
        app.stop().await;
        return None;
    };
    let (owner, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    owner.post(&format!("/orgs/{org}/settings"), &[("name", "Analytical Engines of the Difference and the Jacquard Looms")]).await.assert_status(303);
    let long = app.add_member_who_never_signs_in(org, LONG_EMAIL, Role::Admin).await;
    let grace = app.add_member_who_never_signs_in(org, "grace@example.com", Role::Editor).await;
    let gone = app.add_member_who_never_signs_in(org, "charles@example.com", Role::Viewer).await;
    app.add_bulk_members(org, 6, Role::Viewer).await;
    let responders = owner.create_role(org, LONG_ROLE, &["deployments.write", "audit.view", "members.read"]).await;
    let auditors = owner.create_role(org, "Auditors", &["audit.read"]).await;
    for account in [long, grace] {
        owner.give_role(org, responders, account).await;
        owner.give_role(org, auditors, account).await;
    }
    owner.deactivate(org, gone).await;
    owner.invite(org, "ida.rhodes.and.the.national.bureau.of.standards@computing.example.org", "editor").await;
    owner.invite(org, "kathleen@example.com", "viewer").await;
    owner.create_deployment(org, LONG_DEPLOYMENT, "eu-west-1").await;
    owner.create_deployment(org, "api", "us-east-1").await;
    owner.create_api_key(org, NewKey::named(LONG_KEY)).await;
    owner.create_api_key(org, NewKey::named("ci-deploy").grants(&["deployments.read", "deployments.write", "audit.read", "members.read"])).await;
    owner.create_api_key(org, NewKey::named("metrics-exporter").read_only().expiring_in_days(30)).await;
    owner.create_api_key(org, NewKey::named("old-script")).await;
    let keys = owner.get(&format!("/orgs/{org}/api-keys")).await;
    let revoke = keys
        .html()
        .select(&scraper::Selector::parse("#api-keys form[action$='/revoke']").expect("selector"))
        .filter_map(|f| f.value().attr("action").map(str::to_owned))
        .find(|_| true)
        .expect("a key to revoke");
    owner.post(&revoke, &[]).await.assert_status(303);
    Some((app, browser, org))
}

async fn sign_in(browser: &Browser, base: &str, email: &str) {
    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
}

/// The console's pages with tables, and two forms, by a short name for the screenshots.
fn console_pages(org: OrgId) -> Vec<(&'static str, String)> {
    vec![
        ("members", format!("/orgs/{org}/members")),
        ("invitations", format!("/orgs/{org}/invitations")),
        ("audit", format!("/orgs/{org}/audit")),
        ("api-keys", format!("/orgs/{org}/api-keys")),
        ("deployments", format!("/orgs/{org}/deployments")),
        ("roles", format!("/orgs/{org}/roles")),
        ("orgs", "/orgs".to_string()),
        ("sessions", "/profile/sessions".to_string()),
        ("security", "/profile/security".to_string()),
        ("settings", format!("/orgs/{org}/settings")),
        ("profile", "/profile".to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_tables_fit_a_laptop_and_a_phone_and_their_row_menus_work() {
    let Some((app, browser, org)) = a_busy_organization(Scheme::Light).await else { return };
    let base = app.base.clone();
    sign_in(&browser, &base, "ada@example.com").await;

    browser.client.set_window_size(1280, 800).await.expect("resize");
    for (name, path) in console_pages(org) {
        browser.goto(&format!("{base}{path}")).await;
        browser.wait_for_element("main.content h1").await;
        browser.assert_fits(&path).await;
        browser.screenshot(&format!("{name}-1280x800")).await;
    }
    // a deployment's rename form, open in its row
    browser.goto(&format!("{base}/orgs/{org}/deployments")).await;
    browser.click(&format!("tr:has(input[value='{LONG_DEPLOYMENT}']) details.row-action > summary")).await;
    browser.wait_for_element(&format!("details[open] input[value='{LONG_DEPLOYMENT}']")).await;
    browser.assert_fits("the deployments with a rename form open").await;
    browser.screenshot("deployments-rename-1280x800").await;

    // on a phone the page itself never scrolls sideways; a table may, inside its box
    browser.client.set_window_size(390, 844).await.expect("resize");
    for (name, path) in console_pages(org) {
        browser.goto(&format!("{base}{path}")).await;
        browser.wait_for_element("main.content h1").await;
        browser
            .wait_for_script(
                &format!("{path} not to scroll sideways on a phone (seen: overflow in px)"),
                "return document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth;",
                |overflow| overflow.as_i64().unwrap_or(1) <= 0,
            )
            .await;
        // a table that scrolls in its box is reachable from the keyboard
        browser.assert_accessible(&format!("{path} on a phone")).await;
        browser.screenshot(&format!("{name}-390x844")).await;
    }
    // a row's menu on a phone opens inside the window
    browser.goto(&format!("{base}/orgs/{org}/members")).await;
    browser.click("tr[data-email='grace@example.com'] .row-menu > summary").await;
    browser
        .wait_for_script(
            "the open menu to lie inside the window",
            "var r = document.querySelector('tr[data-email=\"grace@example.com\"] .row-menu .menu').getBoundingClientRect(); \
             return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth && r.top >= 0 && r.bottom <= window.innerHeight;",
            |v| v.as_bool() == Some(true),
        )
        .await;
    browser.screenshot("row-menu-390x844").await;

    // on a laptop, each row's actions are in its menu: deactivate through it, then activate
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.goto(&format!("{base}/orgs/{org}/members")).await;
    let row = "tr[data-email='grace@example.com']";
    browser.click(&format!("{row} .row-menu > summary")).await;
    browser.screenshot("row-menu-1280x800").await;
    browser.click(&format!("{row} .row-menu a[href$='/deactivate']")).await;
    browser.wait_for_element("dialog.modal[open] form[action$='/deactivate']").await;
    browser.click("dialog.modal button[type=submit]").await;
    browser.wait_for_text(".flash", "Member deactivated.").await;
    browser.wait_for_text(row, "Inactive").await;
    browser.click(&format!("{row} .row-menu > summary")).await;
    browser.click(&format!("{row} .row-menu form[action$='/activate'] button")).await;
    browser.wait_for_text(".flash", "Member activated.").await;
    browser.wait_for_text(row, "Active").await;

    // a menu closes when another opens, on a click elsewhere and on Escape
    browser.click(&format!("{row} .row-menu > summary")).await;
    browser.click(&format!("tr[data-email='{LONG_EMAIL}'] .row-menu > summary")).await;
    browser.wait_for_script("one menu open at a time", "return document.querySelectorAll('.row-menu[open]').length;", |v| v.as_i64() == Some(1)).await;
    browser.click(".topbar-title").await;
    browser.wait_for_script("no menu open after a click elsewhere", "return document.querySelectorAll('.row-menu[open]').length;", |v| v.as_i64() == Some(0)).await;
    browser.click(&format!("{row} .row-menu > summary")).await;
    browser.press(Key::Escape).await;
    browser.wait_for_script("no menu open after Escape", "return document.querySelectorAll('.row-menu[open]').length;", |v| v.as_i64() == Some(0)).await;

    // an API key is revoked through its row's menu
    browser.goto(&format!("{base}/orgs/{org}/api-keys")).await;
    let key = "#api-keys tbody tr:has(.row-menu)";
    let before = browser.wait_for_script("the active keys", "return document.querySelectorAll('#api-keys tbody tr:has(.row-menu)').length;", |v| v.as_i64().unwrap_or(0) > 0).await;
    browser.click(&format!("{key} .row-menu > summary")).await;
    browser.click(&format!("{key} .row-menu[open] form[action$='/revoke'] button[type=submit]")).await;
    browser.wait_for_element(".flash").await;
    let fewer = before.as_i64().unwrap_or(0) - 1;
    browser
        .wait_for_script("one active key fewer", "return document.querySelectorAll('#api-keys tbody tr:has(.row-menu)').length;", |v| v.as_i64() == Some(fewer))
        .await;

    browser.close().await;
    app.stop().await;
}

/// Every main page and dialog, each checked by axe-core and photographed.
async fn every_page_and_dialog_passes_axe(scheme: Scheme) {
    let Some((app, browser, org)) = a_busy_organization(scheme).await else { return };
    let base = app.base.clone();
    let shot = |name: &str| format!("{}-{name}", if scheme == Scheme::Dark { "dark" } else { "light" });
    browser.client.set_window_size(1280, 800).await.expect("resize");

    // the browser asks for the scheme, and the console follows it: dark cards or light ones
    browser.goto(&format!("{base}/login")).await;
    let dark = scheme == Scheme::Dark;
    browser
        .wait_for_script(
            &format!("the page to be {}", if dark { "dark" } else { "light" }),
            "var c = getComputedStyle(document.querySelector('.card')).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number); \
             return [matchMedia('(prefers-color-scheme: dark)').matches, c[0] + c[1] + c[2]];",
            |v| v[0].as_bool() == Some(dark) && v[1].as_i64().is_some_and(|sum| if dark { sum < 150 } else { sum > 600 }),
        )
        .await;
    for (name, path) in [("sign-in", "/login"), ("sign-up", "/signup"), ("forgot", "/password/forgot")] {
        browser.goto(&format!("{base}{path}")).await;
        browser.wait_for_element("main form").await;
        browser.assert_accessible(path).await;
        browser.screenshot(&shot(name)).await;
    }
    sign_in(&browser, &base, "ada@example.com").await;

    let pages = [
        ("orgs", "/orgs".to_string()),
        ("members", format!("/orgs/{org}/members")),
        ("invitations", format!("/orgs/{org}/invitations")),
        ("invite-several", format!("/orgs/{org}/invitations/bulk")),
        ("deployments", format!("/orgs/{org}/deployments")),
        ("audit", format!("/orgs/{org}/audit")),
        ("api-keys", format!("/orgs/{org}/api-keys")),
        ("roles", format!("/orgs/{org}/roles")),
        ("settings", format!("/orgs/{org}/settings")),
        ("profile", "/profile".to_string()),
        ("security", "/profile/security".to_string()),
        ("sessions", "/profile/sessions".to_string()),
        ("two-factor", "/profile/two-factor".to_string()),
    ];
    for (name, path) in pages {
        browser.goto(&format!("{base}{path}")).await;
        browser.wait_for_element("main.content h1").await;
        browser.assert_accessible(&path).await;
        browser.screenshot(&shot(name)).await;
    }

    // the dialogs of the member list, opened as a person would, over the list
    let members = format!("{base}/orgs/{org}/members");
    let row = "tr[data-email='grace@example.com']";
    let dialogs = [
        ("invite", ".page-actions a.btn-primary", "#invite-email"),
        ("edit-role", "a[href$='/edit']", "#edit-role"),
        ("remove", "a[href$='/remove']", "#confirm_email"),
        ("deactivate", "a[href$='/deactivate']", "form[action$='/deactivate']"),
    ];
    for (name, opener, inside) in dialogs {
        browser.goto(&members).await;
        if !opener.starts_with(".page-actions") {
            browser.click(&format!("{row} .row-menu > summary")).await;
        }
        let opener = if opener.starts_with(".page-actions") { opener.to_string() } else { format!("{row} {opener}") };
        browser.click(&opener).await;
        browser.wait_for_element(&format!("dialog.modal[open] {inside}")).await;
        browser.assert_accessible(&format!("the {name} dialog")).await;
        browser.screenshot(&shot(&format!("dialog-{name}"))).await;
    }
    // a row's menu, open
    browser.goto(&members).await;
    browser.click(&format!("{row} .row-menu > summary")).await;
    browser.assert_accessible("the member list with a row's menu open").await;

    // the role form, and a role's page
    browser.goto(&format!("{base}/orgs/{org}/roles")).await;
    browser.click(".page-actions a.btn-primary").await;
    browser.wait_for_element("dialog.modal[open] #role-name").await;
    browser.assert_accessible("the role form").await;
    browser.screenshot(&shot("dialog-role")).await;
    browser.goto(&format!("{base}/orgs/{org}/roles")).await;
    browser.click("#custom-roles td.cell-primary a").await;
    browser.wait_for_path("a role's page", |p| p.contains("/roles/")).await;
    browser.wait_for_element("main.content h1").await;
    browser.assert_accessible("a role's page").await;
    browser.screenshot(&shot("role")).await;

    // the create-deployment form, open
    browser.goto(&format!("{base}/orgs/{org}/deployments")).await;
    browser.click("details.create-deployment > summary").await;
    browser.wait_for_element("details.create-deployment[open] #deployment-name").await;
    browser.assert_accessible("the create-deployment form").await;

    // a new API key: the form, then the page that shows its secret once
    browser.goto(&format!("{base}/orgs/{org}/api-keys")).await;
    browser.fill("#key-name", "axe-check").await;
    browser.click("form[action$='/api-keys'] button[type=submit]").await;
    browser.wait_for_element("#new-key code#secret").await;
    browser.assert_accessible("the new API key").await;
    browser.screenshot(&shot("api-key-created")).await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_dialog_passes_axe_in_the_light() {
    every_page_and_dialog_passes_axe(Scheme::Light).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_dialog_passes_axe_in_the_dark() {
    every_page_and_dialog_passes_axe(Scheme::Dark).await;
}

/// Whether the focus is inside the open modal.
const FOCUS_IN_DIALOG: &str = "var d = document.querySelector('dialog.modal[open]'); return !!d && d.contains(document.activeElement);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialog_opened_from_the_keyboard_keeps_the_focus_and_gives_it_back() {
    let app = TestApp::builder().spawn(Backend::Sqlite).await;
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();
    let (_, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    app.add_member_who_never_signs_in(org, "grace@example.com", Role::Editor).await;
    sign_in(&browser, &base, "ada@example.com").await;

    // a row's menu button, Enter opens its menu, Tab reaches the first action, Enter opens it
    let button = "tr[data-email='grace@example.com'] .row-menu > summary";
    browser.focus(button).await;
    browser.press(Key::Enter).await;
    browser.wait_for_attribute("tr[data-email='grace@example.com'] .row-menu", "open", "be set", |v| v.is_some()).await;
    browser.press(Key::Down).await;
    browser
        .wait_for_script("ArrowDown to reach the first action", "return document.activeElement.textContent.trim();", |v| v.as_str() == Some("Edit"))
        .await;
    browser.press(Key::Enter).await;
    browser.wait_for_element("dialog.modal[open] #edit-role").await;
    browser.wait_for_script("the focus to move into the dialog", FOCUS_IN_DIALOG, |v| v.as_bool() == Some(true)).await;
    // more presses than the dialog has controls: the focus goes round inside it
    for _ in 0..14 {
        browser.press(Key::Tab).await;
        browser.wait_for_script("Tab to keep the focus in the dialog", FOCUS_IN_DIALOG, |v| v.as_bool() == Some(true)).await;
    }
    browser.press(Key::Escape).await;
    browser.wait_for_script("the dialog to close", "return document.querySelector('dialog.modal') === null;", |v| v.as_bool() == Some(true)).await;
    let back = format!("return document.activeElement === document.querySelector(\"{button}\");");
    browser.wait_for_script("the focus back on the row's menu button", &back, |v| v.as_bool() == Some(true)).await;

    // a page's own button: the focus returns to it
    browser.focus(".page-actions a.btn-primary").await;
    browser.press(Key::Enter).await;
    browser.wait_for_element("dialog.modal[open] #invite-email").await;
    browser.wait_for_script("the focus to move into the dialog", FOCUS_IN_DIALOG, |v| v.as_bool() == Some(true)).await;
    for _ in 0..20 {
        browser.press(Key::Tab).await;
        browser.wait_for_script("Tab to keep the focus in the dialog", FOCUS_IN_DIALOG, |v| v.as_bool() == Some(true)).await;
    }
    browser.press(Key::Escape).await;
    browser.wait_for_script("the dialog to close", "return document.querySelector('dialog.modal') === null;", |v| v.as_bool() == Some(true)).await;
    browser
        .wait_for_script(
            "the focus back on Invite member",
            "return document.activeElement === document.querySelector('.page-actions a.btn-primary');",
            |v| v.as_bool() == Some(true),
        )
        .await;

    browser.close().await;
    app.stop().await;
}
