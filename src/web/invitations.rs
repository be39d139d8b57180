//! Invitations: resend (after its confirmation) and cancel (organization side), and the
//! invitation page where the invited person accepts or declines.

use std::net::IpAddr;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::ids::InvitationId;
use crate::domain::{InvitationState, OrgId, Permission};
use crate::operations::invitations::{self as inv, Answerer, Ref, View};
use crate::operations;
use crate::web::error::WebError;
use crate::web::format;
use crate::app::request_meta;
use crate::web::extract::{Authorized, CurrentAccount, perm};
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, SignedOutShell, dialog_page, org_home, render_dialog, see_other};
use crate::app::AppState;

fn invitation_id(raw: &str) -> Result<InvitationId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

/// Where an action on an invitation leads back to: the page of this organization it was taken
/// from (`next`), or else the member list.
fn back_to(org: OrgId, next: Option<&str>) -> String {
    let ours = format!("/orgs/{org}/");
    next.and_then(shell::safe_next)
        .filter(|n| n.starts_with(&ours))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/orgs/{org}/members"))
}

/// The page an invitation action was taken from, in a form or a query; optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Back {
    #[serde(default)]
    next: String,
}

#[derive(Template)]
#[template(path = "invitations/resend.html", blocks = ["dialog"])]
struct ResendPage {
    shell: Shell,
    org: String,
    id: String,
    email: String,
    role: &'static str,
    expired: bool,
    back: String,
}

dialog_page!(ResendPage);

/// The confirmation before a resend: the dialog under htmx, its page otherwise. It changes
/// nothing; its form posts to `resend`.
pub async fn resend_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    path: web::Path<(String, String)>,
    query: Option<web::Query<Back>>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, invitation_id(&path.1)?);
    let invitation = state.run(move |db| inv::resendable(db, org, id)).await?;
    let shell = Shell::load(&state, &access, Some(&access), "members", "Resend invitation").await?;
    let page = ResendPage {
        shell,
        org: org.to_string(),
        id: invitation.id.to_string(),
        email: invitation.email.to_string(),
        role: invitation.role.label(),
        expired: invitation.state(crate::domain::now()) == InvitationState::Expired,
        back: back_to(org, query.as_ref().map(|q| q.next.as_str())),
    };
    render_dialog(&req, StatusCode::OK, &page)
}

pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    path: web::Path<(String, String)>,
    form: Option<web::Form<Back>>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, invitation_id(&path.1)?);
    // a resend sends an email too: it counts against the person's and the organization's
    // invitations, the person's first (see `members::invite`)
    let (ctx, settings, st, inviter) = (access.ctx(), state.invitation_settings(), state.get_ref().clone(), access.current.id());
    let result = state
        .run(move |db| {
            st.limits.invitation_by(db, inviter, org)?;
            inv::resend(db, &st.mail, &settings, &ctx, org, id)
        })
        .await
        .map_err(WebError::from);
    match result {
        Ok(email) => session::flash(&access.session, FlashKind::Success, format!("Invitation sent again to {email}.")),
        Err(WebError::Invalid(list)) => {
            let message = list.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            session::flash(&access.session, FlashKind::Error, message);
        }
        Err(e) => return Err(e),
    }
    Ok(see_other(&req, &back_to(org, form.as_ref().map(|f| f.next.as_str()))))
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    path: web::Path<(String, String)>,
    form: Option<web::Form<Back>>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = (access.org_id, invitation_id(&path.1)?);
    let ctx = access.ctx();
    let email = state.run(move |db| inv::cancel(db, &ctx, org, id)).await?;
    session::flash(&access.session, FlashKind::Success, format!("Invitation for {email} cancelled."));
    Ok(see_other(&req, &back_to(org, form.as_ref().map(|f| f.next.as_str()))))
}

// ---- the invited person's side -------------------------------------------------------------

