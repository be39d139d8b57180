//! The member list and the member actions, and who may act on whom.
//!
//! Its columns, search, filters, sorting and paging; changing a role, deactivating, activating
//! and removing.

use steward::domain::Role;

use crate::helpers::{PASSWORD, TestApp};

async fn the_member_list_shows_every_column_and_invitations_as_rows(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob_id, _) = app.add_member(org, "bob@example.com", Role::Editor).await;
    owner.invite(org, "carl@example.com", "viewer").await;
    owner.deactivate(org, bob_id).await;
    // the invitation's email has gone out: its row has nothing to say of it
    app.mail_settled().await;

    let page = owner.get(&format!("/orgs/{org}/members")).await;
    page.assert_status(200);
    assert_eq!(page.texts("thead th"), vec!["Email", "Status", "Role", "Created at", "Last active", "Auth method", "Actions"]);
    let emails = page.texts("td.cell-primary");
    assert_eq!(emails, vec!["ada@example.com (you) ada", "bob@example.com bob", "carl@example.com"]);
    assert_eq!(page.texts("tbody td:nth-child(2)"), vec!["Active", "Inactive", "Pending Invitation"]);
    assert_eq!(page.texts("tbody td:nth-child(3)"), vec!["Owner", "Editor", "Viewer"]);
    assert_eq!(page.texts("tbody td:nth-child(6)"), vec!["Password", "Password", "—"]);
    // actions: none on yourself (the owner), Activate for the inactive, Resend/Cancel for the invitation
    let actions = page.texts("tbody td.actions");
    assert_eq!(actions[0], "");
    assert_eq!(actions[1], "Edit Activate Remove");
    assert_eq!(actions[2], "Resend invitation Cancel invitation");
}

async fn an_admin_sees_actions_but_never_on_the_owner_or_themselves(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    app.add_member(org, "vic@example.com", Role::Viewer).await;
    let page = admin.get(&format!("/orgs/{org}/members")).await;
    let actions = page.texts("tbody td.actions");
    assert_eq!(actions, vec!["", "", "Edit Deactivate Remove"], "ada (owner), al (self), vic");
}

async fn search_filters_sort_and_pagination_work_together(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_bulk_members(org, 120, Role::Viewer).await;
    owner.invite(org, "member-pending@bulk.test", "editor").await;

    let first = owner.get(&format!("/orgs/{org}/members")).await;
    assert_eq!(first.texts(".pagination .muted"), vec!["1–50 of 122"]);
    assert_eq!(first.texts("td.cell-primary").len(), 50);
    let third = owner.get(&format!("/orgs/{org}/members?page=3")).await;
    assert_eq!(third.texts(".pagination .muted"), vec!["101–122 of 122"]);
    assert!(third.texts("a[rel=next]").is_empty());

    let search = owner.get(&format!("/orgs/{org}/members?q=PERSON+11")).await;
    assert_eq!(search.texts(".pagination .muted"), vec!["1–10 of 10"], "matches names too, any case");
    let by_email = owner.get(&format!("/orgs/{org}/members?q=member-01")).await;
    assert_eq!(by_email.texts("td.cell-primary").len(), 10);
    let wildcard = owner.get(&format!("/orgs/{org}/members?q=%25")).await;
    assert_eq!(wildcard.texts("td.cell-primary").len(), 0, "LIKE wildcards are literal");

    let pending = owner.get(&format!("/orgs/{org}/members?status=pending")).await;
    assert_eq!(pending.texts("td.cell-primary"), vec!["member-pending@bulk.test"]);
    let editors = owner.get(&format!("/orgs/{org}/members?role=editor")).await;
    assert_eq!(editors.texts("td.cell-primary"), vec!["member-pending@bulk.test"]);
    let owners = owner.get(&format!("/orgs/{org}/members?role=owner&status=active")).await;
    assert_eq!(owners.texts("td.cell-primary"), vec!["ada@example.com (you) ada"]);

    let newest = owner.get(&format!("/orgs/{org}/members?sort=created&status=active&role=viewer")).await;
    assert_eq!(newest.texts("td.cell-primary")[0], "member-119@bulk.test Bulk Person 119");
    let desc = owner.get(&format!("/orgs/{org}/members?sort=-email")).await;
    assert_eq!(desc.texts("td.cell-primary")[0], "member-pending@bulk.test");
    let active = owner.get(&format!("/orgs/{org}/members?sort=last_active")).await;
    assert_eq!(active.texts("td.cell-primary")[0], "ada@example.com (you) ada");

    // filters survive paging; unknown values are ignored, not errors
    let next = first.html().select(&scraper::Selector::parse("a[rel=next]").unwrap()).next().unwrap().value().attr("href").unwrap().to_string();
    assert_eq!(next, format!("/orgs/{org}/members?page=2"));
    let filtered = owner.get(&format!("/orgs/{org}/members?role=viewer&sort=-email")).await;
    let href = filtered.html().select(&scraper::Selector::parse("a[rel=next]").unwrap()).next().unwrap().value().attr("href").unwrap().to_string();
    assert_eq!(href, format!("/orgs/{org}/members?role=viewer&amp;sort=-email&amp;page=2").replace("&amp;", "&"));
    owner.get(&format!("/orgs/{org}/members?status=bogus&role=god&sort=x&page=-4")).await.assert_status(200);
}

