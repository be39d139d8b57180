//! Offboarding: what a deactivated or removed member leaves behind.
//!
//! The deactivate and remove dialogs list the API keys the member made that still work and the
//! invitations they sent that are still pending, each checked; the boxes sent with the change
//! are revoked and cancelled in its transaction, with their events; a box that names anything
//! else refuses the whole change.

use steward::domain::{AccountId, MembershipStatus, OrgId, Role};
use steward::storage;

use crate::helpers::{Client, NewKey, PASSWORD, Page, TestApp};
use crate::support::api::Api;

/// The checkboxes named `name` on a page: (value, checked).
fn boxes(page: &Page, name: &str) -> Vec<(String, bool)> {
    let selector = scraper::Selector::parse(&format!(r#"input[type=checkbox][name="{name}"]"#)).expect("selector");
    page.html()
        .select(&selector)
        .map(|e| (e.value().attr("value").unwrap_or_default().to_string(), e.value().attr("checked").is_some()))
        .collect()
}

fn sorted(mut v: Vec<(String, bool)>) -> Vec<(String, bool)> {
    v.sort();
    v
}

/// The member's status in the organization, or None once removed.
async fn status(app: &TestApp, org: OrgId, account: AccountId) -> Option<MembershipStatus> {
    app.with_db(move |db| storage::members::find(&mut db.conn().unwrap(), org, account).unwrap().map(|m| m.status)).await
}

/// Ada owns Acme; Al, an admin, made the key `al-ci` and invited guest@example.com.
struct Departure {
    owner: Client,
    org: OrgId,
    al: AccountId,
    al_client: Client,
    secret: String,
    key: String,
    token: String,
    invitation: String,
}

async fn al_is_leaving(app: &TestApp) -> Departure {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (al, al_client) = app.add_member(org, "al@example.com", Role::Admin).await;
    let secret = al_client.create_api_key(org, NewKey::named("al-ci")).await;
    al_client.invite(org, "guest@example.com", "viewer").await;
    let token = app.outbox_token_for("guest@example.com").await;
    let key = app.api_key_id(org, "al-ci").await;
    let invitation = app.invitation_id(org, "guest@example.com").await.to_string();
    Departure { owner, org, al, al_client, secret, key, token, invitation }
}

async fn the_dialogs_list_the_members_working_keys_and_pending_invitations_checked(app: &TestApp) {
    let Departure { owner, org, al, al_client, key, invitation, .. } = al_is_leaving(app).await;
    // Al's keys that no longer work, and invitations no longer pending, are not listed
    al_client.create_api_key(org, NewKey::named("al-revoked")).await;
    let revoked = app.api_key_id(org, "al-revoked").await;
    al_client.post(&format!("/orgs/{org}/api-keys/{revoked}/revoke"), &[]).await.assert_status(303);
    al_client.create_api_key(org, NewKey::named("al-expired").expiring_in_days(1)).await;
    app.expire_api_key(org, "al-expired").await;
    al_client.invite(org, "late@example.com", "editor").await;
    app.expire_invitation(org, "late@example.com").await;
    let late = app.invitation_id(org, "late@example.com").await.to_string();
    al_client.invite(org, "joined@example.com", "viewer").await;
    let token = app.outbox_token_for("joined@example.com").await;
    app.client()
        .post(&format!("/invitations/{token}/accept"), &[("name", "Joined"), ("password", PASSWORD)])
        .await
        .assert_status(303);
    al_client.invite(org, "withdrawn@example.com", "viewer").await;
    let withdrawn = app.invitation_id(org, "withdrawn@example.com").await;
    al_client.post(&format!("/orgs/{org}/invitations/{withdrawn}/cancel"), &[]).await.assert_status(303);
    // nor what others made or sent, here or in another organization
    owner.create_api_key(org, NewKey::named("ada-ci")).await;
    owner.invite(org, "ada-guest@example.com", "viewer").await;
    let (elsewhere, other_org) = app.sign_up("zed@example.com", "Zeta").await;
    elsewhere.create_api_key(other_org, NewKey::named("zed-ci")).await;
    let vic = app.add_member_who_never_signs_in(org, "vic@example.com", Role::Viewer).await;

    for action in ["deactivate", "remove"] {
        let page = owner.get(&format!("/orgs/{org}/members/{al}/{action}")).await;
        page.assert_status(200);
        assert!(page.contains("<html") && page.contains(r#"<dialog class="modal" open data-open"#), "{action}: a full page");
        assert_eq!(boxes(&page, "revoke_keys"), vec![(key.clone(), true)], "{action}: only Al's working key, checked");
        assert_eq!(
            sorted(boxes(&page, "cancel_invitations")),
            sorted(vec![(invitation.clone(), true), (late.clone(), true)]),
            "{action}: Al's pending invitations, the expired one too, checked"
        );
        let keys = page.texts("#left-behind-keys label");
        assert!(keys.len() == 1 && keys[0].starts_with("al-ci stw_") && keys[0].contains("Read and write"), "{keys:?}");
        let invitations = page.texts("#left-behind-invitations label");
        assert!(invitations.iter().any(|t| t.starts_with("guest@example.com Viewer")), "{invitations:?}");
        assert!(invitations.iter().any(|t| t.starts_with("late@example.com Expired Editor")), "{invitations:?}");

        // under htmx the dialog alone
        let resp = owner
            .http
            .get(format!("{}/orgs/{org}/members/{al}/{action}", owner.base))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let fragment = resp.text().await.unwrap();
        assert!(!fragment.contains("<html") && fragment.trim_start().starts_with("<dialog"), "{action}: {fragment}");
        assert!(fragment.contains(&format!(r#"name="revoke_keys" value="{key}" checked"#)));

        // someone who leaves nothing behind: said so
        let page = owner.get(&format!("/orgs/{org}/members/{vic}/{action}")).await;
        page.assert_status(200);
        assert!(boxes(&page, "revoke_keys").is_empty() && boxes(&page, "cancel_invitations").is_empty());
        assert!(page.contains("None that still work.") && page.contains("None pending."));
    }

    // the member list's Deactivate opens the dialog, with a plain link as its fallback
    let list = owner.get(&format!("/orgs/{org}/members")).await;
    let dialog = format!("/orgs/{org}/members/{vic}/deactivate");
    assert!(list.contains(&format!(r#"href="{dialog}" hx-get="{dialog}""#)), "{}", list.body);
    assert!(!list.contains(&format!(r#"action="{dialog}""#)), "no longer a bare form");
}

async fn removal_revokes_the_checked_keys_and_cancels_the_checked_invitations(app: &TestApp) {
    let Departure { owner, org, al, secret, key, token, invitation, .. } = al_is_leaving(app).await;
    let api = Api::with_key(app, &secret).await;
    api.get("/members").await.expect(200);

    let fields = [("confirm_email", "al@example.com"), ("revoke_keys", key.as_str()), ("cancel_invitations", invitation.as_str())];
    let done = owner.post(&format!("/orgs/{org}/members/{al}/remove"), &fields).await;
    done.assert_status(303);
    let list = owner.get(&format!("/orgs/{org}/members")).await;
    assert!(list.contains("Member removed.") && list.contains("1 API key revoked, 1 invitation cancelled."), "{}", list.body);

    assert_eq!(status(app, org, al).await, None);
    api.get("/members").await.expect_error(401, "unauthorized");
    let link = app.client().get(&format!("/invitations/{token}")).await;
    link.assert_status(410);
    assert!(link.contains("This invitation was cancelled."));

    let events = app.events(org).await;
    let actions: Vec<&str> = events.iter().map(|e| e.body.action.as_str()).collect();
    assert_eq!(actions[actions.len() - 3..], ["member.removed", "api_key.revoked", "invitation.cancelled"]);
    let (revoked, cancelled) = (&events[events.len() - 2].body, &events[events.len() - 1].body);
    // the same events as the API keys page's Revoke and the member list's Cancel write
    assert_eq!(revoked.details, format!(r#"{{"name":"al-ci","prefix":"{}"}}"#, &secret[..20]));
    assert_eq!((revoked.target.as_deref(), revoked.actor_email.as_deref()), (Some("al-ci"), Some("ada@example.com")));
    assert_eq!(cancelled.details, r#"{"role":"viewer"}"#);
    assert_eq!(cancelled.target_email.as_deref(), Some("guest@example.com"));
    let _ = app.actions(org).await; // the chain holds
}

async fn deactivation_revokes_the_checked_keys_and_cancels_the_checked_invitations(app: &TestApp) {
    let Departure { owner, org, al, secret, key, token, invitation, .. } = al_is_leaving(app).await;
    let api = Api::with_key(app, &secret).await;
    // htmx sends the dialog's form and is told where to go
    let csrf = owner.csrf().await;
    let resp = owner
        .http
        .post(format!("{}/orgs/{org}/members/{al}/deactivate", owner.base))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", csrf)
        .form(&[("revoke_keys", key.as_str()), ("cancel_invitations", invitation.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("HX-Redirect").and_then(|v| v.to_str().ok()), Some(format!("/orgs/{org}/members").as_str()));

    assert_eq!(status(app, org, al).await, Some(MembershipStatus::Inactive));
    api.get("/members").await.expect_error(401, "unauthorized");
    app.client().get(&format!("/invitations/{token}")).await.assert_status(410);
    let actions = app.actions(org).await;
    assert_eq!(actions[actions.len() - 3..], ["member.deactivated", "api_key.revoked", "invitation.cancelled"]);

    // activated again, the member gets nothing back: the key stays revoked
    owner.post(&format!("/orgs/{org}/members/{al}/activate"), &[]).await.assert_status(303);
    api.get("/members").await.expect_error(401, "unauthorized");
}

async fn without_the_fields_nothing_is_revoked_or_cancelled(app: &TestApp) {
    let Departure { owner, org, al, secret, token, .. } = al_is_leaving(app).await;
    let api = Api::with_key(app, &secret).await;
    // the plain POST of before: the member goes, what they made stays. A key does not belong
    // to its maker: it keeps working after they leave, until it is revoked.
    owner.post(&format!("/orgs/{org}/members/{al}/deactivate"), &[]).await.assert_status(303);
    let list = owner.get(&format!("/orgs/{org}/members")).await;
    assert!(list.contains("Member deactivated. Their access ended at once.") && !list.contains("revoked"), "{}", list.body);
    assert_eq!(status(app, org, al).await, Some(MembershipStatus::Inactive));
    api.get("/members").await.expect(200);
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);

    owner.post(&format!("/orgs/{org}/members/{al}/remove"), &[("confirm_email", "al@example.com")]).await.assert_status(303);
    assert_eq!(status(app, org, al).await, None);
    api.get("/members").await.expect(200);
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);
    let actions = app.actions(org).await;
    assert_eq!(actions[actions.len() - 2..], ["member.deactivated", "member.removed"]);
}

async fn an_id_that_is_not_the_members_refuses_the_whole_change(app: &TestApp) {
    let Departure { owner, org, al, al_client, secret, key, token, invitation } = al_is_leaving(app).await;
    let api = Api::with_key(app, &secret).await;
    // another admin's key and invitation
    let (_, bo) = app.add_member(org, "bo@example.com", Role::Admin).await;
    bo.create_api_key(org, NewKey::named("bo-ci")).await;
    let bo_key = app.api_key_id(org, "bo-ci").await;
    bo.invite(org, "bo-guest@example.com", "viewer").await;
    let bo_invitation = app.invitation_id(org, "bo-guest@example.com").await.to_string();
    // another organization's, and Al's own in an organization of his
    let (zed, zeta) = app.sign_up("zed@example.com", "Zeta").await;
    zed.create_api_key(zeta, NewKey::named("zeta-ci")).await;
    let zeta_key = app.api_key_id(zeta, "zeta-ci").await;
    zed.invite(zeta, "zeta-guest@example.com", "viewer").await;
    let zeta_invitation = app.invitation_id(zeta, "zeta-guest@example.com").await.to_string();
    al_client.post("/orgs", &[("name", "Al's own")]).await.assert_status(303);
    let al_org: OrgId = app
        .with_db(move |db| storage::members::active_orgs_brief(&mut db.conn().unwrap(), al).unwrap())
        .await
        .into_iter()
        .find(|(_, name)| name == "Al's own")
        .expect("Al's organization")
        .0;
    al_client.create_api_key(al_org, NewKey::named("al-own")).await;
    let al_own_key = app.api_key_id(al_org, "al-own").await;
    al_client.invite(al_org, "al-guest@example.com", "viewer").await;
    let al_own_invitation = app.invitation_id(al_org, "al-guest@example.com").await.to_string();
    // Al's, no longer working or pending
    al_client.create_api_key(org, NewKey::named("al-old")).await;
    let al_old = app.api_key_id(org, "al-old").await;
    al_client.post(&format!("/orgs/{org}/api-keys/{al_old}/revoke"), &[]).await.assert_status(303);
    al_client.invite(org, "gone@example.com", "viewer").await;
    let gone = app.invitation_id(org, "gone@example.com").await.to_string();
    al_client.post(&format!("/orgs/{org}/invitations/{gone}/cancel"), &[]).await.assert_status(303);
    let unknown = AccountId::new().to_string();

    let bad: Vec<(&str, String, &str)> = vec![
        ("revoke_keys", bo_key.clone(), "is not one of them"),
        ("revoke_keys", zeta_key.clone(), "is not one of them"),
        ("revoke_keys", al_own_key.clone(), "is not one of them"),
        ("revoke_keys", al_old.clone(), "is not one of them"),
        ("revoke_keys", unknown.clone(), "is not one of them"),
        ("revoke_keys", "not-a-uuid".into(), "not an id"),
        ("revoke_keys", String::new(), "not an id"),
        ("cancel_invitations", bo_invitation.clone(), "is not one of them"),
        ("cancel_invitations", zeta_invitation.clone(), "is not one of them"),
        ("cancel_invitations", al_own_invitation.clone(), "is not one of them"),
        ("cancel_invitations", gone.clone(), "is not one of them"),
        ("cancel_invitations", unknown.clone(), "is not one of them"),
        ("cancel_invitations", format!("{invitation}'; --"), "not an id"),
    ];
    let events_before = app.events(org).await.len();
    let zeta_events_before = app.events(zeta).await.len();
    for action in ["deactivate", "remove"] {
        for (field, value, says) in &bad {
            // alongside Al's own key and invitation, which are not touched either
            let fields = [
                ("confirm_email", "al@example.com"),
                ("revoke_keys", key.as_str()),
                ("cancel_invitations", invitation.as_str()),
                (field, value.as_str()),
            ];
            let page = owner.post(&format!("/orgs/{org}/members/{al}/{action}"), &fields).await;
            assert_eq!(page.status, 422, "{action} with {field}={value:?}:\n{}", page.body);
            let errors = page.texts(".field-error");
            assert!(errors.len() == 1 && errors[0].contains(says), "{action} with {field}={value:?}: {errors:?}");
            // the dialog again, as it was sent
            assert_eq!(boxes(&page, "revoke_keys"), vec![(key.clone(), true)]);
        }
    }
    assert_eq!(status(app, org, al).await, Some(MembershipStatus::Active), "Al is still a member");
    assert_eq!(app.events(org).await.len(), events_before, "nothing was recorded");
    assert_eq!(app.events(zeta).await.len(), zeta_events_before);
    api.get("/members").await.expect(200);
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);
    for (org, name) in [(org, "bo-ci"), (zeta, "zeta-ci"), (al_org, "al-own")] {
        let revoked = app
            .with_db(move |db| {
                use diesel::prelude::*;
                use steward::storage::schema::api_keys as k;
                k::table
                    .filter(k::org_id.eq(org.to_string()))
                    .filter(k::name.eq(name))
                    .select(k::revoked_at)
                    .first::<Option<chrono::NaiveDateTime>>(&mut *db.conn().unwrap())
                    .unwrap()
            })
            .await;
        assert_eq!(revoked, None, "{name} still works");
    }
    assert_eq!(app.invitation_id(org, "bo-guest@example.com").await.to_string(), bo_invitation, "still pending");
    assert_eq!(app.invitation_id(zeta, "zeta-guest@example.com").await.to_string(), zeta_invitation, "still pending");

    // the boxes left unchecked stay unchecked when the dialog comes back
    let wrong = owner.post(&format!("/orgs/{org}/members/{al}/remove"), &[("confirm_email", "not-al@example.com")]).await;
    wrong.assert_status(422);
    assert_eq!(boxes(&wrong, "revoke_keys"), vec![(key.clone(), false)]);
    assert_eq!(boxes(&wrong, "cancel_invitations"), vec![(invitation.clone(), false)]);
}

async fn when_an_event_cannot_be_written_nothing_changes(app: &TestApp) {
    let Departure { owner, org, al, secret, key, token, invitation, .. } = al_is_leaving(app).await;
    let api = Api::with_key(app, &secret).await;
    app.refuse_audit_events("invitation.cancelled").await;
    let events_before = app.events(org).await.len();
    for (action, extra) in [("deactivate", None), ("remove", Some(("confirm_email", "al@example.com")))] {
        let mut fields = vec![("revoke_keys", key.as_str()), ("cancel_invitations", invitation.as_str())];
        fields.extend(extra);
        let page = owner.post(&format!("/orgs/{org}/members/{al}/{action}"), &fields).await;
        page.assert_status(500);
    }
    assert_eq!(status(app, org, al).await, Some(MembershipStatus::Active));
    assert_eq!(app.events(org).await.len(), events_before);
    api.get("/members").await.expect(200);
    app.client().get(&format!("/invitations/{token}")).await.assert_status(200);
}

crate::on_both_backends!(
    the_dialogs_list_the_members_working_keys_and_pending_invitations_checked,
    removal_revokes_the_checked_keys_and_cancels_the_checked_invitations,
    deactivation_revokes_the_checked_keys_and_cancels_the_checked_invitations,
    without_the_fields_nothing_is_revoked_or_cancelled,
    an_id_that_is_not_the_members_refuses_the_whole_change,
    when_an_event_cannot_be_written_nothing_changes,
);
