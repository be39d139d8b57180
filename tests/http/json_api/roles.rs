//! Custom roles through the API: created, listed, shown, changed and deleted; given to members
//! and through invitations; never holding more than the key that handles them; another
//! organization's roles are not found.

use serde_json::{Value, json};
use steward::domain::Role;

use crate::helpers::{NewKey, PASSWORD, TestApp};

use super::{KEY, acme_with_key, assert_made_by_key, assert_utc, script_with_key};

/// The `details` of the organization's events of `action` as the API lists them, oldest first.
async fn details_of(api: &crate::support::api::Api, action: &str) -> Vec<Value> {
    let listed = api.get(&format!("/audit-events?action={action}&limit=200")).await;
    let mut details: Vec<Value> = listed.expect(200).data().iter().map(|e| e["details"].clone()).collect();
    details.reverse();
    details
}

async fn roles_are_created_listed_shown_changed_and_deleted(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let bob = app.add_member_who_never_signs_in(org, "bob@example.com", Role::Viewer).await;

    let none = api.get("/roles").await;
    assert!(none.expect(200).data().is_empty(), "the built-in roles are not listed");
    assert_eq!(none.next_cursor(), None);

    let created = api
        .post("/roles", &json!({ "name": " Support ", "description": "Answers tickets", "permissions": ["members.read", "deployments.read"] }))
        .await;
    created.expect(201);
    let support = created.str("id");
    assert_eq!(created.json["name"], "Support", "the name is trimmed");
    assert_eq!(created.json["description"], "Answers tickets");
    assert_eq!(created.json["permissions"], json!(["deployments.read", "members.read"]), "in the reference's order");
    assert_eq!(created.json["members"], 0);
    assert_utc(&created.json["created_at"]);
    assert_eq!(created.json["updated_at"], created.json["created_at"]);

    // a broader permission stands for the finer one it includes; the description may be left out
    let on_call = api.post("/roles", &json!({ "name": "On-call", "permissions": ["members.invite", "audit.view", "audit.read", "members.manage"] })).await;
    on_call.expect(201);
    assert_eq!(on_call.json["permissions"], json!(["audit.read", "members.manage"]));
    assert_eq!(on_call.json["description"], "");
    let on_call = on_call.str("id");

    let list = api.get("/roles").await;
    assert_eq!(list.expect(200).data_field("name"), ["On-call", "Support"], "by name");
    assert_eq!(list.data()[1], created.json, "the list shows the role as it was created");

    api.patch(&format!("/members/{bob}"), &json!({ "roles": [support] })).await.expect(200);
    let shown = api.get(&format!("/roles/{support}")).await;
    shown.expect(200);
    assert_eq!((shown.str("name"), shown.json["members"].clone()), ("Support".to_string(), json!(1)));
    assert_eq!(shown.json["held_by"], json!([{ "account_id": bob.to_string(), "email": "bob@example.com" }]));
    assert_eq!(api.get(&format!("/roles/{on_call}")).await.expect(200).json["held_by"], json!([]));

    // a field left out keeps its value
    let renamed = api.patch(&format!("/roles/{support}"), &json!({ "name": "Help desk" })).await;
    renamed.expect(200);
    assert_eq!((renamed.str("name"), renamed.str("description")), ("Help desk".to_string(), "Answers tickets".to_string()));
    assert_eq!(renamed.json["permissions"], json!(["deployments.read", "members.read"]));
    assert_eq!(renamed.json["members"], 1);
    let widened = api
        .patch(&format!("/roles/{support}"), &json!({ "description": "", "permissions": ["deployments.write", "deployments.read", "members.read"] }))
        .await;
    widened.expect(200);
    assert_eq!((widened.str("name"), widened.str("description")), ("Help desk".to_string(), String::new()));
    assert_eq!(widened.json["permissions"], json!(["deployments.read", "deployments.write", "members.read"]));
    // a change that changes nothing records nothing
    api.patch(&format!("/roles/{support}"), &json!({ "name": "Help desk" })).await.expect(200);
    let bob_now = api.get(&format!("/members/{bob}")).await;
    assert_eq!(bob_now.expect(200).json["roles"], json!([{ "id": support, "name": "Help desk" }]), "members show the new name");

    let deleted = api.delete(&format!("/roles/{support}")).await;
    deleted.expect(204);
    assert!(deleted.text.is_empty(), "204 has no body: {}", deleted.text);
    api.get(&format!("/roles/{support}")).await.expect_error(404, "not_found");
    api.patch(&format!("/roles/{support}"), &json!({ "name": "Back" })).await.expect_error(404, "not_found");
    api.delete(&format!("/roles/{support}")).await.expect_error(404, "not_found");
    assert_eq!(api.get("/roles").await.expect(200).data_field("name"), ["On-call"]);
    let bob_after = api.get(&format!("/members/{bob}")).await;
    assert_eq!((bob_after.expect(200).json["roles"].clone(), bob_after.str("role")), (json!([]), "viewer".to_string()), "bob keeps his base role");

    assert_made_by_key(app, org, KEY, &["role.created", "role.created", "member.roles_changed", "role.updated", "role.updated", "role.deleted"])
        .await;
    let updated = details_of(&api, "role.updated").await;
    assert_eq!((updated[0]["old_name"].clone(), updated[0]["added"].clone()), (json!("Support"), json!([])));
    assert_eq!((updated[1]["added"].clone(), updated[1]["removed"].clone()), (json!(["deployments.write"]), json!([])));
    let gone = details_of(&api, "role.deleted").await;
    assert_eq!((gone[0]["role_id"].clone(), gone[0]["members"].clone()), (json!(support), json!(1)));
}

