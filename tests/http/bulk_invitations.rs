//! Inviting several people at once: the list pasted or uploaded as CSV, its preview (every
//! refusal, nothing changed), the confirmation (all or nothing, weighed again), the rate limit,
//! the 1,000-row cap, who may, and the CSRF token of a multipart form.

use steward::config::Rate;
use steward::domain::{OrgId, Role};

use crate::helpers::{Backend, Client, FilePart, Page, TestApp, multipart_body};

fn bulk(org: OrgId) -> String {
    format!("/orgs/{org}/invitations/bulk")
}

/// The list pasted into the form (a multipart body, as the browser sends the form).
async fn preview(client: &Client, org: OrgId, rows: &str) -> Page {
    client.post_multipart(&bulk(org), &[("rows", rows)], &[]).await
}

/// The list uploaded as a CSV file, the text area left empty.
async fn upload(client: &Client, org: OrgId, csv: &[u8]) -> Page {
    client.post_multipart(&bulk(org), &[("rows", "")], &[FilePart { field: "file", file_name: "people.csv", content: csv }]).await
}

/// The preview's rows: (line, email, reason), the reason empty for a valid row.
fn rows(page: &Page) -> Vec<(String, String, String)> {
    let selector = scraper::Selector::parse("#preview-rows tbody tr").expect("selector");
    page.html()
        .select(&selector)
        .map(|tr| {
            let attr = |name: &str| tr.value().attr(name).unwrap_or_default().to_string();
            (attr("data-line"), attr("data-email"), attr("data-reason"))
        })
        .collect()
}

/// The reason of the row for `email`.
fn reason_of(page: &Page, email: &str) -> String {
    rows(page).into_iter().find(|(_, e, _)| e == email).unwrap_or_else(|| panic!("no row for {email}:\n{}", page.body)).2
}

/// The rows the confirmation carries: (email, role), in order.
fn carried(page: &Page) -> Vec<(String, String)> {
    let html = page.html();
    let values = |name: &str| -> Vec<String> {
        let selector = scraper::Selector::parse(&format!("form#confirm input[name='{name}']")).expect("selector");
        html.select(&selector).map(|e| e.value().attr("value").unwrap_or_default().to_string()).collect()
    };
    let (emails, roles) = (values("email"), values("role"));
    assert_eq!(emails.len(), roles.len(), "one role for each email");
    emails.into_iter().zip(roles).collect()
}

/// Posts the confirmation of these rows.
async fn send(client: &Client, org: OrgId, rows: &[(String, String)]) -> Page {
    let fields: Vec<(&str, &str)> = rows.iter().flat_map(|(e, r)| [("email", e.as_str()), ("role", r.as_str())]).collect();
    client.post(&format!("{}/send", bulk(org)), &fields).await
}

fn people(n: usize, domain: &str) -> String {
    (0..n).map(|i| format!("person-{i:04}@{domain},viewer\n")).collect()
}

