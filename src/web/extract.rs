//! Who is asking, in which organization, with which permissions: checked once here, before any
//! handler runs.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::domain::{AccountId, MembershipStatus, OrgId, Permission, PermissionSet, Role};
use crate::domain::ids::SessionId;
use crate::operations::{access, sessions};
use crate::operations::accounts::Account;
use crate::domain::{Actor, RequestMeta};
use crate::web::error::WebError;
use crate::web::session::{self, FlashKind};
use crate::app::request_meta;
use crate::app::AppState;

/// The path and query of the request, as the `next` of a sign-in redirect.
fn here(req: &HttpRequest) -> String {
    let uri = req.uri();
    match uri.query() {
        Some(q) if req.method() == actix_web::http::Method::GET => format!("{}?{q}", uri.path()),
        _ if req.method() == actix_web::http::Method::GET => uri.path().to_string(),
        // after a POST, come back to the page rather than replay the action
        _ => String::new(),
    }
}

/// The application state, for extractors (handlers take `web::Data<AppState>`).
fn app_state(req: &HttpRequest) -> Result<AppState, WebError> {
    AppState::of(req).ok_or_else(|| WebError::Internal("application state missing".into()))
}

/// The signed-in account, re-read from the database with its session row on every request, so
/// that signing out, a revoked session, a password change (a new session epoch) or a deleted
/// account ends the session at once.
#[derive(Clone)]
pub struct CurrentAccount {
    pub account: Account,
    pub session: Session,
    /// The session's row, for "this session" in the session list.
    pub session_id: SessionId,
    pub meta: RequestMeta,
}

impl CurrentAccount {
    pub fn id(&self) -> AccountId {
        self.account.id
    }

    pub fn actor(&self) -> Actor {
        Actor::Account { id: self.account.id, email: self.account.email.clone() }
    }

    pub fn ctx(&self) -> crate::operations::Ctx {
        crate::operations::Ctx { actor: self.actor(), meta: self.meta.clone() }
    }
}

/// What the cookie says about who is signed in, before any database read.
struct Claimed {
    session: Session,
    account: AccountId,
    epoch: i64,
    /// The SHA-256 of the secret naming the session's row.
    hash: String,
}

fn claimed(req: &HttpRequest) -> Result<Claimed, WebError> {
    let session = req.get_session();
    let sign_in = || WebError::SignInRequired { next: here(req) };
    let signed_in = session::signed_in(&session).ok_or_else(sign_in)?;
    let account = signed_in.account_id.parse().map_err(|_| sign_in())?;
    let hash = sessions::hash_of(&signed_in.secret);
    Ok(Claimed { session, account, epoch: signed_in.epoch, hash })
}

/// The account as read with the session's row for this request, if the row still stands for
/// this account and epoch; otherwise the cookie is forgotten.
fn checked_account(req: &HttpRequest, claimed: Claimed, found: Option<(sessions::Session, Account)>) -> Result<CurrentAccount, WebError> {
    match found {
        Some((row, account)) if account.id == claimed.account && account.session_epoch == claimed.epoch => {
            record_account(req, account.id);
            Ok(CurrentAccount { account, session: claimed.session, session_id: row.id, meta: request_meta(req) })
        }
        _ => {
            session::sign_out(&claimed.session);
            Err(WebError::SignInRequired { next: here(req) })
        }
    }
}

/// Names the signed-in account in the request's log line (only once the session has been
/// checked: a cookie's claim alone is not who is asking).
fn record_account(req: &HttpRequest, account: AccountId) {
    if let Some(span) = req.extensions().get::<tracing_actix_web::RootSpan>() {
        span.record("account_id", tracing::field::display(account));
    }
}

async fn current_account(req: HttpRequest) -> Result<CurrentAccount, WebError> {
    let claimed = claimed(&req)?;
    let state = app_state(&req)?;
    let hash = claimed.hash.clone();
    let found = state.run(move |db| access::current_account(db, &hash)).await?;
    checked_account(&req, claimed, found)
}

impl FromRequest for CurrentAccount {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(current_account(req.clone()))
    }
}

/// An active member in the organization named by the path's `{org}`. Anyone else gets 404,
/// whether or not the organization exists. A member of an organization that requires
/// two-factor, who has not turned it on, is sent to `/profile/two-factor` (303).
#[derive(Clone)]
pub struct OrgAccess {
    pub current: CurrentAccount,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
    pub permissions: PermissionSet,
    /// Whether the organization requires two-factor of its members.
    pub require_two_factor: bool,
    /// The member's organizations for the page's switcher, when read with the access (GET).
    pub(crate) switcher: Option<Vec<(OrgId, String)>>,
}

