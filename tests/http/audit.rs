//! The audit log: recorded with each change, browsed, exported, tamper-evident.

use chrono::{Duration, NaiveDate};
use steward::domain::ids::ApiKeyId;
use steward::domain::{AccountId, Email, OrgId, Role};
use steward::domain::{Actor, RequestMeta};
use steward::storage::audit::NewEvent;

use crate::helpers::{Backend, Client, NewKey, Page, TestApp};
use crate::support::api::Api;

/// Appends `n` events dated one day apart from `start`, as the app would (for filters).
async fn add_events(app: &TestApp, org: OrgId, start: NaiveDate, specs: Vec<(&'static str, &'static str, &'static str)>) {
    app.with_db(move |db| {
        let mut day = start.and_hms_opt(12, 0, 0).unwrap();
        for (action, actor, target) in specs {
            steward::storage::write_tx(&mut db.conn().unwrap(), |conn| -> Result<(), diesel::result::Error> {
                steward::storage::orgs::lock(conn, org)?;
                let who = Actor::Account { id: AccountId::new(), email: Email::from_db(actor.to_string()) };
                let meta = RequestMeta { ip: Some("198.51.100.7".into()), user_agent: Some("tests".into()) };
                steward::storage::audit::append(conn, org, &who, &meta, NewEvent::new(action).target(target).target_email(target), day)
            })
            .unwrap();
            day += Duration::days(1);
        }
    })
    .await
}

async fn a_change_whose_event_cannot_be_written_is_not_kept(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    app.refuse_audit_events("member.role_changed").await;
    let page = owner.post(&format!("/orgs/{org}/members/{bob}"), &[("role", "editor")]).await;
    page.assert_status(500);
    assert!(page.contains("Something went wrong") && !page.contains("audit store refused"), "no internals leak");
    let role = app
        .with_db(move |db| steward::storage::members::find(&mut *db.conn().unwrap(), org, bob).unwrap().unwrap().role)
        .await;
    assert_eq!(role, Role::Viewer, "the role change was rolled back with its event");
    assert_eq!(app.actions(org).await, vec!["org.created"]);
}

async fn the_log_filters_by_action_email_and_dates_newest_first(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    add_events(
        app,
        org,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        vec![
            ("member.invited", "ada@example.com", "bob@example.com"),
            ("member.role_changed", "al@example.com", "bob@example.com"),
            ("deployment.created", "bob@example.com", "web"),
            ("member.removed", "al@example.com", "carl@example.com"),
        ],
    )
    .await;
    let texts = |p: &crate::helpers::Page| p.texts("#audit-events tbody td:nth-child(2)");

    let all = owner.get(&format!("/orgs/{org}/audit")).await;
    all.assert_status(200);
    assert_eq!(texts(&all), vec!["member.removed", "deployment.created", "member.role_changed", "member.invited", "org.created"]);
    let by_action = owner.get(&format!("/orgs/{org}/audit?action=member.role_changed")).await;
    assert_eq!(texts(&by_action), vec!["member.role_changed"]);
    let by_email = owner.get(&format!("/orgs/{org}/audit?email=BOB@example.com")).await;
    assert_eq!(texts(&by_email), vec!["deployment.created", "member.role_changed", "member.invited"], "actor or target");
    let by_dates = owner.get(&format!("/orgs/{org}/audit?from=2026-01-02&to=2026-01-03")).await;
    assert_eq!(texts(&by_dates), vec!["deployment.created", "member.role_changed"], "both days whole");
    let combined = owner.get(&format!("/orgs/{org}/audit?email=al@example.com&from=2026-01-03")).await;
    assert_eq!(texts(&combined), vec!["member.removed"]);
    let none = owner.get(&format!("/orgs/{org}/audit?from=2030-01-01")).await;
    assert!(none.contains("No events match"));

    let bad = owner.get(&format!("/orgs/{org}/audit?from=yesterday")).await;
    bad.assert_status(422);
    assert!(bad.contains("Enter a date as YYYY-MM-DD."));
    owner.get(&format!("/orgs/{org}/audit?action=member.exploded")).await.assert_status(422);
    // the details are readable
    assert!(all.contains("Account") && all.contains("198.51.100.7"));
}

async fn dates_outside_the_years_1970_to_9999_are_refused_on_the_page_and_the_export(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let outside = [("from=-5000-01-01", "from"), ("to=-5000-01-01", "to"), ("from=1969-12-31", "from"), ("to=%2B10000-01-01", "to")];
    for (query, field) in outside {
        let page = owner.get(&format!("/orgs/{org}/audit?{query}")).await;
        page.assert_status(422);
        assert!(page.contains("Enter a date from 1970-01-01 to 9999-12-31."), "{query}: {}", page.body);
        let marked = page.html().select(&scraper::Selector::parse(&format!("#{field}[aria-invalid=true]")).unwrap()).count();
        assert_eq!(marked, 1, "{query}: the form marks {field}");
        // the export refuses before it streams anything
        let csv = owner.http.get(format!("{}/orgs/{org}/audit.csv?{query}", owner.base)).send().await.unwrap();
        assert_eq!(csv.status().as_u16(), 422, "{query}");
        assert!(!csv.text().await.unwrap().starts_with("time,"), "{query}");
    }

    // the widest range holds every event, on both databases
    let widest = "from=1970-01-01&to=9999-12-31";
    let page = owner.get(&format!("/orgs/{org}/audit?{widest}")).await;
    page.assert_status(200);
    assert_eq!(page.texts("#audit-events tbody td:nth-child(2)"), vec!["org.created"]);
    assert_eq!(csv_rows(&owner, &format!("/orgs/{org}/audit.csv?{widest}")).await.len(), 1);
}

/// The rows of the CSV export at `path`.
async fn csv_rows(client: &Client, path: &str) -> Vec<csv::StringRecord> {
    let body = client.http.get(format!("{}{path}", client.base)).send().await.unwrap().text().await.unwrap();
    csv::Reader::from_reader(body.as_bytes()).records().map(Result::unwrap).collect()
}

async fn a_key_named_like_an_email_reads_as_a_key_and_is_not_found_by_that_email(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named("bob@example.com")).await;
    let api = Api::with_key(app, &secret).await;
    api.create_deployment("web", "us-east-1").await;
    owner.invite(org, "bob@example.com", "viewer").await;

    let actors = |p: &Page| p.texts("#audit-events tbody td:nth-child(3)");
    let all = owner.get(&format!("/orgs/{org}/audit")).await;
    assert_eq!(
        actors(&all),
        ["ada@example.com Account", "API key · bob@example.com", "ada@example.com Account", "ada@example.com Account"]
    );
    // the email filter finds the person, never the key
    let by_email = owner.get(&format!("/orgs/{org}/audit?email=bob@example.com")).await;
    assert_eq!(by_email.texts("#audit-events tbody td:nth-child(2)"), ["member.invited"]);
    let listed = api.get("/audit-events?email=bob@example.com").await;
    assert_eq!(listed.expect(200).data_field("action"), ["member.invited"]);
    let rows = csv_rows(&owner, &format!("/orgs/{org}/audit.csv?email=bob@example.com")).await;
    assert_eq!(rows.iter().map(|r| r[1].to_string()).collect::<Vec<_>>(), ["member.invited"]);

    // the export still names the key in actor_email, with its kind
    let rows = csv_rows(&owner, &format!("/orgs/{org}/audit.csv?action=deployment.created")).await;
    assert_eq!((&rows[0][2], &rows[0][3]), ("bob@example.com", "api_key"));
}

