//! Custom roles: defining them, giving them, what their holders may do, and that nobody gives,
//! takes or defines more than they hold themselves.

use steward::domain::{OrgId, Role, RoleId};

use crate::helpers::{NewKey, PASSWORD, TestApp};
use crate::support::api::Api;

/// The custom roles `account` holds in `org`, by name.
async fn roles_of(app: &TestApp, org: OrgId, email: &str) -> Vec<String> {
    let account = app.account_id(email).await;
    app.with_db(move |db| {
        steward::operations::roles::of_member(db, org, account).expect("roles").into_iter().map(|r| r.name).collect()
    })
    .await
}

async fn owner_creates_edits_and_deletes_a_custom_role(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = owner.get(&format!("/orgs/{org}/roles")).await;
    page.assert_status(200);
    assert_eq!(page.texts("#builtin-roles tbody tr td.cell-primary .badge"), vec!["Owner", "Admin", "Editor", "Viewer"]);
    assert!(page.texts("#builtin-roles").join(" ").contains("See the organization's deployments."));
    assert!(page.contains("members.invite") && page.contains("audit.view"), "the permission reference lists the finer permissions");

    let created = owner
        .post(
            &format!("/orgs/{org}/roles"),
            &[("name", "Auditor"), ("description", "Reads the log"), ("permissions", "audit.view"), ("permissions", "members.read")],
        )
        .await;
    created.assert_status(303);
    let role: RoleId = created.location.as_deref().unwrap().rsplit('/').next().unwrap().parse().unwrap();
    let details = owner.get(&format!("/orgs/{org}/roles/{role}")).await;
    details.assert_status(200);
    assert!(details.contains("Auditor") && details.contains("Reads the log") && details.contains("View the audit log in the console"));

    // names are unique in the organization whatever their case, and never a built-in's
    for (name, perms, field_message) in [
        ("auditor", "members.read", "already exists"),
        ("Admin", "members.read", "built-in role"),
        ("Root", "org.owner", "Only the owner holds org.owner"),
        ("Odd", "members.sudo", "is not a permission"),
        ("Empty", "", "at least one permission"),
    ] {
        let refused = owner.post(&format!("/orgs/{org}/roles"), &[("name", name), ("permissions", perms)]).await;
        refused.assert_status(422);
        assert!(refused.contains(field_message), "{name}: {}", refused.body);
    }

    let edited = owner
        .post(&format!("/orgs/{org}/roles/{role}"), &[("name", "Log reader"), ("description", ""), ("permissions", "audit.read")])
        .await;
    edited.assert_status(303);
    let list = owner.get(&format!("/orgs/{org}/roles")).await;
    assert_eq!(list.texts("#custom-roles td.cell-primary a"), vec!["Log reader"]);
    assert_eq!(list.texts("#custom-roles tbody td:nth-child(2)"), vec!["audit.read"]);

    let wrong = owner.post(&format!("/orgs/{org}/roles/{role}/delete"), &[("confirm_name", "Auditor")]).await;
    wrong.assert_status(422);
    assert_eq!(app.count("roles").await, 1, "a wrong name deletes nothing");
    owner.get(&format!("/orgs/{org}/roles/{role}/delete")).await.assert_status(200);
    owner.post(&format!("/orgs/{org}/roles/{role}/delete"), &[("confirm_name", " log READER ")]).await.assert_status(303);
    assert_eq!(app.count("roles").await, 0);
    owner.get(&format!("/orgs/{org}/roles/{role}")).await.assert_status(404);
    let actions = app.actions(org).await;
    assert_eq!(&actions[actions.len() - 3..], ["role.created", "role.updated", "role.deleted"]);
}