/// What the invitation page can show.
enum Case {
    /// Signed in as the invited person: Accept and Decline.
    SignedInAsInvitee,
    /// Signed in as someone else: refused.
    OtherAccount { email: String },
    /// Signed out and no account for the email: a form to create one.
    NewAccount,
    /// Signed out and an account exists: sign in first.
    SignInFirst,
}

#[derive(Template)]
#[template(path = "invitations/show.html")]
struct InvitationPage {
    shell: SignedOutShell,
    token: String,
    org_name: String,
    inviter: String,
    role: &'static str,
    email: String,
    expires: String,
    case: &'static str,
    other_email: String,
    login_href: String,
    name: String,
    errors: FormErrors,
}

fn gone(session: &Session, status: StatusCode, heading: &'static str, message: String) -> Result<HttpResponse, WebError> {
    shell::link_gone(session, status, "Invitation", heading, message)
}

fn unknown(session: &Session) -> Result<HttpResponse, WebError> {
    gone(
        session,
        StatusCode::NOT_FOUND,
        "This invitation link is not valid",
        "The link may be mistyped, or a newer invitation replaced it. Ask an admin of the organization to resend the invitation."
            .into(),
    )
}

fn page_for(
    session: &Session,
    token: &str,
    view: &View,
    current: Option<&CurrentAccount>,
    name: String,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let case = match current {
        Some(c) if c.account.email == view.invitation.email => Case::SignedInAsInvitee,
        Some(c) => Case::OtherAccount { email: c.account.email.to_string() },
        None if view.account_exists => Case::SignInFirst,
        None => Case::NewAccount,
    };
    let (case_name, other_email, status) = match &case {
        Case::SignedInAsInvitee => ("invitee", String::new(), StatusCode::OK),
        Case::OtherAccount { email } => ("other", email.clone(), StatusCode::FORBIDDEN),
        Case::NewAccount => ("new", String::new(), StatusCode::OK),
        Case::SignInFirst => ("sign_in", String::new(), StatusCode::OK),
    };
    let status = if errors.any() { errors.status() } else { status };
    let login_href = crate::web::error::login_url(&format!("/invitations/{token}"));
    shell::render(
        status,
        &InvitationPage {
            shell: SignedOutShell::new(session, "Invitation"),
            token: token.to_string(),
            org_name: view.org_name.clone(),
            inviter: view.inviter.clone().unwrap_or_else(|| "A former member".into()),
            role: view.invitation.role.label(),
            email: view.invitation.email.to_string(),
            expires: format::minutes(view.invitation.expires_at),
            case: case_name,
            other_email,
            login_href,
            name,
            errors,
        },
    )
}

/// The invitation behind a link, after the rate limit on links from `client`, which are
/// guessable only by trying.
async fn lookup(state: &AppState, client: Option<IpAddr>, token: String) -> Result<Option<View>, WebError> {
    let limits = state.limits.clone();
    Ok(state
        .run(move |db| {
            limits.acceptance(db, client)?;
            // a token is 43 URL-safe characters; anything else cannot match
            if token.len() > 128 {
                return Ok(None);
            }
            inv::view(db, &Ref::Token(token))
        })
        .await?)
}

/// The pending invitation behind a link, or the page saying why it cannot be answered (and
/// the rate limit on links, which are guessable only by trying).
async fn open_invitation(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    token: &str,
) -> Result<Result<View, HttpResponse>, WebError> {
    let Some(view) = lookup(state, state.limits.client(req), token.to_string()).await? else { return unknown(session).map(Err) };
    if view.state != InvitationState::Pending {
        return answered(session, &view).map(Err);
    }
    Ok(Ok(view))
}