async fn an_admin_changes_roles_but_never_the_owners_nor_their_own(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    app.add_member(org, "vic@example.com", Role::Viewer).await;
    let (ada, al, vic) = (app.account_id("ada@example.com").await, app.account_id("al@example.com").await, app.account_id("vic@example.com").await);

    let form = admin.get(&format!("/orgs/{org}/members/{vic}/edit")).await;
    form.assert_status(200);
    assert_eq!(form.texts("#edit-role option"), vec!["Admin", "Editor", "Viewer"]);
    admin.post(&format!("/orgs/{org}/members/{vic}"), &[("role", "admin")]).await.assert_status(303);
    admin.post(&format!("/orgs/{org}/members/{vic}"), &[("role", "editor")]).await.assert_status(303);

    let owner = admin.post(&format!("/orgs/{org}/members/{ada}"), &[("role", "viewer")]).await;
    owner.assert_status(403);
    assert!(owner.contains("The owner cannot be changed"));
    admin.get(&format!("/orgs/{org}/members/{ada}/edit")).await.assert_status(403);
    let me = admin.post(&format!("/orgs/{org}/members/{al}"), &[("role", "viewer")]).await;
    me.assert_status(403);
    assert!(me.contains("You cannot do this to yourself"));
    let make_owner = admin.post(&format!("/orgs/{org}/members/{vic}"), &[("role", "owner")]).await;
    make_owner.assert_status(422);
    assert!(make_owner.contains("The owner role is only given by transferring ownership."));
    admin.post(&format!("/orgs/{org}/members/{vic}"), &[("role", "emperor")]).await.assert_status(422);

    let actions = app.actions(org).await;
    assert_eq!(actions, vec!["org.created", "member.role_changed", "member.role_changed"]);
    let details = app
        .with_db(move |db| steward::storage::audit::all_of_org(&mut db.conn().unwrap(), org).unwrap()[2].body.details.clone())
        .await;
    assert_eq!(details, r#"{"new_role":"editor","old_role":"admin"}"#);
}

async fn deactivation_ends_access_at_once_and_activation_restores_it(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    let (ada, al) = (app.account_id("ada@example.com").await, app.account_id("al@example.com").await);
    admin.post(&format!("/orgs/{org}/members/{ada}/deactivate"), &[]).await.assert_status(403);
    admin.post(&format!("/orgs/{org}/members/{al}/deactivate"), &[]).await.assert_status(403);

    owner.post(&format!("/orgs/{org}/members/{al}/deactivate"), &[]).await.assert_status(303);
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(404);
    admin.post(&format!("/orgs/{org}/members/{ada}/deactivate"), &[]).await.assert_status(404);
    // their own organizations list shows the membership as inactive
    assert!(admin.get("/orgs").await.texts("td").contains(&"Inactive".to_string()));
    owner.post(&format!("/orgs/{org}/members/{al}/activate"), &[]).await.assert_status(303);
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.deactivated", "member.activated"]);
}

async fn removal_needs_the_typed_email_and_the_person_must_be_invited_again(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, bob) = app.add_member(org, "bob@example.com", Role::Editor).await;
    let (ada, bob_id) = (app.account_id("ada@example.com").await, app.account_id("bob@example.com").await);

    let dialog = owner.get(&format!("/orgs/{org}/members/{bob_id}/remove")).await;
    dialog.assert_status(200);
    assert!(dialog.contains(r#"data-confirm-value="bob@example.com""#));
    let wrong = owner.post(&format!("/orgs/{org}/members/{bob_id}/remove"), &[("confirm_email", "bob@example.co")]).await;
    wrong.assert_status(422);
    assert!(wrong.contains("Type the member&#x27;s email address exactly") || wrong.contains("Type the member&#39;s email address exactly"));
    bob.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);

    let owner_removal = owner.post(&format!("/orgs/{org}/members/{ada}/remove"), &[("confirm_email", "ada@example.com")]).await;
    owner_removal.assert_status(403);

    owner.post(&format!("/orgs/{org}/members/{bob_id}/remove"), &[("confirm_email", "  BOB@Example.com ")]).await.assert_status(303);
    bob.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);
    assert_eq!(app.count("accounts").await, 2, "the account stays");

    owner.invite(org, "bob@example.com", "viewer").await;
    let token = app.outbox_token_for("bob@example.com").await;
    bob.post(&format!("/invitations/{token}/accept"), &[]).await.assert_status(303);
    bob.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
    let actions = app.actions(org).await;
    assert_eq!(actions, vec!["org.created", "member.removed", "member.invited", "invitation.accepted"]);
}