async fn a_custom_role_gives_exactly_its_permissions_and_they_add_up(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (vic_id, vic) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let audit_viewer = owner.create_role(org, "Audit viewer", &["audit.view"]).await;
    let people = owner.create_role(org, "People", &["members.read"]).await;

    vic.get(&format!("/orgs/{org}/audit")).await.assert_status(403);
    owner.give_role(org, audit_viewer, vic_id).await;
    let audit = vic.get(&format!("/orgs/{org}/audit")).await;
    audit.assert_status(200);
    assert!(!audit.contains("Export CSV"), "viewing is not exporting");
    vic.get(&format!("/orgs/{org}/audit.csv")).await.assert_status(403);
    vic.get(&format!("/orgs/{org}/members")).await.assert_status(403);

    owner.give_role(org, people, vic_id).await;
    vic.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    vic.get(&format!("/orgs/{org}/audit")).await.assert_status(200);
    vic.get(&format!("/orgs/{org}/roles")).await.assert_status(200);
    assert_eq!(roles_of(app, org, "vic@example.com").await, vec!["Audit viewer", "People"]);

    // taking a role ends what it allowed at the next request
    owner.post(&format!("/orgs/{org}/roles/{people}/members/{vic_id}/remove"), &[]).await.assert_status(303);
    vic.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    vic.get(&format!("/orgs/{org}/audit")).await.assert_status(200);
    // and editing the role changes what its holders may do
    owner
        .post(&format!("/orgs/{org}/roles/{audit_viewer}"), &[("name", "Audit viewer"), ("permissions", "audit.read")])
        .await
        .assert_status(303);
    vic.get(&format!("/orgs/{org}/audit.csv")).await.assert_status(200);
    assert!(app.actions(org).await.iter().filter(|a| *a == "member.roles_changed").count() == 3);
}

async fn nobody_invites_into_or_gives_a_role_holding_more_than_they_do(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let recruiter = owner.create_role(org, "Recruiter", &["members.read", "members.invite"]).await;
    let ops = owner.create_role(org, "Ops", &["org.manage"]).await;
    let (ivy_id, ivy) = app.add_member(org, "ivy@example.com", Role::Editor).await;
    owner.give_role(org, recruiter, ivy_id).await;
    let invitations_before = app.count("invitations").await;

    // an editor who may invite invites editors and viewers, never admins, never into Ops
    ivy.invite(org, "new-viewer@example.com", "viewer").await;
    ivy.invite(org, "new-editor@example.com", "editor").await;
    let admin = ivy.post(&format!("/orgs/{org}/invitations"), &[("email", "xavier@example.com"), ("role", "admin")]).await;
    admin.assert_status(403);
    assert!(admin.contains("permissions you do not hold"), "{}", admin.body);
    let into_ops = ivy
        .post(&format!("/orgs/{org}/invitations"), &[("email", "yuri@example.com"), ("role", "viewer"), ("roles", &ops.to_string())])
        .await;
    into_ops.assert_status(403);
    assert_eq!(app.count("invitations").await, invitations_before + 2, "refused invitations are not saved");
    assert!(app.invitation_mails().await.iter().all(|m| !m.contains("xavier@example.com") && !m.contains("yuri@example.com")), "nor mailed");

    // inviting is not managing members
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    ivy.post(&format!("/orgs/{org}/members/{vic_id}/deactivate"), &[]).await.assert_status(403);
    ivy.get(&format!("/orgs/{org}/invitations/new")).await.assert_status(200);
}

