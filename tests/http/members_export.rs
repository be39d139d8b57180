//! The member list's CSV export: the rows the list shows for the same filters, all of them, in
//! its order; safe in a spreadsheet; for whom the list is; recorded in the audit log.

use steward::domain::{OrgId, Role};

use crate::helpers::{Client, TestApp};

const HEADER: [&str; 8] = ["email", "name", "status", "role", "custom_roles", "created_at", "last_active_at", "auth_method"];

/// What an export answered.
struct Export {
    status: u16,
    headers: reqwest::header::HeaderMap,
    rows: Vec<csv::StringRecord>,
}

impl Export {
    fn emails(&self) -> Vec<String> {
        self.rows.iter().map(|r| r[0].to_string()).collect()
    }

    fn row(&self, email: &str) -> &csv::StringRecord {
        self.rows.iter().find(|r| &r[0] == email).unwrap_or_else(|| panic!("no row for {email}"))
    }
}

async fn export(client: &Client, org: OrgId, query: &str) -> Export {
    let resp = client.http.get(format!("{}/orgs/{org}/members.csv?{query}", client.base)).send().await.expect("GET");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    let rows = if status == 200 {
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        assert_eq!(reader.headers().expect("header").iter().collect::<Vec<_>>(), HEADER);
        reader.records().map(|r| r.expect("a CSV record")).collect()
    } else {
        Vec::new()
    };
    Export { status, headers, rows }
}

/// The emails of the list's rows for `query`, every page.
async fn listed(client: &Client, org: OrgId, query: &str) -> Vec<String> {
    let selector = scraper::Selector::parse("tbody tr[data-email]").expect("selector");
    let mut emails = Vec::new();
    for page in 1.. {
        let page = client.get(&format!("/orgs/{org}/members?{query}&page={page}")).await;
        page.assert_status(200);
        let rows: Vec<String> =
            page.html().select(&selector).filter_map(|e| e.value().attr("data-email")).map(str::to_string).collect();
        let done = rows.len() < 50;
        emails.extend(rows);
        if done {
            return emails;
        }
    }
    emails
}

async fn the_export_holds_the_lists_rows_with_its_labels_and_filters(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme, Inc.").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Editor).await;
    let (_, vic) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    // vic is active after ada: the last-active orders differ from the others
    vic.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
    let support = owner.create_role(org, "Support", &["members.read"]).await;
    owner.give_role(org, support, bob).await;
    owner.deactivate(org, bob).await;
    owner.invite(org, "carl@example.com", "viewer").await;
    owner.invite(org, "dora@example.com", "admin").await;
    app.expire_invitation(org, "dora@example.com").await;

    let all = export(&owner, org, "").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(all.headers["cache-control"], "no-store");
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(all.headers["content-disposition"], format!("attachment; filename=\"members-acme-inc-{today}.csv\"").as_str());
    assert_eq!(all.emails(), ["ada@example.com", "bob@example.com", "carl@example.com", "dora@example.com", "vic@example.com"]);
    assert_eq!(all.emails(), listed(&owner, org, "").await);

    let ada = all.row("ada@example.com");
    assert_eq!((&ada[1], &ada[2], &ada[3], &ada[4], &ada[7]), ("ada", "Active", "Owner", "", "Password"));
    for time in [&ada[5], &ada[6]] {
        let parsed = chrono::DateTime::parse_from_rfc3339(time).unwrap_or_else(|e| panic!("{time}: {e}"));
        assert_eq!(parsed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), time, "UTC to the second");
    }
    let bob_row = all.row("bob@example.com");
    assert_eq!((&bob_row[2], &bob_row[3], &bob_row[4]), ("Inactive", "Editor", "Support"));
    let carl = all.row("carl@example.com");
    assert_eq!((&carl[1], &carl[2], &carl[3], &carl[6], &carl[7]), ("", "Pending Invitation", "Viewer", "", ""));
    assert!(chrono::DateTime::parse_from_rfc3339(&carl[5]).is_ok());
    let dora = all.row("dora@example.com");
    assert_eq!((&dora[2], &dora[3]), ("Expired Invitation", "Admin"));

    // each filter changes the file as it changes the page
    let support_id = support.to_string();
    for query in [
        "q=CARL".to_string(),
        "q=vic".to_string(),
        "status=inactive".to_string(),
        "status=expired".to_string(),
        "status=pending".to_string(),
        "role=viewer".to_string(),
        format!("role={support_id}"),
        "sort=-email".to_string(),
        "sort=created".to_string(),
        "sort=-created".to_string(),
        "sort=last_active".to_string(),
        "sort=-last_active".to_string(),
        "status=active&role=owner".to_string(),
    ] {
        let filtered = export(&owner, org, &query).await;
        assert_eq!(filtered.status, 200, "{query}");
        assert_eq!(filtered.emails(), listed(&owner, org, &query).await, "{query}");
        assert_ne!(filtered.emails(), all.emails(), "{query} changes the file");
    }
    // unknown values are ignored, as the list ignores them
    let stale = "status=bogus&role=god&sort=x&page=7";
    assert_eq!(export(&owner, org, stale).await.emails(), listed(&owner, org, "status=bogus&role=god&sort=x").await);

    // the page's button carries its filters
    let page = owner.get(&format!("/orgs/{org}/members?q=a&status=active&sort=-email&page=2")).await;
    let selector = scraper::Selector::parse("a#export-csv").expect("selector");
    let html = page.html();
    let button = html.select(&selector).next().expect("an Export CSV button");
    assert_eq!(button.value().attr("href"), Some(format!("/orgs/{org}/members.csv?q=a&status=active&sort=-email").as_str()));
    assert_eq!(button.text().collect::<String>().trim(), "Export CSV");
}

