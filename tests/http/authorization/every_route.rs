//! Every role, and everyone who is not a member, on every route of an organization.
//!
//! The table of who may do what, tried one request at a time: a member gets what the union of
//! their base role and custom roles allows, a member without the permission 403, anyone else
//! 404 (signed out: to sign-in). Each route names the permission it needs, never a role.

use steward::domain::{Email, InvitationStatus, MembershipStatus, Permission, PermissionSet, Role};
use steward::storage;

use crate::helpers::{Client, TestApp};

use super::{Fields, Get, Method, Post, send, summary};

/// One route of the table. `path` and the field values may name fixtures:
/// `{org}`, `{target}` and `{target_email}` (a viewer, the target of member actions),
/// `{invitation}` (a pending invitation), `{deployment}` (`web-1`), `{stranger}` (the account
/// of someone outside the organization), `{n}` (a number unique to the attempt), and fixtures
/// made afresh for each attempt, because a successful attempt uses them up:
/// `{new_invitation}`, `{new_member}` with `{new_member_email}`, `{new_deployment}`.
struct Case {
    method: Method,
    path: &'static str,
    fields: &'static [(&'static str, &'static str)],
    /// What the route needs.
    allowed: Need,
    /// What a member holding it gets for this request: 200, 303, or 422 for a form that is
    /// deliberately refused (so that success does not destroy a fixture).
    ok: u16,
}

#[derive(Debug, Clone, Copy)]
enum Need {
    Holds(Permission),
    /// Leaving: any member but the owner.
    NotOwner,
}

use Permission::*;

const fn needs(p: Permission) -> Need {
    Need::Holds(p)
}

const ALL: Need = needs(DeploymentsRead);
const READERS: Need = needs(MembersRead);
const MANAGERS: Need = needs(MembersManage);
const INVITERS: Need = needs(MembersInvite);
const SETTINGS: Need = needs(OrgManage);
const WRITERS: Need = needs(DeploymentsWrite);
const OWNER: Need = needs(OrgOwner);
const ROLE_ADMINS: Need = needs(RolesManage);
const NOT_OWNER: Need = Need::NotOwner;

/// Members holding custom roles beside the built-in ones: (email, base role, custom role
/// permissions).
const CUSTOM: [(&str, Role, &[&str]); 4] = [
    ("recruiter@example.com", Role::Viewer, &["members.read", "members.invite"]),
    ("auditor@example.com", Role::Viewer, &["audit.view"]),
    ("keyreader@example.com", Role::Editor, &["api_keys.read"]),
    ("roleadmin@example.com", Role::Viewer, &["roles.manage", "members.read"]),
];

