//! The member list and its actions: invite, edit role, activate/deactivate, remove. Each
//! dialog is one template: its `dialog` block is the htmx fragment, the whole template the
//! page that works without JavaScript. The deactivate and remove dialogs list what the member
//! leaves behind (keys, pending invitations), to revoke and cancel with the change.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::member_list::{Sort, StatusFilter};
use crate::domain::{AccountId, Email, MembershipStatus, OrgId, Permission, Role};
use crate::operations::members::{ListQuery, ListRow, Membership};
use crate::operations::offboarding::{Chosen, Leftovers};
use crate::operations::{self, OpError};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::FormErrors;
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

/// A row as the template shows it.
pub struct RowView {
    pub is_invitation: bool,
    pub id: String,
    pub email: String,
    pub name: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    pub role: &'static str,
    pub created: String,
    pub created_full: String,
    pub last_active: String,
    pub last_active_full: String,
    pub auth_method: &'static str,
    pub can_edit: bool,
    pub can_deactivate: bool,
    pub can_activate: bool,
    pub can_remove: bool,
    pub can_resend: bool,
    pub can_cancel: bool,
    pub is_self: bool,
}

fn row_view(row: ListRow, me: AccountId, can_manage: bool, now: chrono::NaiveDateTime) -> RowView {
    let role = row.role;
    if row.kind == "invitation" {
        let expired = row.status == "expired";
        return RowView {
            is_invitation: true,
            id: row.id,
            email: row.email,
            name: String::new(),
            status_label: if expired { "Expired Invitation" } else { "Pending Invitation" },
            status_class: if expired { "badge-amber" } else { "badge-blue" },
            role: role.label(),
            created: format::date(row.created_at),
            created_full: format::minutes(row.created_at),
            last_active: "—".into(),
            last_active_full: String::new(),
            auth_method: "—",
            can_edit: false,
            can_deactivate: false,
            can_activate: false,
            can_remove: false,
            can_resend: can_manage,
            can_cancel: can_manage,
            is_self: false,
        };
    }
    let active = row.status == MembershipStatus::Active.as_str();
    let is_self = row.id == me.to_string();
    let actionable = can_manage && !is_self && role != Role::Owner;
    RowView {
        is_invitation: false,
        email: row.email,
        name: row.name,
        status_label: if active { "Active" } else { "Inactive" },
        status_class: if active { "badge-green" } else { "badge-gray" },
        role: role.label(),
        created: format::date(row.created_at),
        created_full: format::minutes(row.created_at),
        last_active: row.last_active_at.map(|t| format::ago(t, now)).unwrap_or_else(|| "Never".into()),
        last_active_full: row.last_active_at.map(format::minutes).unwrap_or_default(),
        auth_method: if row.two_factor { "Password + 2FA" } else { "Password" },
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
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
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
    sorts: Vec<Choice>,
    filtered: bool,
    can_manage: bool,
    first: i64,
    last: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// The list's URL with these parameters (empty ones left out).
fn list_href(org: OrgId, q: &str, status: &str, role: &str, sort: &str, page: i64) -> String {
    let page_s = page.to_string();
    let params: Vec<(&str, &str)> = [("q", q), ("status", status), ("role", role), ("sort", sort)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .chain((page > 1).then_some(("page", page_s.as_str())))
        .collect();
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() { format!("/orgs/{org}/members") } else { format!("/orgs/{org}/members?{query}") }
}

pub async fn index(
    state: web::Data<AppState>,
    access: Authorized<perm::MembersRead>,
    query: web::Query<ListParams>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    // Unknown filter values are ignored rather than refused: a stale bookmark still opens.
    let status = StatusFilter::parse(&query.status);
    let role = Role::parse(query.role.trim());
    let sort = Sort::parse(&query.sort).unwrap_or(Sort::Email);
    let page = query.page.trim().parse::<i64>().ok().filter(|p| *p >= 1 && *p <= 1_000_000).unwrap_or(1);
    let q: String = query.q.trim().chars().take(200).collect();
    let dq = ListQuery {
        q: Some(q.clone()).filter(|s| !s.is_empty()),
        status,
        role,
        sort,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let org = access.org_id;
    let (rows, total) = state.run(move |db| operations::members::list(db, org, &dq)).await?;
    let can_manage = access.can(Permission::MembersManage);
    let me = access.current.id();
    let now = crate::domain::now();
    let rows: Vec<RowView> = rows.into_iter().map(|r| row_view(r, me, can_manage, now)).collect();
    let (status_s, role_s, sort_s) =
        (status.map(|s| s.as_str()).unwrap_or(""), role.map(|r| r.as_str()).unwrap_or(""), if sort == Sort::Email { "" } else { sort.as_str() });
    let first = if rows.is_empty() { 0 } else { (page - 1) * PAGE_SIZE + 1 };
    let last = (page - 1) * PAGE_SIZE + rows.len() as i64;
    let shell = Shell::load(&state, &access, Some(&access), "members", "Members").await?;
    shell::ok(&MembersPage {
        shell,
        org: org.to_string(),
        total,
        statuses: StatusFilter::ALL.iter().map(|s| Choice { value: s.as_str(), label: status_label(*s), selected: Some(*s) == status }).collect(),
        roles: Role::ALL.iter().map(|r| Choice { value: r.as_str(), label: r.label(), selected: Some(*r) == role }).collect(),
        sorts: Sort::ALL.iter().map(|s| Choice { value: s.as_str(), label: sort_label(*s), selected: *s == sort }).collect(),
        filtered: !q.is_empty() || status.is_some() || role.is_some(),
        can_manage,
        first,
        last,
        prev_href: (page > 1).then(|| list_href(org, &q, status_s, role_s, sort_s, page - 1)),
        next_href: (last < total).then(|| list_href(org, &q, status_s, role_s, sort_s, page + 1)),
        q,
        rows,
    })
}

// ---- invite -------------------------------------------------------------------------------

/// The invitation form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Template)]
#[template(path = "members/invite.html", blocks = ["dialog"])]
struct InvitePage {
    shell: Shell,
    org: String,
    form: InviteForm,
    roles: Vec<Choice>,
    errors: FormErrors,
}

fn grantable(selected: &str) -> Vec<Choice> {
    Role::GRANTABLE.iter().map(|r| Choice { value: r.as_str(), label: r.label(), selected: r.as_str() == selected }).collect()
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
    let roles = grantable(&form.role);
    member_dialog(req, state, access, "Invite a member", errors, |shell, org, errors| InvitePage { shell, org, form, roles, errors }).await
}

pub async fn invite_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
) -> Result<HttpResponse, WebError> {
    invite_response(&req, &state, &access, InviteForm::default(), FormErrors::none()).await
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, WebError> {
    // the person's own limit first, so that someone over it cannot use up the quota the
    // organization's other admins share
    state.limits.invitation_by(access.current.id())?;
    state.limits.invitation(access.org_id)?;
    let form = form.into_inner();
    let (ctx, org, settings, st) = (access.ctx(), access.org_id, state.invitation_settings(), state.get_ref().clone());
    let (email, role) = (form.email.clone(), form.role.clone());
    let outcome = state.run(move |db| operations::invitations::invite(db, &st.mail, &settings, &ctx, org, &email, &role)).await;
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
    errors: FormErrors,
}

/// The member named by the path, if the signed-in member may act on them.
async fn actionable_member(state: &AppState, access: &OrgAccess, raw: &str) -> Result<Membership, WebError> {
    let (org, account, actor) = (access.org_id, account_id(raw)?, access.actor());
    Ok(state.run(move |db| operations::members::actionable(db, &actor, org, account)).await?)
}

async fn edit_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    selected: &str,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let roles = grantable(selected);
    member_dialog(req, state, access, "Edit member", errors, |shell, org, errors| EditPage { shell, org, member, roles, errors }).await
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let member = actionable_member(&state, &access, &path.1).await?;
    let selected = member.role.as_str();
    edit_response(&req, &state, &access, member.clone(), selected, FormErrors::none()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let (ctx, role) = (access.ctx(), form.into_inner().role);
    let attempt = role.clone();
    let outcome = state.run(move |db| operations::members::change_role(db, &ctx, org, target, &attempt)).await;
    let done = |()| Done::to(format!("/orgs/{org}/members"), "Member updated.");
    post_redirect_get(&req, &access.session, outcome, done, |errors| async {
        let member = actionable_member(&state, &access, &path.1).await?;
        edit_response(&req, &state, &access, member, &role, errors).await
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
    fn read(body: &[u8]) -> Result<OffboardForm, WebError> {
        serde_html_form::from_bytes(body).map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))
    }

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
                    crate::web::api_keys::permissions_label(&k.permissions),
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
    let chosen = OffboardForm::read(&body)?.chosen();
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
    let form = OffboardForm::read(&body)?;
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