async fn the_export_is_safe_to_open_in_a_spreadsheet(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, mallory) = app.add_member(org, "mallory@example.com", Role::Viewer).await;
    let name = "=HYPERLINK(\"http://evil.example\",\"click\")";
    mallory.post("/profile", &[("name", name)]).await.assert_status(303);
    app.add_member(org, "comma@example.com", Role::Viewer).await;
    let file = export(&owner, org, "").await;
    assert_eq!(&file.row("mallory@example.com")[1], format!("'{name}"), "a formula is neutralised");
    assert_eq!(&file.row("ada@example.com")[1], "ada");
}

async fn only_those_who_see_the_list_export_it(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    let (vic, viewer) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    for client in [&editor, &viewer] {
        let list = client.get(&format!("/orgs/{org}/members")).await.status;
        assert_eq!(list, 403);
        assert_eq!(export(client, org, "").await.status, list, "the export answers as the list");
        let page = client.get(&format!("/orgs/{org}/deployments")).await;
        assert!(page.texts("a#export-csv").is_empty());
    }
    // a custom role holding members.read is enough
    let people = owner.create_role(org, "People", &["members.read"]).await;
    owner.give_role(org, people, vic).await;
    let file = export(&viewer, org, "").await;
    assert_eq!(file.status, 200);
    assert_eq!(file.emails(), ["ada@example.com", "ed@example.com", "vic@example.com"]);
    assert_eq!(viewer.get(&format!("/orgs/{org}/members")).await.texts("a#export-csv"), ["Export CSV"]);

    // another organization's members are not there to be exported
    let (_, other) = app.sign_up("olga@example.com", "Other").await;
    assert_eq!(export(&owner, other, "").await.status, 404);
    assert_eq!(export(&app.client(), org, "").await.status, 303, "signed out: sign in first");
}

async fn every_export_is_recorded_with_its_filters(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let before = app.count("audit_events").await;
    export(&owner, org, "").await;
    let support = owner.create_role(org, "Support", &["members.read"]).await;
    let query = format!("q=+Ada+&status=active&role={support}&sort=-created&page=3");
    let file = export(&owner, org, &query).await;
    assert_eq!(file.status, 200);
    let events = app.events(org).await;
    let exported: Vec<_> = events.iter().filter(|e| e.body.action == "members.exported").collect();
    assert_eq!(exported.len(), 2, "one event per export");
    assert_eq!(app.count("audit_events").await, before + 3, "two exports and a role");
    let last = exported[1];
    assert_eq!(last.body.actor_email.as_deref(), Some("ada@example.com"));
    assert_eq!(last.body.actor_kind, "account");
    let details: serde_json::Value = serde_json::from_str(&last.body.details).expect("JSON details");
    assert_eq!(
        details,
        serde_json::json!({ "q": "Ada", "status": "active", "role": support.to_string(), "sort": "-created" })
    );
    let first: serde_json::Value = serde_json::from_str(&exported[0].body.details).expect("JSON details");
    assert_eq!(first, serde_json::json!({ "q": null, "status": null, "role": null, "sort": "email" }));
    // the audit page's action filter knows it
    owner.get(&format!("/orgs/{org}/audit?action=members.exported")).await.assert_status(200);
    assert!(owner.get(&format!("/orgs/{org}/audit")).await.contains("value=\"members.exported\""));
}

async fn a_large_organization_exports_every_row_once_in_order(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_bulk_members(org, 2_500, Role::Viewer).await;
    owner.invite(org, "zed@example.com", "editor").await;

    // oldest first: the members in the order they joined, then ada, then the invitation
    let oldest = export(&owner, org, "sort=-created").await;
    let mut expected: Vec<String> = (0..2_500).map(|i| format!("member-{i:03}@bulk.test")).collect();
    expected.extend(["ada@example.com".to_string(), "zed@example.com".to_string()]);
    assert_eq!(oldest.emails(), expected);

    // several slices, across the halves of the list (members, invitations) and, in the
    // last-active orders, from the members ever active to the rest
    for query in ["sort=email", "sort=-email", "sort=last_active", "sort=-last_active", "status=active&sort=created"] {
        let emails = export(&owner, org, query).await.emails();
        let mut unique = emails.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), emails.len(), "{query}: every row once");
        let rows = if query.starts_with("status=active") { 2_501 } else { 2_502 };
        assert_eq!(emails.len(), rows, "{query}");
        assert_eq!(emails, listed(&owner, org, query).await, "{query}: in the list's order");
    }
}

crate::on_both_backends!(
    the_export_holds_the_lists_rows_with_its_labels_and_filters,
    the_export_is_safe_to_open_in_a_spreadsheet,
    only_those_who_see_the_list_export_it,
    every_export_is_recorded_with_its_filters,
    a_large_organization_exports_every_row_once_in_order,
);
