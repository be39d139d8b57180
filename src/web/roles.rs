//! The roles pages: the built-in roles and the organization's custom roles, the permission
//! reference, a role's details (its members and pending invitations), and the dialogs that
//! create, edit and delete a custom role.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::roles::{Area, CUSTOM_ROLE_PERMISSIONS};
use crate::domain::{AccountId, Permission, PermissionSet, Role, RoleId};
use crate::operations::roles::{self as ops, CustomRole};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::format;
use crate::web::forms::{ConfirmNameForm, FormErrors, read_form};
use crate::web::shell::{self, Done, Shell, dialog_page, post_redirect_get, render_dialog, see_other};

fn role_id(raw: &str) -> Result<RoleId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

/// A permission in plain words, as the pages list it.
pub struct PermissionLine {
    pub name: &'static str,
    pub explanation: &'static str,
}

/// Permissions by area, for the reference and for what a role allows.
pub struct AreaLines {
    pub label: &'static str,
    pub lines: Vec<PermissionLine>,
}

/// What `set` allows, by area, in plain words (areas it says nothing about left out; a finer
/// permission its broader one includes is not said twice).
pub fn in_plain_words(set: PermissionSet) -> Vec<AreaLines> {
    by_area(set.essential().collect())
}

/// Every permission, by area: the permission reference.
fn reference() -> Vec<AreaLines> {
    by_area(Permission::ALL.to_vec())
}

fn by_area(perms: Vec<Permission>) -> Vec<AreaLines> {
    Area::ALL
        .iter()
        .map(|area| AreaLines {
            label: area.label(),
            lines: perms
                .iter()
                .filter(|p| p.area() == *area)
                .map(|p| PermissionLine { name: p.as_str(), explanation: p.explanation() })
                .collect(),
        })
        .filter(|a| !a.lines.is_empty())
        .collect()
}

/// A permission as a checkbox of the role form.
pub struct PermissionChoice {
    pub name: &'static str,
    pub explanation: &'static str,
    pub checked: bool,
    /// Whether the person filling the form holds it (else it is shown, disabled).
    pub holdable: bool,
}

pub struct AreaChoices {
    pub label: &'static str,
    pub choices: Vec<PermissionChoice>,
}

/// The permission reference as checkboxes, grouped by area.
pub fn permission_choices(checked: &[String], held: PermissionSet) -> Vec<AreaChoices> {
    Area::ALL
        .iter()
        .map(|area| AreaChoices {
            label: area.label(),
            choices: CUSTOM_ROLE_PERMISSIONS
                .iter()
                .filter(|p| p.area() == *area)
                .map(|p| PermissionChoice {
                    name: p.as_str(),
                    explanation: p.explanation(),
                    checked: checked.iter().any(|c| c.trim() == p.as_str()),
                    holdable: held.contains(p),
                })
                .collect(),
        })
        .filter(|a| !a.choices.is_empty())
        .collect()
}

// ---- the list -----------------------------------------------------------------------------

pub struct BuiltinView {
    pub name: &'static str,
    pub description: &'static str,
    pub allows: Vec<AreaLines>,
}

pub struct CustomView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub permissions: Vec<&'static str>,
    pub members: i64,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "roles/index.html")]
struct RolesPage {
    shell: Shell,
    org: String,
    builtin: Vec<BuiltinView>,
    custom: Vec<CustomView>,
    reference: Vec<AreaLines>,
    can_manage_roles: bool,
}

pub async fn index(state: web::Data<AppState>, access: Authorized<perm::MembersRead>) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let listed = state.run(move |db| ops::list(db, org)).await?;
    let shell = Shell::load(&state, &access, Some(&access), "roles", "Roles").await?;
    shell::ok(&RolesPage {
        shell,
        org: org.to_string(),
        builtin: Role::ALL
            .iter()
            .map(|r| BuiltinView { name: r.label(), description: r.description(), allows: in_plain_words(r.permissions()) })
            .collect(),
        custom: listed
            .into_iter()
            .map(|l| CustomView {
                id: l.role.id.to_string(),
                name: l.role.name,
                description: l.role.description,
                permissions: l.role.permissions.essential().map(Permission::as_str).collect(),
                members: l.members,
                updated: format::date(l.role.updated_at),
            })
            .collect(),
        reference: reference(),
        can_manage_roles: access.can(Permission::RolesManage),
    })
}

