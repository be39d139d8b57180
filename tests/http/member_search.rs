//! Member search through the trigram indexes, and pages deep in the member list.
//!
//! The search rules (a substring of the email or the name, case folded in all of Unicode,
//! accents kept, the list's order, paging with a query, needles of one or two characters,
//! invitations by email) and that the index follows renames, removals and cancellations; page
//! N is the Nth slice of the list as it is now, in every sort.

use diesel::RunQueryDsl;
use steward::domain::{OrgId, Role};
use steward::storage;

use crate::helpers::{Client, TestApp};

/// The emails of a list page's rows, in order.
fn emails(page: &crate::helpers::Page) -> Vec<String> {
    page.texts("td.cell-primary").iter().map(|t| t.split_whitespace().next().unwrap_or("").to_string()).collect()
}

/// The page's "first–last of total".
fn range(page: &crate::helpers::Page) -> String {
    page.texts(".pagination .muted").join(" ")
}

async fn search(owner: &Client, org: OrgId, q: &str) -> Vec<String> {
    emails(&owner.get(&format!("/orgs/{org}/members?q={}", urlencode(q))).await)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Members with these emails and names join `org` (they never sign in).
async fn join(app: &TestApp, org: OrgId, people: &[(&str, &str)]) {
    let people: Vec<(String, String)> = people.iter().map(|(e, n)| (e.to_string(), n.to_string())).collect();
    app.with_db(move |db| {
        let mut conn = db.conn().expect("conn");
        for (email, name) in people {
            let id = steward::domain::AccountId::new();
            let now = storage::now();
            let row = storage::accounts::Account {
                id,
                email: steward::domain::Email::parse(&email).expect("email"),
                name: name.clone(),
                password_hash: "not-a-hash".into(),
                session_epoch: 0,
                email_verified_at: Some(now),
                created_at: now,
                last_login_at: None,
                totp_secret: None,
                totp_enabled_at: None,
                totp_last_step: None,
            };
            storage::accounts::insert(&mut conn, &row).expect("account");
            let who = storage::members::NewMember { account: id, email: &row.email, name: &name };
            storage::members::insert(&mut conn, org, who, Role::Viewer, now).expect("member");
        }
    })
    .await
}

async fn search_matches_a_substring_of_the_email_or_the_name_in_any_case_of_unicode(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    join(
        app,
        org,
        &[
            ("edurand@example.com", "Élodie Durand"),
            ("plain@example.com", "Elodie Plain"),
            ("zz.lovelace@example.com", "Ada King"),
            ("ada@example.com", "ADA LOVELACE"),
            ("bjorn@example.com", "BJÖRN Åström"),
        ],
    )
    .await;
    // non-ASCII case folds both ways, on both backends
    assert_eq!(search(&owner, org, "élodie").await, ["edurand@example.com"]);
    assert_eq!(search(&owner, org, "ÉLODIE").await, ["edurand@example.com"]);
    assert_eq!(search(&owner, org, "björn åström").await, ["bjorn@example.com"]);
    // accents are kept: "elodie" is not "élodie"
    assert_eq!(search(&owner, org, "elodie").await, ["plain@example.com"]);
    // the email or the name, in the list's order (email A to Z), any ASCII case
    assert_eq!(search(&owner, org, "LoVeLaCe").await, ["ada@example.com", "zz.lovelace@example.com"]);
    assert_eq!(search(&owner, org, "durand@").await, ["edurand@example.com"]);
    // a query spanning the name and the email matches neither
    assert!(search(&owner, org, "durand edurand").await.is_empty());
    // LIKE's and the index's own characters are taken literally
    assert!(search(&owner, org, "%").await.is_empty());
    assert!(search(&owner, org, "a\"b").await.is_empty());
    assert!(search(&owner, org, "lov*").await.is_empty());
    let page = owner.get(&format!("/orgs/{org}/members?q=lovelace&sort=-email")).await;
    assert_eq!(emails(&page), ["zz.lovelace@example.com", "ada@example.com"]);
    assert_eq!(range(&page), "1–2 of 2");
}

async fn queries_of_one_or_two_characters_match_as_longer_ones_do(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    join(app, org, &[("a1@example.com", "Émile Zola"), ("b2@example.com", "Ève Ab"), ("c3@example.com", "Oz")]).await;
    assert_eq!(search(&owner, org, "É").await, ["a1@example.com"], "É is not È");
    assert_eq!(search(&owner, org, "è").await, ["b2@example.com"]);
    assert_eq!(search(&owner, org, "OZ").await, ["c3@example.com"]);
    assert_eq!(search(&owner, org, "z").await, ["a1@example.com", "c3@example.com"]);
    assert_eq!(search(&owner, org, "b2").await, ["b2@example.com"]);
    assert_eq!(search(&owner, org, "%").await, Vec::<String>::new());
    let page = owner.get(&format!("/orgs/{org}/members?q=e")).await;
    assert_eq!(range(&page), "1–4 of 4", "every email holds an e");
}

async fn a_search_pages_through_its_matches_in_the_lists_order(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    app.add_bulk_members(org, 130, Role::Viewer).await;
    // "son 0" is in the names of members 000 to 099
    let expected: Vec<String> = (0..100).map(|i| format!("member-{i:03}@bulk.test")).collect();
    let mut seen = Vec::new();
    for page in 1..=3 {
        let page = owner.get(&format!("/orgs/{org}/members?q=son+0&page={page}")).await;
        seen.extend(emails(&page));
    }
    assert_eq!(seen, expected);
    let second = owner.get(&format!("/orgs/{org}/members?q=SON+0&page=2")).await;
    assert_eq!(range(&second), "51–100 of 100");
    let newest = owner.get(&format!("/orgs/{org}/members?q=son+0&sort=created&page=2")).await;
    let older: Vec<String> = (0..50).rev().map(|i| format!("member-{i:03}@bulk.test")).collect();
    assert_eq!(emails(&newest), older);
    let desc = owner.get(&format!("/orgs/{org}/members?q=person&sort=-email&page=3")).await;
    let tail: Vec<String> = (0..30).rev().map(|i| format!("member-{i:03}@bulk.test")).collect();
    assert_eq!(emails(&desc), tail);
    assert_eq!(range(&desc), "101–130 of 130");
}

async fn invitations_are_found_by_email_while_they_are_pending(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    owner.invite(org, "zoe.invited@example.com", "viewer").await;
    owner.invite(org, "other@example.com", "viewer").await;
    assert_eq!(search(&owner, org, "ZOE.INV").await, ["zoe.invited@example.com"]);
    assert_eq!(search(&owner, org, "zo").await, ["zoe.invited@example.com"]);
    let page = owner.get(&format!("/orgs/{org}/members?q=invited&status=pending")).await;
    assert_eq!(emails(&page), ["zoe.invited@example.com"]);
    let id = app.invitation_id(org, "zoe.invited@example.com").await;
    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(303);
    assert!(search(&owner, org, "zoe.inv").await.is_empty(), "a cancelled invitation leaves the index");
    assert_eq!(search(&owner, org, "other").await, ["other@example.com"]);
}

async fn a_renamed_account_is_found_by_its_new_name_and_a_removed_member_no_more(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (bob, bob_client) = app.add_member(org, "bob@example.com", Role::Editor).await;
    assert_eq!(search(&owner, org, "bob").await, ["bob@example.com"]);
    bob_client.post("/profile", &[("name", "Bérénice Quarantotto")]).await.assert_status(303);
    assert_eq!(search(&owner, org, "BÉRÉNICE").await, ["bob@example.com"]);
    assert_eq!(search(&owner, org, "quarantotto").await, ["bob@example.com"]);
    owner.post(&format!("/orgs/{org}/members/{bob}/remove"), &[("confirm_email", "bob@example.com")]).await.assert_status(303);
    assert!(search(&owner, org, "quarantotto").await.is_empty());
    assert!(search(&owner, org, "bob@").await.is_empty());
    let page = owner.get(&format!("/orgs/{org}/members?q=owner")).await;
    assert_eq!(range(&page), "1–1 of 1");
}

/// Every row of the list in `sort`'s order, page after page.
async fn all_pages(owner: &Client, org: OrgId, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1.. {
        let got = emails(&owner.get(&format!("/orgs/{org}/members?{query}&page={page}")).await);
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
    out
}

/// The list in `sort`'s order as the CSV export reads it (by slices, never by pages).
async fn exported(owner: &Client, org: OrgId, query: &str) -> Vec<String> {
    let body = owner.http.get(format!("{}/orgs/{org}/members.csv?{query}", owner.base)).send().await.expect("GET").text().await.expect("body");
    body.lines().skip(1).map(|l| l.split(',').next().unwrap_or("").trim_matches('"').to_string()).collect()
}

async fn deep_pages_are_the_nth_slice_in_every_sort(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    app.add_bulk_members(org, 140, Role::Viewer).await;
    owner.invite(org, "member-0555@bulk.test", "editor").await;
    owner.invite(org, "aaa@invited.test", "viewer").await;
    // members who were never active, between the invitations in the last-active orders
    app.with_db(move |db| {
        diesel::sql_query("UPDATE memberships SET last_active_at = NULL WHERE email LIKE 'member-1%'")
            .execute(&mut *db.conn().expect("conn"))
            .expect("update")
    })
    .await;
    let mut by_email: Vec<String> = (0..140).map(|i| format!("member-{i:03}@bulk.test")).collect();
    by_email.extend(["owner@example.com", "member-0555@bulk.test", "aaa@invited.test"].map(String::from));
    by_email.sort();
    assert_eq!(all_pages(&owner, org, "sort=email").await, by_email);
    by_email.reverse();
    assert_eq!(all_pages(&owner, org, "sort=-email").await, by_email);
    for sort in ["created", "-created", "last_active", "-last_active"] {
        let pages = all_pages(&owner, org, &format!("sort={sort}")).await;
        assert_eq!(pages.len(), 143, "{sort}");
        assert_eq!(pages, exported(&owner, org, &format!("sort={sort}")).await, "{sort}");
    }
    for query in ["status=active&sort=-created", "role=viewer&sort=last_active", "q=member&sort=-last_active", "q=er-1&sort=email"] {
        assert_eq!(all_pages(&owner, org, query).await, exported(&owner, org, query).await, "{query}");
    }
    let beyond = owner.get(&format!("/orgs/{org}/members?page=9")).await;
    assert!(emails(&beyond).is_empty());
}

async fn page_n_is_the_nth_slice_of_the_list_as_it_is_now(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    app.add_bulk_members(org, 120, Role::Viewer).await;
    // owner@example.com sorts after every member-…: page 2 starts at member-050
    let before = emails(&owner.get(&format!("/orgs/{org}/members?page=2")).await);
    assert_eq!(before[0], "member-050@bulk.test");
    // three rows join ahead of it: the same link now shows the rows three places earlier
    join(app, org, &[("a1@example.com", "A"), ("a2@example.com", "B"), ("a3@example.com", "C")]).await;
    let after = emails(&owner.get(&format!("/orgs/{org}/members?page=2")).await);
    assert_eq!(after[0], "member-047@bulk.test");
    assert_eq!(after[3..], before[..47]);

    // while members keep joining (at the end of the email order), the pages read meanwhile
    // hold the rows ahead of them in order, without a gap or a repeat between pages 1 to 3
    let writer = async {
        for i in 0..30 {
            join(app, org, &[(&format!("zz-{i:02}@later.test"), &format!("Later {i:02}"))]).await;
        }
    };
    let reader = async {
        for _ in 0..5 {
            let mut pages = Vec::new();
            for page in 1..=3 {
                pages.extend(emails(&owner.get(&format!("/orgs/{org}/members?page={page}")).await));
            }
            let fixed: Vec<String> = pages.iter().filter(|e| !e.starts_with("zz-")).cloned().collect();
            assert!(fixed.windows(2).all(|w| w[0] < w[1]), "in order, no repeats: {fixed:?}");
            assert_eq!(fixed.len(), 124, "the rows ahead of the new ones stay where they are");
        }
    };
    tokio::join!(writer, reader);
    let total = range(&owner.get(&format!("/orgs/{org}/members?page=4")).await);
    assert_eq!(total, "151–154 of 154");
}

/// Pages 20 to the last, in the list's order.
async fn pages_from_20(owner: &Client, org: OrgId, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    for page in 20.. {
        let got = emails(&owner.get(&format!("/orgs/{org}/members?{query}&page={page}")).await);
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
    out
}

/// Pages 20 on hold the list's rows 951 on, in each order the server keeps rows of.
async fn check_deep_pages(owner: &Client, org: OrgId, label: &str) {
    for sort in ["email", "-email", "created", "-created"] {
        let query = format!("sort={sort}");
        let all = exported(owner, org, &query).await;
        // twice: the second read uses the rows kept by the first
        for _ in 0..2 {
            assert_eq!(pages_from_20(owner, org, &query).await, all[950..], "{label}: {sort}");
        }
    }
}

async fn pages_past_the_thousandth_row_follow_every_change_to_the_list(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    app.add_bulk_members(org, 1_100, Role::Viewer).await;
    owner.invite(org, "member-0500x@bulk.test", "viewer").await;
    check_deep_pages(&owner, org, "as made").await;
    join(app, org, &[("a0@example.com", "First")]).await;
    check_deep_pages(&owner, org, "a member joined ahead").await;
    let id = app.invitation_id(org, "member-0500x@bulk.test").await;
    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(303);
    check_deep_pages(&owner, org, "an invitation cancelled").await;
    let a0 = app.with_db(move |db| {
        let email = steward::domain::Email::parse("a0@example.com").expect("email");
        storage::members::find_by_email(&mut db.conn().expect("conn"), org, &email).expect("query").expect("member").account_id
    })
    .await;
    owner.post(&format!("/orgs/{org}/members/{a0}/remove"), &[("confirm_email", "a0@example.com")]).await.assert_status(303);
    check_deep_pages(&owner, org, "a member removed").await;
    let page = owner.get(&format!("/orgs/{org}/members?page=21")).await;
    assert_eq!(range(&page), "1001–1050 of 1101");
}

async fn names_written_before_their_search_keys_get_them_when_the_migrations_run(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    join(app, org, &[("ines@example.com", "Inès Ñúñez"), ("plain@example.com", "Plain Name")]).await;
    // as a database upgraded from before the keys holds them: the names outside ASCII without
    app.with_db(move |db| {
        let mut conn = db.conn().expect("conn");
        diesel::sql_query("UPDATE memberships SET name_key = NULL WHERE email = 'ines@example.com'").execute(&mut *conn).expect("update");
    })
    .await;
    assert!(search(&owner, org, "ñúñez").await.is_empty());
    let applied = app.with_db(move |db| storage::migrate(&mut db.conn().expect("conn")).expect("migrate")).await;
    assert_eq!(applied, 0, "nothing left to migrate; the keys are written all the same");
    assert_eq!(search(&owner, org, "ÑÚÑEZ").await, ["ines@example.com"]);
    assert_eq!(search(&owner, org, "plain name").await, ["plain@example.com"]);
}

crate::on_both_backends!(
    names_written_before_their_search_keys_get_them_when_the_migrations_run,
    pages_past_the_thousandth_row_follow_every_change_to_the_list,
    search_matches_a_substring_of_the_email_or_the_name_in_any_case_of_unicode,
    queries_of_one_or_two_characters_match_as_longer_ones_do,
    a_search_pages_through_its_matches_in_the_lists_order,
    invitations_are_found_by_email_while_they_are_pending,
    a_renamed_account_is_found_by_its_new_name_and_a_removed_member_no_more,
    deep_pages_are_the_nth_slice_in_every_sort,
    page_n_is_the_nth_slice_of_the_list_as_it_is_now,
);
