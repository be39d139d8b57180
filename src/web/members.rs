//! The member list and its actions: invite, edit role, activate/deactivate, remove. Each
//! dialog is one template: its `dialog` block is the htmx fragment, the whole template the
//! page that works without JavaScript. The deactivate and remove dialogs list what the member
//! leaves behind (keys, pending invitations), to revoke and cancel with the change. The list
//! also downloads whole as CSV, with its filters and order.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::csv_export;
use crate::domain::delivery::Delivery;
use crate::domain::member_list::{RoleFilter, Sort, StatusFilter};
use crate::domain::{AccountId, Email, MembershipStatus, Permission, PermissionSet, Role};
use crate::operations::members::{ListQuery, ListRow, Membership, RoleTag};
use crate::operations::offboarding::{Chosen, Leftovers};
use crate::operations::{self, OpError};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::{FormErrors, read_form};
use crate::web::format;
use crate::web::shell::{self, Done, Shell, dialog_page, post_redirect_get, render_dialog, see_other};

pub const PAGE_SIZE: i64 = 50;

fn account_id(raw: &str) -> Result<AccountId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

impl ListParams {
    /// The list's query for these parameters, on its first page. Unknown filter values are
    /// ignored rather than refused: a stale bookmark still opens (and exports what it shows).
    fn list_query(&self) -> ListQuery {
        // no email or name holds a control character (and PostgreSQL refuses a NUL in text)
        let q: String = self.q.trim().chars().filter(|c| !c.is_control()).take(200).collect();
        ListQuery {
            q: Some(q).filter(|s| !s.is_empty()),
            status: StatusFilter::parse(&self.status),
            role: RoleFilter::parse(&self.role),
            sort: Sort::parse(&self.sort).unwrap_or(Sort::Email),
            limit: PAGE_SIZE,
            offset: 0,
        }
    }
}

/// A row as the template shows it.
pub struct RowView {
    pub is_invitation: bool,
    pub id: String,
    pub email: String,
    pub name: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// Beside a pending invitation's status: where its email stands, until it is sent.
    pub delivery: Option<DeliveryBadge>,
    pub role: &'static str,
    /// The custom roles, by name.
    pub custom_roles: Vec<String>,
    pub created: String,
    pub created_full: String,
    pub last_active: String,
    pub last_active_full: String,
    pub auth_method: &'static str,
    /// The identity provider's host, for a member who signs in through the organization's
    /// single sign-on (the column then reads `SSO (host)`).
    pub sso_host: Option<String>,
    pub can_edit: bool,
    pub can_deactivate: bool,
    pub can_activate: bool,
    pub can_remove: bool,
    pub can_resend: bool,
    pub can_cancel: bool,
    pub is_self: bool,
}

/// How an invitation's email that has not gone out yet reads beside its status; nothing once
/// it is sent (or for an invitation mailed before the outbox kept track).
pub struct DeliveryBadge {
    pub label: &'static str,
    pub class: &'static str,
    /// The mail server's last answer, on hover.
    pub title: String,
}

impl DeliveryBadge {
    pub fn of(delivery: Option<Delivery>) -> Option<DeliveryBadge> {
        match delivery? {
            Delivery::Sent => None,
            Delivery::Queued => Some(DeliveryBadge { label: "Email queued", class: "badge-gray", title: "Waiting to be sent".into() }),
            Delivery::Retrying { last_error } => Some(DeliveryBadge {
                label: "Delivery failed, retrying",
                class: "badge-amber",
                title: format!("Last attempt: {last_error}"),
            }),
            Delivery::Expired => Some(DeliveryBadge {
                label: "Email not delivered",
                class: "badge-red",
                title: "The link expired before the email could be sent. Resend the invitation.".into(),
            }),
        }
    }
}

/// What the list knows of the viewer: who they are and what they may do.
struct Viewer {
    me: AccountId,
    held: PermissionSet,
    can_manage: bool,
    can_invite: bool,
}

/// A row's status as the list reads it.
fn row_status(row: &ListRow) -> &'static str {
    StatusFilter::parse(&row.status).map_or("", status_label)
}

/// How a member signs in (None on an invitation's row).
fn auth_method(row: &ListRow) -> Option<&'static str> {
    match row.kind.as_str() {
        "invitation" => None,
        _ if row.two_factor => Some("Password + 2FA"),
        _ => Some("Password"),
    }
}