fn answered(session: &Session, view: &View) -> Result<HttpResponse, WebError> {
    gone(
        session,
        StatusCode::GONE,
        inv::gone_message(view.state),
        format!("Ask an admin of {} to resend the invitation if you still want to join.", view.org_name),
    )
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let view = match open_invitation(&req, &state, &session, &token).await? {
        Ok(view) => view,
        Err(page) => return Ok(page),
    };
    page_for(&session, &token, &view, current.as_ref(), String::new(), FormErrors::none())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let form = form.into_inner();
    let view = match open_invitation(&req, &state, &session, &token).await? {
        Ok(view) => view,
        Err(page) => return Ok(page),
    };
    let meta = request_meta(&req);
    let signed_in = current.as_ref().map(|c| c.account.clone());
    if signed_in.is_none() && view.account_exists {
        // the page tells them to sign in first
        return page_for(&session, &token, &view, None, String::new(), FormErrors::none());
    }
    let (t, name, password) = (token.clone(), form.name.clone(), form.password.clone());
    let result = state
        .run(move |db| {
            let who = match &signed_in {
                Some(a) => Answerer::Account(a),
                None => Answerer::NewAccount { name: &name, password: &password },
            };
            inv::accept(db, &meta, &Ref::Token(t), who)
        })
        .await
        .map_err(WebError::from);
    match result {
        Ok((account, org)) => finish_accept(&req, &state, &session, current.is_none(), account, org, &view.org_name).await,
        Err(WebError::Forbidden(_)) => page_for(&session, &token, &view, current.as_ref(), String::new(), FormErrors::none()),
        Err(e) => {
            let errors = form_errors(e)?;
            page_for(&session, &token, &view, current.as_ref(), form.name, errors)
        }
    }
}

async fn finish_accept(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    new_session: bool,
    account: crate::domain::AccountId,
    org: crate::domain::OrgId,
    org_name: &str,
) -> Result<HttpResponse, WebError> {
    let (acc, held) = state.run(move |db| inv::joined(db, org, account)).await?;
    if new_session {
        crate::web::auth::start_session(state, req, session, &acc).await?;
    }
    session::flash(session, FlashKind::Success, format!("Welcome to {org_name}."));
    Ok(see_other(req, &org_home(org, held.contains(Permission::MembersRead))))
}

pub async fn decline(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let view = match open_invitation(&req, &state, &session, &token).await? {
        Ok(view) => view,
        Err(page) => return Ok(page),
    };
    let meta = request_meta(&req);
    let signed_in = current.as_ref().map(|c| c.account.clone());
    let t = token.clone();
    match state.run(move |db| inv::decline(db, &meta, &Ref::Token(t), signed_in.as_ref())).await.map_err(WebError::from) {
        Ok(org_name) => {
            session::flash(&session, FlashKind::Info, format!("You declined the invitation to {org_name}."));
            Ok(see_other(&req, if current.is_some() { "/profile" } else { "/login" }))
        }
        Err(WebError::Forbidden(_)) => page_for(&session, &token, &view, current.as_ref(), String::new(), FormErrors::none()),
        Err(e) => Err(e),
    }
}

// ---- from the profile or the organization list, signed in -----------------------------------

pub async fn accept_by_id(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = invitation_id(&path.into_inner())?;
    let (meta, account) = (current.meta.clone(), current.account.clone());
    let (_, org) = state.run(move |db| inv::accept(db, &meta, &Ref::Id(id), Answerer::Account(&account))).await.map_err(|e| not_yours(e.into()))?;
    let account = current.id();
    let org_name = state.run(move |db| operations::orgs::name(db, org)).await?.unwrap_or_default();
    finish_accept(&req, &state, &current.session, false, account, org, &org_name).await
}

pub async fn decline_by_id(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = invitation_id(&path.into_inner())?;
    let (meta, account) = (current.meta.clone(), current.account.clone());
    let org_name = state.run(move |db| inv::decline(db, &meta, &Ref::Id(id), Some(&account))).await.map_err(|e| not_yours(e.into()))?;
    session::flash(&current.session, FlashKind::Info, format!("You declined the invitation to {org_name}."));
    Ok(see_other(&req, "/profile"))
}

/// Someone else's invitation, by id, is not found: ids are not a way to learn about others.
fn not_yours(e: WebError) -> WebError {
    match e {
        WebError::Forbidden(_) => WebError::NotFound,
        other => other,
    }
}