impl OrgAccess {
    /// The one place that answers "may this member do P in this organization".
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), WebError> {
        if self.can(p) { Ok(()) } else { Err(WebError::Forbidden(String::new())) }
    }
}

impl Deref for OrgAccess {
    type Target = CurrentAccount;
    fn deref(&self) -> &CurrentAccount {
        &self.current
    }
}

async fn org_access(req: HttpRequest) -> Result<OrgAccess, WebError> {
    let claimed = claimed(&req)?;
    let Some(org_id) = req.match_info().get("org").and_then(|s| s.parse::<OrgId>().ok()) else {
        // a stale session still signs in again before anything else is said
        current_account(req).await?;
        return Err(WebError::NotFound);
    };
    // A page (GET) shows the organization switcher: read it in the same trip.
    let page = req.method() == actix_web::http::Method::GET;
    let state = app_state(&req)?;
    let (hash, account_id) = (claimed.hash.clone(), claimed.account);
    let sso_session = session::sso_org(&claimed.session).is_some_and(|o| o == org_id.to_string());
    let found = state.run(move |db| access::door(db, &hash, account_id, org_id, page, sso_session)).await?;
    let two_factor_missing = found.two_factor_missing();
    let current = checked_account(&req, claimed, found.session)?;
    match found.membership {
        Some(m) if m.membership.status == MembershipStatus::Active => {
            if two_factor_missing {
                // here, not in each handler: no page or form of the organization can forget it
                let message = format!("{} requires two-factor authentication. Turn it on to continue.", m.org_name);
                session::flash(&current.session, FlashKind::Info, message);
                return Err(WebError::TwoFactorRequired);
            }
            if found.sso_required {
                // a password session does not open an organization that signs its people in
                // through its own provider
                return Err(WebError::Forbidden(format!(
                    "{} requires single sign-on for your address. Sign out, then choose Sign in with SSO on the sign-in page.",
                    m.org_name
                )));
            }
            Ok(OrgAccess {
                current,
                org_id,
                org_name: m.org_name,
                role: m.membership.role,
                permissions: found.permissions,
                require_two_factor: m.require_two_factor,
                switcher: found.switcher,
            })
        }
        _ => Err(WebError::NotFound),
    }
}

impl FromRequest for OrgAccess {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(org_access(req.clone()))
    }
}

/// A permission a handler requires, named by a marker type.
pub trait Required {
    const PERMISSION: Permission;
}

/// An organization member holding the permission `P`; others get 403 (members) or 404.
#[derive(Clone)]
pub struct Authorized<P> {
    pub access: OrgAccess,
    _p: PhantomData<P>,
}

impl<P> Deref for Authorized<P> {
    type Target = OrgAccess;
    fn deref(&self) -> &OrgAccess {
        &self.access
    }
}

impl<P: Required + 'static> FromRequest for Authorized<P> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let access = org_access(req).await?;
            access.require(P::PERMISSION)?;
            Ok(Authorized { access, _p: PhantomData })
        })
    }
}

/// Marker types, one per permission, for `Authorized<…>`.
pub mod perm {
    use super::Required;
    use crate::domain::Permission;

    macro_rules! marker {
        ($name:ident, $perm:expr) => {
            #[derive(Debug, Clone)]
            pub struct $name;
            impl Required for $name {
                const PERMISSION: Permission = $perm;
            }
        };
    }

    marker!(DeploymentsRead, Permission::DeploymentsRead);
    marker!(DeploymentsWrite, Permission::DeploymentsWrite);
    marker!(AuditRead, Permission::AuditRead);
    marker!(MembersRead, Permission::MembersRead);
    marker!(MembersManage, Permission::MembersManage);
    marker!(ApiKeysManage, Permission::ApiKeysManage);
    marker!(OrgManage, Permission::OrgManage);
    marker!(OrgOwner, Permission::OrgOwner);
    marker!(RolesManage, Permission::RolesManage);
    marker!(MembersInvite, Permission::MembersInvite);
    marker!(AuditView, Permission::AuditView);
    marker!(ApiKeysRead, Permission::ApiKeysRead);
}