fn row_view(row: ListRow, tags: &[RoleTag], viewer: &Viewer, now: chrono::NaiveDateTime) -> RowView {
    let role = row.role;
    let (status_label, auth) = (row_status(&row), auth_method(&row).unwrap_or("—"));
    let custom_roles = tags.iter().map(|t| t.name.clone()).collect();
    // what the row's person may do (or will, once they accept): nobody acts on more than they hold
    let permissions = tags.iter().fold(role.permissions(), |set, t| set.union(t.permissions));
    let within_reach = viewer.held.covers(permissions);
    if row.kind == "invitation" {
        let expired = row.status == "expired";
        let delivery = if expired { None } else { DeliveryBadge::of(row.delivery()) };
        return RowView {
            delivery,
            is_invitation: true,
            id: row.id,
            email: row.email,
            name: String::new(),
            status_label,
            status_class: if expired { "badge-amber" } else { "badge-blue" },
            role: role.label(),
            custom_roles,
            created: format::date(row.created_at),
            created_full: format::minutes(row.created_at),
            last_active: "—".into(),
            last_active_full: String::new(),
            auth_method: auth,
            sso_host: None,
            can_edit: false,
            can_deactivate: false,
            can_activate: false,
            can_remove: false,
            can_resend: viewer.can_invite && within_reach,
            can_cancel: viewer.can_invite,
            is_self: false,
        };
    }
    let active = row.status == MembershipStatus::Active.as_str();
    let is_self = row.id == viewer.me.to_string();
    let actionable = viewer.can_manage && !is_self && role != Role::Owner && within_reach;
    RowView {
        delivery: None,
        is_invitation: false,
        email: row.email,
        name: row.name,
        status_label,
        status_class: if active { "badge-green" } else { "badge-gray" },
        role: role.label(),
        custom_roles,
        created: format::date(row.created_at),
        created_full: format::minutes(row.created_at),
        last_active: row.last_active_at.map(|t| format::ago(t, now)).unwrap_or_else(|| "Never".into()),
        last_active_full: row.last_active_at.map(format::minutes).unwrap_or_default(),
        auth_method: auth,
        sso_host: None,
        can_edit: actionable,
        can_deactivate: actionable && active,
        can_activate: actionable && !active,
        can_remove: actionable,
        can_resend: false,
        can_cancel: false,
        is_self,
        id: row.id,
    }
}

/// How the status filter reads in the list's menu.
fn status_label(s: StatusFilter) -> &'static str {
    match s {
        StatusFilter::Active => "Active",
        StatusFilter::Inactive => "Inactive",
        StatusFilter::Pending => "Pending Invitation",
        StatusFilter::Expired => "Expired Invitation",
    }
}

/// How each sort order reads in the list's menu.
fn sort_label(s: Sort) -> &'static str {
    match s {
        Sort::Email => "Email (A–Z)",
        Sort::EmailDesc => "Email (Z–A)",
        Sort::Created => "Newest first",
        Sort::CreatedAsc => "Oldest first",
        Sort::LastActive => "Recently active",
        Sort::LastActiveAsc => "Least recently active",
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Choice {
        Choice { value: value.into(), label: label.into(), selected }
    }
}

/// A custom role as a checkbox of the invite and edit forms.
pub struct RoleOption {
    pub id: String,
    pub name: String,
    /// Its permissions, briefly.
    pub summary: String,
    pub checked: bool,
    /// Whether the person filling the form may give it (else it is shown, disabled).
    pub givable: bool,
}