// ---- create and edit ----------------------------------------------------------------------

/// The role form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl RoleForm {
    fn of(role: &CustomRole) -> RoleForm {
        RoleForm {
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.iter().map(|p| p.as_str().to_string()).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "roles/form.html", blocks = ["dialog"])]
struct RoleFormPage {
    shell: Shell,
    org: String,
    /// None when creating.
    role_id: Option<String>,
    form: RoleForm,
    areas: Vec<AreaChoices>,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "roles/delete.html", blocks = ["dialog"])]
struct DeletePage {
    shell: Shell,
    org: String,
    role: CustomRole,
    members: usize,
    typed: String,
    errors: FormErrors,
}

dialog_page!(RoleFormPage, DeletePage);

async fn form_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    role_id: Option<RoleId>,
    form: RoleForm,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let title = if role_id.is_some() { "Edit role" } else { "New role" };
    let shell = Shell::load(state, access, Some(access), "roles", title).await?;
    let areas = permission_choices(&form.permissions, access.permissions);
    let page = RoleFormPage {
        shell,
        org: access.org_id.to_string(),
        role_id: role_id.map(|r| r.to_string()),
        form,
        areas,
        errors: errors.clone(),
    };
    render_dialog(req, errors.status(), &page)
}

pub async fn new_form(req: HttpRequest, state: web::Data<AppState>, access: Authorized<perm::RolesManage>) -> Result<HttpResponse, WebError> {
    form_response(&req, &state, &access, None, RoleForm::default(), FormErrors::none()).await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::RolesManage>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: RoleForm = read_form(&body)?;
    let (ctx, org, attempt) = (access.ctx(), access.org_id, form.clone());
    let outcome = state.run(move |db| ops::create(db, &ctx, org, &attempt.name, &attempt.description, &attempt.permissions)).await;
    let done = |role: CustomRole| Done::to(format!("/orgs/{org}/roles/{}", role.id), format!("Role “{}” created.", role.name));
    post_redirect_get(&req, &access.session, outcome, done, |errors| form_response(&req, &state, &access, None, form, errors)).await
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::RolesManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, role_id(&path.1)?);
    let role = state.run(move |db| ops::get(db, org, id)).await?;
    form_response(&req, &state, &access, Some(id), RoleForm::of(&role), FormErrors::none()).await
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::RolesManage>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, role_id(&path.1)?);
    let form: RoleForm = read_form(&body)?;
    let (ctx, attempt) = (access.ctx(), form.clone());
    let outcome =
        state.run(move |db| ops::update(db, &ctx, org, id, &attempt.name, &attempt.description, &attempt.permissions)).await;
    let done = |role: CustomRole| Done::to(format!("/orgs/{org}/roles/{id}"), format!("Role “{}” saved.", role.name));
    post_redirect_get(&req, &access.session, outcome, done, |errors| form_response(&req, &state, &access, Some(id), form, errors)).await
}

// ---- delete -------------------------------------------------------------------------------

async fn delete_response(
    req: &HttpRequest,
    state: &AppState,
    access: &OrgAccess,
    id: RoleId,
    typed: String,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let details = state.run(move |db| ops::details(db, org, id)).await?;
    let shell = Shell::load(state, access, Some(access), "roles", "Delete role").await?;
    let page = DeletePage {
        shell,
        org: org.to_string(),
        members: details.members.len(),
        role: details.role,
        typed,
        errors: errors.clone(),
    };
    render_dialog(req, errors.status(), &page)
}

