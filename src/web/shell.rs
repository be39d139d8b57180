//! The page shell every signed-in page shares: the account, the organization switcher, the
//! navigation shown by permission, the flash message and the CSRF token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::{OrgId, Permission};
use crate::operations::access;
use crate::operations::accounts::{self, ForAccount, OrgOfAccount};
use crate::web::assets::{self, AssetUrls};
use crate::web::error::WebError;
use crate::web::extract::{CurrentAccount, OrgAccess};
use crate::web::session::{self, Flash};
use crate::app::AppState;

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct OrgNav {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub items: Vec<NavItem>,
}

#[derive(Debug, Clone)]
pub struct SwitcherEntry {
    pub id: String,
    pub name: String,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct Shell {
    pub title: String,
    /// The part of the console the page belongs to, for the navigation's current item.
    pub section: String,
    pub assets: AssetUrls,
    pub csrf_token: String,
    pub account_name: String,
    pub account_email: String,
    pub initials: String,
    pub flash: Option<Flash>,
    pub org: Option<OrgNav>,
    pub orgs: Vec<SwitcherEntry>,
}

/// The organizations of the signed-in account and the invitations waiting for it, as the
/// organization list and the profile show them.
pub async fn account_overview(
    state: &AppState,
    current: &CurrentAccount,
) -> Result<(Vec<OrgOfAccount>, Vec<ForAccount>), WebError> {
    let account = current.account.clone();
    Ok(state.run(move |db| accounts::overview(db, &account)).await?)
}

/// The shell of pages shown signed out: sign-in, sign-up, invitations, errors.
#[derive(Debug, Clone)]
pub struct SignedOutShell {
    pub title: String,
    pub assets: AssetUrls,
    pub csrf_token: String,
    pub flash: Option<Flash>,
}

impl SignedOutShell {
    pub fn new(session: &actix_session::Session, title: impl Into<String>) -> SignedOutShell {
        SignedOutShell {
            title: title.into(),
            assets: assets::urls(),
            csrf_token: session::csrf_token(session),
            flash: session::take_flash(session),
        }
    }

    /// For error pages, which hold no form.
    pub fn bare(title: impl Into<String>) -> SignedOutShell {
        SignedOutShell { title: title.into(), assets: assets::urls(), csrf_token: String::new(), flash: None }
    }
}

/// The sections of an organization, each shown to those holding its permission.
const SECTIONS: &[(&str, &str, Permission)] = &[
    ("Members", "members", Permission::MembersRead),
    ("Roles", "roles", Permission::MembersRead),
    ("Deployments", "deployments", Permission::DeploymentsRead),
    ("Audit log", "audit", Permission::AuditView),
    ("API keys", "api-keys", Permission::ApiKeysRead),
    ("Settings", "settings", Permission::OrgManage),
];

fn initials(name: &str) -> String {
    let mut out: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    if out.is_empty() {
        out.push('?');
    }
    out.to_uppercase()
}

impl Shell {
    /// Builds the shell for a page of `section` in the organization of `access`, or for an
    /// account page when `access` is None.
    pub async fn load(
        state: &AppState,
        current: &CurrentAccount,
        access: Option<&OrgAccess>,
        section: &str,
        title: impl Into<String>,
    ) -> Result<Shell, WebError> {
        let account = current.id();
        let current_org: Option<OrgId> = access.map(|a| a.org_id);
        let orgs = match access.and_then(|a| a.switcher.clone()) {
            Some(orgs) => orgs,
            None => {
                state.run(move |db| access::switcher(db, account)).await?
            }
        };
        let org = access.map(|a| OrgNav {
            id: a.org_id.to_string(),
            name: a.org_name.clone(),
            role: a.role.label(),
            items: SECTIONS
                .iter()
                .filter(|(_, _, p)| a.can(*p))
                .map(|(label, slug, _)| NavItem {
                    label,
                    href: format!("/orgs/{}/{slug}", a.org_id),
                    active: *slug == section,
                })
                .collect(),
        });
        Ok(Shell {
            title: title.into(),
            section: section.to_string(),
            assets: assets::urls(),
            csrf_token: session::csrf_token(&current.session),
            account_name: current.account.name.clone(),
            account_email: current.account.email.to_string(),
            initials: initials(&current.account.name),
            flash: session::take_flash(&current.session),
            org,
            orgs: orgs
                .into_iter()
                .map(|(id, name)| SwitcherEntry { current: Some(id) == current_org, id: id.to_string(), name })
                .collect(),
        })
    }

