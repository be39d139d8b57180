//! The member list and its actions: invite, edit role, activate/deactivate, remove. Each
//! dialog is one template: its `dialog` block is the htmx fragment, the whole template the
//! page that works without JavaScript.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::{AccountId, MembershipStatus, OrgId, Permission, Role};
use crate::ops::{self, invitations::InviteInput};
use crate::store::directory::{self, Sort, StatusFilter};
use crate::store::members::Membership;
use crate::store::{self};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, see_other};
use crate::web::state::AppState;

pub const PAGE_SIZE: i64 = 50;

/// Whether the request comes from htmx (which wants the fragment only).
pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}

fn account_id(raw: &str) -> Result<AccountId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
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

/// `2026-11-23 14:05`. The dates and times of a page are written field by field: chrono's
/// `format` parses its pattern again on every call, a measurable share of a 50-row page.
pub fn fmt_time(t: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%d %H:%M").to_string();
    }
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute())
}

/// `2026-11-23`.
pub fn fmt_date(t: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%d").to_string();
    }
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// `2026-11-23 14:05:09`.
pub fn fmt_seconds(t: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// "just now", "5 minutes ago", "3 days ago", then the date.
pub fn fmt_ago(t: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> String {
    let secs = (now - t).num_seconds().max(0);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => plural(secs / 60, "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=2_591_999 => plural(secs / 86_400, "day"),
        _ => fmt_date(t),
    }
}

fn row_view(row: directory::Row, me: AccountId, can_manage: bool, now: chrono::NaiveDateTime) -> RowView {
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
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
            created: fmt_date(row.created_at),
            created_full: fmt_time(row.created_at),
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
    let is_self = row.id == me.to_db();
    let actionable = can_manage && !is_self && role != Role::Owner;
    RowView {
        is_invitation: false,
        email: row.email,
        name: row.name,
        status_label: if active { "Active" } else { "Inactive" },
        status_class: if active { "badge-green" } else { "badge-gray" },
        role: role.label(),
        created: fmt_date(row.created_at),
        created_full: fmt_time(row.created_at),
        last_active: row.last_active_at.map(|t| fmt_ago(t, now)).unwrap_or_else(|| "Never".into()),
        last_active_full: row.last_active_at.map(fmt_time).unwrap_or_default(),
        auth_method: "Password",
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
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    // Unknown filter values are ignored rather than refused: a stale bookmark still opens.
    let status = StatusFilter::parse(&query.status);
    let role = Role::parse(query.role.trim());
    let sort = Sort::parse(&query.sort).unwrap_or(Sort::Email);
    let page = query.page.trim().parse::<i64>().ok().filter(|p| *p >= 1 && *p <= 1_000_000).unwrap_or(1);
    let q: String = query.q.trim().chars().take(200).collect();
    let dq = directory::Query {
        q: Some(q.clone()).filter(|s| !s.is_empty()),
        status,
        role,
        sort,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let org = access.org_id;
    let (rows, total) = state
        .run(move |db| -> Result<_, WebError> {
            let mut conn = db.conn()?;
            let now = store::now();
            Ok((directory::page(&mut conn, org, &dq, now)?, directory::count(&mut conn, org, &dq, now)?))
        })
        .await?;
    let can_manage = access.can(Permission::MembersManage);
    let me = access.current.id();
    let now = store::now();
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
        statuses: StatusFilter::ALL.iter().map(|s| Choice { value: s.as_str(), label: s.label(), selected: Some(*s) == status }).collect(),
        roles: Role::ALL.iter().map(|r| Choice { value: r.as_str(), label: r.label(), selected: Some(*r) == role }).collect(),
        sorts: Sort::ALL.iter().map(|s| Choice { value: s.as_str(), label: s.label(), selected: *s == sort }).collect(),
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

#[cfg(test)]
mod tests {
    use super::{fmt_ago, fmt_date, fmt_seconds, fmt_time};
    use chrono::{Duration, NaiveDate};

    #[test]
    fn last_active_reads_as_elapsed_time() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 23).and_then(|d| d.and_hms_opt(12, 0, 0)).unwrap_or_default();
        assert_eq!(fmt_ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(fmt_ago(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(fmt_ago(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(fmt_ago(now - Duration::days(3), now), "3 days ago");
        assert_eq!(fmt_ago(now - Duration::days(60), now), "2026-09-24");
    }

    #[test]
    fn times_read_as_chrono_would_write_them() {
        let t = NaiveDate::from_ymd_opt(2026, 3, 4).and_then(|d| d.and_hms_micro_opt(5, 6, 7, 890)).unwrap_or_default();
        assert_eq!(fmt_time(t), t.format("%Y-%m-%d %H:%M").to_string());
        assert_eq!(fmt_date(t), "2026-03-04");
        assert_eq!(fmt_seconds(t), "2026-03-04 05:06:07");
        let far = NaiveDate::from_ymd_opt(12026, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
        assert_eq!(fmt_date(far), far.format("%Y-%m-%d").to_string());
    }
}

#[derive(Template)]
#[template(path = "members/invite.html")]
struct InvitePage {
    shell: Shell,
    org: String,
    form: InviteInput,
    roles: Vec<Choice>,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "members/invite.html", block = "dialog")]
struct InviteDialog {
    shell: Shell,
    org: String,
    form: InviteInput,
    roles: Vec<Choice>,
    errors: FormErrors,
}

fn grantable(selected: &str) -> Vec<Choice> {
    Role::GRANTABLE.iter().map(|r| Choice { value: r.as_str(), label: r.label(), selected: r.as_str() == selected }).collect()
}

async fn invite_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    form: InviteInput,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let status = errors.status();
    let shell = Shell::load(state, access, Some(access), "members", "Invite a member").await?;
    let (org, roles) = (access.org_id.to_string(), grantable(&form.role));
    if is_htmx(req) {
        shell::render(status, &InviteDialog { shell, org, form, roles, errors })
    } else {
        shell::render(status, &InvitePage { shell, org, form, roles, errors })
    }
}

pub async fn invite_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
) -> Result<HttpResponse, WebError> {
    invite_response(&req, &state, &access, InviteInput::default(), FormErrors::none()).await
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    form: web::Form<InviteInput>,
) -> Result<HttpResponse, WebError> {
    state.limits.invitation(access.org_id)?;
    let input = form.into_inner();
    let (ctx, org, settings, st) = (access.ctx(), access.org_id, state.invitation_settings(), state.get_ref().clone());
    let attempt = input.clone();
    let result = state
        .run(move |db| ops::invitations::invite(db, &st.mail, &settings, &ctx, org, &attempt))
        .await;
    match result {
        Ok(_) => {
            let email = crate::domain::Email::parse(&input.email).map(|e| e.to_string()).unwrap_or_default();
            session::flash(&access.session, FlashKind::Success, format!("Invitation sent to {email}."));
            Ok(see_other(&req, &format!("/orgs/{org}/members")))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            invite_response(&req, &state, &access, input, errors).await
        }
    }
}

// ---- edit role ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "members/edit.html")]
struct EditPage {
    shell: Shell,
    org: String,
    member: Membership,
    roles: Vec<Choice>,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "members/edit.html", block = "dialog")]
struct EditDialog {
    shell: Shell,
    org: String,
    member: Membership,
    roles: Vec<Choice>,
    errors: FormErrors,
}

async fn editable_member(state: &AppState, access: &OrgAccess, raw: &str) -> Result<Membership, WebError> {
    let (org, account) = (access.org_id, account_id(raw)?);
    let member = state.run(move |db| ops::members::member(db, org, account)).await?;
    let me = access.current.id();
    crate::domain::policy::can_act_on(Some(me), crate::domain::policy::Target { account, role: member.role })
        .map_err(|r| WebError::Forbidden(r.message().into()))?;
    Ok(member)
}

async fn edit_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    selected: &str,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let status = errors.status();
    let shell = Shell::load(state, access, Some(access), "members", "Edit member").await?;
    let (org, roles) = (access.org_id.to_string(), grantable(selected));
    if is_htmx(req) {
        shell::render(status, &EditDialog { shell, org, member, roles, errors })
    } else {
        shell::render(status, &EditPage { shell, org, member, roles, errors })
    }
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let member = editable_member(&state, &access, &path.1).await?;
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
    match state.run(move |db| ops::members::change_role(db, &ctx, org, target, &attempt)).await {
        Ok(()) => {
            session::flash(&access.session, FlashKind::Success, "Member updated.");
            Ok(see_other(&req, &format!("/orgs/{org}/members")))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let member = editable_member(&state, &access, &path.1).await?;
            edit_response(&req, &state, &access, member, &role, errors).await
        }
    }
}

// ---- activate / deactivate ----------------------------------------------------------------

async fn set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    active: bool,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let ctx = access.ctx();
    state.run(move |db| ops::members::set_active(db, &ctx, org, target, active)).await?;
    let message = if active { "Member activated." } else { "Member deactivated. Their access ended at once." };
    session::flash(&access.session, FlashKind::Success, message);
    Ok(see_other(&req, &format!("/orgs/{org}/members")))
}

pub async fn deactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    set_active(req, state, access, path, false).await
}

pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    set_active(req, state, access, path, true).await
}

// ---- remove -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "members/remove.html")]
struct RemovePage {
    shell: Shell,
    org: String,
    member: Membership,
    typed: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "members/remove.html", block = "dialog")]