async fn the_log_pages_fifty_events_at_a_time_back_to_the_first(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let specs: Vec<_> = (0..120).map(|_| ("deployment.updated", "ada@example.com", "web")).collect();
    add_events(app, org, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), specs).await;
    let mut seen = 0;
    let mut href = format!("/orgs/{org}/audit");
    for expected in [50, 50, 21] {
        let page = owner.get(&href).await;
        page.assert_status(200);
        let rows = page.texts("#audit-events tbody tr").len();
        assert_eq!(rows, expected);
        seen += rows;
        match page.html().select(&scraper::Selector::parse("a[rel=next]").unwrap()).next() {
            Some(a) => href = a.value().attr("href").unwrap().to_string(),
            None => assert_eq!(expected, 21, "the last page has no Older link"),
        }
    }
    assert_eq!(seen, 121);
    assert!(href.contains("cursor="));
}

async fn the_csv_export_applies_the_filters_and_is_safe_in_a_spreadsheet(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme, Inc.").await;
    owner.post("/profile", &[("name", "=HYPERLINK(\"http://evil\")")]).await.assert_status(303);
    add_events(
        app,
        org,
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        vec![
            ("member.invited", "=cmd|' /C calc'!A0", "+evil@example.com"),
            ("member.removed", "ada@example.com", "comma, \"quote\"\nnewline"),
        ],
    )
    .await;
    let resp = owner.http.get(format!("{}/orgs/{org}/audit.csv", owner.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(disposition, format!("attachment; filename=\"audit-acme-inc-{today}.csv\""));
    let body = resp.text().await.unwrap();

    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec!["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][1], "member.removed");
    assert_eq!(&rows[0][4], "comma, \"quote\"\nnewline", "quoting survives a round trip");
    assert_eq!(&rows[1][2], "'=cmd|' /C calc'!A0", "formulas are neutralised");
    assert_eq!(&rows[1][4], "'+evil@example.com");
    assert_eq!(&rows[0][0], "2026-03-02T12:00:00Z");
    assert!(chrono::DateTime::parse_from_rfc3339(&rows[2][0]).is_ok());
    assert_eq!(&rows[2][1], "org.created");

    let filtered = owner.http.get(format!("{}/orgs/{org}/audit.csv?action=member.invited", owner.base)).send().await.unwrap();
    let body = filtered.text().await.unwrap();
    assert_eq!(csv::Reader::from_reader(body.as_bytes()).records().count(), 1);
    let bad = owner.http.get(format!("{}/orgs/{org}/audit.csv?to=never", owner.base)).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 422);
}

async fn a_large_export_streams_every_row_once(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    // more than two of the export's batches
    app.with_db(move |db| {
        steward::storage::write_tx(&mut db.conn().unwrap(), |conn| -> Result<(), diesel::result::Error> {
            steward::storage::orgs::lock(conn, org)?;
            for _ in 0..4_500 {
                let who = Actor::Account { id: AccountId::new(), email: Email::parse("ada@example.com").expect("email") };
                steward::storage::audit::append(conn, org, &who, &RequestMeta::default(), NewEvent::new("deployment.updated"), steward::storage::now())?;
            }
            Ok(())
        })
        .unwrap();
    })
    .await;
    let body = owner.http.get(format!("{}/orgs/{org}/audit.csv", owner.base)).send().await.unwrap().text().await.unwrap();
    let times: Vec<String> = csv::Reader::from_reader(body.as_bytes()).records().map(|r| r.unwrap()[1].to_string()).collect();
    assert_eq!(times.len(), 4_501);
    assert_eq!(times.last().map(String::as_str), Some("org.created"));
}

/// The export as the row writer writes it: `events` newest first, those `keep` keeps.
fn export_of(events: &[steward::storage::audit::Event], keep: impl Fn(&steward::storage::audit::EventBody) -> bool) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(steward::csv_export::CSV_HEADER).unwrap();
    for e in events.iter().rev().filter(|e| keep(&e.body)) {
        let b = &e.body;
        let mut time = String::new();
        steward::csv_export::rfc3339_secs(b.occurred_at, &mut time);
        let cells = steward::csv_export::visible_cells(
            &time,
            &b.action,
            b.actor_email.as_deref(),
            &b.actor_kind,
            b.target.as_deref(),
            b.target_email.as_deref(),
            b.ip.as_deref(),
            b.user_agent.as_deref(),
            &b.details,
        );
        out.write_record(cells.iter().map(|c| c.as_bytes())).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

async fn the_csv_export_writes_every_cell_byte_for_byte_with_any_filter(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.with_db(move |db| {
        steward::storage::write_tx(&mut db.conn().unwrap(), |conn| -> Result<(), diesel::result::Error> {
            steward::storage::orgs::lock(conn, org)?;
            let person = |email: &str| Actor::Account { id: AccountId::new(), email: Email::from_db(email.to_string()) };
            let key = Actor::ApiKey { id: ApiKeyId::new(), name: "bob@example.com".into() };
            let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
            // every cell a CSV quotes or a spreadsheet would read as a formula, and empty ones
            let odd = [
                ("member.invited", person("bob@example.com"), Some("=1+1"), Some("bob@example.com"), "+1", "a \"quoted\", agent"),
                ("member.role_changed", person("al, the \"admin\"@example.com"), Some("-x"), Some(""), "@ip", "line\nbreak"),
                ("deployment.created", key, None, None, "\tx", "\rcarriage\r\n"),
                ("member.removed", person("-al@example.com"), Some("carl@example.com"), Some("bob@example.com"), "", "Élodie, ünïcødé ✓"),
                ("member.invited", Actor::System, Some(""), None, "=ip", ""),
            ];
            for (i, (action, who, target, target_email, ip, agent)) in odd.into_iter().enumerate() {
                let meta = RequestMeta { ip: Some(ip.to_string()), user_agent: Some(agent.to_string()) };
                let mut event = NewEvent::new(action).details(serde_json::json!({"note": "=SUM(A1)", "n": -1, "s": "a,\"b\"\n"}));
                event.target = target.map(str::to_string);
                event.target_email = target_email.map(str::to_string);
                steward::storage::audit::append(conn, org, &who, &meta, event, day(i as u32 + 1))?;
            }
            let details = NewEvent::new("org.renamed").details(serde_json::json!(-5));
            steward::storage::audit::append(conn, org, &Actor::System, &RequestMeta::default(), details, day(9))?;
            // a year past 9999 is written with its sign, and neutralised
            let far = NaiveDate::from_ymd_opt(12026, 6, 1).unwrap().and_hms_opt(1, 2, 3).unwrap();
            steward::storage::audit::append(conn, org, &Actor::System, &RequestMeta::default(), NewEvent::new("org.renamed"), far)
        })
        .unwrap();
    })
    .await;
    let events = app.events(org).await;
    let from = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let until = NaiveDate::from_ymd_opt(2026, 1, 4).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let bob = |b: &steward::storage::audit::EventBody| {
        (b.actor_email.as_deref() == Some("bob@example.com") && b.actor_kind == "account")
            || b.target_email.as_deref() == Some("bob@example.com")
    };
    let cases: Vec<(&str, Box<dyn Fn(&steward::storage::audit::EventBody) -> bool>)> = vec![
        ("", Box::new(|_| true)),
        ("?action=member.invited", Box::new(|b| b.action == "member.invited")),
        ("?email=BOB@example.com", Box::new(bob)),
        ("?action=member.removed&email=bob@example.com", Box::new(move |b| b.action == "member.removed" && bob(b))),
        ("?from=2026-01-02&to=2026-01-03", Box::new(move |b| b.occurred_at >= from && b.occurred_at < until)),
    ];
    for (query, keep) in cases {
        let resp = owner.http.get(format!("{}/orgs/{org}/audit.csv{query}", owner.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        let body = resp.text().await.unwrap();
        assert_eq!(body, export_of(&events, keep), "{query}");
    }
    // the same bytes through the API's export
    let secret = owner.create_api_key(org, NewKey::named("auditor")).await;
    let api = Api::with_key(app, &secret).await;
    assert_eq!(api.get("/audit-events.csv?action=member.invited").await.expect(200).text, export_of(&events, |b| b.action == "member.invited"));
}

async fn an_export_left_halfway_leaves_every_connection_usable(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    // far more than the response's buffers hold, so that the export is cut in the middle
    app.with_db(move |db| {
        steward::storage::write_tx(&mut db.conn().unwrap(), |conn| -> Result<(), diesel::result::Error> {
            steward::storage::orgs::lock(conn, org)?;
            let who = Actor::Account { id: AccountId::new(), email: Email::parse("ada@example.com").expect("email") };
            let meta = RequestMeta { ip: None, user_agent: Some("x".repeat(500)) };
            for _ in 0..12_000 {
                steward::storage::audit::append(conn, org, &who, &meta, NewEvent::new("deployment.updated"), steward::storage::now())?;
            }
            Ok(())
        })
        .unwrap();
    })
    .await;
    for _ in 0..3 {
        let mut resp = owner.http.get(format!("{}/orgs/{org}/audit.csv", owner.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.chunk().await.unwrap().is_some());
        drop(resp);
    }
    // more requests than the pool has connections, each answered
    for _ in 0..12 {
        owner.get(&format!("/orgs/{org}/audit?action=deployment.updated")).await.assert_status(200);
    }
    let body = owner.http.get(format!("{}/orgs/{org}/audit.csv", owner.base)).send().await.unwrap().text().await.unwrap();
    assert_eq!(body.lines().count(), 12_002, "the header, every event and org.created");
}

async fn editors_read_the_log_viewers_do_not(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    let (_, viewer) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    editor.get(&format!("/orgs/{org}/audit")).await.assert_status(200);
    editor.get(&format!("/orgs/{org}/audit.csv")).await.assert_status(200);
    viewer.get(&format!("/orgs/{org}/audit")).await.assert_status(403);
    viewer.get(&format!("/orgs/{org}/audit.csv")).await.assert_status(403);
    let nav = viewer.get(&format!("/orgs/{org}/deployments")).await.texts(".nav-link");
    assert!(!nav.contains(&"Audit log".to_string()));
}

/// Verify names the first event that does not match, whatever was done to the rows.
async fn verify_names_the_event_that_was_edited_or_deleted(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for i in 0..5 {
        owner.post(&format!("/orgs/{org}/settings"), &[("name", &format!("Acme {i}"))]).await.assert_status(303);
    }
    let intact = app.with_db(|db| steward::operations::audit::verify(db).unwrap()).await;
    assert!(intact.is_intact(), "{intact}");
    assert_eq!(intact.events, 6);

    let sql = |s: String| {
        app.with_db(move |db| {
            use diesel::RunQueryDsl;
            diesel::sql_query(s).execute(&mut *db.conn().unwrap()).unwrap();
            steward::operations::audit::verify(db).unwrap()
        })
    };
    let o = org.to_string();
    // an edited row
    let edited = sql(format!("UPDATE audit_events SET details = '{{}}' WHERE org_id = '{o}' AND seq = 3")).await;
    assert_eq!(edited.mismatches.len(), 1);
    assert_eq!(edited.mismatches[0].seq, 3);
    assert!(edited.to_string().contains("event #3"), "{edited}");
    sql(format!("UPDATE audit_events SET details = (SELECT details FROM audit_events WHERE org_id = '{o}' AND seq = 4) WHERE org_id = '{o}' AND seq = 3")).await;
    // a deleted row
    let deleted = sql(format!("DELETE FROM audit_events WHERE org_id = '{o}' AND seq = 5")).await;
    assert_eq!(deleted.mismatches.len(), 1);
    assert!(deleted.mismatches[0].seq <= 6);
}

async fn verify_names_the_first_of_two_swapped_events(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for name in ["One", "Two"] {
        owner.post(&format!("/orgs/{org}/settings"), &[("name", name)]).await.assert_status(303);
    }
    let o = org.to_string();
    let report = app
        .with_db(move |db| {
            use diesel::RunQueryDsl;
            let mut conn = db.conn().unwrap();
            // swap the positions of events 2 and 3
            for s in [
                format!("UPDATE audit_events SET seq = -2 WHERE org_id = '{o}' AND seq = 2"),
                format!("UPDATE audit_events SET seq = 2 WHERE org_id = '{o}' AND seq = 3"),
                format!("UPDATE audit_events SET seq = 3 WHERE org_id = '{o}' AND seq = -2"),
            ] {
                diesel::sql_query(s).execute(&mut *conn).unwrap();
            }
            steward::operations::audit::verify(db).unwrap()
        })
        .await;
    assert_eq!(report.mismatches.len(), 1);
    assert_eq!(report.mismatches[0].seq, 2);
}

async fn the_address_comes_from_a_forwarded_header_only_through_a_trusted_proxy(backend: Backend) {
    for (builder, expected) in [(TestApp::builder(), "127.0.0.1"), (TestApp::builder().trust_proxy("127.0.0.1"), "203.0.113.5")] {
        let app = builder.spawn(backend).await;
        let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
        let token = owner.csrf().await;
        let resp = owner
            .http
            .post(format!("{}/orgs/{org}/settings", owner.base))
            .header("X-Forwarded-For", "203.0.113.5")
            .form(&[("csrf_token", token.as_str()), ("name", "Renamed")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303);
        let ip = app.events(org).await.pop().unwrap().body.ip;
        assert_eq!(ip.as_deref(), Some(expected));
        app.stop().await;
    }
}

crate::on_both_backends!(
    a_change_whose_event_cannot_be_written_is_not_kept,
    the_log_filters_by_action_email_and_dates_newest_first,
    dates_outside_the_years_1970_to_9999_are_refused_on_the_page_and_the_export,
    a_key_named_like_an_email_reads_as_a_key_and_is_not_found_by_that_email,
    the_log_pages_fifty_events_at_a_time_back_to_the_first,
    the_csv_export_applies_the_filters_and_is_safe_in_a_spreadsheet,
    a_large_export_streams_every_row_once,
    the_csv_export_writes_every_cell_byte_for_byte_with_any_filter,
    an_export_left_halfway_leaves_every_connection_usable,
    editors_read_the_log_viewers_do_not,
    verify_names_the_event_that_was_edited_or_deleted,
    verify_names_the_first_of_two_swapped_events,
    the_address_comes_from_a_forwarded_header_only_through_a_trusted_proxy(backend),
);
