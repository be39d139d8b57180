//! The account's sessions: the list on `/profile/sessions`, ending one or all the others, and
//! an admin ending every session of a member.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::ids::SessionId;
use crate::domain::{AccountId, sessions::browser_label};
use crate::operations::sessions::{self, Session};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, CurrentAccount, perm};
use crate::web::format;
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, see_other};

/// A session as the list shows it.
pub struct SessionView {
    pub id: String,
    pub browser: String,
    pub ip: String,
    pub created: String,
    pub created_full: String,
    pub last_seen: String,
    pub current: bool,
}

fn view(s: Session, current: SessionId, now: chrono::NaiveDateTime) -> SessionView {
    SessionView {
        id: s.id.to_string(),
        browser: browser_label(s.user_agent.as_deref()),
        ip: s.ip.unwrap_or_else(|| "—".into()),
        created: format::date(s.created_at),
        created_full: format::minutes(s.created_at),
        last_seen: format::ago(s.last_seen_at, now),
        current: s.id == current,
    }
}

#[derive(Template)]
#[template(path = "profile/sessions.html")]
struct SessionsPage {
    shell: Shell,
    sessions: Vec<SessionView>,
}

pub async fn index(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    let account = current.id();
    let list = state.run(move |db| sessions::list(db, account)).await?;
    let now = crate::domain::now();
    let shell = Shell::load(&state, &current, None, "profile", "Sessions").await?;
    shell::ok(&SessionsPage { shell, sessions: list.into_iter().map(|s| view(s, current.session_id, now)).collect() })
}

pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id: SessionId = path.parse().map_err(|_| WebError::NotFound)?;
    if id == current.session_id {
        // this browser signs out with "Sign out", which also forgets the cookie
        return Err(WebError::Conflict("This is the session you are using. Use Sign out instead.".into()));
    }
    let account = current.id();
    let meta = current.meta.clone();
    state.run(move |db| sessions::revoke(db, &meta, account, id)).await?;
    session::flash(&current.session, FlashKind::Success, "The session was signed out.");
    Ok(see_other(&req, "/profile/sessions"))
}

pub async fn revoke_others(req: HttpRequest, state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    let (account, keep, meta) = (current.id(), current.session_id, current.meta.clone());
    let ended = state.run(move |db| sessions::revoke_others(db, &meta, account, Some(keep))).await?;
    let message = match ended {
        0 => "There were no other sessions.".to_string(),
        1 => "1 other session was signed out.".to_string(),
        n => format!("{n} other sessions were signed out."),
    };
    session::flash(&current.session, FlashKind::Success, message);
    Ok(see_other(&req, "/profile/sessions"))
}

/// `POST /orgs/{org}/members/{account}/sign-out`: every session of the member ends.
pub async fn sign_out_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let target: AccountId = path.1.parse().map_err(|_| WebError::NotFound)?;
    let (ctx, org) = (access.ctx(), access.org_id);
    let ended = state.run(move |db| sessions::sign_out_member(db, &ctx, org, target)).await?;
    let message = match ended {
        1 => "The member was signed out of 1 session.".to_string(),
        n => format!("The member was signed out of {n} sessions."),
    };
    session::flash(&access.session, FlashKind::Success, message);
    Ok(see_other(&req, &format!("/orgs/{org}/members")))
}