pub fn role_options(custom: &[RoleTag], held: PermissionSet, checked: &[String]) -> Vec<RoleOption> {
    custom
        .iter()
        .map(|t| RoleOption {
            id: t.id.to_string(),
            name: t.name.clone(),
            summary: t.permissions.essential().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
            checked: checked.iter().any(|c| c.trim() == t.id.to_string()),
            givable: held.covers(t.permissions),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "members/index.html")]
struct MembersPage {
    shell: Shell,
    org: String,
    rows: Vec<RowView>,
    total: i64,
    q: String,
    statuses: Vec<Choice>,
    roles: Vec<Choice>,
    custom_roles: Vec<Choice>,
    sorts: Vec<Choice>,
    filtered: bool,
    can_manage: bool,
    first: i64,
    last: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// The CSV export of what the list shows, all pages (for whom it works).
    export_href: Option<String>,
}

/// The list's URL (or its export's, `base`) with these parameters (empty ones left out).
fn list_href(base: &str, q: &str, status: &str, role: &str, sort: &str, page: i64) -> String {
    let page_s = page.to_string();
    let params: Vec<(&str, &str)> = [("q", q), ("status", status), ("role", role), ("sort", sort)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .chain((page > 1).then_some(("page", page_s.as_str())))
        .collect();
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() { base.to_string() } else { format!("{base}?{query}") }
}

pub async fn index(
    state: web::Data<AppState>,
    access: Authorized<perm::MembersRead>,
    query: web::Query<ListParams>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    let page = query.page.trim().parse::<i64>().ok().filter(|p| *p >= 1 && *p <= 1_000_000).unwrap_or(1);
    let mut dq = query.list_query();
    dq.offset = (page - 1) * PAGE_SIZE;
    let (q, status, role, sort) = (dq.q.clone().unwrap_or_default(), dq.status, dq.role, dq.sort);
    let org = access.org_id;
    let listed = state.run(move |db| operations::members::list(db, org, &dq)).await?;
    let total = listed.total;
    let viewer = Viewer {
        me: access.current.id(),
        held: access.permissions,
        can_manage: access.can(Permission::MembersManage),
        can_invite: access.can(Permission::MembersInvite),
    };
    let now = crate::domain::now();
    let mut rows: Vec<RowView> = listed.rows.into_iter().map(|(r, tags)| row_view(r, &tags, &viewer, now)).collect();
    mark_sso(&state, org, &mut rows).await?;
    let role_value = role.map(RoleFilter::value).unwrap_or_default();
    let (status_s, role_s, sort_s) =
        (status.map(|s| s.as_str()).unwrap_or(""), role_value.as_str(), if sort == Sort::Email { "" } else { sort.as_str() });
    let base = format!("/orgs/{org}/members");
    let first = if rows.is_empty() { 0 } else { (page - 1) * PAGE_SIZE + 1 };
    let last = (page - 1) * PAGE_SIZE + rows.len() as i64;
    let shell = Shell::load(&state, &access, Some(&access), "members", "Members").await?;
    shell::ok(&MembersPage {
        shell,
        org: org.to_string(),
        total,
        statuses: StatusFilter::ALL.iter().map(|s| Choice::new(s.as_str(), status_label(*s), Some(*s) == status)).collect(),
        roles: Role::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), Some(RoleFilter::Base(*r)) == role)).collect(),
        custom_roles: listed
            .custom_roles
            .iter()
            .map(|t| Choice::new(t.id.to_string(), t.name.clone(), Some(RoleFilter::Custom(t.id)) == role))
            .collect(),
        sorts: Sort::ALL.iter().map(|s| Choice::new(s.as_str(), sort_label(*s), *s == sort)).collect(),
        filtered: !q.is_empty() || status.is_some() || role.is_some(),
        can_manage: viewer.can_invite,
        first,
        last,
        prev_href: (page > 1).then(|| list_href(&base, &q, status_s, role_s, sort_s, page - 1)),
        next_href: (last < total).then(|| list_href(&base, &q, status_s, role_s, sort_s, page + 1)),
        export_href: access.can(Permission::MembersRead).then(|| list_href(&format!("{base}.csv"), &q, status_s, role_s, sort_s, 1)),
        q,
        rows,
    })
}

