//! The Invitations view of the member list, and the confirmation asked before a resend.
//!
//! Every state with its label, who sent it and when it changed; the status filter, the search
//! and the paging; who may see it; the resend confirmation, which changes nothing until its
//! form is posted, and the resend itself, as before.

use steward::domain::ids::InvitationId;
use steward::domain::{Email, OrgId, Role};
use steward::storage;

use crate::helpers::{Client, PASSWORD, Page, TestApp};

/// The five invitations of `one_of_each`, in the order they were sent.
const SENT: [&str; 5] =
    ["pending@example.com", "expired@example.com", "accepted@example.com", "declined@example.com", "cancelled@example.com"];

/// Ada's organization with one invitation in each state, sent in the order of `SENT`.
async fn one_of_each(app: &TestApp) -> (Client, OrgId) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for email in SENT {
        owner.invite(org, email, "viewer").await;
    }
    app.expire_invitation(org, "expired@example.com").await;
    let token = app.outbox_token_for("accepted@example.com").await;
    let accepted = app.client().post(&format!("/invitations/{token}/accept"), &[("name", "Acce Pted"), ("password", PASSWORD)]).await;
    accepted.assert_status(303);
    let token = app.outbox_token_for("declined@example.com").await;
    app.client().post(&format!("/invitations/{token}/decline"), &[]).await.assert_status(303);
    let id = app.invitation_id(org, "cancelled@example.com").await;
    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(303);
    (owner, org)
}

/// The invitations of `org` as stored, newest first: email, when made, when answered.
async fn stored(app: &TestApp, org: OrgId) -> Vec<storage::invitations::Listed> {
    app.with_db(move |db| {
        storage::invitations::page(&mut db.conn().unwrap(), org, None, None, storage::now(), None, 1_000).unwrap()
    })
    .await
}

fn minutes(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn emails(page: &Page) -> Vec<String> {
    page.texts("#invitations td.cell-primary")
}

fn statuses(page: &Page) -> Vec<String> {
    page.texts("#invitations tbody td:nth-child(3) .badge")
}

async fn every_state_is_listed_with_its_sender_and_when_it_changed(app: &TestApp) {
    let (owner, org) = one_of_each(app).await;
    let page = owner.get(&format!("/orgs/{org}/invitations")).await;
    page.assert_status(200);
    assert_eq!(page.texts("#invitations thead th"), vec!["Email", "Role", "Status", "Sent by", "Sent at", "Changed", "Actions"]);
    let newest_first: Vec<String> = SENT.iter().rev().map(|s| s.to_string()).collect();
    assert_eq!(emails(&page), newest_first);
    assert_eq!(statuses(&page), vec!["Cancelled", "Declined", "Accepted", "Expired", "Pending"]);
    assert_eq!(page.texts("#invitations tbody td:nth-child(4)"), vec!["ada@example.com"; 5], "who sent each");

    // sent: when made; changed: when answered or cancelled, or else when last sent
    let rows = stored(app, org).await;
    let sent: Vec<String> = rows.iter().map(|l| minutes(l.invitation.created_at)).collect();
    assert_eq!(page.texts("#invitations tbody td:nth-child(5)"), sent);
    let changed: Vec<String> = rows
        .iter()
        .map(|l| {
            let i = &l.invitation;
            let at = i.responded_at.unwrap_or(i.created_at);
            let what = match i.status.as_str() {
                "pending" => "Sent",
                "accepted" => "Accepted",
                "declined" => "Declined",
                _ => "Cancelled",
            };
            format!("{} {what}", minutes(at))
        })
        .collect();
    assert!(rows[..3].iter().all(|l| l.invitation.responded_at.is_some()), "answered and cancelled ones have their time");
    assert_eq!(page.texts("#invitations tbody td:nth-child(6)"), changed);
    assert!(page.texts("#invitations tbody td:nth-child(3)")[3].starts_with("Expired since "));
    assert!(page.texts("#invitations tbody td:nth-child(3)")[4].starts_with("Pending expires "));

    // actions: only on what can still be resent; Cancel only while pending
    assert_eq!(page.texts("#invitations tbody td.actions"), vec!["", "", "", "Resend", "Resend Cancel"]);

    // an inviter whose account is gone is shown as such
    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::storage::schema::invitations as i;
        diesel::update(i::table.filter(i::email.eq("pending@example.com")))
            .set(i::invited_by.eq(None::<String>))
            .execute(&mut *db.conn().unwrap())
            .unwrap();
    })
    .await;
    let page = owner.get(&format!("/orgs/{org}/invitations?status=pending")).await;
    assert_eq!(page.texts("#invitations tbody td:nth-child(4)"), vec!["—"]);
}