async fn nobody_changes_a_member_who_holds_more_than_they_do(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let member_admin = owner.create_role(org, "Member admin", &["members.read", "members.manage"]).await;
    let deployers = owner.create_role(org, "Deployers", &["deployments.write"]).await;
    let (mia_id, mia) = app.add_member(org, "mia@example.com", Role::Viewer).await;
    owner.give_role(org, member_admin, mia_id).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let (eve_id, _) = app.add_member(org, "eve@example.com", Role::Editor).await;

    // a viewer holding member management changes viewers…
    mia.post(&format!("/orgs/{org}/members/{vic_id}/deactivate"), &[]).await.assert_status(303);
    mia.post(&format!("/orgs/{org}/members/{vic_id}/activate"), &[]).await.assert_status(303);
    // …but not an editor, who holds more than they do, nor make a viewer an editor
    for path in ["deactivate", "sign-out"] {
        let refused = mia.post(&format!("/orgs/{org}/members/{eve_id}/{path}"), &[]).await;
        refused.assert_status(403);
        assert!(refused.contains("holds permissions you do not hold"), "{path}: {}", refused.body);
    }
    mia.get(&format!("/orgs/{org}/members/{eve_id}/edit")).await.assert_status(403);
    let promote = mia.post(&format!("/orgs/{org}/members/{vic_id}"), &[("role", "editor")]).await;
    promote.assert_status(403);
    // nor give a role holding what they lack, nor give one to themselves
    let give = mia.post(&format!("/orgs/{org}/roles/{deployers}/members"), &[("account", &vic_id.to_string())]).await;
    give.assert_status(403);
    let to_self = mia.post(&format!("/orgs/{org}/roles/{member_admin}/members/{mia_id}/remove"), &[]).await;
    to_self.assert_status(403);
    let members = app.with_db(move |db| steward::operations::members::get(db, org, vic_id).expect("member")).await;
    assert_eq!(members.role, Role::Viewer);
    assert!(roles_of(app, org, "vic@example.com").await.is_empty());

    // and the member list offers no action it would refuse
    let list = mia.get(&format!("/orgs/{org}/members")).await;
    let rows: Vec<(String, String)> =
        list.texts("tbody tr td.cell-primary").into_iter().zip(list.texts("tbody td.actions")).collect();
    let actions_of = |email: &str| rows.iter().find(|(e, _)| e.starts_with(email)).map(|(_, a)| a.clone()).unwrap();
    assert_eq!(actions_of("eve@example.com"), "");
    assert_eq!(actions_of("vic@example.com"), "Edit Deactivate Remove");
}

async fn a_role_manager_defines_only_roles_within_what_they_hold(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let role_admin = owner.create_role(org, "Role admin", &["roles.manage", "members.read"]).await;
    let (rita_id, rita) = app.add_member(org, "rita@example.com", Role::Viewer).await;
    owner.give_role(org, role_admin, rita_id).await;

    rita.create_role(org, "Watchers", &["deployments.read", "members.read"]).await;
    let too_much = rita.post(&format!("/orgs/{org}/roles"), &[("name", "Deployers"), ("permissions", "deployments.write")]).await;
    too_much.assert_status(403);
    let wide = owner.create_role(org, "Wide", &["org.manage"]).await;
    let edit = rita.post(&format!("/orgs/{org}/roles/{wide}"), &[("name", "Narrow"), ("permissions", "members.read")]).await;
    edit.assert_status(403);
    let delete = rita.post(&format!("/orgs/{org}/roles/{wide}/delete"), &[("confirm_name", "Wide")]).await;
    delete.assert_status(403);
    // an admin holds roles.manage; an editor does not
    let (_, eve) = app.add_member(org, "eve@example.com", Role::Editor).await;
    eve.post(&format!("/orgs/{org}/roles"), &[("name", "X"), ("permissions", "deployments.read")]).await.assert_status(403);
    eve.get(&format!("/orgs/{org}/roles")).await.assert_status(403);
    let (_, al) = app.add_member(org, "al@example.com", Role::Admin).await;
    al.create_role(org, "Admins' own", &["members.manage", "api_keys.manage"]).await;
    let owner_only = al.post(&format!("/orgs/{org}/roles"), &[("name", "Heir"), ("permissions", "org.owner")]).await;
    owner_only.assert_status(422);
}

async fn deleting_a_role_takes_it_from_its_members_who_keep_their_base_role(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let people = owner.create_role(org, "People", &["members.read"]).await;
    let (vic_id, vic) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    owner.give_role(org, people, vic_id).await;
    owner.invite(org, "pending@example.com", "viewer").await;
    let invitation = app.invitation_id(org, "pending@example.com").await;
    app.with_db(move |db| {
        let mut conn = db.conn().unwrap();
        steward::storage::roles::give_to_invitation(&mut conn, invitation, &[people]).unwrap();
    })
    .await;
    let dialog = owner.get(&format!("/orgs/{org}/roles/{people}/delete")).await;
    assert!(dialog.contains("1 member holds People"), "{}", dialog.body);

    owner.post(&format!("/orgs/{org}/roles/{people}/delete"), &[("confirm_name", "People")]).await.assert_status(303);
    assert_eq!(app.count("member_roles").await, 0);
    assert_eq!(app.count("invitation_roles").await, 0);
    vic.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    vic.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
    let deleted = app.events(org).await.into_iter().rev().find(|e| e.body.action == "role.deleted").expect("event");
    let details: serde_json::Value = serde_json::from_str(&deleted.body.details).unwrap();
    assert_eq!(details["members"], 1);
}

