//! Invitations: the email, and every case of accepting, declining, resending, cancelling.

use steward::domain::Role;

use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::support::smtp::SmtpServer;

async fn an_invitation_is_mailed_over_smtp_and_accepted_by_a_new_person(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::builder().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    owner.invite(org, "  Grace@Example.com ", "admin").await;

    let mail = smtp.wait_for_mail("grace@example.com", "/invitations/").await;
    assert_eq!(mail.to, vec!["grace@example.com"]);
    let text = mail.decoded();
    assert!(text.contains("Subject: ada invited you to join Analytical Engines on Steward"), "{text}");
    assert!(text.contains("multipart/alternative") && text.contains("text/plain") && text.contains("text/html"));
    assert!(text.contains("Analytical Engines") && text.contains("ada@example.com") && text.contains("Admin"));
    assert!(text.contains("expires on"));
    let token = mail.invitation_token().expect("a link with the token");
    assert!(text.contains(&format!("http://127.0.0.1:8080/invitations/{token}")));

    // the token is stored only as a hash
    let stored = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::invitations::dsl::*;
            invitations.select(token_hash).load::<String>(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    assert_eq!(stored, vec![steward::crypto::sha256_hex(token.as_bytes())]);

    let grace = app.client();
    let page = grace.get(&format!("/invitations/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("Analytical Engines") && page.contains("ada@example.com") && page.contains("Admin"));
    assert!(page.contains(r#"value="grace@example.com" readonly"#));

    let short = grace.post(&format!("/invitations/{token}/accept"), &[("name", "Grace"), ("password", "short")]).await;
    short.assert_status(422);
    assert!(short.contains("at least 12 characters"));

    let accepted = grace.post(&format!("/invitations/{token}/accept"), &[("name", "Grace Hopper"), ("password", PASSWORD)]).await;
    accepted.assert_status(303);
    assert_eq!(accepted.location.as_deref(), Some(format!("/orgs/{org}/members").as_str()));
    grace.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    // single use
    let again = app.client().get(&format!("/invitations/{token}")).await;
    again.assert_status(410);
    assert!(again.contains("already been used"));
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited", "invitation.accepted"]);
    app.stop().await;
}

async fn without_smtp_the_email_is_written_to_the_outbox(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let mails = app.invitation_mails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: bob@example.com"));
    assert!(crate::helpers::token_in(&mails[0]).is_some());
    let members = owner.get(&format!("/orgs/{org}/members")).await;
    assert_eq!(members.texts(".flash"), vec!["Invitation sent to bob@example.com. ×"]);
    let row = members.texts("tr[data-email='bob@example.com'] td");
    assert_eq!(row[1], "Pending Invitation");
    assert_eq!(row[2], "Viewer");
}

async fn an_existing_member_or_a_pending_email_cannot_be_invited_again(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.add_member(org, "al@example.com", Role::Admin).await;
    let member = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "AL@example.com"), ("role", "viewer")]).await;
    member.assert_status(422);
    assert!(member.contains("al@example.com is already a member of this organization."));
    owner.invite(org, "bob@example.com", "viewer").await;
    let pending = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "bob@example.com"), ("role", "editor")]).await;
    pending.assert_status(422);
    assert!(pending.contains("already pending. Use Resend"));
    let missing = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "carl@example.com"), ("role", "")]).await;
    missing.assert_status(422);
    assert!(missing.contains("Choose a role"));
    let owner_role = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "carl@example.com"), ("role", "owner")]).await;
    owner_role.assert_status(422);
    assert_eq!(app.count("invitations").await, 1);
}