async fn the_status_filter_and_the_search_return_only_what_they_name(app: &TestApp) {
    let (owner, org) = one_of_each(app).await;
    for (status, label) in
        [("pending", "Pending"), ("expired", "Expired"), ("accepted", "Accepted"), ("declined", "Declined"), ("cancelled", "Cancelled")]
    {
        let page = owner.get(&format!("/orgs/{org}/invitations?status={status}")).await;
        page.assert_status(200);
        assert_eq!(emails(&page), vec![format!("{status}@example.com")], "status={status}");
        assert_eq!(statuses(&page), vec![label]);
        assert_eq!(page.texts("#status option[selected]"), vec![label], "the filter stays chosen");
    }
    // the label or any case reads the same; an unknown status is ignored, as on the member list
    assert_eq!(emails(&owner.get(&format!("/orgs/{org}/invitations?status=Declined")).await), vec!["declined@example.com"]);
    let unknown = owner.get(&format!("/orgs/{org}/invitations?status=lost")).await;
    unknown.assert_status(200);
    assert_eq!(emails(&unknown).len(), 5);
    assert_eq!(emails(&owner.get(&format!("/orgs/{org}/invitations?status=")).await).len(), 5, "empty is every state");

    // the search matches part of the email, any case, wildcards literally
    assert_eq!(emails(&owner.get(&format!("/orgs/{org}/invitations?q=CEPT")).await), vec!["accepted@example.com"]);
    assert_eq!(emails(&owner.get(&format!("/orgs/{org}/invitations?q=e%25d&status=expired")).await), Vec::<String>::new());
    let both = owner.get(&format!("/orgs/{org}/invitations?q=example&status=cancelled")).await;
    assert_eq!(emails(&both), vec!["cancelled@example.com"]);
    let none = owner.get(&format!("/orgs/{org}/invitations?q=nobody")).await;
    assert!(none.contains("No invitations match"));
}