async fn role_ids_belong_to_their_organization(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (other_owner, other_org) = app.sign_up("zed@example.com", "Other").await;
    let foreign = other_owner.create_role(other_org, "Theirs", &["members.read"]).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;

    for path in ["", "/edit", "/delete"] {
        owner.get(&format!("/orgs/{org}/roles/{foreign}{path}")).await.assert_status(404);
    }
    owner.get(&format!("/orgs/{org}/roles/not-a-uuid")).await.assert_status(404);
    owner.post(&format!("/orgs/{org}/roles/{foreign}"), &[("name", "Mine"), ("permissions", "members.read")]).await.assert_status(404);
    owner.post(&format!("/orgs/{org}/roles/{foreign}/delete"), &[("confirm_name", "Theirs")]).await.assert_status(404);
    owner.post(&format!("/orgs/{org}/roles/{foreign}/members"), &[("account", &vic_id.to_string())]).await.assert_status(404);
    let invite = owner
        .post(&format!("/orgs/{org}/invitations"), &[("email", "x@example.com"), ("role", "viewer"), ("roles", &foreign.to_string())])
        .await;
    invite.assert_status(422);
    let edit = owner
        .post(
            &format!("/orgs/{org}/members/{vic_id}"),
            &[("role", "viewer"), ("roles", &foreign.to_string()), ("roles_submitted", "1")],
        )
        .await;
    edit.assert_status(422);
    let malformed = owner
        .post(&format!("/orgs/{org}/members/{vic_id}"), &[("role", "viewer"), ("roles", "nope"), ("roles_submitted", "1")])
        .await;
    malformed.assert_status(422);
    assert_eq!(app.count("member_roles").await, 0);
    assert_eq!(app.count("invitations").await, 0);
    // a member of the other organization is not a member here
    let zed = app.account_id("zed@example.com").await;
    let mine = owner.create_role(org, "Mine", &["members.read"]).await;
    owner.post(&format!("/orgs/{org}/roles/{mine}/members"), &[("account", &zed.to_string())]).await.assert_status(422);
}

