//! Members through the API: listed, filtered, paged, shown, changed and removed; never the owner.

use serde_json::json;
use steward::domain::Role;

use crate::helpers::TestApp;

use super::{KEY, acme_with_key, assert_made_by_key, assert_utc, enc, sorted};

async fn members_are_listed_shown_changed_and_removed(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, bob_client) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;

    let list = api.get("/members").await;
    list.expect(200);
    assert_eq!(sorted(list.data_field("email")), ["ada@example.com", "bob@example.com"]);
    assert_eq!(list.next_cursor(), None);
    let owner = list.data().iter().find(|m| m["email"] == "ada@example.com").expect("ada");
    assert_eq!(owner["account_id"], ada.to_string());
    assert_eq!((owner["role"].as_str(), owner["status"].as_str()), (Some("owner"), Some("active")));
    assert_utc(&owner["created_at"]);
    assert_eq!(api.get("/members?role=viewer").await.expect(200).data_field("email"), ["bob@example.com"]);
    assert_eq!(api.get("/members?role=owner").await.expect(200).data_field("email"), ["ada@example.com"]);

    let one = api.get(&format!("/members/{bob}")).await;
    one.expect(200);
    assert_eq!(one.json["account_id"], bob.to_string());
    assert_eq!(one.json["email"], "bob@example.com");
    assert_eq!(one.json["name"], "bob");
    assert_eq!(one.json["role"], "viewer");
    assert_eq!(one.json["status"], "active");
    assert_utc(&one.json["created_at"]);
    assert!(one.json["last_active_at"].is_null() || one.json["last_active_at"].is_string());

    let promoted = api.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await;
    promoted.expect(200);
    assert_eq!((promoted.json["role"].as_str(), promoted.json["status"].as_str()), (Some("editor"), Some("active")));
    assert_eq!(promoted.json["account_id"], bob.to_string());

    let deactivated = api.patch(&format!("/members/{bob}"), &json!({ "status": "inactive" })).await;
    deactivated.expect(200);
    assert_eq!((deactivated.json["role"].as_str(), deactivated.json["status"].as_str()), (Some("editor"), Some("inactive")));
    assert_eq!(api.get("/members?status=inactive").await.expect(200).data_field("email"), ["bob@example.com"]);
    assert_eq!(api.get("/members?status=active").await.expect(200).data_field("email"), ["ada@example.com"]);
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);

    let activated = api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await;
    activated.expect(200);
    assert_eq!(activated.json["status"], "active");
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);

    // one request may change both, in one change
    let both = api.patch(&format!("/members/{bob}"), &json!({ "role": "admin", "status": "inactive" })).await;
    both.expect(200);
    assert_eq!((both.json["role"].as_str(), both.json["status"].as_str()), (Some("admin"), Some("inactive")));
    // an invalid half leaves the other half undone
    let half = api.patch(&format!("/members/{bob}"), &json!({ "role": "viewer", "status": "asleep" })).await;
    half.expect_error(422, "invalid");
    assert_eq!(api.get(&format!("/members/{bob}")).await.expect(200).str("role"), "admin");
    api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await.expect(200);

    let removed = api.delete(&format!("/members/{bob}")).await;
    removed.expect(204);
    assert!(removed.text.is_empty(), "204 has no body: {}", removed.text);
    api.get(&format!("/members/{bob}")).await.expect_error(404, "not_found");
    api.delete(&format!("/members/{bob}")).await.expect_error(404, "not_found");
    assert_eq!(api.get("/members").await.expect(200).data_field("email"), ["ada@example.com"]);
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);

    assert_made_by_key(
        app,
        org,
        KEY,
        &[
            "member.role_changed",
            "member.deactivated",
            "member.activated",
            "member.role_changed",
            "member.deactivated",
            "member.activated",
            "member.removed",
        ],
    )
    .await;
}

async fn the_owner_cannot_be_changed_deactivated_or_removed_and_owner_is_never_granted(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;

    api.patch(&format!("/members/{ada}"), &json!({ "role": "admin" })).await.expect_error(403, "forbidden");
    api.patch(&format!("/members/{ada}"), &json!({ "status": "inactive" })).await.expect_error(403, "forbidden");
    api.delete(&format!("/members/{ada}")).await.expect_error(403, "forbidden");

    let owner_role = api.patch(&format!("/members/{bob}"), &json!({ "role": "owner" })).await;
    owner_role.expect_error(422, "invalid");
    assert_eq!(owner_role.invalid_fields(), ["role"]);
    let unknown_role = api.patch(&format!("/members/{bob}"), &json!({ "role": "superuser" })).await;
    unknown_role.expect_error(422, "invalid");
    assert_eq!(unknown_role.invalid_fields(), ["role"]);
    let unknown_status = api.patch(&format!("/members/{bob}"), &json!({ "status": "asleep" })).await;
    unknown_status.expect_error(422, "invalid");
    assert_eq!(unknown_status.invalid_fields(), ["status"]);

    let nobody = uuid::Uuid::new_v4();
    api.get(&format!("/members/{nobody}")).await.expect_error(404, "not_found");
    api.patch(&format!("/members/{nobody}"), &json!({ "role": "editor" })).await.expect_error(404, "not_found");
    api.delete(&format!("/members/{nobody}")).await.expect_error(404, "not_found");
    api.get("/members/not-a-uuid").await.expect_error(404, "not_found");

    let members = api.get("/members").await;
    let roles: Vec<(String, String)> =
        members.data().iter().map(|m| (m["email"].as_str().unwrap().into(), m["role"].as_str().unwrap().into())).collect();
    assert_eq!(sorted(roles.iter().map(|(e, r)| format!("{e}={r}")).collect()), ["ada@example.com=owner", "bob@example.com=viewer"]);
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created"], "nothing was recorded");
}

async fn members_are_paged_with_a_cursor(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read").await;
    app.add_bulk_members(org, 120, Role::Viewer).await;

    let mut seen = Vec::new();
    let mut path = "/members?limit=50".to_string();
    for expected in [50, 50, 21] {
        let page = api.get(&path).await;
        page.expect(200);
        assert_eq!(page.data().len(), expected, "{path}");
        seen.extend(page.data_field("account_id"));
        match page.next_cursor() {
            Some(cursor) => path = format!("/members?limit=50&cursor={}", enc(&cursor)),
            None => assert_eq!(expected, 21, "only the last page has no next cursor"),
        }
    }
    assert_eq!(seen.len(), 121);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 121, "no member appears twice");

    let default = api.get("/members").await;
    assert_eq!(default.expect(200).data().len(), 50, "the default limit is 50");
    assert!(default.next_cursor().is_some());
    let all = api.get("/members?limit=200").await;
    assert_eq!(all.expect(200).data().len(), 121);
    assert_eq!(all.next_cursor(), None);

    // filters hold across pages
    let first = api.get("/members?role=viewer&limit=100").await;
    assert_eq!(first.expect(200).data().len(), 100);
    let cursor = first.next_cursor().expect("more viewers");
    let rest = api.get(&format!("/members?role=viewer&limit=100&cursor={}", enc(&cursor))).await;
    assert_eq!(rest.expect(200).data().len(), 20);
    assert_eq!(rest.next_cursor(), None);
    assert!(rest.data().iter().chain(first.data()).all(|m| m["role"] == "viewer"));
}

crate::on_both_backends!(
    members_are_listed_shown_changed_and_removed,
    the_owner_cannot_be_changed_deactivated_or_removed_and_owner_is_never_granted,
    members_are_paged_with_a_cursor,
);