async fn a_role_is_checked_field_by_field_and_nothing_is_recorded(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let support = api.create_role("Support", &["members.read"]).await;
    let before = app.actions(org).await;

    let all_wrong = api.post("/roles", &json!({ "name": "Admin", "description": "x".repeat(301), "permissions": [] })).await;
    all_wrong.expect_error(422, "invalid");
    assert_eq!(all_wrong.invalid_fields(), ["name", "description", "permissions"], "every field at once");
    for (body, field) in [
        (json!({ "name": "", "permissions": ["members.read"] }), "name"),
        (json!({ "name": "support", "permissions": ["members.read"] }), "name"),
        (json!({ "name": "Root", "permissions": ["org.owner"] }), "permissions"),
        (json!({ "name": "Root", "permissions": ["members.read", "sudo"] }), "permissions"),
        (json!({ "name": "Root" }), "permissions"),
        (json!({ "name": "Root", "permissions": "members.read" }), "permissions"),
        (json!({ "name": "Root", "permissions": ["members.read"], "builtin": true }), "builtin"),
    ] {
        let refused = api.post("/roles", &body).await;
        refused.expect_error(422, "invalid");
        assert_eq!(refused.invalid_fields(), [field], "{body}");
    }
    for (body, field) in [
        (json!({ "permissions": [] }), "permissions"),
        (json!({ "name": "Viewer" }), "name"),
        (json!({ "name": 7 }), "name"),
    ] {
        let refused = api.patch(&format!("/roles/{support}"), &body).await;
        refused.expect_error(422, "invalid");
        assert_eq!(refused.invalid_fields(), [field], "{body}");
    }
    assert_eq!(app.actions(org).await, before, "nothing was recorded");
    let unchanged = api.get(&format!("/roles/{support}")).await;
    assert_eq!((unchanged.expect(200).str("name"), unchanged.json["permissions"].clone()), ("Support".to_string(), json!(["members.read"])));
}

async fn another_organizations_roles_are_not_found(app: &TestApp) {
    let (_, acme, api_a) = acme_with_key(app, "read_write").await;
    let bob = app.add_member_who_never_signs_in(acme, "bob@example.com", Role::Viewer).await;
    let (bea, beta) = app.sign_up("bea@example.com", "Beta").await;
    let api_b = script_with_key(app, &bea, beta, NewKey::named("beta-script")).await;
    let theirs = api_b.create_role("Support", &["members.read"]).await;
    let acme_before = app.actions(acme).await;

    for role in [theirs.clone(), uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        api_a.get(&format!("/roles/{role}")).await.expect_error(404, "not_found");
        api_a.patch(&format!("/roles/{role}"), &json!({ "name": "Mine" })).await.expect_error(404, "not_found");
        api_a.delete(&format!("/roles/{role}")).await.expect_error(404, "not_found");
    }
    assert!(api_a.get("/roles").await.expect(200).data().is_empty());
    // nor can they be given, or used to filter
    let given = api_a.patch(&format!("/members/{bob}"), &json!({ "roles": [theirs] })).await;
    given.expect_error(422, "invalid");
    assert_eq!(given.invalid_fields(), ["roles"]);
    assert!(api_a.get(&format!("/members?role={theirs}")).await.expect(200).data().is_empty());
    assert_eq!(app.actions(acme).await, acme_before, "org A is untouched");
    assert_eq!(api_b.get(&format!("/roles/{theirs}")).await.expect(200).str("name"), "Support", "org B's role is as it was");
}