/// Marks the rows of members who sign in through the organization's single sign-on.
async fn mark_sso(state: &AppState, org: crate::domain::OrgId, rows: &mut [RowView]) -> Result<(), WebError> {
    let ids: Vec<crate::domain::AccountId> = rows.iter().filter(|r| !r.is_invitation).filter_map(|r| r.id.parse().ok()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let Some((host, linked)) = state.run(move |db| operations::sso::markers(db, org, ids)).await? else { return Ok(()) };
    for row in rows.iter_mut().filter(|r| linked.iter().any(|id| id.to_string() == r.id)) {
        row.sso_host = Some(host.clone());
    }
    Ok(())
}

// ---- export -------------------------------------------------------------------------------

/// The export's columns.
pub const CSV_HEADER: [&str; 8] = ["email", "name", "status", "role", "custom_roles", "created_at", "last_active_at", "auth_method"];

/// The rows of a slice as CSV records: the list's labels, times in RFC 3339 UTC to the second,
/// empty cells where the list has nothing, every cell safe in a spreadsheet. `sso` is the
/// organization's provider host and the accounts of the slice that sign in through it.
fn csv_rows(rows: &[(ListRow, Vec<RoleTag>)], sso: Option<&(String, Vec<crate::domain::AccountId>)>) -> Result<web::Bytes, csv::Error> {
    let sso_label = sso.map(|(host, _)| format!("SSO ({host})"));
    let through_sso = |row: &ListRow| {
        sso.is_some_and(|(_, linked)| row.kind != "invitation" && linked.iter().any(|id| id.to_string() == row.id))
    };
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 160));
    let (mut created, mut last_active) = (String::with_capacity(24), String::with_capacity(24));
    for (row, tags) in rows {
        created.clear();
        csv_export::rfc3339_secs(row.created_at, &mut created);
        last_active.clear();
        if let Some(t) = row.last_active_at {
            csv_export::rfc3339_secs(t, &mut last_active);
        }
        let custom_roles = tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("; ");
        let cells = [
            row.email.as_str(),
            row.name.as_str(),
            row_status(row),
            row.role.label(),
            custom_roles.as_str(),
            created.as_str(),
            last_active.as_str(),
            match (&sso_label, through_sso(row)) {
                (Some(label), true) => label.as_str(),
                _ => auth_method(row).unwrap_or(""),
            },
        ];
        let cells = cells.map(csv_export::spreadsheet_safe);
        out.write_record(cells.iter().map(|c| c.as_bytes()))?;
    }
    Ok(web::Bytes::from(out.into_inner().map_err(|e| e.into_error())?))
}

/// `GET /orgs/{org}/members.csv`: every row the list shows for the same filters, in its order,
/// streamed slice by slice. The export is recorded (`members.exported`) before it starts.
pub async fn export(
    state: web::Data<AppState>,
    access: Authorized<perm::MembersRead>,
    query: web::Query<ListParams>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner().list_query();
    let (org, ctx, recorded) = (access.org_id, access.ctx(), query.clone());
    let now = state.run(move |db| operations::member_export::start(db, &ctx, org, &recorded)).await?;
    let db = state.db.clone();
    let body = csv_export::stream_blocking(web::Bytes::from(CSV_HEADER.join(",") + "\n"), move |sink| {
        let mut from = Some(operations::member_export::Position::First);
        while let Some(at) = from.take() {
            let chunk = operations::member_export::slice(&db, org, &query, now, &at).and_then(|(rows, next)| {
                let accounts = rows.iter().filter(|(r, _)| r.kind != "invitation").filter_map(|(r, _)| r.id.parse().ok()).collect();
                let sso = operations::sso::markers(&db, org, accounts)?;
                Ok((csv_rows(&rows, sso.as_ref()).map_err(|e| OpError::Internal(e.to_string()))?, next))
            });
            match chunk {
                Ok((bytes, next)) => {
                    if !sink.send(bytes) {
                        return;
                    }
                    from = next;
                }
                Err(e) => return sink.fail("member", &e),
            }
        }
    });
    let disposition = format!("attachment; filename=\"{}\"", csv_export::dated_filename("members", &access.org_name));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

// ---- invite -------------------------------------------------------------------------------

/// The invitation form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    /// Custom role ids, repeated.
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Template)]
#[template(path = "members/invite.html", blocks = ["dialog"])]
struct InvitePage {
    shell: Shell,
    org: String,
    form: InviteForm,
    roles: Vec<Choice>,
    custom_roles: Vec<RoleOption>,
    errors: FormErrors,
}

/// The base roles the person filling the form may give, as choices.
fn grantable(selected: &str, held: PermissionSet) -> Vec<Choice> {
    Role::GRANTABLE
        .iter()
        .filter(|r| held.covers(r.permissions()))
        .map(|r| Choice::new(r.as_str(), r.label(), r.as_str() == selected))
        .collect()
}