async fn pages_go_back_in_time_fifty_at_a_time(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let ada = app.account_id("ada@example.com").await;
    // 120 invitations a minute apart, every third one cancelled
    app.with_db(move |db| {
        let mut conn = db.conn().unwrap();
        let start = storage::now() - chrono::Duration::days(3);
        for n in 0..120 {
            let id = InvitationId::new();
            let at = start + chrono::Duration::minutes(n);
            let email = Email::parse(&format!("guest-{n:03}@example.com")).unwrap();
            let hash = format!("hash-{n}");
            let new = storage::invitations::NewInvitation {
                id,
                org,
                email: &email,
                role: Role::Viewer,
                token_hash: &hash,
                invited_by: Some(ada),
                at,
                expires_at: at + chrono::Duration::days(30),
            };
            storage::invitations::insert(&mut conn, new).unwrap();
            if n % 3 == 0 {
                storage::invitations::set_status(&mut conn, id, steward::domain::InvitationStatus::Cancelled, at).unwrap();
            }
        }
    })
    .await;

    let mut seen = Vec::new();
    let mut path = format!("/orgs/{org}/invitations");
    let mut pages = 0;
    loop {
        let page = owner.get(&path).await;
        page.assert_status(200);
        pages += 1;
        seen.extend(emails(&page));
        let older = page.html().select(&scraper::Selector::parse("a[rel=next]").unwrap()).next().map(|a| a.value().attr("href").unwrap().to_string());
        match older {
            Some(href) => path = href,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..120).rev().map(|n| format!("guest-{n:03}@example.com")).collect();
    assert_eq!(seen, expected, "newest first, each once");

    // the filter is kept from page to page
    let first = owner.get(&format!("/orgs/{org}/invitations?status=cancelled")).await;
    assert_eq!(emails(&first).len(), 40);
    assert!(first.texts("a[rel=next]").is_empty());
    let first = owner.get(&format!("/orgs/{org}/invitations?status=pending")).await;
    assert_eq!(emails(&first).len(), 50);
    let href = first.html().select(&scraper::Selector::parse("a[rel=next]").unwrap()).next().unwrap().value().attr("href").unwrap().to_string();
    assert!(href.contains("status=pending") && href.contains("cursor="), "{href}");
    let second = owner.get(&href).await;
    assert_eq!(emails(&second).len(), 30);
    assert!(second.texts("a[rel=next]").is_empty());
    assert_eq!(second.texts("#invitations tbody td:nth-child(3) .badge"), vec!["Pending"; 30]);
    // a cursor that cannot be read starts from the newest
    let bad = owner.get(&format!("/orgs/{org}/invitations?cursor=nonsense")).await;
    assert_eq!(emails(&bad)[0], "guest-119@example.com");
}

async fn members_without_members_read_get_403_and_outsiders_404(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    let (_, viewer) = app.add_member(org, "vi@example.com", Role::Viewer).await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    let (outsider, elsewhere) = app.sign_up("eve@example.com", "Elsewhere").await;
    let list = format!("/orgs/{org}/invitations");
    let confirm = format!("/orgs/{org}/invitations/{id}/resend");

    for member in [&editor, &viewer] {
        member.get(&list).await.assert_status(403);
        member.get(&confirm).await.assert_status(403);
    }
    outsider.get(&list).await.assert_status(404);
    outsider.get(&confirm).await.assert_status(404);
    // another organization's invitation, from the outsider's own organization
    outsider.get(&format!("/orgs/{elsewhere}/invitations/{id}/resend")).await.assert_status(404);
    assert!(!outsider.get(&format!("/orgs/{elsewhere}/invitations")).await.contains("bob@example.com"));
    let signed_out = app.client().get(&list).await;
    signed_out.assert_status(303);
    assert!(signed_out.location.unwrap_or_default().starts_with("/login?next="));

    let page = admin.get(&list).await;
    page.assert_status(200);
    assert_eq!(emails(&page), vec!["bob@example.com"]);
    assert_eq!(page.texts("#invitations tbody td.actions"), vec!["Resend Cancel"]);
    admin.get(&confirm).await.assert_status(200);
    assert_eq!(app.invitation_mails().await.len(), 1, "looking sends nothing");
}

async fn the_member_list_and_the_invitations_view_lead_to_each_other(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    let members = owner.get(&format!("/orgs/{org}/members")).await;
    let tab = |page: &Page, current: bool| -> Vec<String> {
        let css = if current { ".tabs a[aria-current=page]" } else { ".tabs a" };
        page.html().select(&scraper::Selector::parse(css).unwrap()).map(|a| a.value().attr("href").unwrap().to_string()).collect()
    };
    let both = vec![format!("/orgs/{org}/members"), format!("/orgs/{org}/invitations")];
    assert_eq!(tab(&members, false), both);
    assert_eq!(tab(&members, true), vec![format!("/orgs/{org}/members")]);
    let invitations = owner.get(&format!("/orgs/{org}/invitations")).await;
    assert_eq!(tab(&invitations, false), both);
    assert_eq!(tab(&invitations, true), vec![format!("/orgs/{org}/invitations")]);
    assert_eq!(invitations.texts("nav.nav a[aria-current=page]"), vec!["Members"], "the section stays Members");

    // the member list's Resend opens the confirmation: a link (a dialog under htmx), no form
    let resend = format!("/orgs/{org}/invitations/{id}/resend");
    let links: Vec<(String, String)> = members
        .html()
        .select(&scraper::Selector::parse("td.actions a").unwrap())
        .map(|a| (a.value().attr("href").unwrap().to_string(), a.value().attr("hx-get").unwrap_or("").to_string()))
        .collect();
    assert_eq!(links, vec![(resend.clone(), resend.clone())]);
    assert!(!members.contains(&format!(r#"action="{resend}""#)), "nothing posts to resend from the list");
}

async fn resend_asks_first_and_its_form_resends_as_before(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let old = app.outbox_token_for("bob@example.com").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    let resend = format!("/orgs/{org}/invitations/{id}/resend");

    // the confirmation: a page without JavaScript, the dialog alone under htmx
    let page = owner.get(&resend).await;
    page.assert_status(200);
    assert!(page.contains("<html") && page.contains(r#"<dialog class="modal" open data-open"#));
    assert!(page.contains("Resend the invitation to bob@example.com? The current link stops working and a new email goes out."));
    let form = page.html();
    let form = form.select(&scraper::Selector::parse("dialog form").unwrap()).next().expect("a form");
    assert_eq!(form.value().attr("method"), Some("post"));
    assert_eq!(form.value().attr("action"), Some(resend.as_str()));
    let token = form
        .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
        .next()
        .and_then(|i| i.value().attr("value"))
        .unwrap_or_default()
        .to_string();
    assert!(!token.is_empty(), "the form carries the CSRF token");
    let resp = owner.http.get(format!("{}{resend}", owner.base)).header("HX-Request", "true").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let fragment = resp.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.trim_start().starts_with("<dialog"));
    assert!(fragment.contains("Resend the invitation to bob@example.com?"));

    // asking changed nothing: no email, the link still works, nothing in the audit log
    assert_eq!(app.invitation_mails().await.len(), 1);
    app.client().get(&format!("/invitations/{old}")).await.assert_status(200);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);

    // its form resends, as the POST always did: 303 to the member list, a flash, a new link
    let done = owner.post_raw(&resend, &[("csrf_token", token.as_str()), ("next", "")]).await;
    done.assert_status(303);
    assert_eq!(done.location, Some(format!("/orgs/{org}/members")));
    assert!(owner.get(&format!("/orgs/{org}/members")).await.contains("Invitation sent again to bob@example.com."));
    assert_eq!(app.invitation_mails().await.len(), 2);
    let new = app.outbox_token_for("bob@example.com").await;
    assert_ne!(old, new);
    app.client().get(&format!("/invitations/{old}")).await.assert_status(404);
    app.client().get(&format!("/invitations/{new}")).await.assert_status(200);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited", "invitation.resent"]);

    // the history says when it was sent again
    let history = owner.get(&format!("/orgs/{org}/invitations")).await;
    let resent_at = stored(app, org).await[0].resent_at.expect("the resend is recorded");
    assert_eq!(history.texts("#invitations tbody td:nth-child(6)"), vec![format!("{} Resent", minutes(resent_at))]);

    // from the Invitations view, the confirmation and the resend lead back there; never elsewhere
    let back = format!("/orgs/{org}/invitations?status=pending");
    let next = serde_urlencoded::to_string([("next", back.as_str())]).unwrap();
    let asked = owner.get(&format!("{resend}?{next}")).await;
    assert!(asked.contains(&format!(r#"name="next" value="{}""#, back.replace('&', "&amp;"))));
    let done = owner.post(&resend, &[("next", &back)]).await;
    assert_eq!(done.location, Some(back));
    // a resend drops the invitation's message still unsent: let this one go out first
    app.mail_settled().await;
    let done = owner.post(&resend, &[("next", "https://evil.example/")]).await;
    assert_eq!(done.location, Some(format!("/orgs/{org}/members")));
    assert_eq!(app.invitation_mails().await.len(), 4);
}

async fn only_an_open_invitation_of_the_organization_can_be_confirmed(app: &TestApp) {
    let (owner, org) = one_of_each(app).await;
    let ids = stored(app, org).await.into_iter().map(|l| (l.invitation.email.to_string(), l.invitation.id)).collect::<Vec<_>>();
    let id_of = |email: &str| ids.iter().find(|(e, _)| e == email).map(|(_, id)| *id).unwrap();
    for email in ["accepted@example.com", "declined@example.com", "cancelled@example.com"] {
        let page = owner.get(&format!("/orgs/{org}/invitations/{}/resend", id_of(email))).await;
        page.assert_status(404);
    }
    // an expired one can be resent, so it is asked about
    let expired = owner.get(&format!("/orgs/{org}/invitations/{}/resend", id_of("expired@example.com"))).await;
    expired.assert_status(200);
    assert!(expired.contains("Resend the invitation to expired@example.com?"));
    owner.get(&format!("/orgs/{org}/invitations/{}/resend", InvitationId::new())).await.assert_status(404);
    owner.get(&format!("/orgs/{org}/invitations/not-an-id/resend")).await.assert_status(404);
    // the POST still refuses them as a conflict
    let accepted = id_of("accepted@example.com");
    owner.post(&format!("/orgs/{org}/invitations/{accepted}/resend"), &[]).await.assert_status(409);
    let mails = app.invitation_mails().await.len();
    assert_eq!(mails, 5, "nothing was sent again");
}

crate::on_both_backends!(
    every_state_is_listed_with_its_sender_and_when_it_changed,
    the_status_filter_and_the_search_return_only_what_they_name,
    pages_go_back_in_time_fifty_at_a_time,
    members_without_members_read_get_403_and_outsiders_404,
    the_member_list_and_the_invitations_view_lead_to_each_other,
    resend_asks_first_and_its_form_resends_as_before,
    only_an_open_invitation_of_the_organization_can_be_confirmed,
);