async fn each_refusal_reason_shows_in_the_preview_and_the_preview_changes_nothing(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_member(org, "al@example.com", Role::Admin).await;
    let gone = app.add_member_who_never_signs_in(org, "gone@example.com", Role::Viewer).await;
    owner.deactivate(org, gone).await;
    owner.invite(org, "bob@example.com", "viewer").await;
    owner.create_role(org, "Support", &["members.read"]).await;
    let before = (app.count("invitations").await, app.actions(org).await, app.count("outbox").await);

    let page = preview(
        &owner,
        org,
        "email,role\n\
         new@example.com,viewer\n\
         not-an-email,viewer\n\
         al@example.com,viewer\n\
         gone@example.com,viewer\n\
         bob@example.com,editor\n\
         carl@example.com,wizard\n\
         NEW@example.com,admin\n\
         dora@example.com,owner\n\
         erin@example.com,support\n\
         fay@example.com\n\
         gus@example.com,viewer,admin\n",
    )
    .await;
    page.assert_status(200);
    let expected = [
        ("2", "new@example.com", ""),
        ("3", "not-an-email", "bad_email"),
        ("4", "al@example.com", "member"),
        ("5", "gone@example.com", "member"),
        ("6", "bob@example.com", "invited"),
        ("7", "carl@example.com", "unknown_role"),
        ("8", "NEW@example.com", "duplicate"),
        ("9", "dora@example.com", "not_grantable"),
        ("10", "erin@example.com", ""),
        ("11", "fay@example.com", "unknown_role"),
        ("12", "gus@example.com", "malformed"),
    ];
    let found = rows(&page);
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for ((line, email, reason), (want_line, want_email, want_reason)) in found.iter().zip(expected) {
        assert_eq!((line.as_str(), email.as_str(), reason.as_str()), (want_line, want_email, want_reason));
    }
    let results = page.texts("#preview-rows tbody tr td:nth-child(4)");
    for message in [
        "Enter a valid email address",
        "Already a member of this organization.",
        "(deactivated). Activate them instead.",
        "An invitation is already pending. Use Resend",
        "Unknown role \"wizard\"",
        "Duplicate: this address is already on line 2.",
        "The owner role is only given by transferring ownership.",
        "No role:",
        "Write one email address and one role per line",
    ] {
        assert!(results.iter().any(|r| r.contains(message)), "no row says {message:?}: {results:?}");
    }
    assert_eq!(page.texts("#preview-counts"), vec!["2 to invite, 9 not invited."]);
    assert_eq!(page.texts("form#confirm button"), vec!["Send 2 invitations"]);
    assert_eq!(carried(&page), vec![("new@example.com".into(), "viewer".into()), ("erin@example.com".into(), "Support".into())]);
    // the pasted list stays in the form, to be corrected
    assert!(page.texts("textarea#bulk-rows")[0].contains("carl@example.com,wizard"));

    // the preview changed nothing: no invitation, no event, no email
    assert_eq!((app.count("invitations").await, app.actions(org).await, app.count("outbox").await), before);
}

async fn nobody_offers_a_role_holding_more_than_they_do(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (rita, recruiter) = app.add_member(org, "rita@example.com", Role::Viewer).await;
    let role = owner.create_role(org, "Recruiter", &["members.read", "members.invite"]).await;
    owner.give_role(org, role, rita).await;
    owner.create_role(org, "Ops", &["org.manage"]).await;

    recruiter.get(&bulk(org)).await.assert_status(200);
    let page = preview(&recruiter, org, "a@example.com,viewer\nb@example.com,admin\nc@example.com,ops\nd@example.com,editor\n").await;
    page.assert_status(200);
    assert_eq!(rows(&page).into_iter().map(|r| r.2).collect::<Vec<_>>(), vec!["", "not_grantable", "not_grantable", "not_grantable"]);
    assert!(page.contains("permissions you do not hold"));
    let sent = send(&recruiter, org, &carried(&page)).await;
    sent.assert_status(303);
    // rows forged into the confirmation are weighed again: nothing the recruiter may not give
    let forged = send(&recruiter, org, &[("x@example.com".into(), "admin".into())]).await;
    forged.assert_status(422);
    assert_eq!(reason_of(&forged, "x@example.com"), "not_grantable");
    assert_eq!(app.count("invitations").await, 1);
}

async fn confirmation_sends_exactly_the_valid_rows(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_member(org, "al@example.com", Role::Admin).await;
    let support = owner.create_role(org, "Support", &["members.read"]).await;
    let page = preview(&owner, org, "bob@example.com,editor\nal@example.com,viewer\nnope,viewer\ncarl@example.com,Support\n").await;
    page.assert_status(200);

    let sent = send(&owner, org, &carried(&page)).await;
    sent.assert_status(303);
    assert_eq!(sent.location, Some(format!("/orgs/{org}/members")));
    let members = owner.get(&format!("/orgs/{org}/members")).await;
    assert_eq!(members.texts(".flash"), vec!["2 invitations sent. ×"]);
    assert!(members.texts("tr[data-email='bob@example.com'] td")[1].starts_with("Pending Invitation"));
    assert_eq!(members.texts("tr[data-email='bob@example.com'] td")[2], "Editor");

    assert_eq!(app.count("invitations").await, 2);
    let events = app.events(org).await;
    let invited: Vec<_> = events.iter().filter(|e| e.body.action == "member.invited").collect();
    assert_eq!(invited.len(), 2, "one event per invitation");
    let targets: Vec<_> = invited.iter().map(|e| e.body.target.clone().unwrap_or_default()).collect();
    assert_eq!(targets, vec!["bob@example.com", "carl@example.com"]);
    assert_eq!(app.actions(org).await.len(), events.len(), "the chain holds");

    // a custom role is given on top of viewer, as the role's page invites into it
    let carl = app.invitation_id(org, "carl@example.com").await;
    let (base, custom) = app
        .with_db(move |db| {
            let conn = &mut db.conn().unwrap();
            let inv = steward::storage::invitations::find(conn, org, carl).unwrap().unwrap();
            (inv.role, steward::storage::roles::of_invitation(conn, carl).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>())
        })
        .await;
    assert_eq!((base, custom), (Role::Viewer, vec![support]));

    // each email went out through the outbox, with its own link
    let mails = app.invitation_mails().await;
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().any(|m| m.contains("To: bob@example.com")) && mails.iter().any(|m| m.contains("To: carl@example.com")));
    let (bob, carl) = (app.outbox_token_for("bob@example.com").await, app.outbox_token_for("carl@example.com").await);
    assert_ne!(bob, carl);
    app.client().get(&format!("/invitations/{carl}")).await.assert_status(200);
}