async fn custom_role_options(state: &AppState, access: &OrgAccess, checked: &[String]) -> Result<Vec<RoleOption>, WebError> {
    let org = access.org_id;
    let custom = state.run(move |db| operations::members::custom_roles(db, org)).await?;
    Ok(role_options(&custom, access.permissions, checked))
}

dialog_page!(InvitePage, EditPage, DeactivatePage, RemovePage);

/// One of the member dialogs (invite, edit, deactivate, remove), at 200, or at 422 with its
/// form's errors.
async fn member_dialog<P: shell::DialogPage>(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    title: &str,
    errors: FormErrors,
    page: impl FnOnce(Shell, String, FormErrors) -> P,
) -> Result<HttpResponse, WebError> {
    let status = errors.status();
    let shell = Shell::load(state, access, Some(access), "members", title).await?;
    render_dialog(req, status, &page(shell, access.org_id.to_string(), errors))
}

async fn invite_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    form: InviteForm,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let roles = grantable(&form.role, access.permissions);
    let custom_roles = custom_role_options(state, access, &form.roles).await?;
    member_dialog(req, state, access, "Invite a member", errors, |shell, org, errors| InvitePage {
        shell,
        org,
        form,
        roles,
        custom_roles,
        errors,
    })
    .await
}

/// `?roles=…` preselects custom roles (the role page's "Invite into this role").
pub async fn invite_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
) -> Result<HttpResponse, WebError> {
    let preset: InviteForm = serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let form = InviteForm { roles: preset.roles, ..InviteForm::default() };
    invite_response(&req, &state, &access, form, FormErrors::none()).await
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: InviteForm = read_form(&body)?;
    let (ctx, org, settings, st) = (access.ctx(), access.org_id, state.invitation_settings(), state.get_ref().clone());
    let (email, role, roles, inviter) = (form.email.clone(), form.role.clone(), form.roles.clone(), access.current.id());
    let outcome = state
        .run(move |db| {
            st.limits.invitation_by(db, inviter, org)?;
            operations::invitations::invite(db, &st.mail, &settings, &ctx, org, &email, &role, &roles)
        })
        .await;
    let done = |_| {
        let email = Email::parse(&form.email).map(|e| e.to_string()).unwrap_or_default();
        Done::to(format!("/orgs/{org}/members"), format!("Invitation sent to {email}."))
    };
    post_redirect_get(&req, &access.session, outcome, done, |errors| {
        invite_response(&req, &state, &access, form.clone(), errors)
    })
    .await
}

// ---- edit role ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "members/edit.html", blocks = ["dialog"])]
struct EditPage {
    shell: Shell,
    org: String,
    member: Membership,
    roles: Vec<Choice>,
    custom_roles: Vec<RoleOption>,
    errors: FormErrors,
}

/// The member named by the path and their custom roles, if the signed-in member may act on them.
async fn actionable_with_roles(state: &AppState, access: &OrgAccess, raw: &str) -> Result<(Membership, Vec<String>), WebError> {
    let (org, account, actor, held) = (access.org_id, account_id(raw)?, access.actor(), access.permissions);
    let (member, custom) = state.run(move |db| operations::members::actionable(db, &actor, held, org, account)).await?;
    Ok((member, custom.into_iter().map(|r| r.id.to_string()).collect()))
}

/// The member named by the path, if the signed-in member may act on them.
async fn actionable_member(state: &AppState, access: &OrgAccess, raw: &str) -> Result<Membership, WebError> {
    Ok(actionable_with_roles(state, access, raw).await?.0)
}

async fn edit_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    form: &MemberForm,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let mut roles = grantable(&form.role, access.permissions);
    if !roles.iter().any(|c| c.value == member.role.as_str()) {
        // the member's present role stays choosable, so that only their custom roles can change
        roles.insert(0, Choice::new(member.role.as_str(), member.role.label(), form.role == member.role.as_str()));
    }
    let custom_roles = custom_role_options(state, access, &form.roles).await?;
    member_dialog(req, state, access, "Edit member", errors, |shell, org, errors| EditPage {
        shell,
        org,
        member,
        roles,
        custom_roles,
        errors,
    })
    .await
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (member, roles) = actionable_with_roles(&state, &access, &path.1).await?;
    let form = MemberForm { role: member.role.as_str().to_string(), roles, roles_submitted: None };
    edit_response(&req, &state, &access, member, &form, FormErrors::none()).await
}