async fn the_edit_dialog_sets_base_and_custom_roles_in_one_change(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let people = owner.create_role(org, "People", &["members.read"]).await;
    let deployers = owner.create_role(org, "Deployers", &["deployments.write"]).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;

    let dialog = owner.get(&format!("/orgs/{org}/members/{vic_id}/edit")).await;
    assert!(dialog.contains(r#"name="roles_submitted""#));
    assert_eq!(dialog.html().select(&scraper::Selector::parse("input[name=roles]").unwrap()).count(), 2);

    let (p, d) = (people.to_string(), deployers.to_string());
    owner
        .post(&format!("/orgs/{org}/members/{vic_id}"), &[("role", "editor"), ("roles", &p), ("roles", &d), ("roles_submitted", "1")])
        .await
        .assert_status(303);
    assert_eq!(roles_of(app, org, "vic@example.com").await, vec!["Deployers", "People"]);
    // a client that knows only the base role leaves the custom roles as they are
    owner.post(&format!("/orgs/{org}/members/{vic_id}"), &[("role", "viewer")]).await.assert_status(303);
    assert_eq!(roles_of(app, org, "vic@example.com").await, vec!["Deployers", "People"]);
    // the form sends roles_submitted: nothing checked means none
    owner.post(&format!("/orgs/{org}/members/{vic_id}"), &[("role", "viewer"), ("roles_submitted", "1")]).await.assert_status(303);
    assert!(roles_of(app, org, "vic@example.com").await.is_empty());
    let actions = app.actions(org).await;
    assert!(actions.ends_with(&[
        "member.role_changed".to_string(),
        "member.roles_changed".to_string(),
        "member.role_changed".to_string(),
        "member.roles_changed".to_string(),
    ]));
    let changed = app.events(org).await.into_iter().rev().find(|e| e.body.action == "member.roles_changed").unwrap();
    let details: serde_json::Value = serde_json::from_str(&changed.body.details).unwrap();
    assert_eq!(details["removed"], serde_json::json!(["Deployers", "People"]));
}

async fn the_member_list_shows_custom_roles_and_filters_by_any_role(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let people = owner.create_role(org, "People", &["members.read"]).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    app.add_member(org, "eve@example.com", Role::Editor).await;
    owner.give_role(org, people, vic_id).await;
    owner
        .post(&format!("/orgs/{org}/invitations"), &[("email", "inv@example.com"), ("role", "viewer"), ("roles", &people.to_string())])
        .await
        .assert_status(303);

    let list = owner.get(&format!("/orgs/{org}/members")).await;
    assert_eq!(list.texts("tbody td:nth-child(3)"), vec!["Owner", "Editor", "Viewer People", "Viewer People"]);
    let filtered = owner.get(&format!("/orgs/{org}/members?role={people}")).await;
    assert_eq!(filtered.texts("td.cell-primary"), vec!["inv@example.com", "vic@example.com vic"]);
    assert_eq!(filtered.texts(".pagination .muted"), vec!["1–2 of 2"]);
    let by_base = owner.get(&format!("/orgs/{org}/members?role=viewer")).await;
    assert_eq!(by_base.texts(".pagination .muted"), vec!["1–2 of 2"]);
    assert!(list.contains(&format!(r#"<option value="{people}">People</option>"#)), "the filter offers custom roles");
}

async fn an_invitation_into_a_role_gives_it_on_acceptance(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let people = owner.create_role(org, "People", &["members.read"]).await;
    let form = owner.get(&format!("/orgs/{org}/invitations/new?roles={people}")).await;
    form.assert_status(200);
    assert!(form.contains(&format!(r#"value="{people}" checked"#)), "the role page's invite preselects the role");
    owner
        .post(&format!("/orgs/{org}/invitations"), &[("email", "grace@example.com"), ("role", "viewer"), ("roles", &people.to_string())])
        .await
        .assert_status(303);
    let details = owner.get(&format!("/orgs/{org}/roles/{people}")).await;
    assert_eq!(details.texts("#role-invitations td.cell-primary"), vec!["grace@example.com"]);
    assert!(app.invitation_mails().await.last().unwrap().contains("Viewer, People"), "the email names the roles");

    let token = app.wait_for_link("grace@example.com", "/invitations/").await;
    let grace = app.client();
    grace
        .post(&format!("/invitations/{token}/accept"), &[("name", "Grace"), ("password", PASSWORD)])
        .await
        .assert_status(303);
    assert_eq!(roles_of(app, org, "grace@example.com").await, vec!["People"]);
    grace.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    let details = owner.get(&format!("/orgs/{org}/roles/{people}")).await;
    assert_eq!(details.texts("#role-members td.cell-primary"), vec!["grace@example.com Grace"]);
    assert!(details.texts("#role-invitations td.cell-primary").is_empty());

    // My access: the roles, what they allow in plain words, and who invited them
    let profile = grace.get("/profile").await;
    let access = profile.texts("#my-access article").join(" ");
    assert!(access.contains("Acme") && access.contains("Viewer") && access.contains("People"), "{access}");
    assert!(access.contains("See the member list, the invitations and the roles."), "{access}");
    assert!(access.contains("Invited by ada (ada@example.com)"), "{access}");
    assert!(!access.contains("Create, rename and delete deployments"), "{access}");
}

async fn api_keys_never_hold_more_than_their_creator(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let key_maker = owner.create_role(org, "Key maker", &["api_keys.manage", "deployments.read"]).await;
    let (kim_id, kim) = app.add_member(org, "kim@example.com", Role::Viewer).await;
    owner.give_role(org, key_maker, kim_id).await;

    let preset = kim
        .post(&format!("/orgs/{org}/api-keys"), &[("name", "too much"), ("permissions", "read_write"), ("scope", "all")])
        .await;
    preset.assert_status(422);
    assert!(preset.contains("permissions you do not hold yourself"), "{}", preset.body);
    let custom = kim
        .post(
            &format!("/orgs/{org}/api-keys"),
            &[("name", "reader"), ("permissions", "custom"), ("grants", "deployments.read"), ("scope", "all")],
        )
        .await;
    custom.assert_status(303);
    let beyond = kim
        .post(
            &format!("/orgs/{org}/api-keys"),
            &[("name", "sneaky"), ("permissions", "custom"), ("grants", "members.read"), ("scope", "all")],
        )
        .await;
    beyond.assert_status(422);

    // a custom key does what its grants allow and nothing else
    let (_, al) = app.add_member(org, "al@example.com", Role::Admin).await;
    let secret = al.create_api_key(org, NewKey::named("members only").grants(&["members.read"])).await;
    let api = Api::with_key(app, &secret).await;
    api.get("/members").await.expect(200);
    api.get("/deployments").await.expect_error(403, "forbidden");
    api.get("/audit-events").await.expect_error(403, "forbidden");

    // after a demotion the key list shows which keys now exceed their creator
    let al_id = app.account_id("al@example.com").await;
    owner.post(&format!("/orgs/{org}/members/{al_id}"), &[("role", "viewer")]).await.assert_status(303);
    let keys = owner.get(&format!("/orgs/{org}/api-keys")).await;
    let rows: Vec<String> = keys.texts("#api-keys tbody tr");
    assert!(rows.iter().any(|r| r.contains("members only") && r.contains("Exceeds creator's access")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("reader") && !r.contains("Exceeds")), "{rows:?}");
}

async fn a_key_with_grants_is_checked_like_a_person(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (eve_id, _) = app.add_member(org, "eve@example.com", Role::Editor).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let secret = owner
        .create_api_key(org, NewKey::named("member bot").grants(&["members.read", "members.manage", "deployments.read"]))
        .await;
    let api = Api::with_key(app, &secret).await;
    api.patch(&format!("/members/{vic_id}"), &serde_json::json!({ "status": "inactive" })).await.expect(200);
    // the editor holds permissions the key does not; and a key never makes anyone more than itself
    api.patch(&format!("/members/{eve_id}"), &serde_json::json!({ "status": "inactive" })).await.expect_error(403, "forbidden");
    api.patch(&format!("/members/{vic_id}"), &serde_json::json!({ "role": "admin" })).await.expect_error(403, "forbidden");
}

async fn the_role_page_lists_and_changes_its_members(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let people = owner.create_role(org, "People", &["members.read"]).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    app.add_member(org, "eve@example.com", Role::Editor).await;

    let page = owner.get(&format!("/orgs/{org}/roles/{people}")).await;
    assert_eq!(page.texts("#add-account option"), vec!["Choose a member…", "eve@example.com — eve", "vic@example.com — vic"]);
    owner.give_role(org, people, vic_id).await;
    let again = owner.post(&format!("/orgs/{org}/roles/{people}/members"), &[("account", &vic_id.to_string())]).await;
    again.assert_status(409);
    let page = owner.get(&format!("/orgs/{org}/roles/{people}")).await;
    assert_eq!(page.texts("#role-members td.cell-primary"), vec!["vic@example.com vic"]);
    assert_eq!(page.texts("#add-account option"), vec!["Choose a member…", "eve@example.com — eve"]);
    owner.post(&format!("/orgs/{org}/roles/{people}/members/{vic_id}/remove"), &[]).await.assert_status(303);
    owner.post(&format!("/orgs/{org}/roles/{people}/members/{vic_id}/remove"), &[]).await.assert_status(404);
    let list = owner.get(&format!("/orgs/{org}/roles")).await;
    assert_eq!(list.texts("#custom-roles tbody td:nth-child(3)"), vec!["0"]);
}

/// Every member's copy of their role ids (which the member list reads) against their rows.
async fn assert_copies_match(app: &TestApp) {
    let mismatches = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::{member_roles, memberships};
            let mut conn = db.conn().unwrap();
            let copies: Vec<(String, String, Option<String>)> = memberships::table
                .select((memberships::org_id, memberships::account_id, memberships::custom_role_ids))
                .load(&mut *conn)
                .unwrap();
            let rows: Vec<(String, String, String)> = member_roles::table
                .select((member_roles::org_id, member_roles::account_id, member_roles::role_id))
                .load(&mut *conn)
                .unwrap();
            copies
                .into_iter()
                .filter_map(|(org, account, copy)| {
                    let mut held: Vec<String> =
                        rows.iter().filter(|(o, a, _)| *o == org && *a == account).map(|(_, _, r)| r.clone()).collect();
                    held.sort();
                    let expected = (!held.is_empty()).then(|| held.join(","));
                    (copy != expected).then(|| format!("{account}: copy {copy:?}, rows {expected:?}"))
                })
                .collect::<Vec<_>>()
        })
        .await;
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

async fn the_membership_copy_of_role_ids_follows_every_change(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let a = owner.create_role(org, "A", &["members.read"]).await;
    let b = owner.create_role(org, "B", &["audit.view"]).await;
    let (vic_id, _) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let (eve_id, _) = app.add_member(org, "eve@example.com", Role::Editor).await;
    owner.give_role(org, a, vic_id).await;
    owner.give_role(org, b, vic_id).await;
    owner.give_role(org, a, eve_id).await;
    assert_copies_match(app).await;
    owner
        .post(&format!("/orgs/{org}/members/{eve_id}"), &[("role", "editor"), ("roles", &b.to_string()), ("roles_submitted", "1")])
        .await
        .assert_status(303);
    assert_copies_match(app).await;
    owner
        .post(&format!("/orgs/{org}/invitations"), &[("email", "grace@example.com"), ("role", "viewer"), ("roles", &a.to_string())])
        .await
        .assert_status(303);
    let token = app.wait_for_link("grace@example.com", "/invitations/").await;
    app.client()
        .post(&format!("/invitations/{token}/accept"), &[("name", "Grace"), ("password", PASSWORD)])
        .await
        .assert_status(303);
    assert_copies_match(app).await;
    // deleting a role rewrites the copies of everyone who held it, keeping their other roles
    owner.post(&format!("/orgs/{org}/roles/{a}/delete"), &[("confirm_name", "A")]).await.assert_status(303);
    assert_copies_match(app).await;
    let list = owner.get(&format!("/orgs/{org}/members")).await;
    assert_eq!(list.texts("tbody td:nth-child(3)"), vec!["Owner", "Editor B", "Viewer", "Viewer B"]);
    owner.post(&format!("/orgs/{org}/roles/{b}/members/{vic_id}/remove"), &[]).await.assert_status(303);
    assert_copies_match(app).await;
}

crate::on_both_backends!(
    the_membership_copy_of_role_ids_follows_every_change,
    owner_creates_edits_and_deletes_a_custom_role,
    a_custom_role_gives_exactly_its_permissions_and_they_add_up,
    nobody_invites_into_or_gives_a_role_holding_more_than_they_do,
    nobody_changes_a_member_who_holds_more_than_they_do,
    a_role_manager_defines_only_roles_within_what_they_hold,
    deleting_a_role_takes_it_from_its_members_who_keep_their_base_role,
    role_ids_belong_to_their_organization,
    the_edit_dialog_sets_base_and_custom_roles_in_one_change,
    the_member_list_shows_custom_roles_and_filters_by_any_role,
    an_invitation_into_a_role_gives_it_on_acceptance,
    api_keys_never_hold_more_than_their_creator,
    a_key_with_grants_is_checked_like_a_person,
    the_role_page_lists_and_changes_its_members,
);