async fn a_key_handles_roles_as_far_as_its_permissions_go(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let wide = rw.create_role("Auditors", &["audit.read", "members.read"]).await;
    let read = script_with_key(app, &owner, org, NewKey::named("reader").read_only()).await;
    let write = script_with_key(app, &owner, org, NewKey::named("writer").write_only()).await;
    let deployer = script_with_key(app, &owner, org, NewKey::named("deployer").grants(&["deployments.write", "members.read"])).await;
    let role_maker =
        script_with_key(app, &owner, org, NewKey::named("role-maker").grants(&["roles.manage", "members.read", "deployments.read"])).await;
    let before = app.actions(org).await;

    // a read key reads roles and changes none
    assert_eq!(read.get("/roles").await.expect(200).data_field("name"), ["Auditors"]);
    read.get(&format!("/roles/{wide}")).await.expect(200);
    read.post("/roles", &json!({ "name": "Support", "permissions": ["members.read"] })).await.expect_error(403, "forbidden");
    read.patch(&format!("/roles/{wide}"), &json!({ "name": "Readers" })).await.expect_error(403, "forbidden");
    read.delete(&format!("/roles/{wide}")).await.expect_error(403, "forbidden");
    // a key with chosen permissions but not roles.manage reads them and changes none
    deployer.get("/roles").await.expect(200);
    deployer.post("/roles", &json!({ "name": "Support", "permissions": ["members.read"] })).await.expect_error(403, "forbidden");
    deployer.patch(&format!("/roles/{wide}"), &json!({ "name": "Readers" })).await.expect_error(403, "forbidden");
    deployer.delete(&format!("/roles/{wide}")).await.expect_error(403, "forbidden");
    // a key with roles.manage makes no role holding more than it does, and touches none
    let more = role_maker.post("/roles", &json!({ "name": "Support", "permissions": ["members.read", "audit.read"] })).await;
    more.expect_error(403, "forbidden");
    assert!(more.json["error"]["message"].as_str().unwrap().contains("audit.read"), "the refusal names what is missing: {}", more.text);
    role_maker.patch(&format!("/roles/{wide}"), &json!({ "description": "Read the log" })).await.expect_error(403, "forbidden");
    role_maker.delete(&format!("/roles/{wide}")).await.expect_error(403, "forbidden");
    assert_eq!(app.actions(org).await, before, "nothing changed");

    let support = role_maker.create_role("Support", &["members.read", "deployments.read"]).await;
    role_maker.patch(&format!("/roles/{support}"), &json!({ "permissions": ["members.read"] })).await.expect(200);
    role_maker
        .patch(&format!("/roles/{support}"), &json!({ "permissions": ["members.read", "api_keys.read"] }))
        .await
        .expect_error(403, "forbidden");
    role_maker.delete(&format!("/roles/{support}")).await.expect(204);
    assert_made_by_key(app, org, "role-maker", &["role.created", "role.updated", "role.deleted"]).await;

    // a write key changes roles but cannot read them
    write.get("/roles").await.expect_error(403, "forbidden");
    write.get(&format!("/roles/{wide}")).await.expect_error(403, "forbidden");
    let made = write.post("/roles", &json!({ "name": "Deployers", "permissions": ["deployments.write"] })).await;
    made.expect(201);
    assert_eq!(made.json["permissions"], json!(["deployments.write"]));
    write.delete(&format!("/roles/{}", made.str("id"))).await.expect(204);
    assert_made_by_key(app, org, "writer", &["role.created", "role.deleted"]).await;
}

async fn a_key_scoped_to_deployments_cannot_use_roles(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let web = rw.create_deployment("web", "us-east-1").await;
    let support = rw.create_role("Support", &["members.read"]).await;
    let scoped = script_with_key(app, &owner, org, NewKey::named("web-only").only_for(&[&web])).await;
    scoped.get("/roles").await.expect_error(403, "forbidden");
    scoped.get(&format!("/roles/{support}")).await.expect_error(403, "forbidden");
    scoped.post("/roles", &json!({ "name": "Other", "permissions": ["members.read"] })).await.expect_error(403, "forbidden");
    scoped.patch(&format!("/roles/{support}"), &json!({ "name": "Other" })).await.expect_error(403, "forbidden");
    scoped.delete(&format!("/roles/{support}")).await.expect_error(403, "forbidden");
}