struct RemoveDialog {
    shell: Shell,
    org: String,
    member: Membership,
    typed: String,
    errors: FormErrors,
}

async fn remove_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    member: Membership,
    typed: String,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let status = errors.status();
    let shell = Shell::load(state, access, Some(access), "members", "Remove member").await?;
    let org = access.org_id.to_string();
    if is_htmx(req) {
        shell::render(status, &RemoveDialog { shell, org, member, typed, errors })
    } else {
        shell::render(status, &RemovePage { shell, org, member, typed, errors })
    }
}

pub async fn remove_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let member = editable_member(&state, &access, &path.1).await?;
    remove_response(&req, &state, &access, member, String::new(), FormErrors::none()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm_email: String,
}

pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, WebError> {
    let (org, target) = (access.org_id, account_id(&path.1)?);
    let (ctx, typed) = (access.ctx(), form.into_inner().confirm_email);
    let attempt = typed.clone();
    match state.run(move |db| ops::members::remove(db, &ctx, org, target, &attempt)).await {
        Ok(()) => {
            session::flash(&access.session, FlashKind::Success, "Member removed. They must be invited again to come back.");
            Ok(see_other(&req, &format!("/orgs/{org}/members")))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let member = editable_member(&state, &access, &path.1).await?;
            remove_response(&req, &state, &access, member, typed, errors).await
        }
    }
}
