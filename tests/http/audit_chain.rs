//! The audit hash chain as an auditor uses it: the head on the page and the API, the export
//! with the chain's columns checked offline, and checkpoints that catch a cut-off chain.

use steward::csv_verify::verify_csv;
use steward::domain::audit_chain::{GENESIS_HASH, link_hash};
use steward::domain::{AccountId, Actor, Email, OrgId, RequestMeta};
use steward::storage::audit::NewEvent;

use crate::helpers::{Client, NewKey, TestApp};
use crate::support::api::Api;

/// Appends `n` events whose fields a spreadsheet would read as formulas.
async fn add_events(app: &TestApp, org: OrgId, n: usize) {
    app.with_db(move |db| {
        steward::storage::write_tx(&mut db.conn().unwrap(), |conn| -> Result<(), diesel::result::Error> {
            steward::storage::orgs::lock(conn, org)?;
            for i in 0..n {
                let who = Actor::Account { id: AccountId::new(), email: Email::from_db(format!("=cmd{i}@example.com")) };
                let meta = RequestMeta { ip: Some("198.51.100.7".into()), user_agent: Some("-tests".into()) };
                let event = NewEvent::new("deployment.updated").target("@web").target_email("+bob@example.com");
                steward::storage::audit::append(conn, org, &who, &meta, event, steward::storage::now())?;
            }
            Ok(())
        })
        .unwrap();
    })
    .await
}

async fn body_of(client: &Client, path: &str) -> (u16, String) {
    let resp = client.http.get(format!("{}{path}", client.base)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn header_and_rows(body: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    (header, reader.records().map(Result::unwrap).collect())
}

const DEFAULT_HEADER: [&str; 8] = ["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"];

async fn the_audit_page_and_the_api_show_the_chain_head(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for name in ["Acme 1", "Acme 2"] {
        owner.post(&format!("/orgs/{org}/settings"), &[("name", name)]).await.assert_status(303);
    }
    let newest = app.events(org).await.pop().unwrap();
    assert_eq!(newest.seq, 3);
    let page = owner.get(&format!("/orgs/{org}/audit")).await;
    page.assert_status(200);
    let line = page.texts("#chain-head").join(" ");
    assert!(line.starts_with("Chain head: #3 · "), "{line}");
    assert!(line.contains(&newest.hash[..12]) && !line.contains(&newest.hash), "a short hash shown: {line}");
    let full = page.html().select(&scraper::Selector::parse("#chain-head code").unwrap()).next().unwrap().value().attr("title").map(str::to_owned);
    assert_eq!(full.as_deref(), Some(newest.hash.as_str()), "the full hash is at hand");
    // a filter narrows the list, not the chain
    let filtered = owner.get(&format!("/orgs/{org}/audit?action=org.created")).await;
    assert!(filtered.texts("#chain-head").join(" ").starts_with("Chain head: #3 "));

    let secret = owner.create_api_key(org, NewKey::named("auditor").read_only()).await;
    let api = Api::with_key(app, &secret).await;
    let newest = app.events(org).await.pop().unwrap();
    let head = api.get("/audit-events/head").await;
    head.expect(200);
    assert_eq!(head.json["seq"], 4, "{}", head.text);
    assert_eq!(head.str("hash"), newest.hash);
    assert_eq!(head.json["count"], 4);

    // the head of an organization whose events are all gone
    let o = org.to_string();
    app.with_db(move |db| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("DELETE FROM audit_events WHERE org_id = '{o}'")).execute(&mut *db.conn().unwrap()).unwrap();
    })
    .await;
    let empty = api.get("/audit-events/head").await;
    empty.expect(200);
    assert_eq!((empty.json["seq"].as_i64(), empty.str("hash"), empty.json["count"].as_i64()), (Some(0), GENESIS_HASH.to_string(), Some(0)));
    assert!(owner.get(&format!("/orgs/{org}/audit")).await.texts("#chain-head").is_empty());
}