async fn members_are_given_custom_roles_listed_and_filtered_by_them(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let bob = app.add_member_who_never_signs_in(org, "bob@example.com", Role::Viewer).await;
    let carl = app.add_member_who_never_signs_in(org, "carl@example.com", Role::Editor).await;
    let support = api.create_role("Support", &["members.read"]).await;
    let on_call = api.create_role("On-call", &["deployments.write"]).await;

    let given = api.patch(&format!("/members/{bob}"), &json!({ "roles": [support, on_call] })).await;
    given.expect(200);
    assert_eq!(given.json["roles"], json!([{ "id": on_call, "name": "On-call" }, { "id": support, "name": "Support" }]), "by name");
    assert_eq!(given.str("role"), "viewer", "the base role stays");
    api.patch(&format!("/members/{carl}"), &json!({ "roles": [support] })).await.expect(200);

    let list = api.get("/members").await;
    list.expect(200);
    let roles_of = |email: &str| list.data().iter().find(|m| m["email"] == email).map(|m| m["roles"].clone());
    assert_eq!(roles_of("ada@example.com"), Some(json!([])));
    assert_eq!(roles_of("bob@example.com"), Some(given.json["roles"].clone()));
    assert_eq!(roles_of("carl@example.com"), Some(json!([{ "id": support, "name": "Support" }])));
    assert_eq!(api.get(&format!("/members?role={support}")).await.expect(200).data_field("email"), ["bob@example.com", "carl@example.com"]);
    assert_eq!(api.get(&format!("/members?role={on_call}")).await.expect(200).data_field("email"), ["bob@example.com"]);
    assert_eq!(api.get(&format!("/members?role={on_call}&status=inactive")).await.expect(200).data().len(), 0);
    assert!(api.get(&format!("/members?role={}", uuid::Uuid::new_v4())).await.expect(200).data().is_empty());
    let bad = api.get("/members?role=superuser").await;
    bad.expect_error(422, "invalid");
    assert_eq!(bad.invalid_fields(), ["role"]);

    // a change without roles keeps them; the same roles again change nothing
    let deactivated = api.patch(&format!("/members/{bob}"), &json!({ "status": "inactive" })).await;
    assert_eq!(deactivated.expect(200).json["roles"], given.json["roles"]);
    api.patch(&format!("/members/{bob}"), &json!({ "roles": [on_call, support], "status": "active" })).await.expect(200);
    // an unreadable or unknown id is refused, and the other half of the change is not made
    for roles in [json!(["not-a-role"]), json!([uuid::Uuid::new_v4().to_string()]), json!("Support")] {
        let refused = api.patch(&format!("/members/{bob}"), &json!({ "roles": roles, "status": "inactive" })).await;
        refused.expect_error(422, "invalid");
        assert_eq!(refused.invalid_fields(), ["roles"], "{roles}");
    }
    let cleared = api.patch(&format!("/members/{bob}"), &json!({ "roles": [] })).await;
    assert_eq!((cleared.expect(200).json["roles"].clone(), cleared.str("status")), (json!([]), "active".to_string()));
    assert_eq!(api.get(&format!("/roles/{support}")).await.expect(200).json["members"], 1);

    assert_made_by_key(
        app,
        org,
        KEY,
        &[
            "role.created",
            "role.created",
            "member.roles_changed",
            "member.roles_changed",
            "member.deactivated",
            "member.activated",
            "member.roles_changed",
        ],
    )
    .await;
    let changes = details_of(&api, "member.roles_changed").await;
    assert_eq!(changes[0], json!({ "added": ["On-call", "Support"], "removed": [], "roles": ["On-call", "Support"] }));
    assert_eq!(changes[2], json!({ "added": [], "removed": ["On-call", "Support"], "roles": [] }));
}