async fn a_csv_file_with_a_header_and_crlf_line_ends_is_read(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = upload(&owner, org, "\u{feff}Email,Role\r\nbob@example.com,admin\r\n\r\n\"carl@example.com\",\"viewer\"\r\n".as_bytes()).await;
    page.assert_status(200);
    assert_eq!(rows(&page), vec![("2".into(), "bob@example.com".into(), String::new()), ("4".into(), "carl@example.com".into(), String::new())]);
    // without a header, with LF, the first line is a row
    let plain = upload(&owner, org, b"dora@example.com,editor\nerin@example.com,viewer").await;
    assert_eq!(carried(&plain), vec![("dora@example.com".into(), "editor".into()), ("erin@example.com".into(), "viewer".into())]);
    send(&owner, org, &carried(&page)).await.assert_status(303);
    assert_eq!(app.count("invitations").await, 2);

    // a file and a pasted list at once, a file that is not text, or nothing: the form again
    let both = owner
        .post_multipart(&bulk(org), &[("rows", "x@example.com,viewer")], &[FilePart { field: "file", file_name: "a.csv", content: b"y@example.com,viewer" }])
        .await;
    both.assert_status(422);
    assert!(both.contains("Paste a list or choose a file, not both."));
    let binary = upload(&owner, org, &[0xff, 0xfe, 0x00, 0x41]).await;
    binary.assert_status(422);
    assert!(binary.contains("save it as CSV in UTF-8"));
    let empty = owner.post_multipart(&bulk(org), &[("rows", "  \n ")], &[FilePart { field: "file", file_name: "", content: b"" }]).await;
    empty.assert_status(422);
    assert!(empty.contains("Paste at least one line"));
    assert_eq!(app.count("invitations").await, 2);
}