async fn an_invitation_to_an_existing_account_asks_to_sign_in_first(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.sign_up("bob@example.com", "Bob's").await;
    bob.sign_out().await;
    owner.invite(org, "bob@example.com", "editor").await;
    let token = app.outbox_token_for("bob@example.com").await;

    let signed_out = app.client();
    let page = signed_out.get(&format!("/invitations/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("Sign in first"));
    let next = format!("/login?next=%2Finvitations%2F{token}");
    assert!(page.contains(&next.replace('&', "&amp;")));
    // accepting without signing in creates nothing
    signed_out.post(&format!("/invitations/{token}/accept"), &[("name", "X"), ("password", PASSWORD)]).await.assert_status(200);

    let signed_in = signed_out
        .post("/login", &[("email", "bob@example.com"), ("password", PASSWORD), ("next", &format!("/invitations/{token}"))])
        .await;
    assert_eq!(signed_in.location, Some(format!("/invitations/{token}")));
    let page = signed_out.get(&format!("/invitations/{token}")).await;
    assert!(page.contains(">Accept</button>") && page.contains(">Decline</button>"));
    let accepted = signed_out.post(&format!("/invitations/{token}/accept"), &[]).await;
    accepted.assert_status(303);
    // an editor lands on the deployments
    assert_eq!(accepted.location, Some(format!("/orgs/{org}/deployments")));
}

async fn an_invitation_link_refuses_anyone_signed_in_as_someone_else(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let token = app.outbox_token_for("bob@example.com").await;
    let (eve, _) = app.sign_up("eve@example.com", "Eve's").await;
    let page = eve.get(&format!("/invitations/{token}")).await;
    page.assert_status(403);
    assert!(page.contains("this invitation was sent to bob@example.com"));
    let attempt = eve.post(&format!("/invitations/{token}/accept"), &[]).await;
    attempt.assert_status(403);
    eve.post(&format!("/invitations/{token}/decline"), &[]).await.assert_status(403);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);
}

async fn expired_cancelled_declined_used_and_unknown_links_say_so(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for email in ["exp@example.com", "can@example.com", "dec@example.com"] {
        owner.invite(org, email, "viewer").await;
    }
    let (exp, can, dec) =
        (app.outbox_token_for("exp@example.com").await, app.outbox_token_for("can@example.com").await, app.outbox_token_for("dec@example.com").await);
    app.expire_invitation(org, "exp@example.com").await;
    let can_id = app.invitation_id(org, "can@example.com").await;
    owner.post(&format!("/orgs/{org}/invitations/{can_id}/cancel"), &[]).await.assert_status(303);
    let anyone = app.client();
    anyone.post(&format!("/invitations/{dec}/decline"), &[]).await.assert_status(303);

    let expired = anyone.get(&format!("/invitations/{exp}")).await;
    expired.assert_status(410);
    assert!(expired.contains("This invitation has expired.") && expired.contains("resend"));
    anyone.post(&format!("/invitations/{exp}/accept"), &[("name", "X"), ("password", PASSWORD)]).await.assert_status(410);
    assert!(anyone.get(&format!("/invitations/{can}")).await.contains("This invitation was cancelled."));
    assert!(anyone.get(&format!("/invitations/{dec}")).await.contains("This invitation was declined."));
    let unknown = anyone.get("/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    unknown.assert_status(404);
    assert!(unknown.contains("resend"));
    assert_eq!(app.count("accounts").await, 1);

    let members = owner.get(&format!("/orgs/{org}/members?status=expired")).await;
    assert_eq!(members.texts("td.cell-primary"), vec!["exp@example.com"]);
    assert_eq!(members.texts("tr td:nth-child(2)"), vec!["Expired Invitation"]);
    let actions = app.actions(org).await;
    assert!(actions.ends_with(&["invitation.cancelled".to_string(), "invitation.declined".to_string()]), "{actions:?}");
}

async fn resend_gives_a_new_link_and_the_old_one_dies(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let old = app.outbox_token_for("bob@example.com").await;
    // expired invitations can be resent too
    app.expire_invitation(org, "bob@example.com").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    std::thread::sleep(std::time::Duration::from_millis(20));
    owner.post(&format!("/orgs/{org}/invitations/{id}/resend"), &[]).await.assert_status(303);
    assert_eq!(app.invitation_mails().await.len(), 2);
    let new = app.outbox_token_for("bob@example.com").await;
    assert_ne!(old, new);
    app.client().get(&format!("/invitations/{old}")).await.assert_status(404);
    app.client().get(&format!("/invitations/{new}")).await.assert_status(200);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited", "invitation.resent"]);

    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(303);
    app.client().get(&format!("/invitations/{new}")).await.assert_status(410);
    // a cancelled invitation cannot be resent or cancelled again
    owner.post(&format!("/orgs/{org}/invitations/{id}/cancel"), &[]).await.assert_status(409);
}

async fn an_existing_account_sees_its_invitations_on_profile_and_orgs(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.sign_up("bob@example.com", "Bob's").await;
    app.verify_email(&bob, "bob@example.com").await;
    owner.invite(org, "bob@example.com", "admin").await;
    let id = app.invitation_id(org, "bob@example.com").await;
    let profile = bob.get("/profile").await;
    assert_eq!(profile.texts("#pending-invitations td.cell-primary"), vec!["Acme"]);
    let orgs = bob.get("/orgs").await;
    assert_eq!(orgs.texts("#pending-invitations td.cell-primary"), vec!["Acme"]);
    // nobody else can answer it by id
    let (eve, _) = app.sign_up("eve@example.com", "Eve's").await;
    eve.post(&format!("/profile/invitations/{id}/accept"), &[]).await.assert_status(404);
    eve.post(&format!("/profile/invitations/{id}/decline"), &[]).await.assert_status(404);

    let accepted = bob.post(&format!("/profile/invitations/{id}/accept"), &[]).await;
    accepted.assert_status(303);
    assert_eq!(accepted.location, Some(format!("/orgs/{org}/members")));
    assert!(bob.get("/profile").await.texts("#pending-invitations").is_empty());
    bob.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    owner.invite(org, "carl@example.com", "viewer").await;
    let (carl, _) = app.sign_up("carl@example.com", "Carl's").await;
    app.verify_email(&carl, "carl@example.com").await;
    let carl_id = app.invitation_id(org, "carl@example.com").await;
    carl.post(&format!("/profile/invitations/{carl_id}/decline"), &[]).await.assert_status(303);
    carl.get(&format!("/orgs/{org}/members")).await.assert_status(404);
}

crate::on_both_backends!(
    without_smtp_the_email_is_written_to_the_outbox,
    an_existing_member_or_a_pending_email_cannot_be_invited_again,
    an_invitation_to_an_existing_account_asks_to_sign_in_first,
    an_invitation_link_refuses_anyone_signed_in_as_someone_else,
    expired_cancelled_declined_used_and_unknown_links_say_so,
    resend_gives_a_new_link_and_the_old_one_dies,
    an_existing_account_sees_its_invitations_on_profile_and_orgs,
    an_invitation_is_mailed_over_smtp_and_accepted_by_a_new_person(backend),
);