/// The edit form: the base role, the custom roles (repeated), and `roles_submitted`, which the
/// form always sends so that no custom role checked means "none" rather than "unchanged".
#[derive(Debug, Default, serde::Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    roles_submitted: Option<String>,
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: MemberForm = read_form(&body)?;
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let ctx = access.ctx();
    let (role, roles, submitted) = (form.role.clone(), form.roles.clone(), form.roles_submitted.is_some());
    let outcome = state
        .run(move |db| {
            let change = operations::members::Change {
                role: Some(&role),
                roles: submitted.then_some(roles.as_slice()),
                ..Default::default()
            };
            operations::members::update(db, &ctx, org, target, change)
        })
        .await;
    let done = |()| Done::to(format!("/orgs/{org}/members"), "Member updated.");
    post_redirect_get(&req, &access.session, outcome, done, |errors| async {
        let member = actionable_member(&state, &access, &path.1).await?;
        edit_response(&req, &state, &access, member, &form, errors).await
    })
    .await
}

// ---- what a departing member leaves behind -------------------------------------------------

/// A key the member made, or an invitation they sent, as the deactivate and remove dialogs
/// list it, with its checkbox.
pub struct LeftoverView {
    pub id: String,
    /// The key's name, or the invited email.
    pub title: String,
    /// What else tells it apart: prefix, permissions and scope; role and expiry.
    pub detail: String,
    /// An invitation past its expiry, still pending.
    pub expired: bool,
    pub checked: bool,
}

/// What the member leaves behind in the organization, as the dialogs list it.
pub struct LeftBehind {
    /// Whether the viewer may revoke keys (`api_keys.manage`), and so sees them.
    pub show_keys: bool,
    pub keys: Vec<LeftoverView>,
    pub invitations: Vec<LeftoverView>,
}

/// The deactivate and remove forms: the typed email (remove only) and the chosen ids, which
/// are repeated fields the usual form extractor cannot read.
#[derive(Debug, Default, serde::Deserialize)]
pub struct OffboardForm {
    #[serde(default)]
    confirm_email: String,
    #[serde(default)]
    revoke_keys: Vec<String>,
    #[serde(default)]
    cancel_invitations: Vec<String>,
}

impl OffboardForm {
    fn chosen(&self) -> Chosen {
        Chosen { revoke_keys: self.revoke_keys.clone(), cancel_invitations: self.cancel_invitations.clone() }
    }
}

fn left_behind_view(left: Leftovers, show_keys: bool, posted: Option<&Chosen>, now: chrono::NaiveDateTime) -> LeftBehind {
    // first shown, every box is checked; shown again after a refused form, as it was sent
    let checked = |id: &str, sent: fn(&Chosen) -> &Vec<String>| {
        posted.is_none_or(|c| sent(c).iter().any(|s| s.trim().eq_ignore_ascii_case(id)))
    };
    // keys are shown only to those who may revoke them
    let keys = if show_keys { left.keys } else { Vec::new() };
    let keys = keys
        .into_iter()
        .map(|k| {
            let id = k.id.to_string();
            let scope = if k.all_deployments() { "all deployments" } else { "selected deployments" };
            let last_used = k.last_used_at.map(|t| format::ago(t, now)).unwrap_or_else(|| "never".into());
            LeftoverView {
                checked: checked(&id, |c| &c.revoke_keys),
                detail: format!(
                    "{}{}… · {} · {scope} · made {} · last used {last_used}",
                    operations::api_keys::PREFIX,
                    k.lookup,
                    crate::web::api_keys::permissions_label(&k),
                    format::date(k.created_at),
                ),
                title: k.name,
                expired: false,
                id,
            }
        })
        .collect();
    let invitations = left
        .invitations
        .into_iter()
        .map(|i| {
            let id = i.id.to_string();
            let expired = i.expires_at <= now;
            let when = if expired { format!("expired {}", format::date(i.expires_at)) } else { format!("expires {} UTC", format::minutes(i.expires_at)) };
            LeftoverView {
                checked: checked(&id, |c| &c.cancel_invitations),
                detail: format!("{} · sent {} · {when}", i.role.label(), format::date(i.created_at)),
                title: i.email.to_string(),
                expired,
                id,
            }
        })
        .collect();
    LeftBehind { show_keys, keys, invitations }
}