async fn a_key_gives_no_role_holding_more_than_it_does(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let bob = app.add_member_who_never_signs_in(org, "bob@example.com", Role::Viewer).await;
    let auditors = rw.create_role("Auditors", &["audit.read"]).await;
    let support = rw.create_role("Support", &["members.read"]).await;
    let manager =
        script_with_key(app, &owner, org, NewKey::named("manager").grants(&["members.manage", "members.read", "deployments.read"])).await;
    let before = app.actions(org).await;

    let given = manager.patch(&format!("/members/{bob}"), &json!({ "roles": [auditors] })).await;
    given.expect_error(403, "forbidden");
    assert!(given.json["error"]["message"].as_str().unwrap().contains("audit.read"), "{}", given.text);
    let invited = manager.post("/invitations", &json!({ "email": "carl@example.com", "role": "viewer", "roles": [auditors] })).await;
    invited.expect_error(403, "forbidden");
    manager.post("/invitations", &json!({ "email": "carl@example.com", "role": "admin" })).await.expect_error(403, "forbidden");
    assert_eq!(app.actions(org).await, before, "nothing changed");
    assert!(app.invitation_mails().await.is_empty(), "no email went out");

    manager.patch(&format!("/members/{bob}"), &json!({ "roles": [support] })).await.expect(200);
    manager.post("/invitations", &json!({ "email": "carl@example.com", "role": "viewer", "roles": [support] })).await.expect(201);
    // a member holding more than the key is out of its reach, roles and all
    rw.patch(&format!("/members/{bob}"), &json!({ "roles": [support, auditors] })).await.expect(200);
    manager.patch(&format!("/members/{bob}"), &json!({ "roles": [support] })).await.expect_error(403, "forbidden");
    assert_made_by_key(app, org, "manager", &["member.roles_changed", "member.invited"]).await;
}

async fn an_invitation_with_custom_roles_gives_them_on_acceptance(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let support = api.create_role("Support", &["members.read"]).await;
    let on_call = api.create_role("On-call", &["deployments.write"]).await;

    let created = api.post("/invitations", &json!({ "email": "carl@example.com", "role": "viewer", "roles": [support, on_call] })).await;
    created.expect(201);
    let id = created.str("id");
    let tags = json!([{ "id": on_call, "name": "On-call" }, { "id": support, "name": "Support" }]);
    assert_eq!((created.str("role"), created.json["roles"].clone()), ("viewer".to_string(), tags.clone()));
    // by the time the list is read the email has gone out
    app.mail_settled().await;
    let mut expected = created.json.clone();
    expected["delivery"] = json!("sent");
    assert_eq!(api.get("/invitations").await.expect(200).data()[0], expected, "the list shows its roles");

    let plain = api.post("/invitations", &json!({ "email": "dan@example.com", "role": "editor" })).await;
    assert_eq!(plain.expect(201).json["roles"], json!([]), "roles may be left out");
    for roles in [json!(["not-a-role"]), json!([uuid::Uuid::new_v4().to_string()])] {
        let refused = api.post("/invitations", &json!({ "email": "erin@example.com", "role": "viewer", "roles": roles })).await;
        refused.expect_error(422, "invalid");
        assert_eq!(refused.invalid_fields(), ["roles"], "{roles}");
    }

    let token = app.outbox_token_for("carl@example.com").await;
    let carl = app.client();
    carl.post(&format!("/invitations/{token}/accept"), &[("name", "Carl"), ("password", PASSWORD)]).await.assert_status(303);
    let carl_id = app.account_id("carl@example.com").await;
    let member = api.get(&format!("/members/{carl_id}")).await;
    assert_eq!((member.expect(200).str("role"), member.json["roles"].clone()), ("viewer".to_string(), tags.clone()));
    assert_eq!(api.get(&format!("/invitations?status=accepted")).await.expect(200).data()[0]["id"], id);
    // the roles do what they say: a viewer with Support sees the member list
    carl.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    assert_made_by_key(app, org, KEY, &["role.created", "role.created", "member.invited", "member.invited"]).await;
    let invited = details_of(&api, "member.invited").await;
    assert_eq!(invited[0]["roles"], json!(["On-call", "Support"]));
}

crate::on_both_backends!(
    roles_are_created_listed_shown_changed_and_deleted,
    a_role_is_checked_field_by_field_and_nothing_is_recorded,
    another_organizations_roles_are_not_found,
    a_key_handles_roles_as_far_as_its_permissions_go,
    a_key_scoped_to_deployments_cannot_use_roles,
    members_are_given_custom_roles_listed_and_filtered_by_them,
    a_key_gives_no_role_holding_more_than_it_does,
    an_invitation_with_custom_roles_gives_them_on_acceptance,
);