async fn htmx_gets_the_dialog_alone_and_plain_requests_the_page(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = owner.get(&format!("/orgs/{org}/invitations/new")).await;
    assert!(page.contains("<html") && page.contains(r#"<dialog class="modal" open data-open"#));
    let resp = owner.http.get(format!("{}/orgs/{org}/invitations/new", owner.base)).header("HX-Request", "true").send().await.unwrap();
    let fragment = resp.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.trim_start().starts_with("<dialog"));
    // an invalid htmx submission answers 422 with the dialog and its errors
    let token = owner.csrf().await;
    let resp = owner
        .http
        .post(format!("{}/orgs/{org}/invitations", owner.base))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&[("email", "nope"), ("role", "viewer")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body = resp.text().await.unwrap();
    assert!(body.trim_start().starts_with("<dialog") && body.contains("Enter a valid email address"));
    let _ = PASSWORD;
}

/// The list's totals (for no filter, each status and a few roles), as its pagination reads them.
async fn totals(owner: &crate::helpers::Client, org: steward::domain::OrgId) -> Vec<String> {
    let mut out = Vec::new();
    for query in ["", "?status=active", "?status=inactive", "?status=pending", "?role=viewer", "?role=admin", "?status=active&role=editor"] {
        out.extend(owner.get(&format!("/orgs/{org}/members{query}")).await.texts(".pagination .muted"));
    }
    out
}

async fn the_totals_follow_every_change_to_the_members(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Editor).await;
    let (cy, _) = app.add_member(org, "cy@example.com", Role::Viewer).await;
    let (dee, dee_client) = app.add_member(org, "dee@example.com", Role::Viewer).await;
    owner.invite(org, "eve@example.com", "viewer").await;
    let rows = |n: usize| if n == 0 { "0 rows".to_string() } else { format!("1–{n} of {n}") };
    assert_eq!(totals(&owner, org).await, [5, 4, 0, 1, 3, 0, 1].map(rows));

    owner.deactivate(org, dee).await;
    owner.post(&format!("/orgs/{org}/members/{bob}"), &[("role", "admin")]).await.assert_status(303);
    assert_eq!(totals(&owner, org).await, [5, 3, 1, 1, 3, 1, 0].map(rows));

    owner.post(&format!("/orgs/{org}/members/{cy}/remove"), &[("confirm_email", "cy@example.com")]).await.assert_status(303);
    dee_client.post("/profile/delete", &[("confirm_email", "dee@example.com")]).await.assert_status(303);
    let token = app.outbox_token_for("eve@example.com").await;
    let eve = app.client();
    eve.get(&format!("/invitations/{token}")).await.assert_status(200);
    eve.post(&format!("/invitations/{token}/accept"), &[("name", "Eve"), ("password", PASSWORD)]).await.assert_status(303);
    assert_eq!(totals(&owner, org).await, [3, 3, 0, 0, 1, 1, 0].map(rows));
}

/// A control character in the search (a NUL, which PostgreSQL refuses in text) is no error:
/// no email or name holds one, so it is left out of the search.
async fn a_search_with_control_characters_is_answered_not_an_error(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for q in ["%00", "ada%00", "%01%7F"] {
        let page = owner.get(&format!("/orgs/{org}/members?q={q}")).await;
        page.assert_status(200);
        assert!(page.contains("ada@example.com"), "q={q}: the search without its control characters");
        owner.get(&format!("/orgs/{org}/members.csv?q={q}")).await.assert_status(200);
        owner.get(&format!("/orgs/{org}/invitations?q={q}")).await.assert_status(200);
    }
}

crate::on_both_backends!(
    a_search_with_control_characters_is_answered_not_an_error,
    the_totals_follow_every_change_to_the_members,
    the_member_list_shows_every_column_and_invitations_as_rows,
    an_admin_sees_actions_but_never_on_the_owner_or_themselves,
    search_filters_sort_and_pagination_work_together,
    an_admin_changes_roles_but_never_the_owners_nor_their_own,
    deactivation_ends_access_at_once_and_activation_restores_it,
    removal_needs_the_typed_email_and_the_person_must_be_invited_again,
    htmx_gets_the_dialog_alone_and_plain_requests_the_page,
);
