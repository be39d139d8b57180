//! The ids of another organization lead nowhere, from any path.
//!
//! Its members, invitations and deployments are out of reach by id, for its admins and owner
//! alike, and nothing of it changes.

use steward::domain::{InvitationStatus, Role};
use steward::storage;

use crate::helpers::TestApp;

use super::{Post, Request, id_routes, org_routes, owned, send, snapshot, summary};

async fn the_ids_of_another_organization_lead_nowhere(app: &TestApp) {
    // A: the attacker's organization
    let (owner_a, org_a) = app.sign_up("ann@alpha.example", "Alpha").await;
    let (_, admin_a) = app.add_member(org_a, "adam@alpha.example", Role::Admin).await;
    owner_a.create_deployment(org_a, "alpha-web", "eu-west-1").await;
    // B: the victim
    let (owner_b, org_b) = app.sign_up("bob@beta.example", "Beta").await;
    let (admin_b_id, _) = app.add_member(org_b, "bea@beta.example", Role::Admin).await;
    let viewer_b = app.add_member_who_never_signs_in(org_b, "val@beta.example", Role::Viewer).await;
    let owner_b_id = app.account_id("bob@beta.example").await;
    owner_b.invite(org_b, "guest@beta.example", "viewer").await;
    let invitation_b = app.invitation_id(org_b, "guest@beta.example").await;
    owner_b.create_deployment(org_b, "beta-api", "eu-west-1").await;
    let deployment_b = app.deployment_id(org_b, "beta-api").await;

    let before_a = snapshot(app, org_a).await;
    let before_b = snapshot(app, org_b).await;
    assert_eq!(before_b.invitations, vec![("guest@beta.example".to_string(), InvitationStatus::Pending)]);

    let b_members =
        [(owner_b_id, "bob@beta.example"), (admin_b_id, "bea@beta.example"), (viewer_b, "val@beta.example")];
    let mut mismatches = Vec::new();
    for (actor_name, actor, is_owner_of_a) in [("admin of A", &admin_a, false), ("owner of A", &owner_a, true)] {
        let (a, b, inv, dep) = (org_a.to_string(), org_b.to_string(), invitation_b.to_string(), deployment_b.to_string());
        let mut attempts: Vec<(Request, u16)> = Vec::new();
        // B's ids in B's path: a non-member, so 404 everywhere
        for request in org_routes(&b, &viewer_b.to_string(), "Beta") {
            attempts.push((request, 404));
        }
        for (member, email) in b_members {
            let member_s = member.to_string();
            for request in id_routes(&b, &member_s, email, &inv, &dep) {
                attempts.push((request, 404));
            }
            // B's ids in A's path: they name nothing in A, so 404
            for request in id_routes(&a, &member_s, email, &inv, &dep) {
                attempts.push((request, 404));
            }
            // handing A to one of B's members: only A's owner may try, and B's member is not
            // a member of A
            let expected = if is_owner_of_a { 422 } else { 403 };
            attempts.push(((Post, format!("/orgs/{org_a}/transfer"), owned(&[("account", &member_s)])), expected));
        }
        // B's invitation, answered by id from the profile: not addressed to them
        attempts.push(((Post, format!("/profile/invitations/{invitation_b}/accept"), vec![]), 404));
        attempts.push(((Post, format!("/profile/invitations/{invitation_b}/decline"), vec![]), 404));

        for ((method, path, fields), expected) in attempts {
            let page = send(actor, method, &path, &fields).await;
            if page.status != expected {
                mismatches.push(format!("{actor_name}: {method:?} {path} {fields:?}: expected {expected}, got {}", summary(&page)));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));

    // nothing changed in B (nor in A)
    assert_eq!(snapshot(app, org_b).await, before_b);
    assert_eq!(snapshot(app, org_a).await, before_a);
    // as B's owner sees it
    let list = owner_b.get(&format!("/orgs/{org_b}/members")).await;
    list.assert_status(200);
    let rows = list.texts("tbody tr").join("\n");
    for email in ["bob@beta.example", "bea@beta.example", "val@beta.example", "guest@beta.example"] {
        assert!(rows.contains(email), "{email} is still listed:\n{rows}");
    }
    assert!(rows.contains("Pending Invitation"), "{rows}");
    assert!(!rows.contains("Inactive"), "nobody in B was deactivated:\n{rows}");
    assert!(!list.contains("Hijacked") && !list.contains("mole@example.com"));
    let deployments = owner_b.get(&format!("/orgs/{org_b}/deployments")).await;
    deployments.assert_status(200);
    assert!(deployments.contains("beta-api") && !deployments.contains("hijacked") && !deployments.contains("intruder"));
    let pending = app
        .with_db(move |db| storage::invitations::find(&mut db.conn().unwrap(), org_b, invitation_b).unwrap().unwrap().status)
        .await;
    assert_eq!(pending, InvitationStatus::Pending);
}

crate::on_both_backends!(
    the_ids_of_another_organization_lead_nowhere,
);
