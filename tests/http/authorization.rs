//! Authorization on every route of the HTML side (spec §2 and §6): each role gets what its
//! permissions allow, a member without the permission gets 403, anyone else 404; the ids of
//! another organization lead nowhere; bad input is refused (never a 500) and changes nothing.

use diesel::prelude::*;
use steward::domain::{Email, InvitationStatus, MembershipStatus, OrgId, Role};
use steward::storage;

use crate::helpers::{Client, Page, TestApp};

// ---- shared helpers ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

use Method::{Get, Post};

type Fields = Vec<(String, String)>;
/// A request to try: method, path, form fields.
type Request = (Method, String, Fields);

/// Sends `method path` with `fields` (a POST carries the session's CSRF token).
async fn send(client: &Client, method: Method, path: &str, fields: &[(String, String)]) -> Page {
    match method {
        Get => client.get(path).await,
        Post => {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            client.post(path, &fields).await
        }
    }
}

fn owned(fields: &[(&str, &str)]) -> Fields {
    fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Rows in each table a refused request must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    accounts: i64,
    organizations: i64,
    memberships: i64,
    invitations: i64,
    deployments: i64,
    audit_events: i64,
}

async fn counts(app: &TestApp) -> Counts {
    Counts {
        accounts: app.count("accounts").await,
        organizations: app.count("organizations").await,
        memberships: app.count("memberships").await,
        invitations: app.count("invitations").await,
        deployments: app.count("deployments").await,
        audit_events: app.count("audit_events").await,
    }
}

/// A short description of a response, for failure messages.
fn summary(page: &Page) -> String {
    let heading = page.texts("h1").join(" | ");
    let errors = page.texts(".field-error, .invalid-feedback, .alert").join(" | ");
    format!("{} (h1: {heading:?}; errors: {errors:?})", page.status)
}

// ---- 1. every role on every route ------------------------------------------------------------

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
    /// The roles whose permissions allow the route.
    allowed: &'static [Role],
    /// What a role in `allowed` gets for this request: 200, 303, or 422 for a form that is
    /// deliberately refused (so that success does not destroy a fixture).
    ok: u16,
}

const ALL: &[Role] = &[Role::Owner, Role::Admin, Role::Editor, Role::Viewer];
/// `members.read`, `members.manage`, `org.manage`.
const MANAGERS: &[Role] = &[Role::Owner, Role::Admin];
/// `deployments.write`.
const WRITERS: &[Role] = &[Role::Owner, Role::Admin, Role::Editor];
/// `org.owner`.
const OWNER: &[Role] = &[Role::Owner];
/// Leaving: any member but the owner.
const NOT_OWNER: &[Role] = &[Role::Admin, Role::Editor, Role::Viewer];

const CASES: &[Case] = &[
    Case { method: Get, path: "/orgs/{org}/members", fields: &[], allowed: MANAGERS, ok: 200 },
    Case {
        method: Get,
        path: "/orgs/{org}/members?q=example&status=active&role=viewer&sort=created",
        fields: &[],
        allowed: MANAGERS,
        ok: 200,
    },
    Case { method: Get, path: "/orgs/{org}/invitations/new", fields: &[], allowed: MANAGERS, ok: 200 },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations",
        fields: &[("email", "guest-{n}@example.com"), ("role", "editor")],
        allowed: MANAGERS,
        ok: 303,
    },
    Case {
        method: Post,
        path: "/orgs/{org}/invitations",
        fields: &[("email", "not-an-email"), ("role", "viewer")],
        allowed: MANAGERS,
        ok: 422,
    },
    Case { method: Post, path: "/orgs/{org}/invitations/{invitation}/resend", fields: &[], allowed: MANAGERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/invitations/{new_invitation}/cancel", fields: &[], allowed: MANAGERS, ok: 303 },
    Case { method: Get, path: "/orgs/{org}/members/{target}/edit", fields: &[], allowed: MANAGERS, ok: 200 },
    // the same role again: a no-op that still answers like a success
    Case { method: Post, path: "/orgs/{org}/members/{target}", fields: &[("role", "viewer")], allowed: MANAGERS, ok: 303 },
    Case { method: Post, path: "/orgs/{org}/members/{new_member}", fields: &[("role", "editor")], allowed: MANAGERS, ok: 303 },
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
    Case { method: Get, path: "/orgs/{org}/settings", fields: &[], allowed: MANAGERS, ok: 200 },
    Case { method: Post, path: "/orgs/{org}/settings", fields: &[("name", "Acme {n}")], allowed: MANAGERS, ok: 303 },
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
    /// Signed in, active member of another organization only.
    NonMember,
    /// An admin of the organization who was deactivated: no access at all (spec §2).
    Deactivated,
    /// Nobody signed in: every page sends to the sign-in page (spec §6).
    SignedOut,
}

