//! The audit log through the API: listed, filtered, paged, exported, naming the key that acted.

use chrono::Utc;
use serde_json::{Value, json};
use steward::domain::Role;

use crate::helpers::TestApp;
use crate::support::api::Api;

use super::{KEY, acme_with_key, assert_made_by_key, assert_utc, enc};

/// Three changes through the key: a deployment created and renamed, an invitation.
async fn three_changes(api: &Api) {
    let id = api.create_deployment("web", "us-east-1").await;
    api.patch(&format!("/deployments/{id}"), &json!({ "name": "web-2" })).await.expect(200);
    api.invite("carl@example.com", "viewer").await;
}

async fn audit_events_are_listed_newest_first_filtered_and_paged(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    three_changes(&api).await;

    let list = api.get("/audit-events").await;
    list.expect(200);
    assert_eq!(list.data_field("action"), ["member.invited", "deployment.updated", "deployment.created", "api_key.created", "org.created"]);
    assert_eq!(list.next_cursor(), None);
    let events = list.data();
    for e in events {
        assert!(e["id"].is_i64(), "an event's id is an integer: {e}");
        assert_utc(&e["time"]);
        assert!(e["details"].is_object(), "details are an object: {e}");
    }
    for e in &events[..3] {
        assert_eq!(e["actor_kind"], "api_key", "{e}");
        assert_eq!(e["actor_email"], KEY, "{e}");
        assert_eq!(e["ip"], "127.0.0.1");
        assert_eq!(e["user_agent"], "steward-api-tests");
    }
    for e in &events[3..] {
        assert_eq!((e["actor_kind"].as_str(), e["actor_email"].as_str()), (Some("account"), Some("ada@example.com")), "{e}");
    }
    assert_eq!(events[0]["target_email"], "carl@example.com");
    assert_eq!(events[0]["details"]["role"], "viewer");
    assert_eq!(events[1]["details"], json!({ "old_name": "web", "new_name": "web-2" }));
    assert_eq!(events[2]["target"], "web");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let filtered = |q: &'static str| {
        let api = &api;
        async move { api.get(&format!("/audit-events?{q}")).await.expect(200).data_field("action") }
    };
    assert_eq!(filtered("action=deployment.created").await, ["deployment.created"]);
    assert_eq!(filtered("email=carl@example.com").await, ["member.invited"]);
    assert_eq!(filtered("email=ADA@example.com").await, ["api_key.created", "org.created"]);
    assert_eq!(filtered("from=2000-01-01&to=2000-01-02").await, Vec::<String>::new());
    assert_eq!(filtered("from=2999-01-01").await, Vec::<String>::new());
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let whole_day = api.get(&format!("/audit-events?from={today}&to={today}")).await;
    assert_eq!(whole_day.expect(200).data().len(), 5, "both ends of the range are whole days");
    let combined = api.get(&format!("/audit-events?action=member.invited&email=carl@example.com&from={today}")).await;
    assert_eq!(combined.expect(200).data_field("action"), ["member.invited"]);

    let bad_date = api.get("/audit-events?from=yesterday").await;
    bad_date.expect_error(422, "invalid");
    assert_eq!(bad_date.invalid_fields(), ["from"]);
    api.get("/audit-events?to=2026-13-01").await.expect_error(422, "invalid");
    api.get("/audit-events?action=member.exploded").await.expect_error(422, "invalid");

    // a cursor walks the same events, page by page
    let mut walked = Vec::new();
    let mut path = "/audit-events?limit=2".to_string();
    for expected in [2, 2, 1] {
        let page = api.get(&path).await;
        assert_eq!(page.expect(200).data().len(), expected);
        walked.extend(page.data().iter().map(|e| e["id"].as_i64().unwrap()));
        if let Some(cursor) = page.next_cursor() {
            path = format!("/audit-events?limit=2&cursor={}", enc(&cursor));
        } else {
            assert_eq!(expected, 1);
        }
    }
    assert_eq!(walked, ids);
    let filtered_pages = api.get("/audit-events?limit=1&email=ada@example.com").await;
    let cursor = filtered_pages.expect(200).next_cursor().expect("a second page");
    let second = api.get(&format!("/audit-events?limit=1&email=ada@example.com&cursor={}", enc(&cursor))).await;
    assert_eq!(second.expect(200).data_field("action"), ["org.created"]);
    assert_eq!(second.next_cursor(), None);
}