async fn a_pasted_list_is_read_from_a_plain_form_too(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = owner.post(&bulk(org), &[("rows", "bob@example.com,viewer\r\ncarl@example.com,editor")]).await;
    page.assert_status(200);
    assert_eq!(carried(&page).len(), 2);
    // the page and its form work without JavaScript: a plain multipart form posting to itself
    let form = owner.get(&bulk(org)).await;
    form.assert_status(200);
    let html = form.html();
    let selector = scraper::Selector::parse("form#bulk-form").unwrap();
    let element = html.select(&selector).next().expect("the form");
    assert_eq!(element.value().attr("enctype"), Some("multipart/form-data"));
    assert_eq!(element.value().attr("action"), Some(bulk(org).as_str()));
    assert!(form.contains(r#"name="rows""#) && form.contains(r#"name="file" type="file""#));
}

async fn the_member_list_links_to_the_bulk_form(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let members = owner.get(&format!("/orgs/{org}/members")).await;
    let selector = scraper::Selector::parse("a#bulk-invite").unwrap();
    let html = members.html();
    let link = html.select(&selector).next().expect("a link to invite several people");
    assert_eq!(link.value().attr("href"), Some(bulk(org).as_str()));
}

async fn members_without_the_invite_permission_get_403(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    for (email, role) in [("ed@example.com", Role::Editor), ("vi@example.com", Role::Viewer)] {
        let (_, member) = app.add_member(org, email, role).await;
        member.get(&bulk(org)).await.assert_status(403);
        preview(&member, org, "x@example.com,viewer").await.assert_status(403);
        send(&member, org, &[("x@example.com".into(), "viewer".into())]).await.assert_status(403);
    }
    // and outsiders learn nothing
    let (stranger, _) = app.sign_up("eve@example.com", "Eve's").await;
    stranger.get(&bulk(org)).await.assert_status(404);
    assert_eq!(app.count("invitations").await, 0);
}

async fn a_multipart_post_needs_the_csrf_token(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let rows = [("rows", "bob@example.com,viewer")];
    let none = owner.post_multipart_raw(&bulk(org), &rows, &[]).await;
    none.assert_status(403);
    let wrong = owner.post_multipart_raw(&bulk(org), &[("csrf_token", "not-the-token"), rows[0]], &[]).await;
    wrong.assert_status(403);
    // a file part named like the token is not the token
    let token = owner.csrf().await;
    let in_a_file = owner
        .post_multipart_raw(&bulk(org), &rows, &[FilePart { field: "csrf_token", file_name: "t.txt", content: token.as_bytes() }])
        .await;
    in_a_file.assert_status(403);
    let right = owner.post_multipart_raw(&bulk(org), &[("csrf_token", token.as_str()), rows[0]], &[]).await;
    right.assert_status(200);
    assert_eq!(carried(&right).len(), 1);
    // or in the header, as htmx sends it; the body is then read by the page alone
    let (content_type, body) = multipart_body(&rows, &[]);
    let with_header = owner
        .http
        .post(format!("{}{}", owner.base, bulk(org)))
        .header("Content-Type", content_type)
        .header("X-CSRF-Token", token.as_str())
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(with_header.status().as_u16(), 200);
    assert!(with_header.text().await.unwrap_or_default().contains("1 to invite, 0 not invited."));
    // the confirmation (urlencoded) needs it as well
    let forged = owner
        .post_raw(&format!("{}/send", bulk(org)), &[("email", "bob@example.com"), ("role", "viewer")])
        .await;
    forged.assert_status(403);
    assert_eq!(app.count("invitations").await, 0);
}

async fn an_oversized_upload_gets_413(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let token = owner.csrf().await;
    let huge = people(6_000, "a-rather-long-domain-name-for-the-test.example.com");
    assert!(huge.len() > 256 * 1024);
    let (content_type, body) =
        multipart_body(&[("csrf_token", token.as_str())], &[FilePart { field: "file", file_name: "big.csv", content: huge.as_bytes() }]);
    // the server answers as soon as the body passes its limit and closes the connection: a
    // reset while still sending is retried on a fresh connection
    let mut answer = None;
    for _ in 0..5 {
        let sent = owner.http.post(format!("{}{}", owner.base, bulk(org))).header("Content-Type", &content_type).body(body.clone()).send().await;
        if let Ok(response) = sent {
            answer = Some((response.status().as_u16(), response.text().await.unwrap_or_default()));
            break;
        }
    }
    let (status, text) = answer.expect("an answer");
    assert_eq!(status, 413);
    assert!(text.contains("at most 256 KiB"), "{text}");
    assert_eq!(app.count("invitations").await, 0);
}

async fn rows_that_changed_since_the_preview_send_nothing_and_show_why(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = preview(&owner, org, "bob@example.com,viewer\ncarl@example.com,editor\n").await;
    let rows_to_send = carried(&page);
    assert_eq!(rows_to_send.len(), 2);
    // someone invites carl in the meantime
    owner.invite(org, "carl@example.com", "viewer").await;

    let refused = send(&owner, org, &rows_to_send).await;
    refused.assert_status(422);
    assert!(refused.texts("#send-error")[0].contains("Nothing was sent: 1 row changed since the preview"));
    assert_eq!(reason_of(&refused, "carl@example.com"), "invited");
    assert_eq!(reason_of(&refused, "bob@example.com"), "");
    assert_eq!(app.count("invitations").await, 1, "bob was not invited");
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);

    // the page offers the rows still valid
    assert_eq!(carried(&refused), vec![("bob@example.com".into(), "viewer".into())]);
    send(&owner, org, &carried(&refused)).await.assert_status(303);
    assert_eq!(owner.get(&format!("/orgs/{org}/members")).await.texts(".flash"), vec!["1 invitation sent. ×"]);
    assert_eq!(app.count("invitations").await, 2);
}

/// The product's default limits: 50 at once, for the organization and for the person.
async fn more_valid_rows_than_the_rate_limit_lets_through_send_nothing(backend: Backend) {
    let app = TestApp::builder()
        .limit_invitations_per_organization(Rate::per_hour(100).burst(50))
        .limit_invitations_per_account(Rate::per_hour(200).burst(50))
        .spawn(backend)
        .await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = preview(&owner, org, &people(51, "example.com")).await;
    page.assert_status(200);
    let limit = page.texts("#rate-limit")[0].clone();
    assert!(limit.contains("lets 50 invitations through now") && limit.contains("fewer than the 51 valid rows"), "{limit}");
    assert!(limit.contains("STEWARD_RATE_LIMIT_INVITE_ORG") && limit.contains("STEWARD_RATE_LIMIT_INVITE_ACCOUNT"), "{limit}");

    let refused = send(&owner, org, &carried(&page)).await;
    refused.assert_status(422);
    let message = refused.texts("#send-error")[0].clone();
    assert!(message.contains("Nothing was sent: the list has 51 valid rows but the invitation rate limit lets 50 invitations through now"), "{message}");
    assert!(message.contains("Send at most 50 at once") && message.contains("STEWARD_RATE_LIMIT_INVITE_"), "{message}");
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(app.actions(org).await, vec!["org.created"]);
    assert!(app.invitation_mails().await.is_empty());

    // the refusal took nothing from the quota: 50 still go, at once
    let fifty = preview(&owner, org, &people(50, "example.com")).await;
    assert!(fifty.texts("#rate-limit")[0].contains("lets 50 invitations through now. All 50 valid rows can be sent."));
    send(&owner, org, &carried(&fifty)).await.assert_status(303);
    assert_eq!(app.count("invitations").await, 50);

    // and they used it up: the next preview says so, and a single invitation waits
    let after = preview(&owner, org, "late@example.com,viewer").await;
    assert!(after.texts("#rate-limit")[0].contains("lets 0 invitations through now"), "{}", after.texts("#rate-limit")[0]);
    let single = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "late@example.com"), ("role", "viewer")]).await;
    single.assert_status(429);
    app.stop().await;
}