    /// The landing page of an organization for this member.
    pub fn org_home(access: &OrgAccess) -> String {
        org_home(access.org_id, access.can(Permission::MembersRead))
    }
}

pub fn org_home(org: OrgId, can_read_members: bool) -> String {
    if can_read_members { format!("/orgs/{org}/members") } else { format!("/orgs/{org}/deployments") }
}

/// The room a page is rendered into; kept under glibc's mmap threshold (128 KiB).
const PAGE_BUFFER: usize = 112 * 1024;

/// Renders a template as an HTML response with `status`.
pub fn render<T: Template>(status: actix_web::http::StatusCode, page: &T) -> Result<HttpResponse, WebError> {
    // Sized for a full page up front (a 50-row member list is about 90 KiB): growing from the
    // template's small size hint copied the page several times over.
    let mut body = String::with_capacity(PAGE_BUFFER.max(T::SIZE_HINT));
    page.render_into(&mut body).map_err(|e| WebError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

pub fn ok(page: &impl Template) -> Result<HttpResponse, WebError> {
    render(actix_web::http::StatusCode::OK, page)
}

pub fn unprocessable(page: &impl Template) -> Result<HttpResponse, WebError> {
    render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// Post/redirect/get: 303 to `location`; htmx requests are told to navigate there instead,
/// since their XMLHttpRequest would follow a 303 silently.
pub fn see_other(req: &HttpRequest, location: &str) -> HttpResponse {
    if req.headers().contains_key("HX-Request") {
        HttpResponse::Ok().insert_header(("HX-Redirect", location)).finish()
    } else {
        HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
    }
}

#[derive(Template)]
#[template(path = "link_gone.html")]
struct LinkGonePage {
    shell: SignedOutShell,
    heading: &'static str,
    message: String,
}

/// The page of a mailed link that cannot be used (unknown: 404; used or expired: 410).
pub fn link_gone(
    session: &actix_session::Session,
    status: actix_web::http::StatusCode,
    title: &str,
    heading: &'static str,
    message: String,
) -> Result<HttpResponse, WebError> {
    render(status, &LinkGonePage { shell: SignedOutShell::new(session, title), heading, message })
}

/// Whether the request comes from htmx, which wants a dialog's fragment rather than its page.
pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}

/// A page whose template has a `dialog` block (`blocks = ["dialog"]`): under htmx the dialog
/// alone is sent, otherwise the whole page, which works without JavaScript.
pub trait DialogPage: Template {
    fn render_dialog_into(&self, out: &mut String) -> askama::Result<()>;
}

/// Makes a page type a `DialogPage` through the `as_dialog` that Askama generates for it.
macro_rules! dialog_page {
    ($($page:ty),+ $(,)?) => {$(
        impl $crate::web::shell::DialogPage for $page {
            fn render_dialog_into(&self, out: &mut String) -> askama::Result<()> {
                askama::Template::render_into(&self.as_dialog(), out)
            }
        }
    )+};
}
pub(crate) use dialog_page;

/// Renders a dialog page: the dialog for htmx, the page otherwise.
pub fn render_dialog(req: &HttpRequest, status: actix_web::http::StatusCode, page: &impl DialogPage) -> Result<HttpResponse, WebError> {
    if !is_htmx(req) {
        return render(status, page);
    }
    let mut body = String::with_capacity(16 * 1024);
    page.render_dialog_into(&mut body).map_err(|e| WebError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// Where a successful form goes, and what it says there.
pub struct Done {
    pub location: String,
    pub message: String,
}

impl Done {
    pub fn to(location: impl Into<String>, message: impl Into<String>) -> Done {
        Done { location: location.into(), message: message.into() }
    }
}

/// Post/redirect/get, written once: a change that succeeded flashes its message and answers
/// 303 to where it leads; one whose input a rule refused renders the form again (422, with
/// the errors) through `again`; any other error is answered as such.
pub async fn post_redirect_get<T, E, Fut>(
    req: &HttpRequest,
    session: &actix_session::Session,
    outcome: Result<T, E>,
    done: impl FnOnce(T) -> Done,
    again: impl FnOnce(crate::web::forms::FormErrors) -> Fut,
) -> Result<HttpResponse, WebError>
where
    E: Into<WebError>,
    Fut: std::future::Future<Output = Result<HttpResponse, WebError>>,
{
    match outcome {
        Ok(value) => {
            let done = done(value);
            session::flash(session, session::FlashKind::Success, done.message);
            Ok(see_other(req, &done.location))
        }
        Err(e) => again(crate::web::forms::form_errors(e)?).await,
    }
}

/// `next` if it is a path on this site, never another site (no scheme, no `//host`).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 2048;
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_followed_to_paths_on_this_site() {
        assert_eq!(safe_next("/orgs/1/members?page=2"), Some("/orgs/1/members?page=2"));
        for bad in ["https://evil.example", "//evil.example/x", "/\\evil.example", "evil", "", "/a\nb", "javascript:alert(1)"] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn initials_come_from_the_first_two_words() {
        assert_eq!(initials("ada lovelace byron"), "AL");
        assert_eq!(initials("  "), "?");
    }
}