/// What `member` leaves behind, each box checked, or as `posted` when the form is shown again.
async fn left_behind(state: &AppState, access: &OrgAccess, member: &Membership, posted: Option<&Chosen>) -> Result<LeftBehind, WebError> {
    let (org, account) = (access.org_id, member.account_id);
    let left = state.run(move |db| operations::offboarding::left_behind(db, org, account)).await?;
    Ok(left_behind_view(left, access.can(Permission::ApiKeysManage), posted, crate::domain::now()))
}

/// What the message after a deactivation or removal adds about the keys and invitations.
fn cleared_message(chosen: &Chosen) -> String {
    let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
    match chosen.counts() {
        (0, 0) => String::new(),
        (k, 0) => format!(" {} revoked.", plural(k, "API key", "API keys")),
        (0, i) => format!(" {} cancelled.", plural(i, "invitation", "invitations")),
        (k, i) => format!(" {} revoked, {} cancelled.", plural(k, "API key", "API keys"), plural(i, "invitation", "invitations")),
    }
}

// ---- activate / deactivate ----------------------------------------------------------------

pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let ctx = access.ctx();
    let outcome: Result<(), OpError> = state.run(move |db| operations::members::set_active(db, &ctx, org, target, true)).await;
    outcome?;
    crate::web::session::flash(&access.session, crate::web::session::FlashKind::Success, "Member activated.");
    Ok(see_other(&req, &format!("/orgs/{org}/members")))
}

#[derive(Template)]
#[template(path = "members/deactivate.html", blocks = ["dialog"])]
struct DeactivatePage {
    shell: Shell,
    org: String,
    member: Membership,
    left: LeftBehind,
    errors: FormErrors,
}

async fn deactivate_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    posted: Option<&Chosen>,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let left = left_behind(state, access, &member, posted).await?;
    member_dialog(req, state, access, "Deactivate member", errors, |shell, org, errors| DeactivatePage { shell, org, member, left, errors }).await
}

pub async fn deactivate_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let member = actionable_member(&state, &access, &path.1).await?;
    deactivate_response(&req, &state, &access, member, None, FormErrors::none()).await
}

pub async fn deactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let chosen = read_form::<OffboardForm>(&body)?.chosen();
    let (ctx, attempt) = (access.ctx(), chosen.clone());
    let outcome = state.run(move |db| operations::members::deactivate(db, &ctx, org, target, &attempt)).await;
    let done = |()| Done::to(format!("/orgs/{org}/members"), format!("Member deactivated. Their access ended at once.{}", cleared_message(&chosen)));
    post_redirect_get(&req, &access.session, outcome, done, |errors| async {
        let member = actionable_member(&state, &access, &path.1).await?;
        deactivate_response(&req, &state, &access, member, Some(&chosen), errors).await
    })
    .await
}

// ---- remove -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "members/remove.html", blocks = ["dialog"])]
struct RemovePage {
    shell: Shell,
    org: String,
    member: Membership,
    typed: String,
    left: LeftBehind,
    errors: FormErrors,
}

async fn remove_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    typed: String,
    posted: Option<&Chosen>,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let left = left_behind(state, access, &member, posted).await?;
    member_dialog(req, state, access, "Remove member", errors, |shell, org, errors| RemovePage { shell, org, member, typed, left, errors }).await
}

pub async fn remove_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let member = actionable_member(&state, &access, &path.1).await?;
    remove_response(&req, &state, &access, member, String::new(), None, FormErrors::none()).await
}

pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let form = read_form::<OffboardForm>(&body)?;
    let (ctx, typed, chosen) = (access.ctx(), form.confirm_email.clone(), form.chosen());
    let (attempt, attempt_chosen) = (typed.clone(), chosen.clone());
    let outcome = state.run(move |db| operations::members::remove(db, &ctx, org, target, &attempt, &attempt_chosen)).await;
    let done = |()| {
        let message = format!("Member removed. They must be invited again to come back.{}", cleared_message(&chosen));
        Done::to(format!("/orgs/{org}/members"), message)
    };
    post_redirect_get(&req, &access.session, outcome, done, |errors| async {
        let member = actionable_member(&state, &access, &path.1).await?;
        remove_response(&req, &state, &access, member, typed, Some(&chosen), errors).await
    })
    .await
}