async fn a_thousand_rows_are_sent_at_once_and_a_thousand_and_one_refused(backend: Backend) {
    let raised = Rate::per_hour(1_000).burst(1_000);
    let app = TestApp::builder().limit_invitations_per_organization(raised).limit_invitations_per_account(raised).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;

    let too_many = preview(&owner, org, &format!("email,role\n{}", people(1_001, "example.com"))).await;
    too_many.assert_status(422);
    assert!(too_many.contains("The list has 1,001 rows; at most 1,000 people can be invited at once."));
    let forged: Vec<(String, String)> = (0..1_001).map(|i| (format!("p{i}@example.com"), "viewer".to_string())).collect();
    let refused = send(&owner, org, &forged).await;
    refused.assert_status(422);
    assert!(refused.contains("At most 1,000 people can be invited at once."));
    assert_eq!(app.count("invitations").await, 0);

    let page = preview(&owner, org, &format!("email,role\n{}", people(1_000, "example.com"))).await;
    page.assert_status(200);
    assert_eq!(page.texts("#preview-counts"), vec!["1,000 to invite, 0 not invited."]);
    assert!(page.texts("#rate-limit")[0].contains("lets 1,000 invitations through now. All 1,000 valid rows can be sent."));
    let sent = send(&owner, org, &carried(&page)).await;
    sent.assert_status(303);
    assert_eq!(owner.get(&format!("/orgs/{org}/members")).await.texts(".flash"), vec!["1,000 invitations sent. ×"]);
    assert_eq!(app.count("invitations").await, 1_000);
    let actions = app.actions(org).await;
    assert_eq!(actions.iter().filter(|a| *a == "member.invited").count(), 1_000);
    // one email queued per invitation, beside the sign-up's verification
    assert_eq!(app.count("outbox").await, 1_001);
    app.stop().await;
}

crate::on_both_backends!(
    each_refusal_reason_shows_in_the_preview_and_the_preview_changes_nothing,
    nobody_offers_a_role_holding_more_than_they_do,
    confirmation_sends_exactly_the_valid_rows,
    a_csv_file_with_a_header_and_crlf_line_ends_is_read,
    a_pasted_list_is_read_from_a_plain_form_too,
    the_member_list_links_to_the_bulk_form,
    members_without_the_invite_permission_get_403,
    a_multipart_post_needs_the_csrf_token,
    an_oversized_upload_gets_413,
    rows_that_changed_since_the_preview_send_nothing_and_show_why,
    more_valid_rows_than_the_rate_limit_lets_through_send_nothing(backend),
    a_thousand_rows_are_sent_at_once_and_a_thousand_and_one_refused(backend),
);
