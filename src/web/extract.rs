//! Who is asking, in which organization, with which permissions: checked once here, before any
//! handler runs.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::ops::Deref;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Duration;
use futures_util::future::LocalBoxFuture;

use crate::domain::{AccountId, MembershipStatus, OrgId, Permission, PermissionSet, Role};
use crate::store::accounts::{self, Account};
use crate::store::audit::{Actor, RequestMeta};
use crate::store::{self, members};
use crate::web::error::WebError;
use crate::web::session;
use crate::web::state::AppState;

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

pub fn state(req: &HttpRequest) -> Result<AppState, WebError> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| WebError::Internal("application state missing".into()))
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not itself a trusted proxy. A forwarded header from anyone
/// else is ignored: it is whatever the client chose to write.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else { return Some(peer) };
    let mut nearest = peer;
    for hop in header.rsplit(',').map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => nearest = ip,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(nearest),
        }
    }
    Some(nearest)
}

/// Where the request came from, for the audit log.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.config.trusted_proxies.clone()).unwrap_or_default();
    let forwarded = req.headers().get("X-Forwarded-For").and_then(|v| v.to_str().ok());
    RequestMeta {
        ip: client_ip(req.peer_addr().map(|a| a.ip()), forwarded, &trusted).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// The signed-in account, re-read from the database on every request, so that a password
/// change (a new session epoch) or a deleted account ends the session at once.
#[derive(Clone)]
pub struct CurrentAccount {
    pub account: Account,
    pub session: Session,
    pub meta: RequestMeta,
}

impl CurrentAccount {
    pub fn id(&self) -> AccountId {
        self.account.id
    }

    pub fn actor(&self) -> Actor {
        Actor::Account { id: self.account.id.to_db(), email: self.account.email.to_string() }
    }

    pub fn ctx(&self) -> crate::ops::Ctx {
        crate::ops::Ctx { actor: self.actor(), meta: self.meta.clone() }
    }
}

/// The account and epoch the session names, before any database read.
fn session_account(req: &HttpRequest) -> Result<(Session, AccountId, i64), WebError> {
    let session = req.get_session();
    let sign_in = || WebError::SignInRequired { next: here(req) };
    let signed_in = session::signed_in(&session).ok_or_else(sign_in)?;
    let id: AccountId = signed_in.account_id.parse().map_err(|_| sign_in())?;
    Ok((session, id, signed_in.epoch))
}

/// The account as read for this request, if it still holds the session's epoch; otherwise the
/// session ends.
fn checked_account(
    req: &HttpRequest,
    session: Session,
    account: Option<Account>,
    epoch: i64,
) -> Result<CurrentAccount, WebError> {
    match account {
        Some(account) if account.session_epoch == epoch => {
            Ok(CurrentAccount { account, session, meta: request_meta(req) })
        }
        _ => {
            session::sign_out(&session);
            Err(WebError::SignInRequired { next: here(req) })
        }
    }
}

async fn current_account(req: HttpRequest) -> Result<CurrentAccount, WebError> {
    let (session, id, epoch) = session_account(&req)?;
    let state = state(&req)?;
    let account = state.run(move |db| accounts::find(&mut *db.conn()?, id).map_err(WebError::from)).await?;
    checked_account(&req, session, account, epoch)
}

impl FromRequest for CurrentAccount {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(current_account(req.clone()))
    }
}

/// An active member in the organization named by the path's `{org}`. Anyone else gets 404,
/// whether or not the organization exists.
#[derive(Clone)]
pub struct OrgAccess {
    pub current: CurrentAccount,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
    pub permissions: PermissionSet,
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

/// Last active is kept to the minute: a member's row is written at most once a minute.
const LAST_ACTIVE_RESOLUTION: Duration = Duration::seconds(60);

/// What the organization extractor reads in its one trip to the database.
struct OrgLookup {
    account: Option<Account>,
    membership: Option<(members::Membership, String)>,
    switcher: Option<Vec<(OrgId, String)>>,
}

async fn org_access(req: HttpRequest) -> Result<OrgAccess, WebError> {
    let (session, account_id, epoch) = session_account(&req)?;
    let Some(org_id) = req.match_info().get("org").and_then(|s| s.parse::<OrgId>().ok()) else {
        // a stale session still signs in again before anything else is said
        current_account(req).await?;
        return Err(WebError::NotFound);
    };
    // A page (GET) shows the organization switcher: read it in the same trip.
    let page = req.method() == actix_web::http::Method::GET;
    let state = state(&req)?;
    let found = state
        .run(move |db| -> Result<_, WebError> {
            let mut conn = db.conn()?;
            let account = accounts::find(&mut conn, account_id)?;
            if account.as_ref().is_none_or(|a| a.session_epoch != epoch) {
                return Ok(OrgLookup { account, membership: None, switcher: None });
            }
            let membership = members::find_with_org(&mut conn, org_id, account_id)?;
            let mut switcher = None;
            if let Some((m, _)) = &membership {
                if m.status == MembershipStatus::Active {
                    let now = store::now();
                    if m.last_active_at.is_none_or(|t| now - t >= LAST_ACTIVE_RESOLUTION) {
                        members::touch(&mut conn, org_id, account_id, now)?;
                    }
                    if page {
                        switcher = Some(members::active_orgs_brief(&mut conn, account_id)?);
                    }
                }
            }
            Ok(OrgLookup { account, membership, switcher })
        })
        .await?;
    let current = checked_account(&req, session, found.account, epoch)?;
    match found.membership {
        Some((m, org_name)) if m.status == MembershipStatus::Active => Ok(OrgAccess {
            current,
            org_id,
            org_name,
            role: m.role,
            permissions: m.role.permissions(),
            switcher: found.switcher,
        }),
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
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy = "10.0.0.1".parse().unwrap();
        let client = "203.0.113.9".parse().unwrap();
        // a client writing the header itself is ignored
        assert_eq!(client_ip(Some(client), Some("1.2.3.4"), &[proxy]), Some(client));
        // through the proxy, the address it saw
        assert_eq!(client_ip(Some(proxy), Some("1.2.3.4, 203.0.113.9"), &[proxy]), Some(client));
        assert_eq!(client_ip(Some(proxy), None, &[proxy]), Some(proxy));
        assert_eq!(client_ip(Some(proxy), Some("garbage"), &[proxy]), Some(proxy));
        assert_eq!(client_ip(Some(proxy), Some("203.0.113.9"), &[]), Some(proxy));
    }
}