pub async fn delete_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::RolesManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    delete_response(&req, &state, &access, role_id(&path.1)?, String::new(), FormErrors::none()).await
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::RolesManage>,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmNameForm>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, role_id(&path.1)?);
    let (ctx, typed) = (access.ctx(), form.into_inner().confirm_name);
    let attempt = typed.clone();
    let outcome = state.run(move |db| ops::delete(db, &ctx, org, id, &attempt)).await;
    let done = |role: CustomRole| {
        Done::to(format!("/orgs/{org}/roles"), format!("Role “{}” deleted. Its members keep their base role.", role.name))
    };
    post_redirect_get(&req, &access.session, outcome, done, |errors| delete_response(&req, &state, &access, id, typed, errors)).await
}

// ---- details ------------------------------------------------------------------------------

pub struct MemberView {
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub base_role: &'static str,
    pub active: bool,
}

pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub base_role: &'static str,
    pub expired: bool,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "roles/show.html")]
struct DetailsPage {
    shell: Shell,
    org: String,
    id: String,
    name: String,
    description: String,
    allows: Vec<AreaLines>,
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    /// (account id, "email — name") of members who could be given the role.
    candidates: Vec<(String, String)>,
    created: String,
    updated: String,
    can_manage_roles: bool,
    /// Whether the viewer may give and take this role (members.manage and every permission in it).
    can_assign: bool,
    can_invite: bool,
    errors: FormErrors,
}

async fn details_response(state: &AppState, access: &OrgAccess, id: RoleId, errors: FormErrors) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let d = state.run(move |db| ops::details(db, org, id)).await?;
    let now = crate::domain::now();
    let within_reach = access.permissions.covers(d.role.permissions);
    let shell = Shell::load(state, access, Some(access), "roles", d.role.name.clone()).await?;
    let status = errors.status();
    shell::render(
        status,
        &DetailsPage {
            shell,
            org: org.to_string(),
            id: d.role.id.to_string(),
            allows: in_plain_words(d.role.permissions),
            members: d
                .members
                .into_iter()
                .map(|m| MemberView {
                    account_id: m.account_id.to_string(),
                    email: m.email.to_string(),
                    name: m.name,
                    base_role: m.role.label(),
                    active: m.status == crate::domain::MembershipStatus::Active,
                })
                .collect(),
            invitations: d
                .invitations
                .into_iter()
                .map(|i| InvitationView {
                    id: i.id.to_string(),
                    email: i.email.to_string(),
                    base_role: i.role.label(),
                    expired: i.expires_at <= now,
                    expires: format::minutes(i.expires_at),
                })
                .collect(),
            candidates: d
                .candidates
                .into_iter()
                .map(|(a, email, name)| (a.to_string(), if name.is_empty() { email.to_string() } else { format!("{email} — {name}") }))
                .collect(),
            created: format::minutes(d.role.created_at),
            updated: format::minutes(d.role.updated_at),
            name: d.role.name,
            description: d.role.description,
            can_manage_roles: access.can(Permission::RolesManage) && within_reach,
            can_assign: access.can(Permission::MembersManage) && within_reach,
            can_invite: access.can(Permission::MembersInvite) && within_reach,
            errors,
        },
    )
}

pub async fn show(
    state: web::Data<AppState>,
    access: Authorized<perm::MembersRead>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    details_response(&state, &access, role_id(&path.1)?, FormErrors::none()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    account: String,
}

pub async fn add_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
    form: web::Form<AddMemberForm>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, role_id(&path.1)?);
    let (ctx, account) = (access.ctx(), form.into_inner().account);
    let outcome = state.run(move |db| ops::add_member(db, &ctx, org, id, &account)).await;
    let done = |(role, email): (CustomRole, String)| Done::to(format!("/orgs/{org}/roles/{id}"), format!("{email} now holds {}.", role.name));
    post_redirect_get(&req, &access.session, outcome, done, |errors| details_response(&state, &access, id, errors)).await
}

pub async fn remove_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, role_id(&path.1)?);
    let account: AccountId = path.2.parse().map_err(|_| WebError::NotFound)?;
    let ctx = access.ctx();
    let (role, email) = state.run(move |db| ops::remove_member(db, &ctx, org, id, account)).await?;
    crate::web::session::flash(&access.session, crate::web::session::FlashKind::Success, format!("{email} no longer holds {}.", role.name));
    Ok(see_other(&req, &format!("/orgs/{org}/roles/{id}")))
}