async fn dates_outside_the_years_1970_to_9999_are_refused_naming_the_field(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read").await;
    let outside = [("from=-5000-01-01", "from"), ("to=-5000-01-01", "to"), ("from=1969-12-31", "from"), ("to=%2B10000-01-01", "to")];
    for (query, field) in outside {
        let list = api.get(&format!("/audit-events?{query}")).await;
        list.expect_error(422, "invalid");
        assert_eq!(list.invalid_fields(), [field], "{query}");
        // the export answers with the error before it streams anything
        let export = api.get(&format!("/audit-events.csv?{query}")).await;
        export.expect_error(422, "invalid");
        assert_eq!(export.invalid_fields(), [field], "{query}");
    }

    let widest = "from=1970-01-01&to=9999-12-31";
    let list = api.get(&format!("/audit-events?{widest}")).await;
    assert_eq!(list.expect(200).data_field("action"), ["api_key.created", "org.created"]);
    let export = api.get(&format!("/audit-events.csv?{widest}")).await;
    assert_eq!(csv::Reader::from_reader(export.expect(200).text.as_bytes()).records().count(), 2);
}

async fn the_csv_export_has_the_documented_header_and_names_the_key(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    three_changes(&api).await;

    let export = api.get("/audit-events.csv").await;
    export.expect(200);
    let media = export.header("content-type").unwrap_or_default();
    assert!(media.starts_with("text/csv"), "{media}");
    assert!(export.text.starts_with("time,action,actor_email,actor_kind,target,ip,user_agent,details"), "{}", export.text);
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let actions: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(actions, ["member.invited", "deployment.updated", "deployment.created", "api_key.created", "org.created"]);
    for row in &rows[..3] {
        assert_eq!((&row[2], &row[3]), (KEY, "api_key"), "{row:?}");
        assert_eq!(&row[5], "127.0.0.1");
        assert_eq!(&row[6], "steward-api-tests");
        assert!(serde_json::from_str::<Value>(&row[7]).is_ok_and(|d| d.is_object()), "{row:?}");
    }
    for row in &rows {
        assert_utc(&json!(&row[0]));
    }
    assert_eq!(&rows[2][4], "web");

    let filtered = api.get("/audit-events.csv?action=deployment.created").await;
    let rows = csv::Reader::from_reader(filtered.expect(200).text.as_bytes()).records().count();
    assert_eq!(rows, 1);
    let by_email = api.get("/audit-events.csv?email=carl@example.com").await;
    assert_eq!(csv::Reader::from_reader(by_email.expect(200).text.as_bytes()).records().count(), 1);
    api.get("/audit-events.csv?to=never").await.expect_error(422, "invalid");
}

async fn every_change_through_the_api_is_audited_as_the_key(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let dep = api.create_deployment("web", "us-east-1").await;
    api.patch(&format!("/deployments/{dep}"), &json!({ "name": "web-2" })).await.expect(200);
    api.delete(&format!("/deployments/{dep}")).await.expect(204);
    let inv = api.invite("carl@example.com", "editor").await;
    api.post_empty(&format!("/invitations/{inv}/resend")).await.expect(200);
    api.delete(&format!("/invitations/{inv}")).await.expect(204);
    api.patch(&format!("/members/{bob}"), &json!({ "role": "admin" })).await.expect(200);
    api.patch(&format!("/members/{bob}"), &json!({ "status": "inactive" })).await.expect(200);
    api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await.expect(200);
    api.delete(&format!("/members/{bob}")).await.expect(204);
    let expected = [
        "deployment.created",
        "deployment.updated",
        "deployment.deleted",
        "member.invited",
        "invitation.resent",
        "invitation.cancelled",
        "member.role_changed",
        "member.deactivated",
        "member.activated",
        "member.removed",
    ];
    assert_made_by_key(app, org, KEY, &expected).await;

    // and the API shows them so, the member events naming their target
    let listed = api.get("/audit-events?limit=200").await;
    listed.expect(200);
    let by_key: Vec<&Value> = listed.data().iter().filter(|e| e["actor_kind"] == "api_key").collect();
    let mut actions: Vec<&str> = by_key.iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.reverse();
    assert_eq!(actions, expected);
    assert!(by_key.iter().all(|e| e["actor_email"] == KEY));
    for e in by_key.iter().filter(|e| e["action"].as_str().unwrap().starts_with("member.")) {
        let target = if e["action"] == "member.invited" { "carl@example.com" } else { "bob@example.com" };
        assert_eq!(e["target_email"], target, "{e}");
    }
    // reading leaves no trace
    let before = app.count("audit_events").await;
    api.get("/members").await.expect(200);
    api.get("/audit-events.csv").await.expect(200);
    assert_eq!(app.count("audit_events").await, before);
}

crate::on_both_backends!(
    audit_events_are_listed_newest_first_filtered_and_paged,
    dates_outside_the_years_1970_to_9999_are_refused_naming_the_field,
    the_csv_export_has_the_documented_header_and_names_the_key,
    every_change_through_the_api_is_audited_as_the_key,
);