async fn the_export_with_the_chain_adds_its_columns_and_the_default_export_keeps_its_header(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    add_events(app, org, 3).await;
    let events = app.events(org).await;

    let (status, plain) = body_of(&owner, &format!("/orgs/{org}/audit.csv")).await;
    assert_eq!(status, 200);
    let (header, rows) = header_and_rows(&plain);
    assert_eq!(header, DEFAULT_HEADER, "the default header is unchanged");
    assert!(rows.iter().all(|r| r.len() == 8));

    let (status, chained) = body_of(&owner, &format!("/orgs/{org}/audit.csv?chain=1")).await;
    assert_eq!(status, 200);
    let (header, rows) = header_and_rows(&chained);
    let mut expected: Vec<&str> = DEFAULT_HEADER.to_vec();
    expected.extend(["seq", "prev_hash", "hash", "canonical"]);
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 4);
    for (row, event) in rows.iter().zip(events.iter().rev()) {
        assert_eq!(&row[8], event.seq.to_string(), "newest first");
        assert_eq!((&row[9], &row[10]), (event.prev_hash.as_str(), event.hash.as_str()));
        assert_eq!(&row[11], event.canonical(), "the canonical is exactly what was hashed, not neutralised");
        assert!(row[11].starts_with('['), "a JSON array, safe in a spreadsheet as it is");
        assert_eq!(link_hash(&row[9], &row[11]), row[10]);
    }
    assert_eq!(&rows[0][2], "'=cmd2@example.com", "the visible cells are still neutralised");
    assert_eq!(&rows[0][4], "'+bob@example.com");
    assert_eq!(&rows[3][9], GENESIS_HASH);
    let report = verify_csv(chained.as_bytes(), None);
    assert!(report.is_proven(), "{report}");

    // the same file from the API
    let secret = owner.create_api_key(org, NewKey::named("auditor").read_only()).await;
    let api = Api::with_key(app, &secret).await;
    let from_api = api.get("/audit-events.csv?chain=1").await;
    from_api.expect(200);
    let (header, rows) = header_and_rows(&from_api.text);
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 5, "with the key's creation");
    assert!(verify_csv(from_api.text.as_bytes(), None).is_proven());
    let (header, _) = header_and_rows(&api.get("/audit-events.csv").await.expect(200).text);
    assert_eq!(header, DEFAULT_HEADER);

    // a filtered export is self-consistent but proves nothing on its own
    let (_, filtered) = body_of(&owner, &format!("/orgs/{org}/audit.csv?action=deployment.updated&chain=1")).await;
    let (_, rows) = header_and_rows(&filtered);
    assert_eq!(rows.len(), 3);
    let report = verify_csv(filtered.as_bytes(), None);
    assert!(report.problem.is_none() && !report.is_proven(), "{report}");

    let (status, _) = body_of(&owner, &format!("/orgs/{org}/audit.csv?chain=perhaps")).await;
    assert_eq!(status, 422);
    api.get("/audit-events.csv?chain=perhaps").await.expect_error(422, "invalid");
}

async fn a_large_export_with_the_chain_links_across_its_slices(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    // more than two of the export's slices, read by its two readers in turns
    add_events(app, org, 2_600).await;
    let (status, body) = body_of(&owner, &format!("/orgs/{org}/audit.csv?chain=1")).await;
    assert_eq!(status, 200);
    let report = verify_csv(body.as_bytes(), None);
    assert!(report.is_proven(), "{report}");
    assert_eq!(report.rows, 2_601);
}

async fn a_checkpoint_catches_the_newest_events_cut_off(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, other) = app.sign_up("bob@example.com", "Beta").await;
    add_events(app, org, 4).await;
    let saved = app.with_db(|db| steward::operations::audit::checkpoint(db).unwrap()).await;
    let ours = saved.iter().find(|h| h.org_id == org.to_string()).unwrap();
    assert_eq!(ours.seq, 5);
    assert!(saved.iter().any(|h| h.org_id == other.to_string() && h.seq == 1));

    // later events, and a new organization, are fine
    owner.post(&format!("/orgs/{org}/settings"), &[("name", "Acme 2")]).await.assert_status(303);
    app.sign_up("carl@example.com", "Gamma").await;
    let later = saved.clone();
    let report = app.with_db(move |db| steward::operations::audit::verify_with_checkpoint(db, &later).unwrap()).await;
    assert!(report.is_intact(), "{report}");

    // the three newest events deleted: the rest still links, only the checkpoint sees it
    let o = org.to_string();
    let (plain, checked) = app
        .with_db(move |db| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("DELETE FROM audit_events WHERE org_id = '{o}' AND seq >= 4"))
                .execute(&mut *db.conn().unwrap())
                .unwrap();
            (steward::operations::audit::verify(db).unwrap(), steward::operations::audit::verify_with_checkpoint(db, &saved).unwrap())
        })
        .await;
    assert!(plain.is_intact(), "{plain}");
    assert!(!checked.is_intact());
    assert_eq!(checked.head_mismatches.len(), 1);
    assert_eq!(checked.head_mismatches[0].org_id, org.to_string());
    let text = checked.to_string();
    assert!(text.contains(&org.to_string()) && text.contains("ends at event #3, before the saved head #5"), "{text}");
}

crate::on_both_backends!(
    the_audit_page_and_the_api_show_the_chain_head,
    the_export_with_the_chain_adds_its_columns_and_the_default_export_keeps_its_header,
    a_large_export_with_the_chain_links_across_its_slices,
    a_checkpoint_catches_the_newest_events_cut_off,
);