impl Case {
    fn expected(&self, who: Who) -> u16 {
        match who {
            Who::NonMember | Who::Deactivated => 404,
            Who::SignedOut => 303,
            Who::Member(role) if self.allowed.contains(&role) => self.ok,
            Who::Member(_) => 403,
        }
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

    let actors: [(Who, &Client); 7] = [
        (Who::Member(Role::Owner), &owner),
        (Who::Member(Role::Admin), &admin),
        (Who::Member(Role::Editor), &editor),
        (Who::Member(Role::Viewer), &viewer),
        (Who::NonMember, &outsider),
        (Who::Deactivated, &deactivated),
        (Who::SignedOut, &signed_out),
    ];

    let mut n = 0;
    let mut mismatches = Vec::new();
    for case in CASES {
        for (who, client) in actors {
            n += 1;
            let mut vars = vec![
                ("{org}", org.to_string()),
                ("{target_email}", "target@example.com".to_string()),
                ("{target}", target.to_string()),
                ("{invitation}", invitation.to_string()),
                ("{deployment}", deployment.to_string()),
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
            if matches!(who, Who::Member(_)) && page.status == 303 && location.starts_with("/login") {
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

/// Nobody acts on the owner, nor on themselves, through the member actions (spec §2): 403.
async fn member_actions_on_the_owner_or_oneself_are_refused_with_403(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (admin_id, admin) = app.add_member(org, "admin@example.com", Role::Admin).await;
    let owner_id = app.account_id("owner@example.com").await;
    let events_before = app.events(org).await.len();
    let mut mismatches = Vec::new();
    for (actor_name, actor, target, email) in [
        ("owner on self", &owner, owner_id, "owner@example.com"),
        ("admin on owner", &admin, owner_id, "owner@example.com"),
        ("admin on self", &admin, admin_id, "admin@example.com"),
    ] {
        let base = format!("/orgs/{org}/members/{target}");
        let attempts: Vec<Request> = vec![
            (Get, format!("{base}/edit"), vec![]),
            (Post, base.clone(), owned(&[("role", "viewer")])),
            (Post, format!("{base}/deactivate"), vec![]),
            (Post, format!("{base}/activate"), vec![]),
            (Get, format!("{base}/remove"), vec![]),
            (Post, format!("{base}/remove"), owned(&[("confirm_email", email)])),
        ];
        for (method, path, fields) in attempts {
            let page = send(actor, method, &path, &fields).await;
            if page.status != 403 {
                mismatches.push(format!("{actor_name}: {method:?} {path} {fields:?}: expected 403, got {}", summary(&page)));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(app.events(org).await.len(), events_before);
    let roles = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            let owner = storage::members::find(&mut conn, org, owner_id).unwrap().unwrap();
            let admin = storage::members::find(&mut conn, org, admin_id).unwrap().unwrap();
            [(owner.role, owner.status), (admin.role, admin.status)]
        })
        .await;
    assert_eq!(roles, [(Role::Owner, MembershipStatus::Active), (Role::Admin, MembershipStatus::Active)]);
}

/// Permissions are read on every request: a demoted admin loses them at once, in the session
/// already open, and a promoted viewer gains them.
async fn a_role_change_takes_effect_on_the_next_request(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (admin_id, admin) = app.add_member(org, "admin@example.com", Role::Admin).await;
    let (viewer_id, viewer) = app.add_member(org, "viewer@example.com", Role::Viewer).await;
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    viewer.get(&format!("/orgs/{org}/members")).await.assert_status(403);

    owner.post(&format!("/orgs/{org}/members/{admin_id}"), &[("role", "viewer")]).await.assert_status(303);
    owner.post(&format!("/orgs/{org}/members/{viewer_id}"), &[("role", "admin")]).await.assert_status(303);

    admin.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    admin.get(&format!("/orgs/{org}/settings")).await.assert_status(403);
    admin.post(&format!("/orgs/{org}/invitations"), &[("email", "x@example.com"), ("role", "admin")]).await.assert_status(403);
    admin.post(&format!("/orgs/{org}/deployments"), &[("name", "web-1"), ("region", "eu-west-1")]).await.assert_status(403);
    admin.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
    viewer.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    viewer.post(&format!("/orgs/{org}/members/{admin_id}/deactivate"), &[]).await.assert_status(303);
    // the demoted admin, now deactivated too, is out
    admin.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);
}

// ---- 2. ids of another organization ----------------------------------------------------------

/// What organization B holds, to compare before and after.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    name: String,
    members: Vec<(String, Role, MembershipStatus)>,
    invitations: Vec<(String, InvitationStatus)>,
    deployments: Vec<(String, String)>,
    events: Vec<(String, String)>,
}

async fn snapshot(app: &TestApp, org: OrgId) -> Snapshot {
    app.with_db(move |db| {
        use steward::storage::schema::{invitations, memberships};
        let mut conn = db.conn().unwrap();
        let conn = &mut *conn;
        let name = storage::orgs::find(conn, org).unwrap().unwrap().name;
        let mut members: Vec<(String, Role, MembershipStatus)> = memberships::table
            .filter(memberships::org_id.eq(org.to_string()))
            .select(memberships::account_id)
            .load::<String>(conn)
            .unwrap()
            .into_iter()
            .map(|id| {
                let m = storage::members::find(conn, org, id.parse().unwrap()).unwrap().unwrap();
                (m.email.to_string(), m.role, m.status)
            })
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut invitations: Vec<(String, InvitationStatus)> = invitations::table
            .filter(invitations::org_id.eq(org.to_string()))
            .select(invitations::id)
            .load::<String>(conn)
            .unwrap()
            .into_iter()
            .map(|id| {
                let i = storage::invitations::find(conn, org, id.parse().unwrap()).unwrap().unwrap();
                (i.email.to_string(), i.status)
            })
            .collect();
        invitations.sort_by(|a, b| a.0.cmp(&b.0));
        let deployments = storage::deployments::list(conn, org, 10_000, 0)
            .unwrap()
            .into_iter()
            .map(|r| (r.deployment.id.to_string(), r.deployment.name))
            .collect();
        let events = storage::audit::all_of_org(conn, org).unwrap().into_iter().map(|e| (e.body.action, e.hash)).collect();
        Snapshot { name, members, invitations, deployments, events }
    })
    .await
}

/// Every GET and POST route that names an id, with these ids (which need not be UUIDs).
fn id_routes(org: &str, member: &str, member_email: &str, invitation: &str, deployment: &str) -> Vec<Request> {
    let m = format!("/orgs/{org}/members/{member}");
    vec![
        (Post, format!("/orgs/{org}/invitations/{invitation}/resend"), vec![]),
        (Post, format!("/orgs/{org}/invitations/{invitation}/cancel"), vec![]),
        (Get, format!("{m}/edit"), vec![]),
        (Post, m.clone(), owned(&[("role", "admin")])),
        (Post, m.clone(), owned(&[("role", "viewer")])),
        (Post, format!("{m}/deactivate"), vec![]),
        (Post, format!("{m}/activate"), vec![]),
        (Get, format!("{m}/remove"), vec![]),
        (Post, format!("{m}/remove"), owned(&[("confirm_email", member_email)])),
        (Post, format!("/orgs/{org}/deployments/{deployment}"), owned(&[("name", "hijacked")])),
        (Post, format!("/orgs/{org}/deployments/{deployment}/delete"), vec![]),
    ]
}

/// Every route in an organization's own path that names no id (`org` need not be a UUID).
fn org_routes(org: &str, member: &str, org_name: &str) -> Vec<Request> {
    vec![
        (Get, format!("/orgs/{org}"), vec![]),
        (Get, format!("/orgs/{org}/members"), vec![]),
        (Get, format!("/orgs/{org}/invitations/new"), vec![]),
        (Post, format!("/orgs/{org}/invitations"), owned(&[("email", "mole@example.com"), ("role", "admin")])),
        (Get, format!("/orgs/{org}/settings"), vec![]),
        (Post, format!("/orgs/{org}/settings"), owned(&[("name", "Hijacked")])),
        (Post, format!("/orgs/{org}/transfer"), owned(&[("account", member)])),
        (Post, format!("/orgs/{org}/leave"), vec![]),
        (Post, format!("/orgs/{org}/delete"), owned(&[("confirm_name", org_name)])),
        (Get, format!("/orgs/{org}/deployments"), vec![]),
        (Post, format!("/orgs/{org}/deployments"), owned(&[("name", "intruder"), ("region", "eu-west-1")])),
    ]
}

async fn an_admin_of_one_org_cannot_touch_another_org_by_id(app: &TestApp) {
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

// ---- 3. bad input ----------------------------------------------------------------------------

async fn bad_input_gets_422_or_404_and_changes_nothing(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let target = app.add_member_who_never_signs_in(org, "target@example.com", Role::Viewer).await;
    owner.invite(org, "invitee@example.com", "viewer").await;
    let invitation = app.invitation_id(org, "invitee@example.com").await;
    owner.create_deployment(org, "web-1", "eu-west-1").await;
    let deployment = app.deployment_id(org, "web-1").await;
    let before = counts(app).await;
    let before_snapshot = snapshot(app, org).await;

    let ten_kb = "n".repeat(10 * 1024);
    let huge = "x".repeat(300 * 1024);
    let too_big: &'static [u16] = &[400, 413, 422];
    let long_email = format!("{}@example.com", "x".repeat(300));
    let ten_kb_email = format!("{}@example.com", "x".repeat(10 * 1024));

    // (method, path, fields, the statuses that are right)
    let mut attempts: Vec<(Request, &'static [u16])> = Vec::new();
    let unprocessable: &'static [u16] = &[422];
    let not_found: &'static [u16] = &[404];

    // malformed emails
    let bad_emails = [
        "",
        "   ",
        "no-at",
        "a@b",
        long_email.as_str(),
        "a b@example.com",
        "@example.com",
        "a@@example.com",
        "a@.com",
        "<a@example.com>",
        "a@example.com,b@example.com",
        ten_kb_email.as_str(),
    ];
    for email in bad_emails {
        attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", email), ("role", "viewer")])), unprocessable));
    }
    // unknown or ungrantable roles
    for (i, role) in ["owner", "superuser", "", "OWNER", "Admin", " root ", ten_kb.as_str()].into_iter().enumerate() {
        let email = format!("new-{i}@example.com");
        attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", &email), ("role", role)])), unprocessable));
    }
    attempts.push(((Post, format!("/orgs/{org}/invitations"), owned(&[("email", "new@example.com")])), unprocessable));
    // role changes to what cannot be granted
    for role in ["owner", "root", "", "OWNER", ten_kb.as_str()] {
        attempts.push(((Post, format!("/orgs/{org}/members/{target}"), owned(&[("role", role)])), unprocessable));
    }
    // 10 KB fields
    attempts.extend([
        ((Post, format!("/orgs/{org}/settings"), owned(&[("name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/settings"), owned(&[("name", "   ")])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments"), owned(&[("name", &ten_kb), ("region", "eu-west-1")])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments"), owned(&[("name", "web-2"), ("region", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/deployments/{deployment}"), owned(&[("name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/members/{target}/remove"), owned(&[("confirm_email", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/delete"), owned(&[("confirm_name", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", &ten_kb)])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", "not-a-uuid")])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", "")])), unprocessable),
        ((Post, format!("/orgs/{org}/transfer"), owned(&[("account", &uuid::Uuid::new_v4().to_string())])), unprocessable),
        ((Post, "/profile".to_string(), owned(&[("name", &ten_kb)])), unprocessable),
    ]);
    // 300 KB bodies are tried below, outside this list: they need their own client call
    let big_bodies: Vec<(String, &str)> = vec![
        (format!("/orgs/{org}/settings"), "name"),
        (format!("/orgs/{org}/invitations"), "email"),
        (format!("/orgs/{org}/deployments"), "name"),
        (format!("/orgs/{org}/deployments/{deployment}"), "name"),
        (format!("/orgs/{org}/members/{target}"), "role"),
        (format!("/orgs/{org}/members/{target}/remove"), "confirm_email"),
        (format!("/orgs/{org}/transfer"), "account"),
        (format!("/orgs/{org}/delete"), "confirm_name"),
        ("/profile".to_string(), "name"),
    ];

    // malformed (and unknown) UUIDs in every id position
    let bad_ids = [
        "not-a-uuid".to_string(),
        "1".to_string(),
        "00000000-0000-0000-0000-00000000000g".to_string(),
        format!("{}0", uuid::Uuid::new_v4()),
        "%27%3B%20DROP%20TABLE%20memberships%3B--".to_string(),
        "%00".to_string(),
        "x".repeat(1000),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::nil().to_string(),
    ];
    let (org_s, target_s, invitation_s, deployment_s) =
        (org.to_string(), target.to_string(), invitation.to_string(), deployment.to_string());
    for bad in &bad_ids {
        // in the {org} position
        for request in org_routes(bad, &target_s, "Acme") {
            attempts.push((request, not_found));
        }
        for request in id_routes(bad, &target_s, "target@example.com", &invitation_s, &deployment_s) {
            attempts.push((request, not_found));
        }
        // in the {account} and {id} positions of a real organization
        for request in id_routes(&org_s, bad, "target@example.com", bad, bad) {
            attempts.push((request, not_found));
        }
        attempts.push(((Post, format!("/profile/invitations/{bad}/accept"), vec![]), not_found));
        attempts.push(((Post, format!("/profile/invitations/{bad}/decline"), vec![]), not_found));
    }

    let mut mismatches = Vec::new();
    let mut server_errors = Vec::new();
    for ((method, path, fields), right) in &attempts {
        let page = send(&owner, *method, path, fields).await;
        let shown_path: String = path.chars().take(120).collect();
        let shown_fields: Vec<(String, String)> =
            fields.iter().map(|(k, v)| (k.clone(), if v.len() > 60 { format!("<{} bytes>", v.len()) } else { v.clone() })).collect();
        if page.status >= 500 {
            server_errors.push(format!("{method:?} {shown_path} {shown_fields:?}: {}", summary(&page)));
        }
        if !right.contains(&page.status) {
            mismatches.push(format!("{method:?} {shown_path} {shown_fields:?}: expected one of {right:?}, got {}", summary(&page)));
        }
    }
    // a 10 KB search is cut short or refused by the HTTP layer, never a 500
    let page = owner.get(&format!("/orgs/{org}/members?q={ten_kb}&status=nope&role=root&sort=x&page=-1")).await;
    if ![200, 400, 414, 431].contains(&page.status) {
        mismatches.push(format!("GET members with a 10 KB q: got {}", summary(&page)));
    }
    let page = owner.get(&format!("/orgs/{org}/deployments?page=99999999999999999999")).await;
    if page.status != 200 {
        mismatches.push(format!("GET deployments with a huge page: got {}", summary(&page)));
    }
    assert!(server_errors.is_empty(), "500s:\n{}", server_errors.join("\n"));
    assert!(mismatches.is_empty(), "{} of {} mismatches:\n{}", mismatches.len(), attempts.len(), mismatches.join("\n"));

    assert_eq!(counts(app).await, before, "bad input changed nothing");
    assert_eq!(snapshot(app, org).await, before_snapshot, "bad input changed nothing");
    // and the session still works
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    // 300 KB bodies, with the token in the form (the CSRF check reads at most 256 KB) and in
    // the htmx header (the form extractor's limit applies). Last, because the server may leave
    // such a connection unusable (see `oversized_bodies_are_answered_with_connection_close`).
    let mut big_mismatches = Vec::new();
    for (path, field) in &big_bodies {
        for header_token in [false, true] {
            let what = format!("POST {path} with a 300 KB {field} (token in header: {header_token})");
            match post_big(&owner, path, field, &huge, header_token).await {
                Ok((status, _)) if !too_big.contains(&status) => {
                    big_mismatches.push(format!("{what}: expected one of {too_big:?}, got {status}"));
                }
                Ok(_) => {}
                Err(e) => big_mismatches.push(format!("{what}: no answer: {e}")),
            }
        }
    }
    assert_eq!(counts(app).await, before, "oversized bodies changed nothing");
    assert!(big_mismatches.is_empty(), "{} oversized-body mismatches:\n{}", big_mismatches.len(), big_mismatches.join("\n"));
}

/// An answer sent before the body was read must close the connection and say so.
///
/// A form body over 256 KB is answered 413 at once (by the CSRF check when the token is in the
/// form, by the form extractor's limit when it is in the `X-CSRF-Token` header), leaving the
/// rest of the body unread. Without `Connection: close` a client reusing the connection (a
/// pool, a browser's keep-alive) got a reset on its next request, about one in six under load
/// (RFC 9112 §9.6); the answer now closes the connection and says so.
async fn oversized_bodies_are_answered_with_connection_close(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let huge = "x".repeat(300 * 1024);
    let mut mismatches = Vec::new();
    let routes = [
        (format!("/orgs/{org}/settings"), "name"),
        (format!("/orgs/{org}/deployments"), "name"),
        ("/profile".to_string(), "name"),
    ];
    for (path, field) in routes {
        for header_token in [false, true] {
            let what = format!("POST {path} with a 300 KB {field} (token in header: {header_token})");
            match post_big(&owner, &path, field, &huge, header_token).await {
                Ok((status, _)) if ![400, 413].contains(&status) => {
                    mismatches.push(format!("{what}: expected 400 or 413, got {status}"));
                }
                Ok((_, false)) => {
                    mismatches.push(format!("{what}: answered before reading the body, without `Connection: close`"));
                }
                Ok(_) => {}
                Err(e) => mismatches.push(format!("{what}: no answer: {e}")),
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Posts one oversized field; returns the answer's status and whether it says
/// `Connection: close`.
///
/// The server answers as soon as the body passes its limit, without reading the rest of it, and
/// drops the connection: now and then the client is still sending (or reuses the pooled
/// connection) when it goes, and gets a reset instead of an answer. A reset is retried a few
/// times (a fresh connection each time); every answer that does arrive must be right.
async fn post_big(client: &Client, path: &str, field: &str, value: &str, header_token: bool) -> Result<(u16, bool), String> {
    let token = client.csrf().await;
    let mut last_error = String::new();
    for _ in 0..5 {
        let request = client.http.post(format!("{}{path}", client.base));
        let request = if header_token {
            request.header("X-CSRF-Token", token.as_str()).form(&[(field, value)])
        } else {
            request.form(&[("csrf_token", token.as_str()), (field, value)])
        };
        match request.send().await {
            Ok(response) => {
                let closes = response
                    .headers()
                    .get("connection")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                return Ok((response.status().as_u16(), closes));
            }
            Err(e) => last_error = format!("{e:?}"),
        }
    }
    Err(last_error)
}

crate::on_both_backends!(
    every_role_gets_what_its_permissions_allow_on_every_route,
    member_actions_on_the_owner_or_oneself_are_refused_with_403,
    a_role_change_takes_effect_on_the_next_request,
    an_admin_of_one_org_cannot_touch_another_org_by_id,
    bad_input_gets_422_or_404_and_changes_nothing,
    oversized_bodies_are_answered_with_connection_close,
);