const CASES: &[Case] = &[
    Case { method: Get, path: "/orgs/{org}/members", fields: &[], allowed: READERS, ok: 200 },
    Case {
        method: Get,
        path: "/orgs/{org}/members?q=example&status=active&role=viewer&sort=created",
        fields: &[],
        allowed: READERS,
        ok: 200,
    },
    Case { method: Get, path: "/orgs/{org}/invitations", fields: &[], allowed: READERS, ok: 200 },
    Case { method: Get, path: "/orgs/{org}/invitations?status=expired&q=example", fields: &[], allowed: READERS, ok: 200 },
    Case { method: Get, path: "/orgs/{org}/invitations/new", fields: &[], allowed: INVITERS, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations",
        fields: &[("email", "guest-{n}@example.com"), ("role", "viewer")],
        allowed: INVITERS,
        ok: 303,
    },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations",
        fields: &[("email", "not-an-email"), ("role", "viewer")],
        allowed: INVITERS,
        ok: 422,
    },
    Case { method: Get, path: "/orgs/{org}/invitations/bulk", fields: &[], allowed: INVITERS, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations/bulk",
        fields: &[("rows", "list-{n}@example.com,viewer\nsecond-{n}@example.com,viewer")],
        allowed: INVITERS,
        ok: 200,
    },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations/bulk/send",
        fields: &[("email", "bulk-{n}@example.com"), ("role", "viewer"), ("email", "bulk-{n}@example.org"), ("role", "viewer")],
        allowed: INVITERS,
        ok: 303,
    },
    Case { method: Get, path: "/orgs/{org}/invitations/{invitation}/resend", fields: &[], allowed: INVITERS, ok: 200 },
    Case { method: Post, path: "/orgs/{org}/invitations/{invitation}/resend", fields: &[], allowed: INVITERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/invitations/{new_invitation}/cancel", fields: &[], allowed: INVITERS, ok: 303 },
    Case { method: Get, path: "/orgs/{org}/roles", fields: &[], allowed: READERS, ok: 200 },
    Case { method: Get, path: "/orgs/{org}/roles/{role}", fields: &[], allowed: READERS, ok: 200 },
    Case { method: Get, path: "/orgs/{org}/roles/new", fields: &[], allowed: ROLE_ADMINS, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/roles",
        fields: &[("name", "Role {n}"), ("permissions", "deployments.read")],
        allowed: ROLE_ADMINS,
        ok: 303,
    },
    Case { method: Get, path: "/orgs/{org}/roles/{role}/edit", fields: &[], allowed: ROLE_ADMINS, ok: 200 },
    // the same definition again: a change that still answers like a success
    Case {
        method: Post,
        path: "/orgs/{org}/roles/{role}",
        fields: &[("name", "Readers"), ("permissions", "deployments.read")],
        allowed: ROLE_ADMINS,
        ok: 303,
    },
    Case { method: Get, path: "/orgs/{org}/roles/{role}/delete", fields: &[], allowed: ROLE_ADMINS, ok: 200 },
    Case { method: Post, path: "/orgs/{org}/roles/{role}/delete", fields: &[("confirm_name", "Not it")], allowed: ROLE_ADMINS, ok: 422 },
    Case {
        method: Post,
        path: "/orgs/{org}/roles/{role}/members",
        fields: &[("account", "{new_member}")],
        allowed: MANAGERS,
        ok: 303,
    },
    Case { method: Get, path: "/orgs/{org}/audit", fields: &[], allowed: needs(AuditView), ok: 200 },
    Case { method: Get, path: "/orgs/{org}/audit.csv", fields: &[], allowed: needs(AuditRead), ok: 200 },
    Case { method: Get, path: "/orgs/{org}/api-keys", fields: &[], allowed: needs(ApiKeysRead), ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/api-keys",
        fields: &[("name", "k-{n}"), ("permissions", "read"), ("scope", "nowhere")],
        allowed: needs(ApiKeysManage),
        ok: 422,
    },
    Case { method: Get, path: "/orgs/{org}/members/{target}/edit", fields: &[], allowed: MANAGERS, ok: 200 },
    // the same role again: a no-op that still answers like a success
    Case { method: Post, path: "/orgs/{org}/members/{target}", fields: &[("role", "viewer")], allowed: MANAGERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/members/{new_member}", fields: &[("role", "editor")], allowed: MANAGERS, ok: 303 },
    Case { method: Get, path: "/orgs/{org}/members/{target}/deactivate", fields: &[], allowed: MANAGERS, ok: 200 },
    Case { method: Post, path: "/orgs/{org}/members/{target}/deactivate", fields: &[], allowed: MANAGERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/members/{target}/activate", fields: &[], allowed: MANAGERS, ok: 303 },
    Case { method: Get, path: "/orgs/{org}/members/{target}/remove", fields: &[], allowed: MANAGERS, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/members/{target}/remove",
        fields: &[("confirm_email", "somebody-else@example.com")],
        allowed: MANAGERS,
        ok: 422,
    },
    Case {
        method: Post,
        path: "/orgs/{org}/members/{new_member}/remove",
        fields: &[("confirm_email", "  {new_member_email} ")],
        allowed: MANAGERS,
        ok: 303,
    },
    Case { method: Get, path: "/orgs/{org}/settings", fields: &[], allowed: SETTINGS, ok: 200 },
    Case { method: Post, path: "/orgs/{org}/settings", fields: &[("name", "Acme {n}")], allowed: SETTINGS, ok: 303 },
    // not required, as it already is: a no-op that still answers like a success
    Case { method: Post, path: "/orgs/{org}/settings/two-factor", fields: &[], allowed: SETTINGS, ok: 303 },
    // ownership only goes to an active member: someone from outside is refused in the form
    Case { method: Post, path: "/orgs/{org}/transfer", fields: &[("account", "{stranger}")], allowed: OWNER, ok: 422 },
    Case { method: Post, path: "/orgs/{org}/delete", fields: &[("confirm_name", "Not the name")], allowed: OWNER, ok: 422 },
    Case { method: Get, path: "/orgs/{org}/deployments", fields: &[], allowed: ALL, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/deployments",
        fields: &[("name", "web-{n}"), ("region", "eu-west-1")],
        allowed: WRITERS,
        ok: 303,
    },
    Case {
        method: Post,
        path: "/orgs/{org}/deployments",
        fields: &[("name", "Not A Name"), ("region", "mars-north-1")],
        allowed: WRITERS,
        ok: 422,
    },
    // the same name again: a no-op that still answers like a success
    Case { method: Post, path: "/orgs/{org}/deployments/{deployment}", fields: &[("name", "web-1")], allowed: WRITERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/deployments/{deployment}", fields: &[("name", "Bad Name")], allowed: WRITERS, ok: 422 },
    Case { method: Post, path: "/orgs/{org}/deployments/{new_deployment}/delete", fields: &[], allowed: WRITERS, ok: 303 },
    // LAST: a member who leaves is gone for every later case. The owner cannot leave: the
    // handler answers 403 ("transfer ownership first"), as for a missing permission.
    Case { method: Post, path: "/orgs/{org}/leave", fields: &[], allowed: NOT_OWNER, ok: 303 },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Member(Role),
    /// A member holding custom roles: `CUSTOM[i]`.
    Custom(usize),
    /// Signed in, active member of another organization only.
    NonMember,
    /// An admin of the organization who was deactivated: a deactivated member has no access at
    /// all, as if not a member.
    Deactivated,
    /// Nobody signed in: every page sends to the sign-in page.
    SignedOut,
}

impl Case {
    fn expected(&self, who: Who) -> u16 {
        let (base, held) = match who {
            Who::NonMember | Who::Deactivated => return 404,
            Who::SignedOut => return 303,
            Who::Member(role) => (role, role.permissions()),
            Who::Custom(i) => {
                let (_, base, custom) = CUSTOM[i];
                (base, base.permissions().union(PermissionSet::parse_names(custom.iter().copied()).unwrap()))
            }
        };
        let allowed = match self.allowed {
            Need::Holds(p) => held.contains(p),
            Need::NotOwner => base != Role::Owner,
        };
        if allowed { self.ok } else { 403 }
    }

    fn mentions(&self, placeholder: &str) -> bool {
        self.path.contains(placeholder) || self.fields.iter().any(|(_, v)| v.contains(placeholder))
    }
}

/// Placeholder values for one attempt.
struct Vars(Vec<(&'static str, String)>);

impl Vars {
    fn fill(&self, template: &str) -> String {
        self.0.iter().fold(template.to_string(), |s, (k, v)| s.replace(k, v))
    }
}

async fn every_role_gets_what_its_permissions_allow_on_every_route(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "admin@example.com", Role::Admin).await;
    let (_, editor) = app.add_member(org, "editor@example.com", Role::Editor).await;
    let (_, viewer) = app.add_member(org, "viewer@example.com", Role::Viewer).await;
    let (outsider, outsider_org) = app.sign_up("outsider@example.com", "Elsewhere").await;
    let stranger = app.account_id("outsider@example.com").await;
    let (deactivated_id, deactivated) = app.add_member(org, "gone@example.com", Role::Admin).await;
    owner.deactivate(org, deactivated_id).await;
    let signed_out = app.client();
    let target = app.add_member_who_never_signs_in(org, "target@example.com", Role::Viewer).await;
    owner.invite(org, "invitee@example.com", "viewer").await;
    let invitation = app.invitation_id(org, "invitee@example.com").await;
    owner.create_deployment(org, "web-1", "eu-west-1").await;
    let deployment = app.deployment_id(org, "web-1").await;
    let role = owner.create_role(org, "Readers", &["deployments.read"]).await;
    let mut custom = Vec::new();
    for (i, (email, base, permissions)) in CUSTOM.iter().enumerate() {
        let (id, client) = app.add_member(org, email, *base).await;
        let held = owner.create_role(org, &format!("Custom {i}"), permissions).await;
        owner.give_role(org, held, id).await;
        custom.push((Who::Custom(i), client));
    }

    let mut actors: Vec<(Who, &Client)> = vec![
        (Who::Member(Role::Owner), &owner),
        (Who::Member(Role::Admin), &admin),
        (Who::Member(Role::Editor), &editor),
        (Who::Member(Role::Viewer), &viewer),
        (Who::NonMember, &outsider),
        (Who::Deactivated, &deactivated),
        (Who::SignedOut, &signed_out),
    ];
    actors.extend(custom.iter().map(|(who, client)| (*who, client)));

    let mut n = 0;
    let mut mismatches = Vec::new();
    for case in CASES {
        for &(who, client) in &actors {
            n += 1;
            let mut vars = vec![
                ("{org}", org.to_string()),
                ("{target_email}", "target@example.com".to_string()),
                ("{target}", target.to_string()),
                ("{invitation}", invitation.to_string()),
                ("{deployment}", deployment.to_string()),
                ("{role}", role.to_string()),
                ("{stranger}", stranger.to_string()),
                ("{n}", n.to_string()),
            ];
            if case.mentions("{new_invitation}") {
                let email = format!("fresh-{n}@example.com");
                owner.invite(org, &email, "viewer").await;
                let id = app.invitation_id(org, &email).await;
                vars.push(("{new_invitation}", id.to_string()));
            }
            if case.mentions("{new_member") {
                let email = format!("member-{n}@example.com");
                let id = app.add_member_who_never_signs_in(org, &email, Role::Viewer).await;
                vars.push(("{new_member_email}", email));
                vars.push(("{new_member}", id.to_string()));
            }
            if case.mentions("{new_deployment}") {
                let name = format!("tmp-{n}");
                owner.create_deployment(org, &name, "eu-west-1").await;
                let id = app.deployment_id(org, &name).await;
                vars.push(("{new_deployment}", id.to_string()));
            }
            let vars = Vars(vars);
            let path = vars.fill(case.path);
            let fields: Fields = case.fields.iter().map(|(k, v)| (k.to_string(), vars.fill(v))).collect();

            let events_before = app.events(org).await.len();
            let page = send(client, case.method, &path, &fields).await;
            let expected = case.expected(who);
            if page.status != expected {
                mismatches.push(format!(
                    "{who:?} {:?} {} {fields:?}: expected {expected}, got {}",
                    case.method,
                    case.path,
                    summary(&page)
                ));
            }
            // a signed-out page request comes back to the page after sign-in; a POST is not replayed
            let location = page.location.as_deref().unwrap_or("");
            let to_login = match case.method {
                Get => location.starts_with("/login?next="),
                Post => location == "/login",
            };
            if who == Who::SignedOut && !to_login {
                mismatches.push(format!("{who:?} {:?} {}: expected a redirect to sign in, got {location:?}", case.method, case.path));
            }
            if matches!(who, Who::Member(_) | Who::Custom(_)) && page.status == 303 && location.starts_with("/login") {
                mismatches.push(format!("{who:?} {:?} {}: the session was lost ({location})", case.method, case.path));
            }
            if expected == 403 || expected == 404 || who == Who::SignedOut {
                let events_after = app.events(org).await.len();
                if events_after != events_before {
                    mismatches.push(format!(
                        "{who:?} {:?} {}: refused, yet the audit log grew from {events_before} to {events_after}",
                        case.method, case.path
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{} (role, route) mismatches:\n{}", mismatches.len(), mismatches.join("\n"));

    // What the table did stands: the fixtures are intact, the leavers are gone, the owner stays.
    let (members, inv, dep) = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            let members: Vec<(String, Role, MembershipStatus)> = ["owner", "admin", "editor", "viewer", "target"]
                .iter()
                .map(|who| {
                    let email = Email::parse(&format!("{who}@example.com")).unwrap();
                    storage::members::find_by_email(&mut conn, org, &email)
                        .unwrap()
                        .map(|m| (who.to_string(), m.role, m.status))
                        .unwrap_or((who.to_string(), Role::Viewer, MembershipStatus::Inactive))
                })
                .collect();
            let inv = storage::invitations::find(&mut conn, org, invitation).unwrap().unwrap();
            let dep = storage::deployments::find(&mut conn, org, deployment).unwrap().map(|d| d.name);
            (members, inv, dep)
        })
        .await;
    assert_eq!(members[0], ("owner".to_string(), Role::Owner, MembershipStatus::Active));
    assert_eq!(members[4], ("target".to_string(), Role::Viewer, MembershipStatus::Active));
    let still_deactivated = app
        .with_db(move |db| storage::members::find(&mut db.conn().unwrap(), org, deactivated_id).unwrap().map(|m| (m.role, m.status)))
        .await;
    assert_eq!(still_deactivated, Some((Role::Admin, MembershipStatus::Inactive)), "a deactivated member cannot even leave");
    let left = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            ["admin", "editor", "viewer"]
                .iter()
                .map(|who| {
                    let email = Email::parse(&format!("{who}@example.com")).unwrap();
                    storage::members::find_by_email(&mut conn, org, &email).unwrap().is_none()
                })
                .collect::<Vec<_>>()
        })
        .await;
    assert_eq!(left, vec![true, true, true], "admin, editor and viewer left");
    assert_eq!(inv.status, InvitationStatus::Pending);
    assert_eq!(dep.as_deref(), Some("web-1"));
    // the outsider's own organization saw nothing of it
    let outsider_events: Vec<String> = app.events(outsider_org).await.into_iter().map(|e| e.body.action).collect();
    assert_eq!(outsider_events, vec!["org.created"]);
}

crate::on_both_backends!(
    every_role_gets_what_its_permissions_allow_on_every_route,
);
